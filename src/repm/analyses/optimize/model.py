"""The planning LP (linopy): variables, constraints and the objective, from `coefficients`."""

from __future__ import annotations

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from repm.analyses.optimize.coefficients import coefficients
from repm.analyses.optimize.linear import _constrain, _grid, _rows
from repm.chain import Chain
from repm.chain.rules import release_gap
from repm.errors import UserError
from repm.model.units import CRORE_PER_T_AT
from repm.scenario.schema import Scenario


def build_model(
    scenario: Scenario,
    chain: Chain,
    avail: np.ndarray,
    price_mult: np.ndarray,
    *,
    spare_avail: np.ndarray | None = None,
    switched: np.ndarray | None = None,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
    elastic: bool = False,
    units: bool = False,
    fixed_blocks: xr.DataArray | None = None,
) -> tuple[linopy.Model, dict]:
    """The planning LP. avail, spare_avail: k × year × origin × material, the year's mean
    availability and mean availability × spare ramp (`solve.scenario_inputs`; spare_avail None:
    spare there in full whenever the origin is available); price_mult: k × year × material;
    switched: k × year × grade, the share of the year makers are switched off a grade (None:
    never)."""
    c = coefficients(scenario, chain, avail, price_mult, spare_avail, switched)
    pol = c.pol
    K = c.K
    model = c.model
    GRADES = c.GRADES
    LP_MATERIALS = c.LP_MATERIALS
    OXIDES = c.OXIDES
    STOCKABLE = c.STOCKABLE
    years = c.years
    ks = c.ks
    grades = c.grades
    origins = c.origins
    mats = c.mats
    oxides = c.oxides
    stockable = c.stockable
    bare = c.bare
    emb = c.emb
    recipe = c.recipe
    existing = c.existing
    first_build = c.first_build
    irel = c.irel
    need = c.need
    limit = c.limit
    price = c.price
    disc = c.disc
    capex = c.capex
    opex = c.opex
    penalty = c.penalty
    value = c.value
    hold = c.hold
    p_k = c.p_k
    mdl = linopy.Model()
    can_build = xr.DataArray(years.values >= first_build, coords=[years])
    # bounds as labelled arrays of the variable's full shape: linopy then has nothing to align
    build = mdl.add_variables(lower=0, upper=xr.where(can_build, np.inf, 0.0), name="build")
    stock = mdl.add_variables(lower=_grid([stockable], 0.0), name="stock")
    # magnets made at home: at most the bare-magnet market (a bound, not a row)
    made = mdl.add_variables(lower=0, upper=bare, name="made")
    # magnets sold to buyers abroad (demand.exports): at most their demand, at the grade's price
    # × (1 + premium); only in the model when a scenario sets them
    abroad = xr.DataArray(chain.export_demand.values, coords=[years, grades])
    sold = None
    if float(abroad.sum()) > 0:
        sold = mdl.add_variables(lower=0, upper=abroad.expand_dims(k=ks), name="exported")
    imp = mdl.add_variables(lower=0, upper=limit, name="imports")
    # the release rule, as a bound: a stockpile only covers what origins cannot send (as in the
    # engine), so the planner cannot use it to dodge prices or origin caps in normal times
    fit = chain.stockpile_fit.sel(material=list(LP_MATERIALS)).values  # finished magnets < 1
    gap = release_gap(need, limit.sum("origin").values, fit)  # k × year × material
    # shares summing to 1 leave rounding crumbs (~1e-16 t) that HiGHS cannot price: drop them
    gap = np.where(gap > 1e-9 * np.maximum(need, 1.0), gap, 0.0)
    gap[:, : chain.first_future_year] = 0.0  # history (risk.as_of): the stockpile came after it
    gap = xr.DataArray(
        gap[:, :, [LP_MATERIALS.index(m) for m in STOCKABLE]], coords=[ks, years, stockable]
    )
    draw = mdl.add_variables(lower=0, upper=gap, name="draw")
    irel_used = mdl.add_variables(
        lower=0, upper=_grid([ks, years], irel.values[None]), name="irel_oxide"
    )
    unmet_ub = np.inf if pol.allow_unmet else 0.0
    unmet_b = mdl.add_variables(
        lower=0, upper=_grid([ks, years, grades], unmet_ub), name="unmet_bare"
    )
    unmet_e = mdl.add_variables(
        lower=0, upper=_grid([ks, years, grades], unmet_ub), name="unmet_embedded"
    )

    # capacity: existing plants plus everything built so far
    blocks = None
    if units or fixed_blocks is not None:
        # the scheme's rule: each new unit is 600–1,200 t/yr in 100 t steps and comes online once
        sch = scenario.scheme
        if sch is None:
            raise UserError(
                "--units needs the scheme's unit sizes; this scenario has no `scheme` block",
                where="scheme",
            )
        step = sch.unit_capacity_step or 100.0
        lo, hi = int(round(sch.unit_capacity_min / step)), int(round(sch.unit_capacity_max / step))
        n_units = int(sum(1 for u in scenario.supply.units if u.scheme)) or 5
        uidx = pd.Index(np.arange(n_units), name="unit")
        if fixed_blocks is None:
            blocks = mdl.add_variables(
                lower=0, upper=hi, integer=True, coords=[uidx, years], name="unit_blocks"
            )
            online = mdl.add_variables(binary=True, coords=[uidx, years], name="unit_online")
            mdl.add_constraints(blocks <= hi * online, name="unit_max")
            mdl.add_constraints(blocks >= lo * online, name="unit_min")
            mdl.add_constraints(online.sum("year") <= 1, name="unit_once")
            mdl.add_constraints(online <= can_build.astype(float), name="unit_lead_time")
            mdl.add_constraints(build == step * blocks.sum("unit"), name="unit_build")
        else:  # the MILP's choice, fixed, so the LP's duals price capacity
            mdl.add_constraints(build == step * fixed_blocks.sum("unit"), name="unit_build")
    slack = {}
    if elastic:
        # a slack per row it relaxes (balances: per grade, so one grade's shortfall is not
        # forced onto the others)
        coords = {"bare_balance": [ks, years, grades], "embedded_balance": [ks, years, grades],
                  "min_domestic": [ks, years], "budget": None}  # fmt: skip
        for name, c in coords.items():
            slack[name] = mdl.add_variables(lower=0, coords=c, name=f"slack_{name}")
    from repm.analyses.optimize.routes import add_routes

    rt = add_routes(mdl, chain, avail, ks, years, disc, recipe.sel(material="ndpr_oxide"))

    # Every constraint below is one linear expression written straight from label and coefficient
    # arrays (`_rows`): linopy's arithmetic would align and merge xarray objects once per operator,
    # which costs more than the rest of the build put together. Same rows, same terms.
    Y, G, O = len(years), len(grades), len(origins)  # noqa: E741
    L_made, L_imp, L_draw = made.labels.values, imp.labels.values, draw.labels.values
    L_irel, L_ub, L_ue = irel_used.labels.values, unmet_b.labels.values, unmet_e.labels.values
    L_build, L_stock = build.labels.values, stock.labels.values
    ones = np.ones
    kyg, ky = [ks, years, grades], [ks, years]
    mag_j = [LP_MATERIALS.index(model.form("magnet", g)) for g in GRADES]
    emb_j = [LP_MATERIALS.index(model.form("embedded", g)) for g in GRADES]
    ox_j = [LP_MATERIALS.index(m) for m in OXIDES]
    st_mag = [STOCKABLE.index(model.form("magnet", g)) for g in GRADES]
    st_ox = [STOCKABLE.index(m) for m in OXIDES]
    grade_terms = L_made.reshape(K, Y, 1, G)  # k × year × (1) × grade as terms

    # capacity: existing plants plus everything built so far (a lower-triangular matrix)
    lower = (years.values[:, None] >= years.values[None, :]).astype(float)  # year × since
    cap_terms = [(1.0, L_made), (-lower[None], L_build[None, None, :])]
    if sold is not None:
        cap_terms.append((1.0, sold.labels.values))
    _constrain(mdl, "capacity", ky, cap_terms, "<=", existing.values[None, :])
    terms = [
        (1.0, L_made[..., None]),
        (1.0, np.moveaxis(L_imp[:, :, :, mag_j], 2, 3)),  # k × year × grade × origin
        (1.0, L_draw[:, :, st_mag, None]),
        (1.0, L_ub[..., None]),
    ]
    if elastic:
        terms.append((1.0, slack["bare_balance"].labels.values[..., None]))
    _constrain(mdl, "bare_balance", kyg, terms, "=", bare.values, extra=rt.bare)
    terms = [(1.0, np.moveaxis(L_imp[:, :, :, emb_j], 2, 3)), (1.0, L_ue[..., None])]
    if elastic:
        terms.append((1.0, slack["embedded_balance"].labels.values[..., None]))
    _constrain(mdl, "embedded_balance", kyg, terms, "=", emb.values[None])
    # feed: oxide for what is made = imports + stockpile draws + IREL's oxide (NdPr only)
    k_y_x = [ks, years, oxides]
    irel_coef = np.array([1.0 if m == "ndpr_oxide" else 0.0 for m in OXIDES])  # IREL: NdPr only
    terms = [
        (recipe.values.T[None, None], grade_terms),  # oxide × grade recipe, per grade term
        (-1.0, np.moveaxis(L_imp[:, :, :, ox_j], 2, 3)),
        (-1.0, L_draw[:, :, st_ox, None]),
        (-irel_coef[None, None, :, None], L_irel[:, :, None, None]),
    ]
    if sold is not None:
        terms.append((recipe.values.T[None, None], sold.labels.values.reshape(K, Y, 1, G)))
    extra = 0
    if not isinstance(rt.ndpr_feed, int):
        extra = -rt.ndpr_feed * xr.DataArray(irel_coef, coords=[oxides])
    _constrain(mdl, "feed_balance", k_y_x, terms, "=", 0.0, extra=extra)
    if chain.tolling.sizes.get("route", 0):  # IREL oxide to the units and to tolling partners
        sep = xr.DataArray(chain.separation_output.values, coords=[years])
        mdl.add_constraints(irel_used + rt.irel_oxide <= sep, name="irel_oxide_split")
    k_st = [ks, stockable]
    terms = [(1.0, np.moveaxis(L_draw, 1, 2)), (-1.0, L_stock[None, :, None])]
    _constrain(mdl, "stockpile", k_st, terms, "<=", 0.0)
    if pol.max_origin_share < 1.0:
        all_o = np.broadcast_to(np.moveaxis(L_imp, 2, 3)[:, :, None], (K, Y, O, len(mats), O))
        terms = [(1.0, L_imp[..., None]), (-pol.max_origin_share, all_o)]
        _constrain(mdl, "origin_share", [ks, years, origins, mats], terms, "<=", 0.0)
    if pol.min_domestic_share > 0:
        # from the first year new units can produce; before that nothing can be built to meet it
        # (a grade switch moves demand between grades, not the total)
        total = (bare.isel(k=0) + emb).sum("grade").values * (years >= first_build).astype(float)
        terms = [(1.0, L_made)]
        if elastic:
            terms.append((1.0, slack["min_domestic"].labels.values[..., None]))
        _constrain(mdl, "min_domestic", ky, terms, ">=", pol.min_domestic_share * total[None])
    if pol.capex_budget is not None:
        terms = [(capex, L_build)]
        if elastic:
            terms.append((-1.0, slack["budget"].labels.values.reshape(1)))
        _constrain(mdl, "budget", [], terms, "<=", pol.capex_budget)

    # the objective: discounted capex and stockpile (first stage), then each scenario's cost
    d = disc.values
    made_c = (opex * ones(G))[None, None, :] * d[None, :, None]  # k × year × grade
    imp_c = price.values * d[None, :, None, None]
    unmet_c = penalty * ones((1, 1, G)) * d[None, :, None]
    scen_terms = [
        (made_c, L_made), (imp_c, L_imp), (unmet_c, L_ub), (unmet_c, L_ue),
    ]  # fmt: skip
    if sold is not None:  # made at home (conversion cost), sold abroad (revenue)
        earn = chain.export_price.values * CRORE_PER_T_AT
        scen_terms.append((made_c - earn[None] * d[None, :, None], sold.labels.values))
    obj_terms = [
        (capex * d, L_build),
        (value.values + hold.values * float(disc.sum()), L_stock),
        *((p_k * np.broadcast_to(c, lab.shape), lab) for c, lab in scen_terms),
    ]
    if cvar_weight > 0:
        eta = mdl.add_variables(name="var_eta")
        z = mdl.add_variables(lower=0, coords=[ks], name="cvar_excess")
        # z_k ≥ cost_k − eta, written as z_k + eta − cost_k ≥ 0
        per_k = [
            (-np.broadcast_to(c, lab.shape).reshape(K, -1), lab.reshape(K, -1))
            for c, lab in scen_terms
        ]
        terms = [(1.0, z.labels.values[:, None]), (1.0, eta.labels.values.reshape(1, 1)), *per_k]
        extra = 0 if isinstance(rt.cost, int) else -rt.cost
        _constrain(mdl, "cvar", [ks], terms, ">=", 0.0, extra=extra)
        obj_terms += [
            (cvar_weight, eta.labels.values.reshape(1)),
            (cvar_weight * (p_k / (1 - cvar_alpha)), z.labels.values),
        ]
    obj = _rows(
        mdl, [], *((np.ravel(np.broadcast_to(c, lab.shape)), lab.ravel()) for c, lab in obj_terms)
    )
    if not isinstance(rt.first_cost, int):
        obj = obj + rt.first_cost
    if not isinstance(rt.cost, int):
        obj = obj + p_k * rt.cost.sum("k")
    if elastic:
        big = 1e6
        obj = sum(big * s.sum() for s in slack.values())
    mdl.add_objective(obj)
    info = {
        "value": value,
        "hold": hold,
        "years": years,
        "ks": ks,
        "capex": capex,
        "disc": disc,
        "existing": existing,
        "slack": slack,
        "first_build": first_build,
    }
    return mdl, info
