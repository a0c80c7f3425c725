#!/bin/sh
# Bookkeeping that does not grow without bound (issue 15, item 9;
# docs/state.md "Pruning"): tombstones and bundle log entries go once every
# peer has acknowledged them; a peer that has not keeps them; a row re-made
# after its tombstone went still wins; a site restored from a backup taken
# before a deletion, offline while the others pruned it, cannot bring the
# row back: it stays deleted everywhere, and its edit of it is logged.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

SCHEMA="CREATE TABLE k(id INTEGER PRIMARY KEY, x, y)"

# mksite NAME...: new sites NAME.db with SCHEMA, tracked, pruning
# tombstones (prune.tombstones yes; $PRUNE overrides).
mksite() {
	for _s in "$@"; do
		mule init "$_s.db" --name "$_s" >/dev/null &&
		sqlite3 "$_s.db" "$SCHEMA" &&
		mule -d "$_s.db" track --all >/dev/null 2>&1 &&
		mule -d "$_s.db" config prune.tombstones "${PRUNE:-yes}" ||
		return 1
	done
}

# trust A B: A and B trust each other.
trust() {
	mule -d "$1.db" peer add "$2" "$(mule -d "$2.db" id --json | json_get key)" >/dev/null &&
	mule -d "$2.db" peer add "$1" "$(mule -d "$1.db" id --json | json_get key)" >/dev/null
}

# tombs SITE: deleted rows of table k whose state mule keeps (tombstones:
# the overlay's rows, and the main state's rows the overlay does not hide).
tombs() {
	_t=$(sqlite3 "$1.db" "SELECT tid FROM _mule_tables WHERE name = 'k'") &&
	sqlite3 "$1.db" "SELECT count(*) FROM (SELECT cl FROM _mule_l$_t
	    UNION ALL SELECT cl FROM _mule_s$_t WHERE pk NOT IN
	    (SELECT pk FROM _mule_l$_t)) WHERE cl % 2 = 0"
}

# logn SITE: entries of the bundle log.
logn() { sqlite3 "$1.db" "SELECT count(*) FROM _mule_bundles"; }

# round: b and c each insert two rows and delete one of the other's; all
# of it crosses the hub a both ways.
round() {
	_n=$1
	sqlite3 b.db "INSERT INTO k VALUES ($((_n * 10 + 1)), 'b', $_n), ($((_n * 10 + 2)), 'b', $_n)" &&
	sqlite3 c.db "INSERT INTO k VALUES ($((_n * 10 + 5)), 'c', $_n), ($((_n * 10 + 6)), 'c', $_n)" &&
	if [ "$_n" -gt 1 ]; then
		sqlite3 b.db "DELETE FROM k WHERE id = $(((_n - 1) * 10 + 5))" &&
		sqlite3 c.db "DELETE FROM k WHERE id = $(((_n - 1) * 10 + 1))"
	fi &&
	send b a && send c a && send a b && send a c
}

test_expect_success 'after rounds of deletions, tombstones and the bundle log shrink; a peer that never acknowledged keeps them at its hub' '
	mkdir r1 && cd r1 &&
	mksite a b c d && trust a b && trust a c && trust a d &&
	for s in a b c; do mule -d $s.db config log.keep 4 >/dev/null || exit 1; done &&
	for n in 1 2 3 4 5 6 7 8; do round $n || exit 1; done &&
	send b a && send c a && send a b && send a c &&
	db_same a.db b.db && db_same a.db c.db &&
	test "$(sqlite3 a.db "SELECT count(*) FROM k")" = 18 &&
	# 14 rows were deleted; b and c forgot them, a keeps every
	# tombstone since d has acknowledged nothing.
	test "$(tombs a)" = 14 &&
	test "$(tombs b)" -lt 4 && test "$(tombs c)" -lt 4 &&
	test "$(logn b)" -lt 10 && test "$(logn c)" -lt 10 &&
	# a keeps what it received while d may still need older news.
	test "$(logn a)" -gt 15 &&
	# d catches up and answers: now a may forget them too.
	send a d && send d a &&
	db_same a.db d.db &&
	test "$(tombs a)" = 0 &&
	send a b && send a c && send a d && send b a && send c a && send d a &&
	test "$(logn a)" -lt 12 &&
	db_same a.db b.db && db_same a.db c.db && db_same a.db d.db
'

test_expect_success 'a row inserted again after its tombstone was pruned wins everywhere' '
	cd r1 &&
	test "$(tombs b)" -lt 4 &&
	test "$(sqlite3 b.db "SELECT count(*) FROM k WHERE id = 15")" = 0 &&
	sqlite3 b.db "INSERT INTO k VALUES (15, '"'"'back'"'"', 0)" &&
	send b a && send a c && send a d && send c a && send d a && send a b &&
	for s in a c d; do
		test "$(sqlite3 $s.db "SELECT x FROM k WHERE id = 15")" = back || exit 1
	done &&
	db_same a.db b.db && db_same a.db c.db && db_same a.db d.db
'

test_expect_success 'log.keep: a bad value is refused, nothing changed' '
	cd r1 &&
	d=$(sqlite3 a.db .dump | sha256sum) &&
	test_expect_code 2 mule -d a.db config log.keep many 2>err &&
	test_grep err "log.keep is a whole number of bundle log entries" &&
	test_expect_code 2 mule -d a.db config log.keep 1.5 2>err &&
	test_grep err "log.keep is a whole number" &&
	test "$(sqlite3 a.db .dump | sha256sum)" = "$d"
'

test_expect_success 'a bundle made before a deletion, read after its tombstone went: the row stays deleted, nothing else changes' '
	mkdir r3 && cd r3 &&
	mksite a b && trust a b &&
	sqlite3 a.db "INSERT INTO k VALUES (1, '"'"'one'"'"', 1), (2, '"'"'two'"'"', 2)" &&
	send a b && send b a &&
	sqlite3 b.db "UPDATE k SET y = 20 WHERE id = 2" &&
	OLD=$(packs b a) &&
	sqlite3 a.db "DELETE FROM k WHERE id = 2" &&
	send a b && send b a && send a b && send b a &&
	test "$(tombs a)" = 0 && test "$(tombs b)" = 0 &&
	db_dump a.db >before &&
	n=$(mule -d a.db conflicts --json | json_len) &&
	mule -d a.db unpack "$OLD" >out &&
	test_grep out "1 row deleted here long ago not brought back" &&
	db_dump a.db >after &&
	test_cmp before after &&
	test "$(mule -d a.db conflicts --json | json_len)" = "$n" &&
	send a b && db_same a.db b.db
'

# c is restored from a backup made before a deleted row 2; meanwhile a, b
# and c itself had pruned its tombstone.
test_expect_success 'a site restored from a backup older than a pruned deletion cannot bring the row back' '
	mkdir r2 && cd r2 &&
	mksite a b c && trust a b && trust a c &&
	sqlite3 a.db "INSERT INTO k VALUES (1, '"'"'one'"'"', 1), (2, '"'"'two'"'"', 2), (3, '"'"'three'"'"', 3)" &&
	for i in 1 2; do
		send a b && send a c && send b a && send c a || exit 1
	done &&
	cp c.db c.backup &&
	sqlite3 a.db "DELETE FROM k WHERE id = 2" &&
	for i in 1 2 3; do
		send a b && send a c && send b a && send c a || exit 1
	done &&
	test "$(tombs a)" = 0 && test "$(tombs b)" = 0 && test "$(tombs c)" = 0 &&
	cp c.backup c.db &&
	sqlite3 c.db "UPDATE k SET x = '"'"'c edit'"'"' WHERE id = 2" &&
	mule -d c.db recover >/dev/null &&
	send a c && send c a && send a c &&
	A=$(packs c a) &&
	sqlite3 a.db .dump >before &&
	mule -d a.db unpack "$A" >out &&
	test_grep out "1 row deleted here long ago not brought back" &&
	test "$(sqlite3 a.db "SELECT count(*) FROM k WHERE id = 2")" = 0 &&
	send a c && send a b && send c a && send b a && send a b && send a c &&
	for s in a b c; do
		test "$(sqlite3 $s.db "SELECT count(*) FROM k WHERE id = 2")" = 0 || exit 1
	done &&
	db_same a.db b.db && db_same a.db c.db &&
	# c logged its edit when the deletion reached it.
	mule -d c.db conflicts --json >conf &&
	json_true "any(c[\"key\"] == \"2\" and \"c edit\" in c[\"local\"] for c in v)" <conf
'

test_expect_success 'tombstones stay unless prune.tombstones is yes; the log is pruned all the same' '
	mkdir r9 && cd r9 &&
	PRUNE=no mksite a b c && trust a b && trust a c &&
	for s in a b c; do mule -d $s.db config log.keep 4 >/dev/null || exit 1; done &&
	for n in 1 2 3 4 5; do round $n || exit 1; done &&
	send b a && send c a && send a b && send a c &&
	db_same a.db b.db && db_same a.db c.db &&
	test "$(tombs a)" = 8 && test "$(tombs b)" = 8 && test "$(tombs c)" = 8 &&
	test "$(logn b)" -lt 10 && test "$(logn c)" -lt 10 &&
	test_expect_code 2 mule -d a.db config prune.tombstones maybe 2>err &&
	test_grep err "prune.tombstones is yes or no"
'

test_done
