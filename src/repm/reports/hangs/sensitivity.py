"""A stored sensitivity run's indices (factor in the `channel` key): the drivers `repm explain`
names and the Sobol (or Morris) bars of the report and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go

from repm.reports.hangs.stored import OTHER, Stored, as_int, indicators, stored_runs
from repm.results.store import RunData

MAX_ANSWERS = 8  # sensitivity answers shown (latest first)
TOP = 3  # drivers named by `repm explain`


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
    df = indicators(stored)
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
        unit=str(meta.get("unit") or ""), method=method, samples=as_int(meta.get("samples")),
        evaluations=as_int(meta.get("evaluations")), created_at=str(meta.get("created_at") or "")[:19],
        factors=got, same_settings=getattr(stored, "same_settings", True),
        warnings=[str(w) for w in meta.get("warnings") or [] if isinstance(w, str)],
    )  # fmt: skip


def _order(ix: Indices) -> tuple:
    kind = 0 if ix.output == "unit_npv" else 1
    return (kind, ix.output, ix.year or 0)


def sensitivity_runs(
    scenario: str | None,
    scenario_hash: str | None,
    *,
    methods=("sobol", "morris"),
    computed: str | None = None,
) -> list[Indices]:
    """The latest stored sensitivity run per (output, year) of the scenario, of the first of
    `methods` stored for it: Sobol's shares of variance where there are both, Morris's screening
    where that is all there is."""
    best: dict[tuple, Indices] = {}
    for s in stored_runs("sensitivity", scenario, scenario_hash):
        key = (s.meta.get("output"), s.meta.get("year"))
        method = s.meta.get("method", "sobol")
        if method not in methods:
            continue
        have = best.get(key)
        if have is not None and methods.index(have.method) <= methods.index(method):
            continue
        if have is None and len(best) >= MAX_ANSWERS:
            continue
        ix = read_indices(s)
        if ix is not None:
            best[key] = _mark(ix, computed)
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
    """Total-order (with its 95 % half-width) and first-order indices by factor, largest on top;
    for a Morris run, mu* (with its 95 % half-width) in the output's unit, and sigma beside it
    where the run has one (a run over single facts; SALib estimates none for a group)."""
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
                    error_x={"type": "data", "array": [f.get("mu_star_conf", 0.0) for f in fs]},
                    marker_color="#1f77b4")  # fmt: skip
        # sigma: the spread of a factor's effects (interactions, curvature); SALib gives none for
        # a group of facts (stored as 0), so the bar is drawn only where some factor has one
        if any(f.get("sigma", 0.0) > 0 for f in fs):
            fig.add_bar(y=names, x=[f.get("sigma", 0.0) for f in fs], orientation="h",
                        name="sigma (spread of the effects)", marker_color="#aec7e8")  # fmt: skip
        # SALib's effect is a step's change ÷ the step (2/3 of the range at 4 levels)
        xtitle = f"mean |elementary effect|: change over a factor's whole range [{ix.unit}]"
    unit = f" [{ix.unit}]" if ix.unit else ""
    runs = "samples" if ix.method == "sobol" else "trajectories"
    fig.update_layout(
        title=f"{ix.label}{unit}: what it hangs on ({ix.method}, {ix.samples} {runs})"
        + ("" if ix.same_settings else OTHER),
        template="plotly_white", barmode="group", xaxis_title=xtitle,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
        height=max(300, 110 + 46 * len(fs)), margin={"l": 180, "r": 20, "t": 80, "b": 50},
    )  # fmt: skip
    return fig
