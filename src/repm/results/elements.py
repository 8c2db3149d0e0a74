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
    """Element content of magnet demand (bare + embedded), total and by sector. (numpy on the
    arrays' known layouts: a parameter sample reads these, and xarray's selections cost ~50× the
    arithmetic.)"""
    demand = (
        ds.variables["demand_bare"].values + ds.variables["demand_embedded"].values
    )  # year × sector × grade
    total = demand.sum(axis=(1, 2))
    gc = chain.grade_comp.values  # grade × element
    col = {e: i for i, e in enumerate(chain.elements)}
    for name, els in (
        ("ndpr_in_demand", ["Nd", "Pr"]),
        ("dy_in_demand", ["Dy"]),
        ("tb_in_demand", ["Tb"]),
    ):
        el = (demand * gc[:, [col[e] for e in els]].sum(axis=1)).sum(axis=2)  # year × sector
        add(name, el.sum(axis=1))
        for i, s_ in enumerate(chain.sectors):
            add(name, el[:, i], sector=s_)
        if name != "ndpr_in_demand":
            add(f"{name[:2]}_content_share", ratio(el.sum(axis=1), total))
    # oxide bought per t of magnet made from oxide, by grade; totals weighted by that year's demand
    per = chain.oxide_per_magnet_values  # grade × material
    by_grade = demand.sum(axis=1)  # year × grade
    weight = by_grade.sum(axis=1)
    Y = len(chain.years)
    mi = {m: i for i, m in enumerate(chain.materials)}
    for name, mat in (
        ("ndpr_oxide_per_t_magnet", "ndpr_oxide"),
        ("dy_per_t_magnet", "dy_oxide"),
        ("tb_per_t_magnet", "tb_oxide"),
    ):
        v = per[:, mi[mat]]
        add(name, ratio((by_grade * v).sum(axis=1), weight))
        for gi, g in enumerate(chain.grades):
            add(name, np.full(Y, float(v[gi])), grade=g)
    for name, price in (
        ("magnet_price", chain.magnet_price.values),
        ("magnet_price_china", chain.magnet_price_china.values),
    ):  # year × grade
        add(name, ratio((by_grade * price).sum(axis=1), weight))
        for gi, g in enumerate(chain.grades):
            add(name, price[:, gi], grade=g)


def basket(chain: Chain, add) -> None:
    """Monazite's whole basket: REO mined, produced, separated, exported or held as chloride;
    co-products sold or held (t oxide) and their revenue; phosphate (t P2O5)."""
    model = chain.model
    flows = {f: i for i, f in enumerate(chain.basket.flow.values.tolist())}
    elements = chain.basket.element.values.tolist()
    B, per = chain.basket.values, chain.basket_per_oxide.values  # year × flow × element; element

    def oxide(flow: str, kind: str = "rare_earth") -> tuple[list[str], np.ndarray]:
        """`chain.basket_oxide(flow, kind)`'s elements and values (year × element)."""
        els = list(model.basket_kind(kind))
        idx = [elements.index(e) for e in els]
        # in C order, as xarray's selection gives it: numpy sums a row alike only then
        return els, np.ascontiguousarray(B[:, flows[flow], idx]) / per[idx]

    def reo(flow: str) -> np.ndarray:  # t REO
        return oxide(flow)[1].sum(axis=1)

    add("reo_mined", reo("monazite"))
    add("reo_produced", reo("concentrate") + reo("chloride_exports") + reo("chloride_stocked"))
    add("reo_separated", reo("concentrate"))
    add("chloride_exports", reo("chloride_exports"))
    add("chloride_stocked", reo("chloride_stocked"))
    products = chain.coproduct_price["product"].values.tolist()
    price = chain.coproduct_price.values  # year × product
    revenue = np.zeros(chain.n_years)
    for name, flow in (
        ("coproducts_sold", "coproducts_sold"),
        ("coproducts_held", "coproducts_stocked"),
    ):
        els, ox = oxide(flow)
        add(name, ox.sum(axis=1))
        for k, e in enumerate(els):
            if float(ox[:, k].sum()) > 0:
                add(name, ox[:, k], element=e)
                if name == "coproducts_sold" and e in products:
                    r = ox[:, k] * price[:, products.index(e)] * CRORE_PER_T_AT
                    revenue = revenue + r
                    add("coproduct_revenue", r, element=e)
    phos = model.basket_kind("phosphate")
    p2o5 = oxide("phosphate", "phosphate")[1].sum(axis=1)
    add("phosphate_p2o5", p2o5)
    if "tsp" in products:
        tsp = p2o5 / chain.tsp_p2o5_fraction if chain.tsp_p2o5_fraction > 0 else 0.0 * p2o5
        r = tsp * price[:, products.index("tsp")] * CRORE_PER_T_AT
        revenue = revenue + r
        add("coproduct_revenue", r, element=phos[0])
    add("coproduct_revenue", revenue)
    ndpr_price = chain.oxide_price.values[:, chain.materials.index("ndpr_oxide")]
    ndpr = chain.separation_output.values * ndpr_price
    add("ndpr_oxide_revenue", ndpr * CRORE_PER_T_AT)
    add("separation_revenue", ndpr * CRORE_PER_T_AT + revenue)
    # thorium: every tonne to the residue since the horizon began is held, at a cost a year
    th = np.cumsum(B[:, flows["cracking_residue"], elements.index("Th")])
    add("thorium_stored", th)
    add("thorium_storage_cost", th * chain.thorium_storage_cost / INR_PER_CRORE)
