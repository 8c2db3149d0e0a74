"""Benchmark: the compiled draw loop alone (`repm.simulate.loop._block`), ms per draw.

    uv run python bench/loop_profile.py [--draws 1000] [--repeat 7] [--seed 7]
                                        [--scenario india-baseline] [--variant FILE.py ...]

What `repm risk` runs, minus everything around the loop: the scenario is loaded and compiled,
the risk model's shocks are sampled for draws 0 … N − 1 (`repm.simulate.shocks.sample`, as a
risk chunk does) and turned into the kernel's arrays (`repm.simulate.engine.prepare`) once;
then only the compiled `_block(0, N, inp, out)` is timed, on this thread (one thread: no pool,
no other draws in flight), `--repeat` times. The first call (loading the compiled loop from
Numba's cache, or compiling it) is not timed.

Reported per kernel: ms per draw by the wall clock and by this thread's CPU time
(`time.thread_time`: leaves out the time other processes held the core, the steadier figure on
a shared machine), each the fastest of the repeats (the one least disturbed) and the median,
and the machine's load average before and after (`uptime`): compare kernels within one run,
not across runs. The 10^6-draw column is CPU min × 10^6 / 2 cores, the loop alone.

`--variant FILE.py` (repeatable): another copy of the loop module (a file defining `_block` with
`repm.simulate.jit.njit`, as `loop.py` does; it may import the package's stage modules, or be
`loop.py` in a folder with `__init__.py` holding copies of the stage modules too) timed
in the same run, interleaved with the package's loop repeat by repeat, so both see the same
load. Its outputs are compared with the package loop's, array by array: "identical" (bit for
bit), or the largest relative difference.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def _load_variant(path: Path):
    """Import a loop module from a file and return its compiled `_block`. A file in a package
    (a folder with `__init__.py`: a copy of the engine's modules, importing each other by that
    package's name) is imported as `package.module`, its folder's parent put on sys.path; a lone
    file under a name of its own."""
    from repm.simulate import jit

    path = path.resolve()
    if (path.parent / "__init__.py").exists():
        sys.path.insert(0, str(path.parent.parent))
        mod = importlib.import_module(f"{path.parent.name}.{path.stem}")
    else:
        name = f"repm_loop_variant_{path.stem}"  # the same in every run: Numba's cache imports it
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return jit.compiled(mod)._block


def _fresh(dims):
    from repm.simulate import arrays

    # filled with NaN: whatever the loop leaves unwritten shows in the comparison
    return arrays.outputs(dims, lambda shape: np.full(shape, np.nan))


def _compare(ref, out) -> str:
    """'identical' or the largest relative difference (and where) between two Outputs."""
    worst, where = 0.0, ""
    for name, a, b in zip(ref._fields, ref, out, strict=True):
        if a.shape != b.shape:
            return f"{name}: shape {b.shape} != {a.shape}"
        if np.array_equal(a, b, equal_nan=True):
            continue
        nan = np.isnan(a) != np.isnan(b)
        if nan.any():
            return f"{name}: NaN pattern differs (unwritten output?)"
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)
        r = float(np.nanmax(rel))
        if r >= worst:
            worst, where = r, name
    return "identical" if not where else f"max rel diff {worst:.2e} ({where})"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scenario", default="india-baseline")
    ap.add_argument("--step", default="monthly")
    ap.add_argument("--variant", type=Path, action="append", default=[])
    ap.add_argument("--no-check", action="store_true", help="skip comparing variants' outputs")
    args = ap.parse_args(argv)

    from repm.chain import compile_chain
    from repm.scenario import load_scenario
    from repm.simulate import kernel
    from repm.simulate.engine import prepare
    from repm.simulate.shocks import sample

    t0 = time.perf_counter()
    loaded = load_scenario(args.scenario, [])
    chain = compile_chain(loaded.scenario)
    shocks = sample(loaded.scenario.risk, chain, np.arange(args.draws), args.seed)
    prep = prepare(chain, None, shocks, args.step)
    inp, D = prep.inputs, args.draws
    steps = chain.n_years * inp.spy
    print(
        f"{args.scenario}: {D} draws x {steps} steps, seed {args.seed}; "
        f"availability {'dense' if inp.dense else 'by event'}; "
        f"prepared in {time.perf_counter() - t0:.1f} s"
    )

    kernels = [("repm.simulate.loop", kernel.compiled()._block)]
    for p in args.variant:
        kernels.append((str(p), _load_variant(p)))
    outs = []
    for name, fn in kernels:  # compile or load, then one untimed run (caches, page faults)
        t1 = time.perf_counter()
        out = _fresh(prep.dims)
        fn(0, D, inp, out)
        outs.append(out)
        print(f"  loaded + first run {name}: {time.perf_counter() - t1:.1f} s")
    checks = ["reference"] + [
        "not checked" if args.no_check else _compare(outs[0], o) for o in outs[1:]
    ]

    load_before = _load()
    wall: list[list[float]] = [[] for _ in kernels]
    cpu: list[list[float]] = [[] for _ in kernels]
    for _ in range(args.repeat):
        for k, (_, fn) in enumerate(kernels):
            out = outs[k]
            c1, t1 = time.thread_time(), time.perf_counter()
            fn(0, D, inp, out)
            wall[k].append((time.perf_counter() - t1) / D * 1e3)
            cpu[k].append((time.thread_time() - c1) / D * 1e3)
    load_after = _load()

    print(f"load average (1, 5, 15 min): {load_before} before, {load_after} after; "
          f"{os.cpu_count()} CPUs; one thread")  # fmt: skip
    print(
        "ms per draw: wall clock, and this thread's CPU time (leaves out the time other "
        "processes held the core: the steadier figure on a shared machine)"
    )
    base_w, base_c = min(wall[0]), min(cpu[0])
    w = max(len(n) for n, _ in kernels)
    print(
        f"{'kernel':<{w}}  wall min  median  CPU min  median   vs loop: wall (CPU)  "
        f"10^6 draws/2 cores  outputs"
    )
    for (name, _), tw, tc, chk in zip(kernels, wall, cpu, checks, strict=True):
        print(
            f"{name:<{w}}  {min(tw):8.4f}  {statistics.median(tw):6.4f}  {min(tc):7.4f}  "
            f"{statistics.median(tc):6.4f}  {min(tw) / base_w:12.3f}x ({min(tc) / base_c:5.3f}x)  "
            f"{min(tc) * 1e6 / 1e3 / 2:16.0f} s  {chk}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
