"""`repm report`: one stored run as one self-contained HTML file (plotly.js inlined, no network).

Sections: the Sankey of element flows for a chosen year, demand vs supply vs imports, imports by
origin, NdPr oxide, environmental indicators (any env_*/thorium* indicator, by unit), and when
the run has them: the risk fan, stockpile, plan, unit NPVs and scheme outlay; then "What this
answer hangs on" (repm.reports.hangs: Sobol bars, parameter fans beside the shock fan, the EVPPI
ranking, from the scenario's stored sensitivity, uncertainty, risk and voi runs). An appendix
lists every fact the run used, with its sources.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import plotly.graph_objects as go

from repm.errors import UserError
from repm.model.facts import FactTable, load_facts
from repm.reports.figures import CORE, OPTIONAL, build_all, totals
from repm.results.store import RunData, load_run  # noqa: F401  (reading a stored run belongs to the store)


def pick_year(run: RunData, year: int | None) -> int:
    """The Sankey's year: as asked (checked against the horizon), else the horizon's last."""
    years = run.years
    if year is None:
        return years[-1]
    if year not in years:
        raise UserError(
            f"{year}; expected a year in the run's horizon {years[0]}–{years[-1]}", where="--year"
        )
    return year


# --- provenance -------------------------------------------------------------------------------


class _Recorder:
    """Stands in for the fact table and notes which facts a calculation reads."""

    def __init__(self, table: FactTable):
        self.table, self.ids = table, []

    def value(self, fact_id: str, unit: str | None = None) -> float:
        self.ids.append(fact_id)
        return self.table.value(fact_id, unit)

    def get(self, fact_id: str, **kw) -> object:
        self.ids.append(fact_id)
        return self.table.get(fact_id, **kw)


def facts_used(raw: dict, table: FactTable) -> list[tuple[str, str]]:
    """(where, fact id) for every fact behind a run: the scenario's fact references, those of the
    risk presets its events name (unless the event overrides them), and the stoichiometry the
    engine reads from the table."""
    from repm.model.chemistry import Chemistry
    from repm.scenario.load import _provenance
    from repm.scenario.presets import preset

    used = list(_provenance(raw).items())
    events = (
        ((raw.get("risk") or {}).get("events") or []) if isinstance(raw.get("risk"), dict) else []
    )
    for i, ev in enumerate(events):
        if isinstance(ev, dict) and isinstance(ev.get("preset"), str):
            try:
                base = preset(ev["preset"])
            except ValueError:
                continue
            own = {k: v for k, v in base.items() if k not in ev}
            used += [
                (f"risk.events.{i}.{p} (preset {ev['preset']})", f)
                for p, f in _provenance(own).items()
            ]
    rec = _Recorder(table)
    # the Nd:Pr split is the scenario's own field when it sets one (then listed above)
    supply = raw.get("supply") if isinstance(raw.get("supply"), dict) else {}
    own_split = supply.get("pr_share_of_ndpr") is not None
    Chemistry.from_facts(rec, pr_share=0.0 if own_split else None)  # type: ignore[arg-type]
    used += [("engine stoichiometry", f) for f in dict.fromkeys(rec.ids)]
    return used


def provenance_rows(raw: dict, table: FactTable) -> list[dict]:
    """One row per (where, fact), then the facts each derived fact comes from."""
    rows = []
    for where, fid in facts_used(raw, table):
        if fid not in table:
            rows.append({"where": where, "fact": fid, "value": "?", "unit": "", "grade": "",
                         "source": "not in this version's fact table", "depth": 0})  # fmt: skip
            continue
        for depth, f in enumerate(table.lineage(fid)):
            cites = "; ".join(table.sources[s].cite() for s in f.sources)
            rows.append({
                "where": where if depth == 0 else "", "fact": f.id, "value": f.shown(), "unit": f.unit,
                "grade": f.grade, "source": cites or f.note, "depth": depth,
            })  # fmt: skip
    return rows


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1150px;
padding:1.5rem;color:#222}h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-top:1rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;
padding:.2rem .45rem;text-align:right}th{background:#f5f5f5}td.l,th.l{text-align:left}
.meta td{text-align:left}.note{color:#666;font-size:.9rem}.prov td{text-align:left;vertical-align:top}
.d1{padding-left:1.5rem;color:#555}nav a{margin-right:.8rem}
"""


def _fmt(value: float, unit: str) -> str:
    if unit == "fraction":
        return f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _table_html(run: RunData) -> str:
    tot = totals(run)
    if tot.empty:
        return "<p class='note'>No total indicators in this run.</p>"
    wide = tot.pivot_table(index=["name", "unit"], columns="year", values="value", sort=False)
    head = "".join(f"<th>{y}</th>" for y in wide.columns)
    body = "".join(
        f"<tr><td class='l'>{html.escape(name)}</td><td class='l'>{html.escape(str(unit))}</td>"
        + "".join(f"<td>{_fmt(v, unit)}</td>" for v in row.values)
        + "</tr>"
        for (name, unit), row in wide.iterrows()
    )
    return f"<table><tr><th class='l'>indicator</th><th class='l'>unit</th>{head}</tr>{body}</table></div>"


def _provenance_html(rows: list[dict]) -> str:
    if not rows:
        return "<p class='note'>This run used no facts from the table.</p>"
    body = "".join(
        f"<tr class='{'d1' if r['depth'] else ''}'><td>{html.escape(r['where'])}</td>"
        f"<td class='{'d1' if r['depth'] else ''}'>{'← ' if r['depth'] else ''}{html.escape(r['fact'])}</td>"
        f"<td>{html.escape(str(r['value']))} {html.escape(r['unit'])}</td><td>{html.escape(r['grade'])}</td>"
        f"<td>{html.escape(r['source'])}</td></tr>"
        for r in rows
    )
    return (
        "<table class='prov'><tr><th class='l'>used at</th><th class='l'>fact</th><th class='l'>value</th>"
        f"<th class='l'>grade</th><th class='l'>source</th></tr>{body}</table>"
    )


def render(run: RunData, year: int | None = None, computed: str | None = None) -> str:
    """The whole report as one HTML string; plotly.js is inlined once, with the first chart.
    `computed`: the id of a sensitivity run made for this report (its section says so)."""
    from repm.reports.hangs.section import section_html

    year = pick_year(run, year)
    figs = build_all(run, year)
    titles = {"sankey": f"Element flows in {year}", "environment": "Environment"}
    titles |= {k: t for k, t, _ in CORE + OPTIONAL}
    missing = [
        titles[k] for k in ("sankey", *(k for k, _, _ in CORE), "environment") if figs[k] is None
    ]
    parts, first = [], True
    for key, fig in figs.items():
        if fig is None:
            continue
        div = _figure_div(fig, key, first)
        first = False
        parts.append(f"<section id='{key}'><h2>{html.escape(titles[key])}</h2>{div}</section>")
    inline = [first]  # no chart above: the section's first chart carries plotly.js

    def div(fig: go.Figure, key: str) -> str:
        text = _figure_div(fig, key, inline[0])
        inline[0] = False
        return text

    hangs = section_html(run, div, computed)
    m = run.meta
    facts = provenance_rows(run.scenario_raw, load_facts())
    meta_rows = {
        "run": run.run_id, "command": m.get("command"), "scenario": m.get("scenario"),
        "source": m.get("source"), "overrides": ", ".join(m.get("overrides") or []) or "none",
        "draws, seed": f"{m.get('draws')}, {m.get('seed')}", "plan": m.get("plan") or "none",
        "created": m.get("created_at"), "repm version": m.get("version"),
    }  # fmt: skip
    meta_html = "".join(
        f"<tr><th class='l'>{k}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in meta_rows.items()
    )
    note = (
        f"<p class='note'>Not in this {html.escape(str(m.get('command')))} run: {html.escape(', '.join(missing))}"
        " (a <code>repm run</code> stores flows and supply indicators).</p>"
        if missing
        else ""
    )
    nav = "".join(
        f"<a href='#{k}'>{html.escape(titles[k])}</a>" for k, f in figs.items() if f is not None
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>repm report · {html.escape(str(m.get("scenario")))} · {run.run_id}</title>
<style>{_CSS}</style></head><body>
<h1>repm report · {html.escape(str(m.get("scenario")))}</h1>
<p class="note">Written {dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")} from the run folder {html.escape(str(run.path))}.
Every chart reads stored runs: this one, and under "What this answer hangs on" the latest
sensitivity, uncertainty, risk and voi runs of its scenario.</p>
<table class="meta">{meta_html}</table>
<nav>{nav}<a href="#hangs">What it hangs on</a><a href="#indicators">Indicators</a><a href="#provenance">Provenance</a></nav>
{note}
{"".join(parts)}
<section id="hangs"><h2>What this answer hangs on</h2>{hangs}</section>
<section id="indicators"><h2>Indicators (totals)</h2>{_table_html(run)}</section>
<section id="provenance"><h2>Appendix: provenance</h2>
<p class="note">Every fact this run used: where the scenario (or a risk preset, or the engine) reads it,
its value, reliability grade and sources; indented rows are the facts a derived fact comes from.
Values set in the scenario or by <code>--set</code> without a fact are not listed.</p>
{_provenance_html(facts)}</section>
</body></html>
"""


def _figure_div(fig: go.Figure, key: str, with_js: bool) -> str:
    return fig.to_html(
        full_html=False, include_plotlyjs=True if with_js else False, div_id=f"fig-{key}",
        config={"displaylogo": False, "responsive": True},
    )  # fmt: skip


def report_target(run: RunData, out: Path | None) -> Path:
    """Where the report goes (checked before any work): by default report-RUN_ID.html in the
    current folder (not the run folder: plotly.js alone is ~5 MB, and run folders stay small)."""
    target = out if out is not None else Path(f"report-{run.run_id}.html")
    if target.is_dir() or not target.parent.exists():
        raise UserError(
            f"{str(target)!r}; expected a file path in an existing folder", where="--out"
        )
    return target


def write_report(
    run: RunData, out: Path | None, year: int | None = None, computed: str | None = None
) -> Path:
    """Write the report and return its path (`report_target`)."""
    target = report_target(run, out)
    text = render(run, year, computed)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
