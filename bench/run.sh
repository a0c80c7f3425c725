#!/bin/sh
# bench/run.sh — `make bench`: the budgets of docs/design.md §13, measured
# against their baselines in the same run, printed as a table of ratios.
# Each ratio is against the best anchor a user has by hand: the changes
# as SQL text (sqldiff) or as the session extension's changeset
# (sqldiff --changeset, applied with sqlite3changeset_apply); each time is
# the median of three runs (seven for encrypt+sign), interleaved with the
# runs of its anchors.
#
# Reference work: a table of BENCH_ROWS rows (default 1,000,000; 6
# columns, ~95 bytes a row) with 1% of rows updated, 0.1% deleted and
# 0.2% inserted.  Scratch files go to bench/work/ (or $BENCH_DIR).
# The scale line comes from bench/scale.sh (BENCH_SCALE_SITES sites,
# default 500, through 10 hubs; BENCH_SCALE_ROUNDS rounds, default 3).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MULE=$ROOT/mule
ROWS=${BENCH_ROWS:-1000000}
CRYPTO_MB=${BENCH_CRYPTO_MB:-256}
W=${BENCH_DIR:-$ROOT/bench/work}
rm -rf "$W"
mkdir -p "$W"
cd "$W"

cc -std=c11 -O2 -D_GNU_SOURCE -I"$ROOT" -o bench_crypto \
    "$ROOT/bench/bench_crypto.c" "$ROOT/libmule.a" \
    $(pkg-config --libs libsodium libarchive sqlite3 libzstd libisal) -pthread
cc -std=c11 -O2 -o apply_changeset "$ROOT/bench/apply_changeset.c" \
    $(pkg-config --libs sqlite3)

say() { printf '%s\n' "$*" >&2; }
# Runs a command, leaves seconds in $secs and peak RSS (KiB) in $rss.
measure() {
	/usr/bin/time -f '%e %M' -o .time "$@"
	read -r secs rss <.time
}
# $RUNS (default 3) timed runs of each of several commands, interleaved
# (1 2 3, 1 2 3, 1 2 3): a slow spell of the machine (another tenant, the
# host reclaiming memory) then falls on every side of a ratio alike, not
# on the runs of one (it once made age's anchor 5x slower and gave the
# encrypt+sign line a false "ok").  Arguments: pairs of shell strings,
# "restore" and "command"; sets secs_K (the median) and rss_K (the
# largest peak RSS) for the K-th pair.  A sync after each restore: the
# pages a restore (cp of a database) or the run before left dirty must
# not be written out inside the timed run (a COMMIT's fsync of a copied
# file writes the whole copy; the crypto runs' writes were throttled by
# them).
medians() {
	_n=0
	while [ $# -ge 2 ]; do
		_n=$((_n + 1))
		eval "_rs_$_n=\$1 _cm_$_n=\$2 _ts_$_n='' _rm_$_n=0"
		shift 2
	done
	_round=0
	while [ "$_round" -lt "${RUNS:-3}" ]; do
		_round=$((_round + 1))
		_k=1
		while [ "$_k" -le "$_n" ]; do
			eval "sh -c \"\$_rs_$_k\""
			sync
			eval "measure sh -c \"\$_cm_$_k\""
			eval "_ts_$_k=\"\$_ts_$_k $secs\"
			    if [ $rss -gt \$_rm_$_k ]; then _rm_$_k=$rss; fi"
			_k=$((_k + 1))
		done
	done
	_k=1
	while [ "$_k" -le "$_n" ]; do
		eval "secs_$_k=\$(printf '%s\\n' \$_ts_$_k | sort -n |
		    sed -n $(((${RUNS:-3} + 1) / 2))p)"
		eval "rss_$_k=\$_rm_$_k"
		_k=$((_k + 1))
	done
}
# The smaller of two numbers.
min2() { awk "BEGIN{ print ($1 < $2) ? $1 : $2 }"; }
ratio() { awk "BEGIN{ if ($2 == 0) print \"n/a\"; else printf \"%.2f\", $1 / $2 }"; }

say "bench: generating $ROWS rows"
cat >gen.sql <<SQL
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b REAL, c TEXT, d TEXT,
    e INTEGER);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $ROWS)
INSERT INTO t SELECT i, abs(random()) % 1000000, random() / 1e9,
    'name-' || hex(randomblob(10)), 'note ' || hex(randomblob(20)), i * 7
    FROM s;
SQL
sqlite3 old.db <gen.sql
cat >change.sql <<SQL
UPDATE t SET a = a + 1, d = 'edit ' || hex(id * 7919) WHERE id % 100 = 0;
DELETE FROM t WHERE id % 1000 = 1;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
    WHERE i < $ROWS / 500)
INSERT INTO t SELECT $ROWS + i, i, i / 3.0, 'new-' || i, 'inserted ' || i, i
    FROM s;
SQL

say "bench: setting up two sites (full initial exchange and its answer)"
cp old.db a.db
sqlite3 old.db .schema | sqlite3 b.db
# pair A B: sites A.db and B.db, made replicas, trusting each other.
pair() {
	"$MULE" init "$1.db" --name "$1" >/dev/null
	"$MULE" init "$2.db" --name "$2" >/dev/null
	"$MULE" -d "$1.db" peer add "$2" "$("$MULE" -d "$2.db" id --json |
	    sed 's/.*"key":"\([^"]*\)".*/\1/')" >/dev/null
	"$MULE" -d "$2.db" peer add "$1" "$("$MULE" -d "$1.db" id --json |
	    sed 's/.*"key":"\([^"]*\)".*/\1/')" >/dev/null
}
pair a b
measure "$MULE" -d a.db track --all >/dev/null
track_secs=$secs
"$MULE" -d b.db track --all >/dev/null
measure "$MULE" -d a.db pack --to b --full -o full.mule >/dev/null
full_pack_secs=$secs full_pack_rss=$rss
measure "$MULE" -d b.db unpack full.mule >/dev/null
full_apply_secs=$secs full_apply_rss=$rss
full_size=$(stat -c %s full.mule)
# b answers (nothing but its acknowledgement), as any exchange does.
"$MULE" -d b.db pack --to a -o ack.mule >/dev/null
"$MULE" -d a.db unpack ack.mule >/dev/null

cp a.db a.pre		# synced, before the changes (trigger capture below)

say "bench: the reference changes"
cp old.db new.db
sqlite3 new.db <change.sql
sqlite3 a.db <change.sql

# scan + pack vs sqldiff (SQL text or changeset, the faster)
sqldiff old.db new.db >diff.sql		# also warms the page cache
sqldiff --changeset diff.cs old.db new.db
cp a.db a.save
medians true 'exec sqldiff old.db new.db >/dev/null' \
    "rm -f cs.tmp" 'exec sqldiff --changeset cs.tmp old.db new.db' \
    "cp a.save a.db; rm -f delta.mule" \
    "exec \"$MULE\" -d a.db pack --to b -o delta.mule >/dev/null"
sqldiff_sql_secs=$secs_1 sqldiff_cs_secs=$secs_2
sqldiff_secs=$(min2 "$sqldiff_sql_secs" "$sqldiff_cs_secs")
pack_secs=$secs_3 pack_rss=$rss_3
bundle_size=$(stat -c %s delta.mule)
zstd -q -19 -f diff.sql -o diff.sql.zst
zstd -q -19 -f diff.cs -o diff.cs.zst
zstd_sql_size=$(stat -c %s diff.sql.zst)
zstd_cs_size=$(stat -c %s diff.cs.zst)
zstd_size=$(min2 "$zstd_sql_size" "$zstd_cs_size")

# apply vs sqlite3 reading the same changes as SQL
cp b.db b.save
cp old.db c.save
medians "cp b.save b.db" "exec \"$MULE\" -d b.db unpack delta.mule >/dev/null" \
    "cp c.save c.db" 'exec sqlite3 c.db "BEGIN" ".read diff.sql" "COMMIT"' \
    "cp c.save c.db" 'exec ./apply_changeset c.db diff.cs'
apply_secs=$secs_1 apply_rss=$rss_1
sqlite_sql_secs=$secs_2 sqlite_cs_secs=$secs_3
sqlite_secs=$(min2 "$sqlite_sql_secs" "$sqlite_cs_secs")
if [ "$(sqlite3 c.db 'SELECT * FROM t ORDER BY id' | md5sum)" != \
    "$(sqlite3 new.db 'SELECT * FROM t ORDER BY id' | md5sum)" ]; then
	say "bench: ERROR: the changeset did not give new.db"
	exit 1
fi

# converged?
if [ "$(sqlite3 b.db 'SELECT * FROM t ORDER BY id' | md5sum)" != \
    "$(sqlite3 new.db 'SELECT * FROM t ORDER BY id' | md5sum)" ]; then
	say "bench: ERROR: after applying, b differs from new.db"
	exit 1
fi

# state size (pages of mule's tables and indexes vs the tracked table's)
state_bytes=$(sqlite3 a.db "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '\_mule\_%' ESCAPE '\' OR name LIKE 'sqlite_autoindex\__mule\_%' ESCAPE '\'")
data_bytes=$(sqlite3 a.db "SELECT sum(pgsize) FROM dbstat WHERE name = 't'")

# the first exchange between two copies of old.db, each initialized on
# its own, with the reference changes at one of them: bytes and time of
# every bundle until both hold the same (budget: bytes <= 3x the edits as
# sqldiff | zstd -19)
say "bench: two copies initialized separately, first exchange"
cp old.db p.db
cp old.db q.db
pair p q
"$MULE" -d p.db track --all >/dev/null
"$MULE" -d q.db track --all >/dev/null
sqlite3 p.db <change.sql
copies_secs=0
copies_bytes=0
for leg in p:q:1 q:p:1 p:q:2 q:p:2; do
	from=${leg%%:*} rest=${leg#*:} to=${rest%%:*} n=${rest#*:}
	measure "$MULE" -d "$from.db" pack --to "$to" -o "c$n.$from.mule"
	copies_secs=$(awk "BEGIN{print $copies_secs + $secs}")
	measure "$MULE" -d "$to.db" unpack "c$n.$from.mule"
	copies_secs=$(awk "BEGIN{print $copies_secs + $secs}")
	copies_bytes=$((copies_bytes + $(stat -c %s "c$n.$from.mule")))
done >copies.out
if [ "$(sqlite3 q.db 'SELECT * FROM t ORDER BY id' | md5sum)" != \
    "$(sqlite3 new.db 'SELECT * FROM t ORDER BY id' | md5sum)" ]; then
	say "bench: ERROR: the copies did not converge"
	exit 1
fi
if grep -q 'disagree' copies.out; then
	say "bench: ERROR: the copies' digests disagree"
	exit 1
fi
# scan + pack with trigger capture (track --triggers): the same changes
# written with the triggers on; the first scan after --triggers reads the
# whole table, so one pack runs before the changes.  Then the cost of the
# triggers per application write: the changes, and ROWS/5 single-row
# inserts, with and without triggers.
say "bench: trigger capture"
cp a.pre tr.db
cp a.db.mule-key tr.db.mule-key
cp b.db.mule-key bt.db.mule-key
"$MULE" -d tr.db track --triggers t >/dev/null
sqlite3 tr.db "UPDATE t SET a = a WHERE id = 2"
"$MULE" -d tr.db pack --to b -o tr0.mule >/dev/null
cp tr.db tr.pre
medians "cp a.pre w.db" 'exec sqlite3 w.db ".read change.sql"' \
    "cp tr.pre w.db" 'exec sqlite3 w.db ".read change.sql"'
write_plain_secs=$secs_1 write_trig_secs=$secs_2
sqlite3 tr.db <change.sql
cp tr.db tr.save
# against sqldiff again, its runs interleaved with these
medians true 'exec sqldiff old.db new.db >/dev/null' \
    "rm -f cs.tmp" 'exec sqldiff --changeset cs.tmp old.db new.db' \
    "cp tr.save tr.db; rm -f trd.mule" \
    "exec \"$MULE\" -d tr.db pack --to b -o trd.mule >/dev/null"
trig_sqldiff_secs=$(min2 "$secs_1" "$secs_2")
trig_pack_secs=$secs_3
if [ "$(sqlite3 tr.db "SELECT count(*) FROM _mule_dirty_1")" != 0 ]; then
	say "bench: ERROR: trigger capture left dirty keys after a pack"
	exit 1
fi
# the scan alone: status runs it dry (nothing recorded, nothing packed)
medians "cp tr.save tr.db" "exec \"$MULE\" -d tr.db status >/dev/null" \
    "cp a.save w.db; cp a.db.mule-key w.db.mule-key" \
    "exec \"$MULE\" -d w.db status >/dev/null"
trig_scan_secs=$secs_1 full_scan_secs=$secs_2
cp b.save bt.db
"$MULE" -d bt.db unpack trd.mule >/dev/null
if [ "$(sqlite3 bt.db 'SELECT * FROM t ORDER BY id' | md5sum)" != \
    "$(sqlite3 new.db 'SELECT * FROM t ORDER BY id' | md5sum)" ]; then
	say "bench: ERROR: the bundle packed with triggers did not give new.db"
	exit 1
fi
# one prepared INSERT per row in one transaction, as an application does
cat >ins.py <<'PY'
import sqlite3, sys
n, base = int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO t VALUES (?, ?, 0.5, 'x', 'y', 1)",
    ((base + i, i) for i in range(1, n + 1)))
db.commit()
PY
medians "cp a.pre w.db" "exec python3 ins.py w.db $((ROWS / 5)) $((ROWS * 2))" \
    "cp tr.pre w.db" "exec python3 ins.py w.db $((ROWS / 5)) $((ROWS * 2))"
ins_plain=$(awk "BEGIN{printf \"%.0f\", $ROWS / 5 / ($secs_1 ? $secs_1 : 0.01)}")
ins_trig=$(awk "BEGIN{printf \"%.0f\", $ROWS / 5 / ($secs_2 ? $secs_2 : 0.01)}")

# encrypt + sign vs age
head -c $((CRYPTO_MB * 1048576)) /dev/urandom >plain.bin
age-keygen -o age.key 2>age.pub
recipient=$(sed -n 's/^Public key: //p' age.pub)
cat plain.bin >/dev/null
# runs of a quarter second: a slow spell can span two of three, so seven
RUNS=7
medians "rm -f age.out" "exec age -r \"$recipient\" -o age.out plain.bin" \
    "rm -f mule.out" 'exec ./bench_crypto plain.bin mule.out'
age_secs=$secs_1 crypto_secs=$secs_2
RUNS=3
mule_mbs=$(awk "BEGIN{printf \"%.0f\", $CRYPTO_MB / ($crypto_secs ? $crypto_secs : 0.01)}")
age_mbs=$(awk "BEGIN{printf \"%.0f\", $CRYPTO_MB / ($age_secs ? $age_secs : 0.01)}")

# the scale line: BENCH_SCALE_SITES (500) sites through 10 hubs, a few
# rounds of small edits (bench/scale.sh: its first line is the table's)
BENCH_DIR=$W sh "$ROOT/bench/scale.sh" >scale.out

# ok, MISSED, or "unmeasured" for a ratio with a zero anchor (n/a: runs
# too short for /usr/bin/time's hundredths, at a small BENCH_ROWS).
budget() {
	if [ "$1" = n/a ]; then
		echo unmeasured
	else
		awk "BEGIN{ exit !($1 <= $2) }" && echo ok || echo MISSED
	fi
}
r_pack=$(ratio "$pack_secs" "$sqldiff_secs")
r_size=$(ratio "$bundle_size" "$zstd_size")
r_apply=$(ratio "$apply_secs" "$sqlite_secs")
r_state=$(ratio "$state_bytes" "$data_bytes")
r_crypto=$(ratio "$crypto_secs" "$age_secs")
r_trig=$(ratio "$trig_pack_secs" "$trig_sqldiff_secs")
r_write=$(ratio "$write_trig_secs" "$write_plain_secs")
peak=$pack_rss
[ "$apply_rss" -gt "$peak" ] && peak=$apply_rss

printf '\nmule bench: %s rows, %s updated, %s deleted, %s inserted\n' \
    "$ROWS" $((ROWS / 100)) $((ROWS / 1000)) $((ROWS / 500))
printf '%-34s %12s %12s %8s %8s %s\n' what mule baseline ratio budget verdict
printf '%-34s %11ss %11ss %8s %8s %s\n' "scan+pack vs sqldiff" "$pack_secs" \
    "$sqldiff_secs" "$r_pack" "<=1.0" "$(budget "$r_pack" 1.0)"
printf '%-34s %11sB %11sB %8s %8s %s\n' "bundle vs best diff, zstd -19" \
    "$bundle_size" "$zstd_size" "$r_size" "<=1.0" "$(budget "$r_size" 1.0)"
printf '%-34s %11ss %11ss %8s %8s %s\n' "apply vs best SQLite apply" \
    "$apply_secs" "$sqlite_secs" "$r_apply" "<=1.0" "$(budget "$r_apply" 1.0)"
printf '%-34s %10sKiB %12s %8s %8s %s\n' "peak RSS pack / apply" \
    "$pack_rss/$apply_rss" "-" "-" "<=64MiB" "$(budget "$peak" 65536)"
printf '%-34s %11sB %11sB %8s %8s %s\n' "state (_mule_*) vs table t" \
    "$state_bytes" "$data_bytes" "$r_state" "<=0.5" "$(budget "$r_state" 0.5)"
printf '%-34s %9sMB/s %9sMB/s %8s %8s %s\n' "encrypt+sign time vs age" \
    "$mule_mbs" "$age_mbs" "$r_crypto" "<=1.0" "$(budget "$r_crypto" 1.0)"
r_copies=$(ratio "$copies_bytes" "$zstd_size")
printf '%-34s %11sB %11sB %8s %8s %s\n' "copies' first exchange vs diff" \
    "$copies_bytes" "$zstd_size" "$r_copies" "<=3.0" "$(budget "$r_copies" 3.0)"
printf '%-34s %11ss %11ss %8s\n' "  (its time: 2 round trips)" \
    "$copies_secs" "$sqldiff_secs" "$(ratio "$copies_secs" "$sqldiff_secs")"
printf '%-34s %11ss %11ss %8s %8s %s\n' "scan+pack, triggers, vs sqldiff" \
    "$trig_pack_secs" "$trig_sqldiff_secs" "$r_trig" "<=0.05" "$(budget "$r_trig" 0.05)"
head -n 1 scale.out
printf '\nanchors: sqldiff %ss, sqldiff --changeset %ss; SQL|zstd %s B, changeset|zstd %s B; sqlite3 .read %ss, sqlite3changeset_apply %ss\n' \
    "$sqldiff_sql_secs" "$sqldiff_cs_secs" "$zstd_sql_size" "$zstd_cs_size" \
    "$sqlite_sql_secs" "$sqlite_cs_secs"
printf 'for information: track (baseline) %ss; full pack %ss (%s KiB RSS, %s B); full apply %ss (%s KiB RSS)\n' \
    "$track_secs" "$full_pack_secs" "$full_pack_rss" "$full_size" \
    "$full_apply_secs" "$full_apply_rss"
printf 'trigger capture, the scan alone (status, dry): %ss with triggers, %ss full (sqldiff %ss: x%s)\n' \
    "$trig_scan_secs" "$full_scan_secs" "$sqldiff_secs" "$(ratio "$trig_scan_secs" "$sqldiff_secs")"
printf 'trigger cost per write: the changes %ss with triggers, %ss without (x%s); single-row inserts %s/s with triggers, %s/s without\n' \
    "$write_trig_secs" "$write_plain_secs" "$r_write" "$ins_trig" "$ins_plain"
tail -n +2 scale.out
