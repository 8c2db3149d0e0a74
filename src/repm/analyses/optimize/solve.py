"""Solving the planning LP and reading its answer: the plan, costs, duals and routes."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import linopy
import numpy as np
import pandas as pd

from repm.analyses.optimize.model import build_model
from repm.chain import Chain
from repm.chain.plan import Plan, build_plan
from repm.chain.rules import annual_mean
from repm.errors import UserError
from repm.scenario.schema import Scenario

if TYPE_CHECKING:
    from repm.simulate.shocks import Shocks

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


class ScenarioInputs(NamedTuple):
    """What the shock scenarios give the LP, per scenario k and year (the planner's period)."""

    avail: np.ndarray  # k × year × origin × material: mean availability over the year's months
    price_mult: np.ndarray  # k × year × material: mean price multipliers
    # k × year × origin × material: mean over the year's months of availability × the spare ramp
    # (the share of spare capacity there, `Shocks.spare_ramp`, the array the engine reads)
    spare_avail: np.ndarray
    # k × year × grade: share of the year's months makers are switched off the grade
    # (`shocks.switch_steps`, the steps the engine reads); None: no switch
    switched: np.ndarray | None = None


def shock_inputs(sh: Shocks, chain: Chain) -> ScenarioInputs:
    """The LP's inputs from sampled shocks, month by month as the engine steps, then each year's
    mean (`rules.annual_mean`): availability, price multipliers, availability × the spare
    ramp (the product taken month by month as the engine does before the year's mean), and the
    share of each year makers are switched off each grade."""
    n, Y, O, M = sh.draws, chain.n_years, len(chain.origins), len(chain.materials)  # noqa: E741

    def at(t: int) -> np.ndarray:
        return np.broadcast_to(sh.at(t, 12), (n, O, M))

    avail = annual_mean(at, Y)
    spare_avail = avail
    if sh.spare_ramp is not None:
        ramp = sh.spare_ramp  # draw × month

        def ramped(t: int) -> np.ndarray:
            return at(t) * ramp[:, t, None, None]

        spare_avail = annual_mean(ramped, Y)
    from repm.simulate.shocks import switch_steps, switched_share

    steps = switch_steps(sh, chain, 12)
    switched = None if steps is None else switched_share(steps, Y)
    return ScenarioInputs(avail, annual_mean(sh.prices_at, Y), spare_avail, switched)


def scenario_inputs(scenario: Scenario, chain: Chain, n: int, seed: int) -> ScenarioInputs:
    """Annual mean availability and spare availability (k × year × origin × material) and price
    multipliers (k × year × material) from n draws of the risk model (`shock_inputs`); one
    scenario with no shocks when n = 0."""
    Y, O, M = chain.n_years, len(chain.origins), len(chain.materials)  # noqa: E741
    if n == 0:
        ones = np.ones((1, Y, O, M))
        return ScenarioInputs(ones, np.ones((1, Y, M)), ones, None)
    from repm.simulate.shocks import sample

    return shock_inputs(sample(scenario.risk, chain, np.arange(n), seed), chain)


FIELDS = {
    "bare_balance": "demand (demand.anchors, demand.channels) exceeds domestic capacity + imports (trade.shares, trade.spare) + stockpiles, with policy.allow_unmet = false",
    "embedded_balance": "embedded-channel demand (demand.channels.localization) exceeds what origins can send (trade.spare, risk.events), with policy.allow_unmet = false",
    "min_domestic": "policy.min_domestic_share cannot be met within the bare-magnet market (demand.channels) and the capex budget (policy.capex_budget)",
    "budget": "policy.capex_budget is too small for what the other constraints require (policy.min_domestic_share)",
}


# HiGHS's options for every planning solve (repm.analyses.optimize.fixed reads them too)
HIGHS_OPTIONS = {"output_flag": False}


@contextmanager
def quiet_stdout():
    """File descriptor 1 on /dev/null meanwhile: HiGHS prints its banner there, past
    sys.stdout, and `--json` lives on stdout."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def solve(mdl: linopy.Model) -> str:
    """Solve with HiGHS through its direct API, keeping its banner off stdout (JSON lives there)."""
    with quiet_stdout():
        # no term-by-term sanitising: every right-hand side here is finite, and a zero
        # coefficient (an origin with no spare, say) costs HiGHS nothing; skipping the two
        # passes saves ~40 ms at 100 scenarios
        status, condition = mdl.solve(
            solver_name="highs", io_api="direct", sanitize_zeros=False,
            sanitize_infinities=False, **HIGHS_OPTIONS,
        )  # fmt: skip
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
                yrs = sol.sum([d for d in sol.dims if d != "year"]).to_series()
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
    avail, pm, spare_avail, switched = scenario_inputs(scenario, chain, scenarios, seed)
    # what every model of this plan shares: the scenarios' shocks and the risk weighting
    shared = {"spare_avail": spare_avail, "switched": switched, "cvar_weight": cvar_weight,
              "cvar_alpha": cvar_alpha}  # fmt: skip
    mdl, info = build_model(scenario, chain, avail, pm, units=units, **shared)
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
        mdl, info = build_model(scenario, chain, avail, pm, fixed_blocks=blocks, **shared)
        cond = solve(mdl)
    if cond in ("infeasible", "infeasible_or_unbounded"):
        raise UserError("infeasible: " + explain_infeasible(scenario, chain, avail, pm, **shared))
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
        # a material nobody imports has rows whose every term is 0: the solver may put any
        # number on them, which is no price, so only materials imported at all are reported
        d = mdl.constraints["origin_share"].dual.sum(["k", "year"])
        duals["origin_share"] = {
            f"{o}/{m}": -float(d.sel(origin=o, material=m))
            for o in chain.origins
            for m in LP_MATERIALS
            if abs(float(d.sel(origin=o, material=m))) > 1e-9
            and float(tot.sel(material=m).sum()) > 1e-9
        }
    costs = {
        "capex": float(info["capex"] * (mdl.variables["build"].solution * info["disc"]).sum()),
        "stockpile": float(
            (info["value"] * mdl.variables["stock"].solution).sum()
            + (info["hold"] * mdl.variables["stock"].solution).sum() * float(info["disc"].sum())
        ),
    }
    costs["operations_expected"] = float(mdl.objective.value) - costs["capex"] - costs["stockpile"]
    from repm.analyses.optimize.routes import route_summary

    routes = route_summary(mdl)

    # the plan the engine simulates: capacity on the oxide route, sourcing shares, stockpiles
    plan = build_plan(chain, {int(y): float(v) for y, v in capacity.items()}, shares, stock)
    return PlanResult(
        plan=plan, objective=float(mdl.objective.value), build=build, capacity=capacity, stockpile=stock,
        import_shares=shares, expected_unmet=unmet, duals=duals, costs=costs, scenarios=max(1, scenarios),
        units=unit_list, routes=routes,
    )  # fmt: skip
