"""The routes as planning decisions (issue 6), added to `repm.analyses.optimize.build_model`'s model.

First stage: a tolling contract per route (t/yr of magnets, up to the partner's capacity) and an
overseas contract per source (t/yr of product, up to the stake or offtake's tonnes). Second
stage, per scenario k and year: magnets tolled and overseas oxide used, each within its contract
× whether it runs that year × what scenario k's restrictions leave (the same availability rule
as the engine: the partner's, and `1 − exposure × (1 − availability)` for each origin whose
licence a tolling partner's returns need; an overseas source's country for NdPr oxide).
Tolled magnets serve bare demand of their grade and take IREL oxide at the oxide route's recipe
(IREL's oxide to units + tolling ≤ separation output); overseas oxide is NdPr feed. Costs:
fees and purchase prices per tonne used, equity (pro rata to the contract) the year before a
source starts. With no routes every term is 0 and the model is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from repm.chain import Chain
from repm.chain.rules import toll_factor
from repm.model.units import CRORE_PER_T_AT


@dataclass
class RouteTerms:
    bare: object = 0  # k × year × grade, t of magnets tolled
    ndpr_feed: object = 0  # k × year, t NdPr oxide from overseas
    irel_oxide: object = 0  # k × year, t IREL oxide sent for tolling
    cost: object = 0  # k, discounted crore INR
    first_cost: object = 0  # discounted crore INR


def add_routes(
    mdl: linopy.Model, chain: Chain, avail: np.ndarray, ks: pd.Index, years: pd.Index,
    disc: xr.DataArray, oxide_per_magnet: xr.DataArray,
) -> RouteTerms:  # fmt: skip
    """Add route variables and their bounds to `mdl`; return the terms the balances and the
    objective need. avail: k × year × origin × material (annual means)."""
    terms = RouteTerms()
    GRADES, MATERIALS = chain.grades, chain.materials
    tl, ov = chain.tolling, chain.overseas
    R, S = len(tl.route), len(ov.source)
    if R:
        routes = pd.Index(list(tl.route.values), name="route")
        g = tl["grade"].values
        mag = np.array([MATERIALS.index(chain.model.form("magnet", GRADES[i])) for i in g])
        factor = np.empty(avail.shape[:2] + (R,))  # k × year × route: the engine's rule
        expo = np.ascontiguousarray(tl["exposure"].values, dtype=float)  # route × origin
        partner = tl["partner"].values
        for k, y, r in np.ndindex(factor.shape):
            a = np.ascontiguousarray(avail[k, y, :, mag[r]], dtype=float)
            factor[k, y, r] = toll_factor(a, int(partner[r]), expo[r])
        cap = chain.tolling_capacity.values.max(axis=0)  # route
        on = (chain.tolling_capacity.values > 0).astype(float)  # year × route
        contract = mdl.add_variables(lower=0, upper=xr.DataArray(cap, coords=[routes]), coords=[routes],
                                     name="toll_contract")  # fmt: skip
        tolled = mdl.add_variables(lower=0, coords=[ks, years, routes], name="tolled")
        coef = xr.DataArray(factor * on[None], coords=[ks, years, routes])
        mdl.add_constraints(tolled <= contract * coef, name="toll_capacity")
        onehot = xr.DataArray(
            (g[:, None] == np.arange(len(GRADES))[None, :]).astype(float),
            coords=[routes, pd.Index(list(GRADES), name="grade")],
        )
        terms.bare = (tolled * onehot).sum("route")
        ox = xr.DataArray(
            oxide_per_magnet.sel(grade=[GRADES[i] for i in g]).values, coords=[routes]
        )
        terms.irel_oxide = (tolled * ox).sum("route")
        fee = xr.DataArray(tl["fee"].values * CRORE_PER_T_AT, coords=[routes])
        terms.cost = ((tolled * fee).sum("route") * disc).sum("year")
    if S:
        sources = pd.Index(list(ov.source.values), name="source")
        ox_per_t = 1.0 / ov["product_per_oxide"].values  # t NdPr oxide per t product
        tonnes = chain.overseas_oxide.values.max(axis=0) / ox_per_t  # t product/yr
        on = (chain.overseas_oxide.values > 0).astype(float)  # year × source
        a = avail[:, :, ov["country"].values, MATERIALS.index("ndpr_oxide")]  # k × year × source
        contract = mdl.add_variables(lower=0, upper=xr.DataArray(tonnes, coords=[sources]),
                                     coords=[sources], name="overseas_contract")  # fmt: skip
        used = mdl.add_variables(lower=0, coords=[ks, years, sources], name="overseas_oxide")
        coef = xr.DataArray(a * on[None] * ox_per_t[None, None], coords=[ks, years, sources])
        mdl.add_constraints(used <= contract * coef, name="overseas_capacity")
        terms.ndpr_feed = used.sum("source")
        price = xr.DataArray(
            ov["price"].values * ov["product_per_oxide"].values * CRORE_PER_T_AT, coords=[sources]
        )  # crore per t of oxide
        cost = ((used * price).sum("source") * disc).sum("year")
        terms.cost = cost if not R else terms.cost + cost
        # equity, pro rata to the contract, the year before first output
        start = ov["start_year"].values - 1
        d = np.array(
            [float(disc.sel(year=int(y))) if int(y) in years else (1.0 if y < years[0] else 0.0)
             for y in start]
        )  # fmt: skip
        per_t = np.divide(ov["stake_cost"].values, tonnes, out=np.zeros(S), where=tonnes > 0)
        terms.first_cost = (contract * xr.DataArray(per_t * d, coords=[sources])).sum()
    return terms


def route_summary(mdl: linopy.Model) -> dict:
    """What the plan does with each route: the contract it needs (the most it uses in any year
    and scenario; contracts cost nothing beyond use and equity, so the contract variable itself
    is not unique when a route goes unused) and expected use by year (mean over scenarios)."""
    out: dict = {}
    for var, dim, key in (
        ("tolled", "route", "tolled"),
        ("overseas_oxide", "source", "overseas_oxide"),
    ):
        if var in mdl.variables:
            sol = mdl.variables[var].solution
            peak = sol.max(["k", "year"]).to_series()
            out[f"{key}_contract"] = {str(n): float(v) for n, v in peak.items()}
            use = sol.sum(dim).mean("k").to_series()
            out[f"{key}_expected"] = {int(y): float(v) for y, v in use.items()}
    return out
