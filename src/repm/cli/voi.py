"""`repm voi DECISION` (registered on the same typer app as run, risk, …): parse, build a
request, call repm.app, render. docs/uncertainty.md, "Value of information"."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from repm.cli import DEFAULT, AltOpt, JsonOpt, OutOpt, SeedOpt, SetOpt, _emit, app, render
from repm.cli.render import out

TOP = 12  # EVPPI rows shown (all are in --json)
SHOWN = 0.05  # crore INR: rows worth less are counted, not shown


@app.command()
def voi(
    decision: Annotated[
        str,
        typer.Argument(
            help="unit (build a scheme unit or not), stockpile (how much to hold) or plan "
            "(how much capacity to build)."
        ),
    ],
    samples: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--samples",
            help="Parameter samples (default: unit 100, stockpile 16, plan 40; each is a full run).",
        ),
    ] = None,
    unit: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--unit", help="unit: a hypothetical unit of this capacity, t/yr."),
    ] = None,
    service_level: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--service-level", help="stockpile: P(no shortage) to size for (0.95)."),
    ] = None,
    draws: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--draws", help="stockpile: shock draws per evaluation (800)."),
    ] = None,
    scenarios: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--scenarios", help="plan: shock scenarios in the planner (0)."),
    ] = None,
    cvar: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--cvar", help="plan: weight of CVaR in the planner's objective (0)."),
    ] = None,
    sizes: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--sizes",
            help="stockpile: the options are these multiples of the stockpile sized at central "
            "values, comma-separated (e.g. 0,0.5,1,2; 0: none), valued in every sample — one "
            "search instead of one a sample, so ~20× more samples in the same time.",
        ),
    ] = None,
    group: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--group",
            help="Comma-separated extra EVPPI rows (a fact file, source:ID, fact ids) beside "
            "every fact and topic.",
        ),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Scenario name or file.")
    ] = DEFAULT,
    set_: SetOpt = None,
    seed: SeedOpt = 0,
    alternative: AltOpt = None,
    json_out: JsonOpt = False,
    out_dir: OutOpt = None,
) -> None:
    """What knowing each fact before deciding is worth: EVPI and EVPPI in crore INR."""
    from repm.app.voi import VoiRequest
    from repm.app.voi import voi as do

    req = VoiRequest(
        scenario=scenario, sets=set_ or (), decision=decision, samples=samples, seed=seed,
        unit=unit, service_level=service_level, draws=draws, scenarios=scenarios, cvar=cvar,
        sizes=sizes, groups=tuple(group.split(",")) if group else (), out=out_dir,
        alternatives=tuple(alternative or ()),
    )  # fmt: skip
    prog, advance = render.progress(req.steps, "samples")
    with prog:
        done = do(req, advance)
    if json_out:
        return _emit(done.payload)
    _render(done)


def _money(v: float) -> str:
    return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"


def _render(done) -> None:
    p = done.payload
    t = Table(
        title=f"repm voi {p['decision']} · {p['scenario']} · {p['samples']} samples, seed "
        f"{p['seed']} · EVPI {_money(p['evpi'])} crore INR (90% bootstrap "
        f"{_money(p['evpi_interval'][0])}–{_money(p['evpi_interval'][1])})",
        header_style="bold",
    )
    t.add_column("")
    t.add_column("fact or topic")
    t.add_column("grade")
    t.add_column("EVPPI\n[crore INR]", justify="right")
    t.add_column("chance\nlevel", justify="right")
    shown = [r for r in p["evppi"] if r["value"] >= SHOWN][:TOP]
    for r in shown:
        label = (
            r["fact"] if r["kind"] == "fact"
            else f"{r['fact']} ({' or '.join(r['facts'])})" if r["kind"] == "structure"
            else f"{r['fact']} ({len(r['facts'])} facts)"
        )  # fmt: skip
        t.add_row("▶" if r["flag"] else "", label, r["grade"], _money(r["value"]),
                  _money(r["floor"]))  # fmt: skip
    if shown:
        out.print(t)
    else:
        out.print(t.title)
    rest = len(p["evppi"]) - len(shown)
    if not shown:
        render.note(
            f"no fact or topic is worth ₹{SHOWN} crore or more to know before deciding: the "
            "same option is best in (nearly) every sample"
        )
    elif rest:
        render.note(
            f"{rest} more facts and topics, "
            + ("each worth less than ₹0.05 crore" if len(shown) < TOP else "smaller")
            + " to know, not shown (--json has every row)"
        )
    c = p["choice"]
    if p.get("structure"):
        row = next(r for r in p["evppi"] if r["kind"] == "structure")
        render.note(
            "scenario drawn per sample: " + "; ".join(
                f"{x['name']} {x['weight']:.0%} ({x['samples']} sample"
                f"{'' if x['samples'] == 1 else 's'}), best in expectation there: "
                f"{_option(x['expected_best'])}" for x in p["structure"]["scenarios"]
            ) + f" · knowing which before deciding: ₹{_money(row['value'])} crore (chance level "
            f"{_money(row['floor'])}) · 'at central values' below: {p['scenario']}'s"
        )  # fmt: skip
    if p["decision"] == "unit":
        n, b, r = p["npv"], p["breakeven_price"], p["breakeven_over_price"]
        be0 = p["breakeven_price_central"]
        render.note(
            f"unit {p['unit_id']} ({p['capacity']:,.0f} t/yr): NPV at central values "
            f"{p['npv_central']:,.0f} crore INR; over the samples P50 {n['p50']:,.0f} (P5 "
            f"{n['p05']:,.0f} – P95 {n['p95']:,.0f}), P(NPV > 0) {p['p_npv_positive']:.0%}"
        )
        if b["n"]:
            render.note(
                f"breakeven price (₹/kg, first production year): P50 {b['p50']:,.0f} (P5 "
                f"{b['p05']:,.0f} – P95 {b['p95']:,.0f}); at central values "
                + (f"{be0:,.0f}" if be0 is not None else "none")
                + f" against a price of {p['price_central']:,.0f}; breakeven ÷ the sample's "
                f"price P50 {r['p50']:.2f} (P5 {r['p05']:.2f} – P95 {r['p95']:.2f})"
            )
        render.note(
            f"decision at central values: {c['at_central']}; best in expectation: "
            f"{c['expected_best']}; the sample's own best differs from the central one in "
            f"{c['changed']} of {p['samples']} ({c['share_changed']:.0%})"
        )
    elif p.get("sizes"):
        _render_sizes(p, c)
    else:
        what = "stockpile" if p["decision"] == "stockpile" else "build-out"
        sized = c.get("sized_options", len(c["options"]))  # the rest: holding none
        render.note(
            f"the {what} chosen in each sample differs from the one at central values in "
            f"{c['changed']} of {p['samples']} ({c['share_changed']:.0%}; "
            f"{c['changed_means']}); {sized} options valued in every sample"
            + (
                f" (of {c['distinct']} distinct choices: the central one and others spread by "
                "size: EVPI is over these options, and a finer set could move it either way)"
                if c["distinct"] > sized
                else ""
            )
            + (", and holding none" if len(c["options"]) > sized else "")
        )
        if p["decision"] == "stockpile":
            s = p["stockpile_total"]
            render.note(
                f"stockpile sized per sample, all materials: P50 {s['p50']:,.0f} t (P5 "
                f"{s['p05']:,.0f} – P95 {s['p95']:,.0f}); at central values "
                f"{sum(c['at_central'].values()):,.0f} t · net benefit {p['net_benefit']}"
            )
            held = {m: v for m, v in c["expected_best"].items() if v > 0}
            render.note(
                "best in expectation over the samples (holding none is an option): "
                + (", ".join(f"{m} {v:,.1f} t" for m, v in held.items()) if held else "none")
            )
            if p["not_attainable"] or not p["attainable_central"]:
                render.note(
                    f"the service level is not attainable with stockpiles in "
                    f"{p['not_attainable']} of {p['samples']} samples"
                    + ("" if p["attainable_central"] else " nor at central values")
                    + ": there the stockpile is the least-cost one reaching the most any can "
                    "(`repm stockpile` says why)"
                )
        else:
            s = p["capacity_last_year"]
            render.note(
                f"capacity added by the last year, per sample: P50 {s['p50']:,.0f} t/yr (P5 "
                f"{s['p05']:,.0f} – P95 {s['p95']:,.0f}); at central values "
                f"{p['capacity_central_last_year']:,.0f} · net benefit {p['net_benefit']}"
            )
    if p["decision"] != "unit":
        render.note(
            f"a small sample ({p['samples']}, {p['seconds_per_sample']:.1f} s each): EVPI is "
            f"somewhere in {_money(p['evpi_interval'][0])}–{_money(p['evpi_interval'][1])} "
            f"crore INR (90% bootstrap over {p.get('evpi_interval_resamples', 'samples')}), "
            "and an EVPPI below the chance level cannot be told "
            "from zero" + _larger(p)
        )
    render.note(
        f"EVPI = E[best option knowing everything] − best option in expectation; EVPPI by "
        f"regression ({p['smoother']}); chance level: the largest value among the same facts "
        f"shuffled against the net benefit (so that none matters), exceeded by chance in ≤ 1 try "
        f"in 50 · ▶ = weak grade (C, assumption) with ≥ 10% of EVPI above chance: "
        f"the research to do next · {p['inputs']} uncertain facts · "
        f"{p['seconds_per_sample']:.2f} s per sample"
    )
    if p["groups_not_estimated"]:
        render.note(
            f"topics with too many facts for {p['samples']} samples, not estimated: "
            + ", ".join(p["groups_not_estimated"])
        )
    if p["run_id"]:
        render.note(f"run {p['run_id']} → {done.path}")


def _render_sizes(p: dict, c: dict) -> None:
    """`voi stockpile --sizes`: each multiple's expected net benefit and how often it is a
    sample's own best, the best in expectation and at central values."""
    base = p["sized_central"]
    t = Table(
        title=f"options: multiples of the stockpile sized at central values for "
        f"{p['service_level']:.0%} ({_option(base)}; {sum(base.values()):,.0f} t)",
        header_style="bold",
    )
    for col, just in (("×", "right"), ("stockpile", "left"),
                      ("expected net benefit\n[crore INR]", "right"),
                      ("best in\nsamples", "right"), ("best at\ncentral values", "left")):  # fmt: skip
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for k, o, v, share in zip(c["multiples"], c["options"], c["expected_nb"], c["best_share"],
                              strict=True):  # fmt: skip
        t.add_row(f"{k:g}", _option(o), _money(v), f"{share:.0%}",
                  "yes" if o == c["at_central"] else "")  # fmt: skip
    out.print(t)
    reach = (
        "" if p["attainable_central"] else "the service level is not attainable at central "
        "values: ×1 is the least-cost stockpile reaching the most any can · "
    )  # fmt: skip
    render.note(
        f"best in expectation over the samples: {_option(c['expected_best'])}; at central "
        f"values: {_option(c['at_central'])}; a sample's own best is another than the central "
        f"one in {c['changed']} of {p['samples']} ({c['share_changed']:.0%}) · net benefit "
        f"{p['net_benefit']} · {reach}the stockpile is sized once, at central values (without "
        "--sizes, again in each sample)"
    )


def _option(o) -> str:
    """An option as the payload gives it: a name (unit), {material: t} (stockpile) or
    {year: t/yr} (plan: the last year's)."""
    if o is None or isinstance(o, str):
        return str(o)
    if all(isinstance(k, int) for k in o):
        return f"{list(o.values())[-1]:,.0f} t/yr added by {max(o)}"
    held = {m: v for m, v in o.items() if v > 0}
    return ", ".join(f"{m} {v:,.1f} t" for m, v in held.items()) if held else "none"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _larger(p: dict) -> str:
    """What a larger sample would cost: ×4 halves the intervals, within the decision's cap."""
    from repm.app.voi import MAX_SAMPLES

    n = min(4 * p["samples"], MAX_SAMPLES[p["decision"]])
    if n <= p["samples"]:
        return ""
    cost = _minutes(n * p["seconds_per_sample"])
    width = (n / p["samples"]) ** -0.5  # intervals narrow as 1/√samples
    return f"; --samples {n} would narrow both to ~{width:.0%} of their width (~{cost})"
