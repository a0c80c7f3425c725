#!/bin/sh
# The receiver's fence (docs/design.md §14, issue 13 item 4): a peer's
# bundle writes only the tables, rows and columns this site shares with
# that peer.  hq shares visits with the clinic north, rows of district
# 'north' only and without the phone column.  north's laptop is stolen:
# the thief uses normal mule commands at north to write south rows and
# phone numbers at hq.  Rows outside the set are logged at hq and not
# written; values of the column hq keeps from north are left alone; a
# table hq does not share with north is refused whole.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

SCHEMA="CREATE TABLE visits(id INTEGER PRIMARY KEY, district TEXT NOT NULL,
	patient TEXT, phone TEXT);
	CREATE TABLE stock(item TEXT PRIMARY KEY, n INTEGER)"

# visits DB: every visit of DB, one per line.
visits() { sqlite3 "$1" "SELECT * FROM visits ORDER BY id"; }

# kinds: the conflict kinds and columns logged at hq, one per line.
kinds() {
	mule -d hq.db conflicts --json |
	    python3 -c 'import json,sys
for c in json.load(sys.stdin): print(c["key"], c["column"], c["kind"], c["winner"])'
}

test_expect_success 'setup: hq shares north visits, rows of north only, no phone' '
	mule init hq.db --name hq >/dev/null && mule init north.db --name north >/dev/null &&
	sqlite3 hq.db "$SCHEMA" && sqlite3 north.db "$SCHEMA" &&
	mule -d hq.db track --all >/dev/null 2>&1 && mule -d north.db track --all >/dev/null 2>&1 &&
	mule -d hq.db peer add north "$(mule -d north.db id --json | json_get key)" >/dev/null &&
	mule -d north.db peer add hq "$(mule -d hq.db id --json | json_get key)" >/dev/null &&
	mule -d hq.db share north visits --where "district = '"'"'north'"'"'" --exclude phone >/dev/null &&
	sqlite3 hq.db "INSERT INTO visits VALUES
	    (1, '"'"'north'"'"', '"'"'Ann'"'"', '"'"'555-0101'"'"'),
	    (2, '"'"'south'"'"', '"'"'Bob'"'"', '"'"'555-0102'"'"'),
	    (3, '"'"'north'"'"', '"'"'Cem'"'"', '"'"'555-0103'"'"')" &&
	send hq north && send north hq &&
	test "$(visits north.db)" = "1|north|Ann|
3|north|Cem|"
'

test_expect_success 'north writes a phone number: hq keeps its own, nothing logged' '
	sqlite3 north.db "UPDATE visits SET phone = '"'"'evil'"'"', patient = '"'"'Ann B'"'"' WHERE id = 1" &&
	send north hq &&
	test_grep send.out "1 updated" &&
	test_grep send.out "1 value of columns not shared with north left as they are" &&
	check_val hq.db "SELECT patient || '"'"'/'"'"' || phone FROM visits WHERE id = 1" "Ann B/555-0101"
'

test_expect_success 'north inserts and edits rows of another district: logged at hq, not written' '
	python3 "$TEST_DIR/digest_check.py" --seed hq.db &&
	sqlite3 hq.db .dump >before.sql &&
	sqlite3 north.db "INSERT INTO visits VALUES (2, '"'"'south'"'"', '"'"'Mallory'"'"', NULL),
	    (9, '"'"'south'"'"', '"'"'Trudy'"'"', NULL)" &&
	send north hq &&
	test_grep send.out "0 inserted, 0 updated" &&
	test_grep send.out "2 row changes refused .outside the set shared with north" &&
	visits hq.db >v && test_grep v "^2|south|Bob|555-0102$" && ! test_grep v Trudy &&
	kinds >k && test_grep k "^2 \* outside the set local$" && test_grep k "^9 \* outside the set local$" &&
	sqlite3 hq.db "SELECT * FROM visits ORDER BY id" >now &&
	printf "1|north|Ann B|555-0101\n2|south|Bob|555-0102\n3|north|Cem|555-0103\n" >want &&
	test_cmp want now
'

test_expect_success 'the refused new row left hq'"'"'s content digest as its state says' '
	test "$(sqlite3 hq.db "SELECT count(*) FROM _mule_digests")" -gt 0 &&
	python3 "$TEST_DIR/digest_check.py" hq.db
'

test_expect_success 'north deletes a row of another district: logged at hq, not deleted' '
	sqlite3 north.db "DELETE FROM visits WHERE id IN (2, 9)" &&
	send north hq &&
	test_grep send.out "0 deleted" &&
	check_val hq.db "SELECT patient FROM visits WHERE id = 2" Bob
'

test_expect_success 'a row north holds may leave the set by north'"'"'s own edit' '
	sqlite3 north.db "UPDATE visits SET district = '"'"'south'"'"' WHERE id = 3" &&
	send north hq &&
	test_grep send.out "1 updated" && ! test_grep send.out refused &&
	check_val hq.db "SELECT district FROM visits WHERE id = 3" south
'

test_expect_success 'a table hq does not share with north: the whole bundle is refused, nothing changed' '
	sqlite3 north.db "INSERT INTO stock VALUES ('"'"'gauze'"'"', 9999);
	    UPDATE visits SET patient = '"'"'Ann C'"'"' WHERE id = 1" &&
	sqlite3 hq.db .dump >before.sql &&
	b=$(packs north hq) && echo "$b" >refused.path &&
	test_must_fail mule -d hq.db unpack "$b" >out 2>err &&
	test_grep err "table .stock., which this site does not share with north" &&
	test_grep err "mule share north stock, then unpack again" &&
	sqlite3 hq.db .dump >after.sql && test_cmp before.sql after.sql
'

test_expect_success 'shared, the same bundle applies' '
	mule -d hq.db share north stock >/dev/null &&
	mule -d hq.db unpack "$(cat refused.path)" >out &&
	check_val hq.db "SELECT n FROM stock" 9999 &&
	check_val hq.db "SELECT patient FROM visits WHERE id = 1" "Ann C"
'

test_done
