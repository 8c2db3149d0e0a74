"""Benchmark: how long repm takes to start, beside `python -c "import numpy"` timed alike.

    uv run python bench/startup.py [--repeat 5] [--no-cold] [--no-bytecode]

Every figure is a fresh process, as a user starts it (the `repm` script of this environment),
with REPM_HOME in a temporary folder (no user store is touched):

- `import numpy`: the yardstick, timed the same way in the same session; the ratio column
  (× import numpy) is what to compare between machines and busy moments;
- `repm --help`;
- warm `repm run`: numba's cache and Python's bytecode caches already filled (bytecode goes to a
  private PYTHONPYCACHEPREFIX folder, so the environment is not written to), in a process of its
  own (REPM_SERVER=0) and as a user's second command runs, in a fork of the resident process the
  first one started (repm.resident; ended when the benchmark ends);
- `repm run` without bytecode caching (PYTHONDONTWRITEBYTECODE=1, as on some shared machines):
  every module is compiled from source again — shown, not a goal;
- first runs after install: NUMBA_CACHE_DIR and REPM_CACHE_DIR (the compiled fact table, pint's
  parsed units) point at empty folders. `repm run` (one draw)
  runs the kernel uncompiled and must not compile; `repm risk --draws 2000` compiles the kernel
  and its stderr must carry the one-line "compiling" notice, once, its `--json` stdout must stay
  one JSON object, and the risk run after it (cache filled) must not print the notice.

Wall seconds are the fastest of `--repeat` runs (the machine may be shared: the fastest is the
one least disturbed); CPU is user + system seconds of that run. Exit status 1 when a notice
check fails (the timing goals are reported, not enforced).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTICE = "compiling the engine"  # what the first run's stderr line starts with


def _repm() -> list[str]:
    """The `repm` script installed beside this interpreter (as `uv run repm` starts it)."""
    script = Path(sys.executable).with_name("repm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "repm.cli"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds, the finished process) of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, cpu, proc


def best(cmd: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    """Fastest wall time of `repeat` runs, its CPU time and its stderr."""
    runs = [timed(cmd, env) for _ in range(repeat)]
    wall, cpu, proc = min(runs, key=lambda r: r[0])
    return wall, cpu, proc.stderr


def _wait_for(folder: Path, pattern: str, timeout: float) -> bool:
    """Whether a file matching `pattern` appears in `folder` within `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if folder.is_dir() and any(folder.glob(pattern)):
            return True
        time.sleep(0.5)
    return False


def _wait_resident(repm: list[str], env: dict[str, str], timeout: float = 120) -> bool:
    """Whether a resident process answers (REPM_SERVER=only exits 3 while none does)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if subprocess.run(repm + ["--version"], env=env, capture_output=True).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per warm figure (fastest kept)")
    ap.add_argument("--no-cold", action="store_true", help="skip the first run after install")
    ap.add_argument(
        "--no-bytecode", action="store_true", help="skip the run without bytecode caching"
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="repm-startup-"))
    # every figure but the resident one: the command in a process of its own (REPM_SERVER=0)
    # (REPM_WARM=0: no resident process compiles in the background beside what is timed)
    base = dict(os.environ, REPM_HOME=str(work / "home"), PYTHONPYCACHEPREFIX=str(work / "pyc"),
                REPM_SERVER="0", REPM_SERVER_DIR=str(work / "srv"), REPM_WARM="0")  # fmt: skip
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    # no bytecode read or written: an empty prefix folder hides the environment's own caches
    nobc = dict(base, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(work / "no-pyc"))
    repm = _repm()
    numpy_cmd = [sys.executable, "-c", "import numpy"]
    failures: list[str] = []
    rows: list[tuple[str, float, float, float | None]] = []  # name, wall, cpu, goal

    try:
        # prime: bytecode caches, and numba's cache wherever the environment keeps it
        timed(numpy_cmd, base)
        timed(repm + ["run", "--json"], base)

        np_wall, np_cpu, _ = best(numpy_cmd, base, args.repeat)
        rows.append(("python -c 'import numpy'", np_wall, np_cpu, None))
        w, c, _ = best(repm + ["--help"], base, args.repeat)
        rows.append(("repm --help", w, c, 0.5))
        w, c, stderr = best(repm + ["run"], base, args.repeat)
        rows.append(("repm run, warm, own process", w, c, None))
        if NOTICE in stderr:
            failures.append("a warm `repm run` printed the compiling notice")
        # as a user's second command runs: in a fork of the resident process the first started
        # (repm.resident); CPU is the asking script's alone (the fork's is not this process's)
        resident = dict(base, REPM_SERVER="only")
        timed(repm + ["--version"], dict(base, REPM_SERVER="1"))  # runs here, starts one
        if _wait_resident(repm, resident):
            w, c, stderr = best(repm + ["run"], resident, args.repeat)
            rows.append(("repm run, warm, resident process", w, c, 1.0))
            if NOTICE in stderr:
                failures.append("a resident `repm run` printed the compiling notice")
        else:
            failures.append("no resident process answered within 120 s")
        if not args.no_bytecode:
            w0, c0, _ = best(numpy_cmd, nobc, max(1, args.repeat // 2))
            rows.append(("import numpy, no bytecode cache", w0, c0, None))
            w, c, _ = best(repm + ["run"], nobc, max(1, args.repeat // 2))
            rows.append(("repm run, warm, no bytecode cache", w, c, None))
        if not args.no_cold:
            # a fresh install: nothing in numba's cache. `repm run` (one draw) needs no compiler;
            # `repm risk` compiles the kernel and must say so, once
            cold = dict(
                base,
                NUMBA_CACHE_DIR=str(work / "numba-cache"),
                REPM_CACHE_DIR=str(work / "repm-cache"),
            )
            w, c, proc = timed(repm + ["run", "--json"], cold)
            rows.append(("repm run, first after install", w, c, 15.0))
            if NOTICE in proc.stderr:
                failures.append("the first `repm run` compiled (it needs no compiler)")
            risk = repm + ["risk", "--draws", "2000", "--json"]
            w, c, proc = timed(risk, cold)
            rows.append(("repm risk --draws 2000, first (compiles)", w, c, 15.0))
            lines = [ln for ln in proc.stderr.splitlines() if NOTICE in ln]
            if len(lines) != 1:
                failures.append(f"the first risk run printed {len(lines)} compiling notices, not 1")
            else:
                print(f"first risk run's notice on stderr: {lines[0].strip()}")
            try:
                json.loads(proc.stdout)
            except ValueError:
                failures.append("the first risk run's --json stdout is not one JSON object")
            w2, c2, proc2 = timed(risk, cold)
            rows.append(("repm risk --draws 2000, second", w2, c2, None))
            if NOTICE in proc2.stderr:
                failures.append("the risk run after the first printed the compiling notice again")
            # a fresh install again, as a user meets it: the first command (`repm run`) starts
            # the resident process, which compiles the engine in the background
            # (repm.resident.server.warm_once); the first `repm risk` after that loads it
            srv2 = work / "srv-warm"
            fresh = dict(base, NUMBA_CACHE_DIR=str(work / "numba-cache-2"), REPM_SERVER="1",
                         REPM_SERVER_DIR=str(srv2), REPM_WARM="1",
                         REPM_CACHE_DIR=str(work / "repm-cache-2"))  # fmt: skip
            t0 = time.perf_counter()
            timed(repm + ["run", "--json"], fresh)
            warmed = _wait_for(srv2, "*.warmed", timeout=600)
            if warmed:
                rows.append(("background warm-up after the first run", time.perf_counter() - t0,
                             float("nan"), None))  # fmt: skip
                w3, c3, proc3 = timed(risk, fresh)
                rows.append(("repm risk --draws 2000, first, after it", w3, c3, 15.0))
                if NOTICE in proc3.stderr:
                    failures.append("the first risk run after the warm-up compiled")
            else:
                failures.append("the resident process's warm-up did not finish within 600 s")
    finally:
        for srv in (work / "srv", work / "srv-warm"):  # end the resident processes it started
            if not srv.is_dir():
                continue
            from repm.resident import running

            for pid in running(str(srv)).values():
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'measure':<38} {'seconds':>8} {'CPU s':>7} {'× import numpy':>15} {'goal s':>7}  met?")
    for name, wall, cpu, goal in rows:
        ratio = wall / np_wall
        met = "" if goal is None else ("yes" if wall <= goal else "no")
        g = "" if goal is None else f"{goal:g}"
        print(f"{name:<38} {wall:>8.2f} {cpu:>7.2f} {ratio:>14.1f}× {g:>7}  {met}")
    load = os.getloadavg()[0]
    print(f"fastest of {args.repeat} runs each; load average {load:.1f} on {os.cpu_count()} cores")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
