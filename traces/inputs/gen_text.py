#!/usr/bin/env python3
"""gen_text.py - writes the text the compressor and sort traces chew on.

Log-like lines (a timestamp, a level, a host, a message drawn from a
few templates with numbers in them): repetitive enough that a
compressor finds matches, varied enough that it works for them, and
unsorted.  Fixed seed, so the same bytes every run.

usage: gen_text.py [MEGABYTES]   (default 8)
"""
import random
import sys

SEED = 6
TEMPLATES = ("GET /item/%d took %d ms", "user %d logged in from 10.0.%d.%d",
             "cache miss for key k%d (size %d)", "worker %d finished job %d",
             "retrying request %d after %d ms", "disk %d at %d%% capacity")
LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")


def main():
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 8
    limit = int(megabytes * (1 << 20))
    rng = random.Random(SEED)
    out = sys.stdout
    written = 0
    second = 1700000000
    while written < limit:
        second += rng.randrange(3)
        template = rng.choice(TEMPLATES)
        nums = tuple(rng.randrange(10 ** rng.randint(1, 6))
                     for _ in range(template.count("%d")))
        line = "%d %s host%02d %s\n" % (second, rng.choice(LEVELS),
                                        rng.randrange(40), template % nums)
        out.write(line)
        written += len(line)


if __name__ == "__main__":
    main()
