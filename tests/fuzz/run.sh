#!/bin/sh
# tests/fuzz/run.sh — runs every built fuzz target for SECONDS seconds.
#
#   sh tests/fuzz/run.sh [SECONDS]        (default 60; `make fuzz` builds)
#
# Each tests/fuzz/fuzz_NAME binary (bundle, manifest, segment, part, mime,
# schema, fence, recon, literals) starts from the committed seed corpus
# tests/fuzz/corpus/NAME (read only) and keeps what it finds in
# tests/out/fuzz/NAME, with crash artifacts in tests/out/fuzz/.  When a
# seed corpus is missing and tests/unit/test_bundle is built, the seeds
# are made by running it with MULE_FUZZ_SEEDS set.  FUZZ_OUT=DIR puts the
# findings elsewhere.
set -u

secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
out=${FUZZ_OUT:-tests/out/fuzz}
mkdir -p "$out"

for name in bundle manifest segment part; do
	if [ ! -d "tests/fuzz/corpus/$name" ] && [ -x tests/unit/test_bundle ]
	then
		mkdir -p tests/fuzz/corpus
		MULE_FUZZ_SEEDS="$top/tests/fuzz/corpus" \
		    ./tests/unit/test_bundle >/dev/null 2>&1
	fi
	mkdir -p "tests/fuzz/corpus/$name"
done

pass=0
fail=0
for bin in tests/fuzz/fuzz_*; do
	case "$bin" in *.c|*.o|*.sh) continue ;; esac
	[ -x "$bin" ] || continue
	name=${bin#tests/fuzz/fuzz_}
	mkdir -p "$out/$name"
	seeds="tests/fuzz/corpus/$name"
	[ -d "$seeds" ] || seeds=""
	echo "fuzz: $name for ${secs}s" >&2
	if "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
	    -max_len=1048576 -artifact_prefix="$out/$name-" -print_final_stats=1 \
	    "$out/$name" $seeds >"$out/$name.log" 2>&1; then
		echo "fuzz: $name: ok ($(grep -c '' "$out/$name.log") log lines," \
		    "$(ls "$out/$name" | wc -l) corpus files)" >&2
		pass=$((pass + 1))
	else
		echo "fuzz: $name: FAILED, see $out/$name.log" >&2
		tail -n 30 "$out/$name.log" >&2
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
