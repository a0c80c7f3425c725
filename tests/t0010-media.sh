#!/bin/sh
# Removable media: parts with Reed-Solomon parity, one floppy at a time,
# repaired parts, a full medium, ISO images.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# Several MiB of incompressible rows at a.
test_expect_success 'setup: a bundle of several MiB' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)" &&
	python3 -c "
import os, sqlite3
c = sqlite3.connect(\"a.db\")
c.executemany(\"INSERT INTO t VALUES (?, ?)\", [(i, os.urandom(60000)) for i in range(70)])
c.commit()" &&
	s=$(file_sum b.db) && echo "$s" >b.sum
'

test_expect_success 'pack on 1440k volumes with 2 parity parts' '
	mkdir parts &&
	mule -d a.db pack --to b -o parts/ --volume-size 1440k --parity 2 >out &&
	test_grep out "needs [0-9]+ media of 1440k" &&
	n=$(ls parts | wc -l) && test "$n" -ge 5 &&
	for f in parts/*; do test "$(stat -c %s "$f")" -le 1474560 || exit 1; done &&
	ls parts | grep -q "\.d001-of-0.*\.mule-part$" &&
	ls parts | grep -q "\.p002-of-002\.mule-part$"
'

test_expect_success 'any two lost, the rest over three directories: applies once complete' '
	cp -r parts keep &&
	ls parts >all && nd=$(grep -c "\.d" all) &&
	rm parts/*.d002-* parts/*.p001-* &&
	mkdir d1 d2 d3 &&
	set -- parts/* && mv "$1" d1/ && shift &&
	for f in "$@"; do echo "$f"; done >rest &&
	head -n 1 rest | xargs -I{} mv {} d2/ &&
	mv parts/* d3/ &&
	mule -d b.db unpack d1 >o1 &&
	test_grep o1 "waits in the spool" &&
	test "$(file_sum b.db)" = "$(cat b.sum)" &&
	mule -d b.db status >st &&
	test_grep st "incomplete bundle" &&
	mule -d b.db unpack d2 >o2 &&
	test_grep o2 "waits in the spool|applied" &&
	mule -d b.db unpack d3 >o3 &&
	test_grep o3 "rebuilt from" &&
	test_grep o3 "applied bundle" &&
	db_same a.db b.db &&
	! test -d b.db.mule-spool
'

test_expect_success 'three lost: a clear list of what is missing, nothing applied' '
	rm -rf parts2 b2 && mkdir parts2 &&
	sqlite3 a.db "UPDATE t SET v = randomblob(60000) WHERE id < 30" &&
	mule -d a.db pack --to b -o parts2/ --volume-size 1440k --parity 2 >/dev/null &&
	s=$(file_sum b.db) &&
	mkdir hold && mv parts2/*.d001-* parts2/*.p001-* parts2/*.p002-* hold/ &&
	mule -d b.db unpack parts2 >o &&
	test_grep o "missing: d001 p001 p002" &&
	test_grep o "1 more" &&
	test "$(file_sum b.db)" = "$s" &&
	mule -d b.db unpack hold/*.p002-* >o &&
	test_grep o "applied" &&
	db_same a.db b.db
'

test_expect_success 'bytes overwritten inside a part are detected and repaired' '
	rm -rf parts3 && mkdir parts3 &&
	sqlite3 a.db "UPDATE t SET v = randomblob(60000) WHERE id >= 40" &&
	mule -d a.db pack --to b -o parts3/ --volume-size 1440k --parity 2 >/dev/null &&
	f=$(ls parts3/*.d002-*) &&
	python3 -c "
import sys
p = sys.argv[1]
b = bytearray(open(p, \"rb\").read())
for i in range(1000, 1100): b[i] ^= 0x5a
open(p, \"wb\").write(b)" "$f" &&
	mule -d b.db unpack parts3 >o &&
	test_grep o "rebuilt from" &&
	db_same a.db b.db
'

test_expect_success 'a part whose header is damaged is not trusted' '
	rm -rf parts4 && mkdir parts4 &&
	sqlite3 a.db "UPDATE t SET v = randomblob(60000) WHERE id = 1" &&
	mule -d a.db pack --to b -o parts4/ --volume-size 1440k >/dev/null &&
	for f in parts4/*; do flip_byte "$f" 40; done &&
	s=$(file_sum b.db) &&
	test_must_fail mule -d b.db unpack parts4 2>err &&
	test "$(file_sum b.db)" = "$s"
'

test_expect_success 'bad sizes and options are refused' '
	test_expect_code 2 mule -d a.db pack --to b --volume-size 12q 2>err &&
	test_grep err "not a size" &&
	test_expect_code 2 mule -d a.db pack --to b --parity 2 2>err &&
	test_grep err "needs --volume-size" &&
	rm -rf p5 && mkdir p5 && s=$(file_sum a.db) &&
	test_must_fail mule -d a.db pack --to b -o p5/ --volume-size 100 2>err &&
	test -z "$(ls -A p5)" &&
	test_grep err "volume"
'

ro_ok=no
if mkdir -p fullmnt && mount -t tmpfs -o size=1m tmpfs fullmnt 2>/dev/null; then
	ro_ok=yes
fi
if [ $ro_ok = yes ]; then
	test_expect_success 'a full medium: clean error, nothing left, changes go out next time' '
		sqlite3 a.db "UPDATE t SET v = randomblob(60000) WHERE id < 20" &&
		test_must_fail mule -d a.db pack --to b -o fullmnt/ --volume-size 1440k 2>err &&
		test_grep err "space" &&
		test -z "$(ls -A fullmnt)" &&
		mkdir big &&
		mule -d a.db pack --to b -o big/ --volume-size 1440k >/dev/null &&
		mule -d b.db unpack big >/dev/null &&
		db_same a.db b.db
	'
	umount fullmnt
else
	test_skip 'a full medium: clean error, nothing left, changes go out next time' \
	    'cannot mount a small tmpfs here'
fi

test_expect_success 'ISO image round trip; bsdtar lists it' '
	sqlite3 a.db "INSERT INTO t VALUES (1000, x'"'00ff'"')" &&
	mule -d a.db pack --to b --iso one.iso >out &&
	test_grep out "one.iso" &&
	bsdtar -tf one.iso | grep -q "a-b-.*\.mule$" &&
	mule -d b.db unpack one.iso >o &&
	test_grep o "applied" &&
	db_same a.db b.db
'

test_expect_success 'ISO image of parts' '
	sqlite3 a.db "UPDATE t SET v = randomblob(60000) WHERE id < 40" &&
	mule -d a.db pack --to b --iso parts.iso --volume-size 1440k --parity 1 >out &&
	bsdtar -tf parts.iso | grep -c "mule-part$" >n && test "$(cat n)" -ge 3 &&
	mule -d b.db unpack parts.iso >o &&
	test_grep o "applied" &&
	db_same a.db b.db
'

test_done
