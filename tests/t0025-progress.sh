#!/bin/sh
# Issue 16 items 10-12: one progress line (on a terminal only), parts named
# by their bundle's file name and counted in full, mule log -n / --peer /
# order / where a bundle came from, bash completion, make install.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# on_tty FILE CMD...: runs CMD with stdout to FILE.out and stderr on a
# pseudo-terminal (script(1)); what reached the terminal goes to FILE.tty.
# The exit status is CMD's.
on_tty() {
	_f=$1 && shift &&
	script -qec "$* >$_f.out" "$_f.tty" >/dev/null </dev/null
}

test_expect_success 'setup: a and b, 3 MiB of rows at a' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);
	    CREATE TABLE u(id TEXT PRIMARY KEY, w TEXT)" &&
	python3 -c "
import os, sqlite3
c = sqlite3.connect(\"a.db\")
c.executemany(\"INSERT INTO t VALUES (?, ?)\", [(i, os.urandom(50000)) for i in range(60)])
c.commit()"
'

test_expect_success 'progress on a terminal: every phase, count of total and percent, on stderr only' '
	mkdir parts &&
	on_tty pk mule -d a.db pack --to b -o parts/ --volume-size 1440k --parity 1 &&
	tr "\r" "\n" <pk.tty >pk.lines &&
	test_grep pk.lines "^scanning(\.\.\.|: 0 of [0-9]+ rows \(0%\))" &&
	test_grep pk.lines "^scanning: 60 of 60 rows \(100%\)" &&
	test_grep pk.lines "^packing\.\.\." &&
	test_grep pk.lines "^compressing and encrypting: 0 B of [0-9.]+ MiB \(0%\)" &&
	test_grep pk.lines "^compressing and encrypting: ([0-9.]+ MiB) of \1 \(100%\)" &&
	test_grep pk.lines "^writing parts: 0 B of [0-9.]+ MiB \(0%\)" &&
	test_grep pk.lines "^writing parts: ([0-9.]+ MiB) of \1 \(100%\)" &&
	# the line is cleared before the result is printed, on stdout
	test_grep pk.out "^packed 60 changes" &&
	! grep -q "$(printf "\r")" pk.out &&
	! grep -q "packing" pk.out
'

test_expect_success 'progress of unpack on a terminal: checking the signature, applying N of N rows' '
	s=$(file_sum b.db) &&
	on_tty up mule -d b.db unpack parts/ &&
	tr "\r" "\n" <up.tty >up.lines &&
	test_grep up.lines "^checking the signature\.\.\." &&
	test_grep up.lines "^applying: 0 of [0-9]+ rows \(0%\)" &&
	test_grep up.lines "^applying: ([0-9]+) of \1 rows \(100%\)" &&
	test_grep up.lines "^committing\.\.\." &&
	test_grep up.out "applied bundle" &&
	db_same a.db b.db
'

test_expect_success 'progress on a terminal: an ISO image, and the scan of track' '
	sqlite3 a.db "UPDATE t SET v = randomblob(1000) WHERE id = 1" &&
	on_tty iso mule -d a.db pack --to b --iso t.iso &&
	tr "\r" "\n" <iso.tty >iso.lines &&
	test_grep iso.lines "^writing image: 0 B of [0-9.]+ KiB \(0%\)" &&
	test_grep iso.lines "^writing image: ([0-9.]+ KiB) of \1 \(100%\)" &&
	test_grep iso.out "^packed 1 change in 1 table.* → t\.iso" &&
	on_tty ui mule -d b.db unpack t.iso &&
	tr "\r" "\n" <ui.tty >ui.lines &&
	test_grep ui.lines "^reading image\.\.\." &&
	test_grep ui.out "^applied t\.iso: a-b-[0-9]+\.mule from a" &&
	mule init tr.db >/dev/null &&
	sqlite3 tr.db "CREATE TABLE w(id TEXT PRIMARY KEY, x TEXT);
	    INSERT INTO w VALUES (\"x\", \"y\")" &&
	on_tty tr mule -d tr.db track --all &&
	tr "\r" "\n" <tr.tty >tr.lines &&
	test_grep tr.lines "^scanning(\.\.\.|: 1 of 1 rows \(100%\))" &&
	test_grep tr.out "^tracking w"
'

test_expect_success 'no terminal: nothing at all on stderr (track, pack, parts, unpack)' '
	mule init solo.db >/dev/null &&
	sqlite3 solo.db "CREATE TABLE w(id TEXT PRIMARY KEY, x TEXT);
	    INSERT INTO w VALUES (\"x\", \"y\")" &&
	mule -d solo.db track --all >out 2>err && test ! -s err &&
	test_grep out "tracking w" &&
	sqlite3 a.db "INSERT INTO u VALUES (\"x\", \"y\")" &&
	sqlite3 a.db "UPDATE t SET v = randomblob(50000) WHERE id < 30" &&
	rm -rf p2 && mkdir p2 &&
	mule -d a.db pack --to b -o p2/ --volume-size 1440k --parity 1 >out 2>err &&
	test ! -s err &&
	mule -d a.db pack --to b --iso a.iso >out 2>err && test ! -s err &&
	mule -d b.db unpack p2/ >out 2>err && test ! -s err &&
	mule -d b.db unpack a.iso >out 2>err && test ! -s err
'

test_expect_success 'a split says the size of all its parts, parity and headers too' '
	rm -rf p3 && mkdir p3 &&
	sqlite3 a.db "UPDATE t SET v = randomblob(50000) WHERE id >= 30" &&
	mule -d a.db pack --to b -o p3/ --volume-size 1440k --parity 2 >out &&
	want=$(python3 -c "
import os, sys
n = sum(os.path.getsize(os.path.join(\"p3\", f)) for f in os.listdir(\"p3\"))
print(\"%.1f MiB in all\" % (n / 1048576.0))") &&
	test_grep out "2 parity, $want\)" &&
	mule -d b.db unpack p3/ >/dev/null
'

test_expect_success 'parts messages and the log name the bundle file, not only its id' '
	rm -rf p4 hold && mkdir p4 hold &&
	sqlite3 a.db "UPDATE t SET v = randomblob(50000) WHERE id < 40" &&
	mule -d a.db pack --to b -o p4/ --volume-size 1440k --parity 1 >out &&
	name=$(ls p4 | sed -n "1s/\.d001-of-.*//p") &&
	test -n "$name" &&
	test_grep out "^packed 40 changes in 1 table.* → $name as 3 parts in p4/ \(2 data \+ 1 parity, " &&
	s=$(file_sum b.db) &&
	mv p4/*.d001-* p4/*.p001-* hold/ &&
	mule -d b.db unpack p4/ >o1 &&
	test_grep o1 "^bundle $name: 1 of the [0-9]+ parts needed are here" &&
	test "$(file_sum b.db)" = "$s" &&
	mule -d b.db unpack hold/ >o2 &&
	test_grep o2 "^bundle $name: rebuilt from [0-9]+ of its [0-9]+ parts" &&
	mule -d b.db log -n 1 >log &&
	test_grep log "recv +a .*\($name \(rebuilt from [0-9]+ parts\)\)$" &&
	mule -d a.db log -n 1 >log &&
	test_grep log "sent +b .*\(p4/$name\.\*\.mule-part \(3 parts\)\)$"
'

test_expect_success 'log names an ISO image, not the scratch directory it was read from' '
	sqlite3 a.db "UPDATE u SET w = \"iso\"" &&
	mule -d a.db pack --to b --iso x.iso >out &&
	mule -d b.db unpack x.iso >out &&
	test_grep out "^applied x\.iso: a-b-[0-9]+\.mule from a" &&
	mule -d b.db log -n 1 >log &&
	test_grep log "recv +a .*\(x\.iso: a-b-[0-9]+\.mule\)$" &&
	! grep -q "mule-iso" log &&
	mule -d a.db log -n 1 >log &&
	test_grep log "sent +b .*\(x\.iso: a-b-[0-9]+\.mule\)$" &&
	mule -d b.db unpack x.iso >out &&
	test_grep out "applied before"
'

test_expect_success 'log: newest first, -n N, --reverse; --json keeps the order the log grew' '
	mule -d a.db log >all &&
	test "$(wc -l <all)" -ge 5 &&
	awk "{ print \$5 }" all >seqs &&
	sort -t"#" -k2 -n -r seqs >want && test_cmp want seqs &&
	mule -d a.db log -n 2 >two &&
	head -n 2 all >want && test_cmp want two &&
	mule -d a.db log -n 2 --reverse >rev &&
	head -n 2 all | tac >want && test_cmp want rev &&
	mule -d a.db log --json >j &&
	json_true "[e[\"seq\"] for e in v if e[\"dir\"] == \"sent\"] == sorted(e[\"seq\"] for e in v if e[\"dir\"] == \"sent\")" <j &&
	mule -d a.db log --json -n 1 >j1 &&
	json_true "len(v) == 1 and v[0][\"dir\"] == \"sent\" and v[0][\"file\"].startswith(\"x.iso: \")" <j1
'

test_expect_success 'log --peer NAME: only that peer, also in bundles to several' '
	add_site c &&
	sqlite3 a.db "UPDATE u SET w = \"both\"" &&
	mule -d a.db pack --to b,c -o . >out &&
	mule -d a.db log --peer c >lc &&
	test "$(wc -l <lc)" = 1 &&
	test_grep lc "sent +b\+c " &&
	mule -d a.db log --peer b -n 1 >lb &&
	test_grep lb "sent +b\+c " &&
	mule -d c.db log --peer a >none &&
	test_grep none "^no bundles sent to or received from a yet$" &&
	mule -d a.db log --peer b --json | json_true "all(\"b\" in e[\"peer\"].split(\"+\") for e in v) and len(v) > 3"
'

test_expect_success 'log refuses a bad -n and an unknown peer, and changes nothing' '
	sqlite3 a.db .dump >before &&
	test_expect_code 2 mule -d a.db log -n 0 >out 2>err &&
	test_grep err "^mule: -n takes a number of bundles, 1 or more, not .0.$" &&
	test ! -s out &&
	test_expect_code 2 mule -d a.db log -n ten >out 2>err &&
	test_grep err "not .ten.$" &&
	test_expect_code 1 mule -d a.db log --peer B >out 2>err &&
	test_grep err "^mule: no peer .B.; did you mean .b.\?" &&
	test ! -s out &&
	test_expect_code 1 mule -d a.db log --peer nobody --json >out 2>err &&
	test_grep err "^mule: no peer .nobody." &&
	test ! -s out &&
	test_expect_code 2 mule -d a.db log extra >out 2>err &&
	test_grep err "^usage: mule log" &&
	sqlite3 a.db .dump >after &&
	test_cmp before after
'

# complete WORD...: the words bash completion offers for the command line
# "WORD..." (the last one being completed), one a line.
complete_words() {
	bash -c '. "$1/completion/mule.bash" && shift &&
	    COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && COMPREPLY=() &&
	    { _mule; [ "${#COMPREPLY[@]}" -eq 0 ] ||
	    printf "%s\n" "${COMPREPLY[@]}"; }' complete "$SRC_DIR" "$@"
}

test_expect_success 'bash completion: commands, sub-commands, options' '
	complete_words mule p >got &&
	printf "peer\npack\n" >want && test_cmp want got &&
	complete_words mule -d a.db peer "" >got &&
	printf "add\nlist\nremove\nset\n" >want && test_cmp want got &&
	complete_words mule conflicts "" >got &&
	printf "resolve\n" >want && test_cmp want got &&
	complete_words mule log -- >got &&
	printf -- "--peer\n--reverse\n--json\n--help\n" >want && test_cmp want got &&
	complete_words mule pack --vo >got &&
	printf -- "--volume-size\n" >want && test_cmp want got &&
	complete_words mule conflicts resolve 1 --keep "" >got &&
	printf "local\nremote\n" >want && test_cmp want got &&
	complete_words mule help unp >got &&
	printf "unpack\n" >want && test_cmp want got
'

test_expect_success 'bash completion: peer and table names from the database (-d or MULE_DB)' '
	complete_words mule -d a.db pack --to "" >got &&
	printf "b\nc\n" >want && test_cmp want got &&
	complete_words mule -d a.db pack --to b,c,b >got &&
	printf "b,c,b\n" >want && test_cmp want got &&
	complete_words mule -d a.db pack --to "b," >got &&
	printf "b,b\nb,c\n" >want && test_cmp want got &&
	complete_words mule -d a.db log --peer "" >got &&
	printf "b\nc\n" >want && test_cmp want got &&
	complete_words mule -d a.db track "" >got &&
	printf "t\nu\n" >want && test_cmp want got &&
	MULE_DB=a.db complete_words mule share c "" >got &&
	printf "t\nu\n" >want && test_cmp want got &&
	complete_words mule -d nothere.db track "" >got &&
	test ! -s got &&
	test ! -e nothere.db
'

test_expect_success 'make install puts the completion under DESTDIR/PREFIX; uninstall removes it' '
	make -s -o mule -C "$SRC_DIR" install DESTDIR="$PWD/stage" PREFIX=/opt/m >out 2>&1 &&
	f=stage/opt/m/share/bash-completion/completions/mule &&
	test_cmp "$SRC_DIR/completion/mule.bash" "$f" &&
	test "$(stat -c %a "$f")" = 644 &&
	test -x stage/opt/m/bin/mule &&
	test -f stage/opt/m/share/man/man1/mule.1 &&
	make -s -o mule -C "$SRC_DIR" uninstall DESTDIR="$PWD/stage" PREFIX=/opt/m >out 2>&1 &&
	test ! -e "$f"
'

test_expect_success 'mule --help says how to read the manual' '
	mule --help >out &&
	test_grep out "(.man mule.|.man \./man/mule\.1. \(in the source tree; .make install. installs it\)) tells all"
'

test_done
