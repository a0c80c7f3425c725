#!/bin/sh
# Version vectors coded against a reference (issue 15 item 9; manifest
# format 2, mule-bundle(5)): a bundle's vectors are written as the few
# origins where they differ from the vector the recipient itself stated
# in its newest bundle the sender applied.  A star of 12 sites (hq, two
# hubs, nine field sites: f1-f5 at h1, f6-f9 at h2) runs several rounds
# of small edits: it converges, and a small bundle stays small while the
# origins grow.  A bundle coded against a bundle the recipient no longer
# holds is refused with nothing changed, and the one --resend packs then
# goes through.
. "$(dirname "$0")/lib/test-lib.sh"
. "$TEST_DIR/lib/sites.sh"

FIELDS="f1 f2 f3 f4 f5 f6 f7 f8 f9"
MORE=$(seq -w 1 20 | sed "s/^/g/")	# 20 more field sites at h2, later
hub_of() { case $1 in f[1-5]) echo h1 ;; *) echo h2 ;; esac; }

# go FROM TO NAME: FROM packs for TO into NAME.mule, TO applies it.
go() {
	mule -d "$1.db" pack --to "$2" -o "$3.mule" >/dev/null &&
	mule -d "$2.db" unpack "$3.mule" >"$3.out"
}

# round N: every field site inserts two rows and edits one of its own
# (no conflicts: a bundle's size is its changes and its vectors), then the
# changes travel field -> hub -> hq -> hub -> field.
round() {
	for f in $FIELDS; do
		sqlite3 $f.db "INSERT INTO t VALUES ('$f-$1-a', 'new'), ('$f-$1-b', 'new');
		    UPDATE t SET v = 'by $f in $1' WHERE id = '$f-1-a'" &&
		go $f "$(hub_of $f)" r$1.$f-up || return 1
	done &&
	go h1 hq r$1.h1-up && go h2 hq r$1.h2-up &&
	go hq h1 r$1.h1-down && go hq h2 r$1.h2-down &&
	for f in $FIELDS; do
		go "$(hub_of $f)" $f r$1.$f-down || return 1
	done
}

# vlines BUNDLE DB: the vector lines (base, top, ack) of BUNDLE's MANIFEST,
# read at its recipient DB.
vlines() {
	mule -d "$2" inspect --raw "$1" >raw.tzst &&
	zstd -qdc raw.tzst | tar -xOf - MANIFEST >manifest.txt &&
	grep -c -E '^(base|top|ack) ' manifest.txt
}

test_expect_success 'a star of 12 sites made with clone' '
	mule init hq.db --name hq >/dev/null &&
	sqlite3 hq.db "CREATE TABLE t(id TEXT PRIMARY KEY, v TEXT);
	    INSERT INTO t VALUES ('\''seed-1'\'', '\''start'\''), ('\''seed-2'\'', '\''start'\'')" &&
	mule -d hq.db track --all >/dev/null 2>&1 &&
	mule clone hq.db h1.db --name h1 >/dev/null &&
	mule clone hq.db h2.db --name h2 >/dev/null &&
	for f in $FIELDS; do
		mule clone "$(hub_of $f).db" $f.db --name $f >/dev/null || return 1
	done
'

test_expect_success 'four rounds of small edits converge at every site' '
	for r in 1 2 3 4; do round $r || return 1; done &&
	for s in h1 h2 $FIELDS; do db_same hq.db $s.db || return 1; done &&
	check_val hq.db "SELECT count(*) FROM t" 74
'

# 10 origins (hq and the field sites; the hubs make no changes): in full,
# base, top and ack would be 30 lines of at least 36 bytes ("top ", 32
# hex digits, " N"), 1080 bytes of MANIFEST for them alone.
test_expect_success 'a small bundle codes only the origins that differ: a few lines, not 3 per origin' '
	test "$(sqlite3 f1.db "SELECT count(*) FROM _mule_vectors WHERE peer = '\'''\'' AND kind = '\''known'\''")" -ge 10 &&
	n=$(vlines r4.f1-up.mule h1.db) && test "$n" -le 3 &&
	grep -q "^ref [1-9]" manifest.txt &&
	n=$(vlines r4.f6-down.mule f6.db) && test "$n" -le 14 &&
	n=$(vlines r4.h1-up.mule hq.db) && test "$n" -le 8 &&
	full=$((3 * 10 * 36)) &&
	test "$(wc -c <manifest.txt)" -lt "$full"
'

# With full vectors each new origin would add three lines to every bundle.
test_expect_success 'a small bundle does not grow with the origins: 20 more field sites (30 origins), the same size' '
	for g in $MORE; do
		mule clone h2.db $g.db --name $g >/dev/null || return 1
	done &&
	FIELDS="$FIELDS $MORE" && round 5 && round 6 &&
	test "$(sqlite3 f1.db "SELECT count(*) FROM _mule_vectors WHERE peer = '\'''\'' AND kind = '\''known'\''")" -ge 30 &&
	s4=$(wc -c <r4.f1-up.mule) && s6=$(wc -c <r6.f1-up.mule) &&
	echo "10 origins: $s4 bytes, 30 origins: $s6 bytes" &&
	test "$s6" -le $((s4 + 48)) &&
	n=$(vlines r6.f1-up.mule h1.db) && test "$n" -le 3
'

test_expect_success 'inspect at the recipient rebuilds the vectors: 10 origins' '
	mule -d h1.db inspect --json r4.f1-up.mule >insp.json &&
	json_true "len(v[\"top\"]) >= 10 and len(v[\"base\"]) >= 10" <insp.json
'

test_expect_success 'a bundle coded against a bundle the recipient no longer holds: refused, nothing changed; --resend packs one that goes through' '
	sqlite3 f2.db "UPDATE t SET v = '\''lost base'\'' WHERE id = '\''seed-2'\''" &&
	mule -d f2.db pack --to h1 -o lost.mule >/dev/null &&
	ref=$(mule -d h1.db inspect --raw lost.mule | zstd -qdc | tar -xOf - MANIFEST |
	    sed -n "s/^ref \([0-9]*\) .*/\1/p") &&
	test -n "$ref" &&
	sqlite3 h1.db "DELETE FROM _mule_bundles WHERE dir = '\''sent'\'' AND seq = $ref" &&
	refuses 1 h1.db "codes its vectors against bundle #$ref of this site, which this site does not hold" \
	    mule -d h1.db unpack lost.mule &&
	test_grep err "At f2: mule pack --resend --to h1" &&
	mule -d f2.db pack --to h1 --resend -o again.mule >/dev/null &&
	mule -d h1.db inspect --raw again.mule | zstd -qdc | tar -xOf - MANIFEST >m2 &&
	grep -q "^ref 0$" m2 &&
	mule -d h1.db unpack again.mule >out && test_grep out " 1 updated" &&
	check_val h1.db "SELECT v FROM t WHERE id = '\''seed-2'\''" "lost base" &&
	go h1 f2 back && go f2 h1 forth &&
	check_val h1.db "SELECT v FROM t WHERE id = '\''seed-2'\''" "lost base"
'

test_expect_success 'after the refusal the star still converges' '
	FIELDS="$FIELDS $MORE" && round 7 && round 8 &&
	for s in h1 h2 $FIELDS; do db_same hq.db $s.db || return 1; done
'

test_done
