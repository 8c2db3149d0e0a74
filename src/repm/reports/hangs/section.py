"""Everything a run's scenario hangs on, gathered from the store: the report's section "What this
answer hangs on", the dashboard's figures, and the small default sensitivity run `repm report`
makes when the scenario has none stored."""

from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go

from repm.reports.hangs.sensitivity import (
    Indices,
    drivers_text,
    read_indices,
    sensitivity_runs,
    sobol_bars,
)
from repm.reports.hangs.stored import OTHER, latest_risk
from repm.reports.hangs.uncertainty import (
    UNMET_DRAWS,
    Spread,
    latest_spread,
    parameter_fan,
    unmet_band,
    unmet_fans,
    unmet_missing,
)
from repm.reports.hangs.voi import Voi, evppi_bars, grades, latest_voi, verdict
from repm.results.store import RunData

# what `repm report` computes when the scenario has no stored sensitivity run
DEFAULT_OUTPUT = "unit_npv"
DEFAULT_SAMPLES = 4


@dataclass(frozen=True)
class HangsOn:
    indices: list[Indices]
    spread: Spread | None
    risk: RunData | None
    voi: list[Voi]
    scenario: str


def gather(run: RunData, computed: str | None = None) -> HangsOn:
    """What the run's scenario hangs on, from the store (and the run itself when it is a
    sensitivity, uncertainty or voi run)."""
    scenario, h = run.meta.get("scenario"), run.meta.get("scenario_hash")
    indices = sensitivity_runs(scenario, h, computed=computed)
    if run.meta.get("command") == "sensitivity":
        own = read_indices(run)
        if own is not None:
            indices = [own] + [i for i in indices if (i.output, i.year) != (own.output, own.year)]
    return HangsOn(indices, latest_spread(run), latest_risk(run), latest_voi(run), str(scenario))


def figures(run: RunData, computed: str | None = None) -> dict[str, go.Figure]:
    """The section's figures by key (for the dashboard): hangs_0 … (Sobol bars), params (the
    parameter fan), unmet (unmet demand's parameter fan and the shock fan on one axis, when the
    uncertainty run was made with shock draws) or else shocks (the shock fan beside the parameter
    fan, its note saying what to run for unmet demand's), evppi_<decision>."""
    return _figures(run, gather(run, computed))


def _figures(run: RunData, h: HangsOn) -> dict[str, go.Figure]:
    from repm.reports.figures import risk_fan

    figs: dict[str, go.Figure] = {}
    for i, ix in enumerate(h.indices):
        figs[f"hangs_{i}"] = sobol_bars(ix)
    if h.spread is not None:
        fan = parameter_fan(h.spread, run)
        if fan is not None:
            figs["params"] = fan
    same_risk = h.risk is None or h.risk.meta.get("scenario_hash") == run.meta.get("scenario_hash")
    if unmet_band(h.spread) is not None:  # one axis: the facts' fan and the shocks'
        other = not same_risk or not h.spread.same_settings
        figs["unmet"] = unmet_fans(h.spread, h.risk, other)
    elif h.risk is not None:
        shock = risk_fan(h.risk)
        if shock is not None:
            shock.update_layout(
                title={"text": f"Shocks: unmet demand over the draws (run {h.risk.run_id})"
                       + ("" if same_risk else OTHER),
                       "subtitle": {"text": unmet_missing(h.spread, h.scenario)}},
                margin={"t": 100},
            )  # fmt: skip
            figs["shocks"] = shock
    for v in h.voi:
        if v.ranking:
            figs[f"evppi_{v.decision}"] = evppi_bars(v)
    return figs


def section_html(run: RunData, div, computed: str | None = None) -> str:
    """The report's section "What this answer hangs on"; `div(fig, key)` renders a figure."""
    h = gather(run, computed)
    figs = _figures(run, h)
    e = html.escape
    sc = e(h.scenario)
    out = [
        "<p class='note'>Which facts each answer hangs on (global sensitivity: the share of the "
        "answer's variance over the facts' uncertainty ranges that each group of facts carries), "
        "how wide the answers are over those ranges, and what pinning a fact down before deciding "
        "is worth. See docs/uncertainty.md.</p>"
    ]
    if not h.indices:
        out.append(
            f"<p class='note'>No sensitivity run of {sc} is stored: "
            "<code>repm sensitivity unit_npv</code> (or an indicator with <code>--year</code>) "
            "ranks the facts it hangs on; <code>repm report</code> computes a small one.</p>"
        )
    for i, ix in enumerate(h.indices):
        if ix.computed:
            how = (
                f"computed for this report with a small default ({ix.method}, {ix.samples} base "
                f"samples, {ix.evaluations} evaluations) because no sensitivity run of {sc} was "
                f"stored; stored as run {e(ix.run_id)}. Too few samples to rank close factors: "
                f"<code>repm sensitivity {e(ix.output)} --samples 64</code> narrows the intervals"
            )
        else:
            how = (
                f"from the stored sensitivity run {e(ix.run_id)} ({ix.method}, {ix.samples} base "
                f"samples, {ix.evaluations} evaluations, {e(ix.created_at)} UTC"
                + ("" if ix.same_settings else f"; {sc} with other settings than this run's")
                + ")"
            )
        top = e(drivers_text(ix))
        warn = "".join(f"<br>warning: {e(w)}" for w in ix.warnings)
        out.append(
            f"<h3>{e(ix.label)}</h3><p class='note hangs-src'>{how}.</p>"
            f"<p class='hangs-top' data-output='{e(ix.output)}'>hangs on: {top}{warn}</p>"
            + div(figs[f"hangs_{i}"], f"hangs_{i}")
        )
    out.append("<h3>How wide the answers are: parameters beside shocks</h3>")
    if h.spread is None:
        out.append(
            f"<p class='note'>No <code>repm uncertainty</code> run of {sc} is stored: "
            "<code>repm uncertainty --samples 200</code> draws every uncertain fact and stores "
            "P5/P50/P95 by year.</p>"
        )
    else:
        npv = h.spread.rows[h.spread.rows["name"] == "unit_npv"]
        npv_text = ""
        if len(npv):
            st = dict(zip(npv["stat"], npv["value"], strict=False))
            if {"p05", "p50", "p95"} <= set(st):
                npv_text = (
                    f" First scheme unit's NPV: P50 {st['p50']:,.0f} (P5 {st['p05']:,.0f} – P95 "
                    f"{st['p95']:,.0f}) {e(str(npv['unit'].iloc[0]))}."
                )
        other = "" if h.spread.same_settings else f" ({sc} with other settings than this run's)"
        out.append(
            f"<p class='note'>Parameter fan from the stored uncertainty run {e(h.spread.run_id)}"
            f"{other}: P5–P95 over {h.spread.samples} samples of every uncertain fact; pick the "
            f"indicator at the top right.{npv_text}</p>"
        )
    if "unmet" in figs:
        out.append(
            "<p class='note' id='unmet-note'>Unmet demand on one axis, in t of magnets a year: "
            "the blue band is what we don't know about the facts (P5–P95 and P50 over the "
            "uncertainty run's samples of each sample's expected unmet demand over its shock "
            "draws), the red one what the shocks do (the risk run's percentiles over its draws "
            "at the facts' central values); the purple lines, where the run has them, are both "
            "at once (P95 and P50 of every sample's draws pooled): the tail a stockpile sized to "
            "a service level faces.</p>"
        )
    else:
        ran = "" if h.spread is None else f" run {e(h.spread.run_id)} was made without shock draws;"
        out.append(
            f"<p class='note' id='unmet-note'>Unmet demand has no parameter fan here:{ran} "
            f"<code>repm uncertainty {sc} --draws {UNMET_DRAWS}</code> adds each sample's expected "
            "unmet demand over that many shock draws, drawn on one axis with the shock fan.</p>"
        )
    row = [div(figs[k], k) for k in ("params", "shocks") if k in figs]
    if h.risk is None:
        row.append(
            f"<p class='note'>No risk run of {sc} is stored for the shock fan: <code>repm risk</code>.</p>"
        )
    out.append("<div style='display:flex;gap:1rem'>" + "".join(
        f"<div style='flex:1;min-width:0'>{r}</div>" for r in row) + "</div>")  # fmt: skip
    if "unmet" in figs:  # below, the width of the page: two bands, their legend and the note
        out.append(div(figs["unmet"], "unmet"))
    out.append("<h3>What is worth pinning down (EVPPI)</h3>")
    if not h.voi:
        out.append(
            "<p class='note' id='evppi-none'>No value-of-information run of this scenario is "
            "stored: run <code>repm voi unit</code> to rank what is worth pinning down.</p>"
        )
    for v in h.voi:
        evpi = f"EVPI {v.evpi:,.1f} {e(v.unit)}" if v.evpi is not None else "EVPI not stored"
        floor = (
            f"; chance level {v.noise_floor:,.1f} (as much as the facts get when shuffled "
            "against the answer)"
            if v.noise_floor
            else ""
        )
        shown = [r for r in v.ranking if round(r[1], 2) > 0][:12]
        graded = grades([f for f, _ in shown])
        rows = "".join(
            f"<tr><td>{k + 1}</td><td class='l'>{e(f)}</td><td class='l'>{e(graded.get(f, ''))}</td>"
            f"<td>{val:,.2f}</td><td class='l'>{verdict(val, v.noise_floor, graded.get(f))}</td></tr>"
            for k, (f, val) in enumerate(shown)
        )  # fmt: skip
        rest = len(v.ranking) - len(shown)
        tail = (
            f"<p class='note'>{rest} more facts and groups, worth less (or 0.00).</p>"
            if rest
            else ""
        )
        out.append(
            f"<p class='note'>Decision <b>{e(v.decision)}</b>, stored run {e(v.run_id)} "
            f"({v.samples} samples): {evpi}{floor}.</p>"
            f"<table class='evppi'><tr><th>#</th><th class='l'>fact or group</th><th class='l'>grade"
            f"</th><th>EVPPI [{e(v.unit)}]</th><th class='l'></th></tr>{rows}</table>{tail}"
            + (div(figs[f"evppi_{v.decision}"], f"evppi_{v.decision}") if v.ranking else "")
        )
    return "".join(out)


def has_sensitivity(run: RunData) -> bool:
    return run.meta.get("command") == "sensitivity" or bool(
        sensitivity_runs(run.meta.get("scenario"), run.meta.get("scenario_hash"))
    )


def default_request(run: RunData, samples: int):
    """The small Sobol run `repm report` makes when the scenario has none: the first scheme
    unit's NPV over the topic groups, else magnet imports in 2030 (or the horizon's last year)."""
    from repm.app.requests import SensitivityRequest
    from repm.scenario.load import validate_merged

    loaded = validate_merged(dict(run.scenario_raw), str(run.meta.get("source") or "stored run"))
    from repm.analyses.finance import unit_specs

    if loaded.scenario.scheme is not None and unit_specs(loaded.scenario):
        return SensitivityRequest(scenario=loaded, output=DEFAULT_OUTPUT, samples=samples)
    years = run.years
    year = 2030 if 2030 in years else years[-1]
    return SensitivityRequest(
        scenario=loaded, output="magnet_imports", year=year, samples=samples, step="yearly"
    )
