#!/usr/bin/env python3
"""converge.py — randomized convergence driver for t0007-converge.sh.

Five sites: a hub h and field sites s1..s4; every field site exchanges with
h, and s3 and s4 also exchange directly (a loop).  Sites trust only their
neighbours, so s1's changes reach s2 only through h.  Two tables: k with an
INTEGER PRIMARY KEY and three columns, w with a TEXT key (WITHOUT ROWID).

Each round, sites edit (inserts, some with keys that collide across sites,
updates of random cells and of one "hot" cell at several sites, deletes,
re-inserts of deleted keys), then pack bundles for their neighbours into
per-edge mailboxes (h sometimes for two neighbours at once, and now and then
a copy lands in the wrong mailbox), then mailboxes are delivered with random
loss, delay, duplication and reordering (one file at a time, or a whole
mailbox directory at once).  Finally the pending bundles are split: half
delivered late, half kept; rounds of reliable exchange along every edge run
until two rounds in a row carry no change; then the kept (stale) bundles are
delivered and must change nothing.

Checks (each reported in DIR/checks/NAME.json, which `--show NAME` reads
for t0007, one test per check; a failure names the seed, the phase — a
round, a reliable round, the stale deliveries —, and the site, table and
keys concerned):
  traffic     every mule command exits as it should (0; 3 for a bundle
              delivered to a site it is not addressed to)
  quiet       reliable exchange goes quiet (no ping-pong) within a bound
  identical   every site holds the same tracked data, and every site's
              kept digests equal a recomputation from its state
  no_dup      no primary key twice
  conflicts   every value some site wrote that is not in the final data
              was (a) overwritten or deleted by a write or delete at a site
              that knew it (per origin, a site knows what it wrote and what
              its peers knew when they packed the bundles it applied; this
              is at least what mule's vectors say), or (b) is in some
              site's conflict log (`mule conflicts --json`, as the "local"
              or "remote" value of that cell, or inside a whole-row entry).
              Why (a) is sound: docs/design.md §7 calls a conflict a
              local value overwritten by one whose writer had not seen
              it; a writer that had not seen it per this model had not
              per mule's.
  conflicts_min  the weaker rule: (b), or the writing site later wrote the
              cell again or deleted the row, or any site deleted the row
  stale       late stale bundles change no data and log no conflict
              (checked after each of them, at the site it reaches)
  repair      after all that, faults (issue 14): a field site restored
              from a backup taken at an earlier quiet point (every
              change since is at its peers), and at another site rows
              deleted together with their state underneath mule (found
              with `mule check`); reliable exchange must go quiet again
              with every site holding exactly the data of before the
              faults: no value lost, nothing resurrected

Deterministic for a given --seed, except for the winners of ties, which
depend on the site ids that `mule init` draws (printed at the start).
Stdlib only.
"""

import argparse
import digest_check
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing

SITES = ["h", "s1", "s2", "s3", "s4"]
EDGES = [("h", "s1"), ("h", "s2"), ("h", "s3"), ("h", "s4"), ("s3", "s4")]
SCHEMA = """CREATE TABLE k(id INTEGER PRIMARY KEY, x, y, z);
CREATE TABLE w(id TEXT PRIMARY KEY, v, n) WITHOUT ROWID;"""
COLS = {"k": ["x", "y", "z"], "w": ["v", "n"]}
KPOOL = 30          # random integer keys 1..KPOOL (collide across sites)
WPOOL = 20          # text keys 'k00'..'k19'
QUIET_ROUNDS = 2    # reliable rounds in a row without change = quiet
MAX_RELIABLE = 24   # ... within this many rounds

NEIGHBOURS = {s: [] for s in SITES}
for _a, _b in EDGES:
    NEIGHBOURS[_a].append(_b)
    NEIGHBOURS[_b].append(_a)


CHECKS = ["traffic", "quiet", "identical", "no_dup", "conflicts_min",
          "conflicts", "stale", "repair"]


class Failure(Exception):
    """Failure(CHECK, MESSAGE, site=, table=, keys=): CHECK failed; the
    phase is the driver's at the time."""

    def __init__(self, check, msg, site=None, table=None, keys=None):
        Exception.__init__(self, check, msg)
        self.check, self.msg = check, msg
        self.where = {"site": site, "table": table,
                      "keys": None if keys is None else list(keys)}


class Driver:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dir = os.path.abspath(args.dir)
        self.mule = args.mule
        self.steps = []
        self.log = None
        self.n = 0                      # value counter (unique values)
        self.vc = {s: {t: 0 for t in SITES} for s in SITES}
        self.events = []                # see event()
        self.by_row = {}                # (table, key) -> [event index]
        self.pending = []               # bundles in mailboxes
        self.bid = 0
        self.results = {}               # check -> its record, see result()
        self.phase = "setup"            # "round N", "reliable round N", ...
        self.counts = {"packs": 0, "changes": 0, "delivered": 0, "lost": 0,
                       "duplicated": 0, "misdelivered": 0, "dir_unpacks": 0,
                       "multi": 0, "edits": 0}

    # ---- logging -------------------------------------------------------
    def step(self, msg):
        self.steps.append(msg)
        self.log.write(msg + "\n")
        self.log.flush()

    def db(self, s):
        return os.path.join(self.dir, s + ".db")

    def run(self, site, *argv, want=(0,)):
        if argv[0] == "init":
            cmd = [self.mule] + list(argv)
        else:
            cmd = [self.mule, "-d", self.db(site)] + list(argv)
        p = subprocess.run(cmd, cwd=self.dir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        short = " ".join(["mule", "-d", site + ".db"] + list(argv))
        short = short.replace(self.dir + "/", "")
        out = (p.stdout + p.stderr).strip().replace("\n", " | ")
        out = out.replace(self.dir + "/", "")
        self.step("  $ %s -> %d: %s" % (short, p.returncode, out[:300]))
        if p.returncode not in want:
            raise Failure("traffic", "'%s' exited %d (wanted %s): %s"
                          % (short, p.returncode,
                             "/".join(map(str, want)), out), site=site)
        return p

    # ---- model of knowledge -------------------------------------------
    def event(self, site, kind, table, key, col=None, value=None):
        """Records a local write (kind 'w') of VALUE to cell (table, key,
        col) or a delete (kind 'd') of row (table, key) at SITE."""
        self.vc[site][site] += 1
        e = {"i": len(self.events), "site": site, "seq": self.vc[site][site],
             "kind": kind, "table": table, "key": key, "col": col,
             "value": value, "vc": dict(self.vc[site]), "phase": self.phase}
        self.events.append(e)
        self.by_row.setdefault((table, key), []).append(e["i"])

    def row_events(self, table, key):
        """Every write and delete of row (TABLE, KEY), oldest first."""
        return [self.events[i] for i in self.by_row[(table, key)]]

    def learn(self, site, vc):
        for t in SITES:
            if vc[t] > self.vc[site][t]:
                self.vc[site][t] = vc[t]

    # ---- values --------------------------------------------------------
    def value(self, table, col):
        self.n += 1
        n = self.n
        if table == "k":
            if col == "x":
                return 7000000 + n
            if col == "y":
                return "y%d" % n
            return None if self.rng.random() < 0.1 else "z%d" % n
        if col == "v":
            return "v%d" % n
        return 8000000 + n

    # ---- edits ---------------------------------------------------------
    def connect(self, s):
        c = sqlite3.connect(self.db(s), isolation_level=None)
        return c

    def rows(self, c, table):
        return [r[0] for r in c.execute("SELECT id FROM %s" % table)]

    def do_insert(self, c, s, table, key=None):
        cols = COLS[table]
        vals = [self.value(table, col) for col in cols]
        if key is None:     # integer key assigned locally, like autoincrement
            cur = c.execute("INSERT INTO k(%s) VALUES (?, ?, ?)"
                            % ", ".join(cols), vals)
            key = cur.lastrowid
        else:
            c.execute("INSERT INTO %s(id, %s) VALUES (?%s)"
                      % (table, ", ".join(cols), ", ?" * len(cols)),
                      [key] + vals)
        self.step("%s: INSERT %s %r %r" % (s, table, key, vals))
        for col, v in zip(cols, vals):
            self.event(s, "w", table, key, col, v)

    def do_update(self, c, s, table, key, cols):
        vals = [self.value(table, col) for col in cols]
        c.execute("UPDATE %s SET %s WHERE id = ?"
                  % (table, ", ".join("%s = ?" % col for col in cols)),
                  vals + [key])
        self.step("%s: UPDATE %s %r %s"
                  % (s, table, key, ", ".join("%s=%r" % cv
                                              for cv in zip(cols, vals))))
        for col, v in zip(cols, vals):
            self.event(s, "w", table, key, col, v)

    def do_delete(self, c, s, table, key):
        c.execute("DELETE FROM %s WHERE id = ?" % table, [key])
        self.step("%s: DELETE %s %r" % (s, table, key))
        self.event(s, "d", table, key)

    def edit(self, s, hot):
        rng = self.rng
        c = self.connect(s)
        try:
            commits = 1 if rng.random() < 0.7 else 2
            for _ in range(commits):
                c.execute("BEGIN")
                for _ in range(rng.randint(1, 4)):
                    self.counts["edits"] += 1
                    table = "k" if rng.random() < 0.65 else "w"
                    have = self.rows(c, table)
                    r = rng.random()
                    if r < 0.30:                        # insert / re-insert
                        if table == "k" and rng.random() < 0.4:
                            self.do_insert(c, s, "k")
                            continue
                        if table == "k":
                            key = rng.randint(1, KPOOL)
                        else:
                            key = "k%02d" % rng.randrange(WPOOL)
                        if key not in have:
                            self.do_insert(c, s, table, key)
                        elif have:
                            self.do_update(c, s, table, key,
                                           self.pick_cols(table))
                    elif r < 0.85 and have:             # update
                        key = rng.choice(have)
                        self.do_update(c, s, table, key, self.pick_cols(table))
                    elif have:                          # delete
                        self.do_delete(c, s, table, rng.choice(have))
                if hot is not None and rng.random() < 0.5:
                    table, key, col = hot
                    if key in self.rows(c, table):
                        self.do_update(c, s, table, key, [col])
                c.execute("COMMIT")
        finally:
            c.close()

    def pick_cols(self, table):
        cols = COLS[table]
        m = self.rng.randint(1, len(cols))
        return sorted(self.rng.sample(cols, m), key=cols.index)

    # ---- bundles -------------------------------------------------------
    def mailbox(self, src, dst):
        d = os.path.join(self.dir, "mail", "%s-%s" % (src, dst))
        os.makedirs(d, exist_ok=True)
        return d

    def pack(self, s, to, extra=()):
        out = os.path.join(self.dir, "mail", "out") + "/"
        os.makedirs(out, exist_ok=True)
        p = self.run(s, "pack", "--to", ",".join(to), "-o", out, *extra)
        m = re.search(r"packed (\d+) changes? .*→ (\S+\.mule)", p.stdout)
        if not m:
            raise Failure("traffic", "pack at %s: cannot read %r"
                          % (s, p.stdout))
        path = m.group(2)
        if not os.path.isabs(path):
            path = os.path.join(self.dir, path)
        self.counts["packs"] += 1
        self.counts["changes"] += int(m.group(1))
        return path, int(m.group(1))

    def drop_in(self, path, s, r, snap, addressed):
        """Puts a copy of bundle PATH packed at S into the mailbox S-R."""
        self.bid += 1
        dst = os.path.join(self.mailbox(s, r), "%06d-%s" %
                           (self.bid, os.path.basename(path)))
        shutil.copyfile(path, dst)
        self.pending.append({"path": dst, "src": s, "dst": r, "vc": snap,
                             "addressed": addressed, "id": self.bid,
                             "phase": self.phase})

    def post(self, s, to):
        """Packs at S for the sites TO and puts a copy into each mailbox
        (and now and then one into a wrong one)."""
        path, changes = self.pack(s, to)
        snap = dict(self.vc[s])
        for r in to:
            self.drop_in(path, s, r, snap, True)
        others = [r for r in NEIGHBOURS[s] if r not in to]
        if others and self.rng.random() < 0.05:
            r = self.rng.choice(others)
            self.drop_in(path, s, r, snap, False)
            self.counts["misdelivered"] += 1
            self.step("  (a copy of %s also lands in %s's mailbox)"
                      % (os.path.basename(path), r))
        os.unlink(path)
        return changes

    def deliver(self, b):
        """Unpacks one bundle file at its mailbox's site."""
        r = b["dst"]
        if b["addressed"]:
            self.run(r, "unpack", b["path"])
            self.learn(r, b["vc"])
            self.counts["delivered"] += 1
        else:
            before = file_sum(self.db(r))
            self.run(r, "unpack", b["path"], want=(3,))
            if file_sum(self.db(r)) != before:
                raise Failure("traffic", "%s: refusing %s (not addressed to "
                              "it) changed its database" % (r, b["path"]),
                              site=r)

    def deliver_dir(self, r, items):
        """Unpacks a whole mailbox directory (name order) holding ITEMS."""
        d = os.path.dirname(items[0]["path"])
        p = self.run(r, "unpack", d)
        wrong = [b for b in items if not b["addressed"]]
        if wrong and "skipped" not in p.stdout + p.stderr:
            raise Failure("traffic", "%s: unpack %s did not say it skipped "
                          "%d bundle(s) addressed to other sites"
                          % (r, d, len(wrong)), site=r)
        for b in items:
            if b["addressed"]:
                self.learn(r, b["vc"])
                self.counts["delivered"] += 1
        self.counts["dir_unpacks"] += 1

    def drop(self, b):
        os.unlink(b["path"])
        self.pending.remove(b)

    def traffic(self):
        rng = self.rng
        for s in SITES:
            if rng.random() < 0.55:
                nb = NEIGHBOURS[s]
                if s == "h" and rng.random() < 0.25:
                    to = sorted(rng.sample(nb, 2))
                    self.counts["multi"] += 1
                else:
                    to = [rng.choice(nb)]
                self.post(s, to)
        for box in sorted({(b["src"], b["dst"]) for b in self.pending}):
            items = [b for b in self.pending if (b["src"], b["dst"]) == box]
            if rng.random() < 0.1:
                # a courier hands over the whole stick
                self.step("deliver mailbox %s-%s as a directory" % box)
                self.deliver_dir(box[1], items)
                for b in items:
                    if b["addressed"] and rng.random() < 0.15:
                        self.counts["duplicated"] += 1
                        continue
                    self.drop(b)
                continue
            rng.shuffle(items)
            for b in items:
                r = rng.random()
                if r < 0.12:
                    self.step("lost %s" % os.path.basename(b["path"]))
                    self.counts["lost"] += 1
                    self.drop(b)
                elif r < 0.40:
                    pass                            # delayed
                else:
                    self.deliver(b)
                    if b["addressed"] and rng.random() < 0.15:
                        self.counts["duplicated"] += 1   # read twice, later
                    else:
                        self.drop(b)

    def exchange(self, s, r):
        """Packs at S for R and unpacks there at once; returns the number
        of changes sent."""
        path, changes = self.pack(s, [r])
        snap = dict(self.vc[s])
        self.run(r, "unpack", path)
        self.learn(r, snap)
        os.unlink(path)
        return changes

    def reliable_round(self):
        """Packs along every edge, both ways, and delivers at once; returns
        {"s-r": changes} for the edges that carried changes."""
        sent = {}
        edges = [(a, b) for a, b in EDGES] + [(b, a) for a, b in EDGES]
        self.rng.shuffle(edges)
        for s, r in edges:
            changes = self.exchange(s, r)
            if changes:
                sent["%s→%s" % (s, r)] = changes
        return sent

    # ---- checks --------------------------------------------------------
    def dump(self, s):
        """Every row of every table at S: {table: sorted reprs of rows}."""
        with closing(sqlite3.connect(self.db(s))) as c:
            return {t: sorted(repr(r) for r in c.execute(
                "SELECT * FROM %s" % t)) for t in COLS}

    def conflicts(self, s):
        """S's conflict log, each entry with "site": S added."""
        p = self.run(s, "conflicts", "--json")
        out = json.loads(p.stdout)
        for e in out:
            e["site"] = s
        return out

    def check_conflicts(self, final):
        """See the module's docstring, (a) and (b)."""
        cells = {}
        for t in COLS:
            for key, rows in by_key(final[t]).items():
                for col, v in zip(COLS[t], rows[-1][1:]):
                    cells[(t, key, col)] = v
        logs = {}
        for s in SITES:
            for e in self.conflicts(s):
                logs.setdefault((e["table"], e["key"]), []).append(e)
        missing = []
        explained = {"present": 0, "overwritten": 0, "logged": 0}
        for e in self.events:
            if e["kind"] != "w" or e["value"] is None:
                continue
            t, key, col, v = e["table"], e["key"], e["col"], e["value"]
            if (t, key, col) in cells and cells[(t, key, col)] == v:
                explained["present"] += 1
                continue
            knew = False
            for f in self.row_events(t, key):
                if f is e or (f["kind"] == "w" and f["col"] != col):
                    continue
                if f["vc"][e["site"]] >= e["seq"]:
                    knew = True
                    break
            if knew:
                explained["overwritten"] += 1
                continue
            lit = sql_literal(v)
            pat = re.compile(r"(?<![\w'])%s(?![\w'])" % re.escape(lit))
            found = False
            for c in logs.get((t, sql_literal(key)), []):
                for side in ("local", "remote"):
                    s = c.get(side) or ""
                    if (c["column"] == col and s == lit) or \
                       (c["column"] == "*" and pat.search(s)):
                        found = True
            if found:
                explained["logged"] += 1
                continue
            missing.append(e)
        self.step("values written: %d present at the end, %d overwritten or "
                  "deleted by a site that knew them, %d in a conflict log, "
                  "%d unaccounted for"
                  % (explained["present"], explained["overwritten"],
                     explained["logged"], len(missing)))
        # the minimal rule: also excused when the writing site later wrote
        # the cell again or deleted the row, or anybody deleted the row
        missing_min = []
        for e in missing:
            rowev = self.row_events(e["table"], e["key"])
            if any(f["kind"] == "d" for f in rowev):
                continue
            if any(f["i"] > e["i"] and f["site"] == e["site"] and
                   f["col"] == e["col"] for f in rowev):
                continue
            missing_min.append(e)
        for check, lost in (("conflicts_min", missing_min),
                            ("conflicts", missing)):
            if lost:
                self.result(check, self.explain(lost, cells, logs),
                            site=sorted({e["site"] for e in lost}),
                            table=sorted({e["table"] for e in lost}),
                            keys=sorted({repr(e["key"]) for e in lost}))
            else:
                self.result(check)

    def explain(self, missing, cells, logs):
        """One line per lost value: who wrote it and when, what the cell
        ended as and who wrote that, deletes of the row by sites that had
        not seen it, and the conflict log entries of that cell anywhere."""
        lines = []
        kinds = {}
        for e in missing:
            t, key, col = e["table"], e["key"], e["col"]
            fv = cells.get((t, key, col), "(no row)")
            rowev = self.row_events(t, key)
            dels = [f for f in rowev if f["kind"] == "d"
                    and f["vc"][e["site"]] < e["seq"]
                    and e["vc"][f["site"]] < f["seq"]]
            fin = [f for f in rowev if f["kind"] == "w" and f["col"] == col
                   and f["value"] == fv and fv is not None]
            if dels:
                kind = "row deleted (and maybe re-created) concurrently"
            else:
                kind = "overwritten by a value written without seeing it"
            kinds[kind] = kinds.get(kind, 0) + 1
            if len(lines) >= 12:
                continue
            what = "%s wrote %s.%s[%r] = %r (%s#%d, %s)" % (
                e["site"], t, col, key, e["value"], e["site"], e["seq"],
                e["phase"])
            end = "the row is gone at the end" if fv == "(no row)" else \
                "it ends as %r" % (fv,)
            if fin:
                f = fin[0]
                end += " (written by %s#%d, %s, %s)" % (
                    f["site"], f["seq"], f["phase"], "knowing it"
                    if f["vc"][e["site"]] >= e["seq"] else "not knowing it")
            if dels:
                end += "; concurrently deleted by %s" % ", ".join(
                    "%s#%d (%s)" % (f["site"], f["seq"], f["phase"])
                    for f in dels)
            ent = ["%s:%s %s→%s (%s)" % (c["site"], c["column"], c["local"],
                                         c["remote"], c["winner"])
                   for c in logs.get((t, sql_literal(key)), [])
                   if c["column"] in (col, "*")]
            if len(ent) > 4:
                ent = ent[:4] + ["%d more" % (len(ent) - 4)]
            lines.append("  %s; %s; log entries for the cell: %s"
                         % (what, end, "; ".join(ent) if ent else "none"))
        return "%d value(s) lost with no conflict entry anywhere (%s):\n%s" % (
            len(missing), ", ".join("%d %s" % (n, k) for k, n in
                                    sorted(kinds.items())), "\n".join(lines))

    def check_identical(self):
        """Every site's data is h's; returns h's dump."""
        dumps = {s: self.dump(s) for s in SITES}
        ref = dumps["h"]
        bad, sites, tables, keys = [], set(), set(), set()
        for s in SITES[1:]:
            for t in COLS:
                if dumps[s][t] == ref[t]:
                    continue
                diff = key_diff("h", ref[t], s, dumps[s][t])
                bad.append("%s.%s differs from h.%s at %d key(s): %s"
                           % (s, t, t, len(diff), "; ".join(
                               d for _, d in diff[:6])))
                sites.add(s)
                tables.add(t)
                keys.update(k for k, _ in diff)
        for s in SITES:
            wrong = digest_check.mismatches(self.db(s), s)
            bad += wrong
            if wrong:
                sites.add(s)
        if bad:
            raise Failure("identical", "\n  ".join(bad), site=sorted(sites),
                          table=sorted(tables), keys=sorted(keys))
        return ref

    def check_no_dup(self):
        bad, sites, tables, keys = [], set(), set(), set()
        for s in SITES:
            with closing(sqlite3.connect(self.db(s))) as c:
                for t in COLS:
                    n, d = c.execute("SELECT count(*), count(DISTINCT id) "
                                     "FROM %s" % t).fetchone()
                    if n == d:
                        continue
                    dup = c.execute("SELECT id, count(*) FROM %s GROUP BY id"
                                    " HAVING count(*) > 1 ORDER BY id"
                                    % t).fetchall()
                    bad.append("%s.%s: %d rows, %d keys: %s" % (
                        s, t, n, d, ", ".join("key %r %d times" % kn
                                              for kn in dup)))
                    sites.add(s)
                    tables.add(t)
                    keys.update(repr(k) for k, _ in dup)
        if bad:
            raise Failure("no_dup", "; ".join(bad), site=sorted(sites),
                          table=sorted(tables), keys=sorted(keys))

    # ---- the whole run -------------------------------------------------
    def setup(self):
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        self.log = open(os.path.join(self.dir, "steps.log"), "w")
        for s in SITES:
            self.run(s, "init", self.db(s), "--name", s)
        keys, ids = {}, {}
        for s in SITES:
            j = json.loads(self.run(s, "id", "--json").stdout)
            keys[s], ids[s] = j["key"], j["site_id"]
        print("converge: site ids %s" % ", ".join(
            "%s=%s" % (s, ids[s]) for s in SITES))
        self.step("site ids: %r" % ids)
        for a, b in EDGES:
            self.run(a, "peer", "add", b, keys[b])
            self.run(b, "peer", "add", a, keys[a])
        for s in SITES:
            c = sqlite3.connect(self.db(s))
            c.executescript(SCHEMA)
            c.close()
        # the hub starts with rows that predate tracking (its baseline)
        c = self.connect("h")
        c.execute("BEGIN")
        for i in range(1, 9):
            self.do_insert(c, "h", "k", i)
        for i in range(4):
            self.do_insert(c, "h", "w", "k%02d" % i)
        c.execute("COMMIT")
        rows = c.execute("SELECT id, x, y, z FROM k ORDER BY id").fetchall()
        c.close()
        # s3 is a copy of the hub's database initialized separately: the
        # same baseline rows 1..6, its own rows 7..8 (baselines that
        # differ), so that incarnations collide and edits from baselines
        # meet sites holding another incarnation
        c = self.connect("s3")
        c.execute("BEGIN")
        c.executemany("INSERT INTO k(id, x, y, z) VALUES (?, ?, ?, ?)",
                      [r for r in rows if r[0] <= 6])
        for i in range(7, 9):
            self.do_insert(c, "s3", "k", i)
        c.execute("COMMIT")
        c.close()
        for s in SITES:
            self.run(s, "track", "--all")
        # one hello along every edge, so that bundles for several
        # recipients know each recipient's site id (see t0006)
        for a, b in EDGES:
            self.exchange(a, b)
            self.exchange(b, a)

    def rounds(self, first, last):
        """The random rounds FIRST..LAST: edits, then traffic."""
        for rnd in range(first, last + 1):
            self.phase = "round %d" % rnd
            self.step("== round %d" % rnd)
            hot = None
            if self.rng.random() < 0.7:
                t = "k" if self.rng.random() < 0.7 else "w"
                key = self.rng.randint(1, 10) if t == "k" else \
                    "k%02d" % self.rng.randrange(6)
                hot = (t, key, self.rng.choice(COLS[t]))
            for s in SITES:
                if self.rng.random() < 0.7:
                    self.edit(s, hot)
            self.traffic()

    def late_delivery(self):
        """Delivers half the pending bundles late; returns the others (the
        stale ones, delivered after convergence)."""
        self.phase = "late delivery"
        self.step("== late delivery of half the pending bundles")
        self.rng.shuffle(self.pending)
        stale = [b for b in self.pending if b["addressed"]]
        stale = stale[: len(stale) // 2]
        for b in list(self.pending):
            if b in stale:
                continue
            self.deliver(b)
            self.drop(b)
        return stale

    def until_quiet(self):
        quiet, rounds, sent = 0, 0, {}
        while quiet < QUIET_ROUNDS:
            rounds += 1
            if rounds > MAX_RELIABLE:
                raise Failure("quiet", "still sending changes after %d "
                              "rounds of reliable exchange; the last round "
                              "sent %s" % (MAX_RELIABLE, edges_text(sent)),
                              site=sorted({e.split("→")[0] for e in sent}))
            self.phase = "reliable round %d" % rounds
            self.step("== reliable round %d" % rounds)
            sent = self.reliable_round()
            quiet = quiet + 1 if not sent else 0
        self.step("quiet after %d reliable rounds" % rounds)

    def differences(self, label, want, s, now):
        """How S's data NOW differs from WANT (named LABEL): the tables,
        the keys, and one line per table."""
        tables, keys, lines = [], set(), []
        for t in COLS:
            diff = key_diff(label, want[t], s, now[t])
            if diff:
                tables.append(t)
                keys.update(k for k, _ in diff)
                lines.append("%s: %s" % (t, "; ".join(
                    d for _, d in diff[:6])))
        return tables, sorted(keys), "; ".join(lines)

    def unchanged(self, s, final, logged, what):
        """Fails the stale check unless S holds FINAL and its conflict log
        has LOGGED entries; WHAT says what happened before."""
        now = self.dump(s)
        if now != final:
            tables, keys, lines = self.differences("the end", final, s, now)
            raise Failure("stale", "%s changed %s's data: %s"
                          % (what, s, lines), site=s, table=tables,
                          keys=keys)
        log = self.conflicts(s)
        if len(log) != len(logged):
            new = [e for e in log if e not in logged]
            raise Failure("stale", "%s added %d conflict(s) at %s: %s"
                          % (what, len(log) - len(logged), s, "; ".join(
                              "%s[%s].%s" % (e["table"], e["key"],
                                             e["column"]) for e in new[:6])),
                          site=s, table=sorted({e["table"] for e in new}),
                          keys=sorted({e["key"] for e in new}))

    def deliver_stale(self, stale, final):
        """Stale bundles after convergence: each must leave its site's data
        and conflict log as they were, and the next reliable round must
        carry nothing."""
        self.phase = "stale delivery"
        self.step("== %d stale bundles arrive after convergence" % len(stale))
        logged = {s: self.conflicts(s) for s in SITES}
        for b in stale:
            self.deliver(b)
            self.drop(b)
            self.unchanged(b["dst"], final, logged[b["dst"]],
                           "stale bundle %s (packed at %s in %s)"
                           % (os.path.basename(b["path"]), b["src"],
                              b["phase"]))
        for s in SITES:
            self.unchanged(s, final, logged[s], "stale bundles")
        self.phase = "after stale delivery"
        sent = self.reliable_round()
        if sent:
            raise Failure("stale", "after stale bundles, a reliable round "
                          "still sent changes: %s" % edges_text(sent),
                          site=sorted({e.split("→")[0] for e in sent}))

    def result(self, check, msg=None, site=None, table=None, keys=None):
        """Records CHECK's outcome: passed when MSG is None, else failed
        with MSG, in the current phase, at SITE, in TABLE, at KEYS (each
        None, a name or a list)."""
        self.results[check] = {
            "check": check, "ok": msg is None, "message": msg,
            "seed": self.args.seed, "rounds": self.args.rounds,
            "phase": self.phase, "site": site, "table": table, "keys": keys,
            "steps": os.path.join(self.dir, "steps.log"),
            "step": len(self.steps)}
        if msg is not None:
            self.step("FAILED %s: %s" % (check, msg))

    def attempt(self, check, fn, *args):
        """Runs the check FN(*ARGS) and records its outcome; returns what
        FN returns, or None when CHECK failed (other failures go up)."""
        try:
            v = fn(*args)
        except Failure as f:
            if f.check != check:
                raise
            self.result(f.check, f.msg, **f.where)
            return None
        self.result(check)
        return v

    def backup(self):
        """Copies every site's database aside (a backup at a quiet point)."""
        for s in SITES:
            shutil.copyfile(self.db(s), self.db(s) + ".backup")

    def lose_rows(self, s, n):
        """Deletes N random rows of k at S together with their state rows,
        as a damaged file or a bad manual repair would; returns the keys."""
        with closing(sqlite3.connect(self.db(s))) as c:
            tid = c.execute("SELECT tid FROM _mule_tables WHERE name = "
                            "'k'").fetchone()[0]
            keys = [r[0] for r in c.execute("SELECT id FROM k ORDER BY id")]
            lost = sorted(self.rng.sample(keys, min(n, len(keys))))
            for k in lost:
                c.execute("DELETE FROM k WHERE id = ?", (k,))
                c.execute("DELETE FROM _mule_s%d WHERE pk = ?" % tid, (k,))
            c.commit()
        return lost

    def repair(self, before):
        """Restores a field site from its backup and loses rows at another
        site, then exchanges until quiet; every site must hold BEFORE."""
        self.phase = "faults"
        field = [s for s in SITES if s != "h"]
        restored = self.rng.choice(field)
        damaged = self.rng.choice([s for s in SITES if s != restored])
        shutil.copyfile(self.db(restored) + ".backup", self.db(restored))
        self.step("== %s restored from its backup" % restored)
        lost = self.lose_rows(damaged, 2)
        self.step("== %s lost rows %s of k with their state" % (damaged, lost))
        peer = "h" if damaged != "h" else self.rng.choice(field)
        self.run(damaged, "check", peer)
        # The restored site hears from its hub first: it moves past its
        # lost past by itself before it packs anything.
        self.exchange("h", restored)
        self.until_quiet()
        self.phase = "after faults"
        for s in SITES:
            now = self.dump(s)
            if now != before:
                tables, keys, lines = self.differences(
                    "before the faults", before, s, now)
                raise Failure("repair", "after %s was restored and %s lost "
                              "rows %s, %s differs: %s" % (
                                  restored, damaged, lost, s, lines),
                              site=s, table=tables, keys=keys)

    def simulate(self):
        """The whole run.  The data checks run even when one of them fails;
        the conflict and stale checks need identical data; the faults come
        last."""
        self.setup()
        half = self.args.rounds // 2
        self.rounds(1, half)
        self.until_quiet()
        self.backup()
        self.rounds(half + 1, self.args.rounds)
        self.result("traffic")
        stale = self.late_delivery()
        self.until_quiet()
        self.result("quiet")
        self.phase = "checks"
        final = self.attempt("identical", self.check_identical)
        self.attempt("no_dup", self.check_no_dup)
        if final is None:
            return
        self.check_conflicts(final)     # recorded; stale bundles next
        self.attempt("stale", self.deliver_stale, stale, final)
        self.attempt("repair", self.repair, self.dump("h"))

    def main(self):
        """Runs simulate(); a command failing at any point fails traffic
        (and leaves later checks unreached).  Returns 0 when every check
        passed."""
        try:
            self.simulate()
        except Failure as f:
            self.result(f.check, f.msg, **f.where)
        return 0 if all(self.results.get(c, {}).get("ok") for c in CHECKS) \
            else 1

    def write_results(self):
        """DIR/checks/CHECK.json per check (unreached checks say which
        failed first) and DIR/RESULT.json, a summary."""
        d = os.path.join(self.dir, "checks")
        os.makedirs(d, exist_ok=True)
        failed = [c for c in CHECKS if c in self.results and
                  not self.results[c]["ok"]]
        summary = {}
        for c in CHECKS:
            rec = self.results.get(c) or {
                "check": c, "ok": False, "message": None, "reached": False,
                "seed": self.args.seed, "rounds": self.args.rounds,
                "failed_first": failed[0] if failed else None}
            summary[c] = "ok" if rec["ok"] else \
                "FAILED" if rec.get("reached", True) else "not reached"
            with open(os.path.join(d, c + ".json"), "w") as f:
                json.dump(rec, f, indent=1)
        with open(os.path.join(self.dir, "RESULT.json"), "w") as f:
            json.dump({"seed": self.args.seed, "rounds": self.args.rounds,
                       "steps": os.path.join(self.dir, "steps.log"),
                       "results": summary, "counts": self.counts}, f,
                      indent=1)
        return summary


def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(v)


def file_sum(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def by_key(rows):
    """{key: [row tuples]} from a dump's reprs of (key, ...) rows."""
    out = {}
    for r in rows:
        row = eval(r)       # repr of a tuple of str/int/float/None
        out.setdefault(row[0], []).append(row)
    return out


def key_diff(a, rows_a, b, rows_b):
    """[(repr of key, "key K: A has ..., B has ...")] for the keys whose
    rows differ between two dumps of a table, in key order."""
    ka, kb = by_key(rows_a), by_key(rows_b)
    out = []
    for k in sorted(set(ka) | set(kb), key=repr):
        ra, rb = ka.get(k, []), kb.get(k, [])
        if ra != rb:
            out.append((repr(k), "key %r: %s has %s, %s has %s" % (
                k, a, rows_text(ra), b, rows_text(rb))))
    return out


def rows_text(rows):
    return "no row" if not rows else " and ".join(repr(r) for r in rows)


def edges_text(sent):
    return ", ".join("%s %d change(s)" % (e, n)
                     for e, n in sorted(sent.items()))


def where_text(rec):
    """"seed 1, 40 rounds, round 7, site s1, table k, keys 5" for a
    check's record."""
    parts = ["seed %d" % rec["seed"], "%d rounds" % rec["rounds"]]
    if rec.get("phase"):
        parts.append(rec["phase"])
    for name in ("site", "table", "keys"):
        v = rec.get(name)
        if v is None or v == []:
            continue
        if isinstance(v, list):
            more = " (%d in all)" % len(v) if len(v) > 8 else ""
            v = ", ".join(str(x) for x in v[:8]) + more
        parts.append("%s %s" % (name, v))
    return ", ".join(parts)


def show(directory, check):
    """For t0007: prints why CHECK failed, with where and the last steps
    before; returns 0 when it passed."""
    try:
        with open(os.path.join(directory, "checks", check + ".json")) as f:
            rec = json.load(f)
    except OSError as e:
        print("no result for %s (the driver did not finish): %s"
              % (check, e), file=sys.stderr)
        return 1
    if rec["ok"]:
        return 0
    if not rec.get("reached", True):
        print("%s: %s: not reached (%s failed first)"
              % (where_text(rec), check, rec["failed_first"] or "the driver"),
              file=sys.stderr)
        return 1
    print("%s: %s: %s" % (where_text(rec), check, rec["message"]),
          file=sys.stderr)
    print("every step: %s" % rec["steps"], file=sys.stderr)
    if check.startswith("conflicts"):
        return 1
    print("the last steps:", file=sys.stderr)
    with open(rec["steps"]) as f:
        lines = f.read().splitlines()[:rec["step"]]
    for line in lines[-12:]:
        print("  " + line[:300], file=sys.stderr)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--dir", default="converge")
    ap.add_argument("--mule", default="mule")
    ap.add_argument("--tail", type=int, default=15,
                    help="steps shown on failure")
    ap.add_argument("--report-only", action="store_true",
                    help="exit 0 when the checks ran, failed or not (their "
                    "outcome is in DIR/checks/)")
    ap.add_argument("--show", metavar="CHECK", choices=CHECKS,
                    help="run nothing: print why CHECK failed in an earlier "
                    "run in DIR; exit 0 when it passed")
    args = ap.parse_args()
    if args.show:
        return show(args.dir, args.show)
    print("converge: seed %d, %d rounds, sites %s, edges %s"
          % (args.seed, args.rounds, " ".join(SITES),
             " ".join("%s-%s" % e for e in EDGES)))
    sys.stdout.flush()
    d = Driver(args)
    rc = d.main()
    summary = d.write_results()
    if rc != 0:
        print("converge: last %d steps:" % args.tail)
        for s in d.steps[-args.tail:]:
            print("  " + s[:400])
        for c in CHECKS:
            rec = d.results.get(c)
            if rec is not None and not rec["ok"]:
                print("converge: FAILED check '%s' (%s): %s"
                      % (c, where_text(rec), rec["message"]))
    print("converge: %s" % json.dumps(d.counts))
    print("converge: checks %s" % json.dumps(summary))
    print("converge: every step in %s" % os.path.join(d.dir, "steps.log"))
    print("converge: seed %d, %d rounds: %s"
          % (args.seed, args.rounds, "ok" if rc == 0 else "FAILED"))
    return 0 if args.report_only else rc


if __name__ == "__main__":
    sys.exit(main())
