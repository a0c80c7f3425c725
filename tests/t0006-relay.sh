#!/bin/sh
# Many sites (docs/design.md §7–8, issue 5): bundles for several recipients,
# relay through a hub with loops, a lost bundle, a bundle applied twice,
# bundles out of order, colliding integer keys, tombstones against late
# bundles, a stale bundle read late; and the values lost without a conflict
# entry that t0007 found (a hub relays a value, a delete or a re-created row
# whose writer never saw the value it replaces, although its vector may say
# so).
#
# Each scenario runs in its own directory with its own sites.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

Q="'"	# a single quote, for SQL strings inside the tests' bodies

SCHEMA="CREATE TABLE k(id INTEGER PRIMARY KEY, x, y, z);
    CREATE TABLE w(id TEXT PRIMARY KEY, v) WITHOUT ROWID"

# mksite NAME...: new sites NAME.db with SCHEMA, tracked (track's stderr
# goes to NAME.track).
mksite() {
	for _s in "$@"; do
		mule init "$_s.db" --name "$_s" >/dev/null &&
		sqlite3 "$_s.db" "$SCHEMA" &&
		mule -d "$_s.db" track --all >/dev/null 2>"$_s.track" ||
		return 1
	done
}

# trust A B: A and B trust each other.
trust() {
	mule -d "$1.db" peer add "$2" "$(mule -d "$2.db" id --json | json_get key)" >/dev/null &&
	mule -d "$2.db" peer add "$1" "$(mule -d "$1.db" id --json | json_get key)" >/dev/null
}

# rows_in DB BUNDLE: the number of rows (alive or deleted) BUNDLE carries,
# as DB (a recipient) sees it with inspect --json.
rows_in() {
	mule -d "$1" inspect "$2" --json |
	    json_py "sum(t['rows'] + t.get('deleted', 0) for t in v['tables'])"
}

# no_dup DB: no key of k or w appears twice (and the row counts agree
# with the number of distinct keys).
no_dup() {
	check_val "$1" "SELECT count(*) - count(DISTINCT id) FROM k" 0 &&
	check_val "$1" "SELECT count(*) - count(DISTINCT id) FROM w" 0
}

# several_recipients: a packs one bundle for hq and b; both apply it; c,
# which trusts a but is not a recipient, is refused the file (exit 3, "not
# addressed") and skips it when unpacking the directory.
several_recipients() {
	sqlite3 a.db "INSERT INTO k VALUES (1, 'one', 1.5, NULL), (2, 'two', 2, x'00ff');
	    INSERT INTO w VALUES ('alpha', 1)" &&
	mkdir out &&
	mule -d a.db pack --to hq,b -o out/ >pack.out &&
	test_grep pack.out "^packed .* → out/[^ ]*\.mule" &&
	test "$(ls out/*.mule | wc -l)" -eq 1 &&
	f=$(ls out/*.mule) &&
	mule -d hq.db inspect "$f" --json | json_true "v['recipients'] == 2" &&
	mule -d b.db inspect "$f" --json | json_true "v['recipients'] == 2" &&
	mule -d hq.db unpack "$f" >hq.out &&
	mule -d b.db unpack "$f" >b.out &&
	test_grep hq.out " 3 inserted" &&
	exact_same a.db hq.db &&
	exact_same a.db b.db &&
	refuses 3 c.db "not addressed" mule -d c.db unpack "$f" &&
	mule -d c.db unpack out/ >c.out &&
	test_grep c.out "skipped 1 " &&
	check_val c.db "SELECT count(*) FROM k" 0 &&
	check_val c.db "SELECT count(*) FROM w" 0 &&
	mule -d hq.db unpack "$f" >hq2.out &&
	test_grep hq2.out "already applied" &&
	exact_same a.db hq.db
}

test_expect_success 'several recipients, never heard from: each applies it, a third site cannot' '
	mkdir m1 && cd m1 &&
	mksite a hq b c && trust a hq && trust a b && trust a c &&
	several_recipients
'

test_expect_success 'several recipients that have sent bundles before: each applies it, a third cannot' '
	mkdir m2 && cd m2 &&
	mksite a hq b c && trust a hq && trust a b && trust a c &&
	mkdir hello &&
	for s in hq b c; do mule -d $s.db pack --to a -o hello/ >/dev/null || exit 1; done &&
	mule -d a.db unpack hello/ >/dev/null &&
	several_recipients
'

test_expect_success 'status counts a bundle for several recipients as sent to each of them' '
	cd m2 &&
	mule -d a.db status --json >st &&
	json_true "all(p[\"last_sent\"] >= 1 for p in v[\"peers\"] if p[\"name\"] in (\"hq\", \"b\"))" <st &&
	json_true "[p[\"last_sent\"] for p in v[\"peers\"] if p[\"name\"] == \"c\"] == [0]" <st
'

# f and q do not trust each other; both trust the hub h.
test_expect_success 'relay field site → hub → HQ and back, loops without duplicates or ping-pong' '
	mkdir r && cd r &&
	mksite f h q && trust f h && trust h q &&
	sqlite3 f.db "INSERT INTO k VALUES (1, 10, 11, 12), (2, 20, 21, 22), (3, 30, 31, 32);
	    INSERT INTO w VALUES (${Q}field${Q}, 1)" &&
	send f h && send h q &&
	exact_same f.db q.db &&
	check_val q.db "SELECT x FROM k WHERE id = 2" 20 &&
	sqlite3 q.db "UPDATE k SET x = 2002 WHERE id = 2; DELETE FROM k WHERE id = 3;
	    INSERT INTO k VALUES (4, 40, 41, 42); UPDATE w SET v = 2 WHERE id = ${Q}field${Q}" &&
	send q h && send h f &&
	echo "no echo: h → q and f → h carry nothing back" &&
	B=$(packs h q) && test "$(rows_in q.db "$B")" -eq 0 &&
	mule -d q.db unpack "$B" >/dev/null &&
	B=$(packs f h) && test "$(rows_in h.db "$B")" -eq 0 &&
	mule -d h.db unpack "$B" >/dev/null &&
	check_val f.db "SELECT x FROM k WHERE id = 2" 2002 &&
	check_val f.db "SELECT count(*) FROM k WHERE id = 3" 0 &&
	check_val f.db "SELECT v FROM w" 2 &&
	exact_same f.db q.db && exact_same f.db h.db &&
	sqlite3 f.db "INSERT INTO k VALUES (5, 50, 51, 52); UPDATE k SET y = 111 WHERE id = 1" &&
	sqlite3 q.db "UPDATE k SET z = 444 WHERE id = 4; INSERT INTO w VALUES (${Q}hq${Q}, 9)" &&
	for i in 1 2 3; do
		send q h && send h q && send h f && send f h &&
		send h q && send q h && send f h && send h f || exit 1
	done &&
	exact_same f.db h.db && exact_same h.db q.db &&
	check_val q.db "SELECT id, x, y, z FROM k ORDER BY id" "1|10|111|12
2|2002|21|22
4|40|41|444
5|50|51|52" &&
	check_val f.db "SELECT id, v FROM w ORDER BY id" "field|2
hq|9" &&
	no_dup f.db && no_dup h.db && no_dup q.db &&
	mule -d f.db conflicts --json | json_true "v == []" &&
	mule -d q.db conflicts --json | json_true "v == []" &&
	for e in "f h" "h f" "h q" "q h"; do
		set -- $e &&
		B=$(packs $1 $2) &&
		n=$(rows_in $2.db "$B") &&
		if [ "$n" != 0 ]; then
			echo "$1 → $2 after a quiet round carries $n rows:" &&
			mule -d $2.db inspect "$B" --json; exit 1
		fi &&
		mule -d $2.db unpack "$B" >/dev/null || exit 1
	done &&
	exact_same f.db h.db && exact_same h.db q.db
'

test_expect_success 'a lost bundle: gap reported, the next bundle after an ack carries it again' '
	mkdir l && cd l &&
	mksite a b && trust a b &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 1, 1, 1), (2, 2, 2, 2); INSERT INTO w VALUES (${Q}lost${Q}, 1)" &&
	lost=$(packs a b) && rm "$lost" &&
	sqlite3 a.db "UPDATE k SET x = 222 WHERE id = 2; INSERT INTO k VALUES (3, 3, 3, 3)" &&
	send a b &&
	test_grep send.out "missing" &&
	check_val b.db "SELECT x, y, z FROM k WHERE id = 3" "3|3|3" &&
	check_val b.db "SELECT x FROM k WHERE id = 2" 222 &&
	check_val b.db "SELECT count(*) FROM k WHERE id = 1" 0 &&
	check_val b.db "SELECT count(*) FROM w" 0 &&
	send b a &&
	again=$(packs a b) &&
	test "$(rows_in b.db "$again")" -ge 3 &&
	mule -d b.db unpack "$again" >out &&
	exact_same a.db b.db &&
	no_dup b.db &&
	send b a && send a b &&
	exact_same a.db b.db &&
	B=$(packs a b) && test "$(rows_in b.db "$B")" -eq 0
'

test_expect_success 'the same bundle applied twice (two copies of the file) changes nothing' '
	mkdir d && cd d &&
	mksite a b && trust a b &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 1, 1, 1), (2, 2, 2, 2); INSERT INTO w VALUES (${Q}twice${Q}, 1)" &&
	send a b && send b a &&
	sqlite3 a.db "UPDATE k SET x = 100 WHERE id = 1; DELETE FROM k WHERE id = 2;
	    INSERT INTO k VALUES (3, 3, 3, 3); UPDATE w SET v = 2" &&
	B=$(packs a b) &&
	mkdir copy && cp "$B" copy/again.mule &&
	mule -d b.db unpack "$B" >out1 &&
	exact_same a.db b.db &&
	sum=$(file_sum b.db) &&
	mule -d b.db unpack copy/again.mule >out2 &&
	test_grep out2 "already applied" &&
	test "$(file_sum b.db)" = "$sum" &&
	sqlite3 b.db "UPDATE k SET x = 555 WHERE id = 1; INSERT INTO k VALUES (2, 9, 9, 9)" &&
	mule -d b.db unpack copy/again.mule >out3 &&
	mule -d b.db unpack "$B" copy/ >out4 &&
	check_val b.db "SELECT id, x, y, z FROM k ORDER BY id" "1|555|1|1
2|9|9|9
3|3|3|3" &&
	mule -d b.db conflicts --json | json_true "v == []" &&
	send b a && send a b &&
	exact_same a.db b.db &&
	check_val a.db "SELECT x FROM k WHERE id = 1" 555 &&
	mule -d a.db conflicts --json | json_true "v == []"
'

# a packs each step once for b and once for c; b applies in order, c
# newest first.
test_expect_success 'three bundles applied newest first end as in order' '
	mkdir o && cd o &&
	mksite a b c && trust a b && trust a c &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 1, 1, 1), (2, 2, 2, 2), (3, 3, 3, 3);
	    INSERT INTO w VALUES (${Q}o${Q}, 1)" &&
	b1=$(packs a b) && c1=$(packs a c) &&
	sqlite3 a.db "UPDATE k SET x = 11 WHERE id = 1; DELETE FROM k WHERE id = 2;
	    INSERT INTO w VALUES (${Q}p${Q}, 2); UPDATE w SET v = 10 WHERE id = ${Q}o${Q}" &&
	b2=$(packs a b) && c2=$(packs a c) &&
	sqlite3 a.db "UPDATE k SET x = 111, y = 112 WHERE id = 1; INSERT INTO k VALUES (2, 20, 21, 22);
	    DELETE FROM k WHERE id = 3; DELETE FROM w WHERE id = ${Q}p${Q}" &&
	b3=$(packs a b) && c3=$(packs a c) &&
	mule -d b.db unpack "$b1" >/dev/null && mule -d b.db unpack "$b2" >/dev/null &&
	mule -d b.db unpack "$b3" >/dev/null &&
	mule -d c.db unpack "$c3" >/dev/null && mule -d c.db unpack "$c2" >/dev/null &&
	mule -d c.db unpack "$c1" >/dev/null &&
	exact_same a.db b.db &&
	exact_same b.db c.db &&
	check_val c.db "SELECT id, x, y, z FROM k ORDER BY id" "1|111|112|1
2|20|21|22" &&
	check_val c.db "SELECT id, v FROM w ORDER BY id" "o|10" &&
	mule -d b.db conflicts --json | json_true "v == []" &&
	mule -d c.db conflicts --json | json_true "v == []" &&
	send c a && send a c && send b a && send a b &&
	exact_same a.db c.db && exact_same a.db b.db
'

test_expect_success 'colliding integer keys: same outcome at both, the loser logged, track warned' '
	mkdir kc && cd kc &&
	mksite a b && trust a b &&
	test_grep a.track "warning" &&
	test_grep a.track "(^|[^a-z_])k[^a-z_].*integer key|integer key.*[^a-z_]k([^a-z_]|$)" &&
	! grep -Eq "(^|[^a-z_])w[^a-z_].*integer key" a.track &&
	send a b && send b a &&
	W=$(next_winner a b) && L=$( [ "$W" = a ] && echo b || echo a ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "INSERT INTO k VALUES (1, ${Q}w-x${Q}, 1001, NULL)" &&
	sqlite3 $L.db "INSERT INTO k VALUES (1, ${Q}l-x${Q}, 2002, 3003)" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null &&
	mule -d a.db unpack "$B" >/dev/null &&
	send a b && send b a &&
	exact_same a.db b.db &&
	check_val a.db "SELECT x, y, quote(z) FROM k WHERE id = 1" "w-x|1001|NULL" &&
	no_dup a.db &&
	conflict_is $L.db k 1 x "${Q}l-x${Q}" "${Q}w-x${Q}" remote &&
	conflict_is $L.db k 1 y 2002 1001 remote &&
	conflict_is $L.db k 1 z 3003 NULL remote &&
	no_conflict $W.db k 1
'

# b relays a's row 7 to c in a bundle that arrives only after the delete;
# a's own old bundles to b and c arrive late too.
test_expect_success 'tombstones: a deleted row never comes back from an older bundle' '
	mkdir t && cd t &&
	mksite a b c && trust a b && trust a c && trust b c &&
	sqlite3 a.db "INSERT INTO k VALUES (7, 7, 7, 7), (8, 8, 8, 8); INSERT INTO w VALUES (${Q}gone${Q}, 1)" &&
	ab1=$(packs a b) && cp "$ab1" ab1-copy.mule &&
	mule -d b.db unpack "$ab1" >/dev/null &&
	bc1=$(packs b c) && ac1=$(packs a c) &&
	check_val b.db "SELECT count(*) FROM k WHERE id = 7" 1 &&
	sqlite3 a.db "DELETE FROM k WHERE id = 7; DELETE FROM w" &&
	send a b && send a c &&
	for s in a b c; do
		check_val $s.db "SELECT count(*) FROM k WHERE id = 7" 0 &&
		check_val $s.db "SELECT count(*) FROM w" 0 || exit 1
	done &&
	mule -d c.db unpack "$bc1" >/dev/null &&
	check_val c.db "SELECT count(*) FROM k WHERE id = 7" 0 &&
	check_val c.db "SELECT count(*) FROM w" 0 &&
	check_val c.db "SELECT x FROM k WHERE id = 8" 8 &&
	mule -d c.db unpack "$ac1" >/dev/null &&
	mule -d b.db unpack ab1-copy.mule >/dev/null &&
	for s in b c; do
		check_val $s.db "SELECT count(*) FROM k WHERE id = 7" 0 &&
		check_val $s.db "SELECT count(*) FROM w" 0 || exit 1
	done &&
	send b c && send c b && send c a && send b a && send a b && send a c &&
	mule -d a.db pack --to c --full -o full.mule >/dev/null &&
	mule -d c.db unpack full.mule >/dev/null &&
	mule -d c.db pack --to a --full -o full2.mule >/dev/null &&
	mule -d a.db unpack full2.mule >/dev/null &&
	for s in a b c; do
		check_val $s.db "SELECT count(*) FROM k WHERE id = 7" 0 &&
		check_val $s.db "SELECT count(*) FROM w" 0 &&
		check_val $s.db "SELECT count(*) FROM k" 1 || exit 1
	done &&
	exact_same a.db b.db && exact_same a.db c.db &&
	for s in a b c; do
		mule -d $s.db conflicts --json | json_true "v == []" || exit 1
	done
'

# logged_somewhere LITERAL DB...: LITERAL (as mule conflicts --json prints
# values) is the local or remote value of some entry of table k, or inside a
# whole-row entry, in the conflict log of one of the DBs.
logged_somewhere() {
	_lit=$1
	shift
	for _d in "$@"; do
		mule -d "$_d" conflicts --json >"$TRASH/.c.$_d" || return 1
	done
	python3 -c 'import json,re,sys
lit, files = sys.argv[1], sys.argv[2:]
pat = re.compile(r"(?<![\w\x27])%s(?![\w\x27])" % re.escape(lit))
logs = {f: json.load(open(f)) for f in files}
for f, v in logs.items():
    for e in v:
        for side in ("local", "remote"):
            s = e.get(side) or ""
            if s == lit or (e["column"] == "*" and pat.search(s)):
                sys.exit(0)
print("%s was overwritten but is in no conflict log:" % lit, file=sys.stderr)
for f, v in logs.items():
    print("  %s: %s" % (f.rsplit(".c.", 1)[1], json.dumps(v)), file=sys.stderr)
sys.exit(1)' "$_lit" $(for _d in "$@"; do printf "%s " "$TRASH/.c.$_d"; done)
}

# b's bundle reporting a gap arrives only after a newer one that shows
# everything arrived: the stale report must not make a resend anything.
test_expect_success 'a stale bundle with an old gap neither lowers the ack nor causes a resend' '
	mkdir cs && cd cs &&
	mksite a b && trust a b &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 1, 1, 1)" && send a b &&
	sqlite3 a.db "INSERT INTO k VALUES (2, 2, 2, 2)" &&
	LOST=$(packs a b) &&
	sqlite3 a.db "INSERT INTO k VALUES (3, 3, 3, 3)" && send a b &&
	check_val b.db "SELECT count(*) FROM k" 2 &&
	B1=$(packs b a) &&
	mule -d a.db pack --to b --full -o full.mule >/dev/null &&
	mule -d b.db unpack full.mule >/dev/null &&
	B2=$(packs b a) &&
	mule -d a.db unpack "$B2" >/dev/null &&
	mule -d a.db status --json >before.json &&
	mule -d a.db unpack "$B1" >/dev/null &&
	mule -d a.db status --json >after.json &&
	test_cmp before.json after.json &&
	mule -d a.db pack --to b -o last.mule >pack.out &&
	test_grep pack.out "packed 0 changes"
'

# docs/design.md §7: "A local value overwritten by an incoming one whose
# writer had not seen it is a conflict ... Nothing is dropped silently."
# The scenarios below came out of t0007; without the fix each names, a value
# is lost and no site logs it.

# W's value beats L's at the hub (L's arrives second and loses there), then
# W overwrites its own value, never having seen L's; the hub, which has seen
# L's value, relays W's new value to L.
test_expect_success 'a value overwritten through a hub by a writer that never saw it is logged' '
	mkdir cb && cd cb &&
	mksite s1 h s2 && trust s1 h && trust h s2 &&
	sqlite3 s1.db "INSERT INTO k VALUES (1, 10, 20, 30)" &&
	send s1 h && send h s2 && send s2 h && send h s1 &&
	W=$(next_winner s1 s2) && L=$( [ "$W" = s1 ] && echo s2 || echo s1 ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "UPDATE k SET x = 100 WHERE id = 1" && send $W h &&
	sqlite3 $L.db "UPDATE k SET x = 200 WHERE id = 1" && send $L h &&
	check_val h.db "SELECT x FROM k WHERE id = 1" 100 &&
	sqlite3 $W.db "UPDATE k SET x = 101 WHERE id = 1" && send $W h &&
	send h $L &&
	check_val $L.db "SELECT x FROM k WHERE id = 1" 101 &&
	logged_somewhere 200 s1.db h.db s2.db
'

# As above, but W then deletes the row instead of writing again: the hub's
# tombstone must carry what W's value had beaten, or L's value, which no
# site ever logged, vanishes when the deletion reaches L.
test_expect_success 'a value beaten at the hub, then deleted by the winner, is logged' '
	mkdir cd && cd cd &&
	mksite s1 h s2 && trust s1 h && trust h s2 &&
	sqlite3 s1.db "INSERT INTO k VALUES (1, 10, 20, 30)" &&
	send s1 h && send h s2 && send s2 h && send h s1 &&
	W=$(next_winner s1 s2) && L=$( [ "$W" = s1 ] && echo s2 || echo s1 ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "UPDATE k SET x = 100 WHERE id = 1" && send $W h &&
	sqlite3 $L.db "UPDATE k SET x = 300 WHERE id = 1" && send $L h &&
	check_val h.db "SELECT x FROM k WHERE id = 1" 100 &&
	sqlite3 $W.db "DELETE FROM k WHERE id = 1" && send $W h &&
	send h $L &&
	check_val $L.db "SELECT count(*) FROM k" 0 &&
	logged_somewhere 300 s1.db h.db s2.db
'

# s1's z loses at the hub (so it is never relayed) while its x, written in
# the same commit, wins and travels on to s2: s2's vector now covers s1's
# counter although s2 never saw s1's z.  s2 overwrites the hub's z; when
# that reaches s1, s1's z must still be logged.
test_expect_success 'a value that lost at a hub is logged although its counter travelled on' '
	mkdir ce && cd ce &&
	mksite s1 h s2 && trust s1 h && trust h s2 &&
	sqlite3 s1.db "INSERT INTO k VALUES (1, 10, 20, 30)" &&
	send s1 h && send h s2 && send s2 h && send h s1 &&
	sqlite3 h.db "INSERT INTO k VALUES (2, 1, 2, 3)" && send h s2 &&
	test "$(next_winner s1 h)" = h &&
	sqlite3 h.db "UPDATE k SET z = 500 WHERE id = 1" &&
	sqlite3 s1.db "UPDATE k SET x = 100, z = 300 WHERE id = 1" &&
	send s1 h &&
	check_val h.db "SELECT x, z FROM k WHERE id = 1" "100|500" &&
	send h s2 &&
	sqlite3 s2.db "UPDATE k SET z = 700 WHERE id = 1" && send s2 h &&
	send h s1 &&
	check_val s1.db "SELECT x, z FROM k WHERE id = 1" "100|700" &&
	logged_somewhere 300 s1.db h.db s2.db
'

# As above, but s2 writes over the hub's value and sends it to s1 directly:
# s2's own edit must carry what the value it replaced had beaten.  Then the
# same through a deletion at s2.
test_expect_success 'a value that lost at a hub is logged when the next writer sends directly' '
	mkdir cf && cd cf &&
	mksite s1 h s2 && trust s1 h && trust h s2 && trust s1 s2 &&
	sqlite3 s1.db "INSERT INTO k VALUES (1, 10, 20, 30), (2, 10, 20, 30)" &&
	send s1 h && send h s2 && send s2 h && send h s1 && send s2 s1 &&
	send s1 s2 &&
	sqlite3 h.db "INSERT INTO k VALUES (3, 1, 2, 3)" && send h s2 &&
	test "$(next_winner s1 h)" = h &&
	sqlite3 h.db "UPDATE k SET z = 500" &&
	sqlite3 s1.db "UPDATE k SET x = 100, z = 300 WHERE id = 1;
	    UPDATE k SET x = 101, z = 301 WHERE id = 2" &&
	send s1 h &&
	check_val h.db "SELECT x, z FROM k WHERE id < 3" "100|500
101|500" &&
	send h s2 &&
	sqlite3 s2.db "UPDATE k SET z = 700 WHERE id = 1;
	    DELETE FROM k WHERE id = 2" &&
	send s2 s1 &&
	check_val s1.db "SELECT x, z FROM k WHERE id < 3" "100|700" &&
	logged_somewhere 300 s1.db h.db s2.db &&
	logged_somewhere 301 s1.db h.db s2.db
'

# W and L write the same cell with the same counter; at the hub W's value
# wins (the tie goes to the higher site id) and L's is never relayed, but
# L's counter reaches W with L's other column.  W then replaces its own
# value and sends it straight to L: the counter W replaced equals L's, but
# it was W's value, not L's, so L's value must be logged.
test_expect_success 'the same counter from another origin does not count as seen' '
	mkdir cg && cd cg &&
	mksite s1 m s2 && trust s1 m && trust m s2 && trust s1 s2 &&
	sqlite3 m.db "INSERT INTO k VALUES (1, 10, 20, 30)" &&
	send m s1 && send m s2 &&
	test "$(lamport s1)" = "$(lamport s2)" &&
	W=$(next_winner s1 s2) && L=$( [ "$W" = s1 ] && echo s2 || echo s1 ) &&
	echo "winner $W, loser $L" &&
	sqlite3 $W.db "UPDATE k SET y = 500 WHERE id = 1" &&
	sqlite3 $L.db "UPDATE k SET x = 100, y = 300 WHERE id = 1" &&
	send $W m && send $L m &&
	check_val m.db "SELECT x, y FROM k WHERE id = 1" "100|500" &&
	send m $W &&
	sqlite3 $W.db "UPDATE k SET y = 700 WHERE id = 1" && send $W $L &&
	check_val $L.db "SELECT x, y FROM k WHERE id = 1" "100|700" &&
	logged_somewhere 300 s1.db m.db s2.db
'

# h and a insert the same key; h's values (edited once more) beat a's at m,
# so a's are never relayed, though a's counter reaches h through m.  h
# edits again and sends to a directly: a's values, which h never saw, must
# be logged.
test_expect_success 'values of a colliding insert that lost at a hub are logged' '
	mkdir ch && cd ch &&
	mksite h a m && trust h m && trust a m && trust h a &&
	test "$(lamport h)" = "$(lamport a)" &&
	sqlite3 h.db "INSERT INTO k VALUES (1, 10, 20, 30)" && send h m &&
	sqlite3 h.db "UPDATE k SET x = 11, y = 21, z = 31" && send h m &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 40, 50, 60)" && send a m &&
	check_val m.db "SELECT x, y, z FROM k" "11|21|31" &&
	send m h &&
	sqlite3 h.db "UPDATE k SET x = 12, y = 22, z = 32" && send h a &&
	check_val a.db "SELECT x, y, z FROM k" "12|22|32" &&
	logged_somewhere 40 h.db a.db m.db &&
	logged_somewhere 50 h.db a.db m.db
'

# x's y loses at h after h had already passed its own y to w, so w never
# learns it beat anything; x's other row of the same commit reaches w
# through h, so w's vector covers x's counter.  w replaces h's y and sends
# it straight to x: only the chain of values w's y replaced (h's, not
# x's) tells x that its value was not seen.
test_expect_success 'a writer whose chain of replaced values lacks ours had not seen it' '
	mkdir ci && cd ci &&
	mksite x h w && trust x h && trust h w && trust x w &&
	sqlite3 h.db "INSERT INTO k VALUES (1, 1, 2, 3), (2, 1, 2, 3)" &&
	send h x && send h w && send x w && send w x &&
	sqlite3 h.db "INSERT INTO k VALUES (3, 1, 2, 3)" && send h w &&
	test "$(next_winner x h)" = h &&
	sqlite3 h.db "UPDATE k SET y = 500 WHERE id = 1" && send h w &&
	sqlite3 x.db "UPDATE k SET y = 300 WHERE id = 1;
	    UPDATE k SET z = 77 WHERE id = 2" &&
	send x h &&
	check_val h.db "SELECT y FROM k WHERE id = 1" 500 &&
	send h w &&
	check_val w.db "SELECT z FROM k WHERE id = 2" 77 &&
	sqlite3 w.db "UPDATE k SET y = 700 WHERE id = 1" && send w x &&
	check_val x.db "SELECT y FROM k WHERE id = 1" 700 &&
	logged_somewhere 300 x.db h.db w.db
'

# x's edit loses at m (so m never passes it on) while x's other row of the
# same commit reaches h through m; then x's edit reaches h, where the row
# is deleted.  h's vector already covers x's counter, yet h never saw the
# edit: its tombstone must still name it, so x logs it.
test_expect_success 'an edit reaching a deleted row is beaten even when its counter was known' '
	mkdir cj && cd cj &&
	mksite x h m && trust x h && trust x m && trust m h &&
	sqlite3 h.db "INSERT INTO k VALUES (1, 1, 2, 3), (2, 1, 2, 3)" &&
	send h x && send h m && send x m && send m x && send m h &&
	sqlite3 m.db "INSERT INTO k VALUES (3, 1, 2, 3)" && send m h &&
	test "$(next_winner x m)" = m &&
	sqlite3 m.db "UPDATE k SET x = 500 WHERE id = 1" && send m h &&
	sqlite3 h.db "DELETE FROM k WHERE id = 1" &&
	sqlite3 x.db "UPDATE k SET x = 300 WHERE id = 1;
	    UPDATE k SET z = 77 WHERE id = 2" &&
	send x m && check_val m.db "SELECT x FROM k WHERE id = 1" 500 &&
	send m h && check_val h.db "SELECT z FROM k WHERE id = 2" 77 &&
	send x h && send h x &&
	check_val x.db "SELECT count(*) FROM k WHERE id = 1" 0 &&
	logged_somewhere 300 x.db h.db m.db
'

# s1's edit loses at m; its counter reaches h with s1's other row.  h
# deletes the row and inserts it again, and sends that straight to s1:
# the new row replaced what h had of each column, not s1's edit.
test_expect_success 'a row re-created by a site that never saw our edit logs it' '
	mkdir ck && cd ck &&
	mksite s1 m h && trust s1 m && trust m h && trust h s1 &&
	sqlite3 h.db "INSERT INTO k VALUES (1, 1, 2, 3), (2, 1, 2, 3)" &&
	send h s1 && send h m && send s1 m && send m s1 && send m h &&
	sqlite3 m.db "INSERT INTO k VALUES (3, 1, 2, 3)" && send m h &&
	test "$(next_winner s1 m)" = m &&
	sqlite3 m.db "UPDATE k SET y = 500 WHERE id = 1" &&
	sqlite3 s1.db "UPDATE k SET y = 300 WHERE id = 1;
	    UPDATE k SET z = 77 WHERE id = 2" &&
	send s1 m && check_val m.db "SELECT y FROM k WHERE id = 1" 500 &&
	send m h && check_val h.db "SELECT y, z FROM k WHERE id IN (1, 2)" "500|3
2|77" &&
	sqlite3 h.db "DELETE FROM k WHERE id = 1" && send h m &&
	sqlite3 h.db "INSERT INTO k VALUES (1, 9, 9, 9)" && send h s1 &&
	check_val s1.db "SELECT x, y, z FROM k WHERE id = 1" "9|9|9" &&
	logged_somewhere 300 s1.db m.db h.db
'

# s2's delete reaches the hub before s1's update (which loses there); the
# hub, having seen s1's update, relays the delete to s1.
test_expect_success 'an update lost to a delete relayed through a hub is logged' '
	mkdir cc && cd cc &&
	mksite s1 h s2 && trust s1 h && trust h s2 &&
	sqlite3 s1.db "INSERT INTO k VALUES (1, 10, 20, 30)" &&
	send s1 h && send h s2 && send s2 h && send h s1 &&
	sqlite3 s2.db "DELETE FROM k WHERE id = 1" && send s2 h &&
	sqlite3 s1.db "UPDATE k SET x = 100 WHERE id = 1" && send s1 h &&
	send h s1 &&
	check_val s1.db "SELECT count(*) FROM k" 0 &&
	logged_somewhere 100 s1.db h.db s2.db
'

# a deletes row 1 and re-creates it (two bundles); b, which never got the
# delete, updates the row, then receives the re-created row first.
test_expect_success 'an update lost to a row re-created concurrently is logged' '
	mkdir ca && cd ca &&
	mksite a b && trust a b &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 10, 20, 30)" &&
	send a b && send b a &&
	sqlite3 a.db "DELETE FROM k WHERE id = 1" && A1=$(packs a b) &&
	sqlite3 a.db "INSERT INTO k VALUES (1, 11, 21, 31)" && A2=$(packs a b) &&
	sqlite3 b.db "UPDATE k SET y = 222 WHERE id = 1" &&
	mule -d b.db unpack "$A2" >/dev/null &&
	mule -d b.db unpack "$A1" >/dev/null &&
	send b a && send a b &&
	exact_same a.db b.db &&
	check_val b.db "SELECT x, y, z FROM k" "11|21|31" &&
	logged_somewhere 222 a.db b.db
'

test_done
