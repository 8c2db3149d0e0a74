"""Benchmark: full-chain evaluations per second under parameter uncertainty (issue 14 part 6).

    uv run python bench/uncertainty.py [--samples 128] [--draws 50]

Draws every uncertain fact of the India baseline `--samples` times (Philox, as `repm
uncertainty` does) and evaluates the full chain, monthly, 2024–2035, two ways in the same run:

- separate runs: for each sample, what `repm run` does — validate the scenario with the drawn
  facts, compile the chain, simulate one draw, build the indicator table;
- side by side: validate and compile each sample, then simulate all of them in one kernel call
  on the engine's draw axis (`repm.simulate.sets`), 64 samples a call, raw outputs only.

Then the same with the shock model on (`--draws` shock draws per sample, what `repm sensitivity
expected_unmet` evaluates): separate risk runs against samples side by side. The per-sample cost
is split into validation, compilation and simulation, so what limits the speed is shown, not
guessed. Times are wall seconds on this machine (the ratio is what compares between machines).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--draws", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import SETS_PER_CALL, Evaluator
    from repm.chain import compile_chain
    from repm.results.build import build_results
    from repm.scenario import load_scenario
    from repm.simulate import kernel
    from repm.simulate.engine import simulate
    from repm.simulate.sets import run_sets
    from repm.simulate.shocks import sample

    loaded = load_scenario("india-baseline")
    ev = Evaluator(loaded, "expected_unmet", draws=args.draws, seed=args.seed)
    n = args.samples
    u = philox_uniforms(ev.inputs.drawn, args.seed, np.arange(n))
    values = ev.inputs.values(u, n)
    at = [{k: float(v[d]) for k, v in values.items()} for d in range(n)]
    kernel.compiled()  # loaded (or compiled) before any timing
    simulate(compile_chain(loaded.scenario))

    def timed(fn):
        t0 = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t0

    scenarios, t_val = timed(lambda: [ev.scenario_at(v) for v in at])
    chains, t_comp = timed(lambda: [compile_chain(sc) for sc in scenarios])

    def separate():
        for c in chains:
            build_results(c, simulate(c, step="monthly"))

    _, t_sep_sim = timed(separate)

    def side_by_side():
        for lo in range(0, n, SETS_PER_CALL):
            run_sets(chains[lo : lo + SETS_PER_CALL], step="monthly")

    _, t_sets_sim = timed(side_by_side)
    ids = np.arange(args.draws)
    shocks, t_shocks = timed(
        lambda: [
            sample(sc.risk, c, ids, args.seed) for sc, c in zip(scenarios, chains, strict=True)
        ]
    )
    m = min(n, 16)  # separate risk runs are slow: time a few, scale per sample

    def separate_risk():
        for c, sh in zip(chains[:m], shocks[:m], strict=True):
            simulate(c, shocks=sh, step="monthly")

    _, t_sep_risk = timed(separate_risk)

    def sets_risk():
        for lo in range(0, n, SETS_PER_CALL):
            hi = lo + SETS_PER_CALL
            run_sets(chains[lo:hi], shocks=shocks[lo:hi], step="monthly")

    _, t_sets_risk = timed(sets_risk)

    per = lambda t, k=n: 1000 * t / k  # noqa: E731 - ms per sample
    v, c = per(t_val), per(t_comp)
    rows = [
        ("separate runs (repm run each)", v, c, per(t_sep_sim)),
        ("side by side (simulate_sets)", v, c, per(t_sets_sim)),
        (f"separate risk runs, {args.draws} draws each", v, c, per(t_shocks) + per(t_sep_risk, m)),
        (f"side by side, {args.draws} draws each", v, c, per(t_shocks) + per(t_sets_risk)),
    ]
    print(f"India baseline, monthly 2024–2035, {n} parameter samples of "
          f"{len(ev.inputs.drawn)} uncertain facts")  # fmt: skip
    head = f"{'':44}{'validate':>10}{'compile':>9}{'simulate':>10}{'total':>9}{'evals/s':>9}{'÷ sep.':>8}"
    print(head + "\n" + " " * 44 + "  ms per sample")
    base = {False: rows[0][1] + rows[0][2] + rows[0][3], True: rows[2][1] + rows[2][2] + rows[2][3]}
    for i, (label, a, b, s) in enumerate(rows):
        tot = a + b + s
        ratio = base[i >= 2] / tot
        print(f"{label:44}{a:>10.1f}{b:>9.1f}{s:>10.1f}{tot:>9.1f}{1000 / tot:>9.1f}{ratio:>7.1f}×")
    best = rows[1][1] + rows[1][2] + rows[1][3]
    print(f"\n10,000 full-chain evaluations side by side: ~{10 * best:,.0f} s on this machine "
          f"(goal < 60 s); the simulation is {rows[1][3] / best:.0%} of it, validation and "
          f"compilation the rest")  # fmt: skip


if __name__ == "__main__":
    main()
