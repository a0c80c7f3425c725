#!/usr/bin/env python3
"""scripts/callgraph.py — the call graph between the source files of mule,
from Universal Ctags' definitions, and the circles in it.

    python3 scripts/callgraph.py [--level file|dir] [--edges]

Every function defined (not static) in one .c file and named in another is
an edge "caller file -> defining file".  With --level dir, files are folded
into their folder (replica/merge, sync, ...).  Prints the circles (strongly
connected groups of more than one node), then "N circles"; exits 1 when
there is one.  Used to keep the arrows of docs/design.md §3 one-way.
"""
import collections, json, os, re, subprocess, sys

DIRS = ["cli", "sync", "replica", "bundle", "crypto", "transports", "core"]

def sources(root):
    out = []
    for d in DIRS:
        for base, _, files in os.walk(os.path.join(root, d)):
            out += [os.path.join(base, f) for f in files if f.endswith(".c")]
    return sorted(out)

def definitions(files):
    p = subprocess.run(["ctags", "--output-format=json", "--kinds-C=f",
                        "--fields=+S", "-f", "-"] + files,
                       capture_output=True, text=True, check=True)
    defs = {}
    for line in p.stdout.splitlines():
        t = json.loads(line)
        if t.get("_type") != "tag" or t.get("kind") != "function":
            continue
        if "static" in open_cache(t["path"])[t["name"]]:
            continue
        defs[t["name"]] = t["path"]
    return defs

_cache = {}
def open_cache(path):
    """name -> the declaration line text before the name, for 'static'."""
    if path not in _cache:
        text = open(path, encoding="utf-8", errors="replace").read()
        d = collections.defaultdict(str)
        for m in re.finditer(r"^(static\s+)?[A-Za-z_][^;{}()]*\n([A-Za-z_]\w*)\(",
                             text, re.M):
            d[m.group(2)] += m.group(1) or ""
        _cache[path] = d
    return _cache[path]

def strip(text):
    """Drops comments, string and character literals (a quote inside a
    character literal would otherwise pair with the next string)."""
    pat = re.compile(r"/\*.*?\*/|//[^\n]*|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"", re.S)
    return pat.sub(" ", text)

def node(path, level):
    path = os.path.normpath(path)
    return os.path.dirname(path) if level == "dir" else path

def graph(files, defs, level):
    g = collections.defaultdict(set)
    for f in files:
        words = set(re.findall(r"[A-Za-z_]\w*", strip(open(f).read())))
        for w in words - {"main"}:
            d = defs.get(w)
            if d and node(d, level) != node(f, level):
                g[node(f, level)].add(node(d, level))
    return g

def circles(g):
    idx, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        idx[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in idx:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    nodes = set(g) | {w for s in g.values() for w in s}
    for v in sorted(nodes):
        if v not in idx:
            visit(v)
    return out

def main():
    level = "dir" if "--level" in sys.argv and sys.argv[sys.argv.index("--level") + 1] == "dir" else "file"
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    files = sources(".")
    g = graph(files, definitions(files), level)
    if "--edges" in sys.argv:
        for a in sorted(g):
            for b in sorted(g[a]):
                print(f"{a} -> {b}")
    cs = circles(g)
    for c in cs:
        inner = [f"{a} -> {b}" for a in c for b in sorted(g[a]) if b in c]
        print("circle: " + ", ".join(inner))
    print(f"{len(cs)} circles")
    sys.exit(1 if cs else 0)

if __name__ == "__main__":
    main()
