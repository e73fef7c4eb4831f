"""pywork - the Python program scripts/bench times (run as a child).

Usage: pywork.py THREADS RECORDS.  Builds RECORDS dict records, round
trips them through json, indexes and sorts them, then has THREADS
threads build, sort and hash lists of strings.  With PYTHONMALLOC=malloc
(set by the bench) every object goes through the allocator under test.
The output is deterministic, so the bench compares it across
allocators.
"""
import hashlib
import json
import random
import sys
import threading

JOBS_PER_THREAD = 60
WORDS_PER_JOB = 3000


def records_part(count):
    rng = random.Random(1234)
    records = [{'id': i, 'name': 'user%05d' % rng.randrange(100000),
                'score': rng.random(),
                'tags': [rng.choice('abcdefg')
                         for _ in range(rng.randrange(6))]}
               for i in range(count)]
    back = json.loads(json.dumps(records, sort_keys=True))
    if back != records:
        raise SystemExit('pywork: json round trip changed the records')
    by_tag = {}
    for rec in back:
        for tag in rec['tags']:
            by_tag.setdefault(tag, []).append(rec['id'])
    ranked = sorted(back, key=lambda r: (-r['score'], r['name']))
    print('tags', {t: len(v) for t, v in sorted(by_tag.items())})
    print('top', [r['id'] for r in ranked[:5]])


def thread_part(threads):
    digests = {}

    def worker(first):
        for n in range(first, first + JOBS_PER_THREAD):
            words = ['w%d-%d' % (n, k) * (k % 7 + 1)
                     for k in range(WORDS_PER_JOB)]
            words.sort(reverse=True)
            joined = ''.join(words).encode()
            digests[n] = hashlib.sha256(joined).hexdigest()

    pool = [threading.Thread(target=worker, args=(i * JOBS_PER_THREAD,))
            for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    done = repr(sorted(digests.items())).encode()
    print('threads digest', hashlib.sha256(done).hexdigest())


def main():
    threads, count = int(sys.argv[1]), int(sys.argv[2])
    for _ in range(threads):   # per-thread work held constant
        records_part(count)
    thread_part(threads)


main()
