"""Indicators of the rare earths element by element: what magnet demand contains (NdPr, Dy,
Tb), the oxide bought per t of magnet and each grade's magnet price; and monazite's whole basket,
mine to destination (REO mined, separated, exported or held; co-products, phosphate, thorium)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from repm.chain import Chain
from repm.model.units import CRORE_PER_T_AT, INR_PER_CRORE
from repm.results.indicators import ratio


def element_content(chain: Chain, ds: xr.Dataset, add) -> None:
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
                ratio(el.sum("sector").values, demand.sum(["sector", "grade"]).values),
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
        add(name, ratio((by_grade * v).sum("grade").values, by_grade.sum("grade").values))
        for g in chain.grades:
            add(name, np.full(Y, float(v.sel(grade=g))), grade=g)
    for name, price in (
        ("magnet_price", chain.magnet_price),
        ("magnet_price_china", chain.magnet_price_china),
    ):
        add(name, ratio((by_grade * price).sum("grade").values, by_grade.sum("grade").values))
        for g in chain.grades:
            add(name, price.sel(grade=g).values, grade=g)


def basket(chain: Chain, add) -> None:
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
