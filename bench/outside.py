"""Benchmark: the CPU a risk run spends outside the compiled draw loop, this tree against another
copy of the sources, alternating run by run (A/B) so both see the same machine load.

    uv run python bench/outside.py --old /path/to/old/src [--draws 100000] [--seed 7]
                                   [--rounds 3] [--old-numba-cache DIR]

Each run is `repm risk --draws N --seed S --json` in a fresh process (the CLI's own code path:
sampling, preparing, the kernel, the mass-balance check, the fold, the end's metrics and
quantiles, the store), with `repm.simulate.kernel.run` wrapped to add up its thread CPU time.
Reported per run: the wall clock, the process's CPU (user + sys), the kernel's CPU, and the rest
— the CPU outside the loop, start-up included — then the medians and the ratio old / new of
each. The kernel's own CPU moves by ±10 % with the load, more than the outside's whole change,
so the "outside" column is the one to compare. The runs' `--json` are compared (byte for byte
but the run id): the script says whether they are identical. The old sources run with their
own Numba cache (`--old-numba-cache`, default: beside this run's, suffixed `_old`), compiled
before the first timed run by an untimed run of 2,000 draws, as is this tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import contextlib, io, json, resource, sys, threading, time
import repm.simulate.kernel as K
cpu = [0.0]
lock = threading.Lock()
run = K.run
def timed(*a, **k):
    t = time.thread_time()
    try:
        return run(*a, **k)
    finally:
        with lock:
            cpu[0] += time.thread_time() - t
K.run = timed
import repm.cli as cli
t0 = time.perf_counter()
sys.argv = ["repm", "risk", "--draws", sys.argv[1], "--seed", sys.argv[2], "--json"]
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        cli.main()
except SystemExit as e:
    if e.code:
        raise
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
open(OUT, "w").write(out.getvalue())
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "kernel": cpu[0]}))
"""


def _run(src: Path | None, cache: str | None, draws: int, seed: int, out: Path) -> dict:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    code = _CHILD.replace("OUT", repr(str(out)))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(draws), str(seed)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _strip(text: str) -> str:
    return re.sub(r'"run_id": "[^"]*"', "", text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="the other sources' src folder")
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--old-numba-cache", default=None)
    a = ap.parse_args()
    here = Path(__file__).resolve().parent.parent / "src"
    cache = os.environ.get("NUMBA_CACHE_DIR")
    old_cache = a.old_numba_cache or ((cache.rstrip("/") + "_old") if cache else None)
    sides = {"new": (here, cache), "old": (a.old.resolve(), old_cache)}
    rows: dict[str, list[dict]] = {"new": [], "old": []}
    texts: dict[str, set[str]] = {"new": set(), "old": set()}
    with tempfile.TemporaryDirectory() as tmp:
        for src, c in sides.values():  # compile, or load the caches once, untimed
            _run(src, c, 2000, 1, Path(tmp) / "warm.json")
        load0 = os.getloadavg()
        for r in range(a.rounds):
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                src, c = sides[name]
                out = Path(tmp) / f"{name}{r}.json"
                got = _run(src, c, a.draws, a.seed, out)
                rows[name].append(got)
                texts[name].add(_strip(out.read_text()))
                print(f"round {r + 1} {name}: {got['wall']:7.1f} s wall  {got['cpu']:7.1f} CPU s"
                      f"  kernel {got['kernel']:7.1f}  outside {got['cpu'] - got['kernel']:6.2f}",
                      flush=True)  # fmt: skip
        load1 = os.getloadavg()
    for v in rows.values():
        for x in v:
            x["outside"] = x["cpu"] - x["kernel"]
    med = {n: {k: statistics.median(x[k] for x in v) for k in v[0]} for n, v in rows.items()}
    print(f"\n{a.draws:,} draws, seed {a.seed}, medians of {a.rounds} alternating runs each")
    print("            wall s    CPU s   kernel CPU s   outside CPU s")
    for n in ("old", "new"):
        m = med[n]
        print(f"{n:8s} {m['wall']:9.1f} {m['cpu']:8.1f} {m['kernel']:14.1f} {m['outside']:15.2f}")
    o, n = med["old"], med["new"]
    print(f"old / new {o['wall'] / n['wall']:8.2f}× {o['cpu'] / n['cpu']:7.2f}× "
          f"{o['kernel'] / n['kernel']:13.2f}× {o['outside'] / n['outside']:14.2f}×")  # fmt: skip
    same = len(texts["new"] | texts["old"]) == 1
    print(f"--json identical (run id aside) in all {2 * a.rounds} runs: {same}")
    print(f"load average {load0[0]:.1f} before, {load1[0]:.1f} after (1 min), "
          f"{os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
