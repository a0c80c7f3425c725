#!/bin/sh
# Who may change the schema here (issue 13 item 6; docs/decisions.md
# "Who may change the schema"): per peer, 'mule peer set PEER schema
# accept|review|refuse|separate'.  By default a peer's schema steps wait
# for a person: the bundle is refused whole and unchanged, 'mule schema
# review' shows the SQL, 'mule schema accept V' lets it run when the
# bundle is unpacked again, 'reject V' refuses it for good.  A replica
# without a schema takes its first one from its peer.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

cat >step.sql <<'EOF'
ALTER TABLE visits ADD COLUMN ward TEXT;
UPDATE visits SET ward = 'A';
EOF
cat >step3.sql <<'EOF'
DELETE FROM visits;
EOF

test_expect_success 'setup: a and b track visits, one row' '
	pair_with "CREATE TABLE visits(id INTEGER PRIMARY KEY, who TEXT)" &&
	sqlite3 a.db "INSERT INTO visits VALUES (1, '"'"'Ann'"'"')" &&
	send a b && send b a &&
	check_val b.db "SELECT who FROM visits" Ann
'

test_expect_success 'by default a peer'"'"'s schema step waits for review; nothing changes' '
	mule -d a.db schema record step.sql >/dev/null &&
	b=$(packs a b) && echo "$b" >step2.path &&
	sqlite3 b.db .dump >before &&
	test_expect_code 1 mule -d b.db unpack "$b" >out 2>err &&
	test_grep err "the bundle from a waits: it carries schema step 2" &&
	test_grep err "mule schema review" &&
	test_grep err "mule schema accept 2" &&
	check_val b.db "SELECT count(*) FROM pragma_table_info('"'"'visits'"'"') WHERE name = '"'"'ward'"'"'" 0 &&
	mule -d b.db log --json | json_true "not any(e[\"dir\"] == \"recv\" and e[\"seq\"] == 2 for e in v)"
'

test_expect_success 'unpack --dry-run shows what each statement of the step would do; nothing changes' '
	sqlite3 b.db .dump >before &&
	mule -d b.db unpack --dry-run "$(cat step2.path)" >out &&
	test_grep out "would apply: .*1 migration" &&
	test_grep out "schema step 2 would run:" &&
	test_grep out "ALTER TABLE visits ADD COLUMN ward TEXT;" &&
	test_grep out "UPDATE visits SET ward = .A.;" &&
	test_grep out "tables: visits; rows changed: 1" &&
	sqlite3 b.db .dump >after && test_cmp before after
'

test_expect_success 'schema review shows the waiting SQL, in text and JSON' '
	mule -d b.db schema review >rev &&
	test_grep rev "^version 2 from a: pending" &&
	test_grep rev "ALTER TABLE visits ADD COLUMN ward TEXT" &&
	test_grep rev "mule schema accept 2" &&
	mule -d b.db schema review --json |
	    json_true "len(v) == 1 and v[0][\"peer\"] == \"a\" and v[0][\"version\"] == 2 and v[0][\"state\"] == \"pending\" and \"UPDATE visits\" in v[0][\"sql\"]"
'

test_expect_success 'accept V, then the same bundle applies' '
	mule -d b.db schema accept 2 >out &&
	test_grep out "accepted schema step 2" &&
	mule -d b.db unpack "$(cat step2.path)" >out &&
	test_grep out "1 migration" &&
	check_val b.db "SELECT who || ward FROM visits" AnnA &&
	mule -d b.db schema review --json | json_true "v[0][\"state\"] == \"accepted\""
'

test_expect_success 'reject V: bundles that carry it are refused, nothing changes' '
	mule -d a.db schema record step3.sql >/dev/null &&
	b=$(packs a b) &&
	test_expect_code 1 mule -d b.db unpack "$b" 2>err &&
	test_grep err "schema step 3" &&
	mule -d b.db schema reject 3 >out && test_grep out "rejected schema step 3" &&
	sqlite3 b.db .dump >before &&
	test_expect_code 1 mule -d b.db unpack "$b" 2>err &&
	test_grep err "schema step 3, which was rejected here" &&
	sqlite3 b.db .dump >after && test_cmp before after &&
	check_val b.db "SELECT count(*) FROM visits" 1
'

test_expect_success 'refuse: a peer whose schema steps are never taken' '
	mule -d b.db peer set a schema refuse >out &&
	test_grep out "schema = refuse" &&
	b=$(packs a b) &&
	sqlite3 b.db .dump >before &&
	test_expect_code 1 mule -d b.db unpack "$b" 2>err &&
	test_grep err "takes no schema changes from a" &&
	sqlite3 b.db .dump >after && test_cmp before after
'

test_expect_success 'accept: the authority'"'"'s steps run at once' '
	mule -d b.db peer set a schema accept >/dev/null &&
	send a b &&
	test_grep send.out "1 migration" &&
	check_val b.db "SELECT count(*) FROM visits" 0
'

test_expect_success 'a replica without a schema takes its first one from its peer' '
	mule init c.db --name c >/dev/null &&
	mule -d a.db peer add c "$(mule -d c.db id --json | json_get key)" >/dev/null &&
	mule -d c.db peer add a "$(mule -d a.db id --json | json_get key)" >/dev/null &&
	sqlite3 a.db "INSERT INTO visits VALUES (5, '"'"'Eve'"'"', '"'"'B'"'"')" &&
	mule -d a.db pack --to c --full -o c1.mule >/dev/null &&
	mule -d c.db unpack c1.mule >out &&
	check_val c.db "SELECT who || ward FROM visits" EveB
'

test_expect_success 'bad values of the setting are refused' '
	test_expect_code 2 mule -d b.db peer set a schema sometimes 2>err &&
	test_grep err "accept, review, refuse or separate" &&
	test_expect_code 2 mule -d b.db schema accept x 2>err &&
	test_expect_code 1 mule -d b.db schema accept 9 2>err &&
	test_grep err "no schema step 9 waits"
'

test_done
