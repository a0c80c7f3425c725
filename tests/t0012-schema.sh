#!/bin/sh
# Schema changes travel in bundles (docs/design.md §9, issue 4): changes made
# at a with the sqlite3 CLI reach b (same fingerprint, same data), a 6-version
# history whose install and upgrade scripts give exactly each version's
# fingerprint, identify, and the refusals (drift, independent changes, a
# migration failing midway) leaving the database byte-for-byte unchanged.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

SCHEMA="CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n INT);
CREATE TABLE \"odd table\"(k1 TEXT, k2 INT, v REAL, PRIMARY KEY(k1, k2));
CREATE INDEX t_n ON t(n);"

# accepts A B: A runs B's schema changes (peer setting schema accept; the
# default, review, is tested in t0020-authority.sh).
accepts() { mule -d "$1.db" peer set "$2" schema accept >/dev/null; }

# sendv FROM TO: like send, keeping pack's output in pack.out.
sendv() {
	_d=$(mktemp -d ./x.XXXXXX) &&
	mule -d "$1.db" pack --to "$2" -o "$_d/" >pack.out &&
	mule -d "$2.db" unpack "$_d"/*.mule >send.out
}
# packv FROM TO: packs only; pack's output in pack.out.
packv() {
	_d=$(mktemp -d ./x.XXXXXX) &&
	mule -d "$1.db" pack --to "$2" -o "$_d/" >pack.out
}

# fpr DB: the live schema fingerprint.
fpr() { mule -d "$1" schema status --json | json_py 'v["live"]'; }
# same_schema: a and b are at the same version with the same fingerprint,
# with nothing unrecorded, and their tracked tables hold the same rows.
same_schema() {
	mule -d a.db schema status --json >sa.json &&
	mule -d b.db schema status --json >sb.json &&
	json_true 'not v["unrecorded"]' <sa.json &&
	json_true 'not v["unrecorded"]' <sb.json &&
	test "$(json_py 'v["fingerprint"]' <sa.json)" = \
	    "$(json_py 'v["fingerprint"]' <sb.json)" &&
	test "$(json_py 'v["version"]' <sa.json)" = \
	    "$(json_py 'v["version"]' <sb.json)" &&
	db_same a.db b.db
}

cat >rows.sql <<'EOF'
INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3);
INSERT INTO "odd table" VALUES ('x', 1, 1.5), ('y', 2, 2.5);
EOF

test_expect_success 'setup: a and b with the same tables; version 1 at track' '
	pair_with "$SCHEMA" && accepts a b && accepts b a &&
	sqlite3 a.db <rows.sql &&
	sync_ab &&
	mule -d a.db schema log >log.out &&
	test_grep log.out "^ *1 .*generated" &&
	test "$(fpr a.db)" = "$(fpr b.db)" &&
	same_schema
'

test_expect_success 'ADD COLUMN at a, filled in: b gets the column and the data' '
	sqlite3 a.db "ALTER TABLE t ADD COLUMN note TEXT DEFAULT '"'"'none'"'"';
	    UPDATE t SET note = '"'"'first'"'"' WHERE id = 1" &&
	mule -d a.db schema diff >diff.out &&
	test_grep diff.out "ADD COLUMN note" &&
	send a b &&
	test_grep send.out "0 conflicts.*1 migration" &&
	same_schema &&
	test "$(sqlite3 b.db "SELECT note FROM t WHERE id = 1")" = first &&
	test "$(sqlite3 b.db "SELECT note FROM t WHERE id = 2")" = none
'

test_expect_success 'the new column edited at b flows back to a' '
	sqlite3 b.db "UPDATE t SET note = '"'"'from b'"'"' WHERE id = 2" &&
	send b a &&
	test_grep send.out "1 updated, 0 deleted, 0 conflicts" &&
	test "$(sqlite3 a.db "SELECT note FROM t WHERE id = 2")" = "from b" &&
	same_schema
'

test_expect_success 'the migration itself is not sent back as changes' '
	packv b a &&
	test_grep pack.out "^packed 0 changes"
'

test_expect_success 'DROP COLUMN at a reaches b' '
	sqlite3 a.db "ALTER TABLE t DROP COLUMN n" 2>&1 | grep -q "index" &&
	sqlite3 a.db "DROP INDEX t_n; ALTER TABLE t DROP COLUMN n" &&
	send a b &&
	same_schema &&
	test "$(sqlite3 b.db "SELECT count(*) FROM pragma_table_info('"'"'t'"'"') WHERE name = '"'"'n'"'"'")" = 0
'

cat >ivt.sql <<'EOF'
CREATE INDEX t_name ON t(name);
CREATE VIEW t_notes AS SELECT id, note FROM t WHERE note IS NOT NULL;
CREATE TABLE audit(id INTEGER PRIMARY KEY, what TEXT);
CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
  INSERT INTO audit(what) VALUES ('insert ' || new.id);
END;
EOF
test_expect_success 'CREATE TABLE, INDEX, VIEW and TRIGGER at a reach b; new table tracked' '
	sqlite3 a.db <ivt.sql &&
	mule -d a.db schema diff >diff.out &&
	test_grep diff.out "CREATE TABLE IF NOT EXISTS audit" &&
	test_grep diff.out "CREATE TRIGGER IF NOT EXISTS t_ins" &&
	mule -d a.db status --json | json_true "v[\"schema_unrecorded\"]" &&
	sendv a b &&
	mule -d a.db status --json | json_true "not v[\"schema_unrecorded\"]" &&
	test_grep pack.out "new table audit is now tracked" &&
	same_schema &&
	sqlite3 b.db "INSERT INTO t(id, name) VALUES (10, '"'"'ten'"'"')" &&
	test "$(sqlite3 b.db "SELECT what FROM audit")" = "insert 10" &&
	sync_ab && same_schema
'

test_expect_success 'DROP INDEX, VIEW, TRIGGER and TABLE at a reach b' '
	sqlite3 a.db "DROP INDEX t_name; DROP VIEW t_notes; DROP TRIGGER t_ins;
	    DROP TABLE audit" &&
	send a b &&
	same_schema &&
	test "$(sqlite3 b.db "SELECT count(*) FROM sqlite_schema WHERE
	    name IN ('"'"'t_name'"'"', '"'"'t_notes'"'"', '"'"'t_ins'"'"', '"'"'audit'"'"')")" = 0
'

cat >rebuild.sql <<'EOF'
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE t_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', note TEXT DEFAULT 'none', score REAL);
INSERT INTO t_new(id, name, note) SELECT id, coalesce(name, ''), note FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
COMMIT;
EOF
test_expect_success 'a change ALTER cannot make (constraint, new column order) is a rebuild' '
	sqlite3 a.db <rebuild.sql &&
	mule -d a.db schema diff >diff.out &&
	test_grep diff.out "INSERT INTO" &&
	test_grep diff.out "RENAME TO" &&
	test_grep diff.out "foreign_key_check" &&
	send a b &&
	same_schema &&
	sqlite3 b.db "UPDATE t SET score = 9.5 WHERE id = 3" &&
	send b a &&
	test "$(sqlite3 a.db "SELECT score FROM t WHERE id = 3")" = 9.5 &&
	same_schema
'

test_expect_success 'a rebuild with an untracked table whose trigger names the table' '
	mkdir lt && cd lt &&
	pair_with "$SCHEMA" && accepts a b && accepts b a &&
	sqlite3 a.db <../rows.sql && sync_ab &&
	for s in a b; do
		sqlite3 $s.db "CREATE TABLE local_only(x, y);
		    CREATE TRIGGER lo AFTER INSERT ON local_only BEGIN
		    INSERT INTO t(id, name) VALUES (new.x, '"'"'lo'"'"'); END;" || return 1
	done &&
	sqlite3 a.db "PRAGMA legacy_alter_table = ON;
	    CREATE TABLE t2(id INTEGER PRIMARY KEY, flag INT NOT NULL DEFAULT 0, name TEXT, n INT);
	    INSERT INTO t2(id, name, n) SELECT id, name, n FROM t;
	    DROP TABLE t; ALTER TABLE t2 RENAME TO t; CREATE INDEX t_n ON t(n)" &&
	send a b &&
	same_schema &&
	sqlite3 b.db "INSERT INTO local_only VALUES (99, 0)" &&
	test "$(sqlite3 b.db "SELECT name FROM t WHERE id = 99")" = lo
'

cat >pk.sql <<'EOF'
CREATE TABLE o_new(k1 TEXT PRIMARY KEY, k2 INT, v TEXT);
INSERT INTO o_new SELECT k1, k2, v FROM "odd table";
DROP TABLE "odd table";
ALTER TABLE o_new RENAME TO "odd table";
EOF
test_expect_success 'a new primary key and a column type: rebuild, state starts over' '
	sqlite3 a.db <pk.sql &&
	sendv a b &&
	same_schema &&
	sqlite3 b.db "UPDATE \"odd table\" SET v = '"'"'changed'"'"' WHERE k1 = '"'"'x'"'"'" &&
	send b a &&
	test "$(sqlite3 a.db "SELECT v FROM \"odd table\" WHERE k1 = '"'"'x'"'"'")" = changed &&
	same_schema
'

cat >rename.sql <<'EOF'
ALTER TABLE t RENAME COLUMN name TO title;
UPDATE t SET title = upper(title);
EOF
test_expect_success 'schema record: a hand-written migration runs verbatim at b' '
	mule -d a.db schema record rename.sql >rec.out &&
	test_grep rec.out "recorded rename.sql as schema version" &&
	mule -d a.db schema log >log.out &&
	test_grep log.out "hand-written" &&
	send a b &&
	same_schema &&
	test "$(sqlite3 b.db "SELECT title FROM t WHERE id = 1")" = ONE &&
	packv a b && test_grep pack.out "^packed 0 changes"
'

test_expect_success 'schema record: a failing script changes nothing' '
	sum=$(file_sum a.db) &&
	echo "ALTER TABLE nosuch ADD COLUMN x;" >bad.sql &&
	test_must_fail mule -d a.db schema record bad.sql 2>err &&
	test_grep err "^mule: .*no such table" &&
	test "$(file_sum a.db)" = "$sum"
'

test_expect_success 'schema record: no transaction control, ATTACH or mule tables' '
	sum=$(file_sum a.db) &&
	for q in "COMMIT;" "ATTACH '"'"'x.db'"'"' AS x;" \
	    "PRAGMA writable_schema = 1;" "DELETE FROM _mule_peers;"; do
		printf "CREATE TABLE zz(a PRIMARY KEY);\n%s\n" "$q" >bad.sql &&
		test_must_fail mule -d a.db schema record bad.sql 2>err &&
		test_grep err "^mule: .*a migration may not use" || return 1
	done &&
	test "$(file_sum a.db)" = "$sum" && ! test -f x.db
'

test_expect_success 'untrack at a: b stops tracking the table too; both keep it' '
	mule -d a.db untrack "odd table" >/dev/null &&
	mule -d a.db schema diff >diff.out &&
	test_grep diff.out "^-- mule: untrack \"odd table\"" &&
	sendv a b &&
	same_schema &&
	test "$(sqlite3 b.db "SELECT count(*) FROM _mule_tables WHERE name = '"'"'odd table'"'"'")" = 0 &&
	test "$(sqlite3 b.db "SELECT count(*) FROM \"odd table\"")" = 2 &&
	packv a b && ! grep -q "now tracked" pack.out
'

test_expect_success 'upgrade across a hand-written step runs it verbatim' '
	v=$(mule -d a.db schema status --json | json_py "v[\"version\"]") &&
	mule -d a.db schema upgrade 1 $v >up.sql &&
	test_grep up.sql "^-- mule: hand-written step [0-9]+, verbatim" &&
	test_grep up.sql "RENAME COLUMN name TO title" &&
	rm -f p.db && mule -d a.db schema install 1 >inst.sql &&
	sqlite3 p.db <inst.sql && sqlite3 p.db <up.sql &&
	mule -d a.db schema identify p.db --json | json_true "v[\"version\"] == $v"
'

test_expect_success 'a site without tables gets them, and the rows, from version 1' '
	mkdir empty && cd empty &&
	setup_pair && accepts a b && accepts b a &&
	sqlite3 a.db "$SCHEMA" && sqlite3 a.db <../rows.sql &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	send a b &&
	test_grep send.out "5 inserted.*1 migration" &&
	same_schema
'

test_expect_success 'relay: b passes every version on to a new site c' '
	mule init c.db --name c >/dev/null &&
	mule -d b.db peer add c "$(mule -d c.db id --json | json_get key)" >/dev/null &&
	mule -d c.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null &&
	accepts c b &&
	send b c &&
	test "$(fpr c.db)" = "$(fpr a.db)" &&
	mule -d c.db schema log >logc.out && mule -d a.db schema log >loga.out &&
	test "$(wc -l <logc.out)" = "$(wc -l <loga.out)" &&
	test "$(sqlite3 c.db "SELECT title FROM t WHERE id = 1")" = ONE &&
	sqlite3 a.db "SELECT * FROM t ORDER BY id" >ta.out &&
	sqlite3 c.db "SELECT * FROM t ORDER BY id" >tc.out &&
	test_cmp ta.out tc.out
'

# ---- a 6-version history: install and upgrade for every pair ----

cat >h2.sql <<'EOF'
ALTER TABLE item ADD COLUMN colour TEXT;
CREATE INDEX item_colour ON item(colour);
EOF
cat >h3.sql <<'EOF'
CREATE VIEW red AS SELECT * FROM item WHERE colour = 'red';
CREATE TABLE log(id INTEGER PRIMARY KEY, msg TEXT);
CREATE TRIGGER item_log AFTER UPDATE ON item BEGIN
  INSERT INTO log(msg) VALUES ('upd');
END;
EOF
cat >h4.sql <<'EOF'
CREATE TABLE item_new(id INTEGER PRIMARY KEY, label TEXT NOT NULL, price REAL CHECK (price >= 0), colour TEXT);
INSERT INTO item_new SELECT id, label, price, colour FROM item;
DROP VIEW red;
DROP TABLE item;
ALTER TABLE item_new RENAME TO item;
CREATE INDEX item_colour ON item(colour);
CREATE VIEW red AS SELECT * FROM item WHERE colour = 'red';
CREATE TRIGGER item_log AFTER UPDATE ON item BEGIN
  INSERT INTO log(msg) VALUES ('upd');
END;
EOF
cat >h5.sql <<'EOF'
DROP VIEW red;
DROP INDEX item_colour;
ALTER TABLE item DROP COLUMN colour;
CREATE INDEX item_label ON item(label);
EOF
cat >h6.sql <<'EOF'
DROP TRIGGER item_log;
CREATE TRIGGER item_log AFTER DELETE ON item BEGIN
  INSERT INTO log(msg) VALUES ('del ' || old.id);
END;
CREATE VIEW cheap AS SELECT label FROM item WHERE price < 10;
EOF

test_expect_success 'history: six versions recorded by pack at h' '
	mkdir hist && cd hist &&
	setup_pair && accepts a b && accepts b a &&
	mv a.db h.db && mv a.db.mule-key h.db.mule-key &&
	sqlite3 h.db "CREATE TABLE item(id INTEGER PRIMARY KEY, label TEXT, price REAL);
	    INSERT INTO item VALUES (1, '"'"'pen'"'"', 1.5), (2, '"'"'ink'"'"', 12)" &&
	mule -d h.db track --all >/dev/null 2>&1 &&
	cp h.db v1.db &&
	for v in 2 3 4 5 6; do
		sqlite3 h.db <../h$v.sql &&
		mule -d h.db pack --to b -o . >pack$v.out &&
		test_grep pack$v.out "recorded schema changes as version $v" &&
		cp h.db v$v.db || return 1
	done &&
	mule -d h.db schema log >log.out &&
	test "$(grep -c generated log.out)" = 6
'

test_expect_success 'history: identify knows a copy of every version' '
	cd hist &&
	for v in 1 2 3 4 5 6; do
		mule -d h.db schema identify v$v.db --json >id.json &&
		json_true "v[\"version\"] == $v" <id.json || return 1
	done
'

test_expect_success 'history: install V on an empty database gives version V' '
	cd hist &&
	for v in 1 2 3 4 5 6; do
		mule -d h.db schema install $v >inst$v.sql &&
		rm -f e$v.db && sqlite3 e$v.db <inst$v.sql &&
		mule -d h.db schema identify e$v.db --json >id.json &&
		json_true "v[\"version\"] == $v" <id.json || return 1
	done
'

test_expect_success 'history: upgrade I J on a copy at I gives exactly J, every I < J' '
	cd hist &&
	for i in 1 2 3 4 5; do
		for j in 2 3 4 5 6; do
			test $i -lt $j || continue
			cp e$i.db u.db &&
			mule -d h.db schema upgrade $i $j >up.sql &&
			sqlite3 u.db <up.sql &&
			mule -d h.db schema identify u.db --json >id.json &&
			json_true "v[\"version\"] == $j" <id.json || {
				echo "upgrade $i $j failed"; return 1; }
		done
	done
'

test_expect_success 'history: objects made and dropped in between do not appear' '
	cd hist &&
	mule -d h.db schema upgrade 1 5 >up.sql &&
	! grep -i colour up.sql &&
	! grep -i "VIEW red" up.sql &&
	test_grep up.sql "item_label"
'

test_expect_success 'history: upgrade works on data, not only on the schema' '
	cd hist &&
	cp e1.db d.db &&
	sqlite3 d.db "INSERT INTO item VALUES (2, '"'"'ink'"'"', 12)" &&
	mule -d h.db schema upgrade 1 6 >up.sql &&
	sqlite3 d.db <up.sql &&
	test "$(sqlite3 d.db "SELECT label FROM item WHERE id = 2")" = ink &&
	mule -d h.db schema identify d.db --json | json_true "v[\"version\"] == 6"
'

test_expect_success 'identify: a hand-altered copy is unknown, with the closest version' '
	cd hist &&
	cp v4.db alt.db &&
	sqlite3 alt.db "CREATE INDEX item_price ON item(price)" &&
	mule -d h.db schema identify alt.db >id.out &&
	test_grep id.out "unknown schema" &&
	test_grep id.out "closest: version 4" &&
	mule -d h.db schema identify alt.db --json |
	    json_true "v[\"version\"] is None and v[\"closest\"] == 4"
'

test_expect_success 'identify: whitespace, quoting and keyword case do not matter' '
	cd hist &&
	rm -f q.db &&
	sqlite3 q.db "create   table \"item\" ( [id] integer primary key,
	    \`label\` text, price real ) ; insert into item values (1, '"'"'x'"'"', 2)" &&
	mule -d h.db schema identify q.db --json | json_true "v[\"version\"] == 1"
'

# ---- refusals: nothing applied, bundle left in place ----

test_expect_success 'refusal: the receiver schema drifted from what the bundle expects' '
	mkdir drift && cd drift &&
	pair_with "$SCHEMA" && accepts a b && accepts b a &&
	sqlite3 a.db <../rows.sql && sync_ab &&
	sqlite3 a.db "ALTER TABLE t ADD COLUMN c1 TEXT" &&
	bundle=$(packs a b) &&
	sqlite3 b.db "ALTER TABLE t ADD COLUMN mine INT" &&
	sum=$(file_sum b.db) &&
	test_must_fail mule -d b.db unpack "$bundle" 2>err &&
	test_grep err "^mule: .*drifted" &&
	test_grep err "[0-9a-f]{16}….*[0-9a-f]{16}…" &&
	test "$(file_sum b.db)" = "$sum" &&
	test -f "$bundle"
'

test_expect_success 'refusal: two sites changed the schema independently' '
	mkdir indep && cd indep &&
	pair_with "$SCHEMA" && accepts a b && accepts b a &&
	sqlite3 a.db <../rows.sql && sync_ab &&
	sqlite3 a.db "ALTER TABLE t ADD COLUMN at_a TEXT" &&
	sqlite3 b.db "CREATE INDEX t_name ON t(name)" &&
	packs b a >/dev/null &&
	bundle=$(packs a b) &&
	sum=$(file_sum b.db) &&
	test_must_fail mule -d b.db unpack "$bundle" 2>err &&
	test_grep err "^mule: .*changed the schema independently" &&
	test_grep err "version 2 is [0-9a-f]{16}… here but [0-9a-f]{16}…" &&
	test_grep err "schema forget 1" &&
	test "$(file_sum b.db)" = "$sum" &&
	test -f "$bundle" &&
	echo "$bundle" >bundle.path
'

test_expect_success 'after independent changes: undo at b, forget, then it applies' '
	cd indep && bundle=$(cat bundle.path) &&
	sum=$(file_sum b.db) &&
	test_must_fail mule -d b.db schema forget 1 2>err &&
	test_grep err "^mule: the live schema .* is not version 1" &&
	test "$(file_sum b.db)" = "$sum" &&
	sqlite3 b.db "DROP INDEX t_name" &&
	mule -d b.db schema forget 1 >out &&
	test_grep out "forgot 1 schema version" &&
	mule -d b.db unpack "$bundle" >out &&
	test_grep out "1 migration" &&
	sync_ab && same_schema
'

test_expect_success 'refusal: sites set up with different schemas' '
	mkdir differ && cd differ &&
	setup_pair && accepts a b && accepts b a &&
	sqlite3 a.db "$SCHEMA" &&
	sqlite3 b.db "$SCHEMA CREATE INDEX t_name ON t(name);" &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1 &&
	sqlite3 a.db <../rows.sql &&
	bundle=$(packs a b) &&
	sum=$(file_sum b.db) &&
	test_must_fail mule -d b.db unpack "$bundle" 2>err &&
	test_grep err "^mule: .*started from different schemas: version 1 is [0-9a-f]{16}… here but [0-9a-f]{16}…" &&
	test "$(file_sum b.db)" = "$sum"
'

test_expect_success 'peers with a schema of their own: data flows, schema steps do not' '
	cd differ &&
	test_must_fail mule -d b.db peer set a schema sometimes 2>err &&
	test_grep err "accept, review, refuse or separate" &&
	mule -d b.db peer set a schema separate >/dev/null &&
	mule -d a.db peer set b schema separate >/dev/null &&
	mule -d b.db unpack x.a-b.*/a-b-0001.mule >out &&
	test "$(sqlite3 b.db "SELECT count(*) FROM t")" = "$(sqlite3 a.db "SELECT count(*) FROM t")" &&
	sqlite3 a.db "ALTER TABLE t ADD COLUMN extra TEXT" &&
	mule -d a.db pack --to b -o next.mule >pack.out &&
	test_grep pack.out "recorded schema changes" &&
	! test_grep pack.out "migration" 2>/dev/null &&
	mule -d b.db unpack next.mule >out &&
	test "$(sqlite3 b.db "SELECT count(*) FROM pragma_table_info(\"t\") WHERE name = \"extra\"")" = 0 &&
	test "$(sqlite3 b.db "SELECT count(*) FROM sqlite_schema WHERE name = \"t_name\"")" = 1
'

test_expect_success 'refusal: a migration failing midway (NOT NULL, no default, rows at b)' '
	mkdir midway && cd midway &&
	pair_with "$SCHEMA" && accepts a b && accepts b a && sync_ab &&
	sqlite3 b.db "INSERT INTO t VALUES (7, '"'"'only at b'"'"', 7)" &&
	sqlite3 a.db "CREATE TABLE t_new(id INTEGER PRIMARY KEY, name TEXT, n INT, must TEXT NOT NULL);
	    DROP TABLE t; ALTER TABLE t_new RENAME TO t; CREATE INDEX t_n ON t(n)" &&
	bundle=$(packs a b) &&
	sum=$(file_sum b.db) &&
	test_must_fail mule -d b.db unpack "$bundle" 2>err &&
	test_grep err "^mule: .*migration to schema version 2 failed here" &&
	test_grep err "NOT NULL" &&
	test_grep err "the schema stays [0-9a-f]{16}…, the sender.s is [0-9a-f]{16}…" &&
	test "$(file_sum b.db)" = "$sum" &&
	test -f "$bundle" &&
	test "$(sqlite3 b.db "SELECT name FROM t WHERE id = 7")" = "only at b"
'

test_expect_success 'a bundle from a site still at the older schema applies' '
	mkdir older && cd older &&
	pair_with "$SCHEMA" && accepts a b && accepts b a &&
	sqlite3 a.db <../rows.sql && sync_ab &&
	sqlite3 a.db "ALTER TABLE t ADD COLUMN extra TEXT" &&
	packv a b && mv "$_d" froma &&
	sqlite3 b.db "UPDATE t SET name = '"'"'TWO'"'"' WHERE id = 2" &&
	send b a &&
	test "$(sqlite3 a.db "SELECT name FROM t WHERE id = 2")" = TWO &&
	mule -d b.db unpack froma >/dev/null &&
	sync_ab && same_schema
'

test_expect_success 'rows in a layout with a column dropped here: refused, then --full' '
	mkdir dropped && cd dropped &&
	pair_with "$SCHEMA" && accepts a b && accepts b a &&
	sqlite3 a.db <../rows.sql && sync_ab &&
	sqlite3 a.db "DROP INDEX t_n; ALTER TABLE t DROP COLUMN n" &&
	packv a b && mv "$_d" froma &&
	sqlite3 b.db "UPDATE t SET n = 20, name = '"'"'deux'"'"' WHERE id = 2" &&
	bundle=$(packs b a) &&
	sum=$(file_sum a.db) &&
	test_must_fail mule -d a.db unpack "$bundle" 2>err &&
	test_grep err "lacks; the schemas differ .*schema version 1, this database at 2" &&
	test "$(file_sum a.db)" = "$sum" &&
	mule -d b.db unpack froma >/dev/null &&
	d=$(mktemp -d ./x.XXXXXX) &&
	mule -d b.db pack --to a --full -o "$d/" >/dev/null &&
	mule -d a.db unpack "$d" >/dev/null &&
	test "$(sqlite3 a.db "SELECT name FROM t WHERE id = 2")" = deux &&
	sync_ab && same_schema
'

test_expect_success 'schema commands: usage errors and unknown versions' '
	test_expect_code 2 mule -d a.db schema 2>/dev/null &&
	test_expect_code 2 mule -d a.db schema upgrade 3 2 2>/dev/null &&
	test_expect_code 2 mule -d a.db schema install x 2>/dev/null &&
	test_must_fail mule -d a.db schema install 99 2>err &&
	test_grep err "^mule: no schema version 99" &&
	mule schema --help >help.out && test_grep help.out "identify DBFILE"
'

test_done
