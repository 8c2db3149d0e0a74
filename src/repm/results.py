"""Results: the engine's Dataset plus a tidy indicator table (year, name, value, unit, dims).

Everything downstream (CLI tables, JSON, run store, explain) reads these two; nothing
recomputes. Indicators are means over draws (the baseline has one draw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from repm.chain import Chain
from repm.engine import SimOutput

HEADLINE = (
    ("magnet_demand", "Demand"),
    ("magnet_capacity", "Capacity"),
    ("magnet_production_domestic", "Domestic"),
    ("magnet_imports", "Imports"),
    ("unmet_demand", "Unmet"),
    ("self_sufficiency", "Self-suff."),
    ("import_share_china", "China share"),
    ("ndpr_oxide_required", "NdPr ox. need"),
    ("ndpr_oxide_domestic", "NdPr ox. dom."),
    ("monazite_processed", "Monazite"),
    ("thorium_residue", "Th residue"),
    ("mass_balance_residual", "Max residual"),
)

UNITS = {
    "magnet_demand": "t",
    "magnet_demand_bare": "t",
    "magnet_demand_embedded": "t",
    "magnet_production_domestic": "t",
    "magnet_imports": "t",
    "magnet_imports_bare": "t",
    "magnet_imports_embedded": "t",
    "magnet_capacity": "t/yr",
    "magnet_capacity_nameplate": "t/yr",
    "unmet_demand": "t",
    "self_sufficiency": "fraction",
    "import_share_china": "fraction",
    "ndpr_oxide_required": "t",
    "ndpr_oxide_domestic": "t",
    "ndpr_oxide_to_units": "t",
    "ndpr_oxide_imports": "t",
    "dy_oxide_imports": "t",
    "tb_oxide_imports": "t",
    "monazite_processed": "t",
    "thorium_residue": "t",
    "in_use_stock": "t",
    "end_of_life": "t",
    "demand_calibration_factor": "1",
    "mass_balance_residual": "t",
    "import_dependence_magnets": "fraction",
    "import_dependence_ndpr_oxide": "fraction",
    "hhi_magnet_imports": "1",
    "hhi_ndpr_oxide_imports": "1",
}


def hhi(volumes: np.ndarray, axis: int = -1) -> np.ndarray:
    """Herfindahl–Hirschman index of supply shares along `axis` (1 = one source, 1/n = n equal
    sources); 0 where nothing is supplied."""
    v = np.asarray(volumes, dtype=float)
    total = v.sum(axis=axis, keepdims=True)
    shares = np.divide(v, total, out=np.zeros_like(v), where=total > 0)
    return (shares**2).sum(axis=axis)


@dataclass(frozen=True)
class Results:
    data: xr.Dataset
    indicators: pd.DataFrame
    scenario: str

    def value(self, name: str, year: int, **dims: str) -> float:
        df = self.indicators
        mask = (df["name"] == name) & (df["year"] == year)
        for k in ("sector", "origin", "material"):
            mask &= df[k].isna() if k not in dims else df[k] == dims[k]
        rows = df[mask]
        if len(rows) != 1:
            raise KeyError(f"no single indicator {name} {year} {dims}")
        return float(rows["value"].iloc[0])

    def indicator_records(self) -> list[dict]:
        out = []
        for row in self.indicators.itertuples(index=False):
            rec = {
                "year": int(row.year),
                "name": row.name,
                "value": float(row.value),
                "unit": row.unit,
            }
            for k in ("sector", "origin", "material"):
                v = getattr(row, k)
                if isinstance(v, str):
                    rec[k] = v
            out.append(rec)
        return out


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def build_results(chain: Chain, out: SimOutput) -> Results:
    ds = out.data
    mean = lambda da: da.mean("draw") if "draw" in da.dims else da  # noqa: E731
    years = ds.year.values
    rows: list[dict] = []

    def add(name: str, values, **dims: str) -> None:
        vals = np.asarray(values, dtype=float)
        for y, v in zip(years, vals, strict=True):
            rows.append(
                {"year": int(y), "name": name, "value": float(v), "unit": UNITS[name], **dims}
            )

    demand = ds.demand_bare + ds.demand_embedded
    total_demand = demand.sum(["sector", "grade"]).values
    prod = mean(ds.production.sum(["feed", "grade"])).values
    imp = mean(ds.imports)
    mag_mats = ["magnet_n", "magnet_h"]
    emb_mats = ["embedded_n", "embedded_h"]
    imp_bare = imp.sel(material=mag_mats).sum(["material", "origin"]).values
    imp_emb = imp.sel(material=emb_mats).sum(["material", "origin"]).values
    imp_mag_origin = imp.sel(material=mag_mats + emb_mats).sum("material")
    imp_total = imp_bare + imp_emb

    add("magnet_demand", total_demand)
    add("magnet_demand_bare", ds.demand_bare.sum(["sector", "grade"]).values)
    add("magnet_demand_embedded", ds.demand_embedded.sum(["sector", "grade"]).values)
    add("magnet_production_domestic", prod)
    add("magnet_imports", imp_total)
    add("magnet_imports_bare", imp_bare)
    add("magnet_imports_embedded", imp_emb)
    add("magnet_capacity", ds.capacity.sum("feed").values)
    add("magnet_capacity_nameplate", chain.capacity_nameplate.sum("unit").values)
    unmet = mean(ds.unmet)
    add("unmet_demand", unmet.sum(["sector", "grade"]).values)
    add("self_sufficiency", _safe_div(prod, total_demand))
    china = (
        imp_mag_origin.sel(origin="China").values
        if "China" in chain.origins
        else np.zeros(len(years))
    )
    add("import_share_china", _safe_div(china, imp_total))
    add("ndpr_oxide_required", mean(ds.ndpr_oxide_required).values)
    add("ndpr_oxide_domestic", ds.separation_output.values)
    add("ndpr_oxide_to_units", mean(ds.irel_to_units).values)
    for mat, name in (
        ("ndpr_oxide", "ndpr_oxide_imports"),
        ("dy_oxide", "dy_oxide_imports"),
        ("tb_oxide", "tb_oxide_imports"),
    ):
        add(name, imp.sel(material=mat).sum("origin").values)
    add("monazite_processed", ds.monazite_processed.values)
    add("thorium_residue", mean(ds.flows.sel(flow="cracking_residue", element="Th")).values)
    add("in_use_stock", mean(ds.in_use_stock).sum(["sector", "grade"]).values)
    add("end_of_life", mean(ds.eol).sum(["sector", "grade"]).values)
    add(
        "demand_calibration_factor",
        _safe_div(
            chain.demand_total.sum("sector").values, chain.demand_bottom_up.sum("sector").values
        ),
    )
    add("mass_balance_residual", np.abs(ds.residual).max(["draw", "process", "element"]).values)
    # supply-risk indicators: how much comes from abroad, and how concentrated the sources are
    add("import_dependence_magnets", _safe_div(imp_total, imp_total + prod))
    ndpr_imp = imp.sel(material="ndpr_oxide").sum("origin").values
    ndpr_used = mean(ds.feed_used.sel(material="ndpr_oxide")).values
    add("import_dependence_ndpr_oxide", _safe_div(ndpr_imp, ndpr_used))
    add("hhi_magnet_imports", hhi(imp_mag_origin.transpose("year", "origin").values))
    add(
        "hhi_ndpr_oxide_imports",
        hhi(imp.sel(material="ndpr_oxide").transpose("year", "origin").values),
    )

    for s in chain.sectors:
        add("magnet_demand", demand.sel(sector=s).sum("grade").values, sector=s)
        add("unmet_demand", unmet.sel(sector=s).sum("grade").values, sector=s)
    for o in chain.origins:
        add("magnet_imports", imp_mag_origin.sel(origin=o).values, origin=o)

    df = pd.DataFrame(rows)
    for k in ("sector", "origin", "material"):
        if k not in df:
            df[k] = None
    df = df[["year", "name", "value", "unit", "sector", "origin", "material"]]
    return Results(data=ds, indicators=df, scenario=chain.name)


def run_scenario(loaded, step: str = "monthly", plan=None, shocks=None) -> tuple[Chain, Results]:
    """Scenario → chain → simulate → results, the one data flow."""
    from repm.chain import compile_chain
    from repm.engine import simulate

    chain = compile_chain(loaded.scenario)
    return chain, build_results(chain, simulate(chain, plan=plan, shocks=shocks, step=step))
