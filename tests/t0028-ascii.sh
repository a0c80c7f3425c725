#!/bin/sh
# Output in ASCII under LC_ALL=C (issue 16, item 8): every command that
# prints, text and --json, stdout and stderr, errors included; under a
# UTF-8 locale the arrows, ellipses and grouped thousands stay.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# c TAG CODE CMD...: CMD under LC_ALL=C must exit with CODE; its stdout
# goes to TAG.out, its stderr to TAG.err, and both must be ASCII.
c() {
	_tag=$1 _code=$2
	shift 2
	LC_ALL=C "$@" >"$_tag.out" 2>"$_tag.err"
	_rc=$?
	if [ "$_rc" != "$_code" ]; then
		echo "c: $* exited $_rc, not $_code" >&2
		cat "$_tag.err" >&2
		return 1
	fi
	ascii "$_tag.out" "$_tag.err"
}

# u TAG CODE CMD...: the same under LC_ALL=C.UTF-8, without the ASCII check.
u() {
	_tag=$1 _code=$2
	shift 2
	LC_ALL=C.UTF-8 "$@" >"$_tag.out" 2>"$_tag.err"
	_rc=$?
	if [ "$_rc" != "$_code" ]; then
		echo "u: $* exited $_rc, not $_code" >&2
		cat "$_tag.err" >&2
		return 1
	fi
}

# same DB: DB's dump is the one saved in DB.dump (nothing changed).
same() { sqlite3 "$1" .dump >"$1.now" && test_cmp "$1.dump" "$1.now"; }

ELL='…'
ARROW='→'

test_expect_success 'setup: two sites, 1500 rows at a' '
	pair_with "CREATE TABLE k(id TEXT PRIMARY KEY, v TEXT, n INT)" &&
	sqlite3 a.db "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1
	    FROM s WHERE i < 1500) INSERT INTO k SELECT i, '"'v'"' || i, i FROM s"
'

test_expect_success 'help, init, id, peers, track, config and status are ASCII' '
	c help 0 mule --help &&
	c phelp 0 mule pack --help &&
	c init 0 mule init c.db --name c &&
	c id 0 mule -d a.db id &&
	c idj 0 mule -d a.db id --json &&
	c qr 0 mule -d a.db id --qr &&
	c peers 0 mule -d a.db peer list &&
	c peersj 0 mule -d a.db peer list --json &&
	sqlite3 a.db "CREATE TABLE t2(id INTEGER PRIMARY KEY, v TEXT)" &&
	sqlite3 b.db "CREATE TABLE t2(id INTEGER PRIMARY KEY, v TEXT)" &&
	c track 0 mule -d a.db track t2 &&
	test_grep track.err "warning: 1 table has an integer key: t2" &&
	mule -d b.db track t2 >/dev/null 2>&1 &&
	c config 0 mule -d a.db config &&
	c configj 0 mule -d a.db config --json &&
	c status 0 mule -d a.db status &&
	test_grep status.out "1500 changes not yet packed for b -> mule pack --to b$" &&
	c statusj 0 mule -d a.db status --json
'

test_expect_success 'pack, unpack, log, verify, inspect, check: ASCII, plain numbers' '
	mkdir o1 &&
	c pack 0 mule -d a.db pack --to b -o o1/ &&
	test_grep pack.out "^packed 1500 changes in 1 table, 2 migrations -> o1/" &&
	c verify 0 mule -d b.db verify o1/*.mule &&
	c verifyj 0 mule -d b.db verify --json o1/*.mule &&
	c inspect 0 mule -d b.db inspect o1/*.mule &&
	test_grep inspect.out "^top +[0-9a-f]{8}\.\.\.:[0-9]+$" &&
	LC_ALL=C mule -d b.db inspect --raw o1/*.mule >raw.tar.zst 2>raw.err &&
	ascii raw.err && ! test -s raw.err &&
	c inspectj 0 mule -d b.db inspect --json o1/*.mule &&
	c dry 0 mule -d b.db unpack --dry-run o1/*.mule &&
	c unpack 0 mule -d b.db unpack o1/*.mule &&
	test_grep unpack.out "1500 inserted" &&
	c again 0 mule -d b.db unpack o1/*.mule &&
	test_grep again.out "already applied; nothing changed" &&
	c log 0 mule -d b.db log &&
	test_grep log.out "recv +a +#1 +1500 inserted, 0 updated" &&
	c loga 0 mule -d a.db log &&
	test_grep loga.out "sent +b +#1 +1500 changes in 1 table" &&
	c logj 0 mule -d b.db log --json &&
	c check 0 mule -d a.db check b &&
	c statusb 0 mule -d b.db status
'

test_expect_success 'a conflict: unpack, conflicts, resolve are ASCII' '
	sqlite3 a.db "UPDATE k SET v = '"'at a'"' WHERE id = '"'1'"'" &&
	sqlite3 b.db "UPDATE k SET v = '"'at b'"' WHERE id = '"'1'"'" &&
	ba=$(packs b a) && ab=$(packs a b) &&
	c cu1 0 mule -d a.db unpack "$ba" &&
	c cu2 0 mule -d b.db unpack "$ab" &&
	cat cu1.out cu2.out | grep -q "1 conflict" &&
	L=$( [ "$(sqlite3 a.db "SELECT count(*) FROM _mule_conflicts")" -gt 0 ] && echo a || echo b) &&
	c conflicts 0 mule -d $L.db conflicts &&
	c conflictsa 0 mule -d $L.db conflicts --all &&
	c conflictsj 0 mule -d $L.db conflicts --json &&
	c conflictsp 0 mule -d a.db conflicts --peers &&
	id=$(mule -d $L.db conflicts --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"id\"])") &&
	c resolve 0 mule -d $L.db conflicts resolve "$id" --keep local
'

test_expect_success 'share, unshare, map and map --list are ASCII; the arrow is "->"' '
	c share 0 mule -d a.db share b k --where "n > 10" &&
	c sharel 0 mule -d a.db share b --list &&
	c sharej 0 mule -d a.db share b --list --json &&
	c unshare 0 mule -d a.db unshare b k &&
	c map 0 mule -d b.db map a t2 t2 v=v &&
	c mapl 0 mule -d b.db map a --list &&
	test_grep mapl.out "^a.s t2 -> t2 \(v=v\)$" &&
	c mapj 0 mule -d b.db map a --list --json &&
	u mapu 0 mule -d b.db map a --list &&
	test_grep mapu.out "^a.s t2 $ARROW t2 \(v=v\)$"
'

test_expect_success 'schema status, diff, log, review: ASCII; "..." after a fingerprint' '
	c sst 0 mule -d a.db schema status &&
	c sdiff 0 mule -d a.db schema diff &&
	c slog 0 mule -d a.db schema log &&
	test_grep slog.out "^ +1  [0-9a-f]{16}\.\.\.  " &&
	c slogj 0 mule -d a.db schema log --json &&
	c srev 0 mule -d a.db schema review &&
	u slogu 0 mule -d a.db schema log &&
	test_grep slogu.out "^ +1  [0-9a-f]{16}$ELL  "
'

test_expect_success 'refused for a schema: the error is ASCII, nothing changed' '
	mkdir differ && (
	cd differ &&
	setup_pair &&
	mule -d a.db peer set b schema accept >/dev/null &&
	mule -d b.db peer set a schema accept >/dev/null &&
	sqlite3 a.db "CREATE TABLE t(id TEXT PRIMARY KEY, v TEXT)" &&
	sqlite3 b.db "CREATE TABLE t(id TEXT PRIMARY KEY, v TEXT, w INT)" &&
	mule -d a.db track --all >/dev/null 2>&1 &&
	mule -d b.db track --all >/dev/null 2>&1 &&
	sqlite3 a.db "INSERT INTO t VALUES ('"'x'"', '"'y'"')" &&
	bundle=$(packs a b) &&
	sqlite3 b.db .dump >b.db.dump &&
	c e1 1 mule -d b.db unpack "$bundle" &&
	test_grep e1.err "^mule: .*version 1 is [0-9a-f]{16}\.\.\. here but [0-9a-f]{16}\.\.\." &&
	same b.db &&
	c e1j 1 mule -d b.db unpack --json "$bundle" &&
	test_grep e1j.out "\"why\":\".*[0-9a-f]{16}\.\.\. here" &&
	same b.db &&
	u e1u 1 mule -d b.db unpack "$bundle" &&
	test_grep e1u.err "version 1 is [0-9a-f]{16}$ELL here but [0-9a-f]{16}$ELL" &&
	same b.db )
'

test_expect_success 'parts: spool messages, incomplete bundles and labels are ASCII' '
	mule -d a.db peer add c "$(mule -d c.db id --json | json_get key)" >/dev/null &&
	sqlite3 a.db "UPDATE k SET v = v || '"'!'"' WHERE n > 100" &&
	mkdir ab ac &&
	c packp 0 mule -d a.db pack --to b -o ab/ --volume-size 1k &&
	test "$(ls ab/*.mule-part | wc -l)" -ge 3 &&
	first=$(ls ab/*.mule-part | head -1) &&
	c part1 0 mule -d b.db unpack "$first" &&
	test_grep part1.out "waits in the spool" &&
	c spools 0 mule -d b.db status &&
	test_grep spools.out "^incomplete bundle [0-9a-f]+\.\.\.: " &&
	u spoolu 0 mule -d b.db status &&
	test_grep spoolu.out "^incomplete bundle [0-9a-f]+$ELL: " &&
	c parts 0 mule -d b.db unpack ab &&
	test_grep parts.out "^applied bundle [0-9a-f]+\.\.\. \(from [0-9]+ parts\) from a: " &&
	c verifyp 0 mule -d b.db verify ab &&
	c inspectp 0 mule -d b.db inspect ab &&
	mule -d a.db pack --to c -o ac/ --volume-size 1k >/dev/null &&
	sqlite3 b.db .dump >b.db.dump &&
	c notours 3 mule -d b.db unpack $(ls ac/*.mule-part | head -1) &&
	test_grep notours.err "^mule: .*not kept in the spool: its bundle [0-9a-f]+\.\.\. is not addressed to this site$" &&
	same b.db &&
	u notoursu 3 mule -d b.db unpack $(ls ac/*.mule-part | head -1) &&
	test_grep notoursu.err "its bundle [0-9a-f]+$ELL is not addressed" &&
	same b.db
'

test_expect_success 'errors: unknown peer, bad bundle, usage are ASCII, nothing changed' '
	sqlite3 a.db .dump >a.db.dump &&
	c nopeer 1 mule -d a.db pack --to nobody -o o1/ &&
	test_grep nopeer.err "^mule: " &&
	c nolog 1 mule -d a.db log --peer nobody &&
	c usage 2 mule -d a.db map &&
	same a.db &&
	cp o1/*.mule bad.mule && flip_byte bad.mule 300 &&
	sqlite3 b.db .dump >b.db.dump &&
	c bad 3 mule -d b.db unpack bad.mule &&
	c badv 3 mule -d b.db verify bad.mule &&
	c badvj 3 mule -d b.db verify --json bad.mule &&
	same b.db
'

test_expect_success 'the other commands: clone, recover, peer, schema, --eml, --json, -q' '
	c clone 0 mule clone a.db a2.db --name a2 &&
	c recover 0 mule -d a2.db recover &&
	c recpack 1 mule -d a2.db pack --to a -o o1/ &&
	c peerset 0 mule -d a.db peer set b email b@example.org &&
	c ident 0 mule -d a.db schema identify b.db &&
	c sstj 0 mule -d a.db schema status --json &&
	c sdiffj 0 mule -d a.db schema diff --json &&
	c srevj 0 mule -d a.db schema review --json &&
	sqlite3 a.db "INSERT INTO k VALUES ('"'x1'"', '"'y'"', 1)" &&
	c nofrom 1 mule -d a.db pack --to b --eml o1/ &&
	c from 0 mule -d a.db config mail.from a@example.org &&
	mkdir eml o2 &&
	c eml 0 mule -d a.db pack --to b --eml eml/ &&
	c packj 0 mule -d a.db pack --to b -o o2/ --json &&
	c packq 0 mule -d a.db pack --to b -o o2/ -q --full &&
	! test -s packq.out &&
	c unpq 0 mule -d b.db unpack -q o2 &&
	c unpj 0 mule -d b.db unpack --json o2 &&
	c reset 0 mule -d a.db share b --reset &&
	c mapr 0 mule -d b.db map a t2 --remove &&
	c untrack 0 mule -d a.db untrack t2 &&
	c badkey 2 mule -d a.db config sync.nothing 1 &&
	c export 0 mule -d a.db id --export key.txt &&
	c noconf 1 mule -d a.db conflicts resolve 999 --keep local &&
	c nomail 1 mule -d b.db unpack --mail &&
	c peerrm 0 mule -d a2.db peer remove a
'

test_expect_success 'LANG=C alone (LC_ALL unset) also gives ASCII' '
	env -u LC_ALL -u LC_CTYPE LANG=C mule -d b.db schema log >lang.out &&
	test_grep lang.out "^ +1  [0-9a-f]{16}\.\.\.  " &&
	env -u LC_ALL -u LC_CTYPE LANG=C mule -d b.db log >lang.out &&
	ascii lang.out
'

test_expect_success 'under UTF-8 the ellipsis and grouped thousands stay' '
	u logu 0 mule -d b.db log -n 100 &&
	test_grep logu.out "1,500 inserted" &&
	u inspu 0 mule -d b.db inspect o1/*.mule &&
	test_grep inspu.out "^top +[0-9a-f]{8}$ELL:[0-9]+$"
'

test_done
