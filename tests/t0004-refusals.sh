#!/bin/sh
# Refusals (docs/design.md §1, §12, §14): unknown senders, misaddressed,
# tampered, truncated and foreign files, databases that are not replicas or
# are locked, unknown peers, exposed keys, unwritable destinations, removed
# peers.  Each one: a clear "mule: ..." message, the documented exit code, and
# the receiving database byte-for-byte unchanged.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

SCHEMA="CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, w BLOB)"

test_expect_success 'setup: a and b trust each other; c trusts b, b does not trust c' '
	pair_with "$SCHEMA" &&
	sqlite3 a.db "INSERT INTO t VALUES (1, '"'"'one'"'"', x'"'"'01'"'"'), (2, '"'"'two'"'"', NULL)" &&
	sync_ab &&
	mule init c.db --name c >/dev/null &&
	sqlite3 c.db "$SCHEMA" &&
	mule -d c.db track --all >/dev/null 2>&1 &&
	mule -d c.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null &&
	mule -d c.db peer add a "$(mule -d a.db id --json | json_get key)" >/dev/null &&
	mule -d a.db peer add c "$(mule -d c.db id --json | json_get key)" >/dev/null &&
	sqlite3 a.db "UPDATE t SET v = '"'"'uno'"'"' WHERE id = 1; INSERT INTO t VALUES (3, '"'"'three'"'"', zeroblob(5000))" &&
	good=$(packs a b) && cp "$good" good.mule &&
	mule -d b.db verify good.mule >/dev/null &&
	db_dump b.db >b.before
'

test_expect_success 'a bundle from an unknown sender: exit 3, unchanged' '
	sqlite3 c.db "INSERT INTO t VALUES (50, '"'"'from c'"'"', NULL)" &&
	fromc=$(packs c b) && cp "$fromc" fromc.mule &&
	refuses 3 b.db "unknown key" mule -d b.db unpack fromc.mule &&
	refuses 3 b.db "unknown key" mule -d b.db verify fromc.mule &&
	refuses 3 b.db "unknown key" mule -d b.db inspect fromc.mule &&
	refuses 3 b.db "unknown key" mule -d b.db unpack --dry-run fromc.mule &&
	check_val b.db "SELECT count(*) FROM t WHERE id = 50" 0
'

test_expect_success 'an unknown sender in a directory: exit 3, unchanged' '
	mkdir d1 && cp fromc.mule d1/ &&
	refuses 3 b.db "unknown key" mule -d b.db unpack d1/
'

test_expect_success 'a bundle addressed to another site: exit 3, unchanged' '
	mule -d a.db pack --to c -o toc.mule >/dev/null &&
	refuses 3 b.db "not addressed to this site" mule -d b.db unpack toc.mule &&
	refuses 3 b.db "not addressed|only its recipients" mule -d b.db inspect toc.mule &&
	mule -d c.db unpack toc.mule >/dev/null
'

test_expect_success 'an unencrypted bundle addressed to another site: exit 3, unchanged' '
	sqlite3 a.db "UPDATE t SET v = '"'"'for c only'"'"' WHERE id = 2" &&
	mule -d a.db pack --to c --no-encrypt -o toc-plain.mule >/dev/null &&
	mule -d c.db verify toc-plain.mule >/dev/null &&
	refuses 3 b.db "not addressed to this site" mule -d b.db unpack toc-plain.mule &&
	refuses 3 b.db "not addressed to this site" mule -d b.db unpack --dry-run toc-plain.mule &&
	check_val b.db "SELECT v FROM t WHERE id = 2" two
'

test_expect_success 'a byte flipped in the middle: exit 3, unchanged' '
	cp good.mule mid.mule &&
	n=$(wc -c <good.mule) && flip_byte mid.mule $((n / 2)) &&
	! cmp -s good.mule mid.mule &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db unpack mid.mule &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db verify mid.mule &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db inspect --raw mid.mule
'

test_expect_success 'a byte flipped in the signature: exit 3, unchanged' '
	cp good.mule sig.mule && flip_byte sig.mule -10 &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db unpack sig.mule &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db verify sig.mule &&
	cp good.mule last.mule && flip_byte last.mule -1 &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db unpack last.mule
'

test_expect_success 'a byte flipped anywhere (header, recipients, payload): exit 3, unchanged' '
	n=$(wc -c <good.mule) &&
	for off in 0 1 4 7 8 12 16 24 32 48 64 100 $(seq 120 $((n / 23)) $((n - 1))); do
		{ cp good.mule any.mule && flip_byte any.mule $off &&
		  refuses 3 b.db "" mule -d b.db unpack any.mule; } ||
		{ echo "offset $off of $n was not refused with exit 3"; exit 1; }
	done
'

test_expect_success 'a tampered unencrypted bundle: exit 3, unchanged' '
	sqlite3 a.db "UPDATE t SET v = '"'"'plain'"'"' WHERE id = 1" &&
	mule -d a.db pack --to b --no-encrypt -o plain.mule >/dev/null &&
	n=$(wc -c <plain.mule) &&
	for off in $((n / 3)) $((n / 2)) $((n - 80)) $((n - 3)); do
		{ cp plain.mule p.mule && flip_byte p.mule $off &&
		  refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db unpack p.mule; } ||
		{ echo "offset $off"; exit 1; }
	done
'

test_expect_success 'truncated bundles (10 bytes, half, all but one byte, empty): exit 3, unchanged' '
	n=$(wc -c <good.mule) &&
	for len in 0 10 $((n / 2)) $((n - 64)) $((n - 1)); do
		{ head -c $len good.mule >trunc.mule &&
		  test "$(wc -c <trunc.mule)" = $len &&
		  refuses 3 b.db "truncated|not a mule bundle|signature" mule -d b.db unpack trunc.mule; } ||
		{ echo "length $len of $n"; exit 1; }
	done &&
	head -c $((n - 1)) good.mule >trunc.mule &&
	refuses 3 b.db "truncated|signature" mule -d b.db verify trunc.mule
'

test_expect_success 'a bundle with bytes appended: exit 3, unchanged' '
	cp good.mule long.mule && printf "x" >>long.mule &&
	refuses 3 b.db "" mule -d b.db unpack long.mule
'

test_expect_success 'files that are not bundles: exit 3, unchanged' '
	echo "hello, this is not a bundle" >text.mule &&
	head -c 4096 /dev/urandom >random.mule &&
	cp a.db sqlite.mule &&
	printf "%s" "$SCHEMA" | gzip -c >gz.mule &&
	head -c 8 good.mule >magic.mule && head -c 4000 /dev/urandom >>magic.mule &&
	for f in text.mule random.mule sqlite.mule gz.mule magic.mule; do
		refuses 3 b.db "not a mule bundle|truncated|signature|unknown|format" mule -d b.db unpack $f ||
		{ echo "$f was not refused with exit 3"; exit 1; }
	done &&
	refuses 3 b.db "not a mule bundle" mule -d b.db verify text.mule
'

test_expect_success 'the untouched originals of those files still apply' '
	mule -d b.db unpack good.mule >out &&
	test_grep out "applied good.mule from a: 1 inserted, 1 updated" &&
	mule -d b.db unpack plain.mule >out &&
	test_grep out "applied plain.mule from a" &&
	db_same a.db b.db
'

test_expect_success 'a damaged copy of an applied bundle is refused, not "already applied"' '
	n=$(wc -c <good.mule) &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db unpack mid.mule &&
	refuses 3 b.db "signature|altered|tampered|changed" mule -d b.db unpack sig.mule &&
	head -c $((n - 1)) good.mule >trunc.mule &&
	refuses 3 b.db "truncated|signature" mule -d b.db unpack trunc.mule &&
	! grep -q "already applied" refuses.out
'

test_expect_success 'a path that does not exist: an error, unchanged' '
	s=$(file_sum b.db) &&
	test_must_fail mule -d b.db unpack no-such.mule 2>err &&
	test_grep err "no-such.mule" &&
	test "$(file_sum b.db)" = "$s"
'

test_expect_success 'a database that is not a replica: exit 1, unchanged' '
	sqlite3 plain.db "$SCHEMA; INSERT INTO t VALUES (1, 2, 3)" &&
	refuses 1 plain.db "not a mule replica" mule -d plain.db unpack good.mule &&
	refuses 1 plain.db "not a mule replica" mule -d plain.db verify good.mule &&
	refuses 1 plain.db "not a mule replica" mule -d plain.db pack --to b -o . &&
	test_expect_code 1 mule -d missing.db unpack good.mule 2>err &&
	test_grep err "^mule: " &&
	! test -e missing.db
'

test_expect_success 'pack --to an unknown peer: an error, nothing written, unchanged' '
	mkdir o1 &&
	sqlite3 a.db "UPDATE t SET v = '"'"'pending'"'"' WHERE id = 2" &&
	s=$(file_sum a.db) &&
	test_must_fail mule -d a.db pack --to nosuchpeer -o o1/ 2>err &&
	test_grep err "^mule: .*nosuchpeer" &&
	test_must_fail mule -d a.db pack --to b,nosuchpeer -o o1/ 2>err &&
	test_grep err "nosuchpeer" &&
	test "$(file_sum a.db)" = "$s" &&
	test "$(ls -A o1 | wc -l)" = 0
'

test_expect_success 'a locked database: refused after a bounded wait, retry succeeds' '
	sqlite3 a.db "INSERT INTO t VALUES (10, '"'"'while locked'"'"', NULL)" &&
	b=$(packs a b) &&
	s=$(file_sum b.db) &&
	rm -f locked || exit 1
	python3 -c "import sqlite3, time
c = sqlite3.connect(\"b.db\", isolation_level=None)
c.execute(\"BEGIN EXCLUSIVE\")
c.execute(\"SELECT count(*) FROM t\").fetchall()
open(\"locked\", \"w\").close()
time.sleep(8)
c.execute(\"ROLLBACK\")" &
	holder=$! &&
	i=0 && while ! test -e locked && test $i -lt 100; do sleep 0.1; i=$((i + 1)); done &&
	test -e locked &&
	t0=$(date +%s) &&
	test_expect_code 1 mule -d b.db unpack "$b" 2>err;
	rc=$?; t1=$(date +%s); wait $holder; test $rc = 0 &&
	cat err &&
	test_grep err "^mule: .*locked" &&
	echo "waited $((t1 - t0)) s" &&
	test $((t1 - t0)) -ge 4 && test $((t1 - t0)) -le 7 &&
	test "$(file_sum b.db)" = "$s" &&
	mule -d b.db unpack "$b" >out &&
	test_grep out "applied .* 1 inserted" &&
	db_same a.db b.db
'

test_expect_success 'a locked database: pack waits, then refuses, and sends nothing' '
	sqlite3 a.db "UPDATE t SET v = '"'"'after lock'"'"' WHERE id = 10" &&
	s=$(file_sum a.db) && mkdir o2 && rm -f locked || exit 1
	python3 -c "import sqlite3, time
c = sqlite3.connect(\"a.db\", isolation_level=None)
c.execute(\"BEGIN EXCLUSIVE\")
open(\"locked\", \"w\").close()
time.sleep(7)
c.execute(\"ROLLBACK\")" &
	holder=$! &&
	i=0 && while ! test -e locked && test $i -lt 100; do sleep 0.1; i=$((i + 1)); done &&
	test_expect_code 1 mule -d a.db pack --to b -o o2/ 2>err;
	rc=$?; wait $holder; test $rc = 0 &&
	test_grep err "locked" &&
	test "$(ls -A o2 | wc -l)" = 0 &&
	test "$(file_sum a.db)" = "$s" &&
	send a b && db_same a.db b.db
'

test_expect_success 'a key file others can read: refused with "chmod 600", unchanged' '
	chmod 644 b.db.mule-key &&
	refuses 1 b.db "chmod 600 b.db.mule-key" mule -d b.db unpack good.mule;
	rc1=$?;
	refuses 1 b.db "chmod 600 b.db.mule-key" mule -d b.db pack --to a -o .;
	rc2=$?;
	chmod 600 b.db.mule-key &&
	test $rc1 = 0 && test $rc2 = 0 &&
	! ls b-a-*.mule 2>/dev/null &&
	chmod 640 a.db.mule-key &&
	sqlite3 a.db "UPDATE t SET v = '"'"'k'"'"' WHERE id = 10" &&
	refuses 1 a.db "chmod 600 a.db.mule-key" mule -d a.db pack --to b -o .;
	rc=$?; chmod 600 a.db.mule-key; test $rc = 0 &&
	! ls a-b-*.mule 2>/dev/null &&
	send a b && db_same a.db b.db
'

test_expect_success 'pack into a directory that does not exist: nothing counted as sent' '
	sqlite3 a.db "UPDATE t SET v = '"'"'lost?'"'"' WHERE id = 1; DELETE FROM t WHERE id = 2;
	    INSERT INTO t VALUES (20, '"'"'x'"'"', NULL), (21, '"'"'y'"'"', NULL)" &&
	mule -d a.db log --json >log.before &&
	test_must_fail mule -d a.db pack --to b -o nodir/sub/ 2>err &&
	test_grep err "^mule: .*nodir" &&
	! test -e nodir &&
	test_must_fail mule -d a.db pack --to b -o nodir/x.mule 2>err &&
	test_grep err "^mule: .*nodir" &&
	mule -d a.db log --json >log.after &&
	test_cmp log.before log.after &&
	mkdir o3 && mule -d a.db pack --to b -o o3/ >out &&
	mule -d b.db inspect --json o3/*.mule >j &&
	json_true "[(t[\"name\"], t[\"rows\"], t[\"deleted\"]) for t in v[\"tables\"]] == [(\"t\", 4, 1)]" <j &&
	mule -d b.db unpack o3/ >/dev/null &&
	db_same a.db b.db
'

# A small filesystem to fill (root may mount tmpfs; t0001 does the same).
full_ok=no
if mkdir -p full && mount -t tmpfs -o size=128k tmpfs full 2>/dev/null; then
	full_ok=yes
fi
if [ $full_ok = yes ]; then
	test_expect_success 'pack onto a full disk: an error, nothing counted as sent' '
		head -c 100000 /dev/zero >full/filler &&
		python3 -c "import os, sqlite3
c = sqlite3.connect(\"a.db\")
c.execute(\"INSERT INTO t VALUES (30, ?, ?)\", (\"big\", os.urandom(200000)))
c.commit()" &&
		mule -d a.db log --json >log.before &&
		test_must_fail mule -d a.db pack --to b -o full/ 2>err &&
		cat err && test_grep err "^mule: " &&
		test "$(ls -A full)" = filler &&
		mule -d a.db log --json >log.after &&
		test_cmp log.before log.after &&
		send a b && db_same a.db b.db
	'
	umount full
else
	test_skip 'pack onto a full disk: an error, nothing counted as sent' \
	    'cannot mount a tmpfs here'
fi

test_expect_success 'after peer remove, its bundles are refused (exit 3)' '
	sqlite3 a.db "UPDATE t SET v = '"'"'after removal'"'"' WHERE id = 1" &&
	b=$(packs a b) &&
	mule -d b.db peer remove a >/dev/null &&
	refuses 3 b.db "unknown key" mule -d b.db unpack "$b" &&
	refuses 3 b.db "unknown key" mule -d b.db verify "$b" &&
	refuses 3 b.db "unknown key" mule -d b.db verify good.mule &&
	check_val b.db "SELECT v FROM t WHERE id = 1" "lost?"
'

test_expect_success 'nothing refused above left a trace in the log or conflicts' '
	mule -d b.db log --json >j &&
	json_true "not any(\"c-b\" in json.dumps(e) or \"mid.mule\" in json.dumps(e) or \"trunc\" in json.dumps(e) for e in v)" <j &&
	mule -d b.db conflicts --json | json_true "v == []"
'

test_expect_success 'a mistyped command: did you mean; mule help COMMAND' '
	test_expect_code 2 mule stauts 2>err &&
	test_grep err "unknown command .stauts.; did you mean .status.?" &&
	test_expect_code 2 mule pak 2>err &&
	test_grep err "did you mean .pack.?" &&
	test_expect_code 2 mule xyzzy 2>err &&
	test_grep err "unknown command .xyzzy. .{1}.mule --help. lists them" &&
	mule help pack >out && test_grep out "^usage: mule .*pack --to PEER" &&
	mule help >out && test_grep out "^commands:"
'

test_expect_success 'global options after the command: named, nothing done' '
	sqlite3 b.db .dump >before &&
	test_expect_code 2 mule status -d b.db 2>err &&
	test_grep err "global options go before the command .mule -d DB status" &&
	test_expect_code 2 mule pack --to a --db=b.db 2>err &&
	test_grep err "global options go before the command" &&
	sqlite3 b.db .dump >after && test_cmp before after
'

test_expect_success 'a database that does not exist is named, with where the name came from' '
	test_expect_code 1 env MULE_DB=nope.db mule status 2>err &&
	test_grep err "no database nope.db .named by MULE_DB.: check the path, or make a replica there with .mule init nope.db." &&
	test_expect_code 1 mule -d nope.db status 2>err &&
	test_grep err "no database nope.db: check the path" &&
	! test -e nope.db &&
	mule init fresh.db >out &&
	test_grep out "fresh.db did not exist: made a new, empty database"
'

test_expect_success 'verify of its own bundle says so; a missing key file says where it comes from' '
	mule init own.db >/dev/null && mule init other.db >/dev/null &&
	mule -d own.db peer add other "$(mule -d other.db id --json | json_get key)" >/dev/null &&
	mule -d own.db pack --to other -o own.mule >/dev/null &&
	test_expect_code 3 mule -d own.db verify own.mule 2>err &&
	test_grep err "this is your own bundle .signed by this site, .own.." &&
	mv own.db.mule-key own.key &&
	test_expect_code 1 mule -d own.db pack --to other -o x.mule 2>err &&
	test_grep err "key file own.db.mule-key does not exist: .mule init. makes it beside the database; if it is elsewhere, give it with --key FILE" &&
	mule -d own.db --key own.key pack --to other -o y.mule >/dev/null
'

test_expect_success 'a peer name in the wrong letter case: did you mean, nothing spent' '
	sqlite3 own.db .dump >before &&
	test_expect_code 1 mule -d own.db --key own.key pack --to OTHER -o z.mule 2>err &&
	test_grep err "no peer .OTHER.; did you mean .other.?" &&
	sqlite3 own.db .dump >after && test_cmp before after && ! test -e z.mule
'

test_done
