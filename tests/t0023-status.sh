#!/bin/sh
# Plain status and machine output (issue 16, items 4, 5, 7, 8): status says
# what to do next per peer; conflicts are visible at both sites; one
# integer-key warning per track; pack/unpack --json and --quiet; exit
# codes; ASCII output under LC_ALL=C.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# loser: which of a and b logged the conflict (has an unresolved one).
loser() {
	sqlite3 a.db "SELECT count(*) FROM _mule_conflicts WHERE NOT resolved" |
	    grep -q "^[1-9]" && echo a || echo b
}

# ---- item 7: one integer-key warning per track ----

test_expect_success 'track --all warns once about every integer-key table, with the remedy' '
	sqlite3 w.db "CREATE TABLE t1(id INTEGER PRIMARY KEY, v TEXT);
	    CREATE TABLE t2(id INTEGER PRIMARY KEY, v TEXT);
	    CREATE TABLE t3(id INTEGER PRIMARY KEY, v TEXT);
	    CREATE TABLE words(w TEXT PRIMARY KEY)" &&
	mule init w.db --name w >/dev/null &&
	mule -d w.db track --all >out 2>err &&
	test "$(grep -c "warning" err)" = 1 &&
	test_grep err "^mule: warning: 3 tables have an integer key: t1, t2, t3$" &&
	test_grep err "remedy: keys that cannot collide" &&
	! grep -q words err &&
	test "$(grep -c "^tracking" out)" = 4
'

test_expect_success 'Chinook: one warning naming its ten integer-key tables' '
	if have_chinook; then
		sqlite3 ch.db <"$CHINOOK" &&
		mule init ch.db --name ch >/dev/null &&
		LC_ALL=C mule -d ch.db track --all >out 2>err &&
		test "$(grep -c "warning" err)" = 1 &&
		test_grep err "10 tables have an integer key: Album, Artist, Customer, Employee, Genre, Invoice, InvoiceLine, MediaType, Playlist, Track$" &&
		test "$(wc -l <err)" = 5 &&
		ascii out err &&
		test_grep out "^recorded [0-9]+ existing rows as the baseline$"
	fi
'

test_expect_success 'one table with an integer key: the warning says so in the singular' '
	sqlite3 w.db "CREATE TABLE t4(id INTEGER PRIMARY KEY)" &&
	mule -d w.db track t4 >out 2>err &&
	test_grep err "^mule: warning: 1 table has an integer key: t4$" &&
	mule -d w.db track words >out 2>err &&
	! test -s err
'

# ---- item 4: status says what to do next ----

test_expect_success 'setup: two sites, two tables' '
	pair_with "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT, n REAL, b BLOB);
	    CREATE TABLE quiet(id INTEGER PRIMARY KEY, v TEXT)" &&
	sqlite3 a.db "INSERT INTO k VALUES (1, '"'one'"', 1.5, x'"'00ff'"')" &&
	sync_ab
'

test_expect_success 'status hides tables with nothing to report; --all lists them' '
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (2, '"'two'"')" &&
	mule -d a.db status >out &&
	test_grep out "^  k +unrecorded: 1 new, 0 changed, 0 deleted$" &&
	! grep -q "quiet" out &&
	test_grep out "^  and 1 tracked table with no unrecorded changes \(--all lists them\)$" &&
	mule -d a.db status --all >out &&
	test_grep out "^  quiet +no unrecorded changes$" &&
	mule -d a.db status --json | json_true "len(v[\"tables\"]) == 2" &&
	test_expect_code 2 mule -d a.db status --bogus 2>err &&
	test_grep err "usage: mule status \[--all\] \[--json\]"
'

test_expect_success 'status: changes not yet packed, with the command to send them' '
	sqlite3 a.db "UPDATE k SET v = '"'uno'"' WHERE id = 1" &&
	s=$(file_sum a.db) &&
	LC_ALL=C mule -d a.db status >out &&
	test_grep out "^  next: +2 changes not yet packed for b -> mule pack --to b$" &&
	test "$(file_sum a.db)" = "$s" &&
	mule -d a.db status --json >j &&
	json_true "v[\"peers\"][0][\"unpacked\"] == 2 and v[\"peers\"][0][\"next\"] == \"pack\"" <j &&
	: >taken.mule &&
	test_expect_code 1 mule -d a.db pack --to b -o taken.mule 2>err &&
	test_grep err "already exists" &&
	LC_ALL=C mule -d a.db status >out &&
	test_grep out "^  next: +2 changes not yet packed for b -> mule pack --to b$" &&
	! grep -q "on their way\|unacked:" out &&
	mule -d b.db status >out &&
	test_grep out "^  next: +nothing to do$"
'

test_expect_success 'status: sent, not acknowledged yet; then nothing to do' '
	B=$(packs a b) && name=$(basename "$B" .mule) &&
	LC_ALL=C mule -d a.db status >out &&
	test_grep out "^  next: +sent in $name, not acknowledged yet -> wait for a bundle from b$" &&
	mule -d a.db status --json | json_true "v[\"peers\"][0][\"unpacked\"] == 0 and v[\"peers\"][0][\"next\"] == \"wait\"" &&
	mule -d b.db unpack "$B" >/dev/null &&
	mule -d b.db status >out &&
	test_grep out "^  next: +nothing to do$" &&
	send b a &&
	mule -d a.db status >out &&
	test_grep out "^  next: +nothing to do$" &&
	mule -d a.db status --json | json_true "v[\"peers\"][0][\"next\"] == \"nothing\""
'

test_expect_success 'status after clone: both sites know the other has everything' '
	mule clone a.db c.db --name c >/dev/null &&
	mule -d c.db status >out &&
	test_grep out "^  acknowledged: it has everything we know" &&
	! grep -q "acknowledged: nothing yet" out &&
	test_grep out "^  next: +nothing to do$" &&
	mule -d a.db status >out &&
	sed -n "/^peer c:/,/^peer /p" out >outc &&
	test_grep outc "acknowledged: it has everything we know" &&
	test_grep outc "next: +nothing to do"
'

test_expect_success 'status shows times in UTC' '
	mule -d a.db status >out &&
	test_grep out "^  sent: +bundle #[0-9]+ \([0-9-]+ [0-9:]+ UTC\)$"
'

# ---- item 8: pack and unpack --json, --quiet, exit codes ----

test_expect_success 'pack --json: one object for the bundle written' '
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (3, '"'three'"')" &&
	mkdir j1 &&
	mule -d a.db pack --to b -o j1/ --json >out &&
	test "$(wc -l <out)" = 1 &&
	f=$(ls j1/*.mule) &&
	json_true "v[\"file\"] == \"$f\" and v[\"to\"] == [\"b\"] and v[\"from\"] == \"a\" and v[\"changes\"] == 1 and v[\"tables\"] == 1 and v[\"encrypted\"] and v[\"bytes\"] == $(wc -c <"$f") and v[\"seq\"] >= 1" <out
'

test_expect_success 'pack -q says nothing; a refused pack still says why' '
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (4, '"'four'"')" &&
	mkdir q1 &&
	mule -d a.db pack --to b -o q1/ -q >out 2>err &&
	! test -s out && ! test -s err &&
	test "$(ls q1/*.mule | wc -l)" = 1 &&
	sql_before=$(sqlite3 a.db .dump | sha256sum) &&
	test_expect_code 1 mule -d a.db pack --to b -o q1/$(basename q1/*.mule) -q >out 2>err &&
	! test -s out &&
	test_grep err "already exists" &&
	test "$(sqlite3 a.db .dump | sha256sum)" = "$sql_before"
'

test_expect_success 'unpack --json: one object per line and bundle' '
	cp b.db b.before &&
	mule -d b.db unpack --json j1 q1 >out &&
	test "$(wc -l <out)" = 3 &&
	python3 -c "import json,sys
v = [json.loads(l) for l in open(\"out\")]
assert all(o[\"status\"] == \"applied\" and o[\"peer\"] == \"a\" and o[\"inserted\"] == 1 and o[\"conflicts\"] == 0 for o in v[:2]), v
assert v[2] == {\"totals\": {\"found\": 2, \"applied\": 2, \"already\": 0, \"skipped\": 0, \"skipped_parts\": 0, \"failed\": 0}}, v" &&
	mule -d b.db unpack --json j1 >out &&
	json_true "v[\"totals\"][\"already\"] == 1 and v[\"totals\"][\"applied\"] == 0" <out &&
	mule -d b.db unpack --json j1/*.mule >out &&
	head -1 out | json_true "v[\"status\"] == \"already\""
'

test_expect_success 'unpack -q says nothing when all goes well' '
	sqlite3 a.db "INSERT INTO k(id, v) VALUES (5, '"'five'"')" &&
	B=$(packs a b) &&
	mule -d b.db unpack -q "$B" >out 2>err &&
	! test -s out && ! test -s err &&
	test "$(sqlite3 b.db "SELECT v FROM k WHERE id = 5")" = five
'

test_expect_success 'unpack DIR with one tampered bundle: exit 3, it is named, the others apply' '
	send b a &&
	mkdir d3 &&
	for i in 6 7 8; do
		sqlite3 a.db "INSERT INTO k(id, v) VALUES ($i, '"'v$i'"')" &&
		mule -d a.db pack --to b -o d3/ -q || return 1
	done &&
	bad=$(ls d3/*.mule | sed -n 2p) &&
	flip_byte "$bad" -20 &&
	cp b.db b.ref && cp b.db.mule-key b.ref.mule-key &&
	for f in d3/*.mule; do
		[ "$f" = "$bad" ] || mule -d b.ref unpack "$f" >/dev/null || return 1
	done &&
	test_expect_code 3 mule -d b.db unpack d3 >out 2>err &&
	test_grep err "^mule: $bad: the signature of .a. does not match" &&
	test_grep err "^mule: 1 of 3 bundles was not applied: $bad \(exit status 3: failed verification, changed nothing; the other bundles are not affected by it\)$" &&
	test "$(grep -c "^applied" out)" = 2 &&
	exact_same b.db b.ref &&
	test_expect_code 3 mule -d b.db unpack --json d3 >out 2>err &&
	python3 -c "import json
v = [json.loads(l) for l in open(\"out\")]
r = [o for o in v if o.get(\"status\") == \"refused\"]
assert len(r) == 1 and r[0][\"file\"] == \"$bad\" and r[0][\"exit\"] == 3 and \"signature\" in r[0][\"why\"], v
assert [o[\"status\"] for o in v[:-1]] == [\"refused\"], v
assert v[-1][\"totals\"][\"already\"] == 2 and v[-1][\"totals\"][\"failed\"] == 1, v"
'

# ---- item 5 and 8: conflicts at both sites; applied with conflicts ----

test_expect_success 'a bundle applied with conflicts: exit 0, conflicts in the JSON' '
	send b a && send a b &&
	sqlite3 a.db "UPDATE k SET v = '"'a-side'"', n = 2.25, b = x'"'0102'"' WHERE id = 1" &&
	sqlite3 b.db "UPDATE k SET v = '"'b-side'"', n = 7, b = x'"'03'"' WHERE id = 1" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack --json "$A" >ob &&
	mule -d a.db unpack --json "$B" >oa &&
	head -1 ob | json_true "v[\"status\"] == \"applied\"" &&
	test "$(python3 -c "import json; print(sum(json.loads(l).get(\"conflicts\", 0) for f in (\"oa\", \"ob\") for l in open(f)))")" = 3
'

test_expect_success 'conflicts --json: values are JSON values; times carry a zone' '
	L=$(loser) && echo $L >L &&
	mule -d $L.db conflicts --json >j &&
	json_true "len(v) == 3" <j &&
	json_true "all(c[\"key_values\"] == [1] and c[\"logged_at\"].endswith(\"Z\") for c in v)" <j &&
	json_true "sorted(type(c[\"local_value\"]).__name__ for c in v) == [\"dict\", \"float\", \"str\"] or sorted(type(c[\"local_value\"]).__name__ for c in v) == [\"dict\", \"int\", \"str\"]" <j &&
	json_true "[c[\"local_value\"][\"type\"] for c in v if c[\"column\"] == \"b\"] == [\"blob\"]" <j &&
	json_true "{c[\"column\"]: c[\"remote_value\"] for c in v}[\"v\"] in (\"a-side\", \"b-side\")" <j &&
	python3 -c "import json, base64
v = json.load(open(\"j\"))
b = [c for c in v if c[\"column\"] == \"b\"][0]
vals = {base64.b64decode(b[s][\"base64\"]) for s in (\"local_value\", \"remote_value\")}
assert vals == {bytes([1, 2]), bytes([3])}, vals
n = [c for c in v if c[\"column\"] == \"n\"][0]
assert {n[\"local_value\"], n[\"remote_value\"]} == {2.25, 7}, n"
'

test_expect_success 'the winning site learns of the conflicts with the next bundle' '
	L=$(cat L) && W=$( [ $L = a ] && echo b || echo a ) &&
	mule -d $W.db conflicts >out &&
	test_grep out "^no conflicts$" &&
	! grep -q "logged at peers" out &&
	d=$(mktemp -d ./x.note.XXXXXX) &&
	LC_ALL=C mule -d $L.db pack --to $W -o "$d/" >out &&
	test_grep out "^told $W of 3 conflicts logged here$" &&
	ascii out &&
	LC_ALL=C mule -d $W.db unpack "$d"/*.mule >out &&
	test_grep out "^note: $L logged 3 conflicts where a value from this site won: see .mule conflicts --peers.$" &&
	mule -d $W.db conflicts >out &&
	test_grep out "^no conflicts$" &&
	test_grep out "^3 conflicts logged at peers, where a value from this site won: mule conflicts --peers$" &&
	mule -d $W.db conflicts --peers >out &&
	test "$(grep -c "logged at $L, where the value from this site won" out)" = 3 &&
	mule -d $W.db conflicts --peers --json >j &&
	json_true "len(v) == 3 and all(c[\"logged_by\"] == \"$L\" and c[\"winner\"] == \"local\" and c[\"logged_at\"].endswith(\"Z\") for c in v)" <j &&
	json_true "[c[\"local_value\"] for c in v if c[\"column\"] == \"v\"] == [\"$W-side\"]" <j &&
	mule -d $W.db status >out &&
	test_grep out "^3 conflicts logged at peers, where a value from this site won: see .mule conflicts --peers.$" &&
	mule -d $W.db status --json | json_true "v[\"conflicts\"] == 0 and v[\"conflicts_at_peers\"] == 3"
'

test_expect_success 'notes are told once; the site that logged them keeps them to resolve' '
	L=$(cat L) && W=$( [ $L = a ] && echo b || echo a ) &&
	d=$(mktemp -d ./x.note2.XXXXXX) &&
	mule -d $L.db pack --to $W -o "$d/" --json >out &&
	json_true "v[\"conflict_notes\"] == 0" <out &&
	mule -d $W.db unpack "$d"/*.mule >/dev/null &&
	mule -d $W.db status --json | json_true "v[\"conflicts_at_peers\"] == 3" &&
	mule -d $L.db status --json | json_true "v[\"conflicts\"] == 3 and v[\"conflicts_at_peers\"] == 0" &&
	test_expect_code 1 mule -d $W.db conflicts resolve 1 --keep local 2>err &&
	test_grep err "no conflict #1"
'

test_expect_success 'a conflict over text holding a NUL byte: its note travels, the bundle applies' '
	send a b && send b a &&
	python3 -c "import sqlite3
for db, v in ((\"a.db\", \"a\x00side\"), (\"b.db\", \"b\x00side\")):
    c = sqlite3.connect(db); c.execute(\"UPDATE k SET v = ? WHERE id = 2\", (v,)); c.commit()" &&
	A=$(packs a b) && B=$(packs b a) &&
	mule -d b.db unpack "$A" >/dev/null && mule -d a.db unpack "$B" >/dev/null &&
	L=$(cat L) && W=$( [ $L = a ] && echo b || echo a ) &&
	n=$(mule -d $W.db status --json | json_get conflicts_at_peers) &&
	d=$(mktemp -d ./x.nul.XXXXXX) &&
	mule -d $L.db pack --to $W -o "$d/" --json >out &&
	json_true "v[\"conflict_notes\"] >= 1" <out &&
	mule -d $W.db unpack "$d"/*.mule >out &&
	test_grep out "^note: $L logged [0-9]+ conflicts? where a value from this site won" &&
	mule -d $W.db conflicts --peers --json >j &&
	json_true "len(v) > $n and [c[\"logged_by\"] for c in v if c[\"key\"] == \"2\"] == [\"$L\"]" <j
'

# ---- item 8: ASCII under LC_ALL=C ----

test_expect_success 'LC_ALL=C: pack, unpack, status, conflicts and errors are ASCII' '
	sqlite3 a.db "INSERT INTO k(id, v) SELECT value + 100, '"'bulk'"' FROM generate_series(1, 1500)" 2>/dev/null ||
	    python3 -c "import sqlite3; c = sqlite3.connect(\"a.db\"); c.executemany(\"INSERT INTO k(id, v) VALUES (?, ?)\", [(i + 100, \"bulk\") for i in range(1, 1501)]); c.commit()" &&
	mkdir c1 &&
	LC_ALL=C mule -d a.db pack --to b -o c1/ >p.out 2>p.err &&
	test_grep p.out "^packed 1500 changes in 1 table -> c1/" &&
	LC_ALL=C mule -d b.db unpack c1 >u.out 2>u.err &&
	test_grep u.out "1500 inserted" &&
	LC_ALL=C mule -d a.db status >s.out 2>s.err &&
	LC_ALL=C mule -d a.db conflicts >c.out 2>c.err &&
	test_expect_code 1 env LC_ALL=C mule -d a.db pack --to b -o c1/$(basename c1/*.mule) >e.out 2>e.err &&
	sqlite3 a.db "UPDATE k SET v = '"'parts'"' WHERE id = 1" &&
	mkdir pp &&
	LC_ALL=C mule -d a.db pack --to b -o pp/ --volume-size 1k >pp.out 2>pp.err &&
	LC_ALL=C mule -d b.db unpack --json pp >pj.out 2>pj.err &&
	head -1 pj.out | json_true "v[\"status\"] == \"applied\" and v[\"label\"].startswith(\"bundle \") and \"... (from \" in v[\"label\"]" &&
	ascii p.out p.err u.out u.err s.out s.err c.out c.err e.out e.err \
	    pp.out pp.err pj.out pj.err
'

test_expect_success 'under a UTF-8 locale the arrow and grouped thousands stay' '
	sqlite3 a.db "UPDATE k SET v = '"'bulk2'"' WHERE id > 100" &&
	mkdir c2 &&
	LC_ALL=C.UTF-8 mule -d a.db pack --to b -o c2/ >out &&
	test_grep out "^packed 1,500 changes in 1 table → c2/"
'

test_done
