"""How the CLI shows a command's outcome: rich tables and one-line notes, nothing computed.

Every function takes what a `repm.app` command returned and prints it; the numbers are the ones
in the outcome's `--json` payload and indicator table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text


def _out_options() -> dict:
    return {"soft_wrap": True, "width": None if sys.stdout.isatty() else 160}


_ERR_OPTIONS = {"stderr": True, "soft_wrap": True}
out = Console(**_out_options())
err = Console(**_ERR_OPTIONS)


def reattach() -> None:
    """Both consoles made again, in place, for this process's streams and environment: in a fork
    of the resident process (repm.resident) they were made looking at its /dev/null (no
    terminal, no colour); the modules that imported them keep the same objects."""
    out.__init__(**_out_options())  # type: ignore[misc]
    err.__init__(**_ERR_OPTIONS)  # type: ignore[misc]


# C0 and C1 control characters (terminal escape sequences start with one) and bidi overrides
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(value: object) -> str:
    """User data (a scenario name, a run id, a path) as it may reach a terminal: control
    characters shown as \\xNN, so an escape sequence in a name prints as text."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def plain(value: object) -> Text:
    """User data for a rich table cell or title: never read as markup, never a terminal escape."""
    return Text(safe(value))


def note(text: str) -> None:
    """One plain line (no markup, no highlighting; control characters shown, not sent)."""
    out.print(safe(text), highlight=False, markup=False)


def titled(*parts: object) -> Text:
    """A table title or caption from plain parts: a scenario name or a path in it is data."""
    return Text.assemble(*(safe(p) for p in parts))


def progress(total: int, label: str):
    """A draws-done progress bar on stderr (silent when stderr is not a terminal). With total 0
    the bar counts without an end (the stockpile search runs an unknown number of candidates)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    # redrawn when advanced, from the caller's thread: no refresh thread, so a command may fork
    # worker processes beside the bar (repm.analyses.uncertainty.pool)
    prog = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, disable=not sys.stderr.isatty(), transient=True, auto_refresh=False,
    )  # fmt: skip
    task = prog.add_task(label, total=total or None)

    def advance(n: int) -> None:
        prog.advance(task, n)
        prog.refresh()

    return prog, advance


# --- run ---------------------------------------------------------------------------------------


def _wrap(label: str, width: int = 12) -> str:
    """A long column label on two lines, broken at the space nearest its middle."""
    if len(label) <= width or " " not in label:
        return label
    mid = len(label) / 2
    at = min((i for i, c in enumerate(label) if c == " "), key=lambda i: abs(i - mid))
    return label[:at] + "\n" + label[at + 1 :]


def _header(label: str, unit: str) -> str:
    """A column title with its unit underneath (escaped: rich would eat `[t]` as markup)."""
    return escape(f"{label}\n[{'%' if unit == 'fraction' else unit}]")


def block(results, table_name: str, title: str, skip_zero: bool = False) -> None:
    """The registry's table `table_name` (repm.indicators.TABLES) as columns by year; with
    skip_zero, columns that are zero throughout are left out (nothing printed when all are)."""
    from repm.results.indicators import table as declared

    wide = results.wide_totals()
    shown = [
        i for i in declared(table_name)
        if i.name in wide and not (skip_zero and (wide[i.name] == 0).all())
    ]  # fmt: skip
    if not shown:
        return
    table = Table(title=title, header_style="bold")
    table.add_column("year", justify="right")
    for i in shown:
        table.add_column(_header(_wrap(i.label), i.unit), justify="right")
    for year, row in wide.iterrows():
        table.add_row(str(year), *[i.format(row[i.name]) for i in shown])
    out.print(table)


def headline(results, name: str, run_id: str | None, path: Path | None) -> None:
    """The registry's headline table by year; the mass-balance residual goes in the caption."""
    from repm.results.indicators import get
    from repm.results.indicators import table as declared

    wide = results.wide_totals()
    residual = get("mass_balance_residual")
    caption = Text.assemble(
        titled(
            f"largest mass-balance residual {residual.format(float(wide[residual.name].max()))} "
            f"t · run {run_id}"
        ),
        "\n→ ",
        titled(path),
    )
    shown = [i for i in declared("headline") if i.name != residual.name]
    table = Table(title=titled("repm run · ", name), caption=caption, header_style="bold")
    table.add_column("year", justify="right")
    for i in shown:
        table.add_column(_header(i.label, i.unit), justify="right")
    for year, row in wide.iterrows():
        table.add_row(str(year), *[i.format(row[i.name]) for i in shown])
    out.print(table)


def sectors(results) -> None:
    df = results.indicators
    sec = df[df["sector"].notna()]
    for name in ("magnet_demand", "unmet_demand"):
        wide = sec[sec["name"] == name].pivot(index="year", columns="sector", values="value")
        table = Table(title=f"{name} by sector [t]")
        table.add_column("year", justify="right")
        for c in wide.columns:
            table.add_column(c, justify="right")
        for year, row in wide.iterrows():
            table.add_row(str(year), *[f"{v:,.0f}" for v in row])
        out.print(table)


def run(done, by_sector: bool = False, ledger: bool = False, basket: bool = False) -> None:
    results, loaded = done.results, done.loaded
    headline(results, loaded.name, done.run_id, done.path)
    if loaded.scenario.routes.model_dump(exclude_defaults=True):  # the scenario uses a route
        block(results, "routes", "routes: tolling, overseas sources, retention, buyer support",
              skip_zero=True)  # fmt: skip
    if ledger:
        block(results, "supply_risk", "supply risk")
        block(results, "ledger",
              "environmental ledger (mostly assumed intensities: docs/model.md)")  # fmt: skip
    if basket:
        block(results, "basket",
              "monazite's basket: REO and co-products in t oxide, phosphate in t P2O5 (docs/model.md)")  # fmt: skip
    if by_sector:
        sectors(results)


def stored(done) -> str:
    """Where the run went, for a caption."""
    return f"run {done.run_id}\n→ {done.path}" if done.run_id else "not stored"


# --- risk, stockpile ---------------------------------------------------------------------------

VEHICLES = ("ev_cars_not_built", "e2w_not_built")  # shown beside the risk table when present


def risk(done) -> None:
    """The registry's risk table by year, and the vehicles the unmet magnets would have gone into."""
    from repm.results.indicators import get
    from repm.results.indicators import table as declared

    df, p = done.results.indicators, done.payload
    tot = df[df["sector"].isna()].pivot(index="year", columns="name", values="value")
    worst = float(tot["mass_balance_residual"].max())
    t = Table(
        title=titled("repm risk · ", p["scenario"], f" · {p['draws']:,} draws, seed {p['seed']}"),
        caption=f"largest mass-balance residual {worst:.1e} t · {stored(done)}",
        header_style="bold",
    )
    cols = [i for i in declared("risk") if i.name in tot]
    vehicles = [get(v) for v in VEHICLES if v in tot]
    t.add_column("year", justify="right")
    for i in cols:
        t.add_column(_header(i.label, i.unit), justify="right")
    for i in vehicles:
        words = i.label.split()  # "EV cars" over "not built"
        t.add_column(" ".join(words[:-2]) + "\n" + " ".join(words[-2:]), justify="right")
    for year, row in tot.iterrows():
        t.add_row(str(year), *[i.format(row[i.name]) for i in cols + vehicles])
    out.print(t)
    if "expected_unmet" in tot:
        from repm.reports.hangs.sure import risk_line

        unmet = {int(y): float(v) for y, v in tot["expected_unmet"].items()}
        note(risk_line(unmet, done.loaded.name, done.loaded.hash))


def stockpile(done) -> None:
    p, res = done.payload, done.tables["sized"]
    t = Table(
        title=titled(
            "repm stockpile · ", p["scenario"], f" · service level {p['service_level']:.1%}"
        ),
        header_style="bold",
    )
    t.add_column("material")
    t.add_column("stockpile [t]", justify="right")
    for m, v in res.stockpile.items():
        t.add_row(plain(m), f"{v:,.1f}")
    out.print(t)
    tol = p.get("tolerance", 0.0)
    counted = f", a year with ≤ {tol:g} t unmet counted as none" if tol > 0 else ""
    note(
        f"P(no shortage {done.tables['horizon']}{counted}): {res.achieved:.1%} · holding cost "
        f"{res.holding_cost:,.1f} crore INR/yr · {res.note}"
    )
    w = p.get("worth")
    if w is not None:
        from repm.model.units import inr

        verdict = (
            f"it pays if a kilogram unmet costs ≥ {inr(w['breakeven_penalty'])}; at "
            f"policy.unmet_penalty {inr(w['unmet_penalty'])}/kg "
            + ("it pays" if w["pays"] else "it does not pay")
            if w["breakeven_penalty"] is not None
            else "it never pays: it avoids no unmet demand"
        )
        note(
            f"worth it? ₹{w['holding_cost_pv']:,.0f} crore to hold ({done.tables['horizon']}, "
            f"discounted at {w['discount_rate']:.0%}) against {w['unmet_avoided']:,.1f} t of unmet "
            f"demand avoided (discounted): {verdict}"
        )
    from repm.reports.hangs.sure import stockpile_line

    note(stockpile_line(p["service_level"], done.loaded.name, done.loaded.hash))
    note(stored(done).replace("\n", " "))


# --- plan --------------------------------------------------------------------------------------


def plan(done, cvar: float, units: bool, save_plan: Path | None, scenarios: int = 0) -> None:
    p, res, sim = done.payload, done.tables["plan"], done.tables["simulated"]
    t = Table(
        title=titled(
            "repm plan · ", p["scenario"], f" · {res.scenarios} scenario(s), CVaR weight {cvar:g}"
        ),
        header_style="bold",
    )
    cols = ["year", "capacity [t/yr]", "added [t/yr]", "E(unmet) [t]",
            "value of 1 t/yr more [crore INR]"] + (["E(unmet) simulated [t]"] if sim else [])  # fmt: skip
    for col in cols:
        t.add_column(escape(col), justify="right")
    by: dict[int, dict[str, float]] = {}
    for r in p["indicators"]:
        by.setdefault(r["year"], {})[r["name"]] = r["value"]
    for year, v in by.items():
        cells = [
            str(year), f"{v['magnet_capacity']:,.0f}", f"{max(v['capacity_added'], 0.0):,.0f}",
            f"{max(v['expected_unmet'], 0.0):,.1f}", f"{v['capacity_value']:,.3f}",
        ]  # fmt: skip
        if sim:
            cells.append(f"{v['expected_unmet_simulated']:,.1f}")
        t.add_row(*cells)
    out.print(t)
    c = res.costs
    note(
        f"objective {res.objective:,.0f} crore INR (discounted): capex {c['capex']:,.0f}, "
        f"stockpile {c['stockpile']:,.0f}, operations {c['operations_expected']:,.0f}"
    )
    held = ", ".join(f"{m} {v:,.0f} t" for m, v in res.stockpile.items() if v > 1e-6)
    note(f"strategic stockpile: {held or 'none'}")
    if units:
        built = "; ".join(
            f"unit {u['unit']}: {u['capacity']:,.0f} t/yr from {u['online']}" for u in res.units
        )
        note(f"units built: {built or 'none'}")
    china = ", ".join(f"{m} {v.get('China', 0):.0%}" for m, v in res.import_shares.items())
    note(f"China's share of imports: {china}")
    routes = res.routes or {}
    for key, what, unit in (
        ("tolled", "tolling", "t/yr of magnets"),
        ("overseas_oxide", "overseas", "t/yr of NdPr oxide"),
    ):
        if f"{key}_contract" in routes:
            peak = ", ".join(f"{n} {v:,.0f}" for n, v in routes[f"{key}_contract"].items())
            total = sum(routes[f"{key}_expected"].values())
            note(
                f"{what}: contract needed {peak} {unit}; expected use {total:,.0f} t over the horizon"
            )
    if save_plan is not None:
        note(f"plan written to {save_plan}")
    if not units:  # voi plan values the LP's build-out, not whole units
        from repm.reports.hangs.sure import plan_line

        note(plan_line(scenarios, cvar, done.loaded.name, done.loaded.hash))
    note(stored(done).replace("\n", " "))


# --- finance -----------------------------------------------------------------------------------


def finance(done) -> None:
    x, p = done.tables, done.payload
    scale, money, check = x["scale"], x["money"], x["check"]
    t = Table(title=titled("repm finance · ", p["scenario"], f" · {x['price']} price"),
              header_style="bold")  # fmt: skip
    for col in ("unit", "t/yr", "SLI bid\n₹/kg", f"NPV\n{money}", "IRR", "payback\nyears",
                "LCOM\n₹/kg", "subsidy\n₹/kg"):  # fmt: skip
        t.add_column(escape(col), justify="right")
    for r in x["units"]:
        t.add_row(
            plain(r["unit_id"]), f"{r['capacity']:,.0f}", f"{r['sli_bid']:,.0f}", f"{r['npv']:,.0f}",
            "—" if r["irr"] is None else f"{r['irr']:.1%}",
            "—" if r["payback_years"] is None else f"{r['payback_years']:.0f}",
            f"{r['lcom']:,.0f}" if r["lcom"] else "—", f"{r['subsidy_per_kg']:,.0f}" if r["subsidy_per_kg"] else "—",
        )  # fmt: skip
    out.print(t)
    for r in x["units"]:
        if "breakeven_note" in r:
            note(f"{r['unit_id']}: {r['breakeven_note']}")
        if "npv_percentiles" in r:
            q = r["npv_percentiles"]
            note(
                f"{r['unit_id']}: NPV over {q['draws']:,} price paths — P5 {q['p05']:,.0f}, "
                f"P50 {q['p50']:,.0f}, P95 {q['p95']:,.0f} {money}"
            )
        if "sensitivity" in r:
            st = Table(title=titled(r["unit_id"], ": NPV sensitivity (±20 %)"), header_style="bold")
            for col in ("lever", "NPV at −20 %", "NPV at +20 %"):
                st.add_column(col, justify="right")
            for s_ in r["sensitivity"]:
                st.add_row(plain(s_["lever"]), f"{s_['npv_low']:,.0f}", f"{s_['npv_high']:,.0f}")
            out.print(st)
    ot = Table(title=escape(f"scheme outlay [{money}]"), header_style="bold")
    for col in ("year", "SLI", "capital subsidy", "total"):
        ot.add_column(col, justify="right")
    for r in x["outlay"].itertuples():
        ot.add_row(str(r.year), f"{r.sli * scale:,.0f}", f"{r.capital_subsidy * scale:,.0f}",
                   f"{r.total * scale:,.0f}")  # fmt: skip
    out.print(ot)
    flag = "[bold red]BREACH[/]" if check["breach"] else "within"
    out.print(
        f"total {check['total'] * scale:,.0f} of {check['outlay_cap'] * scale:,.0f} {money} ({flag}): "
        f"SLI {check['sli'] * scale:,.0f} of {check['sli_cap'] * scale:,.0f}, capital subsidy "
        f"{check['capital_subsidy'] * scale:,.0f} of {check['capital_subsidy_cap'] * scale:,.0f}"
    )
    routes_df = x["routes"]
    if len(routes_df):
        labels = x["route_labels"]
        rt = Table(title=escape(f"beside the scheme: routes [{money}]"), header_style="bold")
        rt.add_column("year", justify="right")
        cols = [c for c in routes_df.columns if c != "year"]
        for c in cols:
            rt.add_column(labels[c], justify="right")
        for r in routes_df.to_dict("records"):
            rt.add_row(str(int(r["year"])), *[f"{r[c] * scale:,.1f}" for c in cols])
        out.print(rt)
    sep = x["separation"]
    if len(sep):
        st = Table(title=escape(f"IREL's separation, at market prices [{money}]"),
                   caption="before operating costs (not sourced); `repm run --basket` for tonnes",
                   header_style="bold")  # fmt: skip
        cols = [c for c in sep.columns if c != "year"]
        labels = {"ndpr_oxide_revenue": "NdPr oxide", "coproduct_revenue": "co-products",
                  "thorium_storage_cost": "Th storage", "margin_before_opex": "margin"}  # fmt: skip
        st.add_column("year", justify="right")
        for c in cols:
            st.add_column(labels.get(c, c), justify="right")
        for r in sep.to_dict("records"):
            st.add_row(str(int(r["year"])), *[f"{r[c] * scale:,.1f}" for c in cols])
        out.print(st)
    if x["units"]:
        from repm.reports.hangs.sure import finance_line

        note(finance_line(x["units"][0]["unit_id"], done.loaded.name, done.loaded.hash))
    note(stored(done).replace("\n", " "))


# --- compare -----------------------------------------------------------------------------------


def compare(done) -> None:
    from repm.reports.compare import num

    runs = done.runs
    caption = Text("\n").join(
        titled(f"{i + 1}: {r.run_id} ({r.meta.get('command')})") for i, r in enumerate(runs)
    )
    t = Table(title=f"repm compare · {done.year}", caption=caption, header_style="bold")
    t.add_column("indicator")
    t.add_column("unit")
    for i, r in enumerate(runs):
        t.add_column(titled(f"{i + 1}: ", r.meta.get("scenario")), justify="right")
    for i in range(2, len(runs) + 1):
        t.add_column(f"Δ {i} − 1", justify="right")
    for (name, unit), row in done.table.iterrows():
        t.add_row(plain(name), plain(unit), *[num(v) for v in row.values])
    out.print(t)
    if done.html is not None:
        note(f"diff chart written to {done.html.resolve()}")
