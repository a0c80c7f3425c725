#!/bin/sh
# The trust boundary around a peer's migration (docs/design.md §14, issue
# 13 items 1, 2 and 5): a trusted peer a, its laptop stolen, records
# hand-written migrations with the normal `mule schema record` and packs
# them for b.  b refuses each bundle with a message naming what the
# migration tried, and b's database stays byte-for-byte what it was.
# Both track `visits`; b keeps data in an untracked table `secret` (a has
# one too, empty, so that its own `schema record` can run the script).
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# pair_in DIR SQL TABLE: sites a and b that trust each other, in a new
# directory DIR (the caller's subshell moves there), both with SQL run and
# TABLE tracked; b runs a's schema changes (peer setting schema accept):
# what is tried here is what even such a peer cannot do.
pair_in() {
	mkdir "$1" && cd "$1" && setup_pair &&
	mule -d b.db peer set a schema accept >/dev/null &&
	for _s in a b; do
		sqlite3 $_s.db "$2" &&
		mule -d $_s.db track "$3" >/dev/null 2>&1 || return 1
	done
}

# attack NAME [SETUP]: a fresh pair in directory NAME; the attacker's
# migration is NAME.sql (in the test's directory); SETUP, when given, runs
# after the pair's first exchange (a setting at b, say); b's dump goes
# to NAME/before, the refused unpack's messages to NAME/err.
attack() {
	pair_in "$1" "CREATE TABLE visits(id INTEGER PRIMARY KEY,
	    district TEXT, phone TEXT);
	    INSERT INTO visits VALUES (1, 'north', '555-0101'),
	    (2, 'south', '555-0102');" visits &&
	sqlite3 a.db "CREATE TABLE secret(s TEXT)" &&
	sqlite3 b.db "CREATE TABLE secret(s TEXT);
	    INSERT INTO secret VALUES ('the password');" &&
	send a b && send b a &&
	{ [ -z "${2-}" ] || eval "$2"; } &&
	mule -d a.db schema record "../$1.sql" >record.out &&
	_b=$(packs a b) &&
	full_dump b.db >before &&
	test_must_fail mule -d b.db unpack "$_b" >out 2>err
}

# full_dump DB: every table, mule's own too, and the schema, as SQL.
full_dump() { sqlite3 "$1" .dump; }

# unchanged: b's database is what it was before the unpack.
unchanged() {
	full_dump b.db >after &&
	test_cmp before after &&
	test "$(sqlite3 b.db "SELECT count(*) FROM _mule_peers")" = 1
}

cat >trig-mule.sql <<'EOF'
CREATE TRIGGER evil AFTER UPDATE ON visits BEGIN
  INSERT OR REPLACE INTO _mule_config(key, value) VALUES ('mail.smtp', 'smtp://attacker');
END;
EOF
test_expect_success 'a trigger whose body writes mule tables is refused' '
	(attack trig-mule && unchanged &&
	test_grep err "names .?_mule_config.?, which a peer.s migration may not reach")
'

cat >trig-secret.sql <<'EOF'
CREATE TRIGGER leak AFTER INSERT ON visits BEGIN
  UPDATE visits SET phone = (SELECT group_concat(s) FROM secret) WHERE id = new.id;
END;
EOF
test_expect_success 'a trigger whose body reads an untracked table is refused' '
	(attack trig-secret && unchanged &&
	test_grep err "names .secret., which this site does not share")
'

cat >trig-upper.sql <<'EOF'
CREATE TRIGGER evil2 AFTER DELETE ON visits BEGIN
  DELETE FROM "_MULE_BUNDLES";
END;
EOF
test_expect_success 'mule tables in upper case are mule tables' '
	(attack trig-upper && unchanged &&
	test_grep err "names ._mule_bundles.")
'

cat >seq.sql <<'EOF'
CREATE TABLE counters(id INTEGER PRIMARY KEY AUTOINCREMENT, n INT);
INSERT INTO counters(n) VALUES (1);
DELETE FROM sqlite_sequence;
EOF
test_expect_success 'SQLite'"'"'s counters of other tables are not a peer'"'"'s to reset' '
	(attack seq && unchanged &&
	test_grep err "may not write table .sqlite_sequence.")
'

cat >temp-trig.sql <<'EOF'
CREATE TEMP TRIGGER t1 AFTER INSERT ON main.visits BEGIN
  DELETE FROM visits;
END;
EOF
test_expect_success 'a TEMP trigger is refused' '
	(attack temp-trig && unchanged &&
	test_grep err "may not create temporary objects")
'

cat >rename.sql <<'EOF'
CREATE TABLE x(peer TEXT, tbl TEXT, shared INT, filter TEXT, colmode INT);
ALTER TABLE x RENAME TO _mule_shares;
EOF
test_expect_success 'a table renamed into mule names is refused' '
	(attack rename && unchanged &&
	test_grep err "changed mule.s or SQLite.s own tables")
'

cat >wipe.sql <<'EOF'
DROP TABLE secret;
EOF
test_expect_success 'dropping an untracked table is refused' '
	(attack wipe && unchanged &&
	test_grep err "may not write table .secret.")
'

cat >read-secret.sql <<'EOF'
UPDATE visits SET phone = (SELECT s FROM secret LIMIT 1);
EOF
test_expect_success 'reading an untracked table is refused' '
	(attack read-secret && unchanged &&
	test_grep err "may not read table .secret.")
'

cat >claim.sql <<'EOF'
CREATE TABLE IF NOT EXISTS secret(s TEXT);
DELETE FROM secret;
EOF
test_expect_success 'CREATE TABLE IF NOT EXISTS does not hand an untracked table to the peer' '
	(attack claim && unchanged &&
	test_grep err "may not take table .secret., which this site does not track")
'

cat >blob.sql <<'EOF'
UPDATE visits SET phone = hex(randomblob(40000000)) WHERE id = 1;
UPDATE visits SET phone = '555-0101' WHERE id = 1;
EOF
test_expect_success 'a migration over the memory budget is refused' '
	(attack blob "mule -d b.db config migration.max-memory 33554432" &&
	unchanged &&
	test_grep err "more memory than migration.max-memory allows")
'

cat >slow.sql <<'EOF'
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000)
SELECT count(*) FROM c WHERE x < 0;
EOF
test_expect_success 'a migration over the time budget is refused' '
	(attack slow "mule -d b.db config migration.max-seconds 1" &&
	unchanged &&
	test_grep err "ran longer than migration.max-seconds allows")
'

cat >fine.sql <<'EOF'
CREATE TABLE notes(id INTEGER PRIMARY KEY, visit INT, body TEXT);
CREATE TRIGGER note_visit AFTER INSERT ON visits BEGIN
  INSERT INTO notes(visit, body) VALUES (new.id, 'new visit');
END;
CREATE VIEW north AS SELECT * FROM visits WHERE district = 'north';
CREATE TABLE readings(id INTEGER PRIMARY KEY, temp REAL);
CREATE TABLE tally(id INTEGER PRIMARY KEY AUTOINCREMENT, n INT);
CREATE TRIGGER clamp AFTER INSERT ON readings BEGIN
  UPDATE readings SET temp = NULL WHERE id = new.id AND new.temp < -90;
END;
EOF
test_expect_success 'a migration within the boundary still applies (a column named temp, an AUTOINCREMENT table)' '
	(pair_in fine "CREATE TABLE visits(id INTEGER PRIMARY KEY,
		    district TEXT, phone TEXT)" visits &&
	sqlite3 b.db "CREATE TABLE secret(s TEXT)" &&
	send a b &&
	mule -d a.db schema record ../fine.sql >record.out &&
	send a b &&
	test_grep send.out "1 migration" &&
	test "$(sqlite3 b.db "SELECT count(*) FROM sqlite_schema WHERE name IN
	    ('"'"'notes'"'"', '"'"'note_visit'"'"', '"'"'north'"'"',
	    '"'"'clamp'"'"', '"'"'tally'"'"')")" = 5)
'

# mode FILE: its permission bits, in octal.
mode() { stat -c %a "$1"; }

test_expect_success 'bundles, parts and images honour the umask; plaintext is private' '
	(mkdir modes && cd modes && setup_pair &&
	sqlite3 a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	    INSERT INTO t VALUES (1, hex(randomblob(3000)))" &&
	mule -d a.db track t >/dev/null 2>&1 &&
	mkdir o1 o2 o3 o4 &&
	(umask 022 && mule -d a.db pack --to b -o o1/ >/dev/null) &&
	test "$(mode o1/*.mule)" = 644 &&
	(umask 077 && mule -d a.db pack --to b --full -o o2/ >/dev/null &&
	    mule -d a.db pack --to b --full -o o3/ --volume-size 64k \
	    --parity 1 >/dev/null) &&
	test "$(mode o2/*.mule)" = 600 &&
	for p in o3/*; do test "$(mode "$p")" = 600 || exit 1; done &&
	(umask 022 && mule -d a.db pack --to b --full --no-encrypt \
	    -o o4/ >/dev/null) &&
	test "$(mode o4/*.mule)" = 600)
'

test_expect_success 'the spool is never a symbolic link' '
	(pair_in spool "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)" t &&
	sqlite3 a.db "INSERT INTO t VALUES (1, hex(randomblob(30000)))" &&
	mkdir parts elsewhere &&
	mule -d a.db pack --to b -o parts/ --volume-size 16k >/dev/null &&
	ln -s elsewhere b.db.mule-spool &&
	full_dump b.db >before &&
	test_must_fail mule -d b.db unpack "$(ls parts/* | head -1)" \
	    >out 2>err &&
	test_grep err "b.db.mule-spool is a symbolic link" &&
	test "$(ls -A elsewhere)" = "" &&
	full_dump b.db >after && test_cmp before after &&
	rm b.db.mule-spool &&
	mule -d b.db unpack parts/ >out &&
	test "$(sqlite3 b.db "SELECT count(*) FROM t")" = 1)
'

test_expect_success 'a peer does not decide what this site tracks' '
	(pair_in tracks "CREATE TABLE visits(id INTEGER PRIMARY KEY, v TEXT);
		    CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)" visits &&
	sqlite3 b.db "INSERT INTO notes VALUES (1, '"'"'local, untracked'"'"')" &&
	send a b && send b a &&
	mule -d a.db track notes >/dev/null 2>&1 &&
	sqlite3 a.db "INSERT INTO notes VALUES (1, '"'"'from a'"'"')" &&
	_b=$(packs a b) &&
	full_dump b.db >before &&
	test_must_fail mule -d b.db unpack "$_b" >out 2>err &&
	test_grep err "table .notes., which this site does not track" &&
	test_grep err "mule track notes" &&
	test "$(sqlite3 b.db "SELECT body FROM notes")" = "local, untracked" &&
	full_dump b.db >after && test_cmp before after &&
	mule -d b.db config tables.accept-new yes &&
	sqlite3 b.db "INSERT OR REPLACE INTO _mule_config VALUES
	    ('"'"'untracked:notes'"'"', '"'"'1'"'"')" &&
	test_must_fail mule -d b.db unpack "$_b" 2>err2 &&
	test_grep err2 "does not track" &&
	mule -d b.db track notes >/dev/null 2>&1 &&
	mule -d b.db unpack "$_b" >out3 &&
	test "$(sqlite3 b.db "SELECT count(*) FROM notes")" = 1 &&
	mule -d b.db conflicts --json | json_true "len(v) == 1")
'

test_expect_success 'rows for a table not tracked here are refused too (a peer with a schema of its own)' '
	(pair_in separate "CREATE TABLE visits(id INTEGER PRIMARY KEY, v TEXT);
		    CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)" visits &&
	sqlite3 b.db "INSERT INTO notes VALUES (1, '"'"'local, untracked'"'"')" &&
	mule -d b.db peer set a schema separate >/dev/null &&
	send a b &&
	mule -d a.db track notes >/dev/null 2>&1 &&
	sqlite3 a.db "INSERT INTO notes VALUES (1, '"'"'from a'"'"')" &&
	_b=$(packs a b) &&
	full_dump b.db >before &&
	test_must_fail mule -d b.db unpack "$_b" >out 2>err &&
	test_grep err "bundle from a has changes for table .notes., which this site does not track" &&
	test_grep err "mule track notes" &&
	full_dump b.db >after && test_cmp before after)
'

test_expect_success 'tables.accept-new yes tracks a table never tracked here' '
	(pair_in accept "CREATE TABLE visits(id INTEGER PRIMARY KEY, v TEXT);
		    CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)" visits &&
	send a b && send b a &&
	mule -d a.db track notes >/dev/null 2>&1 &&
	sqlite3 a.db "INSERT INTO notes VALUES (1, '"'"'from a'"'"')" &&
	test_must_fail mule -d b.db config tables.accept-new maybe 2>err &&
	mule -d b.db config tables.accept-new yes &&
	send a b &&
	test "$(sqlite3 b.db "SELECT body FROM notes")" = "from a")
'

test_expect_success 'a share filter reads only the row'"'"'s own columns: no subquery, no load_extension' '
	(mkdir filters && cd filters && setup_pair &&
	sqlite3 a.db "CREATE TABLE visits(id INTEGER PRIMARY KEY,
	    district TEXT, phone TEXT)" &&
	mule -d a.db track visits >/dev/null 2>&1 &&
	full_dump a.db >before &&
	test_must_fail mule -d a.db share b visits --where \
	    "district = (SELECT district FROM visits WHERE id = 1)" 2>err1 &&
	test_grep err1 "only read the row.s own columns \(no subqueries\)" &&
	test_must_fail mule -d a.db share b visits --where \
	    "load_extension('"'"'/tmp/x'"'"') IS NULL" 2>err2 &&
	test_grep err2 "may not call load_extension" &&
	full_dump a.db >after && test_cmp before after &&
	mule -d a.db share b visits --where "district = '"'"'north'"'"'" >/dev/null)
'

test_done
