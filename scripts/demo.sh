#!/bin/sh
# scripts/demo.sh — a scripted exchange between two sites, "hq" and
# "clinic" (made from hq with mule clone), using the freshly built ./mule.  Run by `make demo` from the
# repository root; everything it makes goes to demo/ (removed and made
# anew each run).  Needs only ./mule, sqlite3 and python3.
#
# It stops with a message and a non-zero exit status when a step fails.
# A step that needs a command not built yet ends the demo early, with
# exit status 0.
set -eu

ROOT=$(pwd)
MULE=$ROOT/mule
DIR=${MULE_DEMO_DIR:-$ROOT/demo}
STEP="setting up"

trap 'rc=$?; if [ $rc -ne 0 ] && [ "$STEP" != "setting up" ]; then
	echo "demo: stopped at \"$STEP\" (exit status $rc); the files are in $DIR" >&2
fi' EXIT

die() { echo "demo: $*" >&2; exit 1; }

[ -x "$MULE" ] || die "$MULE is not built; run: make"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 is missing; run: sh scripts/deps.sh"
command -v python3 >/dev/null 2>&1 || die "python3 is missing; run: sh scripts/deps.sh"
unset MULE_DB

# The scratch directory: ours (it has our marker) or not there at all.
if [ -e "$DIR" ] && [ ! -e "$DIR/.mule-demo" ]; then
	die "$DIR exists and is not a mule demo directory; move it away or set MULE_DEMO_DIR"
fi
rm -rf "$DIR"
mkdir -p "$DIR/usb"
: >"$DIR/.mule-demo"
cd "$DIR"

step() {
	STEP=$*
	printf '\n== %s\n' "$*"
}

# Prints a command the way a person would type it, then runs it.
show() {
	out="+"
	for a in "$@"; do
		case "$a" in
		*[\"\$\`\\]*)
			a="'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
		*\'*)
			a="\"$a\"" ;;
		"" | *[!A-Za-z0-9_./,=:@%+-]*)
			a="'$a'" ;;
		esac
		out="$out $a"
	done
	printf '%s\n' "$out"
}

mule() {
	show mule "$@"
	"$MULE" "$@" || { rc=$?; die "'mule $*' failed (exit status $rc)"; }
}

sql() {
	show sqlite3 "$@"
	sqlite3 "$@" || { rc=$?; die "'sqlite3 $*' failed (exit status $rc)"; }
}

# Quietly: one value from a query.
value() { sqlite3 "$1" "$2"; }

# Is `mule $1` built yet?  If not, the demo ends here, successfully.
need() {
	if ! "$MULE" "$1" --help >/dev/null 2>&1; then
		printf '\n(mule %s is not built yet; stopping here)\n' "$1"
		exit 0
	fi
}

# Runs an optional `mule $1 ...` when it is built; skips it otherwise.
maybe() {
	if "$MULE" "$1" --help >/dev/null 2>&1; then
		mule -d "$site" "$@"
	else
		printf '(mule %s is not built yet; skipping it)\n' "$1"
	fi
}

# The bundle file `mule pack` just wrote into usb/ (the one not in $1).
newest_bundle() {
	for f in usb/*.mule; do
		[ -f "$f" ] || continue
		case " $1 " in
		*" $f "*) ;;
		*) printf '%s\n' "$f"; return 0 ;;
		esac
	done
	die "mule pack wrote no new bundle into usb/"
}
listing() { echo usb/*.mule; }

# The user's tables, in a stable order, to compare the two sites.
dump() {
	for t in patients visits; do
		echo "== $t"
		sqlite3 -cmd '.mode quote' "$1" "SELECT * FROM $t ORDER BY id"
	done
}

same() {
	dump clinic.db >clinic.dump
	dump hq.db >hq.dump
	if cmp -s clinic.dump hq.dump; then
		echo "clinic.db and hq.db hold the same rows"
	else
		diff clinic.dump hq.dump >&2 || true
		die "clinic.db and hq.db differ after the exchange"
	fi
}

json_key() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'
}

SCHEMA="
CREATE TABLE patients (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	district TEXT,
	phone TEXT
);
CREATE TABLE visits (
	id TEXT PRIMARY KEY,          -- 'v-0001': a text key, see step 4
	patient_id INTEGER REFERENCES patients(id),
	date TEXT,
	notes TEXT
);"

step "1. headquarters' database: patients and their visits"
show sqlite3 hq.db '<schema and 10 rows>'
sqlite3 hq.db "$SCHEMA
INSERT INTO patients VALUES
	(1, 'Amina Yusuf',    'North', '+255 700 111 001'),
	(2, 'Joseph Mwangi',  'North', '+255 700 111 002'),
	(3, 'Grace Achieng',  'River', NULL),
	(4, 'Peter Okoth',    'River', '+255 700 111 004'),
	(5, 'Halima Said',    'Hills', '+255 700 111 005'),
	(6, 'Daniel Kiprop',  'Hills', NULL);
INSERT INTO visits VALUES
	('v-0001', 1, '2024-03-02', 'fever, malaria test negative'),
	('v-0002', 2, '2024-03-02', 'follow-up, recovering'),
	('v-0003', 3, '2024-03-04', 'prenatal check, all well'),
	('v-0004', 1, '2024-03-09', 'fever');" ||
	die "cannot create hq.db"
sql -header -column hq.db "SELECT * FROM patients"

step "2. hq becomes a replica and tracks every table (patients' integer keys draw a warning)"
mule init hq.db --name hq
need track
mule -d hq.db track --all

need clone
step "3. the clinic's site is cloned from hq: the same rows, a key of its own; they trust each other"
mule clone hq.db clinic.db --name clinic
mule -d clinic.db peer list
mule -d hq.db peer list
same
site=clinic.db
maybe status

step "4. the clinic records two visits"
sql clinic.db "INSERT INTO visits VALUES
	('v-0005', 5, '2024-03-11', 'vaccination'),
	('v-0006', 6, '2024-03-12', 'sprained ankle')"

need pack
step "5. the clinic packs its changes for hq onto the USB stick (only what changed since the clone)"
before=$(listing)
mule -d clinic.db pack --to hq -o usb/
b1=$(newest_bundle "$before")

need verify
step "6. hq checks the bundle before opening it"
mule -d hq.db verify "$b1"
need inspect
mule -d hq.db inspect "$b1"

need unpack
step "7. hq applies everything on the stick addressed to it"
mule -d hq.db unpack usb/
sql hq.db "SELECT count(*) || ' patients' FROM patients;
    SELECT count(*) || ' visits' FROM visits"
if [ "$(value hq.db 'SELECT count(*) FROM patients')" != 6 ] ||
    [ "$(value hq.db 'SELECT count(*) FROM visits')" != 6 ]; then
	die "the rows did not arrive at hq"
fi
same

step "8. the same bundle again changes nothing"
mule -d hq.db unpack "$b1"

step "9. each site edits different rows"
sql hq.db "UPDATE patients SET phone = '+255 700 111 003' WHERE id = 3;
    INSERT INTO visits VALUES ('v-hq-0001', 4, '2024-03-15',
        'referred from district hospital')"
sql clinic.db "UPDATE visits SET notes = 'fever gone, discharged'
        WHERE id = 'v-0004';
    DELETE FROM visits WHERE id = 'v-0006';
    INSERT INTO visits VALUES ('v-0007', 6, '2024-03-16', 'ankle healed')"

step "10. hq packs for clinic; clinic applies it"
mule -d hq.db pack --to clinic -o usb/
mule -d clinic.db unpack usb/

step "11. clinic packs for hq; hq applies it"
mule -d clinic.db pack --to hq -o usb/
mule -d hq.db unpack usb/

step "12. both sites now hold the same data"
sql -header -column hq.db "SELECT * FROM visits ORDER BY id"
same

step "13. both sites change the same cell before hearing from each other"
sql clinic.db "UPDATE patients SET district = 'Lake' WHERE id = 2"
sql hq.db "UPDATE patients SET district = 'North-East' WHERE id = 2"
mule -d clinic.db pack --to hq -o usb/
mule -d hq.db pack --to clinic -o usb/
mule -d hq.db unpack usb/
mule -d clinic.db unpack usb/

need conflicts
step "14. both picked the same winner; the losing value is kept"
sql clinic.db "SELECT 'clinic: ' || district FROM patients WHERE id = 2"
sql hq.db "SELECT 'hq:     ' || district FROM patients WHERE id = 2"
same
mule -d hq.db conflicts
mule -d clinic.db conflicts
site=hq.db
maybe log

printf '\ndemo: done; the databases and the USB stick are in %s\n' "$DIR"
