"""A stored `repm uncertainty` run read back: P5/P50/P95/mean by indicator and year, drawn as the
parameter fan (beside the shock fan of the scenario's risk run)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from repm.reports.hangs.stored import OTHER, Stored, as_int, indicators, stored_runs
from repm.results.store import RunData

FAN_FIRST = ("magnet_imports", "self_sufficiency", "magnet_production_domestic")


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
