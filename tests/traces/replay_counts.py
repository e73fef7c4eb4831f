#!/usr/bin/env python3
"""replay_counts.py - compares a trace's recorded operation counts
(`mallard trace info`) with the counts a replay reports (`mallard replay
--json`): ops per instance, ops of the run, and calls per kind.  Exits
1 naming every count that differs, so a replay that skips or repeats
calls fails the test.

usage: replay_counts.py INFO_TEXT_FILE REPLAY_JSON_FILE
"""
import json
import re
import sys

# Ops that are not calls of the malloc API: the replay counts them in
# "ops" but has no latency row for them.
NOT_CALLS = ("thread_start", "thread_exit")


def recorded_counts(path):
    counts, total = {}, None
    for line in open(path):
        m = re.match(r"^ops:\s+(\d+)", line)
        if m:
            total = int(m.group(1))
        m = re.match(r"^  (\w+)\s+(\d+)$", line)
        if m:
            counts[m.group(1)] = int(m.group(2))
    return total, counts


def main():
    total, recorded = recorded_counts(sys.argv[1])
    report = json.load(open(sys.argv[2]))
    run = report["runs"][0]
    problems = []
    if run["status"] != "ok":
        problems.append("run status %s: %s" % (run["status"],
                                                run["message"]))
    if report["ops_per_instance"] != total or run["ops"] != total:
        problems.append("ops: recorded %s, replay %s per instance, %s run"
                        % (total, report["ops_per_instance"], run["ops"]))
    latency = run.get("latency_ns", {})
    for kind, count in recorded.items():
        if kind in NOT_CALLS:
            continue
        replayed = latency.get(kind, {}).get("count", 0)
        if replayed != count:
            problems.append("%s: recorded %d, replayed %d"
                            % (kind, count, replayed))
    for kind in latency:
        if kind != "all" and kind not in recorded:
            problems.append("%s: replayed but never recorded" % kind)
    for p in problems:
        print("replay_counts: " + p)
    if not problems:
        print("replay_counts: %d ops, %d kinds match" % (total,
                                                         len(recorded)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
