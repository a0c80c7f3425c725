#!/bin/sh
# tests/lib/run-one.sh — runs one unit binary or t*.sh script for run.sh
# (from tests/), leaves out/NAME.log and out/NAME.count ("passed failed
# skipped"), and prints one PASS/FAIL line.
name=$(basename "$1" .sh)
case "$1" in
unit/*)
"./$1" >"out/$name.log" 2>&1
rc=$?
p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "out/$name.log" | tail -1)
f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "out/$name.log" | tail -1)
[ -n "$p" ] || p=0
[ -n "$f" ] || f=0
if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
echo "$p $f 0" >"out/$name.count"
;;
*)
sh "./$1" >"out/$name.log" 2>&1
rc=$?
if [ ! -f "out/$name.count" ]; then
	echo "0 1 0" >"out/$name.count"	# died before test_done
elif [ $rc -ne 0 ]; then
	read -r p f s <"out/$name.count"
	[ "$f" -gt 0 ] || echo "$p 1 $s" >"out/$name.count"
fi
;;
esac
read -r p f s <"out/$name.count"
case "$p:$f" in
:* | *: | *[!0-9:]*) p=0 f=1 ;;	# no count written (e.g. a full disk)
esac
if [ "$f" -eq 0 ]; then
echo "PASS $1 ($p passed${s:+, $s skipped})"
else
echo "FAIL $1 ($p passed, $f failed)"
grep -E '^(not ok|#)|FAIL|ERROR|ERROR|Assert' "out/$name.log" | head -30 | sed 's/^/    /'
fi
