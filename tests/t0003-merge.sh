#!/bin/sh
# Merging concurrent edits (docs/design.md §7, §8): different columns both
# survive; the same column goes to the higher stamp at both sites and the
# loser is in the conflict log; delete against update; bundles out of order;
# colliding inserts; relaying through a third site.
#
# Each scenario uses its own rows of table k, and delivers bundles in both
# orders: "crossed" (both sites pack before either unpacks) and
# "sequential" (one site unpacks, then answers).
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

SCHEMA="CREATE TABLE k(id INTEGER PRIMARY KEY, x, y, z);
    CREATE TABLE w(id TEXT PRIMARY KEY, v) WITHOUT ROWID"

# fresh DIR: a new pair a, b in DIR (the test's working directory from then
# on) holding rows 1..30 of k, exchanged; so no scenario depends on another.
fresh() {
	mkdir "$1" && cd "$1" &&
	pair_with "$SCHEMA" &&
	sqlite3 a.db "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30)
	    INSERT INTO k SELECT i, i * 10 + 1, i * 10 + 2, i * 10 + 3 FROM s" &&
	sync_ab &&
	check_val b.db "SELECT count(*) FROM k" 30
}

test_expect_success 'setup: two sites with shared rows' '
	fresh s0 &&
	mule -d a.db conflicts --json | json_true "v == []" &&
	mule -d b.db conflicts --json | json_true "v == []"
'

test_expect_success 'different columns of one row, crossed: both edits survive' '
	fresh s1 &&
	sqlite3 a.db "UPDATE k SET x = 1001 WHERE id = 1" &&
	sqlite3 b.db "UPDATE k SET y = 2002 WHERE id = 1" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >out && test_grep out " 0 conflicts" &&
	mule -d a.db unpack "$B" >out && test_grep out " 0 conflicts" &&
	check_val a.db "SELECT x, y, z FROM k WHERE id = 1" "1001|2002|13" &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 1" "1001|2002|13" &&
	no_conflict a.db k 1 && no_conflict b.db k 1 &&
	db_same a.db b.db
'

test_expect_success 'different columns of one row, sequential: both edits survive' '
	fresh s2 &&
	sqlite3 a.db "UPDATE k SET x = 1002, z = 3002 WHERE id = 2" &&
	sqlite3 b.db "UPDATE k SET y = 2002 WHERE id = 2" &&
	send a b && send b a &&
	check_val a.db "SELECT x, y, z FROM k WHERE id = 2" "1002|2002|3002" &&
	db_same a.db b.db &&
	no_conflict a.db k 2 && no_conflict b.db k 2
'

test_expect_success 'same column, crossed: the higher stamp wins at both, the loser is logged' '
	fresh s3 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 a.db "UPDATE k SET x = 111 WHERE id = 3" &&
	sqlite3 b.db "UPDATE k SET x = 222 WHERE id = 3" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	wv=$( [ "$W" = a ] && echo 111 || echo 222 ) &&
	lv=$( [ "$W" = a ] && echo 222 || echo 111 ) &&
	check_val a.db "SELECT x FROM k WHERE id = 3" "$wv" &&
	check_val b.db "SELECT x FROM k WHERE id = 3" "$wv" &&
	db_same a.db b.db &&
	conflict_is $L.db k 3 x "$lv" "$wv" remote &&
	no_conflict $W.db k 3
'

test_expect_success 'same column, sequential, winner answers first: loser logged' '
	fresh s4 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "UPDATE k SET x = 444 WHERE id = 4" &&
	sqlite3 $L.db "UPDATE k SET x = 555 WHERE id = 4" &&
	send $W $L && send $L $W &&
	check_val a.db "SELECT x FROM k WHERE id = 4" 444 &&
	db_same a.db b.db &&
	conflict_is $L.db k 4 x 555 444 remote &&
	no_conflict $W.db k 4
'

# The loser's value reaches the winner first and loses there; the winner's
# answer (which acknowledges the loser's bundle) then overwrites it at the
# loser.  The winner's value was written without seeing the loser's, so
# this is a conflict (docs/design.md §7) and must be logged somewhere.
test_expect_success 'same column, sequential, loser sends first: loser still logged' '
	fresh s5 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "UPDATE k SET x = 666 WHERE id = 5" &&
	sqlite3 $L.db "UPDATE k SET x = 777 WHERE id = 5" &&
	send $L $W && send $W $L &&
	check_val a.db "SELECT x FROM k WHERE id = 5" 666 &&
	db_same a.db b.db &&
	conflict_is $L.db k 5 x 777 666 remote &&
	no_conflict $W.db k 5
'

# Delete at a (causal length 1 → 2) against update at b (stays 1): the
# higher causal length wins, so the row is deleted at both sites; b's
# update, which a never saw, is kept in b's conflict log.
test_expect_success 'delete at a vs update at b, crossed: deleted at both, update logged' '
	fresh s6 &&
	sqlite3 a.db "DELETE FROM k WHERE id = 6" &&
	sqlite3 b.db "UPDATE k SET y = 6006 WHERE id = 6" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	check_val a.db "SELECT count(*) FROM k WHERE id = 6" 0 &&
	check_val b.db "SELECT count(*) FROM k WHERE id = 6" 0 &&
	db_same a.db b.db &&
	conflicts_of b.db k 6 |
	    json_true "len(v) == 1 and v[0][\"remote\"] == \"(deleted)\" and \"6006\" in v[0][\"local\"] and v[0][\"winner\"] == \"remote\"" &&
	no_conflict a.db k 6
'

test_expect_success 'delete at a vs update at b, a sends first: deleted at both, update logged' '
	fresh s7 &&
	sqlite3 a.db "DELETE FROM k WHERE id = 7" &&
	sqlite3 b.db "UPDATE k SET y = 7007 WHERE id = 7" &&
	send a b && send b a &&
	check_val a.db "SELECT count(*) FROM k WHERE id = 7" 0 &&
	check_val b.db "SELECT count(*) FROM k WHERE id = 7" 0 &&
	db_same a.db b.db &&
	conflicts_of b.db k 7 |
	    json_true "len(v) == 1 and v[0][\"remote\"] == \"(deleted)\" and \"7007\" in v[0][\"local\"]"
'

# b's update reaches a first and loses to a's delete there; a's answer
# then deletes b's edited row.  b's edit was never seen by a's delete.
test_expect_success 'delete at a vs update at b, b sends first: deleted at both, update logged' '
	fresh s8 &&
	sqlite3 a.db "DELETE FROM k WHERE id = 8" &&
	sqlite3 b.db "UPDATE k SET y = 8008 WHERE id = 8" &&
	send b a && send a b &&
	check_val a.db "SELECT count(*) FROM k WHERE id = 8" 0 &&
	check_val b.db "SELECT count(*) FROM k WHERE id = 8" 0 &&
	db_same a.db b.db &&
	mule -d a.db conflicts --json >ca && mule -d b.db conflicts --json >cb &&
	python3 -c "import json
v = [e for f in (\"ca\", \"cb\") for e in json.load(open(f)) if e[\"table\"] == \"k\" and e[\"key\"] == \"8\"]
assert any(\"8008\" in (e[\"local\"] + e[\"remote\"]) for e in v), \"the update 8008 was lost without a conflict entry: %r\" % v"
'

test_expect_success 'update at a vs delete at b: deleted at both, update logged at a' '
	fresh s9 &&
	sqlite3 a.db "UPDATE k SET z = 9009 WHERE id = 9" &&
	sqlite3 b.db "DELETE FROM k WHERE id = 9" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	check_val a.db "SELECT count(*) FROM k WHERE id = 9" 0 &&
	db_same a.db b.db &&
	conflicts_of a.db k 9 | json_true "len(v) == 1 and \"9009\" in v[0][\"local\"]"
'

test_expect_success 're-created at b after a delete everybody saw: alive at both' '
	fresh s10 &&
	sqlite3 a.db "DELETE FROM k WHERE id = 10" &&
	sync_ab &&
	sqlite3 b.db "INSERT INTO k VALUES (10, 1, 2, 3)" &&
	sqlite3 a.db "UPDATE k SET x = -1 WHERE id = 11" &&
	sync_ab &&
	check_val a.db "SELECT x, y, z FROM k WHERE id = 10" "1|2|3" &&
	no_conflict a.db k 10 && no_conflict b.db k 10
'

test_expect_success 'an older bundle applied after a newer one resurrects nothing' '
	fresh s11 &&
	sqlite3 a.db "UPDATE k SET x = 1212 WHERE id = 12;
	    UPDATE k SET y = 1313 WHERE id = 13;
	    INSERT INTO k VALUES (40, 4, 4, 4)" &&
	old=$(packs a b) &&
	sqlite3 a.db "DELETE FROM k WHERE id IN (12, 40);
	    UPDATE k SET z = 1313 WHERE id = 13" &&
	new=$(packs a b) &&
	mule -d b.db unpack "$new" >/dev/null &&
	check_val b.db "SELECT count(*) FROM k WHERE id IN (12, 40)" 0 &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 13" "131|132|1313" &&
	mule -d b.db unpack "$old" >/dev/null &&
	check_val b.db "SELECT count(*) FROM k WHERE id IN (12, 40)" 0 &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 13" "131|1313|1313" &&
	db_same a.db b.db &&
	mule -d b.db unpack "$new" "$old" >out &&
	db_same a.db b.db &&
	no_conflict b.db k 12 && no_conflict b.db k 40 && no_conflict b.db k 13 &&
	sync_ab
'

# docs/design.md §8: the receiver applies the cells it gets (always safe)
# even when it lacks the bundle before; the row's other cells come with the
# older one.
test_expect_success 'an update that arrives before the insert it changes' '
	fresh s11b &&
	sqlite3 a.db "INSERT INTO k VALUES (41, 4, 4, 4)" &&
	old=$(packs a b) &&
	sqlite3 a.db "UPDATE k SET x = 4141 WHERE id = 41" &&
	new=$(packs a b) &&
	mule -d b.db unpack "$new" >out &&
	mule -d b.db unpack "$old" >out &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 41" "4141|4|4" &&
	db_same a.db b.db &&
	no_conflict b.db k 41 &&
	sync_ab
'

# docs/design.md §8: a later ack from the receiver shows the sender what was
# lost, and the sender's next bundle covers it again automatically.
test_expect_success 'a lost bundle is covered again once the peer acknowledges' '
	fresh s11c &&
	sqlite3 a.db "UPDATE k SET x = 4242 WHERE id = 4; INSERT INTO k VALUES (42, 42, 42, 42)" &&
	lost=$(packs a b) && rm "$lost" &&
	sqlite3 a.db "UPDATE k SET y = 4343 WHERE id = 5" &&
	send a b &&
	check_val b.db "SELECT y FROM k WHERE id = 5" 4343 &&
	send b a &&
	send a b &&
	check_val b.db "SELECT x FROM k WHERE id = 4" 4242 &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 42" "42|42|42" &&
	db_same a.db b.db
'

test_expect_success 'three bundles applied newest first converge' '
	fresh s12 &&
	sqlite3 a.db "UPDATE k SET x = 1 WHERE id = 14" && b1=$(packs a b) &&
	sqlite3 a.db "UPDATE k SET x = 2 WHERE id = 14; DELETE FROM k WHERE id = 15" && b2=$(packs a b) &&
	sqlite3 a.db "UPDATE k SET x = 3 WHERE id = 14; INSERT INTO k VALUES (15, 5, 5, 5)" && b3=$(packs a b) &&
	mule -d b.db unpack "$b3" >/dev/null && mule -d b.db unpack "$b1" >/dev/null &&
	mule -d b.db unpack "$b2" >/dev/null &&
	check_val b.db "SELECT x FROM k WHERE id = 14" 3 &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 15" "5|5|5" &&
	db_same a.db b.db && sync_ab
'

test_expect_success 'the same new key inserted at both, crossed: one record, loser logged' '
	fresh s13 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "INSERT INTO k VALUES (100, 1, 2, 3)" &&
	sqlite3 $L.db "INSERT INTO k VALUES (100, 7, 8, NULL)" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	check_val a.db "SELECT x, y, z FROM k WHERE id = 100" "1|2|3" &&
	db_same a.db b.db &&
	conflicts_of $L.db k 100 >c &&
	json_true "any(\"7\" in e[\"local\"] for e in v) and any(\"8\" in e[\"local\"] for e in v)" <c &&
	no_conflict $W.db k 100
'

test_expect_success 'the same new key inserted at both, sequential (loser first): loser logged' '
	fresh s14 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "INSERT INTO k VALUES (101, 1, 2, 3)" &&
	sqlite3 $L.db "INSERT INTO k VALUES (101, 7, 8, NULL)" &&
	send $L $W && send $W $L &&
	check_val a.db "SELECT x, y, z FROM k WHERE id = 101" "1|2|3" &&
	db_same a.db b.db &&
	mule -d a.db conflicts --json >ca && mule -d b.db conflicts --json >cb &&
	python3 -c "import json
v = [e for f in (\"ca\", \"cb\") for e in json.load(open(f)) if e[\"table\"] == \"k\" and e[\"key\"] == \"101\"]
assert any(\"7\" in e[\"local\"] + e[\"remote\"] for e in v) and any(\"8\" in e[\"local\"] + e[\"remote\"] for e in v), \"the record (101, 7, 8, NULL) was lost without a conflict entry: %r\" % v"
'

test_expect_success 'the same new key inserted at both, sequential (winner first): loser logged' '
	fresh s15 &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "INSERT INTO k VALUES (102, 1, 2, 3)" &&
	sqlite3 $L.db "INSERT INTO k VALUES (102, 7, 8, NULL)" &&
	send $W $L && send $L $W &&
	check_val a.db "SELECT x, y, z FROM k WHERE id = 102" "1|2|3" &&
	db_same a.db b.db &&
	conflicts_of $L.db k 102 |
	    json_true "any(\"7\" in e[\"local\"] for e in v) and any(\"8\" in e[\"local\"] for e in v)" &&
	no_conflict $W.db k 102
'

test_expect_success 'changes relay through a third site (a → b → c, c → b → a)' '
	fresh s16 &&
	add_site c &&
	sqlite3 a.db "UPDATE k SET x = 1616 WHERE id = 16; INSERT INTO k VALUES (200, 2, 0, 0)" &&
	send a b &&
	send b c &&
	db_same a.db c.db &&
	sqlite3 c.db "UPDATE k SET y = 1717 WHERE id = 17; DELETE FROM k WHERE id = 200" &&
	send c b && send b a &&
	db_same a.db c.db && db_same a.db b.db &&
	check_val a.db "SELECT count(*) FROM k WHERE id = 200" 0 &&
	send a b && send b c && send c b && send b a &&
	db_same a.db b.db && db_same b.db c.db
'

test_expect_success 'a bundle arriving both directly and by relay is applied once' '
	cd s16 &&
	sqlite3 a.db "UPDATE k SET z = 1818 WHERE id = 18" &&
	b=$(packs a b) && mule -d b.db unpack "$b" >/dev/null &&
	mkdir both &&
	mule -d a.db pack --to c -o both/ >/dev/null &&
	mule -d b.db pack --to c -o both/ >/dev/null &&
	mule -d c.db unpack both/ >out &&
	check_val c.db "SELECT z FROM k WHERE id = 18" 1818 &&
	db_same a.db c.db &&
	mule -d c.db conflicts --json | json_true "not any(e[\"key\"] == \"18\" for e in v)"
'

test_done
