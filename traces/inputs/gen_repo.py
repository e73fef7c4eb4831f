#!/usr/bin/env python3
"""gen_repo.py - builds the git repository the git trace packs.

A C project's history: 400 commits, each editing a few of 40 files
(functions inserted, old ones dropped), so that the objects have many
close versions for pack-objects' delta search to find.  Fixed seed and
fixed dates, so the same history every run.

usage: gen_repo.py DIR   (DIR must not exist)
"""
import os
import random
import subprocess
import sys

SEED = 7
COMMITS = 400
FILES = 40
EDITS_PER_COMMIT = 8
MAX_LINES = 400
WORDS = ("alloc", "free", "pool", "arena", "heap", "cache", "lock", "page",
         "chunk", "block", "thread", "trace", "replay", "size", "class")


def git(*args, env=None):
    subprocess.run(["git", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def new_function(rng):
    return (f"int {rng.choice(WORDS)}_{rng.randrange(10**6)}(int x) "
            f"{{ return x * {rng.randrange(1000)} + "
            f"{rng.randrange(1000)}; }}")


def edit(rng, lines):
    """Inserts 5-40 functions somewhere; past MAX_LINES drops 30."""
    at = rng.randrange(len(lines) + 1)
    lines[at:at] = [new_function(rng) for _ in range(rng.randrange(5, 40))]
    if len(lines) > MAX_LINES:
        cut = rng.randrange(len(lines) - 30)
        del lines[cut:cut + 30]


def main():
    root = sys.argv[1]
    rng = random.Random(SEED)
    git("init", "-q", root)
    os.chdir(root)
    os.makedirs("src")
    env = dict(os.environ, GIT_AUTHOR_NAME="gen", GIT_AUTHOR_EMAIL="g@x",
               GIT_COMMITTER_NAME="gen", GIT_COMMITTER_EMAIL="g@x")
    files = {}
    for commit in range(COMMITS):
        for _ in range(EDITS_PER_COMMIT):
            name = f"src/mod{rng.randrange(FILES)}.c"
            edit(rng, files.setdefault(name, []))
            with open(name, "w") as out:
                out.write("\n".join(files[name]) + "\n")
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = \
            f"{1700000000 + commit * 3600} +0000"
        git("add", "-A", env=env)
        git("commit", "-q", "-m", f"change {commit}", env=env)


if __name__ == "__main__":
    main()
