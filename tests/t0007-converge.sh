#!/bin/sh
# Randomized convergence (docs/design.md §7–8, issue 5): five sites, a hub h
# with field sites s1..s4 and a loop s3–s4, random inserts (colliding keys),
# updates (often of the same cell at several sites), deletes and re-inserts,
# bundles lost, delayed, duplicated, reordered and misdelivered; then
# reliable exchange until quiet.  tests/converge.py runs it once and writes
# one result per check (converge/checks/NAME.json); each test below reads
# one of them.
#
#   MULE_SEED=N       another seed (default 1)
#   MULE_ROUNDS=N     another number of rounds (default 40; 400 with
#                     MULE_SOAK=1, as `make soak` sets)
# The seed fixes every random choice; the winners of ties also depend on the
# site ids `mule init` draws, which the driver prints.
. "$(dirname "$0")/lib/test-lib.sh"

SEED=${MULE_SEED:-1}
if [ -n "$MULE_SOAK" ]; then
	ROUNDS=${MULE_ROUNDS:-400}
else
	ROUNDS=${MULE_ROUNDS:-40}
fi
say "# seed $SEED, $ROUNDS rounds (repeat: MULE_SEED=$SEED MULE_ROUNDS=$ROUNDS sh tests/t0007-converge.sh)"

# result CHECK: fails unless the run's converge/checks/CHECK.json says
# CHECK passed; else prints what it says: the seed, the phase (round,
# reliable round, stale delivery), the site, table and keys concerned,
# and the last steps before the failure.
result() {
	python3 "$TEST_DIR/converge.py" --dir converge --show "$1"
}

test_expect_success "random traffic over a hub and a loop runs to the end (seed $SEED, $ROUNDS rounds)" '
	python3 "$TEST_DIR/converge.py" --seed "$SEED" --rounds "$ROUNDS" --dir converge --report-only
'

test_expect_success "every pack and unpack behaved (seed $SEED)" '
	result traffic
'

test_expect_success "reliable exchange goes quiet: no ping-pong (seed $SEED)" '
	result quiet
'

test_expect_success "all sites hold identical tracked data (seed $SEED)" '
	result identical
'

test_expect_success "no primary key twice (seed $SEED)" '
	result no_dup
'

test_expect_success "a lost value is logged, rewritten at its site, or its row deleted (seed $SEED)" '
	result conflicts_min
'

test_expect_success "every value lost to a concurrent write or delete is in a conflict log (seed $SEED)" '
	result conflicts
'

test_expect_success "stale bundles after convergence change nothing (seed $SEED)" '
	result stale
'

test_expect_success "a site restored from a backup and rows lost underneath mule: repaired, nothing lost (seed $SEED)" '
	result repair
'

test_done
