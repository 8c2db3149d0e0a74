"""Benchmark: full-chain evaluations per second under parameter uncertainty (issue 14 part 6).

    uv run python bench/uncertainty.py [--samples 128] [--draws 50]

Draws every uncertain fact of the India baseline `--samples` times (Philox, as `repm
uncertainty` does) and evaluates the full chain, monthly, 2024–2035, several ways in the same
run:

- separate runs: for each sample, what `repm run` does in memory — validate the scenario with
  the drawn facts, compile the chain, simulate one draw, build the indicator table — and, in a
  second row, also what it does after: write the run to the store (a temporary one);
- side by side, raw outputs: validate and compile each sample, then simulate all of them in one
  kernel call on the engine's draw axis (`repm.simulate.sets`), SETS_PER_CALL samples a call;
- `repm run` commands (bench/repm_runs.py), one a sample, its facts by `--set`: the issue's
  reference, timed on the first `--runs` samples;
- side by side, as `repm sensitivity` evaluates an output (`Evaluator.many`): a run indicator
  (magnet_imports, from each sample's indicator table), a unit's NPV (yearly engine, `repm
  finance`'s NPV) and, with the shock model on (`--draws` shock draws per sample), the expected
  unmet demand — against separate risk runs;
- the issue's yardstick: a Monte Carlo draw of the same baseline as `repm risk` runs it
  (`run_draws`, `--mc-draws`), wall and CPU ms, and an evaluation's cost in draws.

The per-sample cost is split into validation, compilation, simulation and the output (the
indicator table, the NPV, the risk reduction), and a block's simulation into preparing each
set's kernel inputs, the kernel and labelling each set's output (or, as the Evaluator reads
them, checking each set's arrays without labels), so what limits the speed is
shown, not guessed.
Times are wall seconds on this machine (the ratio is what compares between machines); the
slowest ways are timed on the first 16 samples and scaled per sample.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--draws", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3, help="samples run as `repm run` commands")
    ap.add_argument("--mc-draws", type=int, default=4000, help="draws of the `repm risk` yardstick")
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
    ev = Evaluator(loaded, "magnet_imports", seed=args.seed)
    n, m = args.samples, min(args.samples, 16)  # m: samples for the slowest ways
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
    # the benchmark's own lists (every sample's scenario and chain, ~10^6 objects) out of the
    # garbage collector's full passes, which otherwise land in whichever phase runs then (~0.3 s
    # a pass; a run of repm holds one block of 64 sets at a time)
    gc.collect()
    gc.freeze()
    sims, t_sep_sim = timed(lambda: [simulate(c, step="monthly") for c in chains[:m]])
    tables, t_sep_table = timed(
        lambda: [build_results(c, s) for c, s in zip(chains[:m], sims, strict=True)]
    )
    # what `repm run` does besides: write its run to the store (NetCDF, Parquet, the catalog),
    # here into a temporary store, each with its sample's own scenario mapping and hash
    import hashlib
    import json
    import os
    import tempfile

    from repm.analyses.uncertainty.drawn import substitute
    from repm.results.store import write_run

    with tempfile.TemporaryDirectory() as home:
        before, os.environ["REPM_HOME"] = os.environ.get("REPM_HOME"), home

        def store_each():
            for r, vals in zip(tables, at[:m], strict=True):
                raw = substitute(loaded.raw, vals, ev.table)
                text = json.dumps(raw, sort_keys=True, default=str)
                write_run(r, command="run", scenario_raw=raw,
                          scenario_hash=hashlib.sha256(text.encode()).hexdigest()[:16])  # fmt: skip

        store_each()  # warm: the catalog made, the writers imported
        _, t_store = timed(store_each)
        if before is None:
            del os.environ["REPM_HOME"]
        else:
            os.environ["REPM_HOME"] = before

    def side_by_side():
        for lo in range(0, n, SETS_PER_CALL):
            run_sets(chains[lo : lo + SETS_PER_CALL], step="monthly")

    _, t_sets_sim = timed(side_by_side)

    # the simulation of one block, split: each set's kernel inputs, the kernel on one thread,
    # each set's labelled Dataset (with its mass-balance check)
    from repm.simulate import arrays
    from repm.simulate.engine import prepare, unlabelled, wrap
    from repm.simulate.sets import _rows

    k = min(n, SETS_PER_CALL)
    preps, t_prep = timed(lambda: [prepare(c, step="monthly") for c in chains[:k]])
    raw = arrays.outputs({**preps[0].dims, "D": k})
    with kernel.serial():
        _, t_kern = timed(lambda: kernel.run_sets([p.inputs for p in preps], raw, 1))
    _, t_wrap = timed(lambda: [wrap(p, _rows(raw, i, i + 1)) for i, p in enumerate(preps)])
    # what the Evaluator does instead: each set's arrays checked, not labelled
    _, t_unl = timed(lambda: [unlabelled(p, _rows(raw, i, i + 1)) for i, p in enumerate(preps)])

    ev_cpu: dict[str, float] = {}  # CPU ms per sample of each output's Evaluator, one process

    def evaluator(output: str, k: int, **kw) -> tuple[float, float, float, float]:
        e = Evaluator(loaded, output, seed=args.seed, workers=1, **kw)  # one process
        e.many(at[:2])  # warm
        e.phases.clear()
        c0 = time.process_time()
        e.many(at[:k])
        ev_cpu[output] = 1000 * (time.process_time() - c0) / k
        return tuple(1000 * e.phases.get(p, 0.0) / k for p in PHASES)  # type: ignore[return-value]

    from repm.analyses.uncertainty.pool import cpus

    def pooled(output: str, k: int, **kw) -> float:
        """Wall ms per sample of `Evaluator.many` with its blocks over every CPU (pool.py)."""
        e = Evaluator(loaded, output, seed=args.seed, workers=cpus(), **kw)
        e.many(at[:2])  # warm
        t0 = time.perf_counter()
        e.many(at[:k])
        return 1000 * (time.perf_counter() - t0) / k

    ids = np.arange(args.draws)
    shocks, t_shocks = timed(
        lambda: [
            sample(sc.risk, c, ids, args.seed)
            for sc, c in zip(scenarios[:m], chains[:m], strict=True)
        ]
    )

    def separate_risk():
        for c, sh in zip(chains[:m], shocks, strict=True):
            simulate(c, shocks=sh, step="monthly")

    _, t_sep_risk = timed(separate_risk)

    # the yardstick: a Monte Carlo draw of the same baseline as `repm risk` runs it
    # (run_draws: shocks sampled, chunks of 2,000 on both cores, reduced), wall and CPU ms a draw
    from repm.analyses.risk.draws import run_draws

    chain0 = compile_chain(loaded.scenario)
    mc = lambda: run_draws(chain0, loaded.scenario, draws=args.mc_draws, seed=args.seed)  # noqa: E731
    mc()  # warm
    c0 = time.process_time()
    _, t_mc = timed(mc)
    mc_wall, mc_cpu = 1000 * t_mc / args.mc_draws, 1000 * (time.process_time() - c0) / args.mc_draws

    per = lambda t, k=n: 1000 * t / k  # noqa: E731 - ms per sample
    v, c = per(t_val), per(t_comp)
    rows = [
        ("separate runs (repm run each)", v, c, per(t_sep_sim, m), per(t_sep_table, m), 0),
        ("separate runs, each stored as repm run stores", v, c, per(t_sep_sim, m),
         per(t_sep_table, m) + per(t_store, m), 1),
        ("side by side, raw outputs", v, c, per(t_sets_sim), 0.0, 0),
        ("side by side, magnet_imports (Evaluator)", *evaluator("magnet_imports", n), 0),
        ("side by side, unit_npv (Evaluator, yearly)", *evaluator("unit_npv", n), None),
        (f"separate risk runs, {args.draws} draws each", v, c,
         per(t_shocks, m) + per(t_sep_risk, m), 0.0, 5),
        (f"side by side, expected_unmet, {args.draws} draws",
         *evaluator("expected_unmet", n, draws=args.draws), 5),
    ]  # fmt: skip
    w = cpus()
    walls = [
        (f"magnet_imports, blocks over {w} processes", pooled("magnet_imports", n), 0),
        (f"unit_npv, blocks over {w} processes", pooled("unit_npv", n), None),
        (f"expected_unmet, {args.draws} draws, over {w} processes",
         pooled("expected_unmet", n, draws=args.draws), 5),
    ]  # fmt: skip
    print(f"India baseline, monthly 2024–2035, {n} parameter samples of "
          f"{len(ev.inputs.drawn)} uncertain facts")  # fmt: skip
    head = f"{'':46}{'validate':>9}{'compile':>8}{'simulate':>9}{'output':>8}{'total':>8}"
    print(f"{head}{'evals/s':>8}{'÷ sep.':>7}\n{' ' * 46}  ms per sample")
    for label, a, b, s, o, base in rows:
        tot = a + b + s + o
        ratio = "" if base is None else f"{sum(rows[base][1:5]) / tot:>6.1f}×"
        print(f"{label:46}{a:>9.1f}{b:>8.1f}{s:>9.1f}{o:>8.1f}{tot:>8.1f}{1000 / tot:>8.1f}{ratio}")
    print(f"{'':46}  wall ms per sample (each process's phases as above)")
    for label, tot, base in walls:
        ratio = "" if base is None else f"{sum(rows[base][1:5]) / tot:>6.1f}×"
        print(f"{label:46}{'':34}{tot:>8.1f}{1000 / tot:>8.1f}{ratio}")
    print(f"{'':46}  simulation of a block of {k}, ms per sample: prepare "
          f"{per(t_prep, k):.2f}, kernel (one thread) {per(t_kern, k):.2f}, labelling "
          f"{per(t_wrap, k):.2f} (unlabelled, as the Evaluator reads each set: "
          f"{per(t_unl, k):.2f})")  # fmt: skip
    ev_row = rows[3]  # side by side, magnet_imports (Evaluator)
    table = sum(ev_row[1:5])
    print(f"\n10,000 full-chain evaluations of a run indicator: ~{10 * walls[0][1]:,.0f} s on this "
          f"machine over {w} processes, ~{10 * table:,.0f} s in one (goal < 60 s; one process: "
          f"validation {ev_row[1] / table:.0%}, compilation {ev_row[2] / table:.0%}, simulation "
          f"{ev_row[3] / table:.0%}, the output {ev_row[4] / table:.0%})")  # fmt: skip
    print(f"over {w} processes, an evaluation is {sum(rows[0][1:5]) / walls[0][1]:.0f}× a separate "
          f"run in memory (validated, compiled, simulated, its indicator table built) and "
          f"{sum(rows[1][1:5]) / walls[0][1]:.0f}× a separate run stored as `repm run` stores it "
          "(goal ≥ 100×)")  # fmt: skip
    one_cpu = ev_cpu["magnet_imports"]
    print(f"a Monte Carlo draw of the same baseline (`repm risk`: shocks sampled, chunks over both "
          f"cores, {args.mc_draws:,} draws): {mc_wall:.3f} ms wall, {mc_cpu:.3f} CPU ms; a "
          f"parameter evaluation (magnet_imports) is {walls[0][1] / mc_wall:.1f}× that in wall "
          f"time over {w} processes, {one_cpu / mc_cpu:.1f}× in CPU time in one process")  # fmt: skip
    if args.runs > 0:  # what the issue names: a loop of `repm run` commands, one a sample
        from repm_runs import time_runs

        k = min(args.runs, n)
        per_run, same = time_runs(ev, at[:k], ev.many(at[:k]))
        ms = 1000 * per_run
        print(f"\n`repm run` commands, one a sample (its facts by --set, its own process, stored; "
              f"REPM_SERVER={os.environ.get('REPM_SERVER', 'unset')}): {ms:,.0f} ms a sample over "
              f"{k} ({same} of {k} the Evaluator's magnet_imports bit for bit); an evaluation is "
              f"{ms / table:,.0f}× that in one process, {ms / walls[0][1]:,.0f}× over {w} "
              "(goal ≥ 100×)")  # fmt: skip


PHASES = ("validate", "compile", "simulate", "output")

if __name__ == "__main__":
    main()
