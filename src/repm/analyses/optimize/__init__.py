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

from repm.analyses.optimize.coefficients import coefficients
from repm.analyses.optimize.model import build_model
from repm.analyses.optimize.solve import (
    PlanResult,
    ScenarioInputs,
    explain_infeasible,
    optimize,
    scenario_inputs,
    shock_inputs,
    solve,
)
from repm.model.units import CRORE_PER_T_AT
from repm.scenario.schema import FEEDS

__all__ = [
    "CRORE_PER_T_AT", "FEEDS", "PlanResult", "ScenarioInputs", "build_model", "coefficients",
    "explain_infeasible", "optimize", "scenario_inputs", "shock_inputs", "solve",
]  # fmt: skip
