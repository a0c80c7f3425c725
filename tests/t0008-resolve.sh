#!/bin/sh
# mule conflicts resolve: the kept value becomes a new local change that
# reaches the other site; bad requests change nothing.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

test_expect_success 'setup: a conflict on one cell' '
	pair_with "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
	    INSERT INTO k VALUES (1, '"'one'"', 1), (2, '"'two'"', 2)" &&
	sync_ab &&
	sqlite3 a.db "UPDATE k SET v = '"'from a'"' WHERE id = 1" &&
	sqlite3 b.db "UPDATE k SET v = '"'from b'"' WHERE id = 1" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	db_same a.db b.db &&
	mule -d a.db conflicts --json >ca && mule -d b.db conflicts --json >cb &&
	test "$(cat ca cb | grep -c "\"column\"")" = 1
'

# The site where the value was overwritten holds the entry.
loser() { if grep -q '"column"' ca; then echo a; else echo b; fi; }

test_expect_success 'resolve --keep local writes the lost value back' '
	L=$(loser) &&
	id=$(mule -d $L.db conflicts --json | json_py "v[0][\"id\"]") &&
	lost=$(mule -d $L.db conflicts --json | json_py "v[0][\"local\"]") &&
	mule -d $L.db conflicts resolve "$id" --keep local >out &&
	test_grep out "resolved" &&
	test "$(sqlite3 $L.db "SELECT quote(v) FROM k WHERE id = 1")" = "$lost" &&
	test "$(mule -d $L.db conflicts --json | json_len)" = 0 &&
	sync_ab &&
	test "$(sqlite3 a.db "SELECT quote(v) FROM k WHERE id = 1")" = "$lost" &&
	test "$(mule -d a.db conflicts --json | json_len)" = 0 &&
	test "$(mule -d b.db conflicts --json | json_len)" = 0
'

test_expect_success 'resolve with a new value; the column type converts it' '
	sqlite3 a.db "UPDATE k SET n = 10 WHERE id = 2" &&
	sqlite3 b.db "UPDATE k SET n = 20 WHERE id = 2" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	mule -d a.db conflicts --json >ca &&
	L=$(loser) &&
	id=$(mule -d $L.db conflicts --json | json_py "v[0][\"id\"]") &&
	mule -d $L.db conflicts resolve "$id" --value 15 >/dev/null &&
	sync_ab &&
	test "$(sqlite3 b.db "SELECT typeof(n) || n FROM k WHERE id = 2")" = integer15
'

test_expect_success 'unknown, resolved or malformed conflict ids are refused' '
	s=$(file_sum a.db) &&
	test_must_fail mule -d a.db conflicts resolve 999 --keep local 2>err &&
	test_grep err "no conflict #999" &&
	test_expect_code 2 mule -d a.db conflicts resolve x --keep local 2>err &&
	test_expect_code 2 mule -d a.db conflicts resolve 1 2>err &&
	test "$(file_sum a.db)" = "$s"
'

test_expect_success 'a resolved conflict cannot be resolved twice' '
	L=$(sqlite3 a.db "SELECT count(*) FROM _mule_conflicts WHERE resolved" | grep -q "^[1-9]" && echo a || echo b) &&
	id=$(sqlite3 $L.db "SELECT min(id) FROM _mule_conflicts WHERE resolved") &&
	s=$(file_sum $L.db) &&
	test_must_fail mule -d $L.db conflicts resolve "$id" --keep remote 2>err &&
	test_grep err "resolved already" &&
	test "$(file_sum $L.db)" = "$s"
'

test_done
