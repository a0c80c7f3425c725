#!/bin/sh
# bench/crypto.sh — the "encrypt+sign vs age" line of `make bench` alone
# (sh bench/crypto.sh after `make`), with the CPU seconds of each side:
# on a machine whose cores are busy with other work, the wall-clock ratio
# follows the CPU ratio, and the second thread of the signature's hash
# cannot help.  Medians of BENCH_RUNS runs (default 5, at least 3); the
# runs of age and mule alternate, and each starts after a sync, so that
# neither side pays for the other's dirty pages being written back.
# A second line splits mule's CPU between its two threads and gives the
# floor of its wall time: BLAKE2b alone over the same output bytes.
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
# One timed run of a command: "wall cpu" (user + sys seconds) onto file $1.
timed() {
	_to=$1
	shift
	rm -f out.bin
	sync
	/usr/bin/time -f '%e %U %S' -o .time "$@"
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' .time >>"$_to"
}
# The median of column $2 of file $1.
median() {
	cut -d' ' -f"$2" "$1" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}
: >age.times
: >mule.times
: >mule.threads
for _i in $(seq "$RUNS"); do
	timed age.times age -r "$recipient" -o out.bin plain.bin
	timed mule.times ./bench_crypto plain.bin out.bin mule.threads
done
hash=$(./bench_crypto -H out.bin)
awk -v mb="$MB" -v mw="$(median mule.times 1)" -v aw="$(median age.times 1)" \
    -v mc="$(median mule.times 2)" -v ac="$(median age.times 2)" \
    -v runs="$RUNS" 'BEGIN {
	printf "encrypt+sign vs age, %d MB, median of %d: mule %.0f MB/s " \
	    "(%.2fs wall, %.2fs CPU), age %.0f MB/s (%.2fs wall, %.2fs " \
	    "CPU); time ratio %.2f (budget <= 1.0), CPU ratio %.2f\n",
	    mb, runs, mb / mw, mw, mc, mb / aw, aw, ac, mw / aw, mc / ac }'
awk '{ printf "%.3f %.3f\n", $1, $2 - $1 }' mule.threads >mule.split
# age runs in one thread: its CPU time is its wall time on an idle core.
awk -v ac="$(median age.times 2)" -v h="$hash" -v m="$(median mule.split 1)" \
    -v t="$(median mule.split 2)" 'BEGIN {
	printf "mule threads (medians): main %.2fs CPU (read, encrypt, " \
	    "write), hash %.2fs CPU; BLAKE2b alone over the output %.2fs, " \
	    "%.2fx age'"'"'s CPU (no wall time of mule below it)\n",
	    m, t, h, h / ac }'
