"""What an answer hangs on (issue 14 part 5): the stored sensitivity, uncertainty and value-of-
information runs of a scenario, read back for the report, the dashboard and `repm explain`.

Nothing here computes an index: a `repm sensitivity` run stores its indices as indicator rows
named sensitivity_S1, sensitivity_ST, … with the factor in the `channel` key; a `repm
uncertainty` run stores P5/P50/P95/mean rows with a `stat` key; a `repm voi` run stores voi_evpi
and voi_evppi rows (the fact or group in `channel`). They are read defensively: a run whose
rows or metadata are missing or of another shape is skipped, never an error.

Which runs: those of the same scenario, preferring the same settings (the scenario hash: the
same overrides) over the same scenario name with other settings, newest first. For each
(output, year) the latest Sobol run is shown.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from repm.results.store import RunData, find_runs, read_indicators

OTHER = " · other settings than this run's"  # a figure from a run of the scenario's other settings
MAX_ANSWERS = 8  # sensitivity answers shown (latest first)
TOP = 3  # drivers named by `repm explain`
FAN_FIRST = ("magnet_imports", "self_sufficiency", "magnet_production_domestic")
# what `repm report` computes when the scenario has no stored sensitivity run
DEFAULT_OUTPUT = "unit_npv"
DEFAULT_SAMPLES = 4


# --- reading the store --------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A stored run found for a scenario: its id, folder, metadata and whether its settings are
    the asking run's (same scenario hash) or only its scenario name."""

    run_id: str
    path: Path
    meta: dict
    same_settings: bool


def _meta(path: Path) -> dict | None:
    try:
        meta = json.loads((Path(path) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def stored_runs(command: str, scenario: str | None, scenario_hash: str | None) -> list[Stored]:
    """The stored runs of `command` for the scenario: same settings first, then newest first."""
    if not scenario:
        return []
    try:
        rows = find_runs(command, scenario)
    except Exception:  # noqa: BLE001 - a busy or damaged catalog: show nothing rather than fail
        return []
    found = []
    for r in rows:
        meta = _meta(r["path"])
        if meta is not None:
            found.append(
                Stored(r["run_id"], Path(r["path"]), meta, r["scenario_hash"] == scenario_hash)
            )
    return sorted(found, key=lambda s: not s.same_settings)  # stable: newest first within


def _indicators(stored: Stored | RunData) -> pd.DataFrame | None:
    if isinstance(stored, RunData):
        return stored.indicators
    try:
        return read_indicators(stored.path)
    except Exception:  # noqa: BLE001 - an unreadable table: skip the run
        return None


# --- sensitivity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indices:
    """One stored sensitivity run's indices, sorted as stored (by ST, or mu*)."""

    run_id: str
    output: str
    year: int | None
    unit: str
    method: str
    samples: int | None
    evaluations: int | None
    created_at: str
    factors: list[dict]  # {fact, S1, S1_conf, ST, ST_conf} (Morris: mu_star, mu_star_conf, sigma)
    same_settings: bool = True
    computed: bool = False  # computed for this report, not found stored
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.output if self.year is None else f"{self.output} {self.year}"

    @property
    def key(self) -> str:
        return "ST" if self.method == "sobol" else "mu_star"


def read_indices(stored: Stored | RunData) -> Indices | None:
    """A sensitivity run's indices from its rows (factor in `channel`), or None if it has none."""
    meta = stored.meta
    df = _indicators(stored)
    if df is None or "channel" not in df or not isinstance(meta.get("output"), str):
        return None
    rows = df[df["name"].astype(str).str.startswith("sensitivity_") & df["channel"].notna()]
    if rows.empty:
        return None
    factors: dict[str, dict] = {}
    for name, fact, value in zip(rows["name"], rows["channel"], rows["value"], strict=True):
        factors.setdefault(str(fact), {"fact": str(fact)})[str(name)[len("sensitivity_") :]] = (
            float(value)
        )
    method = str(
        meta.get("method") or ("sobol" if "ST" in next(iter(factors.values())) else "morris")
    )
    key = "ST" if method == "sobol" else "mu_star"
    got = [f for f in factors.values() if key in f]
    if not got:
        return None
    year = meta.get("year")
    return Indices(
        run_id=str(meta.get("run_id") or getattr(stored, "run_id", "")),
        output=meta["output"], year=int(year) if isinstance(year, int | float) else None,
        unit=str(meta.get("unit") or ""), method=method, samples=_int(meta.get("samples")),
        evaluations=_int(meta.get("evaluations")), created_at=str(meta.get("created_at") or "")[:19],
        factors=got, same_settings=getattr(stored, "same_settings", True),
        warnings=[str(w) for w in meta.get("warnings") or [] if isinstance(w, str)],
    )  # fmt: skip


def _int(v) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _order(ix: Indices) -> tuple:
    kind = 0 if ix.output == "unit_npv" else 1
    return (kind, ix.output, ix.year or 0)


def sensitivity_runs(
    scenario: str | None,
    scenario_hash: str | None,
    *,
    methods=("sobol",),
    computed: str | None = None,
) -> list[Indices]:
    """The latest stored sensitivity run per (output, year) of the scenario."""
    best: dict[tuple, Indices] = {}
    for s in stored_runs("sensitivity", scenario, scenario_hash):
        key = (s.meta.get("output"), s.meta.get("year"))
        if key in best or s.meta.get("method", "sobol") not in methods:
            continue
        ix = read_indices(s)
        if ix is not None:
            best[key] = _mark(ix, computed)
        if len(best) >= MAX_ANSWERS:
            break
    return sorted(best.values(), key=_order)


def _mark(ix: Indices, computed: str | None) -> Indices:
    if computed is not None and ix.run_id == computed:
        return Indices(**{**ix.__dict__, "computed": True})
    return ix


def fmt_index(v: float) -> str:
    return f"{v:.2f}"


def drivers_text(ix: Indices, top: int = TOP) -> str:
    """'demand ST 0.76 ± 0.50, prices ST 0.20 ± 0.11, … (run ID, 8 samples)': the stored numbers,
    rounded to two decimals (Morris: mu* in the output's unit)."""
    parts = []
    if ix.method == "sobol":
        # factors whose ST rounds to 0.00 carry nothing to name: counted, not listed
        live = [f for f in ix.factors if fmt_index(f["ST"]) not in ("0.00", "-0.00")]
        shown = live[:top] or ix.factors[:1]
        for f in shown:
            parts.append(
                f"{f['fact']} ST {fmt_index(f['ST'])} ± {fmt_index(f.get('ST_conf', 0.0))}"
            )
        more = ", …" if len(live) > len(shown) else ""
        rest = len(ix.factors) - max(len(live), len(shown))
        if rest:
            more += f"; {rest} other factor{'s' if rest > 1 else ''} ST 0.00"
    else:
        for f in ix.factors[:top]:
            parts.append(
                f"{f['fact']} mu* {f['mu_star']:,.4g} ± {f.get('mu_star_conf', 0.0):,.2g} {ix.unit}"
            )
        more = ", …" if len(ix.factors) > top else ""
    samples = f", {ix.samples} samples" if ix.samples is not None else ""
    return f"{', '.join(parts)}{more} (run {ix.run_id}{samples})"


def explain_drivers(indicator: str, year: int, scenario: str, scenario_hash: str) -> str:
    """The line `repm explain INDICATOR YEAR` ends with: the top drivers from the latest stored
    sensitivity run of that indicator and year (same settings preferred), or how to make one."""
    for s in stored_runs("sensitivity", scenario, scenario_hash):
        if s.meta.get("output") != indicator or s.meta.get("year") != year:
            continue
        ix = read_indices(s)
        if ix is None:
            continue
        other = "" if ix.same_settings else f"; {scenario} with other settings than these"
        return f"  what it hangs on: {drivers_text(ix)}{other}"
    return (
        f"  what it hangs on: no stored sensitivity run of {indicator} {year} for {scenario}; "
        f"`repm sensitivity {indicator} --year {year}` ranks the facts it hangs on"
    )


def sobol_bars(ix: Indices) -> go.Figure:
    """Total-order (with its 95 % half-width) and first-order indices by factor, largest on top."""
    fs = list(reversed(ix.factors))
    names = [f["fact"] for f in fs]
    fig = go.Figure()
    if ix.method == "sobol":
        fig.add_bar(y=names, x=[f["ST"] for f in fs], orientation="h", name="ST (total order)",
                    error_x={"type": "data", "array": [f.get("ST_conf", 0.0) for f in fs]},
                    marker_color="#1f77b4")  # fmt: skip
        fig.add_bar(y=names, x=[f.get("S1", float("nan")) for f in fs], orientation="h",
                    name="S1 (first order)", marker_color="#aec7e8")  # fmt: skip
        xtitle = "share of the output's variance"
    else:
        fig.add_bar(y=names, x=[f["mu_star"] for f in fs], orientation="h", name="mu*",
                    error_x={"type": "data", "array": [f.get("mu_star_conf", 0.0) for f in fs]})  # fmt: skip
        xtitle = f"mean |elementary effect| [{ix.unit}]"
    unit = f" [{ix.unit}]" if ix.unit else ""
    fig.update_layout(
        title=f"{ix.label}{unit}: what it hangs on ({ix.method}, {ix.samples} samples)"
        + ("" if ix.same_settings else OTHER),
        template="plotly_white", barmode="group", xaxis_title=xtitle,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
        height=max(300, 110 + 46 * len(fs)), margin={"l": 180, "r": 20, "t": 80, "b": 50},
    )  # fmt: skip
    return fig


# --- parameter uncertainty -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A stored `repm uncertainty` run: P5/P50/P95/mean by indicator and year."""

    run_id: str
    samples: int | None
    same_settings: bool
    rows: pd.DataFrame  # name, unit, year, stat, value (totals; unit_npv by unit_id)

    def band(self, name: str) -> pd.DataFrame:
        """year × stat (p05, p50, p95, mean) of one indicator."""
        part = self.rows[self.rows["name"] == name]
        return part.pivot_table(index="year", columns="stat", values="value", aggfunc="first")


def read_spread(stored: Stored | RunData) -> Spread | None:
    df = _indicators(stored)
    if df is None or "stat" not in df:
        return None
    rows = df[df["stat"].isin(["p05", "p50", "p95", "mean"])]
    if rows.empty:
        return None
    meta = stored.meta
    return Spread(
        str(meta.get("run_id") or getattr(stored, "run_id", "")), _int(meta.get("samples")),
        getattr(stored, "same_settings", True), rows[["name", "unit", "year", "stat", "value"]],
    )  # fmt: skip


def latest_spread(run: RunData) -> Spread | None:
    if run.meta.get("command") == "uncertainty":
        return read_spread(run)
    for s in stored_runs("uncertainty", run.meta.get("scenario"), run.meta.get("scenario_hash")):
        got = read_spread(s)
        if got is not None:
            return got
    return None


def parameter_fan(spread: Spread, run: RunData | None = None) -> go.Figure | None:
    """P5–P95 band and P50 of each headline indicator over the parameter samples, one indicator
    at a time (a selector), with the run's own value where the run has the indicator."""
    names = [n for n in dict.fromkeys(spread.rows["name"]) if n != "unit_npv"]
    names = [n for n in FAN_FIRST if n in names] + [n for n in names if n not in FAN_FIRST]
    if not names:
        return None
    fig = go.Figure()
    owner: list[str] = []
    for name in names:
        b = spread.band(name)
        if not {"p05", "p50", "p95"} <= set(b.columns):
            continue
        years = [int(y) for y in b.index]
        show = name == names[0]
        fig.add_scatter(x=years, y=list(b["p95"]), mode="lines", line={"width": 0},
                        showlegend=False, hoverinfo="skip", visible=show, name=f"{name} P95")  # fmt: skip
        fig.add_scatter(x=years, y=list(b["p05"]), mode="lines", line={"width": 0}, fill="tonexty",
                        fillcolor="rgba(31,119,180,0.25)", name="P5–P95 over the facts' ranges",
                        visible=show)  # fmt: skip
        fig.add_scatter(x=years, y=list(b["p50"]), mode="lines", name="P50",
                        line={"color": "#1f77b4"}, visible=show)  # fmt: skip
        owner += [name] * 3
        own = _own_series(run, name)
        if own is not None:
            fig.add_scatter(x=list(own.index), y=list(own.values), mode="lines+markers",
                            name=f"this run ({run.run_id})", line={"color": "black", "dash": "dot"},
                            visible=show)  # fmt: skip
            owner.append(name)
    if not owner:
        return None
    units = {n: str(spread.rows[spread.rows["name"] == n]["unit"].iloc[0]) for n in names}
    buttons = [
        {"label": n, "method": "update",
         "args": [{"visible": [o == n for o in owner]}, {"yaxis": {"title": {"text": units[n]}}}]}
        for n in names if n in owner
    ]  # fmt: skip
    first = owner[0]
    samples = f"{spread.samples} samples" if spread.samples else "samples"
    fig.update_layout(
        title=f"Over the facts' ranges ({samples})" + ("" if spread.same_settings else OTHER),
        template="plotly_white", legend_orientation="h", height=420, yaxis_title=units[first],
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
        updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top"}],
    )  # fmt: skip
    return fig


def _own_series(run: RunData | None, name: str) -> pd.Series | None:
    if run is None or run.meta.get("command") in ("uncertainty", "sensitivity", "voi"):
        return None
    from repm.reports.figures import series

    try:
        return series(run, name)
    except (KeyError, ValueError):
        return None


def latest_risk(run: RunData):
    """The run itself if it is a risk run, else the newest stored risk run of the scenario."""
    if run.meta.get("command") == "risk":
        return run
    from repm.results.store import load_run

    for s in stored_runs("risk", run.meta.get("scenario"), run.meta.get("scenario_hash")):
        try:
            return load_run(s.run_id)
        except Exception:  # noqa: BLE001 - a damaged run: try the next
            continue
    return None


# --- value of information ---------------------------------------------------------------------


@dataclass(frozen=True)
class Voi:
    run_id: str
    decision: str
    samples: int | None
    evpi: float | None
    unit: str
    noise_floor: float | None
    ranking: list[tuple[str, float]]  # (fact or group, EVPPI), largest first
    same_settings: bool = True


def read_voi(stored: Stored | RunData) -> Voi | None:
    df = _indicators(stored)
    meta = stored.meta
    if df is None or "channel" not in df:
        return None
    rows = df[(df["name"] == "voi_evppi") & df["channel"].notna()]
    ranking = sorted(
        ((str(c), float(v)) for c, v in zip(rows["channel"], rows["value"], strict=True)
         if isinstance(v, int | float) and math.isfinite(v)),
        key=lambda r: -r[1],
    )  # fmt: skip
    evpi_rows = df[df["name"] == "voi_evpi"]
    evpi = float(evpi_rows["value"].iloc[0]) if len(evpi_rows) else _float(meta.get("evpi"))
    if not ranking and evpi is None:
        return None
    unit = str(rows["unit"].iloc[0]) if len(rows) else str(meta.get("unit") or "crore INR")
    return Voi(
        str(meta.get("run_id") or getattr(stored, "run_id", "")), str(meta.get("decision") or "?"),
        _int(meta.get("samples")), evpi, unit, _float(meta.get("noise_floor")), ranking,
        getattr(stored, "same_settings", True),
    )  # fmt: skip


def _float(v) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def latest_voi(run: RunData) -> list[Voi]:
    """The latest stored voi run per decision (the run itself first if it is one)."""
    found: dict[str, Voi] = {}
    if run.meta.get("command") == "voi":
        v = read_voi(run)
        if v is not None:
            found[v.decision] = v
    for s in stored_runs("voi", run.meta.get("scenario"), run.meta.get("scenario_hash")):
        if s.meta.get("decision") in found:
            continue
        v = read_voi(s)
        if v is not None and v.decision not in found:
            found[v.decision] = v
    return list(found.values())


def evppi_bars(v: Voi, top: int = 12) -> go.Figure:
    shown = list(reversed([r for r in v.ranking if round(r[1], 2) > 0][:top] or v.ranking[:1]))
    fig = go.Figure()
    fig.add_bar(y=[r[0] for r in shown], x=[r[1] for r in shown], orientation="h", name="EVPPI",
                marker_color="#2ca02c")  # fmt: skip
    if v.noise_floor:
        fig.add_vline(x=v.noise_floor, line_dash="dash", line_color="#d62728",
                      annotation_text="chance level")  # fmt: skip
    fig.update_layout(
        title=f"voi {v.decision}: what knowing each fact before deciding is worth [{v.unit}] (run {v.run_id})",
        template="plotly_white", xaxis_title=v.unit, height=max(260, 60 + 30 * len(shown)),
        margin={"l": 220, "r": 20, "t": 60, "b": 40},
    )  # fmt: skip
    return fig


# --- everything for one run -----------------------------------------------------------------------


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
    parameter fan), shocks (the shock fan beside it), evppi_<decision>."""
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
    if h.risk is not None:
        shock = risk_fan(h.risk)
        if shock is not None:
            same = h.risk.meta.get("scenario_hash") == run.meta.get("scenario_hash")
            shock.update_layout(
                title=f"Shocks: unmet demand over the draws (run {h.risk.run_id})"
                + ("" if same else OTHER)
            )
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
    row = [div(figs[k], k) for k in ("params", "shocks") if k in figs]
    if "shocks" not in figs:
        row.append(
            f"<p class='note'>No risk run of {sc} is stored for the shock fan: <code>repm risk</code>.</p>"
        )
    out.append("<div style='display:flex;gap:1rem'>" + "".join(
        f"<div style='flex:1;min-width:0'>{r}</div>" for r in row) + "</div>")  # fmt: skip
    out.append("<h3>What is worth pinning down (EVPPI)</h3>")
    if not h.voi:
        out.append(
            "<p class='note' id='evppi-none'>No value-of-information run of this scenario is "
            "stored: run <code>repm voi unit</code> to rank what is worth pinning down.</p>"
        )
    for v in h.voi:
        evpi = f"EVPI {v.evpi:,.1f} {e(v.unit)}" if v.evpi is not None else "EVPI not stored"
        floor = (
            f"; chance level {v.noise_floor:,.1f} (as much as pure noise gets)"
            if v.noise_floor
            else ""
        )
        shown = [r for r in v.ranking if round(r[1], 2) > 0][:12]
        grades = _grades([f for f, _ in shown])
        rows = "".join(
            f"<tr><td>{k + 1}</td><td class='l'>{e(f)}</td><td class='l'>{e(grades.get(f, ''))}</td>"
            f"<td>{val:,.2f}</td><td class='l'>{_verdict(val, v.noise_floor, grades.get(f))}</td></tr>"
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


def _grades(ids: list[str]) -> dict[str, str]:
    """Each fact's reliability grade (groups and unknown ids have none)."""
    try:
        from repm.model.facts import load_facts

        table = load_facts()
    except Exception:  # noqa: BLE001 - the ranking stands without grades
        return {}
    return {f: str(table.get(f).grade) for f in ids if f in table}


def _verdict(value: float, floor: float | None, grade: str | None) -> str:
    if floor is None:
        return ""
    if value <= floor:
        return "within chance"
    if grade in ("C", "assumption"):
        return "▶ above chance, weak grade: research to do next"
    return "above chance"


# --- computing a small default ----------------------------------------------------------------


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
