"""Plotly figures of a stored run, shared by the HTML report and the dashboard.

Each builder takes a `RunData` (what a run folder holds) and returns a figure, or None when the
run does not hold what the chart needs (a finance run has no flows; only risk runs have a fan).
Nothing is recomputed: figures read the run's Dataset and indicator table.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import xarray as xr

from repm.results.indicators import KEYS
from repm.results.store import RunData  # what a run folder holds (the store reads it)

ELEMENT_COLORS = {
    "Nd": "rgba(31,119,180,0.55)",
    "Pr": "rgba(44,160,44,0.55)",
    "Dy": "rgba(214,39,40,0.55)",
    "Tb": "rgba(148,103,189,0.55)",
    "Th": "rgba(127,127,127,0.55)",
}
ENV_PREFIXES = ("env_", "thorium")
# keys that split an indicator; rows with one are not totals. `stat` (p05/p50/p95/mean of a
# `repm uncertainty` run) is drawn as the parameter fan (repm.reports.hangs), not as a path
DIMS = KEYS  # the indicator table's dimension keys: totals are the rows without any


def totals(run: RunData) -> pd.DataFrame:
    """Indicator rows without a dimension key (the totals)."""
    df = run.indicators
    mask = pd.Series(True, index=df.index)
    for k in DIMS:
        if k in df:
            mask &= df[k].isna()
    return df[mask]


def series(run: RunData, name: str, **dims: str) -> pd.Series | None:
    """One indicator by year (totals unless a dimension is given), or None if the run lacks it."""
    df = run.indicators
    mask = df["name"] == name
    for k in DIMS:
        if k in df:
            mask &= (df[k] == dims[k]) if k in dims else df[k].isna()
    rows = df[mask]
    if rows.empty:
        return None
    return rows.set_index("year")["value"].sort_index()


def _unit(run: RunData, name: str) -> str:
    rows = run.indicators[run.indicators["name"] == name]
    return str(rows["unit"].iloc[0]) if len(rows) else ""


def _layout(fig: go.Figure, title: str, y: str) -> go.Figure:
    fig.update_layout(
        title=title, yaxis_title=y, template="plotly_white", legend_orientation="h",
        margin={"l": 60, "r": 20, "t": 60, "b": 40}, height=420,
    )  # fmt: skip
    return fig


def _draw_mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("draw") if "draw" in da.dims else da


def sankey(run: RunData, year: int) -> go.Figure | None:
    """Element flows (t of element) between the chain's stages in one year, a link per element."""
    ds = run.data
    if "flows" not in ds or "flow_source" not in ds.coords:
        return None
    f = _draw_mean(ds["flows"]).sel(year=year)
    src = [str(s) for s in ds["flow_source"].values]
    dst = [str(t) for t in ds["flow_target"].values]
    nodes = list(dict.fromkeys(src + dst))
    links: dict[str, list] = {"source": [], "target": [], "value": [], "color": [], "label": []}
    for i, flow in enumerate(str(x) for x in ds["flow"].values):
        for el in (str(e) for e in ds["element"].values):
            v = float(f.sel(flow=flow, element=el))
            if v > 1e-9:
                links["source"].append(nodes.index(src[i]))
                links["target"].append(nodes.index(dst[i]))
                links["value"].append(v)
                links["color"].append(ELEMENT_COLORS.get(el, "rgba(0,0,0,0.3)"))
                links["label"].append(f"{flow} · {el}")
    if not links["value"]:
        return None
    fig = go.Figure(
        go.Sankey(
            node={"label": nodes, "pad": 18, "thickness": 14},
            link=links,
            valueformat=",.1f",
            valuesuffix=" t",
        )
    )
    fig = _layout(fig, f"Element flows through the chain, {year} (t of element)", "")
    fig.update_layout(height=520, annotations=[{
        "text": "links coloured by element: Nd blue, Pr green, Dy red, Tb purple, Th grey",
        "showarrow": False,
        "x": 0, "y": -0.08, "xref": "paper", "yref": "paper", "font": {"size": 10},
    }])  # fmt: skip
    return fig


def supply(run: RunData) -> go.Figure | None:
    """Magnet demand against domestic production, imports (bare, embedded) and unmet demand."""
    demand = series(run, "magnet_demand")
    if demand is None:
        return None
    fig = go.Figure()
    for name, label, color in (
        ("magnet_production_domestic", "domestic", "#2ca02c"),
        ("magnet_imports_bare", "imports, bare magnets", "#ff7f0e"),
        ("magnet_imports_embedded", "imports, in sub-assemblies", "#ffbb78"),
        ("unmet_demand", "unmet", "#d62728"),
    ):
        s = series(run, name)
        if s is not None:
            fig.add_bar(x=s.index, y=s.values, name=label, marker_color=color)
    fig.add_scatter(x=demand.index, y=demand.values, name="demand", mode="lines+markers",
                    line={"color": "black", "width": 3})  # fmt: skip
    cap = series(run, "magnet_capacity")
    if cap is not None:
        fig.add_scatter(x=cap.index, y=cap.values, name="domestic capacity (t/yr)",
                        mode="lines", line={"color": "#2ca02c", "dash": "dash"})  # fmt: skip
    fig.update_layout(barmode="stack")
    return _layout(fig, "Magnet demand vs domestic supply vs imports", "t of magnets")


def imports_by_origin(run: RunData) -> go.Figure | None:
    df = run.indicators
    if "origin" not in df:
        return None
    rows = df[(df["name"] == "magnet_imports") & df["origin"].notna()]
    if rows.empty:
        return None
    fig = go.Figure()
    for origin, g in rows.groupby("origin", sort=False):
        g = g.sort_values("year")
        if g["value"].abs().sum() > 1e-9:
            fig.add_bar(x=g["year"], y=g["value"], name=str(origin))
    fig.update_layout(barmode="stack")
    return _layout(fig, "Magnet imports by origin (bare + embedded)", "t of magnets")


def ndpr(run: RunData) -> go.Figure | None:
    need = series(run, "ndpr_oxide_required")
    if need is None:
        return None
    fig = go.Figure()
    fig.add_scatter(x=need.index, y=need.values, name="NdPr oxide needed by domestic units",
                    mode="lines+markers", line={"color": "black"})  # fmt: skip
    for name, label in (
        ("ndpr_oxide_domestic", "domestic separation output (IREL)"),
        ("ndpr_oxide_to_units", "domestic oxide to the units"),
        ("ndpr_oxide_imports", "NdPr oxide imports"),
    ):
        s = series(run, name)
        if s is not None:
            fig.add_scatter(x=s.index, y=s.values, name=label, mode="lines+markers")
    return _layout(fig, "NdPr oxide: need vs domestic supply", "t of NdPr oxide")


def basket(run: RunData) -> go.Figure | None:
    """Where monazite's rare earths go each year (t REO): NdPr oxide, co-products sold, the heavy
    concentrate and the chloride IREL holds, chloride shipped abroad, and what cracking and
    separation lose (`repm run --basket`)."""
    mined = series(run, "reo_mined")
    if mined is None:
        return None
    part = {n: series(run, n) for n in (
        "reo_produced", "reo_separated", "ndpr_oxide_domestic", "coproducts_sold",
        "coproducts_held", "chloride_exports", "chloride_stocked",
    )}  # fmt: skip
    if any(v is None for v in part.values()):
        return None
    separated = part["ndpr_oxide_domestic"] + part["coproducts_sold"] + part["coproducts_held"]
    fig = go.Figure()
    for values, label, color in (
        (part["ndpr_oxide_domestic"], "NdPr oxide (to magnets)", "#1f77b4"),
        (part["coproducts_sold"], "La, Ce, Sm, Gd, Y oxides sold", "#2ca02c"),
        (part["coproducts_held"], "heavy concentrate held (Dy, Tb, …)", "#9467bd"),
        (part["chloride_exports"], "mixed chloride exported", "#ff7f0e"),
        (part["chloride_stocked"], "mixed chloride held by IREL", "#ffbb78"),
        (part["reo_separated"] - separated, "lost in separation", "#c7c7c7"),
        (mined - part["reo_produced"], "lost in cracking (residue)", "#7f7f7f"),
    ):
        fig.add_bar(x=values.index, y=values.values, name=label, marker_color=color)
    fig.add_scatter(x=mined.index, y=mined.values, name="REO mined", mode="lines+markers",
                    line={"color": "black", "width": 3})  # fmt: skip
    fig.update_layout(barmode="stack")
    return _layout(fig, "Monazite's rare earths by destination (co-products in t oxide)", "t")


def environment(run: RunData) -> go.Figure | None:
    """Every indicator named env_* or thorium*, lines by name (and dimension), one unit at a time
    with a unit selector: new environmental indicators appear without a change here."""
    df = run.indicators
    rows = df[df["name"].str.startswith(ENV_PREFIXES)].copy()
    if "stat" in rows:  # an uncertainty run's percentiles: the facts' fan draws those
        rows = rows[rows["stat"].isna()]
    if rows.empty:
        return None
    keys = [k for k in DIMS if k in rows]
    rows["label"] = [
        " · ".join([r["name"]] + [r[k] for k in keys if isinstance(r[k], str)])
        for _, r in rows.iterrows()
    ]
    units = sorted(rows["unit"].unique(), key=lambda u: (u != "t", u))  # Th residue's unit first
    fig = go.Figure()
    owner: list[str] = []
    for unit in units:
        for label, h in rows[rows["unit"] == unit].groupby("label", sort=True):
            h = h.sort_values("year")
            fig.add_scatter(x=h["year"], y=h["value"], name=label, mode="lines+markers",
                            visible=unit == units[0])  # fmt: skip
            owner.append(unit)
    buttons = [
        {"label": str(u), "method": "update",
         "args": [{"visible": [o == u for o in owner]}, {"yaxis": {"title": {"text": str(u)}}}]}
        for u in units
    ]  # fmt: skip
    fig.update_layout(
        showlegend=True, height=480, legend_orientation="v",
        updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top"}],
    )  # fmt: skip
    fig = _layout(fig, "Environment: pick a unit", str(units[0]))
    fig.update_layout(legend_orientation="v", height=480)
    return fig


def risk_fan(run: RunData) -> go.Figure | None:
    """Unmet demand percentiles over the draws (5–95 and 25–75 bands, median), with the mean and
    the probability of a shortage."""
    ds = run.data
    q = ds["unmet_quantiles"] if "unmet_quantiles" in ds else None
    mean = series(run, "expected_unmet")
    if q is None and mean is None:
        return None
    fig = go.Figure()
    if q is not None:
        years = [int(y) for y in q["year"].values]

        def band(lo: float, hi: float, color: str, label: str) -> None:
            fig.add_scatter(x=years, y=q.sel(quantile=hi).values, mode="lines", line={"width": 0},
                            showlegend=False, hoverinfo="skip")  # fmt: skip
            fig.add_scatter(x=years, y=q.sel(quantile=lo).values, mode="lines", line={"width": 0},
                            fill="tonexty", fillcolor=color, name=label)  # fmt: skip

        band(0.05, 0.95, "rgba(214,39,40,0.15)", "5–95th percentile")
        band(0.25, 0.75, "rgba(214,39,40,0.35)", "25–75th percentile")
        fig.add_scatter(x=years, y=q.sel(quantile=0.5).values, mode="lines", name="median",
                        line={"color": "#d62728"})  # fmt: skip
    if mean is not None:
        fig.add_scatter(x=mean.index, y=mean.values, mode="lines+markers", name="mean",
                        line={"color": "black", "dash": "dot"})  # fmt: skip
    p = series(run, "p_shortage")
    if p is not None:
        fig.add_scatter(x=p.index, y=p.values, name="P(shortage) (right axis)", yaxis="y2",
                        mode="lines", line={"color": "#1f77b4"})  # fmt: skip
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 1],
                                  "tickformat": ".0%", "showgrid": False})  # fmt: skip
    draws = run.meta.get("draws") or 1
    title = (
        f"Unmet magnet demand over {draws:,} draws"
        if q is not None
        else "Expected unmet magnet demand"
    )
    return _layout(fig, title, "t of magnets")


def _worth(w: dict | None) -> str:
    """A sized stockpile's worth for its title (`repm stockpile`'s "worth it?" line)."""
    if not w:
        return ""
    if w.get("breakeven_penalty") is None:
        return " — it avoids no unmet demand"
    from repm.model.units import inr

    return (
        f" — pays if a kg short costs ≥ {inr(w['breakeven_penalty'])} "
        f"(valued at {inr(w['unmet_penalty'])})"
    )


def stockpile(run: RunData) -> go.Figure | None:
    """Strategic stockpile held at year end by material, else its holding cost (risk runs)."""
    ds = run.data
    fig = go.Figure()
    size = ds.get("stockpile_size")  # a sized stockpile (stockpile, plan)
    if size is not None and "stockpile_level" not in ds and float(abs(size).max()) > 1e-9:
        fig.add_bar(x=[str(m) for m in size["material"].values], y=size.values, name="stockpile")
        return _layout(fig, "Strategic stockpile to hold" + _worth(run.meta.get("worth")), "t")
    if "stockpile_level" in ds:
        lvl = _draw_mean(ds["stockpile_level"])
        for m in (str(x) for x in lvl["material"].values):
            v = lvl.sel(material=m)
            if float(abs(v).max()) > 1e-9:
                fig.add_scatter(x=[int(y) for y in v["year"].values], y=v.values, name=m,
                                mode="lines+markers")  # fmt: skip
        if fig.data:
            return _layout(fig, "Strategic stockpile at year end (mean over draws)", "t")
    cost = series(run, "stockpile_holding_cost")
    if cost is not None and float(cost.abs().max()) > 0:
        fig.add_bar(x=cost.index, y=cost.values, name="holding cost")
        return _layout(fig, "Stockpile holding cost", _unit(run, "stockpile_holding_cost"))
    return None


def plan_capacity(run: RunData) -> go.Figure | None:
    """The simulated plan's domestic capacity by year and its initial strategic stockpile."""
    if not run.plan or "capacity" not in run.plan:
        return None
    cap = {int(y): float(v) for y, v in run.plan["capacity"].items()}
    fig = go.Figure()
    fig.add_bar(x=list(cap), y=list(cap.values()), name="planned capacity (t/yr)")
    demand = series(run, "magnet_demand")
    if demand is not None:
        fig.add_scatter(x=demand.index, y=demand.values, name="demand (t)", mode="lines",
                        line={"color": "black"})  # fmt: skip
    held = {m: v for m, v in (run.plan.get("stockpile") or {}).items() if v > 0}
    note = ", ".join(f"{m} {v:,.0f} t" for m, v in held.items()) or "none"
    return _layout(fig, f"Plan: domestic capacity (strategic stockpile: {note})", "t/yr")


def unit_npv(run: RunData) -> go.Figure | None:
    units = run.meta.get("units")
    if not units:
        return None
    fig = go.Figure()
    fig.add_bar(x=[u["unit_id"] for u in units], y=[u["npv"] for u in units], name="NPV",
                marker_color=["#2ca02c" if u["npv"] >= 0 else "#d62728" for u in units])  # fmt: skip
    return _layout(fig, "Unit NPV under the scheme", str(units[0].get("unit", "")))


def scheme_outlay(run: RunData) -> go.Figure | None:
    out = series(run, "scheme_outlay")
    check = run.meta.get("outlay_check")
    if out is None:
        return None
    fig = go.Figure()
    fig.add_bar(x=out.index, y=out.values, name="outlay in the year")
    fig.add_scatter(x=out.index, y=out.cumsum().values, name="cumulative", mode="lines+markers")
    if check:
        # the check is in crore INR; the rows may be in million USD: scale by the ratio of totals
        scale = float(out.sum()) / check["total"] if check.get("total") else 1.0
        fig.add_hline(y=check["outlay_cap"] * scale, line_dash="dash", line_color="#d62728",
                      annotation_text="scheme outlay cap")  # fmt: skip
    return _layout(fig, "Scheme outlay vs its cap", _unit(run, "scheme_outlay"))


# key, section title, builder: the report's order; the dashboard draws the same figures
CORE: tuple[tuple[str, str, Callable[[RunData], go.Figure | None]], ...] = (
    ("supply", "Demand, domestic supply and imports", supply),
    ("origins", "Imports by origin", imports_by_origin),
    ("ndpr", "NdPr oxide", ndpr),
    ("basket", "Monazite's basket", basket),
)
OPTIONAL: tuple[tuple[str, str, Callable[[RunData], go.Figure | None]], ...] = (
    ("risk", "Supply risk: unmet demand fan", risk_fan),
    ("stockpile", "Strategic stockpile", stockpile),
    ("plan", "Plan", plan_capacity),
    ("npv", "Unit NPVs", unit_npv),
    ("outlay", "Scheme outlay", scheme_outlay),
)


def build_all(run: RunData, year: int) -> dict[str, go.Figure | None]:
    """Every figure by key, None where the run lacks the data."""
    figs: dict[str, go.Figure | None] = {"sankey": sankey(run, year)}
    for key, _, build in CORE:
        figs[key] = build(run)
    figs["environment"] = environment(run)
    for key, _, build in OPTIONAL:
        figs[key] = build(run)
    return figs
