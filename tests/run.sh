#!/bin/sh
# tests/run.sh — runs every unit test (tests/unit/test_*) and every
# end-to-end script (tests/t*.sh), two at a time, and ends with one line:
# "N passed, N failed".  Exits non-zero when anything failed.
#   sh tests/run.sh [t0001-init.sh ...]    run only those scripts
cd "$(dirname "$0")" || exit 2
rm -rf out
mkdir -p out

if [ $# -gt 0 ]; then
	scripts="$*"
	units=""
else
	scripts=$(ls t[0-9]*.sh)
	units=$(ls unit/test_* 2>/dev/null | grep -v '\.c$')
fi

jobs=${MULE_TEST_JOBS:-2}
for t in $units $scripts; do echo "$t"; done |
	xargs -P "$jobs" -n 1 sh lib/run-one.sh

# Every test run must have left three numbers; one that did not (it could
# not write its count, e.g. on a full disk) counts as a failure.
passed=0 failed=0 skipped=0
for t in $units $scripts; do
	c=out/$(basename "$t" .sh).count
	p="" f="" s=""
	[ -f "$c" ] && read -r p f s <"$c"
	case "$p:$f:${s:-0}" in
	:* | *::* | *[!0-9:]*) failed=$((failed + 1)); continue ;;
	esac
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
