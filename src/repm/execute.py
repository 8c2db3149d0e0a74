"""`run` and `risk` as functions: a loaded scenario in, a stored run and the `--json` object out.

The CLI and the dashboard's HTTP API both call these, so `POST /api/run` answers with exactly
the object `repm run --json` / `repm risk --json` prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repm.errors import UserError
from repm.scenario.load import LoadedScenario

STEPS = ("monthly", "yearly")


@dataclass(frozen=True)
class Executed:
    """What a run left behind: the JSON object, the results, and where they were stored."""

    payload: dict
    results: object  # repm.results.Results (imported lazily: the numerical stack is slow to load)
    run_id: str
    path: Path


def check_options(
    *, step: str = "monthly", draws: int = 1, seed: int = 0, out: Path | None = None
) -> None:
    """The checks that need no scenario, made before anything slow is imported."""
    if step not in STEPS:
        raise UserError(f"{step!r}; expected one of: {', '.join(STEPS)}", where="--step")
    if out is not None and out.exists():
        raise UserError(
            f"{str(out)!r} already exists; expected a new folder for the run", where="--out"
        )
    if draws < 1:
        raise UserError(f"{draws}; expected at least 1 draw", where="--draws")
    if seed < 0:
        raise UserError(f"{seed}; expected a non-negative integer seed", where="--seed")


def _plan(plan_file: Path | None, chain):
    if plan_file is None:
        return None, {}
    from repm.plan import load_plan

    # the plan is stored with the run (a few hundred bytes) so its report can show it
    return load_plan(plan_file, chain), {"plan.yaml": plan_file.read_text()}


def execute_run(
    loaded: LoadedScenario,
    overrides: list[str],
    *,
    step: str = "monthly",
    out: Path | None = None,
    plan_file: Path | None = None,
) -> Executed:
    """Simulate the scenario once (no shocks), store the run, return `repm run --json`'s object."""
    from repm.chain import compile_chain
    from repm.engine import simulate
    from repm.results import build_results
    from repm.store import write_run

    check_options(step=step, out=out)
    chain = compile_chain(loaded.scenario)
    plan, files = _plan(plan_file, chain)
    results = build_results(chain, simulate(chain, plan=plan, step=step))
    run_id, path = write_run(
        results, command="run", scenario_raw=loaded.raw, scenario_hash=loaded.hash, out=out,
        extra_meta={"step": step, "source": loaded.source, "overrides": overrides, "plan": str(plan_file) if plan_file else None},
        files=files,
    )  # fmt: skip
    payload = {
        "command": "run",
        "scenario": loaded.name,
        "run_id": run_id,
        "step": step,
        "indicators": results.indicator_records(),
    }
    return Executed(payload, results, run_id, path)


def execute_risk(
    loaded: LoadedScenario,
    overrides: list[str],
    *,
    draws: int,
    seed: int = 0,
    chunk: int = 2_000,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    out: Path | None = None,
    plan_file: Path | None = None,
) -> Executed:
    """Monte Carlo over the scenario's risk model, stored with per-year unmet-demand quantiles
    (not every draw); returns `repm risk --json`'s object. `progress(n)` hears of n more draws."""
    import pandas as pd
    import xarray as xr

    from repm.chain import compile_chain
    from repm.results import Results
    from repm.risk import metrics, run_draws
    from repm.store import write_run

    check_options(draws=draws, seed=seed, out=out)
    chain = compile_chain(loaded.scenario)
    plan, files = _plan(plan_file, chain)
    summary = run_draws(
        chain, loaded.scenario, draws=draws, seed=seed, chunk_size=chunk, scheduler=scheduler,
        workers=workers, progress=progress, plan=plan,
    )  # fmt: skip
    df = metrics(chain, loaded.scenario, summary)
    for k in ("origin", "material"):
        df[k] = None
    df = df[["year", "name", "value", "unit", "sector", "origin", "material"]]
    total = summary.unmet.sum(axis=2)
    quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
    ds = xr.Dataset(
        {"unmet_quantiles": (("quantile", "year"), np.quantile(total, quantiles, axis=0))},
        coords={"quantile": quantiles, "year": chain.years},
        attrs={"scenario": loaded.name, "draws": draws, "seed": seed},
    )
    results = Results(data=ds, indicators=pd.DataFrame(df), scenario=loaded.name)
    run_id, path = write_run(
        results, command="risk", scenario_raw=loaded.raw, scenario_hash=loaded.hash, seed=seed, draws=draws,
        out=out, extra_meta={"source": loaded.source, "overrides": overrides, "chunk": chunk},
        files=files,
    )  # fmt: skip
    payload = {
        "command": "risk", "scenario": loaded.name, "run_id": run_id, "draws": draws, "seed": seed,
        "indicators": results.indicator_records(),
    }  # fmt: skip
    return Executed(payload, results, run_id, path)
