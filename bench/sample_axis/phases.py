"""The per-sample Python of one block today, by phase (what a sample axis would replace).

    uv run python bench/sample_axis/phases.py [--samples 64] [--rounds 3]

Validation (`Evaluator.scenario_at`; `fast`: the same Scenarios by `Evaluator._samples`, the
block's fast path, with the garbage collector paused as `_block` runs it), compilation (`compile_chain`, and each chain module in
it), preparation (`prepare`), the kernel (`kernel.run_sets`, monthly) and labelling (`wrap`),
µs per sample, medians of --rounds, with the load average. The module split times each call
of compile.py's imports (so `rest` is compile_chain's own body: Chain(...), the labelled
arrays it builds itself, chemistry_of …)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import repm.chain.compile as C
    from repm.analyses.uncertainty.evaluate import Evaluator, gc_paused
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario
    from repm.simulate import arrays, kernel
    from repm.simulate.engine import wrap
    from repm.simulate.prepare import prepare
    from repm.simulate.sets import _rows

    n = args.samples
    ev = Evaluator(load_scenario("india-baseline"), "magnet_imports", workers=1)
    _, _, at = Pooled([ev], Alternatives.of("india-baseline", ())).draw(0, n)
    kernel.compiled()
    names = ["composition", "demand", "yields", "recipe", "capacity", "trade", "history",
             "routes", "basket", "prices", "labelled"]  # fmt: skip
    tot = dict.fromkeys(names, 0.0)
    orig = {k: getattr(C, k) for k in names}

    def wrapped(k):
        f = orig[k]

        def g(*a, **kw):
            t = time.perf_counter()
            r = f(*a, **kw)
            tot[k] += time.perf_counter() - t
            return r

        return g

    t = {k: [] for k in ["validate", "fast", "compile", "prepare", "kernel", "label"]}
    mods = {k: [] for k in [*names, "rest"]}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        scs = [ev.scenario_at(dict(a)) for a in at]
        t1 = time.perf_counter()
        chains = [C.compile_chain(s) for s in scs]
        t2 = time.perf_counter()
        preps = [prepare(c, None, None, "monthly") for c in chains]
        t3 = time.perf_counter()
        out = arrays.outputs({**preps[0].dims, "D": n})
        kernel.run_sets([p.inputs for p in preps], out, 1, None)
        t4 = time.perf_counter()
        [wrap(p, _rows(out, i, i + 1)) for i, p in enumerate(preps)]
        t5 = time.perf_counter()
        for k, a, b in zip(
            ["validate", "compile", "prepare", "kernel", "label"], [t0, t1, t2, t3, t4],
            [t1, t2, t3, t4, t5], strict=True,
        ):  # fmt: skip
            t[k].append(b - a)
        t7 = time.perf_counter()  # the block's fast path (Evaluator._samples, fastpath.py)
        with gc_paused():  # as Evaluator._block runs it
            ev._samples([dict(a) for a in at])
        t["fast"].append(time.perf_counter() - t7)
        for k in names:  # the compile again, each module timed
            setattr(C, k, wrapped(k))
            tot[k] = 0.0
        t6 = time.perf_counter()
        for s in scs:
            C.compile_chain(s)
        whole = time.perf_counter() - t6
        for k in names:
            setattr(C, k, orig[k])
            mods[k].append(tot[k])
        mods["rest"].append(whole - sum(tot.values()))
    us = lambda xs: statistics.median(xs) / n * 1e6  # noqa: E731
    print(f"{n} samples, india-baseline, monthly; µs per sample (median of {args.rounds}), "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for k, v in t.items():
        print(f"  {k:9s} {us(v):7.0f}")
    print("  compile by module (timed again, wrapped):")
    for k, v in mods.items():
        print(f"    {k:12s} {us(v):6.0f}")


if __name__ == "__main__":
    main()
