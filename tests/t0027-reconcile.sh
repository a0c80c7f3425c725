#!/bin/sh
# Same data, same truth (issue 14): content digests in every bundle,
# reconciliation by key-range summaries, mule check, separately
# initialized copies whose shared rows never travel, a site restored from
# a backup, and rows changed or lost underneath mule's bookkeeping.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

ROWS=100000

# gen DB N: table t of N rows (the same at every site that runs it).
gen() {
	sqlite3 "$1" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER, w TEXT);
	    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $2)
	    INSERT INTO t SELECT i, 'v' || i, i * 7, 'w' || (i % 97) FROM s"
}

# bytes FILE...: their total size.
bytes() { cat "$@" | wc -c; }

# round A B N: A packs for B into rN.A-B.mule, B unpacks (output in
# rN.A-B.out).
round() {
	mule -d "$1.db" pack --to "$2" -o "r$3.$1-$2.mule" >/dev/null &&
	mule -d "$2.db" unpack "r$3.$1-$2.mule" >"r$3.$1-$2.out"
}

test_expect_success 'two copies initialized separately, 1% edited at each: only the edits travel, no conflicts' '
	mkdir c2 && cd c2 && setup_pair &&
	gen a.db $ROWS && gen b.db $ROWS &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1 &&
	sqlite3 a.db "UPDATE t SET v = v || '\''a'\'' WHERE id % 100 = 1" &&
	sqlite3 b.db "UPDATE t SET n = -n WHERE id % 100 = 2" &&
	for r in 1 2 3; do round a b $r && round b a $r || return 1; done &&
	cat r1.a-b.out r1.b-a.out &&
	test_grep r1.a-b.out " 1,?000 updated, 0 deleted, 0 conflicts" &&
	test_grep r1.b-a.out " 1,?000 updated, 0 deleted, 0 conflicts" &&
	! grep -q disagree r*.out &&
	db_same a.db b.db &&
	mule -d a.db conflicts --json | json_true "v == []" &&
	mule -d b.db conflicts --json | json_true "v == []" &&
	total=$(bytes r*.mule) && db=$(bytes a.db) &&
	echo "three rounds: $total bytes for a $db-byte database" &&
	test $((total * 50)) -lt "$db"
'

test_expect_success 'later edits of rows both copies hold from their own first scans: still no conflicts, bases by the row' '
	cd c2 &&
	sqlite3 a.db "UPDATE t SET w = '\''a2'\'' WHERE id % 100 = 3; DELETE FROM t WHERE id % 1000 = 5" &&
	sqlite3 b.db "UPDATE t SET w = '\''b2'\'' WHERE id % 100 = 4" &&
	for r in 4 5; do round a b $r && round b a $r || return 1; done &&
	cat r4.a-b.out r4.b-a.out &&
	test_grep r4.a-b.out " 1,?000 updated, 100 deleted, 0 conflicts" &&
	test_grep r4.b-a.out " 1,?000 updated, 0 deleted, 0 conflicts" &&
	db_same a.db b.db &&
	mule -d a.db conflicts --json | json_true "v == []" &&
	mule -d b.db conflicts --json | json_true "v == []"
'

test_expect_success 'a digest in every bundle: inspect shows it, the copies compare equal' '
	cd c2 &&
	mule -d b.db inspect --json r3.a-b.mule | json_true "v[\"digests\"] == 1" &&
	mule -d a.db status >/dev/null
'

if have_chinook; then
	test_expect_success 'Chinook copied to three laptops and initialized at each: no false conflicts, few bytes' '
		mkdir ch && cd ch &&
		for s in a b c; do
			sqlite3 $s.db <"$CHINOOK" &&
			mule init $s.db --name $s >/dev/null || return 1
		done &&
		for s in a b c; do for o in a b c; do
			[ $s = $o ] || mule -d $s.db peer add $o \
			    "$(mule -d $o.db id --json | json_get key)" >/dev/null || return 1
		done; done &&
		for s in a b c; do mule -d $s.db track --all >/dev/null 2>&1 || return 1; done &&
		sqlite3 a.db "UPDATE Track SET UnitPrice = 1.29 WHERE TrackId IN (1, 2)" &&
		sqlite3 b.db "UPDATE Customer SET Email = lower(Email) WHERE CustomerId IN (1, 2)" &&
		sqlite3 c.db "UPDATE InvoiceLine SET Quantity = 2 WHERE InvoiceLineId IN (5, 6)" &&
		for r in 1 2 3; do
			round a b $r && round b a $r && round a c $r &&
			round c a $r && round b c $r && round c b $r || return 1
		done &&
		db_same a.db b.db && db_same a.db c.db &&
		check_val c.db "SELECT UnitPrice FROM Track WHERE TrackId = 2" 1.29 &&
		for s in a b c; do
			mule -d $s.db conflicts --json | json_true "v == []" || return 1
		done &&
		total=$(bytes r*.mule) && db=$(bytes a.db) &&
		echo "three rounds between three copies: $total bytes for a $db-byte database" &&
		test $((total * 4)) -lt "$db"
	'
else
	test_skip 'Chinook copied to three laptops and initialized at each: no false conflicts, few bytes' "no $CHINOOK"
fi

test_expect_success 'an empty site gets rows it lacks after one round trip (and with --full at once)' '
	mkdir e && cd e && setup_pair &&
	gen a.db 5000 && sqlite3 b.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER, w TEXT)" &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1 &&
	round a b 1 && cat r1.a-b.out &&
	test_grep r1.a-b.out "0 inserted.*a and this site disagree on t: reconciling" &&
	round b a 1 && round a b 2 &&
	test_grep r2.a-b.out "5,?000 inserted" &&
	exact_same a.db b.db &&
	mule init f.db --name f >/dev/null &&
	mule -d a.db peer add f "$(mule -d f.db id --json | json_get key)" >/dev/null &&
	mule -d f.db peer add a "$(mule -d a.db id --json | json_get key)" >/dev/null &&
	sqlite3 f.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER, w TEXT)" &&
	mule -d f.db track --all >/dev/null 2>&1 &&
	mule -d a.db pack --to f --full -o full.mule >/dev/null &&
	mule -d f.db unpack full.mule >out && test_grep out "5,?000 inserted" &&
	exact_same a.db f.db
'

# lose_and_change DB: a row and its state vanish, another row and its
# state are rewritten together (as a faulty restore of one table would):
# mule's bookkeeping agrees with the data, but not with the peer.
lose_and_change() {
	python3 -c "
import sqlite3
c = sqlite3.connect('$1')
c.execute('DELETE FROM t WHERE id = 700')
c.execute('DELETE FROM _mule_s1 WHERE pk = 700')
c.execute(\"UPDATE t SET v = 'changed' WHERE id = 500\")
c.execute('UPDATE _mule_s1 SET hash = (SELECT hash FROM _mule_s1 WHERE pk = 501) WHERE pk = 500')
c.commit()"
}

test_expect_success 'mule check: a row lost with its state comes back; a row rewritten with its state travels as an edit' '
	mkdir k && cd k && setup_pair &&
	gen a.db 3000 && gen b.db 3000 &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1 &&
	round a b 1 && round b a 1 &&
	lose_and_change b.db &&
	mule -d b.db check a >out && test_grep out "full comparison of 1 table" &&
	mule -d b.db status --json | json_true "v[\"peers\"][0][\"reconcile_ranges\"] == 1" &&
	for r in 2 3 4 5 6; do round b a $r && round a b $r || return 1; done &&
	cat r2.b-a.out r3.a-b.out &&
	test_grep r2.b-a.out "reconciling with b: 16 key ranges" &&
	db_same a.db b.db &&
	check_val b.db "SELECT v FROM t WHERE id = 700" v700 &&
	check_val a.db "SELECT v FROM t WHERE id = 500" changed &&
	mule -d a.db conflicts --json | json_true "v == []"
'

test_expect_success 'a row deleted while its table was not tracked: the digests disagree by themselves, and it comes back' '
	cd k &&
	mule -d b.db untrack t >/dev/null &&
	sqlite3 b.db "DELETE FROM t WHERE id = 42" &&
	mule -d b.db track t >/dev/null 2>&1 &&
	round a b 7 && round b a 7 && round a b 8 && cat r7.b-a.out r8.a-b.out &&
	grep -q "disagree on t: reconciling" r7.a-b.out r7.b-a.out r8.a-b.out &&
	{ mule -d a.db status; mule -d b.db status; } >st &&
	test_grep st "content: +[ab] and this site disagree on t" &&
	for r in 9 10 11; do round b a $r && round a b $r || return 1; done &&
	{ mule -d a.db status; mule -d b.db status; } >st &&
	! grep -q "disagree" st &&
	check_val b.db "SELECT v FROM t WHERE id = 42" v42 &&
	db_same a.db b.db
'

test_expect_success 'mule check refuses an unknown peer and a peer with a sync set; nothing changes' '
	cd k &&
	full_dump() { sqlite3 "$1" .dump; } &&
	full_dump b.db >before &&
	test_expect_code 1 mule -d b.db check nosuch >out 2>err &&
	test_grep err "nosuch" &&
	mule -d b.db share a t --where "id < 10" >/dev/null &&
	full_dump b.db >before &&
	test_expect_code 1 mule -d b.db check a >out 2>err &&
	test_grep err "sync set" &&
	full_dump b.db >after && test_cmp before after &&
	mule -d b.db share a --reset >/dev/null
'

test_expect_success 'a bundle for a table that holds data here but is not tracked: refused, naming mule track; after it, the usual merge logs the conflict' '
	mkdir nt && cd nt && setup_pair &&
	for s in a b; do
		sqlite3 $s.db "CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT);
		    INSERT INTO t VALUES (1, '\''one'\''), (2, '\''two'\'')" || return 1
	done &&
	sqlite3 b.db "UPDATE t SET x = '\''local edit'\'' WHERE id = 1" &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	sqlite3 a.db "UPDATE t SET x = '\''from a'\'' WHERE id = 1" &&
	mule -d a.db pack --to b -o 1.mule >/dev/null &&
	sqlite3 b.db .dump >before &&
	test_expect_code 1 mule -d b.db unpack 1.mule >out 2>err &&
	test_grep err "table .t., which this site does not track" &&
	test_grep err "mule track t" &&
	sqlite3 b.db .dump >after && test_cmp before after &&
	mule -d b.db track t >/dev/null 2>&1 &&
	mule -d b.db unpack 1.mule >out && test_grep out " 1 conflict" &&
	check_val b.db "SELECT x FROM t WHERE id = 1" "from a" &&
	mule -d b.db conflicts --json |
	    json_true "any(\"local edit\" in str(c[\"local\"]) for c in v)"
'

test_expect_success 'a hub restored from a backup in the middle of a relay: what it relayed comes back, nothing is lost' '
	mkdir hub && cd hub &&
	for s in f h q; do mule init $s.db --name $s >/dev/null && gen $s.db 1200 || return 1; done &&
	for p in f:h h:f h:q q:h; do
		a=${p%%:*} b=${p#*:} &&
		mule -d $a.db peer add $b "$(mule -d $b.db id --json | json_get key)" >/dev/null || return 1
	done &&
	for s in f h q; do mule -d $s.db track --all >/dev/null 2>&1 || return 1; done &&
	round f h 1 && round h f 1 && round h q 1 && round q h 1 &&
	cp h.db backup.db &&
	sqlite3 f.db "UPDATE t SET v = '\''from f'\'' WHERE id = 10" &&
	sqlite3 q.db "UPDATE t SET v = '\''from q'\'' WHERE id = 20" &&
	round f h 2 && round q h 2 && round h q 2 && round h f 2 &&
	check_val q.db "SELECT v FROM t WHERE id = 10" "from f" &&
	cp backup.db h.db &&
	round f h 3 && cat r3.f-h.out &&
	test_grep r3.f-h.out "this site was restored from a backup" &&
	for r in 4 5 6 7; do
		round h f $r && round f h $r && round h q $r && round q h $r || return 1
	done &&
	db_same f.db h.db && db_same h.db q.db &&
	check_val h.db "SELECT v FROM t WHERE id = 10" "from f" &&
	check_val h.db "SELECT v FROM t WHERE id = 20" "from q"
'

# restored_pair DIR: a and b in sync; b packs an edit that a applies; b's
# disk fails and last week's copy of b.db comes back.
restored_pair() {
	mkdir "$1" && cd "$1" && setup_pair &&
	gen a.db 50 && gen b.db 50 &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1 &&
	round a b 1 && round b a 1 && round a b 2 &&
	cp b.db backup.db &&
	sqlite3 b.db "UPDATE t SET v = 'B-before-restore' WHERE id = 1" &&
	round b a 2 && test_grep r2.b-a.out " 1 updated" &&
	cp backup.db b.db
}

test_expect_success 'restored from a backup, edited and packed: the peer refuses the reused number, naming mule recover; after it, both edits are kept' '
	restored_pair r1 &&
	sqlite3 b.db "UPDATE t SET v = '\''B-after-restore'\'' WHERE id = 2" &&
	mule -d b.db pack --to a -o bad.mule >/dev/null &&
	sqlite3 a.db .dump >before &&
	test_expect_code 3 mule -d a.db unpack bad.mule >out 2>err &&
	test_grep err "restored from a backup" && test_grep err "mule recover" &&
	test_grep err "mule clone" &&
	sqlite3 a.db .dump >after && test_cmp before after &&
	mule -d b.db recover >out && test_grep out "restored from a backup" &&
	sqlite3 b.db .dump >before &&
	test_expect_code 1 mule -d b.db pack --to a -o no.mule >out 2>err &&
	test_grep err "Unpack a bundle from a peer first" && test ! -e no.mule &&
	sqlite3 b.db .dump >after && test_cmp before after &&
	round a b 3 && cat r3.a-b.out &&
	test_grep r3.a-b.out "this site was restored from a backup: a holds its changes" &&
	for r in 4 5 6; do round b a $r && round a b $r || return 1; done &&
	db_same a.db b.db &&
	check_val a.db "SELECT v FROM t WHERE id = 1" B-before-restore &&
	check_val a.db "SELECT v FROM t WHERE id = 2" B-after-restore
'

test_expect_success 'restored from a backup, then a bundle from the peer first: found out and repaired by itself' '
	restored_pair r2 &&
	sqlite3 b.db "UPDATE t SET v = '\''B-after-restore'\'' WHERE id = 3" &&
	round a b 3 && cat r3.a-b.out &&
	test_grep r3.a-b.out "this site was restored from a backup" &&
	for r in 4 5 6; do round b a $r && round a b $r || return 1; done &&
	db_same a.db b.db &&
	check_val b.db "SELECT v FROM t WHERE id = 1" B-before-restore &&
	check_val a.db "SELECT v FROM t WHERE id = 3" B-after-restore &&
	mule -d a.db log --json | json_true "len([e for e in v if e[\"dir\"] == \"recv\"]) >= 4"
'

test_done
