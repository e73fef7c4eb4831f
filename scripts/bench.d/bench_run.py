"""bench_run - run one case under one allocator and measure it.

Owns: the allocators the bench knows (where each library lives and
which Debian package provides it), the child's environment, and one
measured run.  The run goes through runstat (runstat.c, compiled into
the scratch folder): it forks the command, and reports the wall time
around the command's whole life and its peak RSS from wait4's rusage
(ru_maxrss, KiB; for a shell case the largest process it waited for).
runstat.c says why Python cannot measure the peak itself.
Invariants: glibc runs with no LD_PRELOAD at all; every other allocator
runs with exactly its library preloaded, and a run whose stderr shows
that ld.so could not preload it is an error, not a glibc timing.
"""
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass

# The allocators known by name come from the one table, the replayer's
# (`mallard replay --list-allocators`: name, library, Debian package).
_known = {}


def known_allocators(build):
    """name -> (library path or None for glibc, how to get it)."""
    if _known:
        return _known
    mallard = os.path.join(build, 'replay', 'mallard')
    how_build = f'build it: meson setup {build} && meson compile -C {build}'
    if not os.access(mallard, os.X_OK):
        raise SystemExit(f'bench: {mallard} not found (the table of '
                         f'allocators comes from it); {how_build}')
    out = subprocess.run([mallard, 'replay', '--list-allocators'],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        name, library, package = line.split(' ', 2)
        how = (f'install the Debian package {package}' if package != '-'
               else how_build)
        _known[name] = (None if name == 'glibc' else library, how)
    return _known


# name -> (allocator known by name, settings it runs with): one library in
# another mode, e.g. Mallard's heap checks (what they cost).
VARIANTS = {
    'mallard-check': ('mallard', {'MALLARD_CHECK': '1'}),
}
# Variables that would change what a run measures if inherited.
SCRUB = ('LD_PRELOAD', 'MALLOC_PERTURB_', 'MALLOC_CHECK_', 'PYTHONMALLOC')


@dataclass
class Run:
    case: str
    allocator: str
    seconds: float
    maxrss_kib: int
    ok: bool
    problem: str       # why not ok, '' when ok
    digest: str        # sha256 of stdout
    command: str       # shell line that reproduces the run


def library_for(name, build):
    """The library to preload for allocator `name` (None for glibc);
    exits with a message naming the package when it is missing.  A name
    with a slash is a path to any allocator's .so (to compare two builds
    of Mallard, say)."""
    if '/' in name:
        if not os.path.isfile(name):
            raise SystemExit(f'bench: {name}: no such file')
        return os.path.abspath(name)
    name = VARIANTS.get(name, (name, {}))[0]
    known = known_allocators(build)
    if name not in known:
        raise SystemExit(f'bench: unknown allocator {name!r}; known: '
                         f'{", ".join(list(known) + list(VARIANTS))}')
    path, how = known[name]
    if path is None:
        return None
    if not os.path.isfile(path):
        raise SystemExit(f'bench: {name}: {path} not found; '
                         f'{how.format(build=build)}')
    return os.path.abspath(path)


def _environment(case, allocator, library):
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(case.env)
    env.update(VARIANTS.get(allocator, ('', {}))[1])
    if library:
        env['LD_PRELOAD'] = library
    return env


def _command_line(case, allocator, library, work):
    env = dict(case.env)
    env.update(VARIANTS.get(allocator, ('', {}))[1])
    if library:
        env['LD_PRELOAD'] = library
    sets = ' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())
    line = f'cd {shlex.quote(work)} && {sets} {shlex.join(case.argv)}'
    if case.stdin:
        line += f' <{shlex.quote(case.stdin)}'
    return line.replace('&&  ', '&& ')


def _problem(status, err_text, timed_out, timeout):
    if timed_out:
        return f'timed out after {timeout} s'
    if 'cannot be preloaded' in err_text:
        return 'ld.so could not preload the library: ' + err_text.strip()
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f'killed by signal {sig} ({signal.Signals(sig).name})'
    if os.WEXITSTATUS(status) != 0:
        return f'exit status {os.WEXITSTATUS(status)}'
    return ''


def build_runstat(work):
    """Compile runstat.c into `work`; returns the program's path."""
    compiler = shutil.which('cc') or shutil.which('gcc')
    if not compiler:
        raise SystemExit('bench: no C compiler to build runstat; install '
                         'gcc')
    source = os.path.join(os.path.dirname(__file__), 'runstat.c')
    program = os.path.join(work, 'runstat')
    subprocess.run([compiler, '-O2', '-o', program, source], check=True)
    return program


def _measure(runstat, case, env, work, timeout):
    """(status, seconds, maxrss_kib, timed_out) of one run."""
    report = os.path.join(work, 'last.stat')
    if os.path.exists(report):
        os.remove(report)
    stdin = open(os.path.join(work, case.stdin)) if case.stdin else None
    with open(os.path.join(work, 'last.out'), 'wb') as out, \
            open(os.path.join(work, 'last.err'), 'wb') as err:
        child = subprocess.Popen([runstat, report] + case.argv, cwd=work,
                                 stdin=stdin, stdout=out, stderr=err,
                                 env=env, start_new_session=True)
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return 0, timeout, 0, True
        finally:
            if stdin:
                stdin.close()
    with open(report) as stat:
        status, seconds, maxrss = stat.read().split()
    return int(status), float(seconds), int(maxrss), False


def run_once(runstat, case, allocator, library, work, timeout):
    """Run `case` once with `library` preloaded; returns a Run."""
    env = _environment(case, allocator, library)
    status, seconds, maxrss, timed_out = _measure(runstat, case, env,
                                                  work, timeout)
    with open(os.path.join(work, 'last.err'), errors='replace') as err:
        err_text = err.read()
    with open(os.path.join(work, 'last.out'), 'rb') as out:
        digest = hashlib.sha256(out.read()).hexdigest()
    problem = _problem(status, err_text, timed_out, timeout)
    if problem and err_text:
        problem += '; stderr: ' + err_text.strip()[-600:]
    return Run(case.name, allocator, seconds, maxrss, not problem,
               problem, digest,
               _command_line(case, allocator, library, work))
