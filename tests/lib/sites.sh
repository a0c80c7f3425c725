# tests/lib/sites.sh — helpers for the exchange tests (t0002–t0005).
# Source after test-lib.sh:  . "$TEST_DIR/lib/sites.sh"

# pair_with SQL: in the current directory, sites a and b that trust each
# other (a.db, b.db), the same tables created at both by SQL, tracked.
pair_with() {
	setup_pair &&
	sqlite3 a.db "$1" &&
	sqlite3 b.db "$1" &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1
}

# add_site NAME: a third site NAME.db trusted by a and b (and trusting them),
# with the tables of a.db (schema only), tracked.
add_site() {
	mule init "$1.db" --name "$1" >/dev/null &&
	for _o in a b; do
		mule -d "$_o.db" peer add "$1" "$(mule -d "$1.db" id --json | json_get key)" >/dev/null &&
		mule -d "$1.db" peer add "$_o" "$(mule -d "$_o.db" id --json | json_get key)" >/dev/null ||
		return 1
	done &&
	sqlite3 a.db "SELECT sql || ';' FROM sqlite_schema WHERE type='table'
	    AND name NOT LIKE '\_mule\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'" |
	    sqlite3 "$1.db" &&
	mule -d "$1.db" track --all >/dev/null 2>&1
}

# packs FROM TO: packs FROM's changes for TO into a new directory and
# prints the bundle's path.
packs() {
	_d=$(mktemp -d "./x.$1-$2.XXXXXX") &&
	mule -d "$1.db" pack --to "$2" -o "$_d/" >"$_d/pack.out" &&
	ls "$_d"/*.mule
}

# send FROM TO: packs FROM's changes for TO and applies them at TO.
# The output of unpack goes to send.out.
send() {
	_b=$(packs "$1" "$2") &&
	mule -d "$2.db" unpack "$_b" >send.out
}

# sync: a → b, b → a, a → b, then the tracked tables of a and b must match.
sync_ab() {
	send a b && send b a && send a b && db_same a.db b.db
}

# ascii FILE...: every byte of the files is ASCII.
ascii() {
	python3 -c 'import sys
for p in sys.argv[1:]:
    b = open(p, "rb").read()
    bad = [c for c in b if c > 127]
    if bad:
        print("%s: %d non-ASCII bytes: %r" % (p, len(bad), b[:300]), file=sys.stderr)
        sys.exit(1)' "$@"
}

# sql DB STATEMENTS: runs SQL with the sqlite3 CLI.
sql() { sqlite3 "$1" "$2"; }

# json_len: number of elements of the JSON array on stdin.
json_len() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# json_py EXPR: evaluates the Python expression EXPR with v = the JSON on
# stdin and prints it (lists/dicts as JSON).
json_py() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
r=eval(sys.argv[1])
print(json.dumps(r) if isinstance(r,(dict,list)) else r)' "$1"
}

# json_true EXPR: fails unless the Python expression EXPR (v = the JSON on
# stdin) is true; prints the JSON when it is not.
json_true() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
if not eval(sys.argv[1]):
    print("json_true failed: %s\n%s" % (sys.argv[1], json.dumps(v, indent=1)), file=sys.stderr)
    sys.exit(1)' "$1"
}

# flip_byte FILE OFFSET: xors one byte of FILE (negative offsets count from
# the end).
flip_byte() {
	python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[o] ^= 0x55
open(p, "wb").write(bytes(b))' "$1" "$2"
}

# exact_dump DB: like db_dump, but every value is printed with its storage
# class and exact bits (repr of the Python value, so -0.0 and 0.0 differ;
# blobs as length and sha256).
exact_dump() {
	python3 -c 'import sqlite3,sys,hashlib
c = sqlite3.connect(sys.argv[1])
c.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
ts = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type=\x27table\x27 AND name NOT LIKE \x27\\_mule\\_%\x27 ESCAPE \x27\\\x27 AND name NOT LIKE \x27sqlite\\_%\x27 ESCAPE \x27\\\x27 ORDER BY name")]
def show(x):
    if isinstance(x, bytes):
        return "bytes(%d,%s)" % (len(x), hashlib.sha256(x).hexdigest()[:16])
    if isinstance(x, float):
        return "float(%s)" % x.hex()
    return repr(x)
for t in ts:
    print("==", t)
    cur = c.execute("SELECT * FROM \"%s\"" % t.replace("\"", "\"\""))
    rows = []
    for r in cur:
        rows.append(" ".join(show(x) for x in r))
    for r in sorted(rows):
        print(r)
' "$1"
}

# exact_same A B: exact_dump of both databases must match.
exact_same() {
	exact_dump "$1" >"$TRASH/.xdump1" &&
	exact_dump "$2" >"$TRASH/.xdump2" &&
	test_cmp "$TRASH/.xdump1" "$TRASH/.xdump2"
}

# site_id NAME: the site id (hex) of NAME.db.
site_id() { mule -d "$1.db" id --json | json_get site_id; }

# lamport NAME: the lamport counter of NAME.db.
lamport() { mule -d "$1.db" status --json | json_get lamport; }

# next_winner A B: the name of the site (A or B) whose next local edit wins
# over a concurrent next local edit of the same cell at the other
# (docs/design.md §7: the higher stamp (counter, origin id); a local commit
# stamps its cells with counter + 1).
next_winner() {
	_la=$(lamport "$1") && _lb=$(lamport "$2") &&
	_ia=$(site_id "$1") && _ib=$(site_id "$2") &&
	if [ "$_la" -gt "$_lb" ]; then echo "$1"
	elif [ "$_lb" -gt "$_la" ]; then echo "$2"
	elif [ "$(printf '%s\n%s\n' "$_ia" "$_ib" | LC_ALL=C sort | tail -1)" = "$_ia" ]; then echo "$1"
	else echo "$2"
	fi
}

# conflict_is DB TABLE KEY COLUMN LOCAL REMOTE WINNER: DB's conflict log
# holds exactly one entry for that cell, with those values (as printed by
# mule conflicts --json: SQL literals) and winner ("local" or "remote").
conflict_is() {
	mule -d "$1" conflicts --json >"$TRASH/.conflicts" &&
	python3 -c 'import json,sys
f, db, t, k, c, lo, re, w = sys.argv[1:]
v = json.load(open(f))
m = [e for e in v if e["table"] == t and e["key"] == k and e["column"] == c]
if len(m) != 1 or m[0]["local"] != lo or m[0]["remote"] != re or m[0]["winner"] != w:
    print("%s: wanted one conflict %s %s %s: local %s remote %s winner %s; the log:\n%s"
        % (db, t, k, c, lo, re, w, json.dumps(v, indent=1)), file=sys.stderr)
    sys.exit(1)' "$TRASH/.conflicts" "$@"
}

# no_conflict DB TABLE KEY: DB's conflict log has no entry for that row.
no_conflict() {
	mule -d "$1" conflicts --json >"$TRASH/.conflicts" &&
	python3 -c 'import json,sys
f, db, t, k = sys.argv[1:]
v = json.load(open(f))
m = [e for e in v if e["table"] == t and e["key"] == k]
if m:
    print("%s: wanted no conflict for %s %s, got:\n%s" % (db, t, k, json.dumps(m, indent=1)), file=sys.stderr)
    sys.exit(1)' "$TRASH/.conflicts" "$@"
}

# conflicts_of DB TABLE KEY: prints DB's conflict entries for that row (JSON).
conflicts_of() {
	mule -d "$1" conflicts --json | python3 -c 'import json,sys
t, k = sys.argv[1:]
print(json.dumps([e for e in json.load(sys.stdin) if e["table"] == t and e["key"] == k]))' "$2" "$3"
}

# val DB SQL: prints the result of a query.
val() { sqlite3 "$1" "$2"; }

# check_val DB SQL EXPECTED: the query's result must be EXPECTED.
check_val() {
	_got=$(sqlite3 "$1" "$2") || return 1
	if [ "$_got" != "$3" ]; then
		echo "check_val: $1: $2" >&2
		echo "  wanted: $3" >&2
		echo "  got:    $_got" >&2
		return 1
	fi
}

# refuses CODE DB REGEX COMMAND...: COMMAND must exit with CODE, say
# "mule: ..." matching REGEX on stderr (kept in file err), and leave DB
# byte-for-byte unchanged (and leave no journal behind).
refuses() {
	_code=$1 _db=$2 _re=$3
	shift 3
	_sum=$(file_sum "$_db") || return 1
	test_expect_code "$_code" "$@" >refuses.out 2>err || { cat err >&2; return 1; }
	test_grep err "^mule: " || return 1
	test_grep err "$_re" || return 1
	if [ "$(file_sum "$_db")" != "$_sum" ]; then
		echo "refuses: $* changed $_db" >&2
		return 1
	fi
	for _j in "$_db-journal" "$_db-wal"; do
		if [ -s "$_j" ]; then
			echo "refuses: $* left $_j behind" >&2
			return 1
		fi
	done
}
