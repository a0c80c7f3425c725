#!/bin/sh
# pack and unpack: round trips of every kind of table, key and value, in
# both directions; inspect, verify, --no-encrypt, --dry-run, replays,
# directories holding bundles for other sites, log and status.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# The project's own fixtures: every kind of key, awkward names.
cat >schema.sql <<'EOF'
CREATE TABLE ints(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
CREATE TABLE words(w TEXT PRIMARY KEY, meaning TEXT, n INTEGER);
CREATE TABLE pairs(x INTEGER, y TEXT, v REAL, PRIMARY KEY (x, y));
CREATE TABLE wr(k TEXT PRIMARY KEY, v, w INTEGER) WITHOUT ROWID;
CREATE TABLE "order items"("it's" TEXT PRIMARY KEY, "say ""hi""" TEXT, "a b" INTEGER);
CREATE TABLE "my ""quoted"" 'table'"("k ey" INTEGER, "k""2" TEXT, "v'v" TEXT, PRIMARY KEY ("k ey", "k""2"));
CREATE TABLE vals(id TEXT PRIMARY KEY, v);
EOF

cat >rows.sql <<'EOF'
INSERT INTO ints VALUES (1, 'one', 1), (2, 'two', 2), (3, NULL, 3), (100, 'hundred', -100);
INSERT INTO words VALUES ('apple', 'a fruit', 1), ('Äpfel', 'Früchte', 2), ('', 'the empty key', 3);
INSERT INTO pairs VALUES (1, 'a', 1.5), (1, 'b', 2.5), (2, 'a', -3.25), (-7, 'z', 0.1);
INSERT INTO wr VALUES ('k1', 'v1', 1), ('k2', x'00ff00', 2), ('k3', NULL, 3);
INSERT INTO "order items" VALUES ('bob''s order', 'he said "hi"', 1), ('plain', 'x', 2);
INSERT INTO "my ""quoted"" 'table'" VALUES (1, 'o''neil', 'a "b" c'), (1, 'x y', 'v'), (2, 'o''neil', NULL);
EOF

cat >edits.sql <<'EOF'
UPDATE ints SET v = 'uno' WHERE id = 1;
UPDATE ints SET n = NULL WHERE id = 2;
DELETE FROM ints WHERE id = 3;
INSERT INTO ints VALUES (4, 'four', 4);
UPDATE words SET meaning = 'still a fruit' WHERE w = 'apple';
DELETE FROM words WHERE w = '';
UPDATE pairs SET v = 9.75 WHERE x = 1 AND y = 'b';
DELETE FROM pairs WHERE x = -7;
UPDATE wr SET v = x'0102' WHERE k = 'k3';
DELETE FROM wr WHERE k = 'k1';
UPDATE "order items" SET "say ""hi""" = 'changed', "a b" = 22 WHERE "it's" = 'bob''s order';
DELETE FROM "order items" WHERE "it's" = 'plain';
UPDATE "my ""quoted"" 'table'" SET "v'v" = 'new' WHERE "k ey" = 1 AND "k""2" = 'x y';
DELETE FROM "my ""quoted"" 'table'" WHERE "k ey" = 2;
EOF

cat >edits-b.sql <<'EOF'
UPDATE ints SET v = 'one at b', n = 11 WHERE id = 1;
DELETE FROM ints WHERE id = 100;
INSERT INTO ints VALUES (200, 'from b', 200);
INSERT INTO words VALUES ('pear', 'from b', 5);
UPDATE pairs SET v = 0.5 WHERE x = 2;
INSERT INTO pairs VALUES (3, 'c', NULL);
INSERT INTO wr VALUES ('k9', 'b', 9);
UPDATE "order items" SET "a b" = NULL WHERE "it's" = 'bob''s order';
INSERT INTO "order items" VALUES ('it''s "b"', 'from b', 3);
INSERT INTO "my ""quoted"" 'table'" VALUES (3, 'b', 'b');
EOF

cat >values.py <<'EOF'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rnd = random.Random(20261122)
rows = [
    ("int-zero", 0), ("int-neg", -42), ("int-max", 2**63 - 1), ("int-min", -2**63),
    ("int-big-neg", -1234567890123), ("real-pi", 3.141592653589793),
    ("real-max", 1e308), ("real-negzero", -0.0), ("real-tiny", 5e-324),
    ("real-neg", -2.5e-10), ("real-whole", 2.0),
    ("text-empty", ""), ("text-unicode", "Grüße, 世界, ελληνικά, 🐫🐪"),
    ("text-newlines", "line one\nline two\r\nline three\n"),
    ("text-quotes", "it's \"quoted\" \\ back"), ("text-number", "42"),
    ("blob-empty", b""), ("blob-zeros", bytes(100)), ("blob-small", b"\x00\x01\xfe\xff"),
    ("blob-3mib", rnd.randbytes(3 * 1024 * 1024)),
    ("null", None),
]
db.executemany("INSERT INTO vals VALUES (?, ?)", rows)
db.commit()
EOF

test_expect_success 'setup: two sites with the fixture tables' '
	pair_with "$(cat schema.sql)" &&
	mule -d a.db status --json | json_true "len(v[\"tables\"]) == 7" &&
	mule -d b.db status --json | json_true "len(v[\"tables\"]) == 7"
'

test_expect_success 'inserts into every kind of table reach b' '
	sqlite3 a.db <rows.sql &&
	send a b &&
	test_grep send.out "applied .* from a: 19 inserted, 0 updated, 0 deleted, 0 conflicts" &&
	check_val b.db "SELECT count(*) FROM \"my \"\"quoted\"\" '"'"'table'"'"'\"" 3 &&
	test "$(sqlite3 b.db "SELECT \"say \"\"hi\"\"\" FROM \"order items\" WHERE \"it'"'"'s\" = '"'"'bob'"''"'s order'"'"'")" = "he said \"hi\"" &&
	db_same a.db b.db && exact_same a.db b.db
'

test_expect_success 'every storage class survives exactly (values written by python3)' '
	python3 values.py a.db &&
	send a b &&
	test_grep send.out "21 inserted" &&
	db_same a.db b.db && exact_same a.db b.db &&
	python3 -c "import sqlite3, math
c = sqlite3.connect(\"b.db\")
v = dict(c.execute(\"SELECT id, v FROM vals\"))
t = dict(c.execute(\"SELECT id, typeof(v) FROM vals\"))
assert v[\"int-max\"] == 2**63 - 1 and t[\"int-max\"] == \"integer\"
assert v[\"int-min\"] == -2**63
assert v[\"real-max\"] == 1e308 and t[\"real-max\"] == \"real\"
assert t[\"real-negzero\"] == \"real\" and math.copysign(1, v[\"real-negzero\"]) == -1
assert v[\"real-tiny\"] == 5e-324
assert t[\"real-whole\"] == \"real\" and t[\"text-number\"] == \"text\"
assert v[\"text-newlines\"] == \"line one\nline two\r\nline three\n\"
assert len(v[\"blob-3mib\"]) == 3 * 1024 * 1024 and t[\"blob-3mib\"] == \"blob\"
assert v[\"blob-empty\"] == b\"\" and t[\"blob-empty\"] == \"blob\"
assert v[\"null\"] is None and t[\"null\"] == \"null\"
"
'

test_expect_success 'updates and deletes made at a reach b' '
	sqlite3 a.db <edits.sql &&
	send a b &&
	test_grep send.out "from a: 1 inserted, [0-9]+ updated, 6 deleted, 0 conflicts" &&
	check_val b.db "SELECT v FROM ints WHERE id = 1" uno &&
	check_val b.db "SELECT count(*) FROM ints WHERE id = 3" 0 &&
	db_same a.db b.db && exact_same a.db b.db
'

test_expect_success 'inserts, updates and deletes made at b reach a' '
	sqlite3 b.db <edits-b.sql &&
	send b a &&
	test_grep send.out "from b: 6 inserted, [0-9]+ updated, 1 deleted, 0 conflicts" &&
	check_val a.db "SELECT v || n FROM ints WHERE id = 1" "one at b11" &&
	check_val a.db "SELECT count(*) FROM ints WHERE id = 100" 0 &&
	db_same a.db b.db && exact_same a.db b.db &&
	send a b && db_same a.db b.db && exact_same a.db b.db
'

test_expect_success 'python3 edits at b and sqlite3 edits at a cross in one round' '
	python3 -c "import sqlite3
c = sqlite3.connect(\"b.db\")
c.execute(\"UPDATE vals SET v = ? WHERE id = ?\", (-0.0, \"int-zero\"))
c.execute(\"UPDATE vals SET v = ? WHERE id = ?\", (bytes(range(256)) * 4096, \"blob-3mib\"))
c.execute(\"DELETE FROM vals WHERE id = ?\", (\"text-empty\",))
c.execute(\"INSERT INTO vals VALUES (?, ?)\", (\"py\", \"tab\there\"))
c.commit()" &&
	sqlite3 a.db "UPDATE words SET n = n + 1000; INSERT INTO wr VALUES (\"k-a\", 1.25, NULL)" &&
	send b a && send a b &&
	check_val a.db "SELECT length(v) FROM vals WHERE id = '"'"'blob-3mib'"'"'" 1048576 &&
	check_val b.db "SELECT n FROM words WHERE w = '"'"'apple'"'"'" 1001 &&
	db_same a.db b.db && exact_same a.db b.db
'

test_expect_success 'delete then re-insert of the same key between two scans' '
	sqlite3 a.db "DELETE FROM ints WHERE id = 2; DELETE FROM words WHERE w = '"'"'apple'"'"';
	    INSERT INTO ints VALUES (2, '"'"'two again'"'"', 22);
	    INSERT INTO words VALUES ('"'"'apple'"'"', '"'"'back'"'"', 7)" &&
	send a b &&
	check_val b.db "SELECT v || n FROM ints WHERE id = 2" "two again22" &&
	db_same a.db b.db && exact_same a.db b.db
'

test_expect_success 'delete, pack (lost), re-insert, pack: the later bundle alone is enough' '
	sqlite3 a.db "DELETE FROM ints WHERE id = 2; DELETE FROM wr WHERE k = '"'"'k2'"'"'" &&
	b1=$(packs a b) &&
	sqlite3 a.db "INSERT INTO ints VALUES (2, '"'"'third life'"'"', 33);
	    INSERT INTO wr VALUES ('"'"'k2'"'"', '"'"'back'"'"', 2)" &&
	b2=$(packs a b) &&
	mule -d b.db unpack "$b2" >out &&
	check_val b.db "SELECT v || n FROM ints WHERE id = 2" "third life33" &&
	db_same a.db b.db && exact_same a.db b.db &&
	mule -d b.db unpack "$b1" >out &&
	check_val b.db "SELECT v || n FROM ints WHERE id = 2" "third life33" &&
	check_val b.db "SELECT v FROM wr WHERE k = '"'"'k2'"'"'" back &&
	db_same a.db b.db && exact_same a.db b.db
'

test_expect_success 'delete, exchange, re-insert, exchange (both directions)' '
	sqlite3 a.db "DELETE FROM pairs WHERE x = 1 AND y = '"'"'a'"'"'" &&
	send a b &&
	check_val b.db "SELECT count(*) FROM pairs WHERE x = 1 AND y = '"'"'a'"'"'" 0 &&
	sqlite3 b.db "INSERT INTO pairs VALUES (1, '"'"'a'"'"', 111.5)" &&
	send b a &&
	check_val a.db "SELECT v FROM pairs WHERE x = 1 AND y = '"'"'a'"'"'" 111.5 &&
	sqlite3 a.db "DELETE FROM pairs WHERE x = 1 AND y = '"'"'a'"'"'" &&
	send a b &&
	check_val b.db "SELECT count(*) FROM pairs WHERE x = 1 AND y = '"'"'a'"'"'" 0 &&
	sqlite3 a.db "INSERT INTO pairs VALUES (1, '"'"'a'"'"', 3.5)" &&
	send a b &&
	check_val b.db "SELECT v FROM pairs WHERE x = 1 AND y = '"'"'a'"'"'" 3.5 &&
	db_same a.db b.db && exact_same a.db b.db &&
	send b a && db_same a.db b.db
'

test_expect_success 'a row deleted and re-created at a is not a conflict at b' '
	mule -d b.db conflicts --json | json_true "v == []" &&
	mule -d a.db conflicts --json | json_true "v == []"
'

if have_chinook; then
	test_expect_success 'Chinook: the whole database reaches an empty copy (pack --full)' '
		mkdir ch && cd ch &&
		setup_pair &&
		sqlite3 a.db <"$CHINOOK" &&
		sqlite3 plain.db <"$CHINOOK" &&
		sqlite3 plain.db .schema >s.sql &&
		sqlite3 b.db <s.sql &&
		mule -d a.db track --all >/dev/null 2>&1 &&
		mule -d b.db track --all >/dev/null 2>&1 &&
		mule -d a.db status --json | json_true "len(v[\"tables\"]) == 11" &&
		mule -d b.db status --json | json_true "len(v[\"tables\"]) == 11" &&
		mkdir full && mule -d a.db pack --to b --full -o full/ >/dev/null &&
		b=$(ls full/*.mule) &&
		mule -d b.db inspect --json "$b" >j &&
		json_true "sum(t[\"rows\"] for t in v[\"tables\"]) == 15607" <j &&
		mule -d b.db unpack "$b" >out &&
		test_grep out "15,?607 inserted" &&
		check_val b.db "SELECT count(*) FROM PlaylistTrack" 8715 &&
		db_same a.db b.db && exact_same a.db b.db
	'

	test_expect_success 'Chinook: edits at both ends flow back' '
		cd ch &&
		sqlite3 a.db "UPDATE Track SET UnitPrice = 1.29 WHERE AlbumId = 1;
		    DELETE FROM PlaylistTrack WHERE PlaylistId = 1 AND TrackId < 100;
		    INSERT INTO Artist (ArtistId, Name) VALUES (1000, '"'"'Ärzte, Die'"'"')" &&
		sqlite3 b.db "UPDATE Customer SET Email = lower(Email), Fax = NULL WHERE Country = '"'"'Brazil'"'"';
		    DELETE FROM PlaylistTrack WHERE PlaylistId = 8 AND TrackId > 3000;
		    INSERT INTO Genre (GenreId, Name) VALUES (100, '"'"'Field recordings'"'"');
		    INSERT INTO PlaylistTrack VALUES (18, 1), (18, 2)" &&
		send a b && send b a &&
		check_val a.db "SELECT Name FROM Genre WHERE GenreId = 100" "Field recordings" &&
		check_val b.db "SELECT Name FROM Artist WHERE ArtistId = 1000" "Ärzte, Die" &&
		check_val a.db "SELECT count(*) FROM PlaylistTrack WHERE PlaylistId = 18" 3 &&
		db_same a.db b.db && exact_same a.db b.db &&
		mule -d a.db conflicts --json | json_true "v == []" &&
		mule -d b.db conflicts --json | json_true "v == []"
	'
else
	test_skip 'Chinook: the whole database reaches an empty copy (pack --full)' "no $CHINOOK"
	test_skip 'Chinook: edits at both ends flow back' "no $CHINOOK"
fi

test_expect_success 'inspect --raw is a tar archive with MANIFEST and rows/' '
	sqlite3 a.db "UPDATE ints SET n = 5 WHERE id = 1" &&
	b=$(packs a b) &&
	mule -d b.db inspect --raw "$b" >raw &&
	bsdtar -tf - <raw >list &&
	test_grep list "^MANIFEST$" &&
	test_grep list "^rows/" &&
	mule -d b.db inspect --raw "$b" | zstd -dc | tar -tf - >list2 &&
	test_cmp list list2 &&
	bsdtar -xOf raw MANIFEST >manifest &&
	test -s manifest &&
	mule -d b.db unpack "$b" >/dev/null && db_same a.db b.db
'

test_expect_success 'inspect --json describes the bundle' '
	sqlite3 a.db "UPDATE ints SET n = 6 WHERE id = 1; DELETE FROM ints WHERE id = 4;
	    INSERT INTO words VALUES ('"'"'fig'"'"', '"'"'f'"'"', 1)" &&
	b=$(packs a b) &&
	mule -d b.db inspect --json "$b" >j &&
	json_true "v[\"from\"] == \"a\" and v[\"encrypted\"] is True" <j &&
	json_true "{t[\"name\"]: (t[\"rows\"], t[\"deleted\"]) for t in v[\"tables\"]} == {\"ints\": (2, 1), \"words\": (1, 0)}" <j &&
	mule -d b.db inspect "$b" >txt &&
	test_grep txt "^from +a " &&
	mule -d b.db unpack "$b" >/dev/null && db_same a.db b.db
'

test_expect_success 'an unencrypted bundle is still verified and applied' '
	sqlite3 a.db "UPDATE ints SET v = '"'"'plain text'"'"' WHERE id = 1" &&
	mkdir ne && mule -d a.db pack --to b --no-encrypt -o ne/ >out &&
	b=$(ls ne/*.mule) &&
	mule -d b.db verify "$b" >out && test_grep out "good signature from a" &&
	mule -d b.db inspect --json "$b" | json_true "v[\"encrypted\"] is False" &&
	mule -d b.db unpack "$b" >out &&
	test_grep out "from a: 0 inserted, 1 updated" &&
	db_same a.db b.db
'

test_expect_success '--dry-run reports and changes nothing' '
	sqlite3 a.db "UPDATE ints SET v = '"'"'dry'"'"' WHERE id = 1; INSERT INTO ints VALUES (7, '"'"'seven'"'"', 7)" &&
	b=$(packs a b) &&
	s=$(file_sum b.db) &&
	mule -d b.db unpack --dry-run "$b" >out &&
	test_grep out "would apply: 1 inserted, 1 updated" &&
	test "$(file_sum b.db)" = "$s" &&
	mule -d b.db log >log &&
	! grep -q "$(basename "$b")" log &&
	mule -d b.db unpack "$b" >out &&
	test_grep out "applied .*: 1 inserted, 1 updated" &&
	db_same a.db b.db
'

test_expect_success 'the same bundle twice: already applied, exit 0, unchanged' '
	sqlite3 a.db "UPDATE ints SET v = '"'"'twice'"'"' WHERE id = 1" &&
	b=$(packs a b) &&
	mule -d b.db unpack "$b" >/dev/null &&
	s=$(file_sum b.db) && d=$(db_dump b.db | sha256sum) &&
	mule -d b.db unpack "$b" >out &&
	test_grep out "already applied" &&
	test "$(file_sum b.db)" = "$s" &&
	cp "$b" copy.mule &&
	mule -d b.db unpack copy.mule >out &&
	test_grep out "already applied" &&
	test "$(file_sum b.db)" = "$s" &&
	test "$(db_dump b.db | sha256sum)" = "$d"
'

test_expect_success 'an edit at b is not undone by replaying an old bundle' '
	b=$(ls x.a-b.*/*.mule | head -1) &&
	sqlite3 b.db "UPDATE ints SET v = '"'"'b after replay'"'"' WHERE id = 1" &&
	mule -d b.db unpack "$b" >out &&
	test_grep out "already applied" &&
	check_val b.db "SELECT v FROM ints WHERE id = 1" "b after replay" &&
	sync_ab
'

test_expect_success 'unpack DIR applies bundles for this site, skips the others' '
	add_site c &&
	sqlite3 a.db "INSERT INTO ints VALUES (300, '"'"'for all'"'"', 3)" &&
	mkdir usb &&
	mule -d a.db pack --to c -o usb/ >/dev/null &&
	mule -d a.db pack --to b -o usb/ >/dev/null &&
	mule -d b.db pack --to c -o usb/ >/dev/null &&
	ls usb >list && test "$(wc -l <list)" = 3 &&
	mule -d b.db unpack usb/ >out &&
	test_grep out "applied .*a-b-[0-9]+\.mule from a" &&
	test_grep out "skipped 2 bundles" &&
	db_same a.db b.db &&
	mule -d c.db unpack usb/ >out &&
	test_grep out "skipped 1 bundle" &&
	db_same a.db c.db &&
	mule -d b.db unpack usb/ >out &&
	test_grep out "applied before" &&
	db_same a.db b.db && db_same b.db c.db
'

test_expect_success 'log lists bundles sent and received' '
	mule -d a.db log >log &&
	test_grep log "sent +b +#1 " &&
	test_grep log "recv +b " &&
	test_grep log "sent +c " &&
	mule -d b.db log --json >j &&
	json_true "[e[\"seq\"] for e in v if e[\"dir\"] == \"sent\" and e[\"peer\"] == \"a\"] == list(range(1, 1 + len([e for e in v if e[\"dir\"] == \"sent\" and e[\"peer\"] == \"a\"])))" <j &&
	json_true "any(e[\"dir\"] == \"recv\" and e[\"peer\"] == \"a\" and e[\"file\"].endswith(\".mule\") and \"inserted\" in e[\"summary\"] for e in v)" <j &&
	json_true "any(e[\"dir\"] == \"sent\" and e[\"peer\"] == \"c\" for e in v)" <j &&
	json_true "not any(e[\"dir\"] == \"recv\" and e[\"peer\"] == \"c\" for e in v)" <j &&
	mule -d c.db log >log &&
	test_grep log "recv +a " && test_grep log "recv +b "
'

test_expect_success 'status --json shows unrecorded changes after an edit' '
	sync_ab &&
	mule -d a.db status --json >j &&
	json_true "all(t[\"inserted\"] == t[\"updated\"] == t[\"deleted\"] == 0 for t in v[\"tables\"])" <j &&
	sqlite3 a.db "INSERT INTO ints VALUES (500, '"'"'new'"'"', 5), (501, '"'"'new'"'"', 5);
	    UPDATE words SET n = -1 WHERE w = '"'"'fig'"'"'; DELETE FROM wr WHERE k = '"'"'k2'"'"'" &&
	s=$(file_sum a.db) &&
	mule -d a.db status --json >j &&
	json_true "{t[\"name\"]: (t[\"inserted\"], t[\"updated\"], t[\"deleted\"]) for t in v[\"tables\"] if t[\"inserted\"] or t[\"updated\"] or t[\"deleted\"]} == {\"ints\": (2, 0, 0), \"words\": (0, 1, 0), \"wr\": (0, 0, 1)}" <j &&
	test "$(file_sum a.db)" = "$s" &&
	mule -d a.db status >txt &&
	test_grep txt "ints +unrecorded: 2 new" &&
	send a b && db_same a.db b.db &&
	mule -d a.db status --json | json_true "all(t[\"inserted\"] == t[\"updated\"] == t[\"deleted\"] == 0 for t in v[\"tables\"])"
'

test_done
