"""Benchmark: one repm command timed against an earlier commit's code, alternating, same machine.

    uv run python bench/versus.py [--rev 331f8a0] [--rounds 2] [-- risk --draws 1000000 --seed 7 --json]

Speed goals are often stated against a figure timed on another machine ("44 s today" in issue
11). This times the command with the earlier commit's code — checked out in a git worktree
beside this one (`.versus/REV`, its own locked environment by `uv sync --locked` and its own
Numba cache, so nothing is shared) — and with this checkout's, one after the other, `--rounds`
times, after one warm-up run each (which compiles the engine: minutes). Each run's wall and user
seconds and the load average are printed, then the ratios of the medians. Outputs are written
under the worktree's `.versus/` folder, not compared (the models differ).

The default revision, 331f8a0, is the commit before the golden test that opened issue 11's
restructuring: the code whose 10^6-draw risk run took "44 s today".
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cwd: Path, args: list[str], home: Path, out: Path) -> tuple[float, float]:
    """Wall and user+children seconds of `repm ARGS` run in cwd's environment."""
    env = dict(os.environ, REPM_HOME=str(home / "home"), NUMBA_CACHE_DIR=str(home / "numba"),
               REPM_SERVER="0", REPM_WARM="0", PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    t0 = time.perf_counter()
    with out.open("wb") as f:
        subprocess.run([str(cwd / ".venv" / "bin" / "repm"), *args], cwd=cwd, env=env,
                       stdout=f, check=True)  # fmt: skip
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="331f8a0", help="the earlier commit (default: issue 11's)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("command", nargs="*", help="repm's arguments (after --)")
    a = ap.parse_args()
    args = a.command or ["risk", "--draws", "1000000", "--seed", "7", "--json"]
    rev = subprocess.run(["git", "rev-parse", "--short", a.rev], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    old = ROOT / ".versus" / rev
    if not old.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(old), rev], cwd=ROOT, check=True)
    subprocess.run(["uv", "sync", "--locked", "-q"], cwd=old, check=True)
    sides = {rev: old, "this checkout": ROOT}
    for side, cwd in sides.items():  # warm-up: compiles each side's engine into its own cache
        print(f"warm-up, {side} …", file=sys.stderr, flush=True)
        _run(cwd, args, old / f".{side[:4]}", old / f".out-{side[:4]}")
    times: dict[str, list[tuple[float, float]]] = {s: [] for s in sides}
    for r in range(a.rounds):
        for side, cwd in sides.items():
            load = os.getloadavg()[0]
            wall, user = _run(cwd, args, old / f".{side[:4]}", old / f".out-{side[:4]}")
            times[side].append((wall, user))
            print(f"round {r + 1}  {side:14s} {wall:7.1f} s wall {user:7.1f} s user  "
                  f"(load {load:.1f} before)", flush=True)  # fmt: skip
    w = {s: statistics.median(t[0] for t in v) for s, v in times.items()}
    u = {s: statistics.median(t[1] for t in v) for s, v in times.items()}
    print(
        f"repm {' '.join(args)}: median wall {w[rev]:.1f} s ({rev}) against "
        f"{w['this checkout']:.1f} s here, {w[rev] / w['this checkout']:.2f}×; user "
        f"{u[rev]:.1f} against {u['this checkout']:.1f} s, {u[rev] / u['this checkout']:.2f}×"
    )


if __name__ == "__main__":
    main()
