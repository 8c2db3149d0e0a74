"""A stored `repm uncertainty` run read back: P5/P50/P95/mean by indicator and year, drawn as the
parameter fan (beside the shock fan of the scenario's risk run). Unmet demand, which the run
carries when it was made with shock draws (`repm uncertainty --draws N`: each sample's expected
unmet demand over N shock draws), is drawn on one axis with the risk run's shock fan: what we
don't know about the facts beside what the shocks do, both in t of magnets a year."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from repm.analyses.uncertainty.evaluate import JOINT
from repm.reports.hangs.stored import OTHER, Stored, as_int, indicators, stored_runs
from repm.results.store import RunData

FAN_FIRST = ("magnet_imports", "self_sufficiency", "magnet_production_domestic")
UNMET = "expected_unmet"  # with shock draws: each sample's mean unmet demand over its draws
FACTS = "what we don't know about the facts"
SHOCKS = "what the shocks do"
BOTH = "both at once"
UNMET_AXIS = "t of magnets"  # the risk fan's axis: unmet magnet demand in a year
UNMET_DRAWS = 100  # shock draws a sample suggested when the run has none
TAIL_DRAWS = 1000  # shock draws a sample below which the pool's P95 is undersampled


@dataclass(frozen=True)
class Spread:
    """A stored `repm uncertainty` run: P5/P50/P95/mean by indicator and year."""

    run_id: str
    samples: int | None
    same_settings: bool
    rows: pd.DataFrame  # name, unit, year, stat, value (totals; unit_npv by unit_id)
    shock_draws: int | None = None  # shock draws a sample behind expected_unmet (0: none)
    step: str | None = None
    alternatives: tuple[tuple[str, float], ...] = ()  # scenarios the samples drew (--alternative)

    def samples_label(self) -> str:
        """"N samples", and the scenarios they were drawn over when more than one."""
        out = f"{self.samples} samples" if self.samples else "samples"
        if self.alternatives:
            out += " over " + " / ".join(f"{n} {w:.0%}" for n, w in self.alternatives)
        return out

    def band(self, name: str) -> pd.DataFrame:
        """year × stat (p05, p50, p95, mean) of one indicator."""
        part = self.rows[self.rows["name"] == name]
        return part.pivot_table(index="year", columns="stat", values="value", aggfunc="first")


def read_spread(stored: Stored | RunData) -> Spread | None:
    df = indicators(stored)
    if df is None or "stat" not in df:
        return None
    rows = df[df["stat"].isin(["p05", "p50", "p95", "mean"])]
    if rows.empty:
        return None
    meta = stored.meta
    return Spread(
        str(meta.get("run_id") or getattr(stored, "run_id", "")), as_int(meta.get("samples")),
        getattr(stored, "same_settings", True), rows[["name", "unit", "year", "stat", "value"]],
        as_int(meta.get("shock_draws")), meta.get("step") if isinstance(meta.get("step"), str) else None,
        _alternatives(meta.get("alternatives")),
    )  # fmt: skip


def _alternatives(got) -> tuple[tuple[str, float], ...]:
    """The stored run's scenarios and weights (meta `alternatives`), () if none or unreadable."""
    try:
        return tuple((str(a["name"]), float(a["weight"])) for a in got or ())
    except (TypeError, KeyError, ValueError):
        return ()


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
    # the facts' spread only: not the NPV, nor unmet demand over the facts and shocks together
    # (drawn with the shocks' fan, `unmet_fans`)
    names = [n for n in dict.fromkeys(spread.rows["name"]) if n not in ("unit_npv", JOINT)]
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
    samples = spread.samples_label()
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


def unmet_band(spread: Spread | None) -> pd.DataFrame | None:
    """year × (p05, p50, p95, …) of the expected unmet demand over the parameter samples, or None
    when the run was made without shock draws (or carries it in another unit)."""
    if spread is None:
        return None
    part = spread.rows[spread.rows["name"] == UNMET]
    if part.empty or set(part["unit"].astype(str)) != {"t"}:
        return None
    b = spread.band(UNMET)
    return b if {"p05", "p50", "p95"} <= set(b.columns) else None


def joint_band(spread: Spread | None) -> pd.DataFrame | None:
    """year × (p05, p50, p95, mean) of the unmet demand over the run's samples and shock draws
    together (`unmet_joint`), or None when the run has none (made before it, or without draws)."""
    if spread is None or spread.rows[spread.rows["name"] == JOINT].empty:
        return None
    b = spread.band(JOINT)
    return b if {"p50", "p95"} <= set(b.columns) else None


def unmet_missing(spread: Spread | None, scenario: str) -> str:
    """The figure's note when unmet demand has no parameter fan: what to run for one."""
    run = f"repm uncertainty {scenario} --draws {UNMET_DRAWS}"
    if spread is None:
        return (
            f"No parameter fan for unmet demand: no uncertainty run of {scenario} is stored.<br>"
            f"<i>{run}</i> draws one beside this shock fan (the facts drawn, {UNMET_DRAWS} shock draws a sample)."
        )  # fmt: skip
    return (
        f"No parameter fan for unmet demand: uncertainty run {spread.run_id} was made without shock "
        f"draws.<br><i>{run}</i> draws one beside this shock fan ({UNMET_DRAWS} shock draws a sample)."
    )  # fmt: skip


def unmet_fans(spread: Spread, risk: RunData | None, other: bool = False) -> go.Figure | None:
    """Unmet magnet demand's two fans on one axis (t of magnets a year): what we don't know about
    the facts (P5–P95 and P50, over the uncertainty run's parameter samples, of each sample's
    expected unmet demand over its shock draws) and what the shocks do (the risk run's percentiles
    over its draws at the facts' central values, and their mean). None without the former."""
    b = unmet_band(spread)
    if b is None:
        return None
    years = [int(y) for y in b.index]
    samples = spread.samples_label()
    each = f"{spread.shock_draws:,} shock draws" if spread.shock_draws else "shock draws"
    fig = go.Figure()
    facts = {"legendgroup": "facts", "legendgrouptitle_text": f"{FACTS}:"}
    fig.add_scatter(x=years, y=list(b["p95"]), mode="lines", line={"width": 0}, showlegend=False,
                    hoverinfo="skip", name="facts P95", legendgroup="facts")  # fmt: skip
    fig.add_scatter(x=years, y=list(b["p05"]), mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor="rgba(31,119,180,0.25)", name="P5–P95 over the facts' ranges",
                    hovertemplate="%{y:,.0f} t (facts P5)<extra></extra>", **facts)  # fmt: skip
    fig.add_scatter(x=years, y=list(b["p50"]), mode="lines", name="P50 over the facts' ranges",
                    line={"color": "#1f77b4", "width": 3}, legendgroup="facts",
                    hovertemplate="%{y:,.0f} t (facts P50)<extra></extra>")  # fmt: skip
    lines = [f"Blue, {FACTS}: uncertainty run {spread.run_id}, {samples} of the facts, each the "
             f"mean over {each}" + (f" ({spread.step})" if spread.step else "") + "."]  # fmt: skip
    jb = joint_band(spread)
    if jb is not None:  # both at once: every sample's draws pooled
        both = {"legendgroup": "both", "legendgrouptitle_text": f"{BOTH}:"}
        for stat, dash, label in (("p95", "dash", "P95"), ("p50", "dot", "P50")):
            fig.add_scatter(x=[int(y) for y in jb.index], y=list(jb[stat]), mode="lines",
                            name=f"{label} over samples × draws", line={"color": "#9467bd",
                            "dash": dash, "width": 2}, **both,
                            hovertemplate=f"%{{y:,.0f}} t (both {label})<extra></extra>")  # fmt: skip
            both = {"legendgroup": "both"}
        few = spread.shock_draws is not None and spread.shock_draws < TAIL_DRAWS
        lines.append(f"Purple, {BOTH}: the same run's {samples} × {each} pooled — the spread a "
                     "stockpile sized to a service level faces.")  # fmt: skip
        if few:  # a line of its own: the subtitle does not wrap
            lines.append(f"Its tail is {spread.shock_draws} draws' tail: ≥ {TAIL_DRAWS:,} shock "
                         "draws a sample to read its P95 as a number.")  # fmt: skip
    q = (
        risk.data["unmet_quantiles"]
        if risk is not None and "unmet_quantiles" in risk.data
        else None
    )
    if q is not None:
        qy = [int(y) for y in q["year"].values]
        shocks = {"legendgroup": "shocks", "legendgrouptitle_text": f"{SHOCKS}:"}
        for lo, hi, color, label in ((0.05, 0.95, "rgba(214,39,40,0.15)", "5–95th percentile"),
                                     (0.25, 0.75, "rgba(214,39,40,0.35)", "25–75th percentile")):  # fmt: skip
            fig.add_scatter(x=qy, y=list(q.sel(quantile=hi).values), mode="lines",
                            line={"width": 0}, showlegend=False, hoverinfo="skip",
                            name=f"shocks {int(100 * hi)}th", legendgroup="shocks")  # fmt: skip
            fig.add_scatter(x=qy, y=list(q.sel(quantile=lo).values), mode="lines",
                            line={"width": 0}, fill="tonexty", fillcolor=color,
                            name=f"{label} over the draws", **shocks)  # fmt: skip
            shocks = {"legendgroup": "shocks"}
        fig.add_scatter(x=qy, y=list(q.sel(quantile=0.5).values), mode="lines",
                        name="median over the draws", line={"color": "#d62728"},
                        legendgroup="shocks")  # fmt: skip
    if risk is not None:
        from repm.reports.figures import series

        mean = series(risk, UNMET)
        if mean is not None:
            fig.add_scatter(x=[int(y) for y in mean.index], y=list(mean.values),
                            mode="lines+markers", name="mean over the draws",
                            line={"color": "black", "dash": "dot"}, legendgroup="shocks",
                            **({} if q is not None else {"legendgrouptitle_text": f"{SHOCKS}:"}))  # fmt: skip
        draws = risk.meta.get("draws")
        lines.append(f"Red, {SHOCKS}: risk run {risk.run_id}, "
                     + (f"{draws:,} draws" if isinstance(draws, int) else "its draws")
                     + " at the facts' central values (monthly).")  # fmt: skip
        if spread.step not in (None, "monthly"):  # a risk run is monthly: say what else differs
            lines.append("The two differ by the step too: <i>repm uncertainty --step monthly</i> "
                         "compares like with like.")  # fmt: skip
    else:
        lines.append("No risk run is stored for the shock fan: <i>repm risk</i> draws it here.")
    fig.update_layout(
        title={"text": "Unmet magnet demand: the facts' fan and the shocks' fan" + (OTHER if other else ""),
               "subtitle": {"text": "<br>".join(lines)}},
        template="plotly_white", height=430 + 16 * len(lines), yaxis_title=UNMET_AXIS,
        yaxis_rangemode="tozero", legend={"orientation": "h", "y": -0.12, "groupclick": "toggleitem"},
        margin={"l": 60, "r": 20, "t": 50 + 16 * len(lines), "b": 40},  # room for the note's lines
    )  # fmt: skip
    return fig
