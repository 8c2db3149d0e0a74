"""The `repm` command line: parse the options, build a request, call `repm.app`, render.

Options shared by commands (`--json`, `--out`, `--set`, `--plan`, `--draws`, `--seed`, …) are
declared once below. User mistakes print one line on stderr and exit 2 with nothing written;
internal errors exit 1 with a short message (traceback with --debug).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from repm import __version__
from repm.app.requests import DEFAULT_SCENARIO as DEFAULT
from repm.cli import render
from repm.cli.render import err, note, out
from repm.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="repm — plan and stress-test India's sintered NdFeB magnet supply chain, every number cited.",
    pretty_exceptions_enable=False,
)

# --- options shared by commands: declared once ------------------------------------------------

ScenarioArg = Annotated[str, typer.Argument(help="Shipped scenario name or path to a YAML file.")]
SetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045  (typer needs Optional here)
    typer.Option("--set", help="Override a field: PATH=VALUE (YAML scalar). Repeatable."),
]
AltOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--alternative",
        help="Weigh another scenario with the one asked for: NAME=WEIGHT (it keeps the rest). "
        "Repeatable.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (the shared shape).")]
OutOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--out", help="Write the run folder here (must not exist)."),
]
PlanOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--plan", help="Simulate this saved plan (from `repm plan --save-plan`)."),
]
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


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, default=float) + "\n")


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
    scenario: ScenarioArg = DEFAULT,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
    step: Annotated[str, typer.Option(help="Engine time step: monthly or yearly.")] = "monthly",
    by_sector: Annotated[
        bool, typer.Option("--by-sector", help="Also print demand and unmet by sector.")
    ] = False,
    plan_file: PlanOpt = None,
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger", help="Also print supply-risk indicators and the environmental ledger."
        ),
    ] = False,
    basket: Annotated[
        bool,
        typer.Option(
            "--basket",
            help="Also print monazite's whole basket: REO mined, chloride, co-products, phosphate.",
        ),
    ] = False,
) -> None:
    """Simulate a scenario and print its headline indicators by year (and its routes, if any)."""
    from repm.app import RunRequest
    from repm.app import run as do

    done = do(RunRequest(scenario=scenario, sets=set_ or (), out=out_dir, step=step,
                         plan_file=plan_file))  # fmt: skip
    if json_out:
        return _emit(done.payload)
    render.run(done, by_sector=by_sector, ledger=ledger, basket=basket)


@app.command()
def risk(
    scenario: ScenarioArg = DEFAULT,
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
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
    plan_file: PlanOpt = None,
) -> None:
    """Monte Carlo of export controls and outages: shortage probability, unmet demand, CVaR."""
    from repm.app import RiskRequest
    from repm.app import risk as do

    req = RiskRequest(
        scenario=scenario, sets=set_ or (), draws=draws, seed=seed, chunk=chunk,
        scheduler=scheduler, workers=workers, out=out_dir, plan_file=plan_file,
    )  # fmt: skip
    prog, advance = render.progress(draws, "draws")
    with prog:
        done = do(req, advance)
    if json_out:
        return _emit(done.payload)
    render.risk(done)


@app.command()
def stockpile(
    scenario: ScenarioArg = DEFAULT,
    set_: SetOpt = None,
    service_level: Annotated[
        float, typer.Option("--service-level", help="Required P(no shortage over the horizon).")
    ] = 0.95,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            help="t a year of unmet demand that does not count as a shortage (0: any).",
        ),
    ] = 0.0,
    draws: DrawsOpt = 2_000,
    seed: SeedOpt = 0,
    chunk: ChunkOpt = 2_000,
    scheduler: SchedOpt = None,
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
) -> None:
    """Smallest-holding-cost magnet stockpile meeting a service level (common random numbers)."""
    from repm.app import StockpileRequest
    from repm.app import stockpile as do

    req = StockpileRequest(
        scenario=scenario, sets=set_ or (), service_level=service_level, tolerance=tolerance,
        draws=draws, seed=seed, chunk=chunk, scheduler=scheduler, out=out_dir,
    )  # fmt: skip
    prog, advance = render.progress(0, "draws simulated (all candidates)")
    with prog:
        done = do(req, advance)
    if json_out:
        return _emit(done.payload)
    render.stockpile(done)


@app.command()
def plan(
    scenario: ScenarioArg = DEFAULT,
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
        Optional[Path],  # noqa: UP045
        typer.Option("--save-plan", help="Write the plan as YAML for `run/risk --plan`."),
    ] = None,
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
    units: Annotated[
        bool,
        typer.Option(
            "--units", help="Build whole scheme units: 600–1,200 t/yr in 100 t steps (MILP)."
        ),
    ] = False,
) -> None:
    """Least-cost build-out, sourcing and stockpile (linopy + HiGHS), optionally under risk."""
    from repm.app import PlanRequest
    from repm.app import plan as do

    done = do(
        PlanRequest(
            scenario=scenario, sets=set_ or (), scenarios=scenarios, seed=seed, cvar=cvar,
            cvar_alpha=cvar_alpha, units=units, save_plan=save_plan, out=out_dir,
        )
    )  # fmt: skip
    if json_out:
        return _emit(done.payload)
    render.plan(done, cvar=cvar, units=units, save_plan=save_plan, scenarios=scenarios)


@app.command()
def finance(
    scenario: ScenarioArg = DEFAULT,
    set_: SetOpt = None,
    unit: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--unit", help="Value one unit of this capacity (t/yr) instead of the scenario's units."
        ),
    ] = None,
    sli_bid: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--sli-bid", help="SLI bid, e.g. '1800 INR/kg'."),
    ] = None,
    breakeven: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--breakeven", help="Solve NPV = 0 for: sli or price."),
    ] = None,
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
        typer.Option(
            "--price",
            help="Revenue price: grade (each grade's price from oxide prices), china (the same "
            "grades from China, landed) or reference (the scheme's ₹/kg for every grade).",
        ),
    ] = "grade",
    currency: Annotated[
        str, typer.Option("--currency", help="Report in INR (crore) or USD (million).")
    ] = "INR",
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
) -> None:
    """Does a unit pay under the scheme, and what does the scheme cost the treasury?"""
    from repm.app import FinanceRequest
    from repm.app import finance as do

    done = do(
        FinanceRequest(
            scenario=scenario, sets=set_ or (), unit=unit, sli_bid=sli_bid, breakeven=breakeven,
            sensitivity=sensitivity, montecarlo=montecarlo, seed=seed, price=price,
            currency=currency, out=out_dir,
        )
    )  # fmt: skip
    if json_out:
        return _emit(done.payload)
    render.finance(done)


# the other commands register themselves on `app` when imported: facts, explain, …, report,
# compare, serve (more); sensitivity, uncertainty; voi
from repm.cli import more, uncertainty, voi  # noqa: E402, F401


def command():
    """The click command typer builds from `app` (~0.2 s a build): built once per process, and in
    the resident process (repm.resident) once for all its commands."""
    if not _COMMAND:
        _COMMAND.append(typer.main.get_command(app))
    return _COMMAND[0]


_COMMAND: list = []


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        code = command()(standalone_mode=False)
        # without standalone mode typer answers Ctrl-C (and an explicit exit) with the exit code
        if isinstance(code, int) and not isinstance(code, bool) and code:
            if code == 130:
                err.print("interrupted", highlight=False, markup=False)
            sys.exit(code)
    except UserError as exc:
        err.print(f"error: {render.safe(exc)}", highlight=False, markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C (click turns it into Abort), at any time
        err.print("interrupted", highlight=False, markup=False)
        sys.exit(130)
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
            f"internal error: {type(exc).__name__}: {render.safe(exc)} (rerun with --debug for "
            "the traceback)",
            markup=False,
            highlight=False,
        )
        sys.exit(1)


__all__ = ["app", "main", "note", "serve"]
from repm.cli.more import serve  # noqa: E402  (`repm.cli.serve`, as before)
