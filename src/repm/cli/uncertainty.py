"""`repm sensitivity` and `repm uncertainty` (registered on the same typer app as run, risk, …):
parse, build a request, call repm.app, render. docs/uncertainty.md."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from repm.cli import (
    DEFAULT,
    AltOpt,
    JsonOpt,
    OutOpt,
    ScenarioArg,
    SchedOpt,
    SeedOpt,
    SetOpt,
    _emit,
    app,
    render,
)  # fmt: skip
from repm.cli.render import out

StepOpt = Annotated[
    str, typer.Option(help="Engine time step of run indicators: monthly or yearly.")
]
WorkersOpt = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--workers",
        help="Processes evaluating the samples (default: every CPU for 256 or more; 1: this one).",
    ),
]


@app.command()
def sensitivity(
    output: Annotated[
        str,
        typer.Argument(
            help="unit_npv; expected_unmet, p_shortage or cvar95_unmet (with the shock model, "
            "--draws per sample); or an indicator of `repm run` (with --year)."
        ),
    ],
    year: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--year", help="The indicator's year (not for unit_npv)."),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="sobol (first and total order) or morris (screening).")
    ] = "sobol",
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            help="Base samples (Sobol: a power of 2, N·(k+2) evaluations; Morris: trajectories).",
        ),
    ] = 64,
    group: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--group",
            help="Comma-separated groups to vary (prices, yields, demand, grades, finance, trade, "
            "supply, a fact file, source:ID or a fact id); default: every topic.",
        ),
    ] = None,
    by_fact: Annotated[
        bool, typer.Option("--by-fact", help="Rank each fact, not each group.")
    ] = False,
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            help="Shock draws per sample for the risk outputs (the same for every sample).",
        ),
    ] = 200,
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Scenario name or file.")
    ] = DEFAULT,
    set_: SetOpt = None,
    seed: SeedOpt = 0,
    step: StepOpt = "monthly",
    workers: WorkersOpt = None,
    scheduler: SchedOpt = None,
    alternative: AltOpt = None,
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
) -> None:
    """Which facts drive an output: Sobol indices with confidence intervals, or Morris screening."""
    from repm.app import SensitivityRequest
    from repm.app import sensitivity as do

    req = SensitivityRequest(
        scenario=scenario, sets=set_ or (), output=output, year=year, method=method,
        samples=samples, seed=seed, groups=tuple(group.split(",")) if group else (),
        by_fact=by_fact, step=step, out=out_dir, draws=draws, workers=workers,
        scheduler=scheduler, alternatives=tuple(alternative or ()),
    )  # fmt: skip
    prog, advance = render.progress(0, "evaluations")
    with prog:
        done = do(req, advance)
    if json_out:
        return _emit(done.payload)
    _render_sensitivity(done)


def _render_sensitivity(done) -> None:
    p = done.payload
    when = f" {p['year']}" if p["year"] is not None else ""
    title = (
        f"repm sensitivity · {p['scenario']} · {p['output']}{when} [{p['unit']}] · "
        f"{p['method']}, {p['samples']} samples"
    )
    t = Table(title=title, header_style="bold")
    t.add_column("factor")
    if p["method"] == "sobol":
        for c in ("S1", "± 95%", "ST", "± 95% "):
            t.add_column(c, justify="right")
        for r in p["indices"]:
            t.add_row(_label(r), f"{r['S1']:.3f}", f"{r['S1_conf']:.3f}", f"{r['ST']:.3f}",
                      f"{r['ST_conf']:.3f}")  # fmt: skip
    else:
        for c in ("mu*", "± 95%", "sigma"):
            t.add_column(c, justify="right")
        for r in p["indices"]:
            t.add_row(_label(r), f"{r['mu_star']:,.4g}", f"{r['mu_star_conf']:,.2g}",
                      f"{r['sigma']:,.4g}")  # fmt: skip
    out.print(t)
    d = p["distribution"]
    render.note(
        f"{p['output']}{when} over the samples: P5 {d['p05']:,.4g} · P50 {d['p50']:,.4g} · "
        f"P95 {d['p95']:,.4g} · mean {d['mean']:,.4g} {p['unit']} · {p['evaluations']:,} "
        f"evaluations, {p['seconds_per_evaluation']:.3f} s each · {p['inputs']} uncertain facts"
    )
    for w in p["warnings"]:
        render.note(f"warning: {w}")
    if p["run_id"]:
        render.note(f"run {p['run_id']} → {done.path}")


def _label(r: dict) -> str:
    facts = r.get("facts")
    if not facts:
        return r["fact"]
    shown = ", ".join(facts[:3]) + (f", … ({len(facts)})" if len(facts) > 3 else "")
    return f"{r['fact']} ({shown})"


@app.command()
def uncertainty(
    scenario: ScenarioArg = DEFAULT,
    set_: SetOpt = None,
    samples: Annotated[int, typer.Option("--samples", help="Draws of every uncertain fact.")] = 200,
    seed: SeedOpt = 0,
    step: StepOpt = "monthly",
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            help="Shock draws per sample: adds the expected unmet demand with the shock model "
            "on (0: none).",
        ),
    ] = 0,
    workers: WorkersOpt = None,
    scheduler: SchedOpt = None,
    alternative: AltOpt = None,
    versus: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--versus",
            help="Another scenario run on the same samples of the facts: each answer's "
            "difference sample by sample, and how often it is higher (twice the work).",
        ),
    ] = None,
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
) -> None:
    """P5/P50/P95 and mean of the headline indicators by year, over draws of every uncertain fact."""
    from repm.app import UncertaintyRequest
    from repm.app import uncertainty as do

    req = UncertaintyRequest(
        scenario=scenario, sets=set_ or (), samples=samples, seed=seed, step=step, draws=draws,
        out=out_dir, workers=workers, scheduler=scheduler, alternatives=tuple(alternative or ()),
        versus=versus,
    )  # fmt: skip
    prog, advance = render.progress(samples * (2 if draws else 1), "evaluations")
    with prog:
        done = do(req, advance)
    if json_out:
        return _emit(done.payload)
    _render_uncertainty(done)


TABLE_YEARS = 5  # years the table shows, evenly spaced over the horizon (--json: every year)


def shown_years(years: list[int], k: int = TABLE_YEARS) -> list[int]:
    """At most k of the years, evenly spaced, the first and the last among them."""
    if len(years) <= k:
        return list(years)
    return sorted({years[round(i * (len(years) - 1) / (k - 1))] for i in range(k)})


def _render_uncertainty(done) -> None:
    from rich.markup import escape

    from repm.analyses.uncertainty.evaluate import JOINT
    from repm.results.indicators import get

    p = done.payload
    names = done.tables["names"]
    by = {(r["name"], r["year"], r["stat"]): r["value"] for r in p["indicators"]}
    years = sorted({r["year"] for r in p["indicators"] if r["name"] != "unit_npv"})
    shown = shown_years(years)
    t = Table(
        title=f"repm uncertainty · {p['scenario']} · {p['samples']} samples, seed {p['seed']} · "
        "P50 (P5–P95)",
        header_style="bold",
        caption=None
        if shown == years
        else f"{len(shown)} of {len(years)} years; --json: every year",
    )
    t.add_column("indicator")
    for y in shown:
        t.add_column(str(y), justify="right")
    for n in names:  # an indicator a row: a table of a dozen indicators × years fits a terminal
        ind = get(n)
        f = ind.format
        t.add_row(
            escape(f"{ind.label} [{ind.unit}]"),  # [t] is not rich markup
            *(
                f"{f(by[(n, y, 'p50')])}\n({f(by[(n, y, 'p05')])}–{f(by[(n, y, 'p95')])})"
                for y in shown
            ),
        )
    out.print(t)
    if JOINT in names:  # the tail a stockpile is sized against: both spreads at once
        worst = max(years, key=lambda y: (by[(JOINT, y, "p95")], -y))
        j = lambda s: by[(JOINT, worst, s)]  # noqa: E731
        e = lambda s: by[("expected_unmet", worst, s)]  # noqa: E731
        render.note(
            f"unmet demand, facts and shocks together ({p['samples']} samples × {p['draws']} "
            f"shock draws): P95 {j('p95'):,.0f} t in {worst} (P50 {j('p50'):,.0f} t, mean "
            f"{j('mean'):,.0f} t), a shortage in {by[('p_shortage', worst, 'mean')]:.0%} of them; "
            f"the facts alone move its expected value {e('p05'):,.0f}–{e('p95'):,.0f} t (P5–P95)"
        )
    if p["unit_npv"]:
        u = p["unit_npv"]
        render.note(
            f"unit {u['unit_id']} NPV: P50 {u['p50']:,.0f} (P5 {u['p05']:,.0f} – P95 "
            f"{u['p95']:,.0f}) crore INR, mean {u['mean']:,.0f}; P(NPV > 0) {u['p_positive']:.0%}"
        )
    if p.get("structure"):
        _render_structure(p["structure"], names, shown)
    if p.get("versus"):
        _render_versus(p["versus"], p["scenario"], names, shown)
    render.note(
        f"{p['inputs']} uncertain facts drawn · {p['evaluations']:,} evaluations, "
        f"{p['seconds_per_evaluation']:.3f} s each"
        + (f" · run {p['run_id']} → {done.path}" if p["run_id"] else "")
    )


def _render_structure(st: dict, names: list[str], shown: list[int]) -> None:
    """Which scenario: each one's weight and samples, and per indicator the share of the spread
    the choice of scenario explains, with the mean under each."""
    from rich.markup import escape

    from repm.results.indicators import get

    scen = st["scenarios"]
    render.note(
        "scenario drawn per sample: "
        + ", ".join(f"{s['name']} {s['weight']:.0%} ({_samples(s['samples'])})" for s in scen)
    )
    by = {(r["name"], r["year"]): r for r in st["variance_share"]}
    t = Table(
        title="what the choice of scenario explains · share of the spread (mean under "
        + " / ".join(s["name"] for s in scen) + ")",
        header_style="bold",
        caption="dim: not above its chance level (the share the same samples read with the "
        "scenarios shuffled among them, topped by chance about once in fifty)",
    )
    t.add_column("indicator")
    for y in shown:
        t.add_column(str(y), justify="right")
    for n in names:
        if (n, shown[0]) not in by:
            continue
        ind = get(n)
        cells = []
        for y in shown:
            r = by[(n, y)]
            means = " / ".join("–" if v is None else ind.format(v) for v in r["means"].values())
            cell = f"{r['share']:.0%}\n({means})"
            cells.append(cell if r["share"] > r["floor"] else f"[dim]{cell}[/dim]")
        t.add_row(escape(f"{ind.label} [{ind.unit}]"), *cells)
    out.print(t)
    if "unit_npv" in st:
        u = st["unit_npv"]
        chance = "" if u["share"] > u["floor"] else " (not above its chance level)"
        render.note(
            f"unit NPV: {u['share']:.0%} of its spread from the scenario{chance}; mean "
            + " / ".join(f"{v:,.0f}" for v in u["means"].values() if v is not None)
            + " crore INR, P(NPV > 0) "
            + " / ".join(f"{v:.0%}" for v in u["p_positive"].values() if v is not None)
        )
    if "unit_npv_missing" in st:
        render.note(st["unit_npv_missing"])


def _render_versus(v: dict, base: str, names: list[str], shown: list[int]) -> None:
    """`--versus`: per indicator the difference other − base sample by sample, P50 (P5–P95), and
    the share of samples in which the other's answer is higher (↑) or lower (↓)."""
    from rich.markup import escape

    from repm.results.indicators import get

    by = {(r["name"], r["year"]): r for r in v["rows"]}
    t = Table(
        title=f"{v['scenario']} − {base}, sample by sample (the same draws of every fact) · "
        "Δ P50 (P5–P95) · in how many samples higher ↑ / lower ↓",
        header_style="bold",
    )
    t.add_column("indicator")
    for y in shown:
        t.add_column(str(y), justify="right")
    for n in names:
        if (n, shown[0]) not in by:
            continue
        ind = get(n)
        # a share's difference in percentage points, not a relative change
        f = (lambda x: f"{100 * x:,.1f} pts") if ind.unit == "fraction" else ind.format
        cells = []
        for y in shown:
            r = by[(n, y)]
            if r["p_higher"] == r["p_lower"] == 0.0:
                cells.append("[dim]the same[/dim]")
                continue
            cells.append(f"{f(r['p50'])}\n({f(r['p05'])}–{f(r['p95'])})\n"
                         f"↑{r['p_higher']:.0%} ↓{r['p_lower']:.0%}")  # fmt: skip
        t.add_row(escape(f"{ind.label} [{ind.unit}]"), *cells)
    out.print(t)
    u = v.get("unit_npv")
    if u and u["p_higher"] == u["p_lower"] == 0.0:
        render.note(f"unit NPV: the same in {v['scenario']} in every sample")
    elif u:
        render.note(
            f"unit NPV, {v['scenario']} − {base}: Δ P50 {u['p50']:,.0f} (P5 {u['p05']:,.0f} – "
            f"P95 {u['p95']:,.0f}) crore INR, higher in {u['p_higher']:.0%} of samples; P(NPV > "
            f"0) {u['p_positive_base']:.0%} → {u['p_positive_other']:.0%}"
        )
    if v.get("unit_npv_missing"):
        render.note(v["unit_npv_missing"])


def _samples(k: int) -> str:
    return f"{k} sample" if k == 1 else f"{k} samples"
