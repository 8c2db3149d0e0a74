"""Results: the engine's Dataset plus a tidy indicator table (year, name, value, unit, dims).

Everything downstream (CLI tables, JSON, run store, explain) reads these two; nothing
recomputes. Indicators are means over draws (the baseline has one draw).

`build_results` computes the chain's own flows here (demand, production, imports, unmet demand,
oxide, monazite, import dependence and concentration) and calls the groups computed beside it:
elements.py (element content, oxide per t of magnet, magnet prices; monazite's whole basket),
sourcing.py (routes, whose rare earths, GeoPolRisk) and environment.py (the ledger).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from repm.chain import Chain
from repm.results import indicators
from repm.results.elements import basket, element_content
from repm.results.environment import ledger
from repm.results.indicators import IndicatorTable, over_draws, ratio
from repm.results.sourcing import content_shares, geopolrisk, hhi, routes
from repm.simulate.engine import SimOutput, StackedRun, Unlabelled

# the tables and units are declared once, in repm.indicators
HEADLINE = tuple((i.name, i.label) for i in indicators.table("headline"))
UNITS = {n: i.unit for n, i in indicators.REGISTRY.items()}


@dataclass(frozen=True)
class Results:
    data: xr.Dataset
    indicators: pd.DataFrame
    scenario: str

    @property
    def table(self) -> IndicatorTable:
        return IndicatorTable(self.indicators)

    def value(self, name: str, year: int, **dims: str) -> float:
        rows = self.table.select(name, **dims)
        rows = rows[rows["year"] == year]
        if len(rows) != 1:
            raise KeyError(f"no single indicator {name} {year} {dims}")
        return float(rows["value"].iloc[0])

    def wide_totals(self) -> pd.DataFrame:
        """year × name: the indicators without a dimension key (the totals)."""
        return self.table.wide()

    def indicator_records(self) -> list[dict]:
        return self.table.records()


def build_results(chain: Chain, out: SimOutput, only: Collection[str] | None = None) -> Results:
    """The indicator table of a run. `only`: the indicators whose totals a caller reads: no other
    rows are made, and the computation stops once each has its total (`_compute`) — those
    totals are the full table's, bit for bit."""
    years = out.data.year.values
    rows: list[dict] = []
    wanted = None if only is None else frozenset(only)
    totals: set[str] = set()

    def add(name: str, values, **dims: str) -> None:
        if wanted is not None and name not in wanted:
            return
        if not dims:
            totals.add(name)
        vals = np.asarray(values, dtype=float)
        for y, v in zip(years, vals, strict=True):
            rows.append(
                {"year": int(y), "name": name, "value": float(v), "unit": UNITS[name], **dims}
            )

    _compute(chain, out, add, None if wanted is None else lambda: wanted <= totals)
    return Results(data=out.data, indicators=IndicatorTable(rows).frame, scenario=chain.name)


def indicator_totals(
    chain: Chain, out: SimOutput | Unlabelled, names: Collection[str]
) -> dict[str, np.ndarray]:
    """name → its total by year, for these indicators only (a parameter sample's outputs): the
    values `build_results(chain, out, only=names)` puts in its table, without building one.
    An indicator with no total in this run is absent. `out` may be the run unlabelled
    (`engine.unlabelled`): the first indicators read its arrays as they are, the rest its
    Dataset (`_compute`)."""
    wanted = frozenset(names)
    got: dict[str, np.ndarray] = {}

    def add(name: str, values, **dims: str) -> None:
        if not dims and name in wanted:
            got[name] = np.asarray(values, dtype=float)

    _compute(chain, out, add, lambda: wanted <= got.keys())
    return got


def block_totals(chain, run: StackedRun, names: Sequence[str], n: int) -> np.ndarray | None:
    """sets × names × years: each of these indicators' totals in each of a block's `n` runs
    (`run`, side by side; `chain`: its `BlockChain`) — `indicator_totals` of each set's run, bit
    for bit, in one pass of `_compute` for all sets. None where one of `names` is not among what
    a block reads (the chain's own flows and the content shares): read each set's run then."""
    wanted = frozenset(names)
    got: dict[str, np.ndarray] = {}
    years = len(run.variables["year"].values)

    def add(name: str, values, **dims: str) -> None:
        if not dims and name in wanted:
            got[name] = np.broadcast_to(np.asarray(values, dtype=float), (n, years))

    _compute(chain, run, add, lambda: wanted <= got.keys())
    if not wanted <= got.keys():
        return None
    return np.stack([got[name] for name in names], axis=1)


def _compute(chain: Chain, out: SimOutput | Unlabelled | StackedRun, add, done) -> None:
    """Every indicator of a run, each handed to `add(name, values by year, **dims)`. `done`:
    None for the whole table; else a test whether the caller has what it wants — then the groups
    beside the chain's own flows run cheapest first and the computation stops once it is true.
    The chain's own flows and the content shares read `ds.variables` alone, so an unlabelled
    run is labelled only when the caller wants a group that reads more (`lab`); a block's runs
    side by side (`StackedRun`, `chain` its `BlockChain`) are read that far only."""
    ds: Any = out if isinstance(out, Unlabelled | StackedRun) else out.data
    for name, var in ds.variables.items():  # the numpy below reads the engine's layouts
        if "draw" in var.dims and var.ndim > 1 and var.dims[:2] != ("draw", "year"):
            raise ValueError(
                f"expected the engine's Dataset ({name}: draw × year × …); got {var.dims}"
            )
    if "draw" not in ds.variables["unmet"].dims:
        raise ValueError("expected the engine's Dataset (unmet: draw × year × …)")
    partial = done is not None
    if done is None:
        done = lambda: False  # noqa: E731

    # numpy on the Dataset's known layouts where a parameter sample reads (xarray's selections
    # cost ~50× the arithmetic); selections keep xarray's memory order, so sums add alike. Axes
    # count from the last: a block's runs side by side (`StackedRun`: a set axis before each
    # array's dims) give each set's numbers, bit for bit (tests/test_block_run.py)
    v = lambda name: ds.variables[name].values  # noqa: E731
    mean = lambda name: over_draws(ds.variables[name])  # noqa: E731 - draw first
    mi = {m: i for i, m in enumerate(chain.materials)}
    bare_v, emb_v = v("demand_bare"), v("demand_embedded")  # year × sector × grade
    total_demand = (bare_v + emb_v).sum(axis=(-2, -1))
    prod = v("production").sum(axis=(-2, -1)).mean(axis=-2)  # draw × year × feed × grade
    by = mean("imports")  # year × origin × material
    mag_idx = [mi[m] for m in chain.model.names(kind="magnet")]
    emb_idx = [mi[m] for m in chain.model.names(kind="embedded")]
    imp_bare = by[..., mag_idx].sum(axis=(-2, -1))
    imp_emb = by[..., emb_idx].sum(axis=(-2, -1))
    imp_total = imp_bare + imp_emb

    add("magnet_demand", total_demand)
    add("magnet_demand_bare", bare_v.sum(axis=(-2, -1)))
    add("magnet_demand_embedded", emb_v.sum(axis=(-2, -1)))
    add("magnet_production_domestic", prod)
    add("magnet_imports", imp_total)
    add("magnet_imports_bare", imp_bare)
    add("magnet_imports_embedded", imp_emb)
    add("magnet_capacity", v("capacity").sum(axis=-1))
    add("magnet_capacity_nameplate", chain.capacity_nameplate.values.sum(axis=-1))
    if done():
        return
    # year × origin: magnets imported bare or embedded, by origin (xarray's isel-then-sum order)
    mag_origin = np.ascontiguousarray(by[..., mag_idx + emb_idx]).sum(axis=-1)
    unmet = mean("unmet")  # year × sector × grade
    add("unmet_demand", unmet.sum(axis=(-2, -1)))
    exported = mean("magnet_exports")  # year × grade, Indian magnets sold abroad
    exported_total = exported.sum(axis=-1)
    add("magnet_exports", exported_total)
    for gi, g in enumerate(chain.grades):
        add("magnet_exports", exported[..., gi], grade=g)
    add("self_sufficiency", ratio(prod - exported_total, total_demand))
    china = (
        by[..., chain.origins.index("China"), mag_idx + emb_idx].sum(axis=-1)
        if "China" in chain.origins
        else np.zeros(imp_total.shape)
    )
    add("import_share_china", ratio(china, imp_total))
    if done():
        return
    add("ndpr_oxide_required", mean("ndpr_oxide_required"))
    add("ndpr_oxide_domestic", v("separation_output"))
    add("ndpr_oxide_to_units", mean("irel_to_units"))
    for mat, name in (
        ("ndpr_oxide", "ndpr_oxide_imports"),
        ("dy_oxide", "dy_oxide_imports"),
        ("tb_oxide", "tb_oxide_imports"),
    ):
        add(name, by[..., mi[mat]].sum(axis=-1))
    add("monazite_processed", v("monazite_processed"))
    if not partial:
        basket(chain, add)
    flow_names = list(ds.variables["flow"].values)  # flows: draw × year × flow × element
    th = v("flows")[..., flow_names.index("cracking_residue"), chain.elements.index("Th")]
    add("thorium_residue", th.mean(axis=-2))  # draw × year
    add("in_use_stock", mean("in_use_stock").sum(axis=(-2, -1)))
    add("end_of_life", mean("eol").sum(axis=(-2, -1)))
    add(
        "demand_calibration_factor",
        ratio(chain.demand_total.values.sum(axis=-1), chain.demand_bottom_up.values.sum(axis=-1)),
    )
    add("mass_balance_residual", np.abs(v("residual")).max(axis=(-4, -2, -1)))
    # supply-risk indicators: how much comes from abroad, and how concentrated the sources are
    tolled = mean("tolled").sum(axis=-1)  # India's oxide, made abroad: not imported
    add("import_dependence_magnets", ratio(imp_total, imp_total + prod + tolled))
    ndpr_imp = by[..., mi["ndpr_oxide"]].sum(axis=-1)
    ndpr_used = mean("feed_used")[..., mi["ndpr_oxide"]]
    add("import_dependence_ndpr_oxide", ratio(ndpr_imp, ndpr_used))
    add("hhi_magnet_imports", hhi(mag_origin))
    add("hhi_ndpr_oxide_imports", hhi(by[..., mi["ndpr_oxide"]]))
    if isinstance(ds, StackedRun):  # of the groups below, a block reads the content shares
        if not done():
            content_shares(chain, ds, add, by)
        return

    labelled: list = []  # the run's Dataset, labelled for the groups that read more than arrays

    def lab():
        if not labelled:
            labelled.append(ds.dataset() if isinstance(ds, Unlabelled) else ds)
        return labelled[0]

    groups = [
        lambda: routes(chain, lab(), add, prod),
        lambda: element_content(chain, lab(), add),
        lambda: content_shares(chain, ds, add, by),  # `ds.variables` alone
        lambda: geopolrisk(chain, lab(), add, prod, by),
        lambda: ledger(chain, lab(), add, prod, by),
    ]
    if partial:  # cheapest first: the content shares read what a block's SampleChain holds,
        # the basket is the chain's alone (a block's compiles it), routes read most arrays
        groups = [groups[2], lambda: basket(chain, add), groups[1], groups[0], *groups[3:]]
    for group in groups:
        if done():
            return
        group()

    for si, s in enumerate(chain.sectors):
        add("magnet_demand", (bare_v + emb_v)[:, si].sum(axis=1), sector=s)
        add("unmet_demand", unmet[:, si].sum(axis=1), sector=s)
    for oi, o in enumerate(chain.origins):
        add("magnet_imports", mag_origin[:, oi], origin=o)


def run_scenario(loaded, step: str = "monthly", plan=None, shocks=None) -> tuple[Chain, Results]:
    """Scenario → chain → simulate → results, the one data flow."""
    from repm.chain import compile_chain
    from repm.simulate.engine import simulate

    chain = compile_chain(loaded.scenario)
    return chain, build_results(chain, simulate(chain, plan=plan, shocks=shocks, step=step))
