#!/bin/sh
# bench/prune.sh — bookkeeping after ROUNDS rounds (docs/decisions.md,
# "Bookkeeping that does not grow without bound"):
#   sh bench/prune.sh BIN_DIR ROUNDS [LOG_KEEP]
# Hub a with b and c; each round b and
# c insert 2 rows, update 1, delete 1, then b→a, c→a, a→b, a→c.
PATH=$(cd "$1" && pwd):$PATH; R=$2; K=$3
d=$(mktemp -d "${TMPDIR:-/tmp}/prune.XXXXXX"); cd $d
S="CREATE TABLE k(id INTEGER PRIMARY KEY, x, y)"
for s in a b c; do mule init $s.db --name $s >/dev/null; sqlite3 $s.db "$S"; mule -d $s.db track --all >/dev/null 2>&1; done
key() { mule -d $1.db id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'; }
for p in b c; do mule -d a.db peer add $p "$(key $p)" >/dev/null; mule -d $p.db peer add a "$(key a)" >/dev/null; done
[ -n "$K" ] && for s in a b c; do mule -d $s.db config log.keep $K >/dev/null; done
for s in a b c; do mule -d $s.db config prune.tombstones yes >/dev/null; done
send() { o=$(mktemp -d ./x.XXXX); mule -d $1.db pack --to $2 -o $o/ >/dev/null && mule -d $2.db unpack $o/*.mule >/dev/null; rm -rf $o; }
for n in $(seq 1 $R); do
  sqlite3 b.db "INSERT INTO k VALUES ($((n*10+1)),'b',$n),($((n*10+2)),'b',$n)"
  sqlite3 c.db "INSERT INTO k VALUES ($((n*10+5)),'c',$n),($((n*10+6)),'c',$n)"
  if [ $n -gt 1 ]; then
    sqlite3 b.db "DELETE FROM k WHERE id = $(((n-1)*10+5)); UPDATE k SET y = y + 100 WHERE id = $(((n-1)*10+2))"
    sqlite3 c.db "DELETE FROM k WHERE id = $(((n-1)*10+1)); UPDATE k SET y = y + 100 WHERE id = $(((n-1)*10+6))"
  fi
  send b a; send c a; send a b; send a c
done
for s in a b c; do
  echo "$s rows=$(sqlite3 $s.db 'SELECT count(*) FROM k') tombstones=$(sqlite3 $s.db 'SELECT count(*) FROM _mule_s1 WHERE cl % 2 = 0') bundles=$(sqlite3 $s.db 'SELECT count(*) FROM _mule_bundles') journal=$(sqlite3 $s.db 'SELECT count(*) FROM _mule_journal') bytes=$(stat -c %s $s.db)"
done
