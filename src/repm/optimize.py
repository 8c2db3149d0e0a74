"""Least-cost build-out and sourcing under risk: a two-stage stochastic LP in linopy + HiGHS.

First stage (one decision for all scenarios): domestic magnet capacity added each year, strategic
stockpile per material. Second stage (per shock scenario k and year y): magnets made at home,
imports by origin × material, stockpile draws, IREL oxide used, unmet demand. Coefficients come
from the compiled chain — the same recipe (t of NdPr, Dy, Tb oxide per t of magnet), demand,
import shares and spare capacity the engine uses.

Objective (crore INR, discounted to the first year):
    Σ_y d_y · capex · build_y                       investment
  + Σ_m hold_m · stock_m · Σ_y d_y                  holding the stockpile
  + Σ_k p_k · C_k                                   expected operating cost, where
      C_k = Σ_y d_y (opex · made + Σ price · imports + penalty · unmet)
  + λ · CVaR_α(C)                                   tail risk (Rockafellar–Uryasev)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from repm.chain import Chain
from repm.errors import UserError
from repm.plan import Plan, build_plan
from repm.rules import annual_mean, origin_offer, release_gap, stock_prices
from repm.scenario.schema import FEEDS, Scenario
from repm.units import CRORE_PER_T_AT

linopy.options["semantics"] = "v1"  # misaligned labels raise instead of silently filling
logging.getLogger("linopy").setLevel(logging.ERROR)  # solver status goes into our own messages


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    objective: float  # crore INR
    build: pd.Series  # year → t/yr added
    capacity: pd.Series  # year → t/yr available
    stockpile: dict[str, float]
    import_shares: dict[str, dict[str, float]]
    expected_unmet: pd.Series  # year → t (mean over scenarios)
    duals: dict[str, object]
    costs: dict[str, float]
    scenarios: int
    units: tuple | list = ()  # with --units: [{unit, online, capacity}]
    routes: dict | None = None  # contracts chosen and expected use (issue 6 routes)


def scenario_inputs(
    scenario: Scenario, chain: Chain, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Annual mean availability (k × year × origin × material) and price multipliers
    (k × year × material) from the risk model; one scenario with no shocks when n = 0."""
    Y, O, M = chain.n_years, len(chain.origins), len(chain.materials)  # noqa: E741
    if n == 0:
        return np.ones((1, Y, O, M)), np.ones((1, Y, M))
    from repm.shocks import sample

    sh = sample(scenario.risk, chain, np.arange(n), seed)
    avail = annual_mean(lambda t: np.broadcast_to(sh.at(t, 12), (n, O, M)), Y)
    return avail, annual_mean(sh.prices_at, Y)


def build_model(
    scenario: Scenario,
    chain: Chain,
    avail: np.ndarray,
    price_mult: np.ndarray,
    *,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
    elastic: bool = False,
    units: bool = False,
    fixed_blocks: xr.DataArray | None = None,
) -> tuple[linopy.Model, dict]:
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

    bare = xr.DataArray(chain.demand_bare.sum("sector").values, coords=[years, grades])
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

    # what each origin can send: its usual share of the need plus its spare capacity, × availability
    need = np.zeros((len(years), len(LP_MATERIALS)))
    for j, m in enumerate(LP_MATERIALS):
        mat = model.material(m)
        if m in OXIDES:
            need[:, j] = (bare.values * recipe.sel(material=m).values[None, :]).sum(axis=1)
        elif mat.kind == "magnet":
            need[:, j] = bare.values[:, GRADES.index(mat.grade)]
        else:
            need[:, j] = emb.values[:, GRADES.index(mat.grade)]
    share = chain.import_share.values[:, mi]  # origin × material
    spare = chain.spare.values[:, mi]
    limit = origin_offer(
        need[None, :, None, :], share[None, None], spare[None, None], avail[:, :, :, mi]
    )
    limit = xr.DataArray(limit, coords=[ks, years, origins, mats])

    base = stock_prices(scenario)
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
    from repm.finance import non_feed_opex_per_kg

    per_kg_all = chain.oxide_per_magnet.values  # grade × all materials
    opex = non_feed_opex_per_kg(scenario, per_kg_all) * CRORE_PER_T_AT  # crore per t
    penalty = pol.unmet_penalty * CRORE_PER_T_AT
    value = xr.DataArray([base.get(m, 0.0) * CRORE_PER_T_AT for m in STOCKABLE], coords=[stockable])
    hold = value * scenario.economics.holding_cost_rate
    p_k = 1.0 / K

    mdl = linopy.Model()
    can_build = xr.DataArray(years.values >= first_build, coords=[years])
    # bounds as labelled arrays of the variable's full shape: linopy then has nothing to align
    build = mdl.add_variables(lower=0, upper=xr.where(can_build, np.inf, 0.0), name="build")
    stock = mdl.add_variables(lower=_grid([stockable], 0.0), name="stock")
    # magnets made at home: at most the bare-magnet market (a bound, not a row)
    made = mdl.add_variables(lower=0, upper=bare.expand_dims(k=ks), name="made")
    imp = mdl.add_variables(lower=0, upper=limit, name="imports")
    # the release rule, as a bound: a stockpile only covers what origins cannot send (as in the
    # engine), so the planner cannot use it to dodge prices or origin caps in normal times
    gap = release_gap(need[None], limit.sum("origin").values)  # k × year × material
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
        for name in ("bare_balance", "embedded_balance", "min_domestic", "budget"):
            slack[name] = mdl.add_variables(
                lower=0, coords=[ks, years] if name != "budget" else None, name=f"slack_{name}"
            )
    from repm.plan_routes import add_routes

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
    _constrain(mdl, "capacity", ky, cap_terms, "<=", existing.values[None, :])
    terms = [
        (1.0, L_made[..., None]),
        (1.0, np.moveaxis(L_imp[:, :, :, mag_j], 2, 3)),  # k × year × grade × origin
        (1.0, L_draw[:, :, st_mag, None]),
        (1.0, L_ub[..., None]),
    ]
    if elastic:
        terms.append((1.0, slack["bare_balance"].labels.values[:, :, None, None]))
    _constrain(mdl, "bare_balance", kyg, terms, "=", bare.values[None], extra=rt.bare)
    terms = [(1.0, np.moveaxis(L_imp[:, :, :, emb_j], 2, 3)), (1.0, L_ue[..., None])]
    if elastic:
        terms.append((1.0, slack["embedded_balance"].labels.values[:, :, None, None]))
    _constrain(mdl, "embedded_balance", kyg, terms, "=", emb.values[None])
    # feed: oxide for what is made = imports + stockpile draws + IREL's oxide (NdPr only)
    k_y_x = [ks, years, oxides]
    irel_coef = np.array([1.0, 0.0, 0.0])
    terms = [
        (recipe.values.T[None, None], grade_terms),  # oxide × grade recipe, per grade term
        (-1.0, np.moveaxis(L_imp[:, :, :, ox_j], 2, 3)),
        (-1.0, L_draw[:, :, st_ox, None]),
        (-irel_coef[None, None, :, None], L_irel[:, :, None, None]),
    ]
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
        total = (bare + emb).sum("grade").values * (years.values >= first_build).astype(float)
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


def _grid(coords: list[pd.Index], values) -> xr.DataArray:
    """`values` broadcast to the grid `coords`, labelled."""
    return xr.DataArray(np.broadcast_to(values, tuple(len(c) for c in coords)), coords=coords)


def _terms(coords: list[pd.Index], *terms) -> xr.Dataset:
    """linopy's data for a linear expression over the grid `coords`, from (coefficients, labels)
    pairs. Each pair's arrays have the grid's dimensions plus a trailing term axis (NumPy
    broadcasting fills the rest); the pairs' terms are put side by side. Labels are the variables'
    own (`var.labels`), so the expression is exactly what linopy's operators would build, without
    aligning and merging an xarray object per operator."""
    shape = tuple(len(c) for c in coords)
    cs, vs = [], []
    for coef, labels in terms:
        labels = np.asarray(labels)
        full = shape + (labels.shape[-1],)
        vs.append(np.broadcast_to(labels, full))
        cs.append(np.broadcast_to(np.asarray(coef, dtype=float), full))
    dims = [c.name for c in coords] + ["_term"]
    return xr.Dataset(
        {
            "coeffs": (dims, np.concatenate(cs, axis=-1)),
            "vars": (dims, np.concatenate(vs, axis=-1)),
        },
        coords={c.name: c for c in coords},
    )


def _rows(mdl: linopy.Model, coords: list[pd.Index], *terms) -> linopy.LinearExpression:
    """The linear expression of `_terms`."""
    return linopy.LinearExpression(_terms(coords, *terms), mdl)


def _constrain(mdl, name, coords, terms, sign, rhs, extra=None) -> None:
    """Add `Σ terms (+ extra) sign rhs` over the grid `coords` as constraint `name`. Without
    `extra` (a linopy expression, e.g. a route's) the constraint's data is written directly —
    half of `add_constraints`' cost is turning an expression and a right-hand side into it."""
    if extra is not None and not isinstance(extra, int):
        mdl.add_constraints(_rows(mdl, coords, *terms) + extra, sign, _grid(coords, rhs), name=name)
        return
    shape = tuple(len(c) for c in coords)
    dims = [c.name for c in coords]
    data = _terms(coords, *terms).assign(
        sign=(dims, np.full(shape, sign)),
        rhs=(dims, np.broadcast_to(np.asarray(rhs, dtype=float), shape)),
    )
    mdl.add_constraints(linopy.Constraint(data, mdl), name=name)


FIELDS = {
    "bare_balance": "demand (demand.anchors, demand.channels) exceeds domestic capacity + imports (trade.shares, trade.spare) + stockpiles, with policy.allow_unmet = false",
    "embedded_balance": "embedded-channel demand (demand.channels.localization) exceeds what origins can send (trade.spare, risk.events), with policy.allow_unmet = false",
    "min_domestic": "policy.min_domestic_share cannot be met within the bare-magnet market (demand.channels) and the capex budget (policy.capex_budget)",
    "budget": "policy.capex_budget is too small for what the other constraints require (policy.min_domestic_share)",
}


def solve(mdl: linopy.Model) -> str:
    """Solve with HiGHS through its direct API, keeping its banner off stdout (JSON lives there)."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            # no term-by-term sanitising: every right-hand side here is finite, and a zero
            # coefficient (an origin with no spare, say) costs HiGHS nothing; skipping the two
            # passes saves ~40 ms at 100 scenarios
            status, condition = mdl.solve(
                solver_name="highs", io_api="direct", output_flag=False,
                sanitize_zeros=False, sanitize_infinities=False,
            )  # fmt: skip
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    return condition


def explain_infeasible(scenario, chain, avail, price_mult, **kw) -> str:
    mdl, info = build_model(scenario, chain, avail, price_mult, elastic=True, **kw)
    cond = solve(mdl)
    if cond != "optimal":
        return f"the model is {cond} even with every demand and policy constraint relaxed"
    parts = []
    for name, var in info["slack"].items():
        sol = var.solution
        amount = float(sol.sum()) if sol.size else 0.0
        if amount > 1e-6:
            where = ""
            if "year" in sol.dims:
                yrs = sol.sum("k").to_series()
                yrs = yrs[yrs > 1e-6]
                where = (
                    f" in {', '.join(str(y) for y in yrs.index[:4])}{'…' if len(yrs) > 4 else ''}"
                )
            unit = "crore INR" if name == "budget" else "t (mean over scenarios)"
            parts.append(
                f"{name}{where} short by {amount / max(1, len(info['ks'])):,.1f} {unit}: {FIELDS[name]}"
            )
    return "; ".join(parts) or "infeasible for a reason the elastic model could not locate"


def optimize(
    scenario: Scenario,
    chain: Chain,
    *,
    scenarios: int = 0,
    seed: int = 0,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
    units: bool = False,
) -> PlanResult:
    if not 0 < cvar_alpha < 1:
        raise UserError(
            f"{cvar_alpha}; expected a level strictly between 0 and 1", where="--cvar-alpha"
        )
    if cvar_weight < 0:
        raise UserError(f"{cvar_weight}; expected a weight ≥ 0", where="--cvar")
    if scenarios < 0:
        raise UserError(
            f"{scenarios}; expected 0 (deterministic) or more scenarios", where="--scenarios"
        )
    avail, pm = scenario_inputs(scenario, chain, scenarios, seed)
    mdl, info = build_model(
        scenario, chain, avail, pm, cvar_weight=cvar_weight, cvar_alpha=cvar_alpha, units=units
    )
    cond = solve(mdl)
    unit_list: list[dict] = []
    if units and cond == "optimal":
        blocks = mdl.variables["unit_blocks"].solution.round()
        step = scenario.scheme.unit_capacity_step or 100.0
        for u in blocks.unit.values:
            b = blocks.sel(unit=u)
            yrs = [int(y) for y in b.year.values if float(b.sel(year=y)) > 0]
            if yrs:
                unit_list.append(
                    {
                        "unit": int(u) + 1,
                        "online": yrs[0],
                        "capacity": float(b.sel(year=yrs[0])) * step,
                    }
                )
        # duals come from the LP with the integer choices fixed
        mdl, info = build_model(
            scenario,
            chain,
            avail,
            pm,
            cvar_weight=cvar_weight,
            cvar_alpha=cvar_alpha,
            fixed_blocks=blocks,
        )
        cond = solve(mdl)
    if cond in ("infeasible", "infeasible_or_unbounded"):
        raise UserError(
            "infeasible: "
            + explain_infeasible(
                scenario, chain, avail, pm, cvar_weight=cvar_weight, cvar_alpha=cvar_alpha
            )
        )
    if cond != "optimal":
        raise UserError(
            f"the planning model is {cond}; check prices (economics.prices) and penalties (policy.unmet_penalty)"
        )
    build = mdl.variables["build"].solution.to_series()
    capacity = build.cumsum() + info["existing"].to_series()
    stock = mdl.variables["stock"].solution.to_series().to_dict()
    imp = mdl.variables["imports"].solution  # k × year × origin × material
    tot = imp.sum(["k", "year"])
    shares = {}
    LP_MATERIALS = chain.model.names(in_plan=True)
    for m in LP_MATERIALS:
        t = float(tot.sel(material=m).sum())
        if t > 1e-9:
            shares[m] = {o: float(tot.sel(material=m, origin=o)) / t for o in chain.origins}
    unmet = (
        (
            mdl.variables["unmet_bare"].solution.sum("grade")
            + mdl.variables["unmet_embedded"].solution.sum("grade")
        )
        .mean("k")
        .to_series()
    )
    cap_dual = (
        mdl.constraints["capacity"].dual.sum("k").to_series()
    )  # crore INR per t/yr (discounted)
    duals = {"capacity": {int(y): -float(v) for y, v in cap_dual.items()}}
    if "origin_share" in mdl.constraints:
        d = mdl.constraints["origin_share"].dual.sum(["k", "year"])
        duals["origin_share"] = {
            f"{o}/{m}": -float(d.sel(origin=o, material=m))
            for o in chain.origins
            for m in LP_MATERIALS
            if abs(float(d.sel(origin=o, material=m))) > 1e-9
        }
    costs = {
        "capex": float(info["capex"] * (mdl.variables["build"].solution * info["disc"]).sum()),
        "stockpile": float(
            (info["value"] * mdl.variables["stock"].solution).sum()
            + (info["hold"] * mdl.variables["stock"].solution).sum() * float(info["disc"].sum())
        ),
    }
    costs["operations_expected"] = float(mdl.objective.value) - costs["capex"] - costs["stockpile"]
    from repm.plan_routes import route_summary

    routes = route_summary(mdl)

    # the plan the engine simulates: capacity on the oxide route, sourcing shares, stockpiles
    plan = build_plan(chain, {int(y): float(v) for y, v in capacity.items()}, shares, stock)
    return PlanResult(
        plan=plan, objective=float(mdl.objective.value), build=build, capacity=capacity, stockpile=stock,
        import_shares=shares, expected_unmet=unmet, duals=duals, costs=costs, scenarios=max(1, scenarios),
        units=unit_list, routes=routes,
    )  # fmt: skip


__all__ = ["FEEDS", "PlanResult", "optimize"]
