#!/usr/bin/env python3
"""process.py - the python3 trace's workload: a small ETL job.

Generates a day of web-shop log lines (fixed seed, so every run is the
same), parses them on two worker threads (a ThreadPoolExecutor, as
scripts that fetch and parse do), then on the main thread aggregates
per customer and product with dicts, sorts, and writes a JSON and a CSV
report to memory.  Run with PYTHONMALLOC=malloc so every object comes
from malloc, not from pymalloc's arenas.  Parsed records made on a
worker and dropped on the main thread are cross-thread frees.

usage: process.py [LINES]   (default 60000)
"""
import collections
import concurrent.futures
import csv
import io
import json
import random
import sys

SEED = 6
WORKERS = 2
BATCH = 5000
PATHS = ["/", "/cart", "/search", "/item", "/checkout", "/help"]


def make_lines(count):
    rng = random.Random(SEED)
    for i in range(count):
        yield "%d,cust%d,%s?q=%s,%d,%0.2f" % (
            i, rng.randrange(3000), rng.choice(PATHS),
            "".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 12))),
            rng.choice((200, 200, 200, 404, 500)), rng.uniform(0, 300))


def parse_batch(lines):
    records = []
    for row in csv.reader(lines):
        path, _, query = row[2].partition("?")
        records.append({"id": int(row[0]), "customer": row[1],
                        "path": path, "query": query.split("=", 1)[-1],
                        "status": int(row[3]), "amount": float(row[4])})
    return records


def aggregate(batches):
    spend = collections.defaultdict(float)
    hits = collections.Counter()
    queries = collections.Counter()
    for records in batches:
        for r in records:
            hits[r["path"]] += 1
            if r["status"] == 200:
                spend[r["customer"]] += r["amount"]
            queries[r["query"][:3]] += 1
    return spend, hits, queries


def report(spend, hits, queries):
    top = sorted(spend.items(), key=lambda kv: (-kv[1], kv[0]))
    text = json.dumps({"top": top[:50], "hits": dict(hits),
                       "queries": queries.most_common(20)})
    table = io.StringIO()
    writer = csv.writer(table)
    for name, total in top:
        writer.writerow([name, "%.2f" % total])
    return len(text) + len(table.getvalue())


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    lines = list(make_lines(count))
    batches = [lines[i:i + BATCH] for i in range(0, len(lines), BATCH)]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        parsed = pool.map(parse_batch, batches)
        spend, hits, queries = aggregate(parsed)
    print("process.py: %d lines, %d customers, report %d bytes"
          % (count, len(spend), report(spend, hits, queries)))


if __name__ == "__main__":
    main()
