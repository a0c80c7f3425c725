#!/bin/sh
# Crash safety (docs/design.md §1.2, §14): an unpack killed with SIGKILL at
# random moments leaves the database exactly as it was before or exactly as it
# is after the bundle, never in between, never corrupt; the next unpack then
# succeeds.
#
#   MULE_CRASH_RUNS=N   number of kills (default 30)
#   MULE_CRASH_SEED=S   replay the delays of an earlier run
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

RUNS=${MULE_CRASH_RUNS:-30}
SEED=${MULE_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# tracked_sum DB: a digest of every row of the user's tables (values with
# their storage classes, ordered by key) and of their schema.
tracked_sum() {
	sqlite3 "$1" "SELECT name FROM sqlite_schema WHERE type='table'
	    AND name NOT LIKE '\_mule\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
	    ORDER BY name" | while IFS= read -r t; do
		q=$(printf '%s' "$t" | sed 's/"/""/g')
		sqlite3 "$1" "SELECT sql FROM sqlite_schema WHERE name = '$t'" &&
		sqlite3 "$1" "SELECT hex(sha3_query('SELECT * FROM \"$q\" ORDER BY 1'))" || echo FAILED
	done | sha256sum | cut -d' ' -f1
}

test_expect_success 'setup: a bundle of 200,000 rows, the states before and after' '
	pair_with "CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, note TEXT);
	    CREATE TABLE small(k TEXT PRIMARY KEY, v)" &&
	sqlite3 a.db "INSERT INTO small VALUES ('"'"'x'"'"', 1), ('"'"'y'"'"', 2);
	    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000)
	    INSERT INTO big SELECT i, '"'"'name '"'"' || i, i % 97, i * 0.25, hex(randomblob(8)) FROM s" &&
	sync_ab &&
	sqlite3 a.db "UPDATE small SET v = v + 10; DELETE FROM big WHERE id % 1000 = 0;
	    UPDATE big SET qty = -qty, note = NULL WHERE id % 3 = 0;
	    WITH RECURSIVE s(i) AS (SELECT 20001 UNION ALL SELECT i + 1 FROM s WHERE i < 200000)
	    INSERT INTO big SELECT i, '"'"'new '"'"' || i, i % 13, i * 0.5, hex(randomblob(6)) FROM s" &&
	mule -d a.db pack --to b -o bundle.mule >out && cat out &&
	cp -p b.db pristine.db && cp -p b.db.mule-key pristine.db.mule-key &&
	tracked_sum pristine.db >before.sum &&
	cp -p pristine.db full.db && cp -p pristine.db.mule-key full.db.mule-key &&
	python3 -c "import subprocess, time
t = time.time()
subprocess.run([\"mule\", \"-d\", \"full.db\", \"unpack\", \"bundle.mule\"], check=True, stdout=subprocess.DEVNULL)
print(int((time.time() - t) * 1000))" >apply.ms &&
	echo "applying takes $(cat apply.ms) ms" &&
	tracked_sum full.db >after.sum &&
	tracked_sum a.db >a.sum &&
	test_cmp a.sum after.sum &&
	! test_cmp before.sum after.sum 2>/dev/null
'

test_expect_success "unpack killed at $RUNS random moments: all or nothing (seed $SEED)" '
	ms=$(cat apply.ms) &&
	python3 -c "import random, sys
r = random.Random(int(sys.argv[1]))
ms = int(sys.argv[2])
for i in range(int(sys.argv[3])):
    print(\"%.3f\" % (r.uniform(0, ms * 1.15) / 1000))" "$SEED" "$ms" "$RUNS" >delays &&
	echo "seed $SEED; replay with MULE_CRASH_SEED=$SEED" &&
	before=$(cat before.sum) && after=$(cat after.sum) &&
	n=0 nbefore=0 nafter=0 nmid=0 nfinished=0 &&
	for d in $(cat delays); do
		n=$((n + 1))
		rm -f scratch.db scratch.db-journal scratch.db-wal scratch.db-shm &&
		cp -p pristine.db scratch.db &&
		cp -p pristine.db.mule-key scratch.db.mule-key || exit 1
		mule -d scratch.db unpack bundle.mule >run.out 2>&1 &
		pid=$!
		sleep "$d"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		rc=$?
		[ $rc = 0 ] && nfinished=$((nfinished + 1))
		if [ $rc != 0 ] && [ $rc != 137 ]; then
			echo "run $n (delay $d s): unpack failed by itself (exit $rc):"; cat run.out; exit 1
		fi
		journal=no
		if test -e scratch.db-journal || test -s scratch.db-wal; then journal=yes; fi
		sum=$(tracked_sum scratch.db) || exit 1
		ok=$(sqlite3 scratch.db "PRAGMA integrity_check") || exit 1
		if [ "$ok" != ok ]; then
			echo "run $n (delay $d s, exit $rc): integrity_check says: $ok"; exit 1
		fi
		if [ "$sum" = "$before" ]; then
			state=before; nbefore=$((nbefore + 1))
			[ $journal = yes ] && nmid=$((nmid + 1))
		elif [ "$sum" = "$after" ]; then
			state=after; nafter=$((nafter + 1))
		else
			echo "run $n (delay $d s, exit $rc, journal $journal): the data are neither before nor after"
			exit 1
		fi
		if [ $rc = 0 ] && [ $state = before ]; then
			echo "run $n (delay $d s): unpack succeeded but the data are as before"; cat run.out; exit 1
		fi
		fs=$(file_sum scratch.db) || exit 1
		mule -d scratch.db unpack bundle.mule >again.out 2>&1 || {
			echo "run $n (delay $d s, state $state): the next unpack failed:"; cat again.out; exit 1; }
		if [ $state = before ]; then
			grep -q "applied bundle.mule from a: 180,000 inserted" again.out || {
				echo "run $n (delay $d s): data before, but the next unpack said:"; cat again.out; exit 1; }
		else
			grep -q "already applied" again.out || {
				echo "run $n (delay $d s): data after, but the next unpack said:"; cat again.out; exit 1; }
		fi
		if [ $state = before ]; then
			test "$(tracked_sum scratch.db)" = "$after" || {
				echo "run $n (delay $d s): after the next unpack the data differ"; exit 1; }
		else
			test "$(file_sum scratch.db)" = "$fs" || {
				echo "run $n (delay $d s): already applied, yet the file changed"; exit 1; }
		fi
		echo "run $n: delay $d s, exit $rc, journal $journal: $state"
	done &&
	echo "$n kills: $nbefore left it before ($nmid of them inside the transaction), $nafter after ($nfinished had finished)" &&
	test $n = $RUNS &&
	if [ $RUNS -ge 20 ]; then
		test $nmid -ge 1 || { echo "no kill landed inside the transaction"; exit 1; }
	fi
'

test_done
