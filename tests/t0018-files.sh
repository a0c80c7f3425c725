#!/bin/sh
# Files a crash leaves, and bundle numbers (issue 13, item 10): a pack that
# dies while it makes parts or an image leaves scratch files and
# temporaries; the next pack removes those of processes that no longer run,
# never touches a finished file, and never gives a second bundle the number
# of the one that died.  (Item 7, parsing only verified bytes, is tested in
# tests/unit/test_bundle.c test_swapped_after_verify.)
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# crash_at BYTES COMMAND...: runs COMMAND with a file size limit of BYTES;
# the first write beyond it kills the process with SIGXFSZ (exit 153), as
# a crash at that moment would.
crash_at() {
	python3 -c '
import os, resource, signal, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
os.execvp(sys.argv[2], sys.argv[2:])' "$@"
}

# seqs DB DIR: "DIR SEQ" lines of the bundle log, in order.
seqs() { sqlite3 "$1" "SELECT dir || ' ' || seq FROM _mule_bundles WHERE dir != 'recv' ORDER BY id"; }

test_expect_success 'setup: 2.4 MB of incompressible rows at a; bundle 1 split into parts' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)" &&
	sqlite3 a.db "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 40)
	    INSERT INTO t SELECT i, randomblob(60000) FROM s" &&
	mkdir out media &&
	mule -d a.db pack --to b -o out/ --volume-size 1440k --parity 1 >pack1.out &&
	test_grep pack1.out "parts in out" &&
	ls out | grep -q "^a-b-0001\.d001-of-" &&
	(cd out && sha256sum a-b-0001.*) >first.sums &&
	seqs a.db >log && printf "sent 1\n" >want && test_cmp want log
'

test_expect_success 'a pack killed while it writes its image: nothing recorded, number 2 spent' '
	sqlite3 a.db "UPDATE t SET v = randomblob(60000)" &&
	cp a.db before.db &&
	test_expect_code 153 crash_at 6000000 mule -d a.db pack --to b -o out/ \
	    --iso media/img.iso --volume-size 1440k --parity 4 >crash.out 2>&1 &&
	! test -e media/img.iso &&
	ls -a media | grep -q "^\.img\.iso\.[0-9]*\.......$" &&
	ls | grep -q "^a\.db\.mule-tmp-[0-9]*$" &&
	ls | grep -q "^a\.db\.mule-tmp-[0-9]*\.d$" &&
	seqs a.db >log && printf "sent 1\nspent 2\n" >want && test_cmp want log &&
	mule -d a.db log >log.out &&
	test_grep log.out "spent +b +#2 +not finished: the pack stopped before it was recorded \(this number is not used again\)" &&
	(cd out && sha256sum -c --quiet ../first.sums)
'

test_expect_success 'the next pack succeeds as number 3, removes what the crash left, keeps bundle 1' '
	dead=$(sh -c "echo \$\$") &&
	mkdir a.db.mule-mail-$dead && echo x >a.db.mule-mail-$dead/part || exit 1
	sleep 600 >/dev/null 2>&1 &
	live=$!
	echo x >a.db.mule-tmp-$live &&
	mule -d a.db pack --to b -o out/ --iso media/img.iso --volume-size 1440k --parity 4 >pack3.out;
	rc=$?; kill $live; test $rc = 0 &&
	test -n "$dead" && test -n "$live" &&
	test_grep pack3.out "media/img.iso" &&
	test -s media/img.iso &&
	test "$(ls -a media | grep -c "^\.")" = 2 &&
	! test -e a.db.mule-mail-$dead &&
	test -f a.db.mule-tmp-$live && rm a.db.mule-tmp-$live &&
	! ls -a | grep -q "mule-tmp" &&
	seqs a.db >log && printf "sent 1\nspent 2\nsent 3\n" >want && test_cmp want log &&
	(cd out && sha256sum -c --quiet ../first.sums) &&
	test "$(ls out | grep -vc "^a-b-0001\.")" = 0
'

test_expect_success 'b applies bundles 1 and 3 and then has what a has' '
	mule -d b.db unpack out >u1.out &&
	test_grep u1.out "applied .*from a" &&
	mule -d b.db unpack media/img.iso >u3.out &&
	test_grep u3.out "applied bundle .* from a: 0 inserted, 40 updated" &&
	sqlite3 b.db "SELECT group_concat(seq) FROM _mule_bundles WHERE dir = '"'recv'"'" >got &&
	echo 1,3 >want && test_cmp want got &&
	db_same a.db b.db
'

test_expect_success 'a large split killed with SIGKILL: the next pack succeeds and keeps finished files' '
	sqlite3 a.db "UPDATE t SET v = randomblob(60000)" &&
	mkdir split &&
	cp out/a-b-0001.d001-of-* split/ &&
	(cd split && sha256sum a-b-0001.*) >old.sums &&
	python3 -c "
import os, signal, subprocess, sys
p = subprocess.Popen([\"mule\", \"-d\", \"a.db\", \"pack\", \"--to\", \"b\", \"-o\", \"split/\",
    \"--volume-size\", \"200k\", \"--parity\", \"8\"], stdout=subprocess.DEVNULL)
while p.poll() is None:
    if any(n.startswith(\".a-b-\") for n in os.listdir(\"split\")):
        os.kill(p.pid, signal.SIGKILL)
        break
p.wait()
print(\"killed\" if p.returncode == -signal.SIGKILL else \"finished %d\" % p.returncode)" >kill.out &&
	cat kill.out &&
	mule -d a.db pack --to b -o split/ --volume-size 200k --parity 8 >next.out &&
	test_grep next.out "parts in split" &&
	(cd split && sha256sum -c --quiet ../old.sums) &&
	test "$(ls -a split | grep -c "^\.")" = 2 &&
	! ls -a | grep -q "mule-tmp" &&
	seqs a.db | tail -n 2 >log &&
	if grep -q killed kill.out; then
		printf "spent 4\nsent 5\n" >want
	else
		printf "sent 4\nsent 5\n" >want
	fi &&
	test_cmp want log &&
	ls split | grep -q "^a-b-0005\.d001-of-"
'

test_expect_success 'a file already at the next number (a restored copy of the database) is never overwritten' '
	cp a.db old.db && cp a.db.mule-key old.db.mule-key &&
	mkdir d &&
	mule -d a.db pack --to b -o d/ >p.out &&
	f=$(ls d) && test "$f" = a-b-0006.mule &&
	s=$(file_sum d/$f) &&
	refuses 1 old.db "d/a-b-0006.mule already exists: another bundle has number 6 \(is this database a restored copy\?\); move the file away and pack again" \
	    mule -d old.db pack --to b -o d/ &&
	test "$(file_sum d/$f)" = "$s" &&
	test "$(ls -a d | wc -l)" = 3
'

test_expect_success 'a pack that fails before it writes gives its number back' '
	refuses 1 a.db "cannot write into no-such-dir: No such file or directory" \
	    mule -d a.db pack --to b -o no-such-dir/x.mule &&
	mkdir ro && chmod 555 ro &&
	if touch ro/x 2>/dev/null; then rm ro/x; else
		refuses 1 a.db "cannot write into ro/" mule -d a.db pack --to b -o ro/
	fi &&
	mule -d a.db pack --to b -o d/ >p.out &&
	ls d | grep -q "^a-b-0007\.mule$"
'

test_done
