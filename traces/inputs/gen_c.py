#!/usr/bin/env python3
"""gen_c.py - writes the large C file the gcc trace compiles.

Many small functions of the shapes real code has (structs passed by
pointer, loops over arrays, switch dispatch, string tables, calls
between functions), so cc1 builds and frees trees, RTL, and hash
tables the way it does on a big translation unit.  Fixed seed.

usage: gen_c.py [FUNCTIONS]   (default 600)
"""
import random
import sys

SEED = 6


def emit_prelude(out, count):
    out.write("#include <stddef.h>\n#include <string.h>\n\n"
              "struct item { int id; long weight; char name[24];"
              " struct item *next; };\n"
              "static const char *const names[] = {\n")
    for i in range(64):
        out.write('    "name_%d",\n' % i)
    out.write("};\n\n")
    for i in range(count):
        out.write("long fn%d(struct item *it, int n);\n" % i)


def emit_function(out, rng, i, count):
    out.write("long fn%d(struct item *it, int n)\n{\n    long acc = %d;\n"
              % (i, rng.randrange(1000)))
    out.write("    for (int k = 0; k < n; k++, it = it->next) {\n"
              "        if (!it)\n            break;\n"
              "        switch ((it->id + k) %% %d) {\n" % (rng.randint(3, 9)))
    for case in range(rng.randint(3, 8)):
        op = rng.choice(("acc += it->weight * %d;", "acc ^= (long)%d << 3;",
                         "acc -= strlen(it->name) + %d;",
                         "memcpy(it->name, names[%d %% 64], 6);"))
        out.write("        case %d: %s break;\n"
                  % (case, op % rng.randrange(1, 500)))
    out.write("        default: acc += k; break;\n        }\n    }\n")
    if i > 0:
        out.write("    if (acc %% 7 == 0 && n > 1)\n"
                  "        acc += fn%d(it, n - 1);\n" % rng.randrange(i))
    out.write("    return acc;\n}\n\n")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    rng = random.Random(SEED)
    emit_prelude(sys.stdout, count)
    for i in range(count):
        emit_function(sys.stdout, rng, i, count)


if __name__ == "__main__":
    main()
