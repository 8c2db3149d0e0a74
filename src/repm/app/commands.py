"""One function per command: a request in, an `Outcome` out — the `--json` object, the results
(an xarray Dataset and the indicator table), the stored run, and what a front end prints beyond
the payload. Every command that runs a scenario stores a run.

The CLI, the dashboard's API and the Python API (`repm.run`, …) call these and only parse and
render, so `POST /api/run` answers with exactly the object `repm run --json` prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repm.app.requests import PlanRequest, Request, RiskRequest, RunRequest, StockpileRequest

if TYPE_CHECKING:
    from repm.scenario.load import LoadedScenario

Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class Outcome:
    """What a command left behind."""

    payload: dict  # the `--json` object
    results: Any  # repm.results.Results: .data (xarray Dataset) and .indicators (DataFrame)
    run_id: str | None  # None when the request asked not to store
    path: Path | None  # the run folder
    tables: dict = field(default_factory=dict)  # what a front end prints beyond the payload
    loaded: LoadedScenario | None = None

    @property
    def command(self) -> str:
        return self.payload["command"]


def store(
    req: Request,
    loaded: LoadedScenario,
    results,
    command: str,
    *,
    seed: int | None = None,
    draws: int = 1,
    meta: dict | None = None,
    files: dict[str, str] | None = None,
) -> tuple[str | None, Path | None]:
    """Write the run to the store (or to `req.out`), unless the request says not to."""
    if not req.store:
        return None, None
    from repm.results.store import write_run

    return write_run(
        results, command=command, scenario_raw=loaded.raw, scenario_hash=loaded.hash, seed=seed,
        draws=draws, out=req.out,
        extra_meta={"source": loaded.source, "overrides": list(req.sets), **(meta or {})},
        files=files,
    )  # fmt: skip


def table_results(loaded: LoadedScenario, rows: list[dict], data=None):
    """Results from indicator rows (the shape every `--json` carries) and an optional Dataset;
    the table has the registry's fixed columns (repm.indicators.COLUMNS)."""
    import xarray as xr

    from repm.results.build import Results
    from repm.results.indicators import IndicatorTable

    ds = data if data is not None else xr.Dataset()
    ds.attrs.setdefault("scenario", loaded.name)
    return Results(data=ds, indicators=IndicatorTable(rows).frame, scenario=loaded.name)


def rows_dataset(loaded: LoadedScenario, rows: list[dict]):
    """Indicator rows as labelled arrays: one variable per indicator, over year and the
    dimension keys its rows carry (a finance run's cash flows by year × unit_id), unit in attrs."""
    import xarray as xr

    from repm.results.indicators import KEYS, IndicatorTable

    frame = IndicatorTable(rows).frame
    arrays = []
    for name, part in frame.groupby("name", sort=False):
        dims = [k for k in KEYS if part[k].notna().any()]
        da = part.set_index(["year", *dims])["value"].astype(float).to_xarray()
        arrays.append(da.rename(name).assign_attrs(unit=str(part["unit"].iloc[0])))
    ds = xr.merge(arrays, join="outer", combine_attrs="drop") if arrays else xr.Dataset()
    for da in arrays:
        ds[da.name].attrs = da.attrs
    return ds


def _plan(plan_file: Path | None, chain):
    if plan_file is None:
        return None, {}
    from repm.app.planfile import load_plan

    # the plan is stored with the run (a few hundred bytes) so its report can show it
    plan, text = load_plan(Path(plan_file), chain)
    return plan, {"plan.yaml": text}


def horizon_label(loaded: LoadedScenario) -> str:
    """The years P(no shortage) counts: the horizon, from the first year after the risk model's
    as-of date (history is not insurable)."""
    years = loaded.scenario.horizon.years
    history = loaded.scenario.risk.months_of_history(years[0], len(years))
    return f"{years[min(history // 12, len(years) - 1)]}–{years[-1]}"


# --- run, risk, stockpile --------------------------------------------------------------------


def run(req: RunRequest) -> Outcome:
    """Simulate the scenario once (no shocks) and store the run."""
    loaded, chain = req.load_compiled()
    from repm.results.build import build_results
    from repm.simulate.engine import simulate

    plan, files = _plan(req.plan_file, chain)
    results = build_results(chain, simulate(chain, plan=plan, step=req.step))
    run_id, path = store(
        req, loaded, results, "run", files=files,
        meta={"step": req.step, "plan": str(req.plan_file) if req.plan_file else None},
    )  # fmt: skip
    payload = {
        "command": "run",
        "scenario": loaded.name,
        "run_id": run_id,
        "step": req.step,
        "indicators": results.indicator_records(),
    }
    return Outcome(payload, results, run_id, path, loaded=loaded)


def risk(req: RiskRequest, progress: Progress = None) -> Outcome:
    """Monte Carlo over the scenario's risk model, stored with per-year unmet-demand quantiles
    (not every draw). `progress(n)` hears of n more draws done."""
    loaded, chain = req.load_compiled()
    import xarray as xr

    from repm.analyses.risk import metrics, run_draws
    from repm.results.build import Results
    from repm.results.indicators import IndicatorTable

    plan, files = _plan(req.plan_file, chain)
    summary = run_draws(
        chain, loaded.scenario, draws=req.draws, seed=req.seed, chunk_size=req.chunk,
        scheduler=req.scheduler, workers=req.workers, progress=progress, plan=plan,
    )  # fmt: skip
    df = IndicatorTable(metrics(chain, loaded.scenario, summary)).frame
    quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
    ds = xr.Dataset(
        {"unmet_quantiles": (("quantile", "year"), summary.quantiles(quantiles))},
        coords={"quantile": quantiles, "year": chain.years},
        attrs={"scenario": loaded.name, "draws": req.draws, "seed": req.seed},
    )
    results = Results(data=ds, indicators=df, scenario=loaded.name)
    run_id, path = store(
        req, loaded, results, "risk", seed=req.seed, draws=req.draws, files=files,
        meta={"chunk": req.chunk, "plan": str(req.plan_file) if req.plan_file else None},
    )  # fmt: skip
    payload = {
        "command": "risk", "scenario": loaded.name, "run_id": run_id, "draws": req.draws,
        "seed": req.seed, "indicators": results.indicator_records(),
    }  # fmt: skip
    return Outcome(payload, results, run_id, path, loaded=loaded)


def stockpile(req: StockpileRequest, progress: Progress = None) -> Outcome:
    """The least-holding-cost strategic stockpile that keeps P(no shortage over the horizon) at
    the service level (common random numbers), stored as a run."""
    loaded = req.load()
    import xarray as xr

    from repm.analyses.risk import size_stockpile
    from repm.chain import compile_chain

    res = size_stockpile(
        loaded, compile_chain, service_level=req.service_level, draws=req.draws, seed=req.seed,
        chunk_size=req.chunk, scheduler=req.scheduler, progress=progress,
        tolerance=req.tolerance,
    )  # fmt: skip
    start = int(loaded.scenario.horizon.start)
    rows = [{"year": start, "name": "stockpile_holding_cost", "value": res.holding_cost,
             "unit": "crore INR"}]  # fmt: skip
    materials = list(res.stockpile)
    ds = xr.Dataset(
        {"stockpile_size": ("material", [float(res.stockpile[m]) for m in materials])},
        coords={"material": materials},
        attrs={"scenario": loaded.name, "service_level": req.service_level,
               "achieved": res.achieved, "draws": req.draws, "seed": req.seed},
    )  # fmt: skip
    results = table_results(loaded, rows, ds)
    worth = _worth(res, loaded)
    run_id, path = store(
        req, loaded, results, "stockpile", seed=req.seed, draws=req.draws,
        meta={"service_level": req.service_level, "tolerance": req.tolerance,
              "achieved": res.achieved, "attainable": res.attainable, "stockpile": res.stockpile, "note": res.note,
              "worth": worth},
    )  # fmt: skip
    payload = {
        "command": "stockpile", "scenario": loaded.name, "run_id": run_id, "draws": req.draws,
        "seed": req.seed, "service_level": req.service_level, "tolerance": req.tolerance,
        "achieved": res.achieved, "attainable": res.attainable,
        "stockpile": [{"material": m, "value": v, "unit": "t"} for m, v in res.stockpile.items()],
        "indicators": rows,
        "note": res.note,
        "worth": worth,
    }  # fmt: skip
    tables = {"sized": res, "horizon": horizon_label(loaded)}
    return Outcome(payload, results, run_id, path, tables, loaded)


def _worth(res, loaded) -> dict | None:
    """What the stockpile found is worth: its holding cost against the unmet demand it avoids,
    both discounted (`repm.analyses.risk.measures.discounted`), and the value of a kilogram
    unmet at which it pays, beside the scenario's (policy.unmet_penalty). None: no stockpile."""
    if not any(v > 0 for v in res.stockpile.values()):
        return None
    fin = loaded.scenario.economics.finance
    return {
        "holding_cost_pv": res.holding_pv, "holding_cost_unit": "crore INR",
        "unmet_avoided": res.unmet_avoided, "unmet_avoided_unit": "t",
        # None where it avoids no unmet demand (JSON has no infinity)
        "breakeven_penalty": res.breakeven_penalty if res.unmet_avoided > 0 else None,
        "unmet_penalty": res.unmet_penalty,
        "penalty_unit": "INR/kg", "pays": res.pays,
        "discount_rate": fin.discount_rate if fin is not None else 0.0,
    }  # fmt: skip


# --- plan --------------------------------------------------------------------------------------


def plan(req: PlanRequest) -> Outcome:
    """Least-cost build-out, sourcing and stockpile (linopy + HiGHS), optionally under risk; the
    plan is stored with the run (as the plan.yaml `--save-plan` writes) and, if asked, saved."""
    loaded, chain = req.load_compiled()
    from repm.analyses.optimize import optimize

    res = optimize(
        loaded.scenario, chain, scenarios=req.scenarios, seed=req.seed, cvar_weight=req.cvar,
        cvar_alpha=req.cvar_alpha, units=req.units,
    )  # fmt: skip
    sim_unmet = None
    if req.scenarios > 0:
        # the LP saw each scenario's whole path; simulating its plan on the same draws shows the
        # value of that foresight (simulated unmet ≥ the LP's)
        from repm.analyses.risk import run_draws

        summ = run_draws(
            chain, loaded.scenario, draws=req.scenarios, seed=req.seed, plan=res.plan,
            chunk_size=max(req.scenarios, 1),
        )  # fmt: skip
        years = [int(y) for y in chain.years]
        sim_unmet = dict(zip(years, summ.total.mean(axis=0), strict=True))
    rows = plan_rows(chain, res, sim_unmet)
    text = plan_text(loaded, res)
    if req.save_plan is not None:
        Path(req.save_plan).write_text(text)
    results = table_results(loaded, rows, _plan_dataset(loaded, res))
    run_id, path = store(
        req, loaded, results, "plan", seed=req.seed, draws=max(req.scenarios, 1),
        meta={"objective": res.objective, "costs": res.costs},
        files={"plan.yaml": text},
    )  # fmt: skip
    payload = {
        "command": "plan", "scenario": loaded.name, "run_id": run_id, "scenarios": res.scenarios,
        "seed": req.seed, "indicators": rows, "objective": res.objective,
        "plan": {"capacity": {int(k): float(v) for k, v in res.capacity.items()},
                 "stockpile": res.stockpile, "import_shares": res.import_shares},
        "duals": res.duals, "costs": res.costs, "units": list(res.units),
        "routes": res.routes or {},
    }  # fmt: skip
    tables = {"plan": res, "simulated": sim_unmet is not None}
    return Outcome(payload, results, run_id, path, tables, loaded)


def plan_rows(chain, res, sim_unmet: dict[int, float] | None) -> list[dict]:
    """The plan's indicator rows by year, in the order `repm plan --json` prints them."""
    rows = []
    for y in (int(y) for y in chain.years):
        if sim_unmet is not None:
            rows.append({"year": y, "name": "expected_unmet_simulated",
                         "value": float(sim_unmet[y]), "unit": "t"})  # fmt: skip
        rows += [
            {"year": y, "name": "magnet_capacity", "value": float(res.capacity[y]), "unit": "t/yr"},
            {"year": y, "name": "capacity_added", "value": float(res.build[y]), "unit": "t/yr"},
            {"year": y, "name": "expected_unmet", "value": float(res.expected_unmet[y]), "unit": "t"},
            {"year": y, "name": "capacity_value", "value": float(res.duals["capacity"][y]),
             "unit": "crore INR per t/yr"},
        ]  # fmt: skip
    return rows


def plan_text(loaded: LoadedScenario, res) -> str:
    """The plan as the YAML file `run/risk --plan` read."""
    import tempfile

    from repm.chain.plan import save_plan

    with tempfile.TemporaryDirectory(prefix="repm-plan-") as tmp:
        f = Path(tmp) / "plan.yaml"
        save_plan(
            f, scenario=loaded.name, objective=res.objective, capacity=res.capacity.to_dict(),
            stockpile=res.stockpile, shares=res.import_shares,
        )  # fmt: skip
        return f.read_text()


def _plan_dataset(loaded: LoadedScenario, res):
    """The plan's decisions as labelled arrays: capacity by year, stockpile by material."""
    import xarray as xr

    years = [int(y) for y in res.capacity.index]
    materials = list(res.stockpile)
    return xr.Dataset(
        {
            "magnet_capacity": ("year", [float(res.capacity[y]) for y in years]),
            "capacity_added": ("year", [float(res.build[y]) for y in years]),
            "expected_unmet": ("year", [float(res.expected_unmet[y]) for y in years]),
            "stockpile_size": ("material", [float(res.stockpile[m]) for m in materials]),
        },
        coords={"year": years, "material": materials},
        attrs={"scenario": loaded.name, "objective_crore_inr": res.objective,
               "scenarios": res.scenarios},
    )  # fmt: skip


# --- explain -----------------------------------------------------------------------------------


def explain(indicator: str, year: int, *, scenario="india-baseline", sets=()):
    """How one number was derived, back to its facts and sources (`repm explain`); nothing is
    stored. `scenario` is a shipped name, a path or a loaded scenario."""
    from repm.app.requests import Request
    from repm.model.facts import load_facts
    from repm.reports.hangs.sensitivity import explain_drivers
    from repm.results.build import run_scenario
    from repm.results.explain import Explanation
    from repm.results.explain import explain as do_explain

    loaded = Request(scenario=scenario, sets=sets).load()
    chain, results = run_scenario(loaded, step="yearly")
    done = do_explain(indicator, year, loaded, chain, results, load_facts())
    # the top drivers from the latest stored sensitivity run of this indicator and year
    return Explanation(done.lines + [explain_drivers(indicator, year, loaded.name, loaded.hash)])
