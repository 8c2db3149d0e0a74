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
    extra: dict | None = None  # what a command prints beyond the payload


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
    total = summary.total
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


def execute_finance(
    loaded: LoadedScenario,
    overrides: list[str],
    *,
    unit: float | None = None,
    sli_bid: str | None = None,
    breakeven: str | None = None,
    sensitivity: bool = False,
    montecarlo: int = 0,
    seed: int = 0,
    price: str = "reference",
    currency: str = "INR",
) -> Executed:
    """Value the scheme units (or one hypothetical unit) and the treasury's outlay, store the run,
    return `repm finance --json`'s object; `extra` holds what the CLI prints as tables."""
    import dataclasses

    from repm.units import to_unit

    sc = loaded.scenario
    if sc.economics.finance is not None:
        fin = sc.economics.finance
        if fin.discount_rate <= -1:
            raise UserError(
                f"{fin.discount_rate:g}; expected a discount rate > −1",
                where="economics.finance.discount_rate",
            )

    from repm import finance as F
    from repm.results import run_scenario

    bid = None
    if sli_bid is not None:
        try:
            bid = to_unit(sli_bid, "INR/kg", fx_inr_per_usd=sc.economics.fx_inr_per_usd)
        except ValueError as exc:
            raise UserError(f"{exc}", where="--sli-bid") from None
    units = [F.hypothetical_unit(sc, unit, bid)] if unit is not None else F.unit_specs(sc)
    if bid is not None:
        F.check_bid(sc, bid)
        units = [dataclasses.replace(u, sli_bid=bid) for u in units]
    if not units:
        raise UserError(
            "no scheme units in this scenario; expected --unit CAPACITY", where="supply.units"
        )
    chain, results = run_scenario(loaded, step="yearly")
    ctx = F.context(sc, chain, results)
    fx = sc.economics.fx_inr_per_usd
    scale, money = (1.0, "crore INR") if currency == "INR" else (10.0 / fx, "million USD")

    rows, table_units = [], []
    for u in units:
        m = F.unit_metrics(ctx, u, price_basis=price)
        rec = {k: v for k, v in m.items() if k != "cash_flows"}
        for k in ("npv", "capex", "sli_total", "capital_subsidy"):
            rec[k] = rec[k] * scale
        rec["unit"] = money
        if breakeven == "sli":
            rec["breakeven_sli"], rec["breakeven_note"] = F.breakeven_sli(ctx, u)
        if breakeven == "price":
            rec["breakeven_price"], rec["breakeven_note"] = F.breakeven_price(ctx, u)
        if montecarlo:
            mc = F.montecarlo(ctx, chain, u, montecarlo, seed)
            rec["npv_percentiles"] = {
                k: (v * scale if k.startswith(("p", "mean")) else v) for k, v in mc.items()
            }
        if sensitivity:
            tor = F.tornado(ctx, u)
            rec["sensitivity"] = [
                {"lever": r.lever, "npv_low": r.npv_low * scale, "npv_high": r.npv_high * scale}
                for r in tor.itertuples()
            ]
        table_units.append(rec)
        for r in m["cash_flows"].itertuples():
            for name in ("revenue", "sli", "capital_subsidy", "net"):
                rows.append(
                    {
                        "year": int(r.year),
                        "name": f"unit_{name}",
                        "value": float(getattr(r, name)) * scale,
                        "unit": money,
                        "unit_id": u.unit_id,
                    }
                )
    out_df = F.outlay(ctx, units)
    check = F.outlay_check(ctx, out_df)
    for r in out_df.itertuples():
        rows.append(
            {
                "year": int(r.year),
                "name": "scheme_outlay",
                "value": float(r.total) * scale,
                "unit": money,
            }
        )
    routes_df = F.route_costs(results)
    for r in routes_df.to_dict("records"):
        for name in (c for c in routes_df.columns if c != "year"):
            rows.append(
                {
                    "year": int(r["year"]),
                    "name": name,
                    "value": float(r[name]) * scale,
                    "unit": money,
                }
            )

    import pandas as pd
    import xarray as xr

    from repm.results import Results
    from repm.store import write_run

    ind = pd.DataFrame(rows)
    for k in ("sector", "origin", "material", "unit_id"):
        if k not in ind:
            ind[k] = None
    run_id, path = write_run(
        Results(data=xr.Dataset(attrs={"scenario": loaded.name}), indicators=ind, scenario=loaded.name),
        command="finance", scenario_raw=loaded.raw, scenario_hash=loaded.hash,
        extra_meta={"source": loaded.source, "overrides": overrides, "units": [{k: v for k, v in r.items() if not isinstance(v, list | dict)} for r in table_units], "outlay_check": check},
    )  # fmt: skip
    payload = {
        "command": "finance", "scenario": loaded.name, "run_id": run_id, "currency": currency,
        "indicators": rows,
        "units": table_units,
        "outlay": [{"year": int(r.year), "value": float(r.total) * scale, "unit": money} for r in out_df.itertuples()],
        "outlay_check": check,
        "route_costs": [
            {"year": int(r["year"]), **{k: float(v) * scale for k, v in r.items() if k != "year"}}
            for r in routes_df.to_dict("records")
        ],
    }  # fmt: skip
    extra = {"units": table_units, "outlay": out_df, "check": check, "routes": routes_df,
             "scale": scale, "money": money, "route_labels": dict(F.ROUTE_COSTS)}  # fmt: skip
    return Executed(payload, None, run_id, path, extra)


def store_plan(
    loaded: LoadedScenario,
    overrides: list[str],
    res,
    rows: list[dict],
    *,
    seed: int,
    scenarios: int,
) -> tuple[str, Path]:
    """Store a `repm plan` result as a run: its indicator rows, and the plan itself as the
    plan.yaml that `--save-plan` writes (so its report draws the capacities and stockpile)."""
    import tempfile

    import pandas as pd
    import xarray as xr

    from repm.plan import save_plan
    from repm.results import Results
    from repm.store import write_run

    with tempfile.TemporaryDirectory(prefix="repm-plan-") as tmp:
        f = Path(tmp) / "plan.yaml"
        save_plan(
            f, scenario=loaded.name, objective=res.objective, capacity=res.capacity.to_dict(),
            stockpile=res.stockpile, shares=res.import_shares,
        )  # fmt: skip
        text = f.read_text()
    ind = pd.DataFrame(rows)
    for k in ("sector", "origin", "material"):
        ind[k] = None
    return write_run(
        Results(data=xr.Dataset(attrs={"scenario": loaded.name}), indicators=ind, scenario=loaded.name),
        command="plan", scenario_raw=loaded.raw, scenario_hash=loaded.hash, seed=seed, draws=max(scenarios, 1),
        extra_meta={"source": loaded.source, "overrides": overrides, "objective": res.objective, "costs": res.costs},
        files={"plan.yaml": text},
    )  # fmt: skip
