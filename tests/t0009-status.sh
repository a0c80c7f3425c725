#!/bin/sh
# mule status: per peer, in plain words, what was sent, what was
# acknowledged, and a gap left by a lost bundle.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

test_expect_success 'setup' '
	pair_with "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT)" &&
	sqlite3 a.db "INSERT INTO k VALUES (1, '"'one'"')" &&
	sync_ab
'

test_expect_success 'unrecorded changes are counted per table' '
	sqlite3 a.db "INSERT INTO k VALUES (2, '"'two'"'); UPDATE k SET v = '"'uno'"' WHERE id = 1" &&
	mule -d a.db status >out &&
	test_grep out "k +unrecorded: 1 new, 1 changed, 0 deleted" &&
	mule -d a.db status --json | json_py "v[\"tables\"][0][\"inserted\"]" >n &&
	test "$(cat n)" = 1
'

test_expect_success 'in sync: everything acknowledged' '
	sync_ab &&
	mule -d a.db status >out &&
	test_grep out "acknowledged: it has applied our bundles up to #[0-9]+, and has everything we know" &&
	! grep -q "gap:" out
'

test_expect_success 'a lost bundle shows as a gap until the next pack' '
	sqlite3 a.db "INSERT INTO k VALUES (3, '"'three'"')" &&
	lost=$(packs a b) && rm -f "$lost" &&
	sqlite3 a.db "INSERT INTO k VALUES (4, '"'four'"')" &&
	send a b &&
	test_grep send.out "applied" &&
	test "$(sqlite3 b.db "SELECT count(*) FROM k WHERE id = 3")" = 0 &&
	send b a &&
	test_grep send.out "lacks changes this site sent it" &&
	mule -d a.db status >out &&
	test_grep out "gap: +a bundle before #[0-9]+ never reached it" &&
	test "$(mule -d a.db status --json | json_py "v[\"peers\"][0][\"lost_after\"] > 0")" = True &&
	send a b &&
	test "$(sqlite3 b.db "SELECT count(*) FROM k WHERE id = 3")" = 1 &&
	db_same a.db b.db &&
	mule -d a.db status >out &&
	! grep -q "gap:" out
'

test_expect_success 'a WAL-mode database: edits between exchanges are always seen' '
	sqlite3 a.db "PRAGMA journal_mode=WAL" >/dev/null &&
	sqlite3 a.db "INSERT INTO k VALUES (50, '"'wal'"')" &&
	send a b &&
	sqlite3 a.db "UPDATE k SET v = '"'wal2'"' WHERE id = 50" &&
	send a b &&
	test "$(sqlite3 b.db "SELECT v FROM k WHERE id = 50")" = wal2 &&
	db_same a.db b.db
'

test_expect_success 'edits made right after an exchange are seen by the next pack' '
	sqlite3 a.db "PRAGMA journal_mode=DELETE" >/dev/null &&
	send a b &&
	sqlite3 a.db "UPDATE k SET v = '"'after'"' WHERE id = 50" &&
	send a b &&
	test "$(sqlite3 b.db "SELECT v FROM k WHERE id = 50")" = after
'

test_done
