#!/bin/sh
# mule clone SRC DST --name NAME (issue 14 item 1): a new site from a
# replica — a consistent copy, a fresh identity, both sites trusting and
# knowing each other, so that the first exchange carries only what changed
# since; refusals change nothing.  And duplicated identities (item 6): a
# replica copied with its key file (cp), used at two places, is refused by
# the peer that receives from both, which names 'mule clone'.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

ROWS=2000

# hq_in DIR: a new directory DIR (the caller's subshell moves there) with
# the replica hq.db: table t of ROWS rows, tracked, and a peer b.
hq_in() {
	mkdir "$1" && cd "$1" && setup_pair &&
	mule init hq.db --name hq >/dev/null &&
	sqlite3 hq.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
	    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $ROWS)
	    INSERT INTO t SELECT i, 'v' || i, i * 7 FROM s" &&
	mule -d hq.db track --all >/dev/null 2>&1 &&
	mule -d hq.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null
}

# full_dump DB: every table, mule's own too, and the schema, as SQL.
full_dump() { sqlite3 "$1" .dump; }

# refused ERRTEXT CODE ARGS...: mule clone ARGS fails with exit status
# CODE and ERRTEXT on stderr; hq.db is unchanged, and neither lap.db nor
# its key file appeared.
refused() {
	_rwant=$1 && _rcode=$2 && shift 2 &&
	full_dump hq.db >before &&
	test_expect_code "$_rcode" mule clone "$@" >out 2>err &&
	test_grep err "$_rwant" &&
	test ! -s out &&
	full_dump hq.db >after &&
	test_cmp before after &&
	test ! -e lap.db && test ! -e lap.db.mule-key &&
	test -z "$(ls -a | grep '\.clone$')"
}

test_expect_success 'clone refuses a bad name, its own name and a peer'\''s, changing nothing' '
	hq_in r1 &&
	refused "may hold only letters" 2 hq.db lap.db --name "lap top" &&
	refused "is the name of hq.db.s site" 1 hq.db lap.db --name hq &&
	refused "hq.db trusts a peer named .b. already" 1 hq.db lap.db --name b &&
	test_expect_code 2 mule clone hq.db lap.db 2>err &&
	test_grep err "usage: mule clone SRC DST --name NAME"
'

test_expect_success 'clone refuses an existing DST or key file, and a SRC that is no replica' '
	hq_in r2 &&
	echo "precious" >lap.db && s=$(file_sum lap.db) &&
	full_dump hq.db >before &&
	test_expect_code 1 mule clone hq.db lap.db --name lap 2>err &&
	test_grep err "lap.db exists already; clone makes a new file" &&
	test "$(file_sum lap.db)" = "$s" && test ! -e lap.db.mule-key &&
	full_dump hq.db >after && test_cmp before after &&
	rm lap.db &&
	echo key >lap.db.mule-key &&
	test_expect_code 1 mule clone hq.db lap.db --name lap 2>err &&
	test_grep err "key file lap.db.mule-key exists already" &&
	test ! -e lap.db && rm lap.db.mule-key &&
	full_dump hq.db >after && test_cmp before after &&
	sqlite3 plain.db "CREATE TABLE q(a); INSERT INTO q VALUES (1)" &&
	full_dump plain.db >pbefore &&
	test_expect_code 1 mule clone plain.db lap.db --name lap 2>err &&
	test_grep err "plain.db is not a mule replica" &&
	full_dump plain.db >pafter && test_cmp pbefore pafter &&
	test ! -e lap.db && test ! -e lap.db.mule-key &&
	test_expect_code 1 mule clone missing.db lap.db --name lap 2>err &&
	test_grep err "missing.db: No such file" &&
	test ! -e missing.db && test ! -e lap.db
'

test_expect_success 'the clone: same data, a new identity, only hq as its peer, site state left behind' '
	hq_in c1 &&
	mule -d hq.db config mail.from hq@example.org >/dev/null &&
	mule -d hq.db config tables.accept-new yes >/dev/null &&
	mule -d hq.db peer set b email b@example.org >/dev/null &&
	packs hq b >/dev/null &&
	mule clone hq.db lap.db --name lap >out &&
	test_grep out "cloned hq.db \(site .hq.\) into lap.db as site .lap." &&
	test_grep out "secret key: lap.db.mule-key" &&
	test "$(stat -c %a lap.db.mule-key)" = 600 &&
	db_same hq.db lap.db &&
	test "$(site_id lap)" != "$(site_id hq)" &&
	mule -d lap.db id --json | json_true "v[\"name\"] == \"lap\"" &&
	mule -d lap.db peer list --json | json_true "[p[\"name\"] for p in v] == [\"hq\"]" &&
	mule -d hq.db peer list --json | json_true "[p[\"name\"] for p in v] == [\"b\", \"lap\"]" &&
	test "$(mule -d lap.db peer list --json | json_py "v[0][\"key\"]")" = \
	    "$(mule -d hq.db id --json | json_get key)" &&
	test "$(mule -d hq.db peer list --json | json_py "v[1][\"key\"]")" = \
	    "$(mule -d lap.db id --json | json_get key)" &&
	check_val lap.db "SELECT count(*) FROM _mule_bundles" 0 &&
	check_val lap.db "SELECT count(*) FROM _mule_peer_props WHERE key = '\''email'\''" 0 &&
	mule -d lap.db config --json | json_true "\"mail.from\" not in v and v[\"tables.accept-new\"] == \"yes\"" &&
	mule -d hq.db config mail.from >out && test_grep out "hq@example.org" &&
	check_val hq.db "SELECT count(*) FROM _mule_bundles WHERE dir = '\''sent'\''" 1
'

test_expect_success 'clone --key FILE puts the new key there; the clone uses it' '
	hq_in k1 &&
	mule clone hq.db lap.db --name lap --key lap.key >out &&
	test_grep out "secret key: lap.key" &&
	test ! -e lap.db.mule-key &&
	test "$(stat -c %a lap.key)" = 600 &&
	mule -d lap.db --key lap.key id --json | json_true "v[\"name\"] == \"lap\"" &&
	sqlite3 lap.db "UPDATE t SET v = '\''on lap'\'' WHERE id = 1" &&
	mkdir o && mule -d lap.db --key lap.key pack --to hq -o o/ >out &&
	test_grep out "packed 1 change" &&
	mule -d hq.db unpack o/ >out && test_grep out " 1 updated"
'

test_expect_success 'the first bundle either way carries only what changed since the clone' '
	hq_in x1 &&
	mule clone hq.db lap.db --name lap >/dev/null &&
	sqlite3 hq.db "UPDATE t SET v = '\''edited at hq'\'' WHERE id = 17" &&
	B=$(packs hq lap) &&
	test_grep "$(dirname "$B")/pack.out" "packed 1 change in 1 table" &&
	mule -d lap.db unpack "$B" >out &&
	test_grep out " 0 inserted, 1 updated, 0 deleted, 0 conflicts" &&
	sqlite3 lap.db "UPDATE t SET n = -1 WHERE id = 99" &&
	B=$(packs lap hq) &&
	test_grep "$(dirname "$B")/pack.out" "packed 1 change in 1 table" &&
	mule -d hq.db unpack "$B" >out &&
	test_grep out " 0 inserted, 1 updated, 0 deleted, 0 conflicts" &&
	db_same hq.db lap.db &&
	check_val lap.db "SELECT v FROM t WHERE id = 17" "edited at hq" &&
	check_val hq.db "SELECT n FROM t WHERE id = 99" -1 &&
	B=$(packs hq lap) &&
	test_grep "$(dirname "$B")/pack.out" "packed 0 changes" &&
	mule -d hq.db conflicts --json | json_true "v == []" &&
	mule -d lap.db conflicts --json | json_true "v == []"
'

test_expect_success 'edits hq had not recorded yet when cloning are not sent back as changes' '
	hq_in x2 &&
	sqlite3 hq.db "UPDATE t SET v = '\''before the clone'\'' WHERE id = 3" &&
	mule clone hq.db lap.db --name lap >/dev/null &&
	B=$(packs lap hq) &&
	test_grep "$(dirname "$B")/pack.out" "packed 0 changes" &&
	B=$(packs hq lap) &&
	test_grep "$(dirname "$B")/pack.out" "packed 0 changes"
'

test_expect_success 'a clone made while another program writes SRC is consistent and converges' '
	hq_in w1 &&
	sqlite3 hq.db "PRAGMA journal_mode = WAL" >/dev/null &&
	{ python3 -c "
import sqlite3, sys, os, time
c = sqlite3.connect(\"hq.db\", timeout=30, isolation_level=None)
open(\"writer.started\", \"w\").close()
i = 0
while not os.path.exists(\"writer.stop\") and i < 20000:
    i += 1
    c.execute(\"BEGIN IMMEDIATE\")
    c.execute(\"INSERT INTO t VALUES (?, ?, ?)\", (100000 + i, \"w%d\" % i, i))
    c.execute(\"UPDATE t SET n = n + 1 WHERE id = ?\", (i % 50 + 1,))
    c.execute(\"COMMIT\")
    time.sleep(0.001)   # a program, not a lock hog: others get their turn
" & } &&
	while [ ! -e writer.started ]; do sleep 0.1; done &&
	mule clone hq.db lap.db --name lap >out 2>err; rc=$?;
	touch writer.stop && wait &&
	test $rc = 0 &&
	check_val lap.db "PRAGMA integrity_check" ok &&
	send hq lap && send lap hq && send hq lap && db_same hq.db lap.db &&
	# A writer that never pauses can outlast the clone'"'"'s 8 tries; then
	# an edit it made meanwhile may be logged once as a conflict (never
	# lost): only rows the writer touched may appear.
	mule -d lap.db conflicts --json |
	    json_true "all(int(c[\"key\"]) <= 50 or int(c[\"key\"]) > 100000 for c in v)"
'

# copied_in DIR: sites a and b (b trusts a), a.db tracked with data and
# exchanged once with b; then a copied with its key file to a2.db the
# wrong way (cp), as a second laptop.
copied_in() {
	mkdir "$1" && cd "$1" &&
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	    INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');" &&
	sqlite3 a.db "UPDATE t SET v = 'first' WHERE id = 1" &&
	send a b >/dev/null &&
	cp a.db a2.db && cp a.db.mule-key a2.db.mule-key
}

test_expect_success 'a replica copied with its key: the second bundle with one number is refused (exit 3)' '
	copied_in d1 &&
	sqlite3 a.db "UPDATE t SET v = '\''from a'\'' WHERE id = 2" &&
	sqlite3 a2.db "UPDATE t SET v = '\''from the copy'\'' WHERE id = 3" &&
	A=$(packs a b) && A2=$(packs a2 b) &&
	test "$(basename "$A")" = "$(basename "$A2")" &&
	mule -d b.db unpack "$A" >out && test_grep out " 1 updated" &&
	full_dump b.db >before &&
	test_expect_code 3 mule -d b.db unpack "$A2" >out 2>err &&
	test_grep err "bundle number 2 from a, and a different bundle with that number from a was applied here before" &&
	test_grep err "restored from a backup" && test_grep err "copied with its key file to a second place" &&
	test_grep err "mule clone" &&
	full_dump b.db >after && test_cmp before after &&
	check_val b.db "SELECT v FROM t WHERE id = 3" three &&
	test_expect_code 3 mule -d b.db unpack --dry-run "$A2" 2>err &&
	test_grep err "mule clone" &&
	full_dump b.db >after && test_cmp before after &&
	mule -d b.db unpack "$A" >out && test_grep out "already applied"
'

test_expect_success 'a copy whose counters run behind an earlier bundle is refused, whatever its number' '
	copied_in d2 &&
	sqlite3 a.db "UPDATE t SET v = '\''a1'\'' WHERE id = 2" && send a b &&
	sqlite3 a.db "UPDATE t SET v = '\''a2'\'' WHERE id = 2" && send a b &&
	packs a2 b >/dev/null && packs a2 b >/dev/null && A2=$(packs a2 b) &&
	test "$(basename "$A2")" = a-b-0004.mule &&
	full_dump b.db >before &&
	test_expect_code 3 mule -d b.db unpack "$A2" >out 2>err &&
	test_grep err "bundle number 4 from a, whose own changes reach counter" &&
	test_grep err "bundle number 3, applied here before, had reached" &&
	test_grep err "mule clone" &&
	full_dump b.db >after && test_cmp before after
'

test_expect_success 'the right way: a second site made with clone exchanges with the third site' '
	copied_in d3 &&
	rm a2.db a2.db.mule-key &&
	mule clone a.db a2.db --name a2 >/dev/null &&
	mule -d b.db peer add a2 "$(mule -d a2.db id --json | json_get key)" >/dev/null &&
	mule -d a2.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null &&
	sqlite3 a.db "UPDATE t SET v = '\''from a'\'' WHERE id = 2" &&
	sqlite3 a2.db "UPDATE t SET v = '\''from a2'\'' WHERE id = 3" &&
	send a b && test_grep send.out " 1 updated" &&
	send a2 b && test_grep send.out " 0 conflicts" &&
	check_val b.db "SELECT v FROM t ORDER BY id" "first
from a
from a2"
'

test_expect_success 'a peer removed and added again under its name, now another site, is no duplicate' '
	mkdir d4 && cd d4 &&
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" &&
	sqlite3 a.db "INSERT INTO t VALUES (1, '\''old a'\'')" && send a b &&
	mule -d b.db peer remove a >/dev/null &&
	mkdir new && mv a.db a.db.mule-key new/ &&
	mule init a.db --name a >/dev/null &&
	sqlite3 a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)" &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d a.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null &&
	mule -d b.db peer add a "$(mule -d a.db id --json | json_get key)" >/dev/null &&
	sqlite3 a.db "INSERT INTO t VALUES (2, '\''new a'\'')" &&
	A=$(packs a b) && test "$(basename "$A")" = a-b-0001.mule &&
	mule -d b.db unpack "$A" >out && test_grep out " 1 inserted"
'

test_done
