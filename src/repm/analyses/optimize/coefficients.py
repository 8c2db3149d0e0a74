"""The planner's data: every coefficient of the LP, labelled, from the compiled chain (the
engine's recipe, demand, shares and spare capacity), the scenario's prices and the shocks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import xarray as xr

from repm.chain import Chain
from repm.chain.rules import base_index, origin_offer, stock_prices, switch_grades
from repm.errors import UserError
from repm.model.units import CRORE_PER_T_AT
from repm.scenario.schema import Scenario


def coefficients(
    scenario: Scenario,
    chain: Chain,
    avail: np.ndarray,
    price_mult: np.ndarray,
    spare_avail: np.ndarray | None = None,
    switched: np.ndarray | None = None,
) -> SimpleNamespace:
    """The LP's index sets and coefficients. avail: k × year × origin × material annual mean
    availability; price_mult: k × year × material; spare_avail: k × year × origin × material,
    the annual mean of availability × the spare ramp (None: spare there in full, = avail);
    switched: k × year × grade, the share of the year makers are switched off each grade (None:
    never), which moves bare demand one grade down by `rules.switch_grades`."""
    pol, fin = scenario.policy, scenario.economics.finance
    if fin is None:
        raise UserError(
            "missing; the planner needs capex, opex and the discount rate",
            where="economics.finance",
        )
    K = avail.shape[0]
    model = chain.model
    GRADES, MATERIALS = model.grade_names, model.material_names
    LP_MATERIALS, OXIDES = model.names(in_plan=True), model.names(kind="oxide")
    STOCKABLE = model.names(stockable=True)
    years = pd.Index(chain.years, name="year")
    ks = pd.Index(np.arange(K), name="k")
    grades = pd.Index(list(GRADES), name="grade")
    origins = pd.Index(list(chain.origins), name="origin")
    mats = pd.Index(list(LP_MATERIALS), name="material")
    oxides = pd.Index(list(OXIDES), name="material")
    stockable = pd.Index(list(STOCKABLE), name="material")
    mi = [MATERIALS.index(m) for m in LP_MATERIALS]

    bare = xr.DataArray(_bare_demand(chain, K, switched), coords=[ks, years, grades])
    emb = xr.DataArray(chain.demand_embedded.sum("sector").values, coords=[years, grades])
    recipe = xr.DataArray(
        chain.oxide_per_magnet.sel(material=list(OXIDES)).values,
        coords=[grades, oxides],
    )
    existing = xr.DataArray(
        chain.capacity_effective_unit.values[:, [not u.scheme for u in scenario.supply.units]].sum(
            axis=1
        ),
        coords=[years],
    )
    first_build = min(
        (u.first_year for u in scenario.supply.units if u.scheme), default=int(years[0])
    )
    irel = xr.DataArray(
        np.minimum(chain.separation_output.values, chain.irel_to_units_max), coords=[years]
    )

    # what each origin can send: its usual share of the need × availability, plus its spare
    # capacity × availability × the spare ramp (each the year's mean, `solve.shock_inputs`)
    need = np.zeros((K, len(years), len(LP_MATERIALS)))
    for j, m in enumerate(LP_MATERIALS):
        mat = model.material(m)
        if m in OXIDES:
            need[..., j] = (bare.values * recipe.sel(material=m).values).sum(axis=2)
        elif mat.kind == "magnet":
            need[..., j] = bare.values[..., GRADES.index(mat.grade)]
        else:
            need[..., j] = emb.values[None, :, GRADES.index(mat.grade)]
    # origin × material, or year × origin × material where a group follows a year path
    share = chain.import_share.transpose(..., "origin", "material").values[..., mi]
    spare = chain.spare.values[:, mi]
    limit = origin_offer(
        need[:, :, None, :], share[(None,) * (4 - share.ndim)], spare[None, None],
        avail[:, :, :, mi],
        None if spare_avail is None else spare_avail[:, :, :, mi],
    )  # fmt: skip
    limit = xr.DataArray(limit, coords=[ks, years, origins, mats])

    base = stock_prices(chain, scenario)
    pf = np.ones((len(origins), len(LP_MATERIALS)))
    for j, m in enumerate(LP_MATERIALS):
        for o, f in scenario.trade.price_factor.get(model.material_group[m], {}).items():
            pf[list(chain.origins).index(o), j] = f
    unit_price = np.array([base.get(m, 0.0) for m in LP_MATERIALS]) * CRORE_PER_T_AT  # crore per t
    price = xr.DataArray(
        unit_price[None, None, None, :] * pf[None, None] * price_mult[:, :, None, mi],
        coords=[ks, years, origins, mats],
    )
    disc = xr.DataArray((1 + fin.discount_rate) ** -np.arange(len(years)), coords=[years])
    capex = fin.capex_reference / fin.capex_reference_capacity  # crore per t/yr
    from repm.analyses.finance import non_feed_opex_per_kg

    per_kg_all = chain.oxide_per_magnet.values  # grade × all materials
    opex = (
        non_feed_opex_per_kg(scenario, per_kg_all, chain.oxide_price.values[base_index(chain)])
        * CRORE_PER_T_AT
    )  # crore per t
    penalty = pol.unmet_penalty * CRORE_PER_T_AT
    value = xr.DataArray([base.get(m, 0.0) * CRORE_PER_T_AT for m in STOCKABLE], coords=[stockable])
    hold = value * scenario.economics.holding_cost_rate
    p_k = 1.0 / K

    return SimpleNamespace(
        pol=pol,
        fin=fin,
        K=K,
        model=model,
        GRADES=GRADES,
        MATERIALS=MATERIALS,
        LP_MATERIALS=LP_MATERIALS,
        OXIDES=OXIDES,
        STOCKABLE=STOCKABLE,
        years=years,
        ks=ks,
        grades=grades,
        origins=origins,
        mats=mats,
        oxides=oxides,
        stockable=stockable,
        mi=mi,
        bare=bare,
        emb=emb,
        recipe=recipe,
        existing=existing,
        first_build=first_build,
        irel=irel,
        need=need,
        limit=limit,
        price=price,
        disc=disc,
        capex=capex,
        opex=opex,
        penalty=penalty,
        value=value,
        hold=hold,
        p_k=p_k,
    )


def _bare_demand(chain: Chain, K: int, switched: np.ndarray | None) -> np.ndarray:
    """k × year × grade bare-magnet demand: the chain's, with each year's switched share of a
    grade moved one class down by sector (`rules.switch_grades`, the engine's rule)."""
    by_sector = chain.demand_bare.transpose("year", "sector", "grade").values  # year × s × g
    out = np.broadcast_to(by_sector.sum(axis=1), (K,) + by_sector.shape[::2]).copy()
    if switched is None:
        return out
    share = np.asarray(chain.switch_share, dtype=float)
    down = np.asarray(chain.grade_down, dtype=np.int64)
    moved = np.empty(by_sector.shape[1:])
    for k in range(K):
        for y in range(by_sector.shape[0]):
            if switched[k, y].any():
                switch_grades(by_sector[y], share, down, switched[k, y], moved)
                out[k, y] = moved.sum(axis=0)
    return out
