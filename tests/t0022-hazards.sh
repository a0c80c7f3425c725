#!/bin/sh
# Data hazards (issue 16 items 1-3): conflicts resolve takes --keep
# local|remote or a typed --value and keeps a history; pack -o never
# overwrites a file or creates a directory; pack --resend and status after
# a bundle that never arrived.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# full_dump DB: everything in the database, mule's tables included.
full_dump() { sqlite3 "$1" .dump; }

# The site where row 1's values lost (it holds the conflicts).
loser() {
	if test "$(sqlite3 a.db "SELECT count(*) FROM _mule_conflicts")" -gt 0
	then echo a; else echo b; fi
}

# cid DB COLUMN: the id of the unresolved conflict on COLUMN.
cid() {
	sqlite3 "$1" "SELECT id FROM _mule_conflicts WHERE col = '$2' AND NOT resolved"
}

test_expect_success 'setup: conflicts on five cells of one row' '
	pair_with "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT, n INTEGER,
	    r REAL, b BLOB, w TEXT);
	    INSERT INTO k VALUES (1, '"'one'"', 1, 1.5, x'"'01'"', '"'w'"'),
	    (2, '"'two'"', 2, 2.5, NULL, NULL)" &&
	sync_ab &&
	sqlite3 a.db "UPDATE k SET v = '"'from a'"', n = 10, r = 10.5, b = x'"'0a'"', w = '"'wa'"' WHERE id = 1" &&
	sqlite3 b.db "UPDATE k SET v = '"'from b'"', n = 20, r = 20.5, b = x'"'0b'"', w = '"'wb'"' WHERE id = 1" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	db_same a.db b.db &&
	L=$(loser) && echo $L >L &&
	test "$(mule -d $L.db conflicts --json | json_len)" = 5
'

test_expect_success 'conflicts shows what each cell holds now' '
	L=$(cat L) &&
	sqlite3 $L.db "UPDATE k SET w = '"'edited since'"' WHERE id = 1" &&
	mule -d $L.db conflicts >out &&
	test_grep out "^    now   '"'from [ab]'"'$" &&
	test_grep out "^    now   '"'edited since'"'$" &&
	mule -d $L.db conflicts --json |
	    json_true "[c[\"current\"] for c in v if c[\"column\"] == \"n\"] in ([\"10\"], [\"20\"])"
'

test_expect_success 'resolve --keep with anything but local or remote is refused, nothing changes' '
	L=$(cat L) && id=$(cid $L.db v) &&
	full_dump $L.db >before &&
	test_expect_code 2 mule -d $L.db conflicts resolve "$id" --keep mine 2>err &&
	test_grep err "keep takes local or remote, not .mine." &&
	test_grep err "value SQL-LITERAL" &&
	test_expect_code 2 mule -d $L.db conflicts resolve "$id" --keep local --value 1 2>err &&
	test_grep err "exclude each other" &&
	full_dump $L.db >after &&
	test_cmp before after &&
	test "$(sqlite3 $L.db "SELECT count(*) FROM k WHERE v = '"'mine'"'")" = 0
'

test_expect_success 'resolve --value refuses what is not one SQL literal, nothing changes' '
	L=$(cat L) && id=$(cid $L.db v) &&
	full_dump $L.db >before &&
	for bad in mine "'"'open"'" "x'"'0'"'" "x'"'zz'"'" "1 2" "" "1e999" \
	    "99999999999999999999" "NULL NULL" "'"'a'"' || 1"; do
		test_expect_code 2 mule -d $L.db conflicts resolve "$id" --value "$bad" 2>err &&
		test_grep err "is not an SQL literal: text goes in single quotes" || return 1
	done &&
	full_dump $L.db >after &&
	test_cmp before after
'

test_expect_success 'resolve --value writes typed values and shows the value before' '
	L=$(cat L) &&
	mule -d $L.db conflicts resolve "$(cid $L.db v)" --value "'"'it''s'"'" >out &&
	test_grep out "^conflict #[0-9]+ resolved: set to '"'it''s'"'" &&
	test_grep out "k \\(1\\) column v" &&
	test_grep out "^  was  '"'from [ab]'"'" &&
	test_grep out "^  now  '"'it''s'"'" &&
	mule -d $L.db conflicts resolve "$(cid $L.db n)" --value -42 >out &&
	test_grep out "^  now  -42" &&
	mule -d $L.db conflicts resolve "$(cid $L.db r)" --value 4.5 >/dev/null &&
	mule -d $L.db conflicts resolve "$(cid $L.db b)" --value "x'"'00ff'"'" >/dev/null &&
	mule -d $L.db conflicts resolve "$(cid $L.db w)" --value null >out &&
	test_grep out "^  now  NULL" &&
	test "$(sqlite3 $L.db "SELECT typeof(v), v, typeof(n), n, typeof(r), r, hex(b), typeof(w) FROM k WHERE id = 1")" = "text|it'"'"'s|integer|-42|real|4.5|00FF|null" &&
	test "$(mule -d $L.db conflicts --json | json_len)" = 0 &&
	sync_ab &&
	test "$(sqlite3 a.db "SELECT typeof(v), v, n, r, hex(b), typeof(w) FROM k WHERE id = 1")" = "text|it'"'"'s|-42|4.5|00FF|null"
'

test_expect_success 'conflicts --all keeps the history: how each was resolved, and when' '
	L=$(cat L) &&
	mule -d $L.db conflicts >out &&
	test_grep out "^no conflicts$" &&
	mule -d $L.db conflicts --all >out &&
	test "$(grep -c "(resolved)" out)" = 5 &&
	test_grep out "resolved [0-9-]+T[0-9:]+Z: set to -42" &&
	test_grep out "resolved .*: set to NULL" &&
	mule -d $L.db conflicts --all --json >j &&
	json_true "len(v) == 5 and all(c[\"resolved\"] and c[\"resolution\"] == \"value\" and c[\"resolved_at\"].endswith(\"Z\") for c in v)" <j &&
	json_true "[c[\"resolved_value\"] for c in v if c[\"column\"] == \"b\"] == [\"X'"'00FF'"'\"]" <j
'

test_expect_success 'resolve --keep remote keeps the value that won, recorded as such' '
	sqlite3 a.db "UPDATE k SET v = '"'a2'"' WHERE id = 2" &&
	sqlite3 b.db "UPDATE k SET v = '"'b2'"' WHERE id = 2" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	L=$(sqlite3 a.db "SELECT count(*) FROM _mule_conflicts WHERE NOT resolved" | grep -q "^1" && echo a || echo b) &&
	id=$(cid $L.db v) &&
	kept=$(sqlite3 $L.db "SELECT quote(v) FROM k WHERE id = 2") &&
	lost=$(sqlite3 $L.db "SELECT local FROM _mule_conflicts WHERE id = $id") &&
	full_dump $L.db >before &&
	mule -d $L.db conflicts resolve "$id" --keep remote >out &&
	test_grep out "resolved: kept remote" &&
	test_grep out "nothing changed here" &&
	test "$(sqlite3 $L.db "SELECT quote(v) FROM k WHERE id = 2")" = "$kept" &&
	mule -d $L.db conflicts --all --json |
	    json_true "[c[\"resolution\"] for c in v if c[\"id\"] == $id] == [\"remote\"]" &&
	test_must_fail mule -d $L.db conflicts resolve "$id" --keep local 2>err &&
	test_grep err "resolved already" &&
	test "$(sqlite3 $L.db "SELECT quote(v) FROM k WHERE id = 2")" = "$kept" &&
	test "$lost" != "$kept"
'

test_expect_success 'a row deleted at one site while edited at the other' '
	sqlite3 a.db "DELETE FROM k WHERE id = 2" &&
	sqlite3 b.db "UPDATE k SET n = 22 WHERE id = 2" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	db_same a.db b.db &&
	test "$(sqlite3 b.db "SELECT count(*) FROM k WHERE id = 2")" = 0 &&
	mule -d b.db conflicts --json >j &&
	json_true "len(v) == 1 and v[0][\"column\"] == \"*\" and v[0][\"kind\"] == \"edit lost to a deletion\"" <j
'

test_expect_success 'a deleted row takes --keep only; --value is refused, nothing changes' '
	id=$(cid b.db "*") &&
	full_dump b.db >before &&
	test_must_fail mule -d b.db conflicts resolve "$id" --value 1 2>err &&
	test_grep err "is about a whole row .*--keep local or --keep remote" &&
	full_dump b.db >after &&
	test_cmp before after
'

test_expect_success 'resolve --keep local re-creates the deleted row as a new change' '
	id=$(cid b.db "*") &&
	mule -d b.db conflicts resolve "$id" --keep local >out &&
	test_grep out "k \\(2\\) whole row" &&
	test_grep out "^  was  \\(deleted\\)" &&
	test_grep out "^  now  \\(2, '"'[ab]2'"', 22, 2.5, NULL, NULL\\)" &&
	test "$(sqlite3 b.db "SELECT n FROM k WHERE id = 2")" = 22 &&
	sync_ab &&
	test "$(sqlite3 a.db "SELECT n FROM k WHERE id = 2")" = 22 &&
	test "$(mule -d a.db conflicts --json | json_len)" = 0 &&
	test "$(mule -d b.db conflicts --json | json_len)" = 0
'

test_expect_success 'resolve --keep remote leaves a deleted row deleted' '
	sqlite3 a.db "DELETE FROM k WHERE id = 2" &&
	sqlite3 b.db "UPDATE k SET n = 23 WHERE id = 2" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	id=$(cid b.db "*") && test -n "$id" &&
	db_dump b.db >before &&
	mule -d b.db conflicts resolve "$id" --keep remote >out &&
	test_grep out "now  \\(deleted\\)" &&
	db_dump b.db >after &&
	test_cmp before after &&
	sync_ab &&
	test "$(sqlite3 a.db "SELECT count(*) FROM k WHERE id = 2")" = 0
'

# ---- pack -o ----

test_expect_success 'pack -o FILE refuses to overwrite an existing file' '
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (30, '"'thirty'"')" &&
	mule -d a.db pack --to b -o waiting.mule >/dev/null &&
	s=$(file_sum waiting.mule) &&
	full_dump a.db >before &&
	test_expect_code 1 mule -d a.db pack --to b -o waiting.mule 2>err &&
	test_grep err "waiting.mule already exists .*--force to replace it" &&
	test "$(file_sum waiting.mule)" = "$s" &&
	full_dump a.db >after &&
	test_cmp before after &&
	mule -d b.db unpack waiting.mule >/dev/null &&
	test "$(sqlite3 b.db "SELECT v FROM k WHERE id = 30")" = thirty
'

test_expect_success 'pack -o FILE --force overwrites it' '
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (31, '"'thirty-one'"')" &&
	s=$(file_sum waiting.mule) &&
	mule -d a.db pack --to b -o waiting.mule --force >out &&
	test "$(file_sum waiting.mule)" != "$s" &&
	mule -d b.db unpack waiting.mule >/dev/null &&
	test "$(sqlite3 b.db "SELECT v FROM k WHERE id = 31")" = thirty-one
'

test_expect_success 'pack --iso FILE refuses to overwrite an existing file' '
	echo precious >img.iso &&
	full_dump a.db >before &&
	test_expect_code 1 mule -d a.db pack --to b --iso img.iso 2>err &&
	test_grep err "img.iso already exists" &&
	test "$(cat img.iso)" = precious &&
	full_dump a.db >after &&
	test_cmp before after
'

test_expect_success 'pack -o into a directory that does not exist is refused, naming it' '
	full_dump a.db >before &&
	test_expect_code 1 mule -d a.db pack --to b -o nosuch/ 2>err &&
	test_grep err "cannot write into nosuch/: No such file or directory \\(pack does not create it" &&
	test_expect_code 1 mule -d a.db pack --to b -o gone/x.mule 2>err &&
	test_grep err "cannot write into gone: No such file or directory .*mkdir -p gone\\)" &&
	! test -e nosuch && ! test -e gone &&
	full_dump a.db >after &&
	test_cmp before after
'

# ---- pack --resend, status ----

test_expect_success 'status names a bundle sent but not acknowledged' '
	sync_ab &&
	mule -d a.db status >out &&
	! grep -q "unacked:" out &&
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (40, '"'forty'"')" &&
	lost=$(packs a b) && name=$(basename "$lost" .mule) &&
	echo "$lost" >lostpath &&
	mule -d a.db status >out &&
	test_grep out "unacked: +sent in $name, not acknowledged yet; if that bundle was lost: mule pack --to b --resend" &&
	mule -d a.db status --json >j &&
	json_true "v[\"peers\"][0][\"bundles_unacked\"] == 1 and v[\"peers\"][0][\"oldest_unacked\"] == \"$name\"" <j &&
	packs a b >/dev/null &&
	mule -d a.db status >out &&
	test_grep out "sent in $name and 1 later bundle, not acknowledged yet"
'

test_expect_success 'after a lost bundle a plain pack sends nothing; pack --resend sends it again' '
	rm "$(cat lostpath)" &&
	B=$(packs a b) &&
	test_grep "$(dirname "$B")/pack.out" "packed 0 changes" &&
	test_expect_code 2 mule -d a.db pack --to b --resend --full 2>err &&
	test_grep err "choose one" &&
	d=$(mktemp -d ./x.resend.XXXXXX) &&
	mule -d a.db pack --to b --resend -o "$d/" >out &&
	test_grep out "packed 1 change in 1 table" &&
	mule -d b.db unpack "$d"/*.mule >/dev/null &&
	test "$(sqlite3 b.db "SELECT v FROM k WHERE id = 40")" = forty &&
	send b a &&
	mule -d a.db status >out &&
	! grep -q "unacked:" out &&
	! grep -q "gap:" out &&
	db_same a.db b.db
'

test_done
