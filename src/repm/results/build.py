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
from repm.model.units import CRORE_PER_T_AT, INR_PER_CRORE
from repm.results import indicators
from repm.results.indicators import IndicatorTable
from repm.simulate.engine import SimOutput

# the tables and units are declared once, in repm.indicators
HEADLINE = tuple((i.name, i.label) for i in indicators.table("headline"))
UNITS = {n: i.unit for n, i in indicators.REGISTRY.items()}


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
    mag_mats = list(chain.model.names(kind="magnet"))
    emb_mats = list(chain.model.names(kind="embedded"))
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
    exported = mean(ds.magnet_exports)  # year × grade, Indian magnets sold abroad
    add("magnet_exports", exported.sum("grade").values)
    for g in chain.grades:
        add("magnet_exports", exported.sel(grade=g).values, grade=g)
    add("self_sufficiency", _safe_div(prod - exported.sum("grade").values, total_demand))
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
    _basket(chain, add)
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
    tolled = mean(ds.tolled).sum("route").values  # India's oxide, made abroad: not an import
    add("import_dependence_magnets", _safe_div(imp_total, imp_total + prod + tolled))
    ndpr_imp = imp.sel(material="ndpr_oxide").sum("origin").values
    ndpr_used = mean(ds.feed_used.sel(material="ndpr_oxide")).values
    add("import_dependence_ndpr_oxide", _safe_div(ndpr_imp, ndpr_used))
    add("hhi_magnet_imports", hhi(imp_mag_origin.transpose("year", "origin").values))
    add(
        "hhi_ndpr_oxide_imports",
        hhi(imp.sel(material="ndpr_oxide").transpose("year", "origin").values),
    )

    _routes(chain, ds, add, prod, imp)
    _heavy(chain, ds, add)
    _shares(chain, ds, add, imp)
    _geopolrisk(chain, ds, add, prod, imp)
    _ledger(chain, ds, add, prod, imp)

    for s in chain.sectors:
        add("magnet_demand", demand.sel(sector=s).sum("grade").values, sector=s)
        add("unmet_demand", unmet.sel(sector=s).sum("grade").values, sector=s)
    for o in chain.origins:
        add("magnet_imports", imp_mag_origin.sel(origin=o).values, origin=o)

    return Results(data=ds, indicators=IndicatorTable(rows).frame, scenario=chain.name)


def _mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("draw") if "draw" in da.dims else da


def _routes(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray, imp: xr.DataArray) -> None:
    """Tolling, overseas sources, export retention and the buyer incentive: tonnes and costs."""
    tolled = _mean(ds.tolled)  # year × route
    add("magnet_tolled", tolled.sum("route").values)
    add("ndpr_oxide_tolled", _mean(ds.toll_oxide).values)
    add("tolling_in_transit", _mean(ds.tolling_transit).sum("grade").values)
    fee = chain.tolling["fee"]
    add("tolling_fee_cost", (tolled * fee).sum("route").values * CRORE_PER_T_AT)
    partners = chain.tolling["partner"].values
    for o in sorted(set(int(p) for p in partners)):
        routes = [r for r, p in zip(chain.tolling.route.values, partners, strict=True) if p == o]
        add("magnet_tolled", tolled.sel(route=routes).sum("route").values, origin=chain.origins[o])
    used = _mean(ds.overseas_used)  # year × source, t NdPr oxide
    ov = chain.overseas
    add("ndpr_oxide_overseas", used.sum("source").values)
    add(
        "ndpr_oxide_domestic_feed",
        chain.separation_output.values + chain.overseas_oxide.sum("source").values,
    )
    product = used * ov["product_per_oxide"]  # t of what is bought (oxide, or mixed REO)
    stake = np.array(
        [[c if y == s - 1 else 0.0 for c, s in zip(ov["stake_cost"].values, ov["start_year"].values, strict=True)]
         for y in chain.years]
    ).reshape(len(chain.years), -1).sum(axis=1)  # fmt: skip
    add("overseas_cost", (product * ov["price"]).sum("source").values * CRORE_PER_T_AT + stake)
    for o in sorted(set(int(c) for c in ov["country"].values)):
        srcs = [k for k, c in zip(ov.source.values, ov["country"].values, strict=True) if c == o]
        add(
            "ndpr_oxide_overseas",
            used.sel(source=srcs).sum("source").values,
            origin=chain.origins[o],
        )
    add("ndpr_oxide_exports", _mean(ds.oxide_exports).values)
    add("ndpr_oxide_retained", _mean(ds.oxide_retained).values)
    inc = chain.incentive
    cost = inc["per_kg"].values * prod * CRORE_PER_T_AT  # paid on every Indian magnet bought
    budget = inc.attrs["budget"]
    paid_before = np.concatenate([[0.0], np.cumsum(cost)[:-1]])
    add("consumer_incentive_cost", np.clip(budget - paid_before, 0.0, cost))


def _heavy(chain: Chain, ds: xr.Dataset, add) -> None:
    """Element content of magnet demand (bare + embedded), total and by sector."""
    demand = ds.demand_bare + ds.demand_embedded  # year × sector × grade
    gc = chain.grade_comp
    for name, els in (
        ("ndpr_in_demand", ["Nd", "Pr"]),
        ("dy_in_demand", ["Dy"]),
        ("tb_in_demand", ["Tb"]),
    ):
        el = (demand * gc.sel(element=els).sum("element")).sum("grade")
        add(name, el.sum("sector").values)
        for s_ in chain.sectors:
            add(name, el.sel(sector=s_).values, sector=s_)
        if name != "ndpr_in_demand":
            add(
                f"{name[:2]}_content_share",
                _safe_div(el.sum("sector").values, demand.sum(["sector", "grade"]).values),
            )
    # oxide bought per t of magnet made from oxide, by grade; totals weighted by that year's demand
    per = chain.oxide_per_magnet  # grade × material
    by_grade = demand.sum("sector")  # year × grade
    Y = len(chain.years)
    for name, mat in (
        ("ndpr_oxide_per_t_magnet", "ndpr_oxide"),
        ("dy_per_t_magnet", "dy_oxide"),
        ("tb_per_t_magnet", "tb_oxide"),
    ):
        v = per.sel(material=mat)
        add(name, _safe_div((by_grade * v).sum("grade").values, by_grade.sum("grade").values))
        for g in chain.grades:
            add(name, np.full(Y, float(v.sel(grade=g))), grade=g)
    for name, price in (
        ("magnet_price", chain.magnet_price),
        ("magnet_price_china", chain.magnet_price_china),
    ):
        add(name, _safe_div((by_grade * price).sum("grade").values, by_grade.sum("grade").values))
        for g in chain.grades:
            add(name, price.sel(grade=g).values, grade=g)


def _shares(chain: Chain, ds: xr.Dataset, add, imp: xr.DataArray) -> None:
    """Whose rare earths India's magnets carry: the domestic content (mined and separated in
    India), China's share of each import channel, and China's share of all the content."""
    model = chain.model
    re_els = [e for e, v in model.elements.items() if v.group != "actinide"]
    gc = chain.grade_comp.sel(element=re_els).sum("element")  # grade: kg RE per kg magnet
    mc = chain.material_comp.sel(element=re_els).sum("element")  # material: kg RE per kg
    demand = (ds.demand_bare + ds.demand_embedded).sum("sector")  # year × grade
    content = (demand * gc).sum("grade").values  # t RE in the magnets India uses
    # NdPr oxide the units used that IREL separated (fresh or kept home): recycled and
    # imported oxide, stockpile and working-stock draws and overseas sources are not mined here
    used = _mean(ds.feed_used.sel(material="ndpr_oxide")).values
    dom_share = np.minimum(_safe_div(_mean(ds.irel_to_units).values, used), 1.0)
    prod_g = _mean(ds.production).sum("feed") - _mean(ds.magnet_exports)  # year × grade, kept
    ndpr_gc = chain.grade_comp.sel(element=["Nd", "Pr"]).sum("element")
    tolled_g = [
        _mean(ds.tolled)
        .isel(route=np.flatnonzero(chain.tolling["grade"].values == gi))
        .sum("route")
        for gi in range(len(chain.grades))
    ]
    tolled_ndpr = sum(float(ndpr_gc.values[gi]) * t.values for gi, t in enumerate(tolled_g))
    domestic = (prod_g * ndpr_gc).sum("grade").values * dom_share + tolled_ndpr
    add("domestic_content_share", _safe_div(domestic, content))
    # China's share of each channel, and of all the rare-earth content India uses
    if "China" not in chain.origins:
        return
    china = imp.sel(origin="China")
    channels = {
        "bare": list(model.names(kind="magnet")),
        "embedded": list(model.names(kind="embedded")),
    }
    for ch, mats in channels.items():
        add("import_share_china", _safe_div(china.sel(material=mats).sum("material").values,
                                            imp.sel(material=mats).sum(["material", "origin"]).values), channel=ch)  # fmt: skip
    for mat in model.names(kind="oxide"):
        add("import_share_china", _safe_div(china.sel(material=mat).values,
                                            imp.sel(material=mat).sum("origin").values), material=mat)  # fmt: skip
    from_china = (china * mc).sum("material").values  # t RE, as magnets or as oxide
    add("china_content_share", np.minimum(_safe_div(from_china, content), 1.0))


def _geopolrisk(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray, imp: xr.DataArray) -> None:
    """GeoPolRisk-style score per supply: HHI of world output × Σ origin governance risk ×
    origin's share of India's supply (domestic output counts as supply with no import risk)."""
    gov = chain.governance_risk
    model = chain.model
    heavy_oxides = [m.name for m in model.materials if m.kind == "oxide" and m.heavy]
    groups = {
        "geopolrisk_magnets": ([*model.names(kind="magnet"), *model.names(kind="embedded")],
                               prod + _mean(ds.tolled).sum("route").values),
        "geopolrisk_ndpr_oxide": (["ndpr_oxide"], _mean(ds.irel_to_units).values
                                  + _mean(ds.overseas_used).sum("source").values),
        "geopolrisk_heavy": (heavy_oxides, np.zeros(len(chain.years))),
    }  # fmt: skip
    for name, (mats, domestic) in groups.items():
        by_origin = imp.sel(material=mats).sum("material").transpose("year", "origin")
        total = by_origin.sum("origin").values + domestic
        weighted = (by_origin * gov).sum("origin").values
        hhi_world = float(chain.world_hhi.sel(material=mats[0]))
        add(name, hhi_world * _safe_div(weighted, total))


def _basket(chain: Chain, add) -> None:
    """Monazite's whole basket: REO mined, produced, separated, exported or held as chloride;
    co-products sold or held (t oxide) and their revenue; phosphate (t P2O5)."""
    model = chain.model

    def reo(flow: str) -> np.ndarray:  # t REO
        return chain.basket_oxide(flow).sum("element").values

    add("reo_mined", reo("monazite"))
    add("reo_produced", reo("concentrate") + reo("chloride_exports") + reo("chloride_stocked"))
    add("reo_separated", reo("concentrate"))
    add("chloride_exports", reo("chloride_exports"))
    add("chloride_stocked", reo("chloride_stocked"))
    price = chain.coproduct_price
    revenue = np.zeros(chain.n_years)
    for name, flow in (
        ("coproducts_sold", "coproducts_sold"),
        ("coproducts_held", "coproducts_stocked"),
    ):
        ox = chain.basket_oxide(flow)
        add(name, ox.sum("element").values)
        for e in ox.element.values.tolist():
            if float(ox.sel(element=e).sum()) > 0:
                add(name, ox.sel(element=e).values, element=e)
                if name == "coproducts_sold" and e in price["product"].values:
                    r = ox.sel(element=e).values * price.sel(product=e).values * CRORE_PER_T_AT
                    revenue = revenue + r
                    add("coproduct_revenue", r, element=e)
    phos = model.basket_kind("phosphate")
    p2o5 = chain.basket_oxide("phosphate", "phosphate").sum("element").values
    add("phosphate_p2o5", p2o5)
    if "tsp" in price["product"].values:
        tsp = p2o5 / chain.tsp_p2o5_fraction if chain.tsp_p2o5_fraction > 0 else 0.0 * p2o5
        r = tsp * price.sel(product="tsp").values * CRORE_PER_T_AT
        revenue = revenue + r
        add("coproduct_revenue", r, element=phos[0])
    add("coproduct_revenue", revenue)
    ndpr = chain.separation_output.values * chain.oxide_price.sel(material="ndpr_oxide").values
    add("ndpr_oxide_revenue", ndpr * CRORE_PER_T_AT)
    add("separation_revenue", ndpr * CRORE_PER_T_AT + revenue)
    # thorium: every tonne to the residue since the horizon began is held, at a cost a year
    th = np.cumsum(chain.basket.sel(flow="cracking_residue", element="Th").values)
    add("thorium_stored", th)
    add("thorium_storage_cost", th * chain.thorium_storage_cost / INR_PER_CRORE)


def _ledger(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray, imp: xr.DataArray) -> None:
    """The environmental ledger: burdens by stage in India, and embodied in what is imported
    (at the same intensities), by year and per tonne of magnet supplied."""
    inten = chain.env_intensity  # stage × quantity, per t of stage output
    model = chain.model
    flows = _mean(ds.flows)
    metal_made = flows.sel(flow="metal_to_alloy").sum("element").values  # reduced in India
    sep_domestic = ds.separation_output.values + flows.sel(flow="overseas_separated").sum(
        "element"
    ).values / (chain.material_comp.sel(material="ndpr_oxide").sum("element").item())
    domestic = {
        "cracking": ds.monazite_processed.values,
        "separation": sep_domestic,
        "metal": metal_made,
        "magnet": prod,
    }
    # cradle-to-gate burden per t of what is imported, with India's own chain coefficients
    per_ox = chain.monazite_per_t_oxide * inten.sel(stage="cracking") + inten.sel(
        stage="separation"
    )
    ndpr_ox_per_metal = chain.chem.ndpr_oxide_per_metal / chain.yields["oxide_to_metal"]
    per_metal = ndpr_ox_per_metal * per_ox + inten.sel(stage="metal")
    metal_per_mag = (
        chain.grade_comp.sel(
            element=[e for e, v in model.elements.items() if v.group != "actinide"]
        ).sum("element")
        * chain.fresh_alloy_per_magnet
        / chain.yields["alloy_making"]
    )
    imp_y = imp.sum("origin")  # year × material
    by_route = _mean(ds.tolled)
    grades = chain.tolling["grade"].values
    tolled_g = [
        by_route.isel(route=np.flatnonzero(grades == gi)).sum("route").values
        for gi in range(len(chain.grades))
    ]
    tolled = tolled_g[0]
    for t in tolled_g[1:]:
        tolled = tolled + t
    oxides = list(model.names(kind="oxide"))
    metals = list(model.names(kind="metal"))
    supplied = (
        prod
        + tolled
        + imp_y.sel(material=[*model.names(kind="magnet"), *model.names(kind="embedded")])
        .sum("material")
        .values
    )
    for q in indicators.ENV_QUANTITIES:
        dom = np.zeros(len(chain.years))
        for st, t_out in domestic.items():
            v = np.asarray(t_out) * float(inten.sel(stage=st, quantity=q))
            add(f"env_{q}_{st}", v)
            dom += v
        # tolled magnets: metal and magnet making happen abroad (their oxide is India's)
        emb = np.zeros(len(chain.years))
        for gi, g in enumerate(chain.grades):
            emb = emb + tolled_g[gi] * (
                float(metal_per_mag.sel(grade=g)) * float(inten.sel(stage="metal", quantity=q))
                + float(inten.sel(stage="magnet", quantity=q))
            )
        emb = emb + imp_y.sel(material=oxides).sum("material").values * float(
            per_ox.sel(quantity=q)
        )
        emb = emb + imp_y.sel(material=metals).sum("material").values * float(
            per_metal.sel(quantity=q)
        )
        for g in chain.grades:
            per_mag = float(metal_per_mag.sel(grade=g)) * float(per_metal.sel(quantity=q)) + float(
                inten.sel(stage="magnet", quantity=q)
            )
            t_mag = (
                imp_y.sel(material=[model.form(k, g) for k in ("alloy", "magnet", "embedded")])
                .sum("material")
                .values
            )
            emb = emb + t_mag * per_mag
        add(f"env_{q}_domestic", dom)
        add(f"env_{q}_imports", emb)
        add(f"env_{q}_per_t_magnet", _safe_div(dom + emb, supplied))
    u_frac = chain.chem.mass_fraction({"U": 3, "O": 8}, "U")
    add("env_uranium_residue", ds.monazite_processed.values * chain.u3o8_fraction * u_frac)


def run_scenario(loaded, step: str = "monthly", plan=None, shocks=None) -> tuple[Chain, Results]:
    """Scenario → chain → simulate → results, the one data flow."""
    from repm.chain import compile_chain
    from repm.simulate.engine import simulate

    chain = compile_chain(loaded.scenario)
    return chain, build_results(chain, simulate(chain, plan=plan, shocks=shocks, step=step))
