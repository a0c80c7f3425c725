#!/bin/sh
# Opt-in trigger capture (mule track --triggers): triggers note the keys an
# application writes, the scan visits only those, and writes that bypass
# the triggers are still found (row count check, triggers found missing,
# the periodic full scan).  The application's writes never fail because
# of the triggers.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# fpr DB: the live schema fingerprint.
fpr() { mule -d "$1" schema status --json | json_py 'v["live"]'; }
# capture_objs DB: mule's capture triggers and dirty tables, by name.
capture_objs() {
	sqlite3 "$1" "SELECT name FROM sqlite_schema WHERE name LIKE
	    '\_mule\_cap\_%' ESCAPE '\' OR name LIKE '\_mule\_dirty\_%' ESCAPE '\'
	    ORDER BY name"
}
# tid DB TABLE: the tracked table's number (its capture objects carry it).
tid() { sqlite3 "$1" "SELECT tid FROM _mule_tables WHERE name = '$2'"; }
# app DB SQL...: an application writing through python's sqlite3 module.
app() {
	python3 - "$@" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
for s in sys.argv[2:]:
    db.execute(s)
db.close()
EOF
}

test_expect_success 'setup: a pair, a keyed by integer and by two columns' '
	pair_with "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);
	    CREATE TABLE c(a TEXT, b INTEGER, v, PRIMARY KEY(a, b)) WITHOUT ROWID;
	    CREATE TABLE u(id TEXT PRIMARY KEY, code TEXT UNIQUE)" &&
	sqlite3 a.db "INSERT INTO k VALUES (1, '"'one'"'), (2, '"'two'"');
	    INSERT INTO c VALUES ('"'x'"', 1, 10)" &&
	sync_ab &&
	fpr a.db >fpr.before
'

test_expect_success 'track --triggers adds the triggers; the fingerprint stays' '
	K=$(tid a.db k) && C=$(tid a.db c) && U=$(tid a.db u) &&
	echo "K=$K C=$C U=$U" >tids &&
	mule -d a.db track --triggers k c u >out &&
	test_grep out "^k: changes captured by triggers" &&
	test_grep out "^c: changes captured by triggers" &&
	capture_objs a.db >objs &&
	test "$(grep -c "^_mule_cap_" objs)" = 9 &&
	test "$(grep -c "^_mule_dirty_[0-9]*$" objs)" = 3 &&
	fpr a.db >fpr.after &&
	test_cmp fpr.before fpr.after &&
	mule -d a.db schema status >out &&
	! grep -q unrecorded out &&
	mule -d a.db status >out &&
	test_grep out "^  k +capture: triggers \\(next scan reads the whole table: triggers just added\\)" &&
	mule -d a.db track --triggers k >out &&
	test_grep out "^k has triggers already" &&
	mule -d a.db status --json | json_true "all(t[\"capture\"] == \"triggers\" for t in v[\"tables\"])"
'

test_expect_success 'a write before the triggers existed is found by the first scan' '
	sqlite3 b.db "UPDATE k SET v = '"'b-two'"' WHERE id = 2" &&
	mule -d b.db track --triggers k >/dev/null &&
	send b a && test "$(val a.db "SELECT v FROM k WHERE id = 2")" = b-two &&
	send a b && db_same a.db b.db
'

test_expect_success 'triggers capture inserts, updates, deletes and key changes' '
	sqlite3 a.db "INSERT INTO k VALUES (9, '"'nine'"')" &&
	send a b &&
	mule -d a.db status >out &&
	test_grep out "^  k +capture: triggers$" &&
	app a.db "INSERT INTO k VALUES (3, '"'three'"')" \
	    "UPDATE k SET v = '"'uno'"' WHERE id = 1" \
	    "UPDATE k SET id = 20 WHERE id = 2" \
	    "INSERT INTO c VALUES ('"'y'"', 2, 20)" \
	    "UPDATE c SET b = 5 WHERE a = '"'x'"'" \
	    "DELETE FROM c WHERE a = '"'y'"'" &&
	. ./tids &&
	test "$(sqlite3 a.db "SELECT group_concat(k0, '"','"') FROM (SELECT DISTINCT k0 FROM _mule_dirty_$K ORDER BY k0)")" = "1,2,3,20" &&
	mule -d a.db status >out &&
	test_grep out "k +unrecorded: 2 new, 1 changed, 1 deleted" &&
	test_grep out "c +unrecorded: 1 new, 0 changed, 1 deleted" &&
	test_grep out "^  k +capture: triggers$" &&
	send a b && test_grep send.out "applied" &&
	db_same a.db b.db &&
	test "$(val b.db "SELECT v FROM k WHERE id = 20")" = b-two &&
	test "$(val b.db "SELECT count(*) FROM k WHERE id = 2")" = 0 &&
	test "$(val b.db "SELECT b FROM c WHERE a = '"'x'"'")" = 5 &&
	test "$(sqlite3 a.db "SELECT count(*) FROM _mule_dirty_$K")" = 0
'

test_expect_success 'changes applied from a peer are not sent back as edits' '
	sqlite3 b.db "UPDATE k SET v = '"'from-b'"' WHERE id = 3" &&
	send b a &&
	mule -d a.db status --all >out &&
	test_grep out "k +no unrecorded changes" &&
	send a b && db_same a.db b.db
'

test_expect_success 'application writes never fail because of the triggers' '
	app a.db "PRAGMA recursive_triggers = ON" \
	    "INSERT OR ROLLBACK INTO k VALUES (30, '"'a'"')" \
	    "DELETE FROM k WHERE id = 30" \
	    "INSERT OR ABORT INTO k VALUES (30, '"'b'"')" \
	    "UPDATE OR FAIL k SET v = '"'c'"' WHERE id = 30" \
	    "INSERT OR REPLACE INTO k VALUES (30, '"'d'"')" \
	    "INSERT INTO k VALUES (30, '"'e'"') ON CONFLICT(id) DO UPDATE SET v = excluded.v" \
	    "INSERT INTO u VALUES ('"'p'"', '"'P'"')" \
	    "INSERT OR REPLACE INTO u VALUES ('"'q'"', '"'P'"')" &&
	test "$(val a.db "SELECT v FROM k WHERE id = 30")" = e &&
	test "$(val a.db "SELECT group_concat(id) FROM u")" = q &&
	send a b && db_same a.db b.db
'

test_expect_success 'a reader of the dirty table does not stop a writer (WAL)' '
	. ./tids &&
	sqlite3 a.db "PRAGMA journal_mode = WAL" >/dev/null &&
	python3 - a.db <<-EOF &&
	import sqlite3, sys
	r = sqlite3.connect(sys.argv[1], isolation_level=None)
	w = sqlite3.connect(sys.argv[1], isolation_level=None)
	r.execute("BEGIN")
	r.execute("SELECT * FROM _mule_dirty_$K").fetchall()
	w.execute("INSERT INTO k VALUES (40, 40)")
	r.execute("COMMIT")
	EOF
	sqlite3 a.db "PRAGMA journal_mode = DELETE" >/dev/null &&
	send a b && db_same a.db b.db
'

test_expect_success 'an insert or delete past the triggers is found (row count)' '
	sqlite3 a.db ".dbconfig enable_trigger off" \
	    "INSERT INTO k VALUES (50, '"'hidden'"')" \
	    "DELETE FROM c WHERE a = '"'x'"'" &&
	. ./tids &&
	test "$(sqlite3 a.db "SELECT count(*) FROM _mule_dirty_$K")" = 0 &&
	mule -d a.db status >out &&
	test_grep out "k +unrecorded: 1 new" &&
	test_grep out "^  k +capture: triggers \\(next scan reads the whole table: rows written past the triggers\\)" &&
	test_grep out "c +unrecorded: 0 new, 0 changed, 1 deleted" &&
	send a b && db_same a.db b.db &&
	test "$(val b.db "SELECT v FROM k WHERE id = 50")" = hidden
'

# (mule cannot ship a row whose key holds NULL, with or without triggers;
# here the row goes before the scan records it.)
test_expect_success 'a key holding NULL sends the table to a full scan' '
	app a.db "INSERT INTO u VALUES (NULL, '"'nul'"')" &&
	mule -d a.db status >out &&
	test_grep out "^  u +capture: triggers \\(next scan reads the whole table: a key holds NULL\\)" &&
	app a.db "DELETE FROM u WHERE id IS NULL" &&
	send a b && db_same a.db b.db
'

test_expect_success 'an update past the triggers waits for the periodic full scan' '
	mule -d a.db config scan.full-every 3 &&
	mule -d a.db track --no-triggers k >/dev/null &&
	mule -d a.db track --triggers k >/dev/null &&
	sqlite3 a.db "INSERT INTO k VALUES (60, '"'tick'"')" &&
	send a b &&
	sqlite3 a.db ".dbconfig enable_trigger off" \
	    "UPDATE k SET v = '"'sneaky'"' WHERE id = 1" &&
	for n in 1 2; do
		sqlite3 a.db "INSERT INTO k VALUES (60 + $n, '"'tick'"')" &&
		send a b &&
		test "$(val b.db "SELECT v FROM k WHERE id = 6$n")" = tick &&
		test "$(val b.db "SELECT v FROM k WHERE id = 1")" = uno || return 1
	done &&
	mule -d a.db status >out &&
	test_grep out "^  k +capture: triggers \\(next scan reads the whole table: periodic \\(scan.full-every\\)\\)" &&
	sqlite3 a.db "INSERT INTO k VALUES (63, '"'tick'"')" &&
	send a b &&
	test "$(val b.db "SELECT v FROM k WHERE id = 1")" = sneaky &&
	db_same a.db b.db
'

test_expect_success 'triggers dropped by an application: found, put back, full scan' '
	. ./tids && send a b &&
	sqlite3 a.db "DROP TRIGGER _mule_cap_${K}_u" &&
	mule -d a.db status >out &&
	test_grep out "^  k +capture: triggers \\(next scan reads the whole table: its triggers were missing or changed\\)" &&
	app a.db "UPDATE k SET v = '"'untracked-upd'"' WHERE id = 3" &&
	send a b &&
	test "$(val b.db "SELECT v FROM k WHERE id = 3")" = untracked-upd &&
	capture_objs a.db >objs && grep -q "^_mule_cap_${K}_u$" objs &&
	mule -d a.db status >out &&
	test_grep out "^  k +capture: triggers$" &&
	db_same a.db b.db
'

test_expect_success 'a changed trigger is not trusted: it is made again' '
	. ./tids &&
	sqlite3 a.db "DROP TRIGGER _mule_cap_${K}_i;
	    CREATE TRIGGER _mule_cap_${K}_i AFTER INSERT ON k BEGIN SELECT 1; END;
	    INSERT INTO k VALUES (70, '"'lost-by-trigger'"')" &&
	send a b &&
	test "$(val b.db "SELECT v FROM k WHERE id = 70")" = lost-by-trigger &&
	sqlite3 a.db ".schema k" >sql &&
	test_grep sql "TRIGGER _mule_cap_${K}_i AFTER INSERT ON \"k\" BEGIN INSERT INTO _mule_dirty_$K"
'

test_expect_success 'a peer'"'"'s migration that writes a table with triggers runs' '
	cat >mig.sql <<-EOF &&
	UPDATE k SET v = upper(v) WHERE id = 3;
	ALTER TABLE k ADD COLUMN note TEXT DEFAULT '"'n'"';
	EOF
	mule -d a.db peer set b schema accept >/dev/null &&
	mule -d b.db schema record mig.sql >rec.out &&
	send b a &&
	test "$(val a.db "SELECT v || note FROM k WHERE id = 3")" = UNTRACKED-UPDn &&
	mule -d a.db status >out &&
	test_grep out "^  k +capture: triggers" &&
	sqlite3 a.db "UPDATE k SET note = '"'a'"' WHERE id = 9" &&
	send a b && send b a &&
	test "$(val b.db "SELECT note FROM k WHERE id = 9")" = a &&
	db_same a.db b.db
'

test_expect_success 'a migration may not make a trigger with a _mule_ name' '
	cat >bad.sql <<-EOF &&
	CREATE TRIGGER _mule_cap_99_i AFTER INSERT ON k BEGIN SELECT 1; END;
	EOF
	sqlite3 b.db .dump >before &&
	test_expect_code 1 mule -d b.db schema record bad.sql 2>err &&
	test_grep err "the script failed, nothing was changed: a migration may not use .*mule.s own tables" &&
	sqlite3 b.db .dump >after && test_cmp before after
'

test_expect_success 'refusals: untracked or missing table, bad scan.full-every' '
	sqlite3 a.db "CREATE TABLE loose(id INTEGER PRIMARY KEY, v)" &&
	sqlite3 a.db .dump >before &&
	test_expect_code 1 mule -d a.db track --no-triggers loose 2>err &&
	test_grep err "table '"'loose'"' is not tracked \\(see '"'mule track'"'\\)" &&
	test_expect_code 1 mule -d a.db track --triggers nosuch 2>err &&
	test_grep err "no table named '"'nosuch'"'" &&
	test_expect_code 2 mule -d a.db track --triggers --no-triggers k 2>err &&
	test_grep err "usage: mule track" &&
	test_expect_code 2 mule -d a.db config scan.full-every often 2>err &&
	test_grep err "scan.full-every is a whole number of scans" &&
	sqlite3 a.db .dump >after && test_cmp before after &&
	sqlite3 a.db "DROP TABLE loose"
'

test_expect_success '--no-triggers removes them; full scans again' '
	fpr a.db >fpr.before &&
	mule -d a.db track --no-triggers c >out &&
	test_grep out "^c: triggers removed" &&
	. ./tids && capture_objs a.db >objs &&
	! grep -q "_${C}_\\|_$C\$" objs && grep -q "^_mule_cap_${K}_i$" objs &&
	fpr a.db >fpr.after && test_cmp fpr.before fpr.after &&
	mule -d a.db status --json | json_true "[t[\"capture\"] for t in v[\"tables\"]] == [\"scan\", \"triggers\", \"triggers\"]" &&
	sqlite3 a.db "INSERT INTO c VALUES ('"'z'"', 9, 9)" &&
	send a b && db_same a.db b.db
'

test_expect_success 'untrack removes them' '
	mule -d a.db untrack k >/dev/null &&
	. ./tids && capture_objs a.db >objs &&
	! grep -q "_${K}_\\|_$K\$" objs &&
	app a.db "INSERT INTO k(id, v) VALUES (99, '"'free'"')" &&
	mule -d a.db track --no-triggers --all >out &&
	test_grep out "^u: triggers removed" &&
	test -z "$(capture_objs a.db)"
'

test_expect_success 'WAL mode: status says scans read tables whole, and names trigger capture' '
	mule -d a.db status >out &&
	! test_grep out "WAL mode" &&
	mule -d a.db status --json | json_true "v[\"wal\"] is False" &&
	test "$(sqlite3 b.db "PRAGMA journal_mode=WAL")" = wal &&
	mule -d b.db track --no-triggers --all >/dev/null &&
	mule -d b.db status >out &&
	test_grep out "^  database in WAL mode: every pack and unpack reads every table whole$" &&
	test_grep out "mule track --triggers --all$" &&
	mule -d b.db status --json | json_true "v[\"wal\"] is True" &&
	mule -d b.db track --triggers k >/dev/null &&
	mule -d b.db status >out &&
	test_grep out "reads the tables not in trigger capture whole$" &&
	test_grep out "mule track --triggers TABLE...$" &&
	mule -d b.db track --triggers --all >/dev/null &&
	mule -d b.db status >out &&
	! test_grep out "WAL mode"
'

test_expect_success 'WAL mode: an application write is found and goes out' '
	app b.db "INSERT INTO c VALUES ('"'"'wal'"'"', 1, 1)" &&
	mule -d b.db status --json | json_true "[t for t in v[\"tables\"] if t[\"name\"] == \"c\"][0][\"inserted\"] == 1" &&
	send b a &&
	test "$(sqlite3 a.db "SELECT * FROM c ORDER BY a, b")" = \
	    "$(sqlite3 b.db "SELECT * FROM c ORDER BY a, b")" &&
	test "$(sqlite3 a.db "SELECT v FROM c WHERE a = '"'"'wal'"'"'")" = 1
'

test_done
