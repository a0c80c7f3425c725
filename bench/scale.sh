#!/bin/sh
# bench/scale.sh — the scale line of `make bench` (issue 15 item 9):
# BENCH_SCALE_SITES sites (default 500) in a star through 10 hubs: hq,
# the hubs, and the rest field sites, each at one hub (field <-> its hub
# <-> hq).  BENCH_SCALE_ROUNDS rounds (default 3) of small edits: every
# field site inserts two rows and edits one, and the changes travel field
# -> hub -> hq -> hub -> field; the round after the first carries the
# changes of every origin, so vectors have all the sites' origins.
#
# Sites are made the way a deployment would: hq is initialized and tracks
# a table; the hubs are `mule clone`s of hq, each field site a clone of
# its hub (clone makes the two trust each other and starts them in sync).
#
# Prints, on stdout, one line for bench/run.sh's table (the first line),
# then lines for information:
#
#   fixed overhead of a bundle: its file size minus its changes' share,
#   the changes' share being the zstd -19 size (the bundle's own level) of
#   its row segments of tracked tables, cut out of the decrypted payload
#   (`mule inspect --raw` at the recipient).  What is left: the envelope
#   (header, recipients, signature), the tar headers, the MANIFEST (with
#   the vectors) and the digest segments.  Measured on the bundles of the
#   last round, per kind: field -> hub (a handful of changes: the budget,
#   <= 2 KiB, is on these), hub -> field, hub -> hq, hq -> hub (these carry
#   the changes of many origins, and a vector line for each of them).
#   state per site: bytes of the _mule_* tables and their indexes (dbstat).
#   time per round: wall clock of a whole round, every pack and unpack.
#
# Scratch files go to $BENCH_DIR/scale (default bench/work/scale).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MULE=${BENCH_MULE:-$ROOT/mule}	# BENCH_MULE: another build
SITES=${BENCH_SCALE_SITES:-500}
ROUNDS=${BENCH_SCALE_ROUNDS:-3}
HUBS=10
[ "$SITES" -lt 23 ] && HUBS=$(( (SITES - 1) / 3 ))
[ "$HUBS" -lt 1 ] && HUBS=1
FIELDS=$((SITES - 1 - HUBS))
if [ "$FIELDS" -lt 1 ]; then
	echo "bench/scale.sh: BENCH_SCALE_SITES must be at least 3" >&2
	exit 2
fi
W=${BENCH_DIR:-$ROOT/bench/work}/scale
rm -rf "$W"
mkdir -p "$W"
cd "$W"

say() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
hub_of() { echo $(( ($1 - 1) % HUBS + 1 )); }

say "bench: scale: $SITES sites (hq, $HUBS hubs, $FIELDS field sites)"
t0=$(now)
"$MULE" init hq.db --name hq >/dev/null
sqlite3 hq.db "CREATE TABLE t(id TEXT PRIMARY KEY, site TEXT, n INTEGER,
    note TEXT);
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
    WHERE i < 1000) INSERT INTO t SELECT 'seed-' || i, 'hq', i,
    'seed row ' || i FROM s;"
"$MULE" -d hq.db track --all >/dev/null 2>&1
h=1
while [ $h -le $HUBS ]; do
	"$MULE" clone hq.db h$h.db --name h$h >/dev/null
	h=$((h + 1))
done
i=1
while [ $i -le $FIELDS ]; do
	"$MULE" clone h$(hub_of $i).db f$i.db --name f$i >/dev/null
	i=$((i + 1))
done
setup_secs=$(awk "BEGIN{printf \"%.1f\", $(now) - $t0}")

# One round: edits, then field -> hub -> hq -> hub -> field.  Bundles go
# to r$1/KIND/ (up: field -> hub, by hub; hq: hub -> hq; down: hq -> hub;
# out: hub -> field).
round() {
	r=$1
	mkdir -p r$r/hq r$r/down r$r/out
	h=1
	while [ $h -le $HUBS ]; do mkdir -p r$r/up/h$h; h=$((h + 1)); done
	i=1
	while [ $i -le $FIELDS ]; do
		sqlite3 f$i.db "INSERT INTO t VALUES ('f$i-$r-a', 'f$i', $r, 'new'),
		    ('f$i-$r-b', 'f$i', $r, 'new');
		    UPDATE t SET note = 'edited by f$i in round $r'
		    WHERE id = 'seed-$i'"
		"$MULE" -d f$i.db pack --to h$(hub_of $i) \
		    -o r$r/up/h$(hub_of $i)/ >/dev/null
		i=$((i + 1))
	done
	h=1
	while [ $h -le $HUBS ]; do
		"$MULE" -d h$h.db unpack r$r/up/h$h >/dev/null
		"$MULE" -d h$h.db pack --to hq -o r$r/hq/ >/dev/null
		h=$((h + 1))
	done
	"$MULE" -d hq.db unpack r$r/hq >/dev/null
	h=1
	while [ $h -le $HUBS ]; do
		"$MULE" -d hq.db pack --to h$h -o r$r/down/ >/dev/null
		"$MULE" -d h$h.db unpack r$r/down/hq-h$h-*.mule >/dev/null
		h=$((h + 1))
	done
	i=1
	while [ $i -le $FIELDS ]; do
		"$MULE" -d h$(hub_of $i).db pack --to f$i -o r$r/out/ >/dev/null
		"$MULE" -d f$i.db unpack r$r/out/h$(hub_of $i)-f$i-*.mule \
		    >/dev/null
		i=$((i + 1))
	done
}

round_secs=""
r=1
while [ $r -le "$ROUNDS" ]; do
	say "bench: scale: round $r"
	t0=$(now)
	round $r
	round_secs="$round_secs $(awk "BEGIN{printf \"%.1f\", $(now) - $t0}")"
	r=$((r + 1))
done
last=$ROUNDS

# Every site holds what hq holds.
want=$(sqlite3 hq.db "SELECT * FROM t ORDER BY id" | md5sum)
for db in h*.db f*.db; do
	if [ "$(sqlite3 "$db" "SELECT * FROM t ORDER BY id" | md5sum)" != "$want" ]
	then
		say "bench: scale: ERROR: $db differs from hq.db"
		exit 1
	fi
done

# split.py RAW: the changes' share of a decrypted payload (zstd'd tar):
# the zstd -19 size of its row segments of tracked tables, and the bytes
# of its MANIFEST's vector lines.
cat >split.py <<'PY'
import io, subprocess, sys, tarfile
raw = subprocess.run(["zstd", "-qdc", sys.argv[1]], check=True,
    stdout=subprocess.PIPE).stdout
changes, vec = b"", 0
with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
    for m in tf.getmembers():
        data = tf.extractfile(m).read()
        if m.name == "MANIFEST":
            vec = sum(len(l) + 1 for l in data.split(b"\n")
                      if l.split(b" ")[0] in (b"base", b"top", b"ack",
                                             b"seen", b"recv", b"ref"))
        elif m.name.startswith("rows/"):
            # "MSEG", version, flags, then the table name (varint length)
            n, shift, p = 0, 0, 6
            while True:
                n |= (data[p] & 0x7f) << shift
                p += 1
                if data[p - 1] < 0x80:
                    break
                shift += 7
            if not data[p:p + n].startswith(b"_mule_"):
                changes += data
z = subprocess.run(["zstd", "-q", "-19", "-c"], input=changes, check=True,
    stdout=subprocess.PIPE).stdout if changes else b""
print(len(z), vec)
PY

# overhead KIND RECIPIENT-DB FILE...: "avg max avg-vector-bytes n" of the
# fixed overhead of the bundles (at most 20 of them).
overhead() {
	_kind=$1 _n=0 _sum=0 _max=0 _vsum=0
	shift
	for _pair in "$@"; do
		[ $_n -ge 20 ] && break
		_db=${_pair%%:*} _f=${_pair#*:}
		"$MULE" -d "$_db" inspect --raw "$_f" >raw.tzst
		set -- $(python3 split.py raw.tzst)
		_o=$(( $(stat -c %s "$_f") - $1 ))
		_sum=$((_sum + _o)) _vsum=$((_vsum + $2)) _n=$((_n + 1))
		[ $_o -gt $_max ] && _max=$_o
	done
	echo "$((_sum / _n)) $_max $((_vsum / _n)) $_n"
}
pairs_up="" pairs_out="" pairs_hq="" pairs_down=""
i=1
while [ $i -le $FIELDS ] && [ $i -le 20 ]; do
	hb=h$(hub_of $i)
	pairs_up="$pairs_up $hb.db:$(ls r$last/up/$hb/f$i-$hb-*.mule)"
	pairs_out="$pairs_out f$i.db:$(ls r$last/out/$hb-f$i-*.mule)"
	i=$((i + 1))
done
h=1
while [ $h -le $HUBS ]; do
	pairs_hq="$pairs_hq hq.db:$(ls r$last/hq/h$h-hq-*.mule)"
	pairs_down="$pairs_down h$h.db:$(ls r$last/down/hq-h$h-*.mule)"
	h=$((h + 1))
done
set -- $(overhead up $pairs_up); up_avg=$1 up_max=$2 up_vec=$3 up_n=$4
set -- $(overhead out $pairs_out); out_avg=$1 out_max=$2 out_vec=$3
set -- $(overhead hq $pairs_hq); hq_avg=$1 hq_max=$2 hq_vec=$3
set -- $(overhead down $pairs_down); down_avg=$1 down_max=$2 down_vec=$3
up_size=$(cat r$last/up/h*/f*.mule | wc -c)
up_count=$(ls r$last/up/h*/f*.mule | wc -l)

state() {
	sqlite3 "$1" "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name
	    LIKE '\_mule\_%' ESCAPE '\' OR name LIKE 'sqlite_autoindex\__mule\_%'
	    ESCAPE '\'"
}
st_hq=$(state hq.db)
st_hub=$(state h1.db)
st_field=0
i=1
while [ $i -le $FIELDS ] && [ $i -le 20 ]; do
	st_field=$((st_field + $(state f$i.db)))
	n=$i
	i=$((i + 1))
done
st_field=$((st_field / n))
origins=$(sqlite3 f1.db "SELECT count(*) FROM _mule_vectors WHERE peer = ''
    AND kind = 'known'")

verdict=MISSED
[ "$up_max" -le 2048 ] && verdict=ok
printf '%-34s %11sB %12s %8s %8s %s\n' \
    "bundle fixed overhead, $origins origins" "$up_max" "-" "-" "<=2KiB" \
    "$verdict"
printf 'scale: %s sites (hq, %s hubs, %s field sites), %s rounds of small edits (2 inserts, 1 update per field site); %s origins in the vectors\n' \
    "$SITES" "$HUBS" "$FIELDS" "$ROUNDS" "$origins"
printf 'scale: fixed overhead (bundle minus its changes zstd -19), last round: field->hub avg %s B max %s B (vector lines %s B raw; %s bundles, avg size %s B); hub->field avg %s B max %s B (vector lines %s B); hub->hq avg %s B max %s B (vector lines %s B); hq->hub avg %s B max %s B (vector lines %s B)\n' \
    "$up_avg" "$up_max" "$up_vec" "$up_n" "$((up_size / up_count))" \
    "$out_avg" "$out_max" "$out_vec" "$hq_avg" "$hq_max" "$hq_vec" \
    "$down_avg" "$down_max" "$down_vec"
printf 'scale: state per site (_mule_* tables): hq %s B, hub h1 %s B, field site avg %s B\n' \
    "$st_hq" "$st_hub" "$st_field"
printf 'scale: setup (init, clones) %ss; time per round:%s s\n' \
    "$setup_secs" "$round_secs"
