#!/bin/sh
# The mail password never goes in clear, and a server's replies are never
# printed raw (issue 13 item 9).  The other side is a hostile mail server:
# a small listener (evil.py below) that offers AUTH without STARTTLS,
# records every byte it receives (and what each base64 word decodes to),
# and answers with terminal escape sequences, control bytes and long
# lines.  It needs no real mail server, so it runs where t0011 skips.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

cat >evil.py <<'PYEOF'
# evil.py MODE LOG: a hostile mail server for up to three connections,
# one after the other, on a free loopback port (pack --mail checks the
# server before it makes the bundle, then sends).  Prints "PORT PID" and
# goes to the background; appends "CONNECT", every line it receives (and
# what its base64 words decode to) and "CLOSED" to LOG for each, and
# answers as MODE says.
import base64, binascii, os, socket, sys

mode, log = sys.argv[1], sys.argv[2]
# Clear the screen, move the cursor, set the window title, CSI raw and as
# UTF-8, a bell.
ESC = "\x1b[2J\x1b[1;1H\x1b]0;owned\x07\x9b31m\xc2\x9b"
LONG = "x" * 3000

def greeting():
    return {
        "smtp": "220 evil ESMTP",
        "smtp-bad-greeting": "554-go away " + ESC + "\r\n554 mule: applied",
        "smtp-bad-mail": "220 evil ESMTP",
        "imap": "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] evil",
        "imap-preauth": "* PREAUTH evil",
        "pop3": "+OK evil",
    }[mode]

def smtp(w, rd):
    cmd = w[0].upper() if w else ""
    if cmd in ("EHLO", "HELO"):
        return "250-evil\r\n250-AUTH PLAIN\r\n250 SIZE 100000000"
    if cmd == "AUTH":
        if len(w) == 2:
            send("334 ")
            record(rd.readline())
        return "235 ok"
    if cmd == "MAIL" and mode == "smtp-bad-mail":
        return ("550-" + ESC + "\r\n550-mule: applied a-b-0001.mule\r\n550 " +
                LONG)
    if cmd in ("MAIL", "RCPT", "RSET", "NOOP"):
        return "250 ok"
    if cmd == "DATA":
        send("354 go")
        while True:
            l = rd.readline()
            if not l or l.rstrip(b"\r\n") == b".":
                break
        return "250 queued"
    if cmd == "QUIT":
        return "221 bye"
    return "502 no"

def imap(w):
    tag = w[0] if w else "*"
    c = w[1].upper() if len(w) > 1 else ""
    if c == "LOGIN":
        return tag + " NO [AUTHENTICATIONFAILED] " + ESC + " denied " + LONG
    if c == "LOGOUT":
        return "* BYE\r\n" + tag + " OK bye"
    if c == "CAPABILITY":
        return "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + " OK done"
    return tag + " BAD " + ESC + " unknown command"

def pop3(w):
    cmd = w[0].upper() if w else ""
    if cmd == "USER":
        return "+OK"
    if cmd == "PASS":
        return "-ERR " + ESC + " bad password " + LONG
    if cmd == "QUIT":
        return "+OK bye"
    return "-ERR " + ESC + " unknown command"

def send(s):
    out.write(s.encode("latin-1") + b"\r\n")
    out.flush()

def record(raw):
    f.write(raw)
    for word in raw.split():
        try:
            f.write(b"  base64: " + base64.b64decode(word, validate=True) +
                    b"\n")
        except (binascii.Error, ValueError):
            pass

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
if os.fork() > 0:
    sys.exit(0)
print(srv.getsockname()[1], os.getpid(), flush=True)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
f = open(log, "ab", buffering=0)
srv.settimeout(60)
for _ in range(3):
    try:
        conn, _ = srv.accept()
    except OSError:
        sys.exit(0)
    f.write(b"CONNECT\n")
    conn.settimeout(60)
    rd = conn.makefile("rb")
    out = conn.makefile("wb")
    try:
        send(greeting())
        while True:
            raw = rd.readline()
            if not raw:
                break
            record(raw)
            w = raw.decode("latin-1").split()
            send(smtp(w, rd) if mode.startswith("smtp") else
                 imap(w) if mode.startswith("imap") else pop3(w))
    except OSError:
        pass
    conn.close()
    f.write(b"CLOSED\n")
PYEOF

# evil_start MODE: a hostile server; sets PORT, and LOG (its record).
# Every server's pid goes to evil.pids; all are stopped at the end.
evil_start() {
	LOG=$TRASH/evil.$1.$$.log
	rm -f "$LOG"
	read -r PORT _pid <<-EOF
	$(python3 "$TRASH/evil.py" "$1" "$LOG")
	EOF
	[ -n "$_pid" ] && echo "$_pid" >>"$TRASH/evil.pids"
}

# evil_done: after mule ran, waits (up to 10 s) for a server that was
# connected to record the end of the session, so that LOG is complete.
evil_done() {
	_i=0
	while [ "$(grep -c CONNECT "$LOG" 2>/dev/null)" != \
	    "$(grep -c CLOSED "$LOG" 2>/dev/null)" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	: >>"$LOG"
}

evil_stop_all() {
	[ -f "$TRASH/evil.pids" ] || return 0
	while read -r _p; do
		kill "$_p" 2>/dev/null
	done <"$TRASH/evil.pids"
}
trap evil_stop_all EXIT

# no_password: the server's record holds neither password, in clear or
# in base64 (evil.py writes what each base64 word decodes to).
no_password() {
	if grep -a -e secret-a -e secret-b "$LOG"; then
		echo "the password reached the server" >&2
		return 1
	fi
}

# ascii FILE: every byte of FILE is printable ASCII or a line feed.
ascii() {
	od -An -v -tx1 "$1" | tr -s ' ' '\n' | grep -v '^$' |
	    grep -v -E '^(0a|2[0-9a-f]|[3-6][0-9a-f]|7[0-9a-e])$' >bad
	if [ -s bad ]; then
		echo "not printable in $1:" >&2
		od -c "$1" >&2
		return 1
	fi
}

# printable FILE: one line of printable ASCII, no longer than a sane
# message.
printable() {
	ascii "$1" && test "$(wc -l <"$1")" = 1 &&
	test "$(wc -c <"$1")" -lt 700
}

# site_files: the files here but the test's own (records, dumps, output).
site_files() {
	ls | grep -v -E '^(dump\.|ls\.|refuses\.out$|err$|out$|bad$|evil)'
}

# same_dir: the sites' files are those listed in ls.before.
same_dir() { site_files >ls.after && test_cmp ls.before ls.after; }

test_expect_success 'setup: a sends by SMTP with a login, b fetches with a password' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v)" &&
	mule -d a.db config mail.from a@example.org &&
	mule -d a.db peer set b email b@example.org >/dev/null &&
	echo secret-a >a.pw && chmod 600 a.pw &&
	mule -d a.db config mail.user a &&
	mule -d a.db config mail.password-file a.pw &&
	echo secret-b >b.pw && chmod 600 b.pw &&
	mule -d b.db config mail.password-file b.pw &&
	sql a.db "INSERT INTO t VALUES (1, '\''one'\'')"
'

test_expect_success 'mail.allow-cleartext-password is yes or no' '
	s=$(file_sum a.db) &&
	test_expect_code 2 mule -d a.db config mail.allow-cleartext-password maybe 2>err &&
	test_grep err "mail.allow-cleartext-password is yes or no, not .maybe." &&
	test "$(file_sum a.db)" = "$s" &&
	mule -d a.db config mail.allow-cleartext-password no &&
	mule -d a.db config --unset mail.allow-cleartext-password &&
	mule config --help | test_grep - "mail.allow-cleartext-password"
'

test_expect_success 'SMTP AUTH on smtp:// without STARTTLS: refused before connecting' '
	evil_start smtp &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$PORT" &&
	sqlite3 a.db .dump >dump.before && site_files >ls.before &&
	refuses 1 a.db "not sending the mail password to smtp://127.0.0.1:$PORT unencrypted: use smtps://127.0.0.1 .TLS., or .mule config mail.starttls yes. if the server offers STARTTLS; on a network you trust, .mule config mail.allow-cleartext-password yes. sends it in clear" \
	    mule -d a.db pack --to b --mail &&
	sqlite3 a.db .dump >dump.after && test_cmp dump.before dump.after &&
	same_dir &&
	evil_done && ! grep -q CONNECT "$LOG" && no_password
'

test_expect_success 'mail.starttls yes and a server without STARTTLS: refused, no AUTH' '
	evil_start smtp &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$PORT" &&
	mule -d a.db config mail.starttls yes &&
	sqlite3 a.db .dump >dump.before && site_files >ls.before &&
	refuses 1 a.db "mail server 127.0.0.1:$PORT: it does not offer STARTTLS: check mail.starttls" \
	    mule -d a.db pack --to b --mail &&
	sqlite3 a.db .dump >dump.after && test_cmp dump.before dump.after &&
	same_dir &&
	evil_done && test_grep "$LOG" "^EHLO" &&
	! grep -a -i "^AUTH" "$LOG" && no_password &&
	mule -d a.db config --unset mail.starttls
'

test_expect_success 'with mail.allow-cleartext-password yes the password goes (the server sees it)' '
	evil_start smtp &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$PORT" &&
	mule -d a.db config mail.allow-cleartext-password yes &&
	mule -d a.db pack --to b --mail >out &&
	test_grep out "mailed 1 message to b" &&
	evil_done && test_grep "$LOG" "^AUTH PLAIN" &&
	grep -a -q secret-a "$LOG" &&
	mule -d a.db config --unset mail.allow-cleartext-password
'

test_expect_success 'IMAP LOGIN and POP3 USER/PASS on imap://, pop3://: refused before connecting' '
	for m in imap pop3; do
		evil_start $m &&
		mule -d b.db config mail.inbox "$m://b@127.0.0.1:$PORT" &&
		sqlite3 b.db .dump >dump.before && site_files >ls.before &&
		refuses 1 b.db "not sending the mail password to $m://127.0.0.1:$PORT unencrypted: use ${m}s://127.0.0.1 .TLS., or .mule config mail.starttls yes.*mail.allow-cleartext-password yes" \
		    mule -d b.db unpack --mail &&
		sqlite3 b.db .dump >dump.after && test_cmp dump.before dump.after &&
		same_dir &&
		evil_done && ! grep -q CONNECT "$LOG" && no_password || return 1
	done
'

test_expect_success 'mail.starttls yes: a server that does not start TLS gets no login' '
	mule -d b.db config mail.starttls yes &&
	for m in imap pop3; do
		evil_start $m &&
		mule -d b.db config mail.inbox "$m://b@127.0.0.1:$PORT" &&
		sqlite3 b.db .dump >dump.before &&
		refuses 1 b.db "the mail server $m://b@127.0.0.1:$PORT did not start TLS .(STARTTLS|STLS).: nothing was sent in clear; check mail.starttls" \
		    mule -d b.db unpack --mail &&
		sqlite3 b.db .dump >dump.after && test_cmp dump.before dump.after &&
		evil_done && test_grep "$LOG" "^(1 STARTTLS|STLS)" &&
		! grep -a -i -E "LOGIN|^USER|^PASS" "$LOG" && no_password || return 1
	done
'

test_expect_success 'mail.starttls yes: IMAP PREAUTH in clear is refused' '
	evil_start imap-preauth &&
	mule -d b.db config mail.inbox "imap://b@127.0.0.1:$PORT" &&
	refuses 1 b.db "logged in without TLS .PREAUTH. where STARTTLS was required" \
	    mule -d b.db unpack --mail &&
	evil_done && ! grep -a -E "SELECT|LOGIN" "$LOG" &&
	mule -d b.db config --unset mail.starttls
'

test_expect_success 'SMTP: escape sequences in the greeting are not printed' '
	mule -d a.db config --unset mail.user &&
	evil_start smtp-bad-greeting &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$PORT" &&
	sql a.db "INSERT INTO t VALUES (2, '\''two'\'')" &&
	refuses 1 a.db "cannot reach the mail server smtp://127.0.0.1:$PORT .*go away .\[2J.\[1;1H.\]0;owned..31m.. mule: applied" \
	    mule -d a.db pack --to b --mail &&
	printable err
'

test_expect_success 'SMTP: a long reply with escape sequences is cut and filtered' '
	evil_start smtp-bad-mail &&
	mule -d a.db config mail.smtp "smtp://127.0.0.1:$PORT" &&
	refuses 1 a.db "mail server smtp://127.0.0.1:$PORT: MAIL FROM: .*\?\[2J.* mule: applied a-b-0001.mule x+\.\.\.$" \
	    mule -d a.db pack --to b --mail &&
	printable err
'

test_expect_success 'IMAP and POP3: a refusal with escape sequences is cut and filtered' '
	mule -d b.db config mail.allow-cleartext-password yes &&
	for m in imap pop3; do
		evil_start $m &&
		mule -d b.db config mail.inbox "$m://b@127.0.0.1:$PORT" &&
		refuses 1 b.db "refused the login of .b. .the server said: .*\?\[2J.*x\.\.\.\): check" \
		    mule -d b.db unpack --mail &&
		printable err || return 1
	done
'

test_expect_success 'an attachment name with C1 controls or a bidi override is not shown' '
	mkdir eml &&
	sql a.db "INSERT INTO t VALUES (3, '\''three'\'')" &&
	mule -d a.db pack --to b --eml eml >/dev/null &&
	f=$(ls eml/*.eml) &&
	python3 -c "
import re, sys
p = sys.argv[1]
m = open(p, \"rb\").read()
evil = b\"x\\xe2\\x80\\xaegpj.\\xc2\\x9b31mmule\"
m, n = re.subn(rb\"name=\\\"[^\\\"]*\\\"\", b\"name=\\\"\" + evil + b\"\\\"\", m)
assert n == 2, n
open(p, \"wb\").write(m)" "$f" &&
	mule -d b.db unpack "$f" >out 2>err &&
	test_grep out "applied [0-9a-f]{32}.mule .in eml/" &&
	ascii out && ascii err &&
	test "$(sql b.db "SELECT v FROM t WHERE id = 3")" = three
'

# Servers nobody connected to (mule refused first) still wait: stop them
# before test_done removes the list.
evil_stop_all
test_done
