"""The risk indicators by year and sector, the holding cost of stock, P(no shortage), and what a
stockpile costs against the unmet demand it avoids (both discounted)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from repm.analyses.risk.reduce import UNMET_EPS, DrawSummary
from repm.chain import Chain
from repm.chain.rules import stock_prices
from repm.model.units import CRORE_PER_T_AT, INR_PER_CRORE
from repm.scenario.schema import Scenario

VEHICLE_SECTORS = {"ev_car": "ev_cars_not_built", "e2w": "e2w_not_built", "e3w": "e3w_not_built"}


def holding_cost(
    chain: Chain, scenario: Scenario, tonne_years: np.ndarray, price: np.ndarray | None = None
) -> np.ndarray:
    """crore INR per draw × year: tonne-years held × price × holding rate. price: INR/kg by
    material, `holding_prices` (a risk run's chunks ask it once)."""
    price = holding_prices(chain, scenario) if price is None else price
    inr = (
        (tonne_years * price[None, None, :]).sum(axis=2)
        * 1000.0
        * scenario.economics.holding_cost_rate
    )
    return inr / INR_PER_CRORE


def holding_prices(chain: Chain, scenario: Scenario) -> np.ndarray:
    """INR/kg by material, the price stock is held at (the planner's holding price too)."""
    prices = stock_prices(chain, scenario)
    return np.array([prices.get(m, 0.0) for m in scenario.definition.material_names])


def metrics(
    chain: Chain, scenario: Scenario, summary: DrawSummary, alpha: float | None = None
) -> pd.DataFrame:
    """The risk indicator table: by year, totals and by sector. The sector CVaRs are at the level
    the summary kept tails for (`run_draws(alpha=…)`); `alpha`, if given, must be that level."""
    if alpha is None:
        alpha = summary.alpha
    elif alpha != summary.alpha:
        raise ValueError(f"the summary kept sector tails for alpha {summary.alpha}, not {alpha}")
    years = chain.years
    rows: list[dict] = []

    def add(name, unit, values, **dims):
        for y, v in zip(years, np.asarray(values, dtype=float), strict=True):
            rows.append({"year": int(y), "name": name, "value": float(v), "unit": unit, **dims})

    total = summary.total  # draw × year
    add("p_shortage", "fraction", (total > UNMET_EPS).mean(axis=0))
    add("expected_unmet", "t", total.mean(axis=0))
    add("cvar95_unmet", "t", summary.cvar(alpha))  # cvar(total, alpha)
    qs = (5, 50, 95)  # np.quantile(total, q / 100, axis=0, method="inverted_cdf"), one call
    for q, values in zip(qs, summary.quantiles([q / 100 for q in qs], "inverted_cdf"), strict=True):
        add(f"unmet_p{q:02d}", "t", values)
    add("months_short", "month", summary.months_short)
    add("stockpile_holding_cost", "crore INR", summary.holding.mean(axis=0))
    add("mass_balance_residual", "t", summary.max_residual)
    for si, s in enumerate(chain.sectors):
        mean = summary.sector_mean[:, si]
        add("p_shortage", "fraction", summary.sector_p_short[:, si], sector=s)
        add("expected_unmet", "t", mean, sector=s)
        add("cvar95_unmet", "t", summary.sector_cvar[:, si], sector=s)
        add("months_short", "month", summary.sector_months_short[:, si], sector=s)
        if s in VEHICLE_SECTORS:
            kg = _kg_per_vehicle(scenario, s)
            if kg:
                add(VEHICLE_SECTORS[s], "vehicles", mean * 1000.0 / kg)
    df = pd.DataFrame(rows)
    if "sector" not in df:
        df["sector"] = None
    return df


def _kg_per_vehicle(scenario: Scenario, sector: str) -> float | None:
    sec = scenario.demand.sectors.get(sector)
    if sec is None or sec.basis != "driver" or sec.intensity is None:
        return None
    try:
        return float(sec.intensity.to("kg/vehicle").magnitude)
    except Exception:  # intensity in other units (t/MW): not a vehicle sector
        return None


def p_no_shortage(summary: DrawSummary, first: int = 0, tolerance: float = 0.0) -> float:
    """Share of draws with no shortage in any year of the horizon from year index `first` on
    (the first year after the risk model's as-of date: what is history cannot be insured). With
    `tolerance` > 0 (t a year), a year counts as short only when its unmet demand exceeds it."""
    if tolerance > 0:
        return float((summary.total[:, first:] <= tolerance).all(axis=1).mean())
    if first == 0:
        return float((summary.horizon <= UNMET_EPS * summary.total.shape[1]).mean())
    rest = summary.total[:, first:]
    return float((rest.sum(axis=1) <= UNMET_EPS * rest.shape[1]).mean())


def discounted(summary: DrawSummary, first: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, from year index `first` on, discounted to that year at `rate`: the stockpile's
    holding cost (crore INR) and the unmet demand (t). The one rule a stockpile is valued by —
    `repm stockpile`'s worth and `repm voi stockpile`'s net benefit."""
    disc = (1 + rate) ** -np.arange(summary.total.shape[1] - first)
    return (summary.holding[:, first:] * disc).sum(axis=1), (summary.total[:, first:] * disc).sum(
        axis=1
    )


def breakeven_penalty(holding_pv: float, unmet_avoided_t: float) -> float:
    """INR per kg of unmet demand at which a stockpile pays for itself: its discounted holding
    cost (crore INR) over the discounted unmet demand it avoids (t); inf when it avoids none."""
    if unmet_avoided_t <= 0:
        return float("inf")
    return holding_pv / (unmet_avoided_t * CRORE_PER_T_AT)  # the cost rule's own conversion
