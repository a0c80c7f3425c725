#!/bin/sh
# The spool (issue 13, item 8).  Parts are not signed: anyone can make one
# whose header checksum is right.  So what waits in DB.mule-spool is
# bounded (spool.max-size, the free space of the disk, two copies of a
# part at most), incomplete bundles expire (spool.expire-days), and the
# first data part, which carries the bundle's outer header, keeps out the
# bundles of other sites and of strangers.  A part refused by mail stays
# in the mailbox.  Each refusal leaves b's database and its spool as they
# were.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

# forge SRC DST FIELD=VALUE...: a part made the way an attacker makes one,
# from a real part: id=random (a new bundle id), payload=random (new bytes,
# their hash in the header), flip=N (payload byte N changed, the hash
# left: a damaged copy), size=N (a one-part bundle of N bytes whose file is
# sparse).  The header checksum is always made to match.
forge() {
	python3 - "$@" <<-'PYEOF'
	import hashlib, os, struct, sys
	src, dst = sys.argv[1], sys.argv[2]
	data = bytearray(open(src, "rb").read())
	h, payload, sparse = data[:143], data[143:], None
	def b2(x):
	    return hashlib.blake2b(bytes(x), digest_size=32).digest()
	for arg in sys.argv[3:]:
	    k, v = arg.split("=", 1)
	    if k == "id":
	        h[9:25] = os.urandom(16)
	    elif k == "payload":
	        payload = bytearray(os.urandom(len(payload)))
	        h[79:111] = b2(payload)
	    elif k == "flip":
	        payload[int(v)] ^= 0x55
	    elif k == "size":
	        sparse = int(v)
	        h[25:33] = struct.pack(">Q", sparse)
	        h[65:71] = struct.pack(">HHH", 1, 0, 0)
	        h[71:79] = struct.pack(">Q", sparse)
	h[111:143] = b2(h[:111])
	with open(dst, "wb") as f:
	    f.write(h)
	    if sparse is None:
	        f.write(payload)
	    else:
	        f.truncate(143 + sparse)
	PYEOF
}

# spool_state: the part files of b's spool with their hashes.  (A bundle
# refused by its first part leaves a marker, .refused, in its directory;
# the tests that expect one look for it.)
spool_state() {
	if [ -d b.db.mule-spool ]; then
		(cd b.db.mule-spool && find . -type f -name "*.mule-part*" |
		    LC_ALL=C sort | xargs -r sha256sum)
	fi
}

# marked: b's spool holds the marker of exactly one refused bundle.
marked() { test "$(find b.db.mule-spool -name .refused | wc -l)" = 1; }

# nparts: how many part files b's spool holds.
nparts() { find b.db.mule-spool -name '*.mule-part*' 2>/dev/null | wc -l; }

# keep: b's database and spool now, for unchanged.
keep() { sqlite3 b.db .dump >db.before && spool_state >spool.before; }

# unchanged: b's database and spool are what keep saw.
unchanged() {
	sqlite3 b.db .dump >db.after && test_cmp db.before db.after &&
	spool_state >spool.after && test_cmp spool.before spool.after
}

# rows N: N new rows of 60000 random bytes at a.db (ids from $2).
rows() {
	python3 -c "
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n, first = int(sys.argv[2]), int(sys.argv[3])
c.executemany(\"INSERT INTO t VALUES (?, ?)\",
    [(i, os.urandom(60000)) for i in range(first, first + n)])
c.commit()" "$1" "$2" "$3"
}

test_expect_success 'setup: a bundle for b, one for c, one from a stranger, in 1M parts' '
	pair_with "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)" &&
	add_site c &&
	mule init evil.db --name evil >/dev/null &&
	mule -d evil.db peer add b "$(mule -d b.db id --json | json_get key)" >/dev/null &&
	sqlite3 evil.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)" &&
	mule -d evil.db track --all >/dev/null 2>&1 &&
	rows a.db 50 0 && rows evil.db 50 0 &&
	mkdir ab ac ev &&
	mule -d a.db pack --to b -o ab/ --volume-size 1M >/dev/null &&
	mule -d a.db pack --to c -o ac/ --volume-size 1M >/dev/null &&
	mule -d evil.db pack --to b -o ev/ --volume-size 1M >/dev/null &&
	test "$(ls ab | wc -l)" = 3 && test "$(ls ac | wc -l)" = 3 &&
	test "$(ls ev | wc -l)" = 3
'

test_expect_success 'spool settings: checked, stored, listed' '
	s=$(file_sum b.db) &&
	test_expect_code 2 mule -d b.db config spool.max-size 12x 2>err &&
	test_grep err "spool.max-size is a size from 1M to 1000G" &&
	test_expect_code 2 mule -d b.db config spool.max-size 100k 2>err &&
	test_expect_code 2 mule -d b.db config spool.expire-days 0 2>err &&
	test_grep err "spool.expire-days is a whole number of days from 1 to 3650" &&
	test_expect_code 2 mule -d b.db config spool.expire-days 3651 2>err &&
	test_expect_code 2 mule -d b.db config spool.colour 2>err &&
	test_grep err "unknown setting .spool.colour." &&
	test "$(file_sum b.db)" = "$s" &&
	mule -d b.db config spool.max-size 4M &&
	mule -d b.db config spool.expire-days 30 &&
	mule -d b.db config >list &&
	test_grep list "^spool.max-size = 4M" &&
	test_grep list "^spool.expire-days = 30"
'

test_expect_success '20 forged 1 MiB parts: the spool takes them up to spool.max-size' '
	mkdir forged &&
	for i in $(seq 1 20); do
		forge ab/*.d002-* forged/f$i.d002-of-003.mule-part id=random \
		    payload=random || exit 1
	done &&
	sqlite3 b.db .dump >db.before &&
	test_expect_code 1 mule -d b.db unpack forged >out 2>err &&
	test_grep err "not kept: the spool .*b.db.mule-spool holds .*, and with this part .* it would pass spool.max-size \(4M\).*mule config spool.max-size SIZE" &&
	test "$(grep -c "not kept" err)" = 16 &&
	test "$(nparts)" = 4 &&
	test "$(find b.db.mule-spool -type f -printf "%s\n" | awk "{s+=\$1} END {print s}")" -le 4096000 &&
	sqlite3 b.db .dump >db.after && test_cmp db.before db.after
'

test_expect_success 'a refused run leaves the spool as it was; status lists the incomplete bundles' '
	keep &&
	test_expect_code 1 mule -d b.db unpack forged >out 2>err &&
	test "$(grep -c "not kept" err)" = 16 &&
	unchanged &&
	mule -d b.db status >st &&
	test "$(grep -c "^incomplete bundle [0-9a-f]*…: have d002; missing d001 d003; 2 more parts needed; its first part came [0-9]* minutes ago" st)" = 4 &&
	mule -d b.db status --json >st.json &&
	json_true "len(v[\"incomplete\"]) == 4 and all(g[\"since\"] > 0 and g[\"needed\"] == 2 for g in v[\"incomplete\"])" <st.json
'

test_expect_success 'incomplete bundles expire after spool.expire-days, and unpack says so' '
	find b.db.mule-spool -type f -exec touch -d "40 days ago" {} + &&
	mule -d b.db status >st &&
	test "$(grep -c "first part came 40 days ago" st)" = 4 &&
	mkdir empty &&
	mule -d b.db config spool.expire-days 60 &&
	mule -d b.db unpack empty >out &&
	! test_grep out "removed from the spool" 2>/dev/null &&
	test "$(nparts)" = 4 &&
	mule -d b.db config spool.expire-days 30 &&
	mule -d b.db unpack --dry-run empty >out &&
	test "$(nparts)" = 4 &&
	sqlite3 b.db .dump >db.before &&
	mule -d b.db unpack empty >out &&
	test "$(grep -c "^bundle [0-9a-f]*…: removed from the spool, incomplete after 30 days or more (spool.expire-days); it had d002 of its 3 data parts" out)" = 4 &&
	! test -e b.db.mule-spool &&
	sqlite3 b.db .dump >db.after && test_cmp db.before db.after
'

test_expect_success 'a sparse part claiming 1 TiB is refused before anything is written' '
	mkdir huge &&
	forge ab/*.d002-* huge/h.d001-of-001.mule-part id=random size=1099511627776 &&
	keep &&
	test_expect_code 1 mule -d b.db unpack huge >out 2>err &&
	test_grep err "h.d001-of-001.mule-part: its bundle [0-9a-f]*… would need 1.0 TiB in the spool \(1 parts of 1.0 TiB\), more than spool.max-size \(4M\); the part is not kept" &&
	unchanged
'

test_expect_success 'a part whose size does not match its header is refused' '
	mkdir short long &&
	n=$(stat -c %s ab/*.d002-*) &&
	head -c 500000 ab/*.d002-* >short/s.d002-of-003.mule-part &&
	cat ab/*.d002-* ab/*.d003-* >long/l.d002-of-003.mule-part &&
	keep &&
	test_expect_code 1 mule -d b.db unpack short >out 2>err &&
	test_grep err "s.d002-of-003.mule-part is truncated: 500000 of $n bytes" &&
	test_expect_code 1 mule -d b.db unpack long >out 2>err &&
	test_grep err "l.d002-of-003.mule-part has $n bytes after its payload" &&
	unchanged
'

test_expect_success 'two different copies of a part at most; a good one replaces a damaged one' '
	mule -d b.db config spool.max-size 1G &&
	mkdir x1 x2 x3 &&
	forge ab/*.d002-* x1/c1.d002-of-003.mule-part flip=10 &&
	forge ab/*.d002-* x2/c2.d002-of-003.mule-part flip=20 &&
	forge ab/*.d002-* x3/c3.d002-of-003.mule-part flip=30 &&
	mule -d b.db unpack x1 >out && mule -d b.db unpack x2 >out &&
	test "$(nparts)" = 2 &&
	keep &&
	test_expect_code 1 mule -d b.db unpack x3 >out 2>err &&
	test_grep err "c3.d002-of-003.mule-part: not kept in the spool: it holds 2 different copies of part d002 of bundle [0-9a-f]*… already" &&
	unchanged &&
	mule -d b.db unpack ab >out &&
	test_grep out "applied bundle [0-9a-f]*… \(from 3 parts\) from a: 50 inserted" &&
	db_same a.db b.db &&
	! test -e b.db.mule-spool
'

test_expect_success 'parts of a bundle for another site: left in a directory, refused by name' '
	keep &&
	mule -d b.db unpack ac >out &&
	test_grep out "left 3 parts of bundles addressed to other sites \(not spooled\)" &&
	test "$(nparts)" = 0 &&
	sqlite3 b.db .dump >db.after && test_cmp db.before db.after &&
	rm -rf b.db.mule-spool && keep &&
	refuses 3 b.db "a-c-[0-9]*.d001-of-003.mule-part: not kept in the spool: its bundle [0-9a-f]*… is not addressed to this site$" \
	    mule -d b.db unpack ac/*.d001-* &&
	refuses 3 b.db "a-c-[0-9]*.d003-of-003.mule-part: not kept in the spool: its bundle [0-9a-f]*… \(as its first part showed\) is not addressed to this site$" \
	    mule -d b.db unpack ac/*.d003-* &&
	unchanged && marked
'

test_expect_success 'a first part coming last takes the parts of a bundle for another site out' '
	rm -rf b.db.mule-spool &&
	rows a.db 20 100 &&
	mkdir ac2 &&
	mule -d a.db pack --to c -o ac2/ --volume-size 1M >/dev/null &&
	mule -d b.db unpack ac2/*.d002-* >out &&
	test_grep out "waits in the spool" &&
	test "$(nparts)" = 1 &&
	s=$(file_sum b.db) &&
	test_expect_code 3 mule -d b.db unpack ac2/*.d001-* >out 2>err &&
	test_grep err "not addressed to this site" &&
	test "$(nparts)" = 0 && marked &&
	test "$(file_sum b.db)" = "$s" &&
	mule -d b.db status >st &&
	! grep -q "incomplete bundle" st
'

test_expect_success 'parts from a stranger are not spooled' '
	rm -rf b.db.mule-spool && keep &&
	refuses 3 b.db "evil-b-0001.d001-of-003.mule-part: not kept in the spool: its bundle [0-9a-f]*… says it is signed by an unknown key \(key id [0-9a-f]{16}\); if you trust the sender, add it with .mule peer add NAME KEY. and unpack again" \
	    mule -d b.db unpack ev &&
	test "$(grep -c "not kept in the spool" err)" = 3 &&
	unchanged && marked
'

test_expect_success 'a first part that holds no bundle header is refused' '
	rm -rf b.db.mule-spool && mkdir junk &&
	forge ab/*.d001-* junk/j.d001-of-003.mule-part id=random payload=random &&
	keep &&
	test_expect_code 1 mule -d b.db unpack junk >out 2>err &&
	test_grep err "j.d001-of-003.mule-part: not kept in the spool: its bundle [0-9a-f]*… is no mule bundle: its first part does not start with a bundle header" &&
	unchanged && marked
'

# A small disk: b's database on a tmpfs of 40 MiB.
small_ok=no
if mkdir -p smallmnt && mount -t tmpfs -o size=40m tmpfs smallmnt 2>/dev/null; then
	small_ok=yes
fi
if [ $small_ok = yes ]; then
	test_expect_success 'a part that would leave the disk with less than 32 MiB free is refused' '
		cp -p b.db b.db.mule-key smallmnt/ &&
		dd if=/dev/zero of=smallmnt/filler bs=1M count=10 2>/dev/null &&
		s=$(file_sum smallmnt/b.db) &&
		test_expect_code 1 mule -d smallmnt/b.db unpack ab/*.d002-* >out 2>err &&
		test_grep err "not kept: the disk of .*smallmnt/b.db.mule-spool has .* free, and the spool leaves 32.0 MiB free at least" &&
		! test -e smallmnt/b.db.mule-spool &&
		test "$(file_sum smallmnt/b.db)" = "$s"
	'
	umount smallmnt
else
	test_skip 'a part that would leave the disk with less than 32 MiB free is refused' \
	    'cannot mount a small tmpfs here'
fi

test_expect_success 'by mail: refused parts stay in the mailbox, spooled ones go' '
	rm -rf b.db.mule-spool &&
	mkdir -p md/new md/cur md/tmp em ee &&
	mule -d b.db config mail.inbox "maildir:$PWD/md" &&
	mule -d b.db config mail.after-fetch delete &&
	for s in a evil; do
		mule -d $s.db config mail.from $s@example.org &&
		mule -d $s.db config mail.max-size 300k &&
		mule -d $s.db peer set b email b@example.org >/dev/null || exit 1
	done &&
	sqlite3 evil.db "UPDATE t SET v = randomblob(60000) WHERE id < 10" &&
	mule -d evil.db pack --to b --eml ee >out &&
	test_grep out "wrote 3 messages" &&
	cp ee/*.eml md/new/ &&
	keep &&
	refuses 3 b.db "mail message 1.: not kept in the spool: its bundle [0-9a-f]*… says it is signed by an unknown key" \
	    mule -d b.db unpack --mail &&
	test_grep refuses.out "fetched 3 mule messages from maildir:.*; 0 deleted" &&
	test "$(ls md/new md/cur | grep -c eml)" = 3 &&
	unchanged && marked &&
	rm -r md/new/* b.db.mule-spool &&
	sqlite3 a.db "UPDATE t SET v = randomblob(60000) WHERE id < 10" &&
	mule -d a.db pack --to b --eml em >out &&
	test_grep out "wrote [0-9]+ messages" &&
	n=$(ls em | wc -l) && test "$n" -gt 1 &&
	cp em/*.eml md/new/ &&
	mule -d b.db config spool.max-size 1M &&
	keep &&
	refuses 1 b.db "would need .* in the spool .*, more than spool.max-size \(1M\)" \
	    mule -d b.db unpack --mail &&
	test "$(ls md/new md/cur | grep -c eml)" = "$n" &&
	unchanged &&
	mule -d b.db config spool.max-size 1G &&
	mule -d b.db unpack --mail >out &&
	test_grep out "applied bundle" &&
	test_grep out "$n deleted" &&
	test "$(ls md/new md/cur | grep -c eml)" = 0 &&
	db_same a.db b.db
'

test_done
