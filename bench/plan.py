"""Benchmark: `repm plan`'s linopy model against the same LP written in Pyomo, both solved by HiGHS.

    uv run python bench/plan.py [--scenarios 1 10 100 400] [--seed 0] [--cvar 0] [--repeat 3]

For each scenario count N the script

1. draws the shock inputs once (`repm.analyses.optimize.scenario_inputs`, not timed: both sides share
   the draws and the annual availability; the Pyomo side computes the spare ramp itself from the
   draws' monthly event levels, `spare_availability`, by the definition in docs/risk.md);
2. builds repm's linopy model (`repm.analyses.optimize.build_model`) and solves it with repm's own
   `repm.analyses.optimize.solve` (HiGHS through highspy's direct API), timing build and solve apart, and
   reads HiGHS's own run time from the attached `highspy.Highs` (`mdl.solver_model.getRunTime()`,
   the `run()` call alone — it excludes linopy's matrix export and solution read-back);
3. builds the same LP in Pyomo — a `ConcreteModel` with Sets for k, year, origin, material, grade
   and the same variables, bounds, constraints and objective, written from NumPy arrays that
   `plan_arrays` recomputes from the scenario and chain exactly as `build_model` does — and solves
   it with `pyomo.contrib.appsi.solvers.Highs` (also highspy), timing build (arrays + model) and
   solve (`Highs.solve`: Pyomo → highspy translation, HiGHS, loading the solution) apart;
4. checks both sizes and both optimal objectives agree (relative 1e-6) and exits 1 if they don't;
5. prints a table and the issue's goals at 100 scenarios: linopy build+solve ≤ 40 % of Pyomo's,
   and within 1.3× of HiGHS's own solve time. The goals are reported, not asserted.

Both sides are warmed up on one scenario first (imports, first-call caches). `--repeat R` keeps the
fastest of R timings per cell.

`linopy_lp` and `pyomo_lp` reduce either model to the same canonical form (bounds, objective and
constraint rows keyed by component name and labels in the order k, year, origin, material, grade),
so tests can check the two are the same LP term by term, not just at the optimum.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from repm.analyses.optimize import (
    CRORE_PER_T_AT,
    build_model,
    scenario_inputs,
    solve,
)
from repm.chain import Chain, compile_chain
from repm.model import default_definition
from repm.scenario import load_scenario
from repm.scenario.schema import Scenario

# the chain's structure (names only: the coefficients below are this file's own)
_MODEL = default_definition()
GRADES, MATERIALS = _MODEL.grade_names, _MODEL.material_names
MATERIAL_GROUP = _MODEL.material_group
LP_MATERIALS, OXIDES = _MODEL.names(in_plan=True), _MODEL.names(kind="oxide")
STOCKABLE = _MODEL.names(stockable=True)

RTOL = 1e-6  # objectives must agree to this relative tolerance
GOAL_VS_PYOMO = 0.40  # linopy build+solve ≤ 40 % of Pyomo build+solve, at 100 scenarios
GOAL_VS_HIGHS = 1.3  # linopy build+solve ≤ 1.3 × HiGHS's own solve time, at 100 scenarios
GOAL_N = 100
# the issue sizes its goal on a model of ~325k variables (its "for scale" shape); repm's model at
# 100 scenarios is ~82k, so the fixed cost of building, exporting and reading back weighs 4× more
# against HiGHS's run there. The goals are also shown at the model size.
REFERENCE_VARS = 325_000
DIMS = ("k", "year", "origin", "material", "grade")  # canonical order of labels in LP keys


# ---------------------------------------------------------------------------------------------
# the model's data, as NumPy arrays (recomputed exactly as repm.analyses.optimize.build_model does)


@dataclass(frozen=True)
class PlanArrays:
    ks: list[int]
    years: list[int]
    origins: list[str]
    bare: np.ndarray  # k × year × grade, t (makers' grade switch moves it between grades)
    emb: np.ndarray  # year × grade, t
    recipe: np.ndarray  # grade × oxide, t oxide per t magnet
    existing: np.ndarray  # year, t/yr
    can_build: np.ndarray  # year, bool
    irel: np.ndarray  # year, t NdPr oxide
    limit: np.ndarray  # k × year × origin × material, t
    price: np.ndarray  # k × year × origin × material, crore per t
    gap: np.ndarray  # k × year × stockable, t
    disc: np.ndarray  # year
    capex: float  # crore per t/yr
    opex: float  # crore per t
    penalty: float  # crore per t
    value: np.ndarray  # stockable, crore per t
    hold: np.ndarray  # stockable, crore per t per year
    p_k: float
    unmet_ub: float
    max_origin_share: float
    min_domestic_share: float
    capex_budget: float | None
    cvar_weight: float = 0.0
    cvar_alpha: float = 0.95
    materials: tuple[str, ...] = field(default=LP_MATERIALS)
    oxides: tuple[str, ...] = field(default=OXIDES)
    stockable: tuple[str, ...] = field(default=STOCKABLE)
    grades: tuple[str, ...] = field(default=GRADES)


def plan_arrays(
    scenario: Scenario,
    chain: Chain,
    avail: np.ndarray,
    price_mult: np.ndarray,
    spare_avail: np.ndarray,
    bare: np.ndarray | None = None,
    *,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
) -> PlanArrays:
    """The coefficients of `build_model(scenario, chain, avail, price_mult, ...)`, as arrays;
    spare_avail from this file's own `spare_availability`, bare (k × year × grade) from its own
    `switched_demand` (None: the chain's demand, nobody switching)."""
    pol, fin = scenario.policy, scenario.economics.finance
    assert fin is not None, "the planner needs economics.finance"
    K, Y = avail.shape[0], chain.n_years
    years = [int(y) for y in chain.years]
    origins = list(chain.origins)
    mi = [MATERIALS.index(m) for m in LP_MATERIALS]

    if bare is None:
        bare = np.broadcast_to(chain.demand_bare.sum("sector").values, (K, Y, len(GRADES)))
    emb = chain.demand_embedded.sum("sector").values
    y = scenario.supply.yields  # alloy per magnet from the stated stages, not repm's rule
    into = 1.0 / (y.sintering * y.machining)
    per_magnet = into - y.swarf_return * (into - 1.0)
    recipe = chain.recipe.sel(feed="oxide", material=list(OXIDES)).values * per_magnet
    own = [not u.scheme for u in scenario.supply.units]
    existing = chain.capacity_effective_unit.values[:, own].sum(axis=1)
    first_build = min((u.first_year for u in scenario.supply.units if u.scheme), default=years[0])
    irel = np.minimum(chain.separation_output.values, chain.irel_to_units_max)

    need = np.zeros((K, Y, len(LP_MATERIALS)))
    for j, m in enumerate(LP_MATERIALS):
        if m in OXIDES:
            need[..., j] = (bare * recipe[:, OXIDES.index(m)]).sum(axis=2)
        elif m.startswith("magnet"):
            need[..., j] = bare[..., GRADES.index(m.split("_", 1)[1])]
        else:
            need[..., j] = emb[None, :, GRADES.index(m.split("_", 1)[1])]
    if chain.import_share.ndim != 2:  # year × origin × material: share paths
        raise SystemExit(f"bench/plan.py: {scenario.name} sets import shares by year "
                         "(trade.share_paths), which this reference model does not read; "
                         "expected a scenario without them (the baseline)")  # fmt: skip
    share = chain.import_share.values[:, mi]  # origin × material
    spare = chain.spare.values[:, mi]
    # an origin's usual share × availability, plus its spare × availability × the spare ramp
    limit = (
        avail[:, :, :, mi] * share[None, None] * need[:, :, None, :]
        + spare_avail[:, :, :, mi] * spare[None, None]
    )

    # prices read from the scenario here, not through repm's rules: oxides at their price in the
    # base year (the first demand anchor; paths linear between points, flat outside), a magnet
    # grade at its oxides + other materials + its conversion margin, economics.prices over both,
    # an embedded magnet at its bare grade's price
    eco = scenario.economics
    base_year = min(scenario.demand.anchors)
    base = {}
    for m, path in eco.oxide_prices.items():
        xs = sorted(path)
        base[m] = float(np.interp(base_year, xs, [path[x] for x in xs]))
    ox_price = np.array([base[m] for m in OXIDES])
    for gi, g in enumerate(GRADES):
        base[f"magnet_{g}"] = float(
            recipe[gi] @ ox_price + eco.magnet_cost.other_materials + eco.magnet_cost.conversion[g]
        )
    base.update(eco.prices)
    for g in GRADES:
        if f"embedded_{g}" not in eco.prices:
            base[f"embedded_{g}"] = base[f"magnet_{g}"]
    pf = np.ones((len(origins), len(LP_MATERIALS)))
    for j, m in enumerate(LP_MATERIALS):
        for o, f in scenario.trade.price_factor.get(MATERIAL_GROUP[m], {}).items():
            pf[origins.index(o), j] = f
    unit_price = np.array([base.get(m, 0.0) for m in LP_MATERIALS]) * CRORE_PER_T_AT
    price = unit_price[None, None, None, :] * pf[None, None] * price_mult[:, :, None, mi]
    disc = (1 + fin.discount_rate) ** -np.arange(Y)
    n_grade_feed = float((recipe[GRADES.index("n")] * ox_price).sum())
    opex = n_grade_feed * (1 - fin.re_cost_share) / fin.re_cost_share * CRORE_PER_T_AT
    value = np.array([base.get(m, 0.0) * CRORE_PER_T_AT for m in STOCKABLE])
    si = [LP_MATERIALS.index(m) for m in STOCKABLE]
    # a finished-magnet stockpile serves only the share of a shortfall it was made for
    fit = np.array(
        [pol.magnet_stockpile_fit if m.startswith("magnet_") else 1.0 for m in LP_MATERIALS]
    )
    gap = fit * np.maximum(need - limit.sum(axis=2), 0.0)
    gap = np.where(gap > 1e-9 * np.maximum(need, 1.0), gap, 0.0)[:, :, si]  # LP numerics
    if scenario.risk.as_of is not None:  # no stockpile draws in the years of history
        y, m = (int(x) for x in scenario.risk.as_of.split("-"))
        gap[:, : max(0, min(Y, (y - years[0]) + m // 12))] = 0.0
    return PlanArrays(
        ks=list(range(K)), years=years, origins=origins, bare=bare, emb=emb, recipe=recipe,
        existing=existing, can_build=np.array(years) >= first_build, irel=irel, limit=limit,
        price=price, gap=gap, disc=disc, capex=fin.capex_reference / fin.capex_reference_capacity,
        opex=opex, penalty=pol.unmet_penalty * CRORE_PER_T_AT, value=value,
        hold=value * scenario.economics.holding_cost_rate, p_k=1.0 / K,
        unmet_ub=math.inf if pol.allow_unmet else 0.0, max_origin_share=pol.max_origin_share,
        min_domestic_share=pol.min_domestic_share, capex_budget=pol.capex_budget,
        cvar_weight=cvar_weight, cvar_alpha=cvar_alpha,
    )  # fmt: skip


def spare_availability(scenario: Scenario, chain: Chain, n: int, seed: int) -> np.ndarray:
    """k × year × origin × material: each year's mean, over its months, of availability × the
    share of spare capacity there, computed here from the definition in docs/risk.md ("Spare
    capacity ramps up"), not from repm's `spare_ramp`. Only the draws are repm's (its sampled
    event levels, draw × month × event, and each event's weight on origin × material).

    A restriction spell begins in a month with any export restriction (`kind:
    export_restriction`; outages do not count) active after a month with none; s
    months after it began, spare capacity is there at min(1, s / R), R = risk.spare_ramp_months,
    and a month of the spell gets that line's mean over the month: F(k + 1) − F(k), k the months
    since the spell began and F its integral (s² / 2R up to R, then s − R / 2). Outside a spell
    all of it is there. A month's availability is Π over events (1 − level × weight)."""
    Y, O, M = chain.n_years, len(chain.origins), len(MATERIALS)  # noqa: E741
    if n == 0:
        return np.ones((1, Y, O, M))
    from repm.simulate.shocks import sample

    sh = sample(scenario.risk, chain, np.arange(n), seed)
    level = np.asarray(sh.event_level, dtype=np.float64)  # draw × month × event
    weight = np.asarray(sh.event_target, dtype=np.float64)  # event × origin × material
    D, T, E = level.shape
    R = float(scenario.risk.spare_ramp_months)
    restrictions = [
        e for e, ev in enumerate(scenario.risk.events) if ev.kind == "export_restriction"
    ]

    def integral(s: np.ndarray) -> np.ndarray:
        return np.where(s <= R, s * s / (2.0 * R), s - R / 2.0)

    there = np.ones((D, T))
    since = np.zeros(D)  # months since the spell began
    before = np.zeros(D, dtype=bool)  # was the month before restricted?
    for t in range(T):
        now = (level[:, t, restrictions] != 0).any(axis=1)
        since = np.where(now & before, since + 1.0, 0.0)
        if R > 0:
            there[:, t] = np.where(now, integral(since + 1.0) - integral(since), 1.0)
        before = now
    out = np.empty((D, Y, O, M))
    for y in range(Y):
        months = slice(12 * y, 12 * (y + 1))
        avail = np.ones((D, 12, O, M))
        for e in range(E):
            avail *= 1.0 - level[:, months, e, None, None] * weight[e][None, None]
        out[:, y] = (avail * there[:, months, None, None]).mean(axis=1)
    return out


def switched_demand(scenario: Scenario, chain: Chain, n: int, seed: int) -> np.ndarray:
    """k × year × grade bare-magnet demand with makers' grade switch (`risk.grade_switch`),
    computed here from its definition in docs/risk.md, not from repm's `switch_steps`: a grade's
    bare magnets are restricted in a month when some event active that month weighs on them from
    some origin; once they have been restricted `after_months` without a break, makers in the
    switch's sectors move `share` of that grade's bare demand (the chain's, by sector) to the
    grade with the next lower Dy + Tb content, for good, from the month it happens. A year
    takes the share of its months switched. Only the draws are repm's."""
    Y, G = chain.n_years, len(GRADES)
    by_sector = chain.demand_bare.transpose("year", "sector", "grade").values
    base = by_sector.sum(axis=1)
    sw = scenario.risk.grade_switch
    if n == 0 or sw is None:
        return np.broadcast_to(base, (max(n, 1), Y, G)).copy()
    from repm.simulate.shocks import sample

    sh = sample(scenario.risk, chain, np.arange(n), seed)
    level = np.asarray(sh.event_level)  # draw × month × event
    weight = np.asarray(sh.event_target)  # event × origin × material
    heavy = {g: float(chain.grade_comp.sel(grade=g, element=["Dy", "Tb"]).sum()) for g in GRADES}
    lighter = {}
    for g in GRADES:
        below = [h for h in GRADES if heavy[h] < heavy[g]]
        if below:
            lighter[g] = max(below, key=lambda h: heavy[h])
    sectors = list(chain.sectors)
    share = np.array([sw.share if sw.sectors is None or s in sw.sectors else 0.0 for s in sectors])
    out = np.empty((n, Y, G))
    for k in range(n):
        switched_from = {}  # grade -> month makers moved off it
        for g in lighter:
            col = MATERIALS.index(f"magnet_{g}")
            hit = (weight[:, :, col] > 0).any(axis=1)  # events that reach it
            run = 0.0
            for t in range(level.shape[1]):
                if (level[k, t, hit] != 0).any():
                    if run >= sw.after_months:
                        switched_from[g] = t
                        break
                    run += 1.0
                else:
                    run = 0.0
        for y in range(Y):
            d = by_sector[y].copy()
            for g, t0 in switched_from.items():
                part = min(max((12 * (y + 1) - t0) / 12.0, 0.0), 1.0)
                moved = by_sector[y, :, GRADES.index(g)] * share * part
                d[:, GRADES.index(g)] -= moved
                d[:, GRADES.index(lighter[g])] += moved
            out[k, y] = d.sum(axis=0)
    return out


# ---------------------------------------------------------------------------------------------
# the same LP in Pyomo


def build_pyomo(a: PlanArrays):
    """The planning LP as a modeller would write it in Pyomo, component names as in linopy."""
    import pyomo.environ as pyo

    def table(arr, *axes):
        """{(label, ...): float} for an array whose axes are indexed by `axes` (label lists)."""
        out = {}
        for pos in np.ndindex(arr.shape):
            key = tuple(ax[i] for ax, i in zip(axes, pos, strict=True))
            out[key if len(key) > 1 else key[0]] = float(arr[pos])
        return out

    ks, years, origins = a.ks, a.years, a.origins
    mats, oxides, grades = list(a.materials), list(a.oxides), list(a.grades)
    stockable = list(a.stockable)
    bare, emb = table(a.bare, ks, years, grades), table(a.emb, years, grades)
    recipe = table(a.recipe, grades, oxides)
    existing, irel, disc = table(a.existing, years), table(a.irel, years), table(a.disc, years)
    can_build = dict(zip(years, a.can_build.tolist(), strict=True))
    limit = table(a.limit, ks, years, origins, mats)
    price = table(a.price, ks, years, origins, mats)
    gap = table(a.gap, ks, years, stockable)
    value, hold = table(a.value, stockable), table(a.hold, stockable)
    unmet_ub = None if math.isinf(a.unmet_ub) else a.unmet_ub
    magnet = {g: f"magnet_{g}" for g in grades}
    embedded = {g: f"embedded_{g}" for g in grades}

    m = pyo.ConcreteModel("repm plan")
    m.k = pyo.Set(initialize=ks, ordered=True)
    m.year = pyo.Set(initialize=years, ordered=True)
    m.origin = pyo.Set(initialize=origins, ordered=True)
    m.material = pyo.Set(initialize=mats, ordered=True)
    m.oxide = pyo.Set(initialize=oxides, within=m.material, ordered=True)
    m.stockable = pyo.Set(initialize=stockable, within=m.material, ordered=True)
    m.grade = pyo.Set(initialize=grades, ordered=True)

    nonneg = pyo.NonNegativeReals
    m.build = pyo.Var(m.year, within=nonneg, bounds=lambda m, y: (0, None if can_build[y] else 0.0))
    m.stock = pyo.Var(m.stockable, within=nonneg)
    m.made = pyo.Var(  # at most the bare-magnet market
        m.k, m.year, m.grade, within=nonneg, bounds=lambda m, k, y, g: (0, bare[k, y, g])
    )
    m.imports = pyo.Var(
        m.k, m.year, m.origin, m.material, within=nonneg,
        bounds=lambda m, k, y, o, mt: (0, limit[k, y, o, mt]),
    )  # fmt: skip
    m.draw = pyo.Var(  # the release rule: a stockpile only covers what origins cannot send
        m.k, m.year, m.stockable, within=nonneg, bounds=lambda m, k, y, s: (0, gap[k, y, s])
    )
    m.irel_oxide = pyo.Var(m.k, m.year, within=nonneg, bounds=lambda m, k, y: (0, irel[y]))
    m.unmet_bare = pyo.Var(m.k, m.year, m.grade, within=nonneg, bounds=(0, unmet_ub))
    m.unmet_embedded = pyo.Var(m.k, m.year, m.grade, within=nonneg, bounds=(0, unmet_ub))

    qs = pyo.quicksum
    m.capacity = pyo.Constraint(
        m.k, m.year,
        rule=lambda m, k, y: qs(m.made[k, y, g] for g in m.grade)
        <= qs(m.build[b] for b in m.year if b <= y) + existing[y],
    )  # fmt: skip
    m.bare_balance = pyo.Constraint(
        m.k, m.year, m.grade,
        rule=lambda m, k, y, g: m.made[k, y, g]
        + qs(m.imports[k, y, o, magnet[g]] for o in m.origin)
        + m.draw[k, y, magnet[g]] + m.unmet_bare[k, y, g] == bare[k, y, g],
    )  # fmt: skip
    m.embedded_balance = pyo.Constraint(
        m.k, m.year, m.grade,
        rule=lambda m, k, y, g: qs(m.imports[k, y, o, embedded[g]] for o in m.origin)
        + m.unmet_embedded[k, y, g] == emb[y, g],
    )  # fmt: skip

    def feed_balance(m, k, y, x):
        used = qs(recipe[g, x] * m.made[k, y, g] for g in m.grade if recipe[g, x] != 0)
        inflow = qs(m.imports[k, y, o, x] for o in m.origin) + m.draw[k, y, x]
        if x == "ndpr_oxide":
            inflow += m.irel_oxide[k, y]  # IREL separates NdPr only
        return used == inflow

    m.feed_balance = pyo.Constraint(m.k, m.year, m.oxide, rule=feed_balance)
    m.stockpile = pyo.Constraint(
        m.k,
        m.stockable,
        rule=lambda m, k, s: qs(m.draw[k, y, s] for y in m.year) <= m.stock[s],
    )
    if a.max_origin_share < 1.0:
        m.origin_share = pyo.Constraint(
            m.k, m.year, m.origin, m.material,
            rule=lambda m, k, y, o, mt: m.imports[k, y, o, mt]
            <= a.max_origin_share * qs(m.imports[k, y, p, mt] for p in m.origin),
        )  # fmt: skip
    if a.min_domestic_share > 0:
        m.min_domestic = pyo.Constraint(
            m.k, m.year,
            rule=lambda m, k, y: qs(m.made[k, y, g] for g in m.grade)
            >= a.min_domestic_share * sum(bare[0, y, g] + emb[y, g] for g in grades) * float(can_build[y]),
        )  # fmt: skip
    if a.capex_budget is not None:
        m.budget = pyo.Constraint(expr=a.capex * qs(m.build[y] for y in m.year) <= a.capex_budget)

    # discounted operating cost of scenario k, crore INR
    m.scen_cost = pyo.Expression(
        m.k,
        rule=lambda m, k: qs(
            disc[y] * a.opex * m.made[k, y, g] for y in m.year for g in m.grade
        )
        + qs(
            disc[y] * price[k, y, o, mt] * m.imports[k, y, o, mt]
            for y in m.year for o in m.origin for mt in m.material
        )
        + qs(
            disc[y] * a.penalty * (m.unmet_bare[k, y, g] + m.unmet_embedded[k, y, g])
            for y in m.year for g in m.grade
        ),
    )  # fmt: skip
    years_disc = float(a.disc.sum())
    first = (
        qs(a.capex * disc[y] * m.build[y] for y in m.year)
        + qs(value[s] * m.stock[s] for s in m.stockable)
        + qs(hold[s] * years_disc * m.stock[s] for s in m.stockable)
    )
    obj = first + a.p_k * qs(m.scen_cost[k] for k in m.k)
    if a.cvar_weight > 0:
        m.var_eta = pyo.Var()
        m.cvar_excess = pyo.Var(m.k, within=nonneg)
        m.cvar = pyo.Constraint(
            m.k, rule=lambda m, k: m.cvar_excess[k] >= m.scen_cost[k] - m.var_eta
        )
        tail = m.var_eta + a.p_k / (1 - a.cvar_alpha) * qs(m.cvar_excess[k] for k in m.k)
        obj = obj + a.cvar_weight * tail
    m.objective = pyo.Objective(expr=obj, sense=pyo.minimize)
    return m


def solve_pyomo(m) -> tuple[float, float]:
    """Solve with appsi's HiGHS interface; (objective, HiGHS's own run time in s)."""
    from pyomo.contrib.appsi.base import TerminationCondition
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs()
    opt.config.stream_solver = False
    res = opt.solve(m)
    if res.termination_condition != TerminationCondition.optimal:
        raise SystemExit(f"bench/plan.py: Pyomo + HiGHS ended {res.termination_condition}")
    return float(res.best_feasible_objective), float(res.wallclock_time)


# ---------------------------------------------------------------------------------------------
# both models in one canonical form, to compare term by term


@dataclass
class CanonicalLp:
    bounds: dict[tuple, tuple[float, float]]  # column key → (lb, ub)
    cost: dict[tuple, float]  # column key → objective coefficient (nonzero only)
    rows: dict[tuple, tuple[dict[tuple, float], float, float]]  # row key → (coefs, lo, hi)


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _canonical_row(coefs: dict, lo: float, hi: float) -> tuple[dict, float, float]:
    """Drop zeros; flip the sign so the first column (by key) has a positive coefficient."""
    coefs = {c: v for c, v in coefs.items() if v != 0}
    if coefs and coefs[min(coefs, key=str)] < 0:
        return {c: -v for c, v in coefs.items()}, -hi, -lo
    return coefs, lo, hi


def _keys(container) -> dict[int, tuple]:
    """linopy label → (name, *labels in DIMS order)."""
    keys = {}
    for name in container:
        labels = container[name].labels
        dims = sorted(labels.dims, key=DIMS.index)
        labels = labels.transpose(*dims)
        if not dims:
            keys[int(labels)] = (name,)
            continue
        coords = [labels.coords[d].values for d in dims]
        for pos in np.ndindex(labels.shape):
            lab = int(labels.values[pos])
            if lab >= 0:
                keys[lab] = (name, *(_py(c[i]) for c, i in zip(coords, pos, strict=True)))
    return keys


def linopy_lp(mdl) -> CanonicalLp:
    M = mdl.matrices
    vkeys, ckeys = _keys(mdl.variables), _keys(mdl.constraints)
    cols = [vkeys[int(v)] for v in M.vlabels]
    bounds = {c: (float(lb), float(ub)) for c, lb, ub in zip(cols, M.lb, M.ub, strict=True)}
    cost = {c: float(v) for c, v in zip(cols, M.c, strict=True) if v != 0}
    A = M.A.tocsr()
    A.sum_duplicates()
    rows = {}
    for i, lab in enumerate(M.clabels):
        coefs: dict = {}
        span = slice(A.indptr[i], A.indptr[i + 1])
        for j, v in zip(A.indices[span], A.data[span], strict=True):
            coefs[cols[j]] = coefs.get(cols[j], 0.0) + float(v)
        b, s = float(M.b[i]), M.sense[i]
        lo, hi = (b if s in (">", "=") else -math.inf), (b if s in ("<", "=") else math.inf)
        rows[ckeys[int(lab)]] = _canonical_row(coefs, lo, hi)
    return CanonicalLp(bounds, cost, rows)


def pyomo_lp(m) -> CanonicalLp:
    import pyomo.environ as pyo
    from pyomo.repn import generate_standard_repn

    def key(data) -> tuple:
        idx = data.index()
        idx = () if idx is None else idx if isinstance(idx, tuple) else (idx,)
        return (data.parent_component().local_name, *(_py(i) for i in idx))

    def linear(expr) -> tuple[dict, float]:
        repn = generate_standard_repn(expr, quadratic=False)
        assert repn.nonlinear_expr is None
        coefs: dict = {}
        for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            coefs[key(v)] = coefs.get(key(v), 0.0) + float(c)
        return coefs, float(repn.constant)

    inf = math.inf
    bounds = {
        key(v): (-inf if v.lb is None else float(v.lb), inf if v.ub is None else float(v.ub))
        for v in m.component_data_objects(pyo.Var, descend_into=True)
    }
    (obj,) = m.component_data_objects(pyo.Objective, active=True)
    cost, const = linear(obj.expr)
    assert const == 0, "the objective has no constant term"
    cost = {c: v for c, v in cost.items() if v != 0}
    rows = {}
    for con in m.component_data_objects(pyo.Constraint, active=True):
        coefs, const = linear(con.body)
        lo = -inf if con.lower is None else pyo.value(con.lower) - const
        hi = inf if con.upper is None else pyo.value(con.upper) - const
        rows[key(con)] = _canonical_row(coefs, lo, hi)
    return CanonicalLp(bounds, cost, rows)


def lp_differences(
    a: CanonicalLp, b: CanonicalLp, rtol: float = 1e-9, limit: int = 20
) -> list[str]:
    """Where two canonical LPs differ (at most `limit` lines); [] when they are the same LP."""

    def close(x: float, y: float) -> bool:
        return x == y or abs(x - y) <= rtol * max(abs(x), abs(y), 1e-12)

    out: list[str] = []
    for what, da, db in (("column", a.bounds, b.bounds), ("row", a.rows, b.rows)):
        for k in sorted(set(da) ^ set(db), key=str):
            out.append(f"{what} {k} only in {'the first' if k in da else 'the second'} model")
    for k in sorted(set(a.bounds) & set(b.bounds), key=str):
        if not all(map(close, a.bounds[k], b.bounds[k])):
            out.append(f"bounds of {k}: {a.bounds[k]} vs {b.bounds[k]}")
    for k in sorted(set(a.cost) | set(b.cost), key=str):
        if not close(a.cost.get(k, 0.0), b.cost.get(k, 0.0)):
            out.append(f"cost of {k}: {a.cost.get(k, 0.0)!r} vs {b.cost.get(k, 0.0)!r}")
    for k in sorted(set(a.rows) & set(b.rows), key=str):
        (ca, la, ha), (cb, lb, hb) = a.rows[k], b.rows[k]
        bad = [c for c in set(ca) | set(cb) if not close(ca.get(c, 0.0), cb.get(c, 0.0))]
        if bad or not (close(la, lb) and close(ha, hb)):
            c = min(bad, key=str) if bad else None
            detail = f"{c}: {ca.get(c, 0.0)!r} vs {cb.get(c, 0.0)!r}" if bad else ""
            out.append(f"row {k}: bounds [{la}, {ha}] vs [{lb}, {hb}] {detail}".rstrip())
    return out[:limit]


# ---------------------------------------------------------------------------------------------
# one comparison and the benchmark


@dataclass(frozen=True)
class Row:
    n: int
    variables: int
    constraints: int
    linopy_build: float
    linopy_solve: float
    highs_own: float  # HiGHS run() inside linopy's solve
    pyomo_build: float
    pyomo_solve: float
    pyomo_highs_own: float  # HiGHS run() inside Pyomo's solve
    linopy_objective: float
    pyomo_objective: float

    @property
    def linopy_total(self) -> float:
        return self.linopy_build + self.linopy_solve

    @property
    def pyomo_total(self) -> float:
        return self.pyomo_build + self.pyomo_solve

    @property
    def rel_diff(self) -> float:
        a, b = self.linopy_objective, self.pyomo_objective
        return abs(a - b) / max(abs(a), abs(b), 1e-12)


def run_linopy(
    scenario, chain, avail, pm, spare_avail, switched, *, cvar_weight=0.0, cvar_alpha=0.95
):
    """(model, build s, solve s, HiGHS own s, objective) for repm's own model and solve."""
    t0 = time.perf_counter()
    mdl, _ = build_model(
        scenario, chain, avail, pm, spare_avail=spare_avail, switched=switched,
        cvar_weight=cvar_weight, cvar_alpha=cvar_alpha,
    )  # fmt: skip
    t1 = time.perf_counter()
    cond = solve(mdl)
    t2 = time.perf_counter()
    if cond != "optimal":
        raise SystemExit(f"bench/plan.py: linopy + HiGHS ended {cond}")
    own = float(mdl.solver_model.getRunTime())
    return mdl, t1 - t0, t2 - t1, own, float(mdl.objective.value)


def run_pyomo(scenario, chain, avail, pm, spare_avail, bare, *, cvar_weight=0.0, cvar_alpha=0.95):
    """(model, build s, solve s, HiGHS own s, objective) for the Pyomo model."""
    t0 = time.perf_counter()
    arrays = plan_arrays(
        scenario, chain, avail, pm, spare_avail, bare, cvar_weight=cvar_weight,
        cvar_alpha=cvar_alpha,
    )  # fmt: skip
    m = build_pyomo(arrays)
    t1 = time.perf_counter()
    obj, own = solve_pyomo(m)
    t2 = time.perf_counter()
    return m, t1 - t0, t2 - t1, own, obj


def compare(scenario, chain, n: int, *, seed=0, cvar_weight=0.0, cvar_alpha=0.95, repeat=1) -> Row:
    """Build and solve both models for n scenarios; the fastest of `repeat` timings per cell."""
    avail, pm, repm_spare, switched = scenario_inputs(scenario, chain, n, seed)
    own_spare = spare_availability(scenario, chain, n, seed)  # the ramp, computed here
    own_bare = switched_demand(scenario, chain, n, seed)  # the grade switch, computed here
    kw = {"cvar_weight": cvar_weight, "cvar_alpha": cvar_alpha}
    lin = [
        run_linopy(scenario, chain, avail, pm, repm_spare, switched, **kw) for _ in range(repeat)
    ]
    pyo = [run_pyomo(scenario, chain, avail, pm, own_spare, own_bare, **kw) for _ in range(repeat)]
    mdl, m = lin[0][0], pyo[0][0]
    nv, nc = int(mdl.nvars), int(mdl.ncons)
    pv, pc = m.nvariables(), m.nconstraints()
    if (nv, nc) != (pv, pc):
        raise SystemExit(
            f"bench/plan.py: N={n}: linopy has {nv} variables × {nc} constraints, Pyomo "
            f"{pv} × {pc}; the two models are not the same LP (has repm.optimize changed?)"
        )
    best = lambda runs, i: min(r[i] for r in runs)  # noqa: E731
    return Row(
        n=n, variables=nv, constraints=nc,
        linopy_build=best(lin, 1), linopy_solve=best(lin, 2), highs_own=best(lin, 3),
        pyomo_build=best(pyo, 1), pyomo_solve=best(pyo, 2), pyomo_highs_own=best(pyo, 3),
        linopy_objective=lin[0][4], pyomo_objective=pyo[0][4],
    )  # fmt: skip


COLUMNS = [
    ("N", "{:>5}", lambda r: r.n),
    ("vars", "{:>7}", lambda r: r.variables),
    ("cons", "{:>6}", lambda r: r.constraints),
    ("lin build s", "{:>11.3f}", lambda r: r.linopy_build),
    ("lin solve s", "{:>11.3f}", lambda r: r.linopy_solve),
    ("HiGHS own s", "{:>11.3f}", lambda r: r.highs_own),
    ("pyo build s", "{:>11.3f}", lambda r: r.pyomo_build),
    ("pyo solve s", "{:>11.3f}", lambda r: r.pyomo_solve),
    ("(pyo HiGHS s)", "{:>13.3f}", lambda r: r.pyomo_highs_own),
    ("lin/pyo", "{:>7.1%}", lambda r: r.linopy_total / r.pyomo_total),
    ("lin/HiGHS", "{:>9.1f}×", lambda r: r.linopy_total / r.highs_own),
]


def table(rows: list[Row]) -> str:
    widths = [len(f.format(0)) for _, f, _ in COLUMNS]
    head = "  ".join(h.rjust(w) for (h, _, _), w in zip(COLUMNS, widths, strict=True))
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append("  ".join(f.format(get(r)) for _, f, get in COLUMNS))
    return "\n".join(lines)


def goals(rows: list[Row]) -> str:
    at = next((r for r in rows if r.n == GOAL_N), None)
    note = ""
    if at is None:
        at = max(rows, key=lambda r: r.n)
        note = f" (the goals are set at N={GOAL_N}, which was not run; showing N={at.n})"
    lines = [f"goals at N={at.n}{note}:", *_goal_lines(at)]
    ref = [r for r in rows if r.variables >= 0.9 * REFERENCE_VARS and r is not at]
    if ref:
        r = min(ref, key=lambda r: r.variables)
        lines += [
            f"at the issue's reference model size (~{REFERENCE_VARS:,} variables): N={r.n}, "
            f"{r.variables:,} variables:",
            *_goal_lines(r),
        ]
    return "\n".join(lines)


def _goal_lines(at: Row) -> list[str]:
    vs_pyomo = at.linopy_total / at.pyomo_total
    vs_highs = at.linopy_total / at.highs_own
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    return [
        f"  linopy build+solve = {at.linopy_total:.3f} s = {vs_pyomo:.1%} of Pyomo build+solve "
        f"({at.pyomo_total:.3f} s); goal ≤ {GOAL_VS_PYOMO:.0%}: {mark(vs_pyomo <= GOAL_VS_PYOMO)}",
        f"  linopy build+solve = {vs_highs:.2f} × HiGHS's own solve time ({at.highs_own:.3f} s); "
        f"goal ≤ {GOAL_VS_HIGHS}×: {mark(vs_highs <= GOAL_VS_HIGHS)}",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", type=int, nargs="+", default=[1, 10, 100, 400], metavar="N")
    p.add_argument("--scenario", default="india-baseline", help="scenario name or file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cvar", type=float, default=0.0, help="CVaR weight, as `repm plan --cvar`")
    p.add_argument("--cvar-alpha", type=float, default=0.95)
    p.add_argument("--repeat", type=int, default=3, help="keep the fastest of R timings")
    args = p.parse_args(argv)
    if any(n < 1 for n in args.scenarios) or args.repeat < 1:
        p.error("--scenarios and --repeat take integers ≥ 1")

    import highspy
    import linopy
    import pyomo
    from pyomo.contrib.appsi.cmodel import cmodel_available

    loaded = load_scenario(args.scenario)
    chain = compile_chain(loaded.scenario)
    kw = {"seed": args.seed, "cvar_weight": args.cvar, "cvar_alpha": args.cvar_alpha}
    print(
        f"repm plan, {loaded.name}: linopy {linopy.__version__} vs Pyomo {pyomo.__version__} "
        f"(appsi HiGHS, compiled appsi extension: {'yes' if cmodel_available else 'no'}); "
        f"HiGHS {highspy.Highs().version()}; seed {args.seed}, cvar {args.cvar}, "
        f"fastest of {args.repeat}"
    )
    compare(loaded.scenario, chain, 1, **kw)  # warm-up: imports and first-call caches
    rows, failed = [], []
    started = time.perf_counter()
    for n in args.scenarios:
        row = compare(loaded.scenario, chain, n, repeat=args.repeat, **kw)
        rows.append(row)
        if row.rel_diff > RTOL:
            failed.append(
                f"N={n}: objectives differ, linopy {row.linopy_objective!r} vs Pyomo "
                f"{row.pyomo_objective!r} crore INR (relative {row.rel_diff:.2e} > {RTOL})"
            )
        print(
            f"  N={n}: objective {row.linopy_objective:,.6f} crore INR (linopy) vs "
            f"{row.pyomo_objective:,.6f} (Pyomo), relative difference {row.rel_diff:.1e}",
            flush=True,
        )
    print()
    print(table(rows))
    print(
        "lin/pyo = (linopy build + solve) / (Pyomo build + solve); lin/HiGHS = (linopy build + "
        "solve) / HiGHS's own run() inside linopy's solve; (pyo HiGHS s) = HiGHS's run() inside "
        "Pyomo's solve. Shock sampling is shared and not timed."
    )
    print()
    print(goals(rows))
    print(f"benchmark wall time {time.perf_counter() - started:.1f} s")
    if failed:
        print("\n".join(["", "FAILED:", *failed]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
