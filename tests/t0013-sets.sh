#!/bin/sh
# Sync sets (issue 8): per peer and table a row filter and a column mask;
# rows leaving a set removed at the peer (unless edited there); a column
# masked by its owner absent from every bundle byte and never overwritten
# when the row comes back; receiving-side maps; refusals.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

SCHEMA="CREATE TABLE visits(id INTEGER PRIMARY KEY, district TEXT NOT NULL,
	patient TEXT, notes TEXT, phone TEXT)"

# mksite NAME SQL: a replica NAME.db with the tables of SQL, tracked.
mksite() {
	mule init "$1.db" --name "$1" >/dev/null &&
	sqlite3 "$1.db" "$2" &&
	mule -d "$1.db" track --all >/dev/null 2>&1
}

# trust A B: A and B trust each other.
trust() {
	mule -d "$1.db" peer add "$2" "$(mule -d "$2.db" id --json | json_get key)" >/dev/null &&
	mule -d "$2.db" peer add "$1" "$(mule -d "$1.db" id --json | json_get key)" >/dev/null
}

# raw BUNDLE DB: the decrypted inner archive's members, concatenated.
raw() {
	mule -d "$2" inspect --raw "$1" | bsdtar -xOf - 2>/dev/null
}

# ids DB: the visit ids of DB, one line.
ids() { sqlite3 "$1" "SELECT group_concat(id, ',') FROM (SELECT id FROM visits ORDER BY id)"; }

test_expect_success 'setup: hq with clinics north and south, filtered by district' '
	mksite hq "$SCHEMA" && mksite north "$SCHEMA" && mksite south "$SCHEMA" &&
	trust hq north && trust hq south &&
	mule -d north.db peer set hq schema accept >/dev/null &&
	mule -d south.db peer set hq schema accept >/dev/null &&
	mule -d hq.db share north visits --where "district = '"'"'north'"'"'" >out &&
	test_grep out "takes effect at the next" &&
	mule -d hq.db share south visits --where "district = '"'"'south'"'"'" >/dev/null &&
	sqlite3 hq.db "INSERT INTO visits VALUES
	    (1, '"'"'north'"'"', '"'"'Ann'"'"', '"'"'flu'"'"', NULL),
	    (2, '"'"'south'"'"', '"'"'Bob'"'"', '"'"'cut'"'"', NULL),
	    (3, '"'"'north'"'"', '"'"'Cem'"'"', '"'"'rash'"'"', NULL)"
'

test_expect_success 'share --list and status show the set' '
	mule -d hq.db share north --list >out &&
	test_grep out "visits: rows where district = .north.; every column" &&
	mule -d hq.db share north --list --json | json_true "v[\"set\"] and v[\"tables\"][0][\"where\"] == \"district = '"'"'north'"'"'\"" &&
	mule -d hq.db status >out &&
	test_grep out "sync set: .*north gets only these tables" &&
	mule -d hq.db status --json | json_true "[p[\"sync_set\"][\"set\"] for p in v[\"peers\"]] == [True, True]" &&
	mule -d north.db share hq --list >out &&
	test_grep out "no sync set: it gets every tracked table in full"
'

test_expect_success 'each clinic receives only its rows; others are not in the bytes' '
	bn=$(packs hq north) && bs=$(packs hq south) &&
	mule -d north.db inspect --json "$bn" |
	    json_true "[t[\"name\"] for t in v[\"tables\"]] == [\"visits\"]" &&
	raw "$bn" north.db >north.raw && raw "$bs" south.db >south.raw &&
	grep -q Ann north.raw && grep -q Cem north.raw && ! grep -q Bob north.raw &&
	grep -q Bob south.raw && ! grep -q Ann south.raw && ! grep -q Cem south.raw &&
	mule -d north.db unpack "$bn" >/dev/null && mule -d south.db unpack "$bs" >/dev/null &&
	test "$(ids north.db)" = "1,3" && test "$(ids south.db)" = "2" &&
	check_val north.db "SELECT patient || notes FROM visits WHERE id = 3" Cemrash
'

test_expect_success 'several recipients with a sync set: refused, nothing changed' '
	refuses 1 hq.db "pack for north alone" mule -d hq.db pack --to north,south -o x.mule &&
	! test -e x.mule
'

test_expect_success 'a table outside the set sends nothing, not even keys' '
	sqlite3 hq.db "CREATE TABLE salaries(name TEXT PRIMARY KEY, amount INTEGER);
	    INSERT INTO salaries VALUES ('"'"'zed'"'"', 100)" &&
	mule -d hq.db track salaries >/dev/null 2>&1 &&
	b=$(packs hq south) &&
	mule -d south.db inspect --json "$b" |
	    json_true "all(\"salaries\" not in t[\"name\"] for t in v[\"tables\"])" &&
	raw "$b" south.db >sal.raw && ! grep -q zed sal.raw &&
	mule -d south.db unpack "$b" >/dev/null &&
	mule -d hq.db untrack salaries >/dev/null
'

test_expect_success 'a row moved to the other district leaves north and reaches south in full' '
	sqlite3 hq.db "UPDATE visits SET district = '"'"'south'"'"' WHERE id = 3" &&
	send hq north && test_grep send.out "1 removed .left the set hq shares." &&
	send hq south &&
	test "$(ids north.db)" = "1" && test "$(ids south.db)" = "2,3" &&
	check_val south.db "SELECT patient || notes || district FROM visits WHERE id = 3" Cemrashsouth &&
	mule -d north.db conflicts --json | json_true "len(v) == 0"
'

test_expect_success 'a removal because of leaving the set is no deletion: it does not travel back' '
	send north hq && send south hq &&
	test "$(ids hq.db)" = "1,2,3" && test "$(ids south.db)" = "2,3" &&
	send hq south && test "$(ids south.db)" = "2,3"
'

test_expect_success 'a deletion goes only where the row went' '
	sqlite3 hq.db "INSERT INTO visits VALUES (5, '"'"'south'"'"', '"'"'Ivy'"'"', '"'"'fever'"'"', NULL)" &&
	send hq south && send hq north &&
	test "$(ids south.db)" = "2,3,5" && test "$(ids north.db)" = "1" &&
	sqlite3 hq.db "DELETE FROM visits WHERE id = 5" &&
	bn=$(packs hq north) &&
	mule -d north.db inspect --json "$bn" | json_true "v[\"tables\"] == []" &&
	mule -d north.db unpack "$bn" >/dev/null &&
	send hq south && test_grep send.out "1 deleted" && test "$(ids south.db)" = "2,3"
'

test_expect_success 'north keeps phone numbers: its set for hq leaves out the column' '
	mule -d north.db share hq visits --exclude phone >/dev/null &&
	sqlite3 north.db "INSERT INTO visits VALUES
	    (10, '"'"'north'"'"', '"'"'Dee'"'"', '"'"'cough'"'"', '"'"'555-0101'"'"'),
	    (11, '"'"'north'"'"', '"'"'Eve'"'"', '"'"'burn'"'"', '"'"'555-0202'"'"')" &&
	b=$(packs north hq) && raw "$b" hq.db >toh.raw &&
	grep -q Dee toh.raw && grep -q Eve toh.raw &&
	! grep -q 555-0 toh.raw && ! grep -q phone toh.raw &&
	! grep -q 555-0 "$b" &&
	mule -d hq.db unpack "$b" >/dev/null &&
	check_val hq.db "SELECT count(*) FROM visits WHERE id IN (10, 11) AND phone IS NULL" 2 &&
	check_val hq.db "SELECT patient FROM visits WHERE id = 10" Dee &&
	sqlite3 hq.db "UPDATE visits SET district = '"'"'south'"'"' WHERE id = 11"
'

test_expect_success 'the masked column never reaches south through hq' '
	b=$(packs hq south) && raw "$b" south.db >tos.raw &&
	grep -q Eve tos.raw && ! grep -q 555-0 tos.raw &&
	mule -d south.db unpack "$b" >/dev/null &&
	check_val south.db "SELECT coalesce(phone, '"'"'none'"'"') FROM visits WHERE id = 11" none &&
	test "$(ids south.db)" = "2,3,11" &&
	b=$(mule -d hq.db pack --to south --full -o full-s.mule >/dev/null && echo full-s.mule) &&
	raw full-s.mule south.db >tosf.raw && ! grep -q 555-0 tosf.raw &&
	grep -q Eve tosf.raw && ! grep -q Dee tosf.raw && ! grep -q Ann tosf.raw
'

test_expect_success 'the row comes back from hq: north keeps its phone number' '
	sqlite3 hq.db "UPDATE visits SET notes = '"'"'cough, better'"'"' WHERE id = 10" &&
	send hq north &&
	check_val north.db "SELECT notes || '"'"'/'"'"' || phone FROM visits WHERE id = 10" "cough, better/555-0101" &&
	mule -d hq.db pack --to north --full -o full-n.mule >/dev/null &&
	mule -d north.db unpack full-n.mule >/dev/null &&
	check_val north.db "SELECT phone FROM visits WHERE id = 10" 555-0101 &&
	mule -d north.db conflicts --json | json_true "len(v) == 0"
'

test_expect_success 'a row edited by the clinic survives leaving its set, with a conflict entry' '
	sqlite3 north.db "UPDATE visits SET notes = '"'"'flu, seen again'"'"' WHERE id = 1" &&
	sqlite3 hq.db "UPDATE visits SET district = '"'"'south'"'"' WHERE id = 1" &&
	send hq north &&
	check_val north.db "SELECT notes FROM visits WHERE id = 1" "flu, seen again" &&
	mule -d north.db conflicts --json >c.json &&
	json_true "len(v) == 1 and v[0][\"column\"] == \"*\" and \"left the set\" in v[0][\"remote\"] and v[0][\"winner\"] == \"local\"" <c.json
'

test_expect_success 'a changed definition takes effect at the next pack' '
	mule -d hq.db share north visits --where "district IN ('"'"'north'"'"', '"'"'south'"'"')" >/dev/null &&
	send hq north &&
	test "$(ids north.db)" = "1,2,3,10,11" &&
	check_val north.db "SELECT patient || notes FROM visits WHERE id = 2" Bobcut &&
	mule -d hq.db share north visits --where "district = '"'"'north'"'"'" >/dev/null &&
	send hq north &&
	test "$(ids north.db)" = "1,10,11" &&
	sqlite3 hq.db "INSERT INTO visits VALUES (4, '"'"'north'"'"', '"'"'Hal'"'"', '"'"'sprain'"'"', NULL)" &&
	send hq north && test "$(ids north.db)" = "1,4,10,11" &&
	mule -d hq.db unshare north visits >out && test_grep out "no longer shares" &&
	mule -d hq.db share north --list >out && test_grep out "visits: not shared" &&
	send hq north &&
	test "$(ids north.db)" = "1,10,11" &&
	sqlite3 hq.db .dump >before.sql &&
	b=$(packs north hq) &&
	test_must_fail mule -d hq.db unpack "$b" 2>err &&
	test_grep err "table .visits., which this site does not share with north" &&
	test_grep err "mule share north visits" &&
	sqlite3 hq.db .dump >after.sql && test_cmp before.sql after.sql &&
	test "$(ids hq.db)" = "1,2,3,4,10,11" &&
	mule -d hq.db share north visits --where "district = '"'"'north'"'"'" >/dev/null &&
	send north hq && send hq north
'

test_expect_success 'share --reset: the peer gets every table in full again' '
	mule -d hq.db share north --reset >/dev/null &&
	send hq north &&
	test "$(ids north.db)" = "1,2,3,4,10,11" &&
	check_val north.db "SELECT patient || notes FROM visits WHERE id = 4" Halsprain &&
	check_val north.db "SELECT phone FROM visits WHERE id = 10" 555-0101
'

test_expect_success 'a peer whose table has only the columns sent checks the row hashes' '
	mksite archive "CREATE TABLE visits(id INTEGER PRIMARY KEY, district TEXT NOT NULL, patient TEXT)" &&
	trust north archive &&
	mule -d north.db peer set archive schema separate >/dev/null &&
	mule -d archive.db peer set north schema separate >/dev/null &&
	mule -d north.db share archive visits --columns district,patient >/dev/null &&
	b=$(packs north archive) && raw "$b" archive.db >toa.raw &&
	! grep -q 555-0 toa.raw && ! grep -q cough toa.raw &&
	mule -d archive.db unpack "$b" >/dev/null &&
	test "$(ids archive.db)" = "1,2,3,4,10,11" &&
	check_val archive.db "SELECT patient FROM visits WHERE id = 10" Dee &&
	sqlite3 north.db "UPDATE visits SET patient = '"'"'Dee A'"'"', notes = '"'"'x'"'"' WHERE id = 10" &&
	send north archive &&
	check_val archive.db "SELECT patient FROM visits WHERE id = 10" "Dee A"
'

test_expect_success 'a lost bundle: rows that entered the set in it go again whole' '
	mule -d hq.db share north visits --where "district = '"'"'north'"'"'" >/dev/null &&
	send hq north &&
	sqlite3 hq.db "UPDATE visits SET district = '"'"'north'"'"' WHERE id = 2" &&
	lost=$(packs hq north) &&
	sqlite3 hq.db "UPDATE visits SET notes = '"'"'cough, well'"'"' WHERE id = 10" &&
	send hq north && send north hq &&
	mule -d hq.db status --json | json_true "[p[\"lost_after\"] for p in v[\"peers\"] if p[\"name\"] == \"north\"][0] > 0" &&
	send hq north &&
	check_val north.db "SELECT district || patient || notes FROM visits WHERE id = 2" northBobcut &&
	mule -d hq.db share north --reset >/dev/null && send hq north
'

MAPSQL="CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, phone TEXT)"

test_expect_success 'maps: two partners with other names land in one local record' '
	mksite p1 "CREATE TABLE clients(cid INTEGER PRIMARY KEY, fullname TEXT)" &&
	mksite p2 "CREATE TABLE contacts(ref INTEGER PRIMARY KEY, tel TEXT)" &&
	sqlite3 hq.db "$MAPSQL" && trust hq p1 && trust hq p2 &&
	mule -d hq.db map p1 clients people cid=id fullname=name >out &&
	test_grep out "p1.s clients lands in people .cid=id, fullname=name." &&
	mule -d hq.db map p2 contacts people ref=id tel=phone >/dev/null &&
	mule -d hq.db map p1 --list --json | json_true "v[0][\"local\"] == \"people\" and v[0][\"columns\"][\"fullname\"] == \"name\"" &&
	sqlite3 p1.db "INSERT INTO clients VALUES (7, '"'"'Fay'"'"'), (8, '"'"'Gus'"'"')" &&
	sqlite3 p2.db "INSERT INTO contacts VALUES (7, '"'"'555-0707'"'"')" &&
	send p1 hq && send p2 hq &&
	check_val hq.db "SELECT name || '"'"'/'"'"' || phone FROM people WHERE id = 7" "Fay/555-0707" &&
	check_val hq.db "SELECT name || '"'"'/'"'"' || coalesce(phone, '"'"'-'"'"') FROM people WHERE id = 8" "Gus/-" &&
	sqlite3 p1.db "UPDATE clients SET fullname = '"'"'Fay B'"'"' WHERE cid = 7" &&
	sqlite3 p2.db "UPDATE contacts SET tel = '"'"'555-0708'"'"' WHERE ref = 7" &&
	send p2 hq && send p1 hq &&
	check_val hq.db "SELECT name || '"'"'/'"'"' || phone FROM people WHERE id = 7" "Fay B/555-0708" &&
	mule -d hq.db conflicts --json | json_true "all(c[\"table\"] != \"people\" for c in v)"
'

test_expect_success 'map --remove forgets a map' '
	mule -d hq.db map p2 contacts --remove >/dev/null &&
	mule -d hq.db map p2 --list >out && test_grep out "no maps for p2" &&
	refuses 1 hq.db "no map of p2" mule -d hq.db map p2 contacts --remove
'

test_expect_success 'bad share arguments: refused with clear messages, nothing changed' '
	refuses 1 hq.db "no peer.*nobody|nobody.*peer" mule -d hq.db share nobody visits &&
	refuses 1 hq.db "no tracked table named .nosuch." mule -d hq.db share north nosuch &&
	refuses 1 hq.db "has no column .fax." mule -d hq.db share north visits --columns notes,fax &&
	refuses 1 hq.db "primary key" mule -d hq.db share north visits --exclude id &&
	refuses 1 hq.db "does not work.*syntax error" mule -d hq.db share north visits --where "district = = 1" &&
	refuses 1 hq.db "does not work.*no such column: region" mule -d hq.db share north visits --where "region = 1" &&
	refuses 1 hq.db "holds .;." mule -d hq.db share north visits --where "1; DELETE FROM visits" &&
	refuses 1 hq.db "reads table _mule_peers" mule -d hq.db share north visits --where "id IN (SELECT 1 FROM _mule_peers)" &&
	refuses 1 hq.db "only the columns of table visits" mule -d hq.db share north visits --where "id IN (SELECT id FROM people)" &&
	refuses 1 hq.db "without its" mule -d hq.db share north visits --where "1) OR (1" &&
	refuses 1 hq.db "comment" mule -d hq.db share north visits --where "1 -- x" &&
	refuses 2 hq.db "give one of them" mule -d hq.db share north visits --columns a --exclude b &&
	refuses 2 hq.db "empty column" mule -d hq.db share north visits --columns a,,b &&
	refuses 1 hq.db "no sync set" mule -d hq.db unshare north visits
'

test_expect_success 'bad map arguments: refused with clear messages, nothing changed' '
	refuses 1 hq.db "no peer.*nobody|nobody.*peer" mule -d hq.db map nobody clients people &&
	refuses 1 hq.db "no table named .nosuch." mule -d hq.db map p1 clients nosuch &&
	refuses 1 hq.db "has no column .fax." mule -d hq.db map p1 clients people fullname=fax &&
	refuses 1 hq.db "named twice" mule -d hq.db map p1 clients people a=name b=name &&
	refuses 2 hq.db "REMOTE_COL=LOCAL_COL" mule -d hq.db map p1 clients people fullname
'

test_expect_success 'removing a peer forgets its sets and maps' '
	mule -d hq.db peer remove p1 >/dev/null &&
	check_val hq.db "SELECT count(*) FROM _mule_maps WHERE peer = '"'"'p1'"'"'" 0 &&
	check_val hq.db "SELECT count(*) FROM _mule_map_cols WHERE peer = '"'"'p1'"'"'" 0 &&
	mule -d north.db peer remove archive >/dev/null &&
	check_val north.db "SELECT count(*) FROM _mule_shares WHERE peer = '"'"'archive'"'"'" 0 &&
	check_val north.db "SELECT count(*) FROM _mule_set_sent WHERE peer = '"'"'archive'"'"'" 0
'

test_done
