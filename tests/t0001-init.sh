#!/bin/sh
# mule init, id, peer: identities, trust, and every refusal.
. "$(dirname "$0")/lib/test-lib.sh"

test_expect_success 'init a new database' '
	mule init fresh.db --name field-1 >out &&
	test_grep out "initialised fresh.db as site .field-1." &&
	test -f fresh.db.mule-key &&
	test "$(stat -c %a fresh.db.mule-key)" = 600 &&
	sqlite3 fresh.db "SELECT name FROM _mule_site" >name &&
	test "$(cat name)" = field-1
'

test_expect_success 'id prints name, site id, key and fingerprint' '
	mule -d fresh.db id >out &&
	test_grep out "^name: +field-1$" &&
	test_grep out "^public key: +mule1[a-z2-7]+$" &&
	test_grep out "^fingerprint: +([a-z2-7]{4}-){9}[a-z2-7]{4}$" &&
	MULE_DB=fresh.db mule id --json >j &&
	test "$(json_get name <j)" = field-1 &&
	json_get key <j | grep -q "^mule1"
'

test_expect_success 'the default name comes from the file name' '
	mule init "clinic north.sqlite" >/dev/null &&
	test "$(mule -d "clinic north.sqlite" id --json | json_get name)" = clinic-north
'

test_expect_success 'init a database already full of data keeps it' '
	sqlite3 full.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	    INSERT INTO t VALUES (1, '"'a'"'), (2, '"'b'"');" &&
	db_dump full.db >before &&
	mule init full.db >/dev/null &&
	db_dump full.db >after &&
	test_cmp before after
'

if have_chinook; then
	test_expect_success 'init the Chinook sample database' '
		sqlite3 chinook.db <"$CHINOOK" &&
		db_dump chinook.db >before &&
		mule init chinook.db --name hq >/dev/null &&
		db_dump chinook.db >after &&
		test_cmp before after &&
		mule -d chinook.db id >/dev/null
	'
else
	test_skip 'init the Chinook sample database' "no $CHINOOK"
fi

test_expect_success 'a second init is refused and changes nothing' '
	s=$(file_sum fresh.db) && k=$(file_sum fresh.db.mule-key) &&
	test_must_fail mule init fresh.db 2>err &&
	test_grep err "already a mule replica" &&
	test "$(file_sum fresh.db)" = "$s" &&
	test "$(file_sum fresh.db.mule-key)" = "$k"
'

test_expect_success 'a file that is not SQLite is refused, unchanged' '
	printf "this is not a database, just text\n%.0s" 1 2 3 4 5 >notdb.db &&
	s=$(file_sum notdb.db) &&
	test_must_fail mule init notdb.db 2>err &&
	test_grep err "not a SQLite database" &&
	test "$(file_sum notdb.db)" = "$s" &&
	! test -e notdb.db.mule-key
'

test_expect_success 'an existing key file is never overwritten' '
	sqlite3 k.db "CREATE TABLE t(id INTEGER PRIMARY KEY)" &&
	echo precious >k.db.mule-key &&
	s=$(file_sum k.db) &&
	test_must_fail mule init k.db 2>err &&
	test_grep err "key file k.db.mule-key exists" &&
	test "$(cat k.db.mule-key)" = precious &&
	test "$(file_sum k.db)" = "$s"
'

test_expect_success 'a bad site name is refused' '
	test_expect_code 2 mule init bad.db --name "no spaces" 2>err &&
	test_grep err "may hold only" &&
	! test -e bad.db
'

# A database on a read-only filesystem (root ignores file modes).
ro_ok=no
if mkdir -p romnt && mount -t tmpfs -o size=4m tmpfs romnt 2>/dev/null; then
	sqlite3 romnt/ro.db "CREATE TABLE t(id INTEGER PRIMARY KEY)" &&
	mount -o remount,ro romnt && ro_ok=yes
fi
if [ $ro_ok = yes ]; then
	test_expect_success 'a database that cannot be written is refused' '
		s=$(file_sum romnt/ro.db) &&
		test_must_fail mule init romnt/ro.db 2>err &&
		test_grep err "Read-only file system" &&
		test "$(file_sum romnt/ro.db)" = "$s"
	'
	umount romnt
else
	test_skip 'a database that cannot be written is refused' \
	    'cannot mount a read-only tmpfs here'
fi

test_expect_success 'setup: two sites' '
	setup_pair &&
	mule -d a.db peer list >out &&
	test_grep out "^b +([a-z2-7]{4}-){9}[a-z2-7]{4}$"
'

test_expect_success 'peer add prints the fingerprint to compare' '
	mule init c.db --name c >/dev/null &&
	mule -d a.db peer add c "$(mule -d c.db id --json | json_get key)" >out &&
	test_grep out "$(mule -d c.db id --json | json_get fingerprint)"
'

test_expect_success 'peer list --json' '
	mule -d a.db peer list --json >j &&
	python3 -c "import json,sys; v=json.load(open(\"j\")); assert [p[\"name\"] for p in v]==[\"b\",\"c\"], v"
'

test_expect_success 'a mistyped key is refused, nothing changed' '
	key=$(mule -d fresh.db id --json | json_get key) &&
	bad=$(python3 -c "import sys; k=sys.argv[1]; c=\"b\" if k[20]!=\"b\" else \"c\"; print(k[:20]+c+k[21:])" "$key") &&
	test "$bad" != "$key" &&
	s=$(file_sum a.db) &&
	test_must_fail mule -d a.db peer add f "$bad" 2>err &&
	test_grep err "key" &&
	test "$(file_sum a.db)" = "$s"
'

test_expect_success 'malformed keys are refused' '
	s=$(file_sum a.db) &&
	test_must_fail mule -d a.db peer add f notakey 2>err &&
	test_must_fail mule -d a.db peer add f mule1 2>err &&
	test_must_fail mule -d a.db peer add f "mule1!!!!" 2>err &&
	test "$(file_sum a.db)" = "$s"
'

test_expect_success 'a duplicate name or key is refused' '
	s=$(file_sum a.db) &&
	test_must_fail mule -d a.db peer add b "$(mule -d fresh.db id --json | json_get key)" 2>err &&
	test_grep err "exists already" &&
	test_must_fail mule -d a.db peer add b2 "$(mule -d b.db id --json | json_get key)" 2>err &&
	test_grep err "already trusted as peer .b." &&
	test "$(file_sum a.db)" = "$s"
'

test_expect_success 'the site'"'"'s own key is refused' '
	s=$(file_sum a.db) &&
	test_must_fail mule -d a.db peer add me "$(mule -d a.db id --json | json_get key)" 2>err &&
	test_grep err "own key" &&
	test "$(file_sum a.db)" = "$s"
'

test_expect_success 'peer set email, then remove' '
	mule -d a.db peer set c email c@example.org >/dev/null &&
	mule -d a.db peer list --json | grep -q "c@example.org" &&
	mule -d a.db peer remove c >/dev/null &&
	mule -d a.db peer list --json >j &&
	! grep -q "\"c\"" j &&
	test_must_fail mule -d a.db peer remove c 2>err &&
	test_grep err "no peer"
'

test_expect_success 'a key file others can read is refused with the fix' '
	chmod 644 a.db.mule-key &&
	test_must_fail mule -d a.db id 2>err &&
	chmod 600 a.db.mule-key &&
	test_grep err "chmod 600 a.db.mule-key" &&
	mule -d a.db id >/dev/null
'

test_expect_success 'a key file of another site is refused' '
	mv a.db.mule-key a.key.save && cp b.db.mule-key a.db.mule-key &&
	test_must_fail mule -d a.db id 2>err;
	rc=$?; mv a.key.save a.db.mule-key; test $rc = 0 &&
	test_grep err "does not belong"
'

test_expect_success 'no database given' '
	test_expect_code 2 mule id 2>err &&
	test_grep err "use -d DB or set MULE_DB"
'

test_expect_success 'a database that is not a replica' '
	test_must_fail mule -d full-no.db id 2>err &&
	sqlite3 plain.db "CREATE TABLE t(x)" && s=$(file_sum plain.db) &&
	test_must_fail mule -d plain.db peer list 2>err &&
	test_grep err "not a mule replica; run: mule init" &&
	test "$(file_sum plain.db)" = "$s"
'

test_expect_success '--help, --version, usage errors' '
	mule --help >out && test_grep out "^usage: mule" &&
	mule --version >out && test_grep out "^mule [0-9]" &&
	for c in $(mule --help | sed -n "s/^  \([a-z]*\).*/\1/p" | sort -u); do
		mule $c --help >out || { echo "$c --help failed"; exit 1; }
		test_grep out "^usage: mule"
	done &&
	test_expect_code 2 mule frobnicate 2>err &&
	test_grep err "unknown command" &&
	test_expect_code 2 mule -d a.db id --frob 2>err &&
	test_expect_code 2 mule 2>err
'

test_expect_success 'man pages are clean under mandoc -Tlint' '
	mandoc -Tlint -Wwarning "$SRC_DIR"/man/*.[15]
'

test_expect_success 'man/mule.1 documents every command' '
	for c in $(mule --help | sed -n "s/^  \([a-z]*\).*/\1/p" | sort -u); do
		grep -q "^\.It Cm $c\b\|^\.Ss.*$c\|^\.Nm mule Cm $c\|Cm $c" "$SRC_DIR/man/mule.1" ||
		{ echo "mule.1 lacks $c"; exit 1; }
	done
'

# format_refused N PATTERN: a replica marked with state format N is
# refused with PATTERN on stderr, and nothing in it changes.
format_refused() {
	rm -f f.db f.db.mule-key &&
	mule init f.db --name f >/dev/null &&
	sqlite3 f.db "UPDATE _mule_site SET format = $1" &&
	sqlite3 f.db .dump >before &&
	test_must_fail mule -d f.db status >out 2>err &&
	test_grep err "$2" &&
	sqlite3 f.db .dump >after &&
	test_cmp before after
}

test_expect_success 'a replica in an older state format is refused, unchanged' '
	format_refused 1 "format 1, and this mule reads formats 2 to 3"
'

test_expect_success 'a replica of a newer state format is refused, unchanged' '
	format_refused 4 "format 4, newer than this mule reads .2 to 3.: it was written by a newer mule"
'

test_expect_success 'a replica of format 2 is read as it is, and marked 3 by its first write' '
	mule init f2.db --name f2 >/dev/null &&
	sqlite3 f2.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	    INSERT INTO t VALUES (1, '\''a'\''), (2, '\''b'\'')" &&
	mule -d f2.db track t >/dev/null 2>&1 &&
	sqlite3 f2.db "UPDATE _mule_site SET format = 2;
	    UPDATE t SET v = '\''c'\'' WHERE id = 2" &&
	mule -d f2.db status >out &&
	test_grep out "unrecorded: 0 new, 1 changed, 0 deleted" &&
	test "$(sqlite3 f2.db "SELECT format FROM _mule_site")" = 2 &&
	mule -d f2.db log >/dev/null &&
	mule -d f2.db track t >/dev/null 2>&1 &&
	test "$(sqlite3 f2.db "SELECT format FROM _mule_site")" = 3
'

test_done
