"""`repm compare`: two or more stored runs side by side — their total indicators in one year, the
differences from the first run, and an HTML chart of the differences over the horizon."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from repm.errors import UserError
from repm.reports.figures import RunData, totals
from repm.results.indicators import TABLES

# indicators drawn in the diff chart when runs have them (the rest are in the table)
KEY_INDICATORS = TABLES["compare"]


def compare_table(runs: list[RunData], year: int | None = None) -> tuple[int, pd.DataFrame]:
    """(year, table): one row per total indicator any run has, a column per run, and the
    difference of each later run from the first. Year: as asked, else the last year all share."""
    if len(runs) < 2:
        raise UserError(f"{len(runs)} run given; expected two or more run ids", where="compare")
    common = set(runs[0].years)
    for r in runs[1:]:
        common &= set(r.years)
    if not common:
        raise UserError("the runs share no year; expected runs over overlapping horizons")
    if year is None:
        year = max(common)
    elif year not in common:
        raise UserError(
            f"{year}; expected a year all runs cover ({min(common)}–{max(common)})", where="--year"
        )
    frames = []
    for r in runs:
        t = totals(r)
        t = t[t["year"] == year].set_index(["name", "unit"])["value"].rename(r.run_id)
        frames.append(t[~t.index.duplicated()])
    table = pd.concat(frames, axis=1)
    base = runs[0].run_id
    for r in runs[1:]:
        table[f"Δ {r.run_id}"] = table[r.run_id] - table[base]
    return year, table


def payload(runs: list[RunData], year: int, table: pd.DataFrame) -> dict:
    """The shared JSON shape: indicator rows carry a `run_id` key; `differences` are from run 1."""
    rows, diffs = [], []
    base = runs[0].run_id
    for (name, unit), row in table.iterrows():
        for r in runs:
            v = row[r.run_id]
            if pd.notna(v):
                rows.append(
                    {
                        "year": year,
                        "name": name,
                        "value": float(v),
                        "unit": unit,
                        "run_id": r.run_id,
                    }
                )
            if r.run_id != base and pd.notna(v) and pd.notna(row[base]):
                diffs.append({"year": year, "name": name, "unit": unit, "run_id": r.run_id,
                              "base": base, "delta": float(v - row[base])})  # fmt: skip
    return {
        "command": "compare", "scenario": [r.meta.get("scenario") for r in runs], "run_id": None,
        "year": year,
        "runs": [{"run_id": r.run_id, "command": r.meta.get("command"), "scenario": r.meta.get("scenario"),
                  "overrides": r.meta.get("overrides") or []} for r in runs],
        "indicators": rows, "differences": diffs,
    }  # fmt: skip


def diff_figure(runs: list[RunData]) -> go.Figure:
    """Small multiples: each key indicator over the years, one line per run."""
    names = [n for n in KEY_INDICATORS if any((totals(r)["name"] == n).any() for r in runs)]
    if not names:
        names = sorted(set(totals(runs[0])["name"]))[:6]
    cols = 2
    nrows = max(1, -(-len(names) // cols))
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=names, vertical_spacing=0.5 / nrows)
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
    for i, name in enumerate(names):
        for j, r in enumerate(runs):
            t = totals(r)
            s = t[t["name"] == name].sort_values("year")
            if s.empty:
                continue
            fig.add_scatter(
                x=s["year"], y=s["value"], mode="lines+markers", name=_label(r, j),
                legendgroup=r.run_id, showlegend=i == 0, line={"color": palette[j % len(palette)]},
                row=i // cols + 1, col=i % cols + 1,
            )  # fmt: skip
    fig.update_layout(
        title="repm compare: key indicators by year, one line per run", template="plotly_white",
        height=300 * nrows + 120, legend_orientation="h",
    )  # fmt: skip
    return fig


def num(v: float) -> str:
    """A table cell: thousands separators for big numbers, three significant digits for small."""
    if v != v:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"


def _label(r: RunData, j: int) -> str:
    sets = ", ".join(r.meta.get("overrides") or [])
    return (
        f"{j + 1}: {r.meta.get('scenario')} ({r.meta.get('command')}{'; ' + sets if sets else ''})"
    )


def write_html(runs: list[RunData], year: int, table: pd.DataFrame, out: Path) -> Path:
    if out.is_dir() or not out.parent.exists():
        raise UserError(f"{str(out)!r}; expected a file path in an existing folder", where="--html")
    fig = diff_figure(runs)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(str(u))}</td>"
        + "".join(f"<td>{num(v)}</td>" for v in row.values)
        + "</tr>"
        for (n, u), row in table.iterrows()
    )
    runs_html = "".join(
        f"<li>{html.escape(_label(r, j))}: {r.run_id}</li>" for j, r in enumerate(runs)
    )
    doc = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>repm compare</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1150px;margin:auto;padding:1.5rem}}
table{{border-collapse:collapse;font-size:.8rem}}td,th{{border:1px solid #ddd;padding:.2rem .4rem;text-align:right}}
td:first-child,td:nth-child(2){{text-align:left}}</style></head><body>
<h1>repm compare</h1><ol>{runs_html}</ol>
{fig.to_html(full_html=False, include_plotlyjs=True, div_id="fig-compare")}
<h2>Totals in {year} (Δ = run − run 1)</h2>
<table><tr><th>indicator</th><th>unit</th>{head}</tr>{body}</table></body></html>"""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(out)
    return out
