#!/usr/bin/env python3
"""digest_check.py [--seed] DB... — each replica's kept content digests
(_mule_digests, docs/state.md "Digests and reconciliation") against a
recomputation from its state: the effective state (overlay rows over main
rows), the alive rows' 16-byte row hashes summed as little-endian
integers modulo 2^128, and their count.  Prints each mismatch and exits 1
when there is one.  --seed first stores the recomputed digest of each
tracked table that has none yet (mule keeps a digest from the first time
a bundle to a peer sharing whole tables asks for it; a test whose peers
share filtered sets seeds them so that mule keeps them from then on).
converge.py uses mismatches() too.  Stdlib only.
"""

import sqlite3
import sys
from contextlib import closing


def recompute(c, tid):
    """Table tid's digest from its effective state: (rows, sum)."""
    n, total = 0, 0
    for (h,) in c.execute(
            "SELECT hash FROM _mule_l%d WHERE cl %% 2 = 1 "
            "UNION ALL SELECT hash FROM _mule_s%d AS m WHERE "
            "cl %% 2 = 1 AND NOT EXISTS (SELECT 1 FROM "
            "_mule_l%d AS o WHERE o.pk = m.pk)" % (tid, tid, tid)):
        n += 1
        total += int.from_bytes(h, "little")
    return (n, total % (1 << 128))


def digests(path):
    """Per table with a kept digest: (tid, (rows, sum) kept, recomputed)."""
    with closing(sqlite3.connect(path)) as c:
        kept = {tid: (n, int.from_bytes(sm, "little"))
                for tid, n, sm in c.execute(
                    "SELECT tid, n, sum FROM _mule_digests")}
        return [(tid, kept[tid], recompute(c, tid)) for tid in sorted(kept)]


def seed(path):
    """Stores the recomputed digest of each tracked table without one."""
    with closing(sqlite3.connect(path)) as c:
        for (tid,) in c.execute(
                "SELECT tid FROM _mule_tables WHERE tid NOT IN "
                "(SELECT tid FROM _mule_digests)").fetchall():
            n, total = recompute(c, tid)
            c.execute("INSERT INTO _mule_digests(tid, n, sum) VALUES "
                      "(?, ?, ?)", (tid, n, total.to_bytes(16, "little")))
        c.commit()


def mismatches(path, name=None):
    """One line per table whose kept digest is not its state's."""
    return ["%s: the digest kept for table %d is %s, its state sums to %s"
            % (name or path, tid, kept, want)
            for tid, kept, want in digests(path) if kept != want]


def main():
    bad = []
    paths = sys.argv[1:]
    if paths[:1] == ["--seed"]:
        paths = paths[1:]
        for path in paths:
            seed(path)
    for path in paths:
        bad += mismatches(path)
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
