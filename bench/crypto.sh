#!/bin/sh
# bench/crypto.sh — the "encrypt+sign vs age" line of `make bench` alone
# (sh bench/crypto.sh after `make`), with the CPU seconds of each side:
# on a machine whose cores are busy with other work, the wall-clock ratio
# follows the CPU ratio, and the second thread of the signature's hash
# cannot help.  Medians of BENCH_RUNS runs (default 5, at least 3).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MB=${BENCH_CRYPTO_MB:-256}
RUNS=${BENCH_RUNS:-5}
[ "$RUNS" -ge 3 ] || RUNS=3
W=${BENCH_DIR:-$ROOT/bench/work/crypto}
rm -rf "$W"
mkdir -p "$W"
cd "$W"
cc -std=c11 -O2 -D_GNU_SOURCE -I"$ROOT" -o bench_crypto \
    "$ROOT/bench/bench_crypto.c" "$ROOT/libmule.a" \
    $(pkg-config --libs libsodium libarchive sqlite3 libzstd libisal) -pthread
head -c $((MB * 1048576)) /dev/urandom >plain.bin
age-keygen -o age.key 2>age.pub
recipient=$(sed -n 's/^Public key: //p' age.pub)
cat plain.bin >/dev/null
# Median wall and CPU (user + sys) seconds of RUNS runs of a command.
median() {
	: >.times
	for _i in $(seq "$RUNS"); do
		rm -f out.bin
		/usr/bin/time -f '%e %U %S' -o .time "$@"
		awk '{ printf "%s %.2f\n", $1, $2 + $3 }' .time >>.times
	done
	mid=$(( (RUNS + 1) / 2 ))
	wall=$(cut -d' ' -f1 .times | sort -n | sed -n "${mid}p")
	cpu=$(cut -d' ' -f2 .times | sort -n | sed -n "${mid}p")
}
median age -r "$recipient" -o out.bin plain.bin
age_wall=$wall age_cpu=$cpu
median ./bench_crypto plain.bin out.bin
mule_wall=$wall mule_cpu=$cpu
awk -v mb="$MB" -v mw="$mule_wall" -v aw="$age_wall" -v mc="$mule_cpu" \
    -v ac="$age_cpu" -v runs="$RUNS" 'BEGIN {
	printf "encrypt+sign vs age, %d MB, median of %d: mule %.0f MB/s " \
	    "(%.2fs wall, %.2fs CPU), age %.0f MB/s (%.2fs wall, %.2fs " \
	    "CPU); time ratio %.2f (budget <= 1.0), CPU ratio %.2f\n",
	    mb, runs, mb / mw, mw, mc, mb / aw, aw, ac, mw / aw, mc / ac }'
