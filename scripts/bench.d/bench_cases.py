"""bench_cases - what scripts/bench runs: the cases and their inputs.

Owns: the list of benchmark case families (the workload programs of
tests/workloads and three real programs), how each is sized, and the
generated input files the real programs read.  Invariants: a case is
the same command line for every allocator (only LD_PRELOAD differs);
work per thread is held constant, so a 2-thread case does twice the
work of its 1-thread case on twice the threads (ideal scaling keeps the
wall time equal); a case marked deterministic prints the same bytes on
every correct allocator, which the runner checks.
Why sizes are what they are: each case takes roughly 0.3-1.5 s on
glibc on the 2-core reference machine, so the default bench (14 cases,
4 allocators, 5 runs) stays under 10 minutes.
"""
import os
from dataclasses import dataclass, field

FAMILIES = ['images', 'prodcons', 'larson', 'reallocgrow', 'python',
            'sqlite', 'gcc']
PYTHON = '/usr/bin/python3'  # Debian's, whatever a pyenv shim says


@dataclass
class Case:
    name: str           # family-tN, e.g. larson-t2
    family: str
    threads: int
    argv: list
    env: dict = field(default_factory=dict)
    stdin: str = None   # file in the work folder fed to stdin
    deterministic: bool = False
    runs_factor: int = 1  # runs this many times the requested number


def _workload(build, name):
    path = os.path.abspath(os.path.join(build, 'tests', 'workloads', name))
    if not os.access(path, os.X_OK):
        raise SystemExit(f'bench: {path} not found; build it first: '
                         f'meson compile -C {build}')
    return path


def _scaled(n, scale):
    return str(max(1, int(n * scale)))


def _images(build, t, scale, work):
    return Case('', 'images', t, [_workload(build, 'images'),
                '--threads', str(t), '--iterations', _scaled(400 * t, scale)])


# prodcons's peak follows how far the producers run ahead of the
# consumers, which the scheduler decides: over 30 runs glibc's peak
# ranged 3.9-10.2 MiB and Mallard's 4.8-13.4 (medians 9.8 and 9.8), and
# the median of 5 runs put the ratio anywhere from 0.5x to 2x.  Three
# times the runs steady the medians; the runs are short.
PRODCONS_RUNS_FACTOR = 3


def _prodcons(build, t, scale, work):
    return Case('', 'prodcons', t, [_workload(build, 'prodcons'),
                '--threads', str(t), '--iterations', _scaled(150000, scale)],
                runs_factor=PRODCONS_RUNS_FACTOR)


def _larson(build, t, scale, work):
    return Case('', 'larson', t, [_workload(build, 'larson'),
                '--threads', str(t), '--iterations', _scaled(3000000, scale)])


def _reallocgrow(build, t, scale, work):
    return Case('', 'reallocgrow', t, [_workload(build, 'reallocgrow'),
                '--threads', str(t), '--iterations', _scaled(150, scale)])


def _python(build, t, scale, work):
    script = os.path.join(os.path.dirname(__file__), 'pywork.py')
    return Case('', 'python', t, [PYTHON, script, str(t),
                _scaled(40000, scale)], env={'PYTHONMALLOC': 'malloc'},
                deterministic=True)


def _write_sql(path, rows, threads):
    """A SQL script: bulk inserts, index builds, joins, sorts, updates."""
    with open(path, 'w') as out:
        out.write(f'PRAGMA threads = {threads};\n'
                  'CREATE TABLE item(id INTEGER PRIMARY KEY, cat INT,'
                  ' name TEXT, price REAL, note TEXT);\nBEGIN;\n')
        state = 42
        for i in range(rows):
            state = (state * 1103515245 + 12345) % (1 << 31)
            out.write(f"INSERT INTO item VALUES({i}, {state % 50}, "
                      f"'item{state % 99991}', {state % 100000 / 100}, "
                      f"'{'n' * (state % 300)}');\n")
        out.write('COMMIT;\n'
                  'CREATE INDEX item_cat ON item(cat, price);\n'
                  'CREATE INDEX item_name ON item(name, note);\n'
                  'SELECT cat, count(*), round(sum(price), 2) FROM item'
                  ' GROUP BY cat ORDER BY cat;\n'
                  'SELECT name, price FROM item ORDER BY note, price DESC,'
                  ' id LIMIT 20;\n'
                  "UPDATE item SET note = note || 'x' WHERE id % 3 = 0;\n"
                  'SELECT count(*), sum(length(note)) FROM item;\n')


def _sqlite(build, t, scale, work):
    rows = int(_scaled(60000, scale))
    sql = f'sqlite-{rows}-t{t}.sql'
    _write_sql(os.path.join(work, sql), rows * t, t)
    return Case('', 'sqlite', t, ['sqlite3', ':memory:'], stdin=sql,
                deterministic=True)


def _write_c(path, funcs):
    """A C file of `funcs` small, branchy, inlinable functions."""
    with open(path, 'w') as out:
        out.write('#include <string.h>\n'
                  'struct rec { int a; double b; char name[24]; };\n')
        for i in range(funcs):
            prev = i - 1 if i else 0
            out.write(f'int f{i}(struct rec *r, int k) {{\n'
                      f'  int s = {i};\n'
                      '  for (int j = 0; j < k; j++) {\n'
                      f'    s += r[j].a * {i % 13 + 1} + (int)r[j].b;\n'
                      f'    if (s % {i % 7 + 2} == 0)'
                      f' memcpy(r[j].name, "f{i}", 4);\n'
                      f'    switch (s & 7) {{ case 1: s ^= {i}; break;\n'
                      f'      case 3: s += f{prev}(r, j / 2); break;\n'
                      '      default: s -= j; }\n'
                      '  }\n  return s;\n}\n')


def _gcc(build, t, scale, work):
    funcs = int(_scaled(250, scale))
    src = f'gen-{funcs}.c'
    _write_c(os.path.join(work, src), funcs)
    # t compilers at once (gcc itself is single-threaded); the outputs
    # are printed in a fixed order so the run stays deterministic.
    start = ' '.join(f'gcc -O2 -S -o out{i}-t{t}.s {src} & p{i}=$!;'
                     for i in range(t))
    wait = ' '.join(f'wait $p{i} || exit 1;' for i in range(t))
    outs = ' '.join(f'out{i}-t{t}.s' for i in range(t))
    script = f'{start} {wait} cat {outs}'
    return Case('', 'gcc', t, ['sh', '-c', script], deterministic=True)


_MAKERS = {'images': _images, 'prodcons': _prodcons, 'larson': _larson,
           'reallocgrow': _reallocgrow, 'python': _python,
           'sqlite': _sqlite, 'gcc': _gcc}


def make_cases(build, families, thread_counts, scale, work):
    """Cases for each family and thread count, in a stable order."""
    cases = []
    for family in families:
        for t in thread_counts:
            case = _MAKERS[family](build, t, scale, work)
            case.name = f'{family}-t{t}'
            cases.append(case)
    return cases
