#!/bin/sh
# gcc.sh - gcc compiling a generated C file.
#
# gcc, cc1 and as inherit LD_PRELOAD, so the compiler's own heavy use of
# malloc (parse trees, RTL, obstacks grown with realloc) runs on the
# allocator under test.  Compilation is deterministic: the assembly and
# the object file must be identical with and without the preload.
. "$(dirname "$0")/lib.sh"
real_init "$@"
real_need gcc gcc
real_need awk mawk

FUNCS=150
awk -v n=$FUNCS 'BEGIN {
    print "#include <string.h>"
    print "struct rec { int a; double b; char name[24]; };"
    for (i = 0; i < n; i++) {
        printf "int f%d(struct rec *r, int k) {\n", i
        printf "  int s = %d;\n", i
        printf "  for (int j = 0; j < k; j++) {\n"
        printf "    s += r[j].a * %d + (int)r[j].b;\n", i % 13 + 1
        printf "    if (s %% %d == 0) memcpy(r[j].name, \"f%d\", 4);\n",
               i % 7 + 2, i
        printf "    switch (s & 7) { case 1: s ^= %d; break;\n", i
        printf "      case 3: s += f%d(r, j / 2); break;\n",
               (i > 0 ? i - 1 : 0)
        printf "      default: s -= j; }\n"
        printf "  }\n  return s;\n}\n"
    }
}' >"$REAL_TMP/gen.c"

real_run gcc_asm gcc -O2 -S -o - gen.c
real_compare gcc_asm
real_run gcc_obj sh -c 'gcc -O2 -g -c -o gen.o gen.c && cat gen.o'
real_compare gcc_obj
