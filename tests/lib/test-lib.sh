# tests/lib/test-lib.sh — a small test library in the style of git's t/.
#
#   . "$(dirname "$0")/lib/test-lib.sh"
#   test_expect_success 'what it checks' '
#       commands joined with && (as in git: no set -e)
#   '
#   test_done
#
# Each script runs in its own scratch directory tests/trash.<script>,
# removed when every test passed.  `mule` on PATH is the freshly built one.
# Environment: MULE_TEST_VERBOSE=1 shows each test's output.

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$TEST_DIR/.." && pwd)
SHARED_DIR=${MULE_SHARED_DIR:-$SRC_DIR/../shared}
CHINOOK=$SHARED_DIR/data/chinook.sql
PATH=$SRC_DIR:$PATH
export PATH
unset MULE_DB
TEST_NAME=$(basename "$0" .sh)
TRASH=$TEST_DIR/trash.$TEST_NAME
rm -rf "$TRASH"
mkdir -p "$TRASH" || exit 1
cd "$TRASH" || exit 1

test_count=0
test_fail=0
test_skip=0

say() { printf '%s\n' "$*"; }

test_expect_success() {
	test_count=$((test_count + 1))
	if [ -n "$MULE_TEST_VERBOSE" ]; then
		( [ -n "$MULE_TEST_TRACE" ] && set -x; eval "$2" )
	else
		( eval "$2" ) >"$TRASH/.out" 2>&1
	fi
	if [ $? -eq 0 ]; then
		say "ok $test_count - $1"
	else
		test_fail=$((test_fail + 1))
		say "not ok $test_count - $1"
		if [ -z "$MULE_TEST_VERBOSE" ]; then
			sed 's/^/#   /' "$TRASH/.out" | tail -40
		fi
	fi
}

# test_skip 'what' 'why'
test_skip() {
	test_skip=$((test_skip + 1))
	say "ok - $1 # SKIP $2"
}

# Runs a command that must fail with exit code 1 (or the code given
# with test_expect_code); a crash (signal) is never acceptable.
test_must_fail() {
	"$@"
	_rc=$?
	if [ $_rc -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	fi
	if [ $_rc -gt 128 ]; then
		echo "test_must_fail: '$*' died with signal $((_rc - 128))" >&2
		return 1
	fi
	return 0
}

test_expect_code() {
	_want=$1
	shift
	"$@"
	_rc=$?
	if [ $_rc -ne "$_want" ]; then
		echo "test_expect_code: '$*' exited $_rc, wanted $_want" >&2
		return 1
	fi
	return 0
}

test_cmp() {
	if ! cmp -s "$1" "$2"; then
		echo "test_cmp: $1 and $2 differ:" >&2
		diff -u "$1" "$2" | head -40 >&2
		return 1
	fi
}

# Fails unless file $1 contains the extended regex $2.
test_grep() {
	if ! grep -Eq -- "$2" "$1"; then
		echo "test_grep: '$2' not found in $1:" >&2
		head -20 "$1" >&2
		return 1
	fi
}

# Fingerprint of a whole file, to prove "nothing changed".
file_sum() { sha256sum <"$1" | cut -d' ' -f1; }

# Dumps the user's tables of a database (not mule's _mule_* tables) in a
# stable form: schema then every row ordered by all columns.
db_dump() {
	sqlite3 "$1" "SELECT name FROM sqlite_schema WHERE type='table'
	    AND name NOT LIKE '\_mule\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
	    ORDER BY name" | while IFS= read -r t; do
		q=$(printf '%s' "$t" | sed 's/"/""/g')
		echo "== $t"
		sqlite3 "$1" "SELECT * FROM \"$q\" ORDER BY 1, 2" \
		    -cmd '.mode quote' | sort
	done
}

# Compares the user's tables of two databases.
db_same() {
	db_dump "$1" >"$TRASH/.dump1"
	db_dump "$2" >"$TRASH/.dump2"
	test_cmp "$TRASH/.dump1" "$TRASH/.dump2"
}

have_chinook() { [ -r "$CHINOOK" ]; }

# Two sites, a and b, that trust each other: a.db, b.db.
setup_pair() {
	mule init a.db --name a >/dev/null &&
	mule init b.db --name b >/dev/null &&
	mule -d a.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null &&
	mule -d b.db peer add a "$(mule -d a.db id --json | json_get key)" >/dev/null
}

# Prints a top-level field of the JSON object on stdin.
json_get() {
	python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"
}

test_done() {
	say "# $TEST_NAME: $((test_count - test_fail)) passed, $test_fail failed, $test_skip skipped"
	mkdir -p "$TEST_DIR/out"
	echo "$((test_count - test_fail)) $test_fail $test_skip" >"$TEST_DIR/out/$TEST_NAME.count"
	cd "$TEST_DIR" || exit 1
	if [ $test_fail -eq 0 ]; then
		rm -rf "$TRASH"
		exit 0
	fi
	exit 1
}
