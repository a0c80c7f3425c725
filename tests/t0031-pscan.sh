#!/bin/sh
# A full scan of a big rowid table runs on two cores (scan.parallel-rows):
# two connections compare halves of the table with its state, then only
# the rows found new, changed or gone are looked at again.  It must
# record exactly what the one-core scan records: a copy of the same site,
# given the same edits and scanned on one core, ends with the same state,
# journal, digests and counts, byte for byte.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# mstate DB: mule's record of the tracked rows (main state and overlay),
# as text.
mstate() {
	sqlite3 "$1" "SELECT src, tid, pk, cl, hex(hash), hex(st) FROM
	    (SELECT 's' AS src, 1 AS tid, pk, cl, hash, st FROM _mule_s1
	     UNION ALL SELECT 'l', 1, pk, cl, hash, st FROM _mule_l1
	     UNION ALL SELECT 's', 2, hex(pk), cl, hash, st FROM _mule_s2
	     UNION ALL SELECT 'l', 2, hex(pk), cl, hash, st FROM _mule_l2)
	    ORDER BY src, tid, pk;
	    SELECT 'j', lamport, tid, hex(pk) FROM _mule_journal ORDER BY 2, 3, 4;
	    SELECT 'd', tid, n, hex(sum) FROM _mule_digests ORDER BY tid;
	    SELECT 'a', tid, alive FROM _mule_tables ORDER BY tid;
	    SELECT 'l', lamport, floor FROM _mule_site"
}
# cores DB: how many cores the dry scan of status read table t on.
cores() {
	mule -d "$1" status --json |
	    json_py '[t["cores"] for t in v["tables"] if t["name"] == "t"][0]'
}
# counts DB: the unrecorded changes status finds, per table.
counts() {
	mule -d "$1" status --json | json_py \
	    '[(t["name"], t["inserted"], t["updated"], t["deleted"]) for t in v["tables"]]'
}
# both SQL: the same edits at a (two cores) and at one (its one-core copy).
both() { sqlite3 a.db "$1" && sqlite3 one.db "$1"; }
# twins_agree [CORES]: status counts at both (a's scan on CORES cores,
# default 2), then a pack at each; mule's state must be the same at both,
# and a's bundle must bring b to a's data.
twins_agree() {
	counts a.db >counts.a && counts one.db >counts.one &&
	test_cmp counts.a counts.one &&
	if [ "$(nproc)" -ge 2 ]; then
		test "$(cores a.db)" = "${1:-2}" && test "$(cores one.db)" = 1
	fi &&
	mule -d one.db pack --to b -o one.mule >/dev/null &&
	rm -f one.mule &&
	send a b &&
	mstate a.db >state.a && mstate one.db >state.one &&
	test_cmp state.a state.one &&
	db_same a.db b.db
}

test_expect_success 'setup: 3,000 rows keyed by rowid (some negative), a text-keyed table' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n REAL);
	    CREATE TABLE k(code TEXT PRIMARY KEY, v)" &&
	sqlite3 a.db "WITH RECURSIVE s(i) AS (SELECT -50 UNION ALL
	    SELECT i + 1 FROM s WHERE i < 2949)
	    INSERT INTO t SELECT i, '"'row '"' || i, i / 4.0 FROM s;
	    INSERT INTO k VALUES ('"'x'"', 1), ('"'y'"', 2)" &&
	sync_ab &&
	sqlite3 a.db "DELETE FROM t WHERE id IN (100, 2000)" &&
	sync_ab &&
	cp a.db one.db && cp a.db.mule-key one.db.mule-key &&
	mule -d a.db config scan.parallel-rows 1 &&
	mule -d one.db config scan.parallel-rows 0
'

test_expect_success 'edits at both ends, the middle, a re-insert after a deletion' '
	both "UPDATE t SET v = v || '"' edited'"' WHERE id % 7 = 0;
	    UPDATE t SET n = NULL WHERE id = 1450;
	    DELETE FROM t WHERE id IN (-50, 2949) OR id BETWEEN 1440 AND 1460;
	    INSERT INTO t VALUES (100, '"'back'"', 1), (5000, '"'new'"', 2),
	        (-900, '"'lower'"', 3);
	    UPDATE k SET v = 3 WHERE code = '"'x'"'" &&
	twins_agree
'

test_expect_success 'the whole upper half deleted, new keys far apart' '
	both "DELETE FROM t WHERE id > 1450;
	    INSERT INTO t VALUES (9223372036854775807, '"'max'"', 0),
	        (-9223372036854775808, '"'min'"', 0), (2000, '"'again'"', 0)" &&
	twins_agree
'

test_expect_success 'nothing changed: nothing recorded' '
	mstate a.db >before &&
	mule -d a.db pack --to b -o nothing.mule >out &&
	mstate a.db >after &&
	test_cmp before after
'

test_expect_success 'every row deleted (no keys to cut: one core); then one row again' '
	both "DELETE FROM t" &&
	twins_agree 1 &&
	both "INSERT INTO t VALUES (7, '"'seven'"', 7)" &&
	twins_agree 1
'

test_expect_success 'scan.parallel-rows takes a number of rows, nothing else' '
	mstate a.db >before &&
	test_expect_code 2 mule -d a.db config scan.parallel-rows many 2>err &&
	test_grep err "scan.parallel-rows is a number of rows" &&
	mstate a.db >after &&
	test_cmp before after
'

test_done
