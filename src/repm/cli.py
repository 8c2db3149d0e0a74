"""The `repm` command line: run, facts, explain, scenarios, validate.

User mistakes print one line on stderr and exit 2 with nothing written; internal errors exit 1
with a short message (traceback with --debug).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from repm import __version__
from repm.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="repm — plan and stress-test India's sintered NdFeB magnet supply chain, every number cited.",
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

ScenarioArg = Annotated[str, typer.Argument(help="Shipped scenario name or path to a YAML file.")]
SetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045  (typer needs Optional here)
    typer.Option("--set", help="Override a field: PATH=VALUE (YAML scalar). Repeatable."),
]


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for internal errors.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"repm {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        out.print(ctx.get_help())


@app.command()
def run(
    scenario: ScenarioArg = "india-baseline",
    set_: SetOpt = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the shared shape).")
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write the run folder here (must not exist).")
    ] = None,  # noqa: UP045
    step: Annotated[str, typer.Option(help="Engine time step: monthly or yearly.")] = "monthly",
    by_sector: Annotated[
        bool, typer.Option("--by-sector", help="Also print demand and unmet by sector.")
    ] = False,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Simulate this saved plan (from `repm plan --save-plan`)."),
    ] = None,  # noqa: UP045
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger", help="Also print supply-risk indicators and the environmental ledger."
        ),
    ] = False,
) -> None:
    """Simulate a scenario and print its headline indicators by year (and its routes, if any)."""
    from repm.execute import check_options, execute_run
    from repm.scenario import load_scenario

    # check the user's input before importing the numerical stack, so mistakes are reported fast
    check_options(step=step, out=out_dir)
    loaded = load_scenario(scenario, set_ or [])
    done = execute_run(loaded, set_ or [], step=step, out=out_dir, plan_file=plan_file)
    results, run_id, path = done.results, done.run_id, done.path
    if json_out:
        sys.stdout.write(json.dumps(done.payload) + "\n")
        return
    _print_headline(results, loaded.name, run_id, path)
    if loaded.scenario.routes.model_dump(exclude_defaults=True):  # the scenario uses a route
        _print_block(
            results,
            ROUTE_ROWS,
            "routes: tolling, overseas sources, retention, buyer support",
            skip_zero=True,
        )
    if ledger:
        _print_block(results, RISK_ROWS, "supply risk")
        _print_block(
            results, LEDGER_ROWS, "environmental ledger (mostly assumed intensities: docs/model.md)"
        )
    if by_sector:
        _print_sectors(results)


ROUTE_ROWS = (
    ("magnet_tolled", "Tolled", "{:,.0f}"),
    ("ndpr_oxide_tolled", "Ox. tolled", "{:,.0f}"),
    ("ndpr_oxide_overseas", "Ox. overseas", "{:,.0f}"),
    ("ndpr_oxide_retained", "Ox. retained", "{:,.0f}"),
    ("ndpr_oxide_exports", "Ox. exported", "{:,.0f}"),
    ("tolling_fee_cost", "Toll fees", "{:,.1f}"),
    ("overseas_cost", "Overseas cost", "{:,.1f}"),
    ("consumer_incentive_cost", "Buyer support", "{:,.1f}"),
)
RISK_ROWS = (
    ("import_dependence_magnets", "Import dep.\nmagnets", "{:.1%}"),
    ("import_dependence_ndpr_oxide", "Import dep.\nNdPr ox.", "{:.1%}"),
    ("hhi_magnet_imports", "HHI magnet\nimports", "{:.3f}"),
    ("hhi_ndpr_oxide_imports", "HHI NdPr ox.\nimports", "{:.3f}"),
    ("geopolrisk_magnets", "GeoPolRisk\nmagnets", "{:.3f}"),
    ("geopolrisk_ndpr_oxide", "GeoPolRisk\nNdPr ox.", "{:.3f}"),
    ("geopolrisk_heavy", "GeoPolRisk\nDy/Tb ox.", "{:.3f}"),
    ("ndpr_in_demand", "NdPr in\ndemand", "{:,.0f}"),
    ("dy_in_demand", "Dy in\ndemand", "{:,.0f}"),
    ("tb_in_demand", "Tb in\ndemand", "{:,.0f}"),
)
LEDGER_ROWS = (
    ("thorium_residue", "Th residue", "{:,.1f}"),
    ("env_uranium_residue", "U residue", "{:,.1f}"),
    ("env_co2e_domestic", "CO2e India", "{:,.0f}"),
    ("env_co2e_imports", "CO2e in imports", "{:,.0f}"),
    ("env_co2e_per_t_magnet", "CO2e per t magnet", "{:,.1f}"),
    ("env_energy_domestic", "Energy India", "{:,.0f}"),
    ("env_water_domestic", "Water India", "{:,.0f}"),
    ("env_acid_domestic", "Acid India", "{:,.0f}"),
)


def _header(label: str, unit: str) -> str:
    """A column title with its unit underneath (escaped: rich would eat `[t]` as markup)."""
    return escape(f"{label}\n[{'%' if unit == 'fraction' else unit}]")


def _print_block(results, rows, title: str, skip_zero: bool = False) -> None:
    """Indicators as columns by year; with skip_zero, columns that are zero throughout are left
    out (and nothing is printed when all are)."""
    from repm.results import UNITS

    wide = results.wide_totals()
    rows = [r for r in rows if r[0] in wide and not (skip_zero and (wide[r[0]] == 0).all())]
    if not rows:
        return
    table = Table(title=title, header_style="bold")
    table.add_column("year", justify="right")
    for key, label, _ in rows:
        table.add_column(_header(label, UNITS[key]), justify="right")
    for year, row in wide.iterrows():
        table.add_row(str(year), *[fmt.format(row[key]) for key, _, fmt in rows])
    out.print(table)


def _print_headline(results, name: str, run_id: str, path: Path) -> None:
    from repm.results import HEADLINE, UNITS

    wide = results.wide_totals()
    worst = float(wide["mass_balance_residual"].max())
    caption = f"largest mass-balance residual {worst:.1e} t · run {run_id}\n→ {path}"
    table = Table(title=f"repm run · {name}", caption=caption, header_style="bold")
    table.add_column("year", justify="right")
    for key, label in HEADLINE[:-1]:
        table.add_column(_header(label, UNITS[key]), justify="right")
    for year, row in wide.iterrows():
        cells = [str(year)]
        for key, _ in HEADLINE[:-1]:
            v = row[key]
            if UNITS[key] == "fraction":
                cells.append(f"{v:.1%}")
            elif key == "mass_balance_residual":
                cells.append(f"{v:.1e}")
            else:
                cells.append(f"{v:,.0f}")
        table.add_row(*cells)
    out.print(table)


def _print_sectors(results) -> None:
    df = results.indicators
    sec = df[df["sector"].notna()]
    for name in ("magnet_demand", "unmet_demand"):
        wide = sec[sec["name"] == name].pivot(index="year", columns="sector", values="value")
        table = Table(title=f"{name} by sector [t]")
        table.add_column("year", justify="right")
        for c in wide.columns:
            table.add_column(c, justify="right")
        for year, row in wide.iterrows():
            table.add_row(str(year), *[f"{v:,.0f}" for v in row])
        out.print(table)


def _progress(total: int, label: str):
    """A draws-done progress bar on stderr (silent when stderr is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    prog = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, disable=not sys.stderr.isatty(), transient=True,
    )  # fmt: skip
    task = prog.add_task(label, total=total)
    return prog, (lambda n: prog.advance(task, n))


DrawsOpt = Annotated[int, typer.Option("--draws", help="Monte Carlo draws.")]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Random seed; same seed and draws → same numbers.")
]
ChunkOpt = Annotated[int, typer.Option("--chunk", help="Draws per chunk (bounds memory).")]
SchedOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://HOST:8786), or 'local' for a local process cluster.",
    ),
]


@app.command()
def risk(
    scenario: ScenarioArg = "india-baseline",
    set_: SetOpt = None,
    draws: DrawsOpt = 10_000,
    seed: SeedOpt = 0,
    chunk: ChunkOpt = 2_000,
    scheduler: SchedOpt = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", help="Local workers (threads, or processes with --scheduler local)."
        ),
    ] = 2,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the shared shape).")
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write the run folder here (must not exist).")
    ] = None,  # noqa: UP045
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Simulate this saved plan (from `repm plan --save-plan`)."),
    ] = None,  # noqa: UP045
) -> None:
    """Monte Carlo of export controls and outages: shortage probability, unmet demand, CVaR."""
    from repm.execute import check_options, execute_risk
    from repm.scenario import load_scenario

    check_options(draws=draws, seed=seed, out=out_dir)
    loaded = load_scenario(scenario, set_ or [])
    prog, advance = _progress(draws, "draws")
    with prog:
        done = execute_risk(
            loaded, set_ or [], draws=draws, seed=seed, chunk=chunk, scheduler=scheduler,
            workers=workers, progress=advance, out=out_dir, plan_file=plan_file,
        )  # fmt: skip
    df, run_id, path = done.results.indicators, done.run_id, done.path
    if json_out:
        sys.stdout.write(json.dumps(done.payload) + "\n")
        return
    tot = df[df["sector"].isna()].pivot(index="year", columns="name", values="value")
    veh = df[df["name"].isin(["ev_cars_not_built", "e2w_not_built"])].pivot(
        index="year", columns="name", values="value"
    )
    t = Table(
        title=f"repm risk · {loaded.name} · {draws:,} draws, seed {seed}",
        caption=f"largest mass-balance residual {float(tot['mass_balance_residual'].max()):.1e} t · run {run_id}\n→ {path}",
        header_style="bold",
    )
    cols = [("p_shortage", "P(short)", "%"), ("expected_unmet", "E(unmet)", "t"), ("cvar95_unmet", "CVaR95", "t"),
            ("unmet_p95", "P95", "t"), ("months_short", "Months short", "mo"),
            ("stockpile_holding_cost", "Holding cost", "cr INR")]  # fmt: skip
    t.add_column("year", justify="right")
    for _, label, unit in cols:
        t.add_column(escape(f"{label}\n[{unit}]"), justify="right")
    for vname, label in (
        ("ev_cars_not_built", "EV cars\nnot built"),
        ("e2w_not_built", "e-2W\nnot built"),
    ):
        if vname in veh:
            t.add_column(label, justify="right")
    for year, row in tot.iterrows():
        cells = [str(year)]
        for key, _, unit in cols:
            v = row[key]
            cells.append(
                f"{v:.1%}"
                if unit == "%"
                else f"{v:,.1f}"
                if unit in ("mo", "cr INR")
                else f"{v:,.0f}"
            )
        for vname in ("ev_cars_not_built", "e2w_not_built"):
            if vname in veh:
                cells.append(f"{veh.loc[year, vname]:,.0f}")
        t.add_row(*cells)
    out.print(t)


@app.command()
def stockpile(
    scenario: ScenarioArg = "india-baseline",
    set_: SetOpt = None,
    service_level: Annotated[
        float, typer.Option("--service-level", help="Required P(no shortage over the horizon).")
    ] = 0.95,
    draws: DrawsOpt = 2_000,
    seed: SeedOpt = 0,
    chunk: ChunkOpt = 2_000,
    scheduler: SchedOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Smallest-holding-cost magnet stockpile meeting a service level (common random numbers)."""
    from repm.scenario import load_scenario

    if not 0 < service_level < 1:
        raise UserError(
            f"{service_level}; expected a probability strictly between 0 and 1",
            where="--service-level",
        )
    if draws < 1:
        raise UserError(f"{draws}; expected at least 1 draw", where="--draws")
    loaded = load_scenario(scenario, set_ or [])
    from repm.chain import compile_chain
    from repm.risk import size_stockpile

    prog, advance = _progress(draws, "draws (per candidate)")
    with prog:
        res = size_stockpile(
            loaded, compile_chain, service_level=service_level, draws=draws, seed=seed, chunk_size=chunk,
            scheduler=scheduler,
        )  # fmt: skip
    if json_out:
        payload = {
            "command": "stockpile", "scenario": loaded.name, "run_id": None, "draws": draws, "seed": seed,
            "service_level": service_level, "achieved": res.achieved, "attainable": res.attainable,
            "stockpile": [{"material": m, "value": v, "unit": "t"} for m, v in res.stockpile.items()],
            "indicators": [{"year": int(loaded.scenario.horizon.start), "name": "stockpile_holding_cost",
                            "value": res.holding_cost, "unit": "crore INR"}],
            "note": res.note,
        }  # fmt: skip
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    t = Table(
        title=f"repm stockpile · {loaded.name} · service level {service_level:.1%}",
        header_style="bold",
    )
    t.add_column("material")
    t.add_column("stockpile [t]", justify="right")
    for m, v in res.stockpile.items():
        t.add_row(m, f"{v:,.1f}")
    out.print(t)
    out.print(
        f"P(no shortage 2024–2035): {res.achieved:.1%} · holding cost {res.holding_cost:,.1f} crore INR/yr · {res.note}",
        highlight=False,
    )
    if not res.attainable:
        raise typer.Exit(code=0)


@app.command()
def plan(
    scenario: ScenarioArg = "india-baseline",
    set_: SetOpt = None,
    scenarios: Annotated[
        int,
        typer.Option("--scenarios", help="Shock scenarios from the risk model (0: deterministic)."),
    ] = 0,
    seed: SeedOpt = 0,
    cvar: Annotated[
        float, typer.Option("--cvar", help="Weight of the CVaR term in the objective.")
    ] = 0.0,
    cvar_alpha: Annotated[float, typer.Option("--cvar-alpha", help="CVaR level.")] = 0.95,
    save_plan: Annotated[
        Path | None,
        typer.Option("--save-plan", help="Write the plan as YAML for `run/risk --plan`."),
    ] = None,  # noqa: UP045
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the shared shape).")
    ] = False,
    units: Annotated[
        bool,
        typer.Option(
            "--units", help="Build whole scheme units: 600–1,200 t/yr in 100 t steps (MILP)."
        ),
    ] = False,
) -> None:
    """Least-cost build-out, sourcing and stockpile (linopy + HiGHS), optionally under risk."""
    from repm.scenario import load_scenario

    if save_plan is not None and (save_plan.is_dir() or not save_plan.parent.exists()):
        raise UserError(
            f"{str(save_plan)!r}; expected a file path in an existing folder", where="--save-plan"
        )
    loaded = load_scenario(scenario, set_ or [])
    from repm.chain import compile_chain
    from repm.optimize import optimize
    from repm.plan import save_plan as write_plan

    chain = compile_chain(loaded.scenario)
    res = optimize(
        loaded.scenario,
        chain,
        scenarios=scenarios,
        seed=seed,
        cvar_weight=cvar,
        cvar_alpha=cvar_alpha,
        units=units,
    )
    if save_plan is not None:
        write_plan(
            save_plan, scenario=loaded.name, objective=res.objective, capacity=res.capacity.to_dict(),
            stockpile=res.stockpile, shares=res.import_shares,
        )  # fmt: skip
    sim_unmet = None
    if scenarios > 0:
        # the LP saw each scenario's whole path; simulating its plan on the same draws shows the
        # value of that foresight (simulated unmet ≥ the LP's)
        from repm.risk import run_draws

        summ = run_draws(
            chain,
            loaded.scenario,
            draws=scenarios,
            seed=seed,
            plan=res.plan,
            chunk_size=max(scenarios, 1),
        )
        sim_unmet = dict(zip([int(y) for y in chain.years], summ.total.mean(axis=0), strict=True))
    rows = []
    for y in chain.years:
        y = int(y)
        if sim_unmet is not None:
            rows.append(
                {
                    "year": y,
                    "name": "expected_unmet_simulated",
                    "value": float(sim_unmet[y]),
                    "unit": "t",
                }
            )
        rows += [
            {"year": y, "name": "magnet_capacity", "value": float(res.capacity[y]), "unit": "t/yr"},
            {"year": y, "name": "capacity_added", "value": float(res.build[y]), "unit": "t/yr"},
            {
                "year": y,
                "name": "expected_unmet",
                "value": float(res.expected_unmet[y]),
                "unit": "t",
            },
            {
                "year": y,
                "name": "capacity_value",
                "value": float(res.duals["capacity"][y]),
                "unit": "crore INR per t/yr",
            },
        ]
    from repm.execute import store_plan

    run_id, run_path = store_plan(loaded, set_ or [], res, rows, seed=seed, scenarios=scenarios)
    if json_out:
        payload = {
            "command": "plan", "scenario": loaded.name, "run_id": run_id, "scenarios": res.scenarios, "seed": seed,
            "indicators": rows, "objective": res.objective,
            "plan": {"capacity": {int(k): float(v) for k, v in res.capacity.items()}, "stockpile": res.stockpile, "import_shares": res.import_shares},
            "duals": res.duals, "costs": res.costs, "units": list(res.units),
            "routes": res.routes or {},
        }  # fmt: skip
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    t = Table(
        title=f"repm plan · {loaded.name} · {res.scenarios} scenario(s), CVaR weight {cvar:g}",
        header_style="bold",
    )
    for col in (
        "year",
        "capacity [t/yr]",
        "added [t/yr]",
        "E(unmet) [t]",
        "value of 1 t/yr more [crore INR]",
    ):
        t.add_column(escape(col), justify="right")
    if sim_unmet is not None:
        t.add_column(escape("E(unmet) simulated [t]"), justify="right")
    by: dict[int, dict[str, float]] = {}
    for r in rows:
        by.setdefault(r["year"], {})[r["name"]] = r["value"]
    for year, v in by.items():
        cells = [
            str(year), f"{v['magnet_capacity']:,.0f}", f"{max(v['capacity_added'], 0.0):,.0f}",
            f"{max(v['expected_unmet'], 0.0):,.1f}", f"{v['capacity_value']:,.3f}",
        ]  # fmt: skip
        if sim_unmet is not None:
            cells.append(f"{v['expected_unmet_simulated']:,.1f}")
        t.add_row(*cells)
    out.print(t)
    st = ", ".join(f"{m} {v:,.0f} t" for m, v in res.stockpile.items() if v > 1e-6) or "none"
    out.print(
        f"objective {res.objective:,.0f} crore INR (discounted): capex {res.costs['capex']:,.0f}, stockpile {res.costs['stockpile']:,.0f}, operations {res.costs['operations_expected']:,.0f}",
        highlight=False,
    )
    out.print(f"strategic stockpile: {st}", highlight=False)
    if units:
        built = (
            "; ".join(
                f"unit {u['unit']}: {u['capacity']:,.0f} t/yr from {u['online']}" for u in res.units
            )
            or "none"
        )
        out.print(f"units built: {built}", highlight=False)
    china = ", ".join(f"{m} {v.get('China', 0):.0%}" for m, v in res.import_shares.items())
    out.print(f"China's share of imports: {china}", highlight=False)
    for key, what, unit in (
        ("tolled", "tolling", "t/yr of magnets"),
        ("overseas_oxide", "overseas", "t/yr of NdPr oxide"),
    ):
        if f"{key}_contract" in (res.routes or {}):
            peak = ", ".join(f"{n} {v:,.0f}" for n, v in res.routes[f"{key}_contract"].items())
            use = res.routes[f"{key}_expected"]
            total = sum(use.values())
            out.print(
                f"{what}: contract needed {peak} {unit}; expected use {total:,.0f} t over the horizon",
                highlight=False,
            )
    if save_plan is not None:
        out.print(f"plan written to {save_plan}", highlight=False)
    out.print(f"run {run_id} → {run_path}", highlight=False)


@app.command()
def finance(
    scenario: ScenarioArg = "india-baseline",
    set_: SetOpt = None,
    unit: Annotated[
        float | None,
        typer.Option(
            "--unit", help="Value one unit of this capacity (t/yr) instead of the scenario's units."
        ),
    ] = None,  # noqa: UP045
    sli_bid: Annotated[
        str | None, typer.Option("--sli-bid", help="SLI bid, e.g. '1800 INR/kg'.")
    ] = None,  # noqa: UP045
    breakeven: Annotated[
        str | None, typer.Option("--breakeven", help="Solve NPV = 0 for: sli or price.")
    ] = None,  # noqa: UP045
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity",
            help="Tornado of NPV over price, capex, feed, FX, discount rate (±20 %).",
        ),
    ] = False,
    montecarlo: Annotated[
        int, typer.Option("--montecarlo", help="Draws of price paths from the risk model (0: off).")
    ] = 0,
    seed: SeedOpt = 0,
    price: Annotated[
        str,
        typer.Option("--price", help="Revenue price path: reference (scheme's) or china (landed)."),
    ] = "reference",
    currency: Annotated[
        str, typer.Option("--currency", help="Report in INR (crore) or USD (million).")
    ] = "INR",
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the shared shape).")
    ] = False,
) -> None:
    """Does a unit pay under the scheme, and what does the scheme cost the treasury?"""
    from repm.scenario import load_scenario

    if breakeven not in (None, "sli", "price"):
        raise UserError(f"{breakeven!r}; expected sli or price", where="--breakeven")
    if price not in ("reference", "china"):
        raise UserError(f"{price!r}; expected reference or china", where="--price")
    if currency not in ("INR", "USD"):
        raise UserError(f"{currency!r}; expected INR or USD", where="--currency")
    if montecarlo < 0:
        raise UserError(f"{montecarlo}; expected 0 or more draws", where="--montecarlo")
    loaded = load_scenario(scenario, set_ or [])
    from repm.execute import execute_finance

    done = execute_finance(
        loaded, set_ or [], unit=unit, sli_bid=sli_bid, breakeven=breakeven, sensitivity=sensitivity,
        montecarlo=montecarlo, seed=seed, price=price, currency=currency,
    )  # fmt: skip
    if json_out:
        sys.stdout.write(json.dumps(done.payload, default=float) + "\n")
        return
    x = done.extra
    table_units, out_df, check, routes_df = x["units"], x["outlay"], x["check"], x["routes"]
    scale, money = x["scale"], x["money"]
    t = Table(title=f"repm finance · {loaded.name} · {price} price", header_style="bold")
    for col in (
        "unit",
        "t/yr",
        "SLI bid\n₹/kg",
        f"NPV\n{money}",
        "IRR",
        "payback\nyears",
        "LCOM\n₹/kg",
        "subsidy\n₹/kg",
    ):
        t.add_column(escape(col), justify="right")
    for r in table_units:
        t.add_row(
            r["unit_id"], f"{r['capacity']:,.0f}", f"{r['sli_bid']:,.0f}", f"{r['npv']:,.0f}",
            "—" if r["irr"] is None else f"{r['irr']:.1%}",
            "—" if r["payback_years"] is None else f"{r['payback_years']:.0f}",
            f"{r['lcom']:,.0f}" if r["lcom"] else "—", f"{r['subsidy_per_kg']:,.0f}" if r["subsidy_per_kg"] else "—",
        )  # fmt: skip
    out.print(t)
    for r in table_units:
        if "breakeven_note" in r:
            out.print(f"{r['unit_id']}: {r['breakeven_note']}", highlight=False)
        if "npv_percentiles" in r:
            p = r["npv_percentiles"]
            out.print(
                f"{r['unit_id']}: NPV over {p['draws']:,} price paths — P5 {p['p05']:,.0f}, P50 {p['p50']:,.0f}, P95 {p['p95']:,.0f} {money}",
                highlight=False,
            )
        if "sensitivity" in r:
            st = Table(title=f"{r['unit_id']}: NPV sensitivity (±20 %)", header_style="bold")
            for col in ("lever", "NPV at −20 %", "NPV at +20 %"):
                st.add_column(col, justify="right")
            for s_ in r["sensitivity"]:
                st.add_row(s_["lever"], f"{s_['npv_low']:,.0f}", f"{s_['npv_high']:,.0f}")
            out.print(st)
    ot = Table(title=escape(f"scheme outlay [{money}]"), header_style="bold")
    for col in ("year", "SLI", "capital subsidy", "total"):
        ot.add_column(col, justify="right")
    for r in out_df.itertuples():
        ot.add_row(
            str(r.year),
            f"{r.sli * scale:,.0f}",
            f"{r.capital_subsidy * scale:,.0f}",
            f"{r.total * scale:,.0f}",
        )
    out.print(ot)
    flag = "[bold red]BREACH[/]" if check["breach"] else "within"
    out.print(
        f"total {check['total'] * scale:,.0f} of {check['outlay_cap'] * scale:,.0f} {money} ({flag}): "
        f"SLI {check['sli'] * scale:,.0f} of {check['sli_cap'] * scale:,.0f}, capital subsidy "
        f"{check['capital_subsidy'] * scale:,.0f} of {check['capital_subsidy_cap'] * scale:,.0f}"
    )
    if len(routes_df):
        labels = x["route_labels"]
        rt = Table(title=escape(f"beside the scheme: routes [{money}]"), header_style="bold")
        rt.add_column("year", justify="right")
        cols = [c for c in routes_df.columns if c != "year"]
        for c in cols:
            rt.add_column(labels[c], justify="right")
        for r in routes_df.to_dict("records"):
            rt.add_row(str(int(r["year"])), *[f"{r[c] * scale:,.1f}" for c in cols])
        out.print(rt)


@app.command()
def facts(
    conflicts: Annotated[
        bool, typer.Option("--conflicts", help="List groups of facts whose sources disagree.")
    ] = False,
    grep: Annotated[
        str | None,
        typer.Option("--grep", help="Only facts whose id or note contains this text."),
    ] = None,  # noqa: UP045
    json_out: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """The cited fact table: value, unit, year, grade and sources of every default number."""
    from repm.facts import load_facts

    table_ = load_facts()
    if conflicts:
        groups = table_.conflicts()
        if json_out:
            payload = {g: [_fact_json(f, table_) for f in fs] for g, fs in groups.items()}
            sys.stdout.write(json.dumps({"command": "facts", "conflicts": payload}) + "\n")
            return
        for g, fs in groups.items():
            t = Table(title=f"conflict: {g}", show_lines=False, header_style="bold")
            for col in ("", "id", "value", "unit", "year", "grade", "source"):
                t.add_column(col)
            for f in fs:
                t.add_row(
                    "[green]baseline[/]" if f.baseline else "", f.id, f.shown(), f.unit, str(f.year or ""),
                    f.grade, "; ".join(table_.sources[s].cite() for s in f.sources),
                )  # fmt: skip
            out.print(t)
            chosen = next(f for f in fs if f.baseline)
            out.print(f"  why the baseline uses {chosen.id}: {chosen.note}\n")
        return
    rows = [
        f
        for f in table_.facts.values()
        if not grep or grep.lower() in (f.id + " " + f.note).lower()
    ]
    if json_out:
        sys.stdout.write(
            json.dumps({"command": "facts", "facts": [_fact_json(f, table_) for f in rows]}) + "\n"
        )
        return
    t = Table(title=f"repm facts ({len(rows)} of {len(table_.facts)})", header_style="bold")
    for col in ("id", "value", "unit", "year", "grade", "sources"):
        t.add_column(col, overflow="fold")
    for f in rows:
        t.add_row(f.id, f.shown(), f.unit, str(f.year or ""), f.grade, ", ".join(f.sources) or "—")
    out.print(t)


def _fact_json(f, table_) -> dict:
    d = f.model_dump(exclude_none=True)
    d["central"] = f.central
    d["citations"] = [table_.sources[s].cite() for s in f.sources]
    return d


@app.command()
def explain(
    indicator: Annotated[str, typer.Argument(help="Indicator name, e.g. magnet_demand.")],
    year: Annotated[int, typer.Argument(help="Year within the horizon.")],
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Scenario name or file.")
    ] = "india-baseline",
    set_: SetOpt = None,
) -> None:
    """How a number was derived, back to its facts and sources."""
    from repm.explain import explain as do_explain
    from repm.facts import load_facts
    from repm.results import run_scenario
    from repm.scenario import load_scenario

    loaded = load_scenario(scenario, set_ or [])
    chain, results = run_scenario(loaded, step="yearly")
    for line in do_explain(indicator, year, loaded, chain, results, load_facts()).lines:
        out.print(line, highlight=False, markup=False)


@app.command()
def scenarios(
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the scenario JSON schema.")
    ] = False,
) -> None:
    """List the shipped scenarios (`repm validate FILE` checks your own)."""
    from repm.scenario import Scenario, load_scenario, shipped_names

    if schema:
        sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=1) + "\n")
        return
    t = Table(title="shipped scenarios", header_style="bold")
    t.add_column("name")
    t.add_column("description", overflow="fold")
    for n in shipped_names():
        t.add_row(n, load_scenario(n).scenario.description)
    out.print(t)


@app.command()
def validate(
    scenario: ScenarioArg,
    set_: SetOpt = None,
) -> None:
    """Check a scenario file (schema, units, fact ids, compile) without running it."""
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    loaded = load_scenario(scenario, set_ or [])
    compile_chain(loaded.scenario)
    out.print(
        f"{loaded.source}: valid ({len(loaded.provenance)} values from facts, hash {loaded.hash})"
    )


# --- see it: report, compare, serve (issue 7) -------------------------------------------------


@app.command()
def report(
    run_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="Run id (default: the newest run in the store)."),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: ./report-RUN_ID.html)."),
    ] = None,  # noqa: UP045
    year: Annotated[
        int | None, typer.Option("--year", help="Year of the flow Sankey (default: the last).")
    ] = None,  # noqa: UP045
    open_: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
) -> None:
    """One stored run as one self-contained HTML file (charts work offline); prints its path."""
    from repm.report import load_run, write_report

    path = write_report(load_run(run_id), out_file, year)
    out.print(str(path.resolve()), highlight=False, soft_wrap=True)
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


@app.command()
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    year: Annotated[
        int | None, typer.Option("--year", help="Year of the table (default: the last shared).")
    ] = None,  # noqa: UP045
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML diff chart here.")
    ] = None,  # noqa: UP045
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Stored runs side by side: total indicators in a year and their differences from run 1."""
    from repm.compare import compare_table, payload, write_html
    from repm.report import load_run

    if len(run_ids) < 2:
        raise UserError(f"{len(run_ids)} run given; expected two or more run ids", where="compare")
    runs = [load_run(r) for r in run_ids]
    year_, table = compare_table(runs, year)
    if html_file is not None:
        write_html(runs, year_, table, html_file)
    if json_out:
        sys.stdout.write(json.dumps(payload(runs, year_, table)) + "\n")
        return
    from repm.compare import num

    caption = "\n".join(
        f"{i + 1}: {r.run_id} ({r.meta.get('command')})" for i, r in enumerate(runs)
    )
    t = Table(title=f"repm compare · {year_}", caption=caption, header_style="bold")
    t.add_column("indicator")
    t.add_column("unit")
    for i, r in enumerate(runs):
        t.add_column(f"{i + 1}: {r.meta.get('scenario')}", justify="right")
    for i in range(2, len(runs) + 1):
        t.add_column(f"Δ {i} − 1", justify="right")
    for (name, unit), row in table.iterrows():
        t.add_row(name, escape(str(unit)), *[num(v) for v in row.values])
    out.print(t)
    if html_file is not None:
        out.print(f"diff chart written to {html_file.resolve()}", highlight=False)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8050,
) -> None:
    """The dashboard and its JSON API (OpenAPI at /docs) on http://HOST:PORT."""
    from repm.web.app import check_address
    from repm.web.app import serve as run_server

    check_address(host, port)
    out.print(
        f"repm dashboard on http://{host}:{port}  (API: /api, OpenAPI: /openapi.json)",
        highlight=False,
    )
    run_server(host, port)


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=False)
    except UserError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:
        # usage errors (bad option, missing argument) from typer's click carry show() and exit_code
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            sys.exit(exc.exit_code)
        if debug:
            raise
        err.print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            markup=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
