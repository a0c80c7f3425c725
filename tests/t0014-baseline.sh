#!/bin/sh
# Baselines are not edits (docs/state.md "Merging"): data a table held when
# it was first tracked is a baseline, nobody's edit.  Two copies of one
# database, initialized separately, agree on the values they share; an edit
# made from such a value is never a conflict where the baseline still holds
# it, and only rows whose values changed count as updated.  Baselines that
# differ converge, and the value that lost is logged.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

ROWS=3000

# copies: sites a and b, each holding the same ROWS rows of t when it
# starts tracking them.
copies() {
	mkdir "$1" && cd "$1" &&
	setup_pair &&
	for _s in a b; do
		sqlite3 $_s.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
		    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $ROWS)
		    INSERT INTO t SELECT i, 'v' || i, i * 7 FROM s" &&
		mule -d $_s.db track --all >/dev/null 2>&1 || return 1
	done
}

test_expect_success 'one database twice: 1% of the cells edited at one copy, no conflict' '
	copies s1 &&
	sqlite3 a.db "UPDATE t SET v = v || '\''!'\'' WHERE id % 100 = 0" &&
	send a b &&
	cat send.out &&
	test_grep send.out " 30 updated" &&
	test_grep send.out " 0 conflicts" &&
	send b a &&
	test_grep send.out " 0 updated" &&
	test_grep send.out " 0 conflicts" &&
	db_same a.db b.db &&
	check_val b.db "SELECT v FROM t WHERE id = 300" "v300!" &&
	mule -d a.db conflicts --json | json_true "v == []" &&
	mule -d b.db conflicts --json | json_true "v == []"
'

test_expect_success 'edits at both copies, different rows and columns: no conflict' '
	copies s2 &&
	sqlite3 a.db "UPDATE t SET v = '\''a'\'' || id WHERE id % 100 = 1" &&
	sqlite3 b.db "UPDATE t SET n = -n WHERE id % 100 = 1" &&
	sqlite3 b.db "UPDATE t SET v = '\''b'\'' || id WHERE id % 100 = 2" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >out && test_grep out " 0 conflicts" &&
	mule -d a.db unpack "$B" >out && test_grep out " 0 conflicts" &&
	db_same a.db b.db &&
	check_val a.db "SELECT v, n FROM t WHERE id = 101" "a101|-707" &&
	check_val a.db "SELECT v FROM t WHERE id = 102" "b102"
'

test_expect_success 'a deletion at one copy of a row the other holds as its baseline: no conflict' '
	copies s3 &&
	sqlite3 a.db "DELETE FROM t WHERE id IN (5, 6)" &&
	send a b && test_grep send.out " 2 deleted" &&
	test_grep send.out " 0 conflicts" &&
	check_val b.db "SELECT count(*) FROM t" $((ROWS - 2))
'

test_expect_success 'the same cell edited at both copies: one conflict, as for any edit' '
	copies s4 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	sqlite3 a.db "UPDATE t SET v = '\''from a'\'' WHERE id = 9" &&
	sqlite3 b.db "UPDATE t SET v = '\''from b'\'' WHERE id = 9" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	db_same a.db b.db &&
	wv=$( [ "$W" = a ] && echo "'\''from a'\''" || echo "'\''from b'\''" ) &&
	lv=$( [ "$W" = a ] && echo "'\''from b'\''" || echo "'\''from a'\''" ) &&
	conflict_is $L.db t 9 v "$lv" "$wv" remote &&
	no_conflict $W.db t 9
'

test_expect_success 'baselines that differ converge, and the lost one is logged' '
	mkdir s5 && cd s5 &&
	setup_pair &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	for s in a b; do
		sqlite3 $s.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
		    INSERT INTO t VALUES (1, '\''same'\''), (2, '\''only $s'\'')" &&
		mule -d $s.db track --all >/dev/null 2>&1 || return 1
	done &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	sync_ab && send b a && send a b && send b a &&
	db_same a.db b.db &&
	check_val a.db "SELECT v FROM t WHERE id = 2" "only $W" &&
	conflict_is $L.db t 2 v "'\''only $L'\''" "'\''only $W'\''" remote &&
	no_conflict $W.db t 2 &&
	no_conflict a.db t 1 && no_conflict b.db t 1
'

test_expect_success 'three sites: the winning baseline travels with its row' '
	mkdir s6 && cd s6 &&
	setup_pair &&
	for s in a b; do
		sqlite3 $s.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
		    INSERT INTO t VALUES (1, '\''from $s'\'')" &&
		mule -d $s.db track --all >/dev/null 2>&1 || return 1
	done &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	add_site c &&
	send b c && send b a && send a c && send a b && send c b && send c a &&
	send b c &&
	for _r in 1 2 3 4; do
		send a b && send b a && send a c && send c a && send b c &&
		send c b || return 1
	done &&
	db_same a.db b.db && db_same a.db c.db &&
	check_val c.db "SELECT v FROM t WHERE id = 1" "from $W" &&
	conflict_is $L.db t 1 v "'\''from $L'\''" "'\''from $W'\''" remote
'

# seg_bytes SITE BUNDLE: the uncompressed size of BUNDLE's row segment,
# read at SITE (a recipient: inspect decrypts).
seg_bytes() {
	mule -d "$1.db" inspect "$2" --raw | zstd -dq |
	    tar -tvf - | awk '$NF == "rows/0001" { print $3 }'
}

test_expect_success 'an edit or deletion of the original baseline names its base by the row (no hash bytes) where the peer holds the row, and applies cleanly' '
	mkdir s7 && cd s7 &&
	setup_pair && add_site c &&
	sqlite3 a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
	    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300)
	    INSERT INTO t SELECT i, '\''v'\'' || i, i * 7 FROM s" &&
	for s in b c; do
		sqlite3 $s.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER)" || return 1
	done &&
	for s in a b c; do mule -d $s.db track --all >/dev/null 2>&1 || return 1; done &&
	mule -d a.db pack --to b --full -o fb.mule >/dev/null &&
	mule -d a.db pack --to c --full -o fc.mule >/dev/null &&
	mule -d b.db unpack fb.mule >/dev/null && mule -d c.db unpack fc.mule >/dev/null &&
	send b a &&
	sqlite3 a.db "UPDATE t SET v = v || '\''!'\'' WHERE id % 3 = 0;
	    DELETE FROM t WHERE id % 10 = 1" &&
	mule -d a.db pack --to b -o eb.mule >/dev/null &&
	mule -d a.db pack --to c -o ec.mule >/dev/null &&
	B=$(seg_bytes b eb.mule) && C=$(seg_bytes c ec.mule) &&
	echo "segment to b (acknowledged the rows): $B bytes, to c (not yet): $C bytes" &&
	test "$B" -gt 0 && test $((C - B)) -ge 600 &&
	mule -d b.db unpack eb.mule >out && test_grep out "90 updated, 30 deleted, 0 conflicts" &&
	mule -d c.db unpack ec.mule >out && test_grep out "90 updated, 30 deleted, 0 conflicts" &&
	db_same a.db b.db && db_same a.db c.db
'

test_done
