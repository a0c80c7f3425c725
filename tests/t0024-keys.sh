#!/bin/sh
# Keys where there is no network (issue 16 item 9): peer add from a file
# or stdin, asking on a terminal; id --qr / --qr=FILE.png; id --export;
# a passphrase on the key file (init --passphrase, id --passphrase,
# MULE_PASSPHRASE_FILE, the terminal prompt) for every command that
# loads the key.  And what verify and inspect read (item 6, item 8):
# directories, parts, ISO images, several paths; verify --json.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# unchanged DB: DB's dump is what DB.before holds.
unchanged() {
	sqlite3 "$1" .dump >"$1.after" && test_cmp "$1.before" "$1.after"
}
before() { sqlite3 "$1" .dump >"$1.before"; }

# A terminal for stdin, when script(1) is there: on_tty INPUT CMD...
# runs CMD with INPUT typed at it; its output in tty.out.
have_tty=no
command -v script >/dev/null 2>&1 && have_tty=yes
on_tty() {
	_in=$1
	shift
	printf '%s\n' "$_in" | script -qec "$*" /dev/null >tty.out 2>&1
}

test_expect_success 'setup: a and b, one table each, tracked' '
	pair_with "CREATE TABLE t(id TEXT PRIMARY KEY, v TEXT)" &&
	mule init c.db --name c >/dev/null &&
	printf "%s\n" "secret horse battery" >pw && chmod 600 pw
'

test_expect_success 'peer add NAME FILE: the key string in a mule id printout' '
	mule -d c.db id >c-id.txt &&
	mule -d a.db peer add c c-id.txt >out &&
	test_grep out "^added peer .c.$" &&
	test_grep out "^fingerprint: $(mule -d c.db id --json | json_get fingerprint)$" &&
	test_grep out "^to undo: mule peer remove c$" &&
	mule -d a.db peer list --json | json_true "[p[\"name\"] for p in v] == [\"b\", \"c\"]"
'

test_expect_success 'peer add NAME -: the key string on stdin' '
	mule -d c.db id --json | mule -d b.db peer add c - >out &&
	test_grep out "^added peer .c.$" &&
	mule -d b.db peer list --json | json_true "\"c\" in [p[\"name\"] for p in v]"
'

test_expect_success 'a mistyped key string in a file: refused, nothing changed' '
	mule init d.db --name d >/dev/null &&
	key=$(mule -d d.db id --json | json_get key) &&
	python3 -c "import sys; k=sys.argv[1]; c=\"b\" if k[30]!=\"b\" else \"c\"; print(k[:30]+c+k[31:])" "$key" >bad.key &&
	before a.db &&
	test_expect_code 1 mule -d a.db peer add d bad.key 2>err &&
	test_grep err "^mule: bad.key: key string checksum does not match: a character is mistyped$" &&
	unchanged a.db
'

test_expect_success 'a file without a key string, a name that is neither: refused' '
	echo "hello" >junk.txt &&
	before a.db &&
	test_expect_code 1 mule -d a.db peer add d junk.txt 2>err &&
	test_grep err "^mule: junk.txt holds no mule key string" &&
	test_expect_code 1 mule -d a.db peer add d nosuchfile 2>err &&
	test_grep err "^mule: .nosuchfile. is neither a mule key string" &&
	echo "" | test_expect_code 1 mule -d a.db peer add d - 2>err &&
	test_grep err "^mule: stdin holds no mule key string" &&
	unchanged a.db
'

if [ $have_tty = yes ]; then
	test_expect_success 'on a terminal peer add shows the fingerprint and asks' '
		before a.db &&
		{ on_tty n mule -d a.db peer add d "$(mule -d d.db id --json | json_get key)"; test $? = 1; } &&
		test_grep tty.out "trust this key as peer .d.\? \[y/N\]" &&
		test_grep tty.out "$(mule -d d.db id --json | json_get fingerprint)" &&
		test_grep tty.out "not added: nothing changed" &&
		unchanged a.db &&
		on_tty y mule -d a.db peer add d "$(mule -d d.db id --json | json_get key)" &&
		test_grep tty.out "added peer .d." &&
		mule -d a.db peer remove d >/dev/null &&
		on_tty "" mule -d a.db peer add --yes d "$(mule -d d.db id --json | json_get key)" &&
		! grep -q "y/N" tty.out &&
		test_grep tty.out "added peer .d." &&
		mule -d a.db peer remove d >/dev/null &&
		on_tty "$(mule -d d.db id --json | json_get key)
y" mule -d a.db peer add d - &&
		test_grep tty.out "trust this key as peer .d.\? \[y/N\] added peer .d."
	'
else
	test_skip 'on a terminal peer add shows the fingerprint and asks' 'no script(1)'
fi

test_expect_success 'id --qr draws the key: ASCII under LC_ALL=C, half blocks in UTF-8' '
	LC_ALL=C mule -d c.db id --qr >qr.txt &&
	test_grep qr.txt "^(##|  )+$" &&
	test "$(awk "{ print length }" qr.txt | sort -u | wc -l)" = 1 &&
	test "$(wc -l <qr.txt)" = "$(($(head -1 qr.txt | wc -c) / 2))" &&
	! LC_ALL=C grep -q "[^# ]" qr.txt &&
	LC_ALL=C.UTF-8 mule -d c.db id --qr >qr8.txt &&
	grep -q "▀" qr8.txt && grep -q "▄" qr8.txt &&
	test "$(wc -l <qr8.txt)" -lt "$(wc -l <qr.txt)"
'

test_expect_success 'id --qr=FILE.png writes a PNG image, never over a file' '
	mule -d c.db id --qr=c.png >out &&
	test_grep out "c.png" &&
	test "$(head -c 8 c.png | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a &&
	python3 -c "
import struct, sys, zlib
d = open(\"c.png\", \"rb\").read()
assert d[12:16] == b\"IHDR\"
w, h, depth, color = struct.unpack(\">IIBB\", d[16:26])
assert w == h and w > 100 and depth == 1 and color == 0, (w, h, depth, color)
assert zlib.crc32(d[12:29]) == struct.unpack(\">I\", d[29:33])[0]
assert d.endswith(b\"IEND\\xaeB\\x60\\x82\")
" &&
	file c.png | grep -q "PNG image data" &&
	s=$(file_sum c.png) &&
	test_expect_code 1 mule -d c.db id --qr=c.png 2>err &&
	test_grep err "^mule: c.png exists already; it is not overwritten$" &&
	test "$(file_sum c.png)" = "$s"
'

if command -v zbarimg >/dev/null 2>&1; then
	test_expect_success 'the PNG scans back to the key; peer add takes the scan' '
		zbarimg -q c.png 2>/dev/null >scan &&
		key=$(mule -d c.db id --json | json_get key) &&
		test "$(cat scan)" = "QR-Code:$(echo "$key" | tr a-z A-Z)" &&
		mule -d d.db peer add c - <scan >out &&
		test_grep out "^fingerprint: $(mule -d c.db id --json | json_get fingerprint)$"
	'
else
	test_skip 'the PNG scans back to the key; peer add takes the scan' 'no zbarimg'
fi

test_expect_success 'id --export FILE backs up the key file, 0600, never over a file' '
	mule -d c.db id --export backup.key >out &&
	test_grep out "backup.key" &&
	cmp c.db.mule-key backup.key &&
	test "$(stat -c %a backup.key)" = 600 &&
	echo old >taken.key && chmod 600 taken.key &&
	test_expect_code 1 mule -d c.db id --export taken.key 2>err &&
	test_grep err "^mule: taken.key exists already; it is not overwritten$" &&
	test "$(cat taken.key)" = old &&
	mv c.db.mule-key c.db.mule-key.lost &&
	mule -d c.db --key backup.key id >out &&
	test_grep out "^name: +c$" &&
	mv c.db.mule-key.lost c.db.mule-key
'

test_expect_success 'id does one thing at a time: two of its actions are a usage error' '
	test_expect_code 2 mule -d c.db id --qr --export x.key 2>err &&
	test_grep err "^usage: mule id" &&
	test_expect_code 2 mule -d c.db id --json --qr=x.png 2>err &&
	! test -e x.key && ! test -e x.png
'

test_expect_success 'init --passphrase=FILE: the key file is protected' '
	mule init p.db --name p --passphrase=pw >out &&
	test_grep out "protected by the passphrase" &&
	test "$(stat -c %s p.db.mule-key)" = 225 &&
	test "$(stat -c %a p.db.mule-key)" = 600 &&
	! grep -q "secret horse" p.db.mule-key &&
	test_expect_code 1 mule -d p.db id 2>err &&
	test_grep err "^mule: key file p.db.mule-key is protected by a passphrase: set MULE_PASSPHRASE_FILE" &&
	MULE_PASSPHRASE_FILE=pw mule -d p.db id >out &&
	test_grep out "^name: +p$"
'

test_expect_success 'setup: p trusts a and a trusts p; p has the table' '
	MULE_PASSPHRASE_FILE=pw mule -d p.db peer add a "$(mule -d a.db id --json | json_get key)" >/dev/null &&
	mule -d a.db peer add p "$(MULE_PASSPHRASE_FILE=pw mule -d p.db id --json | json_get key)" >/dev/null &&
	sqlite3 p.db "CREATE TABLE t(id TEXT PRIMARY KEY, v TEXT)" &&
	mule -d p.db track t >/dev/null 2>&1 &&
	sqlite3 p.db "INSERT INTO t VALUES (1, '"'"'from p'"'"')"
'

test_expect_success 'a wrong passphrase: pack refused, nothing changed, no bundle' '
	printf "not it\n" >wrong && chmod 600 wrong &&
	before p.db &&
	test_expect_code 1 env MULE_PASSPHRASE_FILE=wrong mule -d p.db pack --to a -o w.mule 2>err &&
	test_grep err "^mule: wrong passphrase for key file p.db.mule-key" &&
	unchanged p.db && ! test -e w.mule
'

test_expect_success 'a missing or public passphrase file: refused, nothing changed' '
	before p.db &&
	test_expect_code 1 env MULE_PASSPHRASE_FILE=nope mule -d p.db pack --to a -o w.mule 2>err &&
	test_grep err "^mule: cannot read the passphrase file nope .MULE_PASSPHRASE_FILE.: it does not exist$" &&
	cp pw pw-public && chmod 644 pw-public &&
	test_expect_code 1 env MULE_PASSPHRASE_FILE=pw-public mule -d p.db pack --to a -o w.mule 2>err &&
	test_grep err "^mule: passphrase file pw-public can be read by others .mode 0644.; run: chmod 600 pw-public$" &&
	unchanged p.db && ! test -e w.mule
'

test_expect_success 'with the passphrase: pack, verify, inspect, unpack' '
	export MULE_PASSPHRASE_FILE=pw &&
	mule -d p.db pack --to a -o p1.mule >/dev/null &&
	mule -d a.db verify p1.mule >out &&
	test_grep out "good signature from p" &&
	mule -d a.db inspect p1.mule >out &&
	test_grep out "^from +p " &&
	mule -d a.db unpack p1.mule >/dev/null &&
	test "$(sqlite3 a.db "SELECT v FROM t WHERE id = 1")" = "from p" &&
	sqlite3 a.db "INSERT INTO t VALUES (2, '"'"'from a'"'"')" &&
	mule -d a.db pack --to p -o a1.mule >/dev/null &&
	mule -d p.db verify a1.mule >/dev/null &&
	mule -d p.db inspect a1.mule >/dev/null &&
	mule -d p.db unpack a1.mule >/dev/null &&
	test "$(sqlite3 p.db "SELECT v FROM t WHERE id = 2")" = "from a"
'

test_expect_success 'a wrong passphrase: unpack and inspect refused, nothing changed' '
	sqlite3 a.db "INSERT INTO t VALUES (3, '"'"'more'"'"')" &&
	mule -d a.db pack --to p -o a2.mule >/dev/null &&
	before p.db &&
	test_expect_code 1 env MULE_PASSPHRASE_FILE=wrong mule -d p.db unpack a2.mule 2>err &&
	test_grep err "^mule: wrong passphrase" &&
	test_expect_code 1 env MULE_PASSPHRASE_FILE=wrong mule -d p.db inspect a2.mule 2>err &&
	test_grep err "^mule: wrong passphrase" &&
	unchanged p.db
'

if [ $have_tty = yes ]; then
	test_expect_success 'on a terminal the passphrase is asked' '
		unset MULE_PASSPHRASE_FILE &&
		on_tty "secret horse battery" mule -d p.db id &&
		test_grep tty.out "passphrase for p.db.mule-key:" &&
		test_grep tty.out "name: +p" &&
		{ on_tty "not it" mule -d p.db id; test $? = 1; } &&
		test_grep tty.out "wrong passphrase"
	'
else
	test_skip 'on a terminal the passphrase is asked' 'no script(1)'
fi

test_expect_success 'id --passphrase changes it, --no-passphrase removes it' '
	printf "second one\n" >pw2 && chmod 600 pw2 &&
	MULE_PASSPHRASE_FILE=pw mule -d p.db id --passphrase=pw2 >out &&
	test_grep out "now protected by the passphrase" &&
	test_expect_code 1 env MULE_PASSPHRASE_FILE=pw mule -d p.db id 2>err &&
	test_grep err "wrong passphrase" &&
	MULE_PASSPHRASE_FILE=pw2 mule -d p.db id >/dev/null &&
	MULE_PASSPHRASE_FILE=pw2 mule -d p.db id --export p-backup.key >out &&
	test_grep out "still protected by the passphrase" &&
	cmp p.db.mule-key p-backup.key &&
	MULE_PASSPHRASE_FILE=pw2 mule -d p.db id --no-passphrase >out &&
	test_grep out "no longer protected" &&
	test "$(stat -c %s p.db.mule-key)" = 152 &&
	test "$(stat -c %a p.db.mule-key)" = 600 &&
	mule -d p.db id >/dev/null &&
	mule -d p.db pack --to a -o p2.mule >/dev/null &&
	mule -d a.db verify p2.mule >/dev/null
'

test_expect_success 'id --passphrase without a terminal or file: refused, key unchanged' '
	s=$(file_sum p.db.mule-key) &&
	test_expect_code 1 mule -d p.db id --passphrase </dev/null 2>err &&
	test_grep err "not a terminal: give the new passphrase in a file" &&
	: >empty && chmod 600 empty &&
	test_expect_code 1 mule -d p.db id --passphrase=empty 2>err &&
	test_grep err "passphrase file empty is empty" &&
	test "$(file_sum p.db.mule-key)" = "$s"
'

# ---- verify and inspect: directories, parts, ISO images, several paths

test_expect_success 'setup: bundles in a directory, parts, an ISO image' '
	sqlite3 a.db "INSERT INTO t VALUES (10, '"'"'x'"'"')" &&
	mkdir two && mule -d a.db pack --to b -o two/ >/dev/null &&
	sqlite3 a.db "INSERT INTO t VALUES (11, '"'"'y'"'"')" &&
	mule -d a.db pack --to b -o two/ >/dev/null &&
	test "$(ls two/*.mule | wc -l)" = 2 &&
	sqlite3 a.db "INSERT INTO t VALUES (12, '"'"'$(head -c 3000 /dev/urandom | base64 -w0)'"'"')" &&
	mkdir parts && mule -d a.db pack --to b -o parts/ --volume-size 1k --parity 1 >/dev/null &&
	test "$(ls parts/*.mule-part | wc -l)" -ge 4 &&
	mule -d a.db pack --to b --full --iso img.iso >/dev/null &&
	before b.db
'

test_expect_success 'verify DIR: every bundle in it' '
	mule -d b.db verify two >out &&
	test "$(grep -c "good signature from a" out)" = 2 &&
	test_grep out "^two/a-b-[0-9]+\.mule: good signature" &&
	test_grep out "^2 bundles checked: all good$" &&
	unchanged b.db
'

test_expect_success 'verify --json: one object per bundle' '
	mule -d b.db verify --json two >j &&
	test "$(wc -l <j)" = 2 &&
	while read -r line; do
		echo "$line" | json_true "v[\"ok\"] is True and v[\"from\"] == \"a\" and v[\"for_us\"] is True and v[\"error\"] is None and v[\"exit\"] == 0 and v[\"file\"].startswith(\"two/\")" || exit 1
	done <j
'

test_expect_success 'verify of parts: a complete set is rebuilt and checked' '
	mule -d b.db verify parts >out &&
	test_grep out "^parts/a-b-[0-9]+ \(parts\): good signature from a" &&
	mule -d b.db verify $(ls parts/* | grep -v d002) >out &&
	test_grep out "\(parts\): good signature from a" &&
	mkdir parts.save && cp parts/* parts.save/ &&
	rm parts/*.d002-* &&
	mule -d b.db verify parts >out &&
	test_grep out "good signature from a" &&
	! test -e b.db.mule-spool && ! ls b.db.mule-tmp-* 2>/dev/null &&
	unchanged b.db
'

test_expect_success 'verify of an incomplete set says how many parts are missing' '
	rm parts/*.p001-* &&
	test_expect_code 1 mule -d b.db verify parts 2>err >out &&
	test_grep err "^mule: parts/a-b-[0-9]+ \(parts\): bundle [0-9a-f]+: [0-9]+ of the [0-9]+ parts needed are here; missing d002 p001; 1 more part is needed$" &&
	{ mule -d b.db verify --json parts >j; test $? = 1; } &&
	json_true "v[\"ok\"] is False and v[\"exit\"] == 1 and \"missing d002\" in v[\"error\"]" <j &&
	unchanged b.db
'

test_expect_success 'verify IMAGE.iso reads the image (not "not a mule bundle")' '
	mule -d b.db verify img.iso >out 2>err &&
	test_grep out "^img.iso:a-b-[0-9]+\.mule: good signature from a" &&
	! grep -q "not a mule bundle" err &&
	mule -d b.db verify --json img.iso | json_true "v[\"ok\"] is True and v[\"file\"].startswith(\"img.iso:\")" &&
	! ls b.db.mule-iso-* 2>/dev/null &&
	unchanged b.db
'

test_expect_success 'verify of several paths: a tampered one fails (exit 3), the rest are checked' '
	cp two/$(ls two | head -1) bad.mule &&
	flip_byte bad.mule -100 &&
	test_expect_code 3 mule -d b.db verify two/$(ls two | head -1) bad.mule img.iso >out 2>err &&
	test "$(grep -c "good signature from a" out)" = 2 &&
	test_grep err "^mule: bad.mule: the signature of .a. does not match" &&
	test_grep out "^3 bundles checked: see the errors above$" &&
	test_expect_code 3 mule -d b.db verify --json bad.mule img.iso >j &&
	head -1 j | json_true "v[\"ok\"] is False and v[\"exit\"] == 3 and \"does not match\" in v[\"error\"]" &&
	tail -1 j | json_true "v[\"ok\"] is True" &&
	unchanged b.db
'

test_expect_success 'verify FILE.eml reads its attachment' '
	mule -d a.db peer set b email b@example.org >/dev/null &&
	mule -d a.db config mail.from a@example.org >/dev/null &&
	mkdir eml && mule -d a.db pack --to b --eml eml >/dev/null &&
	mule -d b.db verify eml/*.eml >out &&
	test_grep out "^a-b-[0-9]+\.mule \(in eml/a-b-[0-9]+\.mule\.eml\): good signature from a" &&
	! ls b.db.mule-mail-* 2>/dev/null &&
	unchanged b.db
'

test_expect_success 'verify: a missing path, an empty directory' '
	test_expect_code 1 mule -d b.db verify nothere 2>err &&
	test_grep err "^mule: nothere: no such file or directory$" &&
	mkdir empty.d &&
	test_expect_code 1 mule -d b.db verify empty.d 2>err &&
	test_grep err "^mule: empty.d: no bundles or parts there" &&
	unchanged b.db
'

test_expect_success 'inspect DIR, IMAGE.iso, parts: each bundle, named' '
	mule -d b.db inspect two img.iso >out &&
	test "$(grep -Ec "^from +a " out)" = 3 &&
	test_grep out "^file +two/a-b-[0-9]+\.mule$" &&
	test_grep out "^file +img.iso:a-b-[0-9]+\.mule$" &&
	mule -d b.db inspect --json two img.iso >j &&
	test "$(wc -l <j)" = 3 &&
	tail -1 j | json_true "v[\"from\"] == \"a\" and v[\"full\"] is True and v[\"file\"].startswith(\"img.iso:\")" &&
	test_expect_code 1 mule -d b.db inspect parts 2>err &&
	test_grep err "1 more part is needed" &&
	unchanged b.db
'

test_expect_success 'the bundles verify read still apply' '
	mule -d b.db unpack two >/dev/null &&
	test "$(sqlite3 b.db "SELECT count(*) FROM t WHERE id IN (10, 11)")" = 2
'

test_done
