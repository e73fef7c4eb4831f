#!/bin/sh
# python.sh - Debian's python3 on the allocator under test.
#
# PYTHONMALLOC=malloc makes CPython send every allocation to malloc
# instead of its own pymalloc arenas, so the allocator sees the whole
# object churn: dicts, lists, strings, json, sorting, and threads that
# allocate in parallel (the GIL switches between them every few ms, so
# blocks still cross threads).  The script's output is deterministic;
# it must be the same with and without the preload.
. "$(dirname "$0")/lib.sh"
real_init "$@"
PY=/usr/bin/python3   # Debian's, not a pyenv shim on PATH
real_need "$PY" python3

cat >"$REAL_TMP/work.py" <<'PYEOF'
import hashlib, json, queue, random, threading

rng = random.Random(1234)
records = [{"id": i, "name": "user%05d" % rng.randrange(100000),
            "score": rng.random(), "tags": [rng.choice("abcdefg")
                                            for _ in range(rng.randrange(6))]}
           for i in range(40000)]
text = json.dumps(records, sort_keys=True)
back = json.loads(text)
assert back == records
by_tag = {}
for r in back:
    for t in r["tags"]:
        by_tag.setdefault(t, []).append(r["id"])
ranked = sorted(back, key=lambda r: (-r["score"], r["name"]))
print("records", len(back), "json bytes", len(text))
print("tags", {t: len(v) for t, v in sorted(by_tag.items())})
print("top", [r["id"] for r in ranked[:5]])

jobs, results = queue.Queue(), queue.Queue()
def worker():
    while True:
        n = jobs.get()
        if n is None:
            return
        words = ["w%d-%d" % (n, k) * (k % 7 + 1) for k in range(2000)]
        words.sort(reverse=True)
        results.put((n, hashlib.sha256("".join(words).encode()).hexdigest()))
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for n in range(200):
    jobs.put(n)
for t in threads:
    jobs.put(None)
for t in threads:
    t.join()
done = sorted(results.get() for _ in range(200))
print("threads digest", hashlib.sha256(repr(done).encode()).hexdigest())
PYEOF

real_run python env PYTHONMALLOC=malloc "$PY" work.py
real_compare python
