#!/bin/sh
# Email: bundles sent by SMTP to a real OpenSMTPD, fetched by IMAP and
# POP3 from a real Dovecot, from the maildir and from an mbox file, and
# written as .eml files; a bundle split over several messages; errors.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"
. "$TEST_DIR/lib/mailservers.sh"

if ! mail_servers_start 300k; then
	test_skip 'email transport' "$MAIL_SKIP"
	test_done
fi

# deliver FILE...: hands messages to the SMTP server for b@example.org,
# as any mail program would, and waits until they are in b's maildir.
deliver() {
	python3 - "$SMTP_PORT" "$MAILDIRS/b" "$@" <<-'PYEOF'
	import os, smtplib, sys, time
	port, md, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
	def count():
	    return sum(len(os.listdir(os.path.join(md, d)))
	               for d in ("new", "cur") if os.path.isdir(os.path.join(md, d)))
	before = count()
	s = smtplib.SMTP("127.0.0.1", port)
	for f in files:
	    s.sendmail("someone@example.org", ["b@example.org"], open(f, "rb").read())
	s.quit()
	for i in range(100):
	    if count() >= before + len(files):
	        sys.exit(0)
	    time.sleep(0.1)
	sys.exit("not delivered")
	PYEOF
}

# nmail: number of messages in b's maildir.
nmail() { ls "$MAILDIRS/b/new" "$MAILDIRS/b/cur" 2>/dev/null | grep -vc -e '^$' -e ':$'; }

# wait_mail N: waits until b's maildir holds N messages.
wait_mail() {
	_i=0
	while [ "$(nmail)" -lt "$1" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(nmail)" -ge "$1" ]
}

imap="imap://b@127.0.0.1:$IMAP_PORT"
pop3="pop3://b@127.0.0.1:$POP3_PORT"

# The test servers listen on 127.0.0.1 without TLS (imap://, pop3://,
# smtp://): both sites allow the password in clear there (t0016 checks
# that it is refused without this setting).
test_expect_success 'setup: two sites with mail settings' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v)" &&
	mule -d a.db config mail.allow-cleartext-password yes &&
	mule -d b.db config mail.allow-cleartext-password yes &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$SMTP_PORT" &&
	mule -d a.db config mail.from a@example.org &&
	mule -d a.db peer set b email b@example.org >/dev/null &&
	echo secret-b >b.pw &&
	mule -d b.db config mail.password-file b.pw &&
	mule -d b.db config mail.inbox "$imap" &&
	refuses 1 b.db "mail.password-file .*b.pw can be read or written by others: run .chmod 600" \
	    mule -d b.db unpack --mail &&
	chmod 600 b.pw &&
	mule -d b.db config mail.inbox "$imap" &&
	mule -d b.db config >list &&
	test_grep list "^mail.inbox = imap://b@127.0.0.1:" &&
	test_grep list "^mail.password-file = /" &&
	mule -d b.db config --json mail.inbox | test_grep - "^\"imap://"
'

test_expect_success 'config refuses unknown keys and bad values' '
	s=$(file_sum a.db) &&
	test_expect_code 2 mule -d a.db config mail.colour blue 2>err &&
	test_grep err "unknown setting .mail.colour." &&
	test_expect_code 2 mule -d a.db config mail.smtp imap://x 2>err &&
	test_grep err "not a mail server URL" &&
	test_expect_code 2 mule -d a.db config mail.inbox http://x 2>err &&
	test_grep err "not a mailbox" &&
	test_expect_code 2 mule -d a.db config mail.max-size 12x 2>err &&
	test_grep err "not a size" &&
	test_expect_code 2 mule -d a.db config mail.after-fetch maybe 2>err &&
	test_grep err "keep or delete" &&
	test_expect_code 2 mule -d a.db config mail.password-file nope 2>err &&
	test_grep err "nope" &&
	test "$(file_sum a.db)" = "$s"
'

test_expect_success 'A -> SMTP -> maildir -> B by IMAP' '
	sql a.db "INSERT INTO t VALUES (1, '\''one'\''), (2, '\''two'\'')" &&
	mule -d a.db pack --to b --mail >out &&
	test_grep out "mailed 1 message to b <b@example.org>" &&
	wait_mail 1 &&
	mule -d b.db unpack --mail >out &&
	test_grep out "applied a-b-0001.mule .mail message 1. from a: 2 inserted" &&
	test_grep out "fetched 1 mule message from imap://" &&
	db_same a.db b.db &&
	mule -d b.db unpack --mail >out &&
	test_grep out "applied before; nothing changed" &&
	test "$(nmail)" = 1
'

test_expect_success 'by POP3, deleting what applied, leaving other mail alone' '
	printf "From: x@example.org\r\nSubject: lunch\r\n\r\nnoon?\r\n" >lunch.eml &&
	deliver lunch.eml &&
	sql a.db "UPDATE t SET v = '\''uno'\'' WHERE id = 1" &&
	mule -d a.db pack --to b --mail >/dev/null &&
	wait_mail 3 &&
	mule -d b.db config mail.inbox "$pop3" &&
	mule -d b.db config mail.after-fetch delete &&
	mule -d b.db unpack --mail >out &&
	test_grep out "1 updated" &&
	test_grep out "fetched 2 mule messages from pop3://.*; 2 deleted" &&
	db_same a.db b.db &&
	test "$(nmail)" = 1 &&
	grep -l "noon?" "$MAILDIRS"/b/*/* >/dev/null
'

test_expect_success 'from the maildir path' '
	sql a.db "INSERT INTO t VALUES (3, '\''three'\'')" &&
	mule -d a.db pack --to b --mail >/dev/null &&
	wait_mail 2 &&
	mule -d b.db config mail.after-fetch keep &&
	mule -d b.db config mail.inbox "maildir:$MAILDIRS/b" &&
	mule -d b.db unpack --mail >out &&
	test_grep out "1 inserted" &&
	db_same a.db b.db
'

test_expect_success 'from an mbox file' '
	sql a.db "DELETE FROM t WHERE id = 2" &&
	mule -d a.db pack --to b --mail >/dev/null &&
	wait_mail 3 &&
	python3 -c "
import mailbox, sys
src = mailbox.Maildir(sys.argv[1], factory=None, create=False)
dst = mailbox.mbox(sys.argv[2])
for k in src.keys():
    dst.add(src.get_message(k))
dst.flush()" "$MAILDIRS/b" b.mbox &&
	mule -d b.db config mail.inbox "mbox:$PWD/b.mbox" &&
	mule -d b.db unpack --mail >out &&
	test_grep out "1 deleted" &&
	test_grep out "applied before" &&
	db_same a.db b.db &&
	mule -d b.db config mail.inbox "maildir:$MAILDIRS/b" &&
	mule -d b.db config mail.after-fetch keep
'

test_expect_success 'from .eml files written by pack --eml' '
	mkdir eml &&
	sql a.db "INSERT INTO t VALUES (5, '\''five'\'')" &&
	mule -d a.db pack --to b --eml eml >out &&
	test_grep out "wrote 1 message to eml" &&
	mule -d b.db unpack eml/*.eml >out &&
	test_grep out "applied a-b-[0-9]*.mule .in eml/a-b-.*eml. from a: 1 inserted" &&
	db_same a.db b.db &&
	mule -d b.db unpack eml >out &&
	test_grep out "applied before" &&
	deliver eml/*.eml &&
	mule -d b.db unpack --mail >out &&
	test_grep out "applied before" &&
	db_same a.db b.db
'

test_expect_success 'an independent MIME parser finds the bundle, which verifies' '
	f=$(ls eml/*.eml) &&
	python3 -c "
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], \"rb\"), policy=email.policy.default)
assert m.is_multipart() and m.get_content_type() == \"multipart/mixed\"
atts = [p for p in m.iter_attachments() if p.get_content_type() == \"application/vnd.mule.bundle\"]
assert len(atts) == 1, atts
a = atts[0]
assert a.get_filename().endswith(\".mule\")
open(\"py.mule\", \"wb\").write(a.get_content())
text = m.get_body((\"plain\",)).get_content()
assert \"mule -d DB unpack\" in text and \"\\\"a\\\"\" in text
print(m[\"X-Mule-Bundle\"])" "$f" >id &&
	mule -d b.db verify py.mule >out &&
	mule -d b.db inspect py.mule --json | json_get bundle >id2 &&
	test_cmp id id2
'

test_expect_success 'a bundle split over 3 messages, out of order, one twice' '
	python3 -c "
import os, sqlite3
c = sqlite3.connect(\"a.db\")
c.execute(\"INSERT INTO t VALUES (10, ?)\", (os.urandom(100000),))
c.commit()" &&
	mule -d a.db config mail.max-size 64k &&
	mkdir split &&
	mule -d a.db pack --to b --eml split >out &&
	test_grep out "wrote 3 messages" &&
	ls split/*.eml >list && test "$(wc -l <list)" = 3 &&
	for f in split/*.eml; do
		test "$(wc -c <"$f")" -le 65536 || exit 1
	done &&
	s=$(file_sum b.db) &&
	deliver split/*d003*.eml split/*d001*.eml split/*d003*.eml &&
	mule -d b.db unpack --mail >out &&
	test_grep out "waits in the spool" &&
	test "$(file_sum b.db)" = "$s" &&
	deliver split/*d002*.eml &&
	mule -d b.db unpack --mail >out &&
	test_grep out "applied bundle" &&
	db_same a.db b.db
'

test_expect_success 'a message for another site is left alone' '
	add_site c &&
	mule -d a.db peer set c email c@example.org >/dev/null &&
	mkdir forc &&
	sql a.db "INSERT INTO t VALUES (20, '\''c only'\'')" &&
	mule -d a.db pack --to c --eml forc >/dev/null &&
	mule -d b.db config mail.after-fetch delete &&
	mule -d b.db unpack --mail >/dev/null &&
	test "$(nmail)" = 1 &&
	deliver forc/*.eml &&
	s=$(file_sum b.db) &&
	mule -d b.db unpack --mail >out &&
	test_grep out "[0-9] for other sites left alone" &&
	test "$(file_sum b.db)" = "$s" &&
	grep -l "X-Mule-To" "$MAILDIRS"/b/*/* >/dev/null
'

test_expect_success 'server unreachable: clear message, nothing sent or changed' '
	mule -d a.db config mail.smtp smtp://127.0.0.1:1 &&
	refuses 1 a.db "cannot reach the mail server smtp://127.0.0.1:1" \
	    mule -d a.db pack --to b --mail &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$SMTP_PORT" &&
	mule -d b.db config mail.inbox imap://b@127.0.0.1:1 &&
	refuses 1 b.db "cannot reach the mail server imap://b@127.0.0.1:1" \
	    mule -d b.db unpack --mail
'

test_expect_success 'without mail.allow-cleartext-password no password goes to imap:// or pop3://' '
	mule -d b.db config --unset mail.allow-cleartext-password &&
	mule -d b.db config mail.inbox "$imap" &&
	refuses 1 b.db "not sending the mail password to imap://127.0.0.1:[0-9]* unencrypted: use imaps://.*mail.starttls yes.*mail.allow-cleartext-password yes" \
	    mule -d b.db unpack --mail &&
	mule -d b.db config mail.inbox "$pop3" &&
	refuses 1 b.db "not sending the mail password to pop3://" \
	    mule -d b.db unpack --mail &&
	mule -d b.db config mail.allow-cleartext-password yes &&
	mule -d b.db config mail.inbox "$imap"
'

test_expect_success 'authentication refused by IMAP and POP3' '
	echo wrong >bad.pw && chmod 600 bad.pw &&
	mule -d b.db config mail.password-file bad.pw &&
	mule -d b.db config mail.inbox "$imap" &&
	refuses 1 b.db "refused the login of .b.*mail.password-file" \
	    mule -d b.db unpack --mail &&
	mule -d b.db config mail.inbox "$pop3" &&
	refuses 1 b.db "refused the login of .b." mule -d b.db unpack --mail &&
	mule -d b.db config mail.password-file b.pw
'

if [ -n "$IMAPS_PORT" ]; then
	test_expect_success 'IMAPS and POP3S: an untrusted certificate is refused' '
		mule -d b.db config --unset mail.ca-file 2>/dev/null; :
		mule -d b.db config mail.inbox "imaps://b@localhost:$IMAPS_PORT" &&
		refuses 3 b.db "TLS certificate of localhost is not accepted.*mail.ca-file" \
		    mule -d b.db unpack --mail &&
		mule -d b.db config mail.inbox "pop3s://b@localhost:$POP3S_PORT" &&
		refuses 3 b.db "TLS certificate of localhost is not accepted" \
		    mule -d b.db unpack --mail
	'

	test_expect_success 'IMAPS and POP3S with mail.ca-file: the name must match' '
		mule -d b.db config mail.ca-file "$MAIL_CERT" &&
		mule -d b.db config mail.inbox "imaps://b@127.0.0.1:$IMAPS_PORT" &&
		refuses 3 b.db "TLS certificate of 127.0.0.1 is not accepted: it is made out to another host name" \
		    mule -d b.db unpack --mail &&
		mule -d b.db config mail.inbox "pop3s://b@localhost:$POP3S_PORT" &&
		mule -d b.db unpack --mail >out &&
		test_grep out "fetched [0-9]+ mule messages? from pop3s://" &&
		mule -d b.db config mail.inbox "imaps://b@localhost:$IMAPS_PORT" &&
		mule -d b.db unpack --mail >out &&
		test_grep out "fetched [0-9]+ mule messages? from imaps://" &&
		mule -d b.db config --unset mail.ca-file &&
		mule -d b.db config mail.inbox "$imap"
	'

	test_expect_success 'imap:// and pop3:// with mail.starttls yes: TLS before the login, certificate checked' '
		mule -d b.db config --unset mail.allow-cleartext-password &&
		mule -d b.db config mail.starttls yes &&
		mule -d b.db config mail.inbox "imap://b@localhost:$IMAP_PORT" &&
		refuses 3 b.db "TLS certificate of localhost is not accepted" \
		    mule -d b.db unpack --mail &&
		mule -d b.db config mail.ca-file "$MAIL_CERT" &&
		mule -d b.db unpack --mail >out &&
		test_grep out "fetched [0-9]+ mule messages? from imap://" &&
		mule -d b.db config mail.inbox "pop3://b@localhost:$POP3_PORT" &&
		mule -d b.db unpack --mail >out &&
		test_grep out "fetched [0-9]+ mule messages? from pop3://" &&
		mule -d b.db config --unset mail.ca-file &&
		mule -d b.db config --unset mail.starttls &&
		mule -d b.db config mail.allow-cleartext-password yes &&
		mule -d b.db config mail.inbox "$imap"
	'
else
	test_skip 'IMAPS and POP3S' 'openssl cannot make a test certificate'
fi

test_expect_success 'SMTP login without TLS: refused with advice, nothing sent' '
	echo secret-a >a.pw && chmod 600 a.pw &&
	mule -d a.db config mail.user a &&
	mule -d a.db config mail.password-file a.pw &&
	sql a.db "INSERT INTO t VALUES (30, '\''x'\'')" &&
	refuses 1 a.db "offers no login .AUTH.*mail.starttls yes" \
	    mule -d a.db pack --to b --mail &&
	mule -d a.db config mail.starttls yes &&
	refuses 1 a.db "it does not offer STARTTLS" \
	    mule -d a.db pack --to b --mail &&
	mule -d a.db config --unset mail.starttls &&
	mule -d a.db config --unset mail.user &&
	mule -d a.db config --unset mail.password-file
'

# The server's size limit shows only once the message is made, after the
# bundle's number was spent: the number stays spent (never used for
# other contents), the data is as it was, and the next pack goes.
test_expect_success 'a message too large for the server: clear message, its number spent' '
	python3 -c "
import os, sqlite3
c = sqlite3.connect(\"a.db\")
c.execute(\"INSERT INTO t VALUES (11, ?)\", (os.urandom(400000),))
c.commit()" &&
	mule -d a.db config mail.max-size 1M &&
	exact_dump a.db >before &&
	test_expect_code 1 mule -d a.db pack --to b --mail 2>err &&
	test_grep err "mail server .* (too large|at most).*mail.max-size" &&
	exact_dump a.db >after && test_cmp before after &&
	mule -d a.db log --json | json_true "any(b[\"dir\"] == \"spent\" for b in v)" &&
	mule -d a.db config mail.max-size 200k &&
	mule -d a.db pack --to b --mail >out &&
	test_grep out "mailed [3-9] messages"
'

# bad_mime FILE: a mule message whose multipart never closes.
# not_bundle FILE: well-formed, but the attachment is not a bundle.
mule_msg() {
	python3 - "$@" <<-'PYEOF'
	import base64, os, sys
	kind, path = sys.argv[1], sys.argv[2]
	b = "----b%d" % os.getpid()
	data = base64.encodebytes(os.urandom(3000)).decode().replace("\n", "\r\n")
	msg = ("From: a@example.org\r\nTo: b@example.org\r\nSubject: mule %s\r\n"
	       "X-Mule-Bundle: %s\r\nX-Mule-Part: 1/1\r\nMIME-Version: 1.0\r\n"
	       "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	       "--%s\r\nContent-Type: application/vnd.mule.bundle; name=\"x.mule\"\r\n"
	       "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
	       % (kind, os.urandom(16).hex(), b, b, data))
	if kind == "bad":
	    msg = msg.replace("base64\r\n\r\n", "base64\r\n\r\n!!not base64!!\r\n", 1)
	else:
	    msg += "--%s--\r\n" % b
	open(path, "w").write(msg)
	PYEOF
}

test_expect_success 'malformed MIME and a non-bundle: reported, nothing applied' '
	mule -d b.db config mail.inbox "maildir:$MAILDIRS/b" &&
	mule -d b.db config mail.after-fetch delete &&
	mule -d b.db unpack --mail >/dev/null &&
	mule_msg bad bad.eml && mule_msg junk junk.eml &&
	python3 -c "
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], \"rb\"), policy=email.policy.default)
for p in m.walk():
    if p.get_content_type() == \"application/vnd.mule.bundle\":
        b = bytearray(p.get_content())
        b[len(b) // 2] ^= 0x55
        p.set_content(bytes(b), maintype=\"application\", subtype=\"vnd.mule.bundle\", disposition=\"attachment\", filename=\"tampered.mule\")
open(sys.argv[2], \"wb\").write(m.as_bytes())" eml/*.eml tampered.eml &&
	deliver bad.eml junk.eml tampered.eml &&
	before=$(nmail) &&
	refuses 3 b.db "message [0-9]+ in maildir:.*multipart.*left in the mailbox" \
	    mule -d b.db unpack --mail &&
	test_grep err "x.mule: .*(not a mule bundle|magic|format)" &&
	test_grep err "tampered.mule: .*(signature|tamper|verif)" &&
	test "$(nmail)" = "$before"
'

test_expect_success 'good messages in the same mailbox still apply' '
	sql a.db "UPDATE t SET v = '\''deux'\'' WHERE id = 3" &&
	before=$(nmail) &&
	mule -d a.db pack --to b --mail >/dev/null &&
	wait_mail $((before + 1)) &&
	test_expect_code 3 mule -d b.db unpack --mail >out 2>err &&
	test_grep out "1 updated" &&
	test_grep err "left in the mailbox" &&
	db_same a.db b.db
'

mail_servers_stop
test_done
