"""bench_report - turn measured runs into the numbers and the tables.

Owns: the statistics (median and min-max spread per case and allocator,
ratio of medians to glibc, geometric mean of the ratios per allocator,
worst per-case ratio) and their Markdown rendering.  Why medians and
geomeans: a run disturbed by the machine moves a median little, and a
geometric mean of ratios treats a 2x win and a 2x loss symmetrically
whatever each case's absolute time.
"""
import math
import statistics

KIB_PER_MIB = 1024


def summarise(runs, cases, allocators):
    """{(case, allocator): dict(time, tmin, tmax, rss)} over good runs."""
    table = {}
    for case in cases:
        for alloc in allocators:
            good = [r for r in runs if r.case == case and
                    r.allocator == alloc and r.ok]
            if not good:
                continue
            times = [r.seconds for r in good]
            table[case, alloc] = {
                'time': statistics.median(times),
                'tmin': min(times), 'tmax': max(times),
                'rss': statistics.median(r.maxrss_kib for r in good),
                'n': len(good)}
    return table


def ratios(table, cases, alloc, key, base='glibc'):
    """[(case, ratio of medians to the base allocator)] where both ran."""
    return [(c, table[c, alloc][key] / table[c, base][key])
            for c in cases if (c, alloc) in table and (c, base) in table
            and table[c, base][key] > 0]


def geomean(values):
    values = list(values)
    if not values:
        return float('nan')
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _time_cell(table, case, alloc, base):
    if (case, alloc) not in table:
        return 'failed'
    s = table[case, alloc]
    cell = f"{s['time']:.3f} [{s['tmin']:.3f}-{s['tmax']:.3f}]"
    if alloc != base and (case, base) in table:
        cell += f" **{s['time'] / table[case, base]['time']:.2f}x**"
    return cell


def _rss_cell(table, case, alloc, base):
    if (case, alloc) not in table:
        return 'failed'
    s = table[case, alloc]
    cell = f"{s['rss'] / KIB_PER_MIB:.1f}"
    if alloc != base and (case, base) in table:
        cell += f" ({s['rss'] / table[case, base]['rss']:.2f}x)"
    return cell


def _grid(title, table, cases, allocators, cell, base):
    lines = [f'#### {title}', '',
             '| case | ' + ' | '.join(allocators) + ' |',
             '|---|' + '---:|' * len(allocators)]
    for case in cases:
        cells = [cell(table, case, a, base) for a in allocators]
        lines.append(f'| {case} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _summary(table, cases, allocators, base):
    lines = ['#### Summary (ratios of medians to glibc; < 1 is better)', '',
             '| allocator | geomean time | worst time (case) '
             '| geomean peak RSS | worst peak RSS (case) |',
             '|---|---:|---|---:|---|']
    for alloc in allocators:
        if alloc == base:
            continue
        t = ratios(table, cases, alloc, 'time', base)
        m = ratios(table, cases, alloc, 'rss', base)
        if not t:
            continue
        worst_t = max(t, key=lambda cr: cr[1])
        worst_m = max(m, key=lambda cr: cr[1])
        lines.append(f'| {alloc} | {geomean(r for _, r in t):.2f}x | '
                     f'{worst_t[1]:.2f}x ({worst_t[0]}) | '
                     f'{geomean(r for _, r in m):.2f}x | '
                     f'{worst_m[1]:.2f}x ({worst_m[0]}) |')
    return lines + ['']


def markdown(table, cases, allocators, runs_per_case, header):
    """The report: header lines, summary, time grid, RSS grid."""
    base = 'glibc'
    lines = list(header) + ['']
    if base in allocators:
        lines += _summary(table, cases, allocators, base)
    more = (' (prodcons: three times as many, see docs/benchmarks.md)'
            if any(c.startswith('prodcons') for c in cases) else '')
    lines += _grid(f'Wall time, s: median [min-max] of {runs_per_case} '
                   f'runs{more}, **ratio to glibc**', table, cases,
                   allocators, _time_cell, base)
    lines += _grid('Peak RSS, MiB: median (ratio to glibc)', table, cases,
                   allocators, _rss_cell, base)
    return '\n'.join(lines)
