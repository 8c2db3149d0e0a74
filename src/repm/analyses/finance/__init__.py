"""Scheme finance: a unit's cash flows under the notified rules, and what the treasury pays.

Everything is read from the scenario (`scheme` rules, `economics.finance`) and the engine's run
(how much the units actually sell, year by year). Money is INR inside and crore INR in reports.

Cash flow of a unit, per year from award to the end of its life:
    revenue + SLI + capital subsidy − capex − feed − non-feed opex − tax
- capex: ₹1,000 crore × (capacity / 1,200 t)^exponent, spread over the gestation years;
- production: the unit's ramped capacity × the year's utilisation of all domestic units in the
  engine's run (demand- and feed-limited); after the horizon, the last year's utilisation;
- feed: the recipe (t of NdPr, Dy, Tb oxide per t of magnet, same coefficients as the engine) ×
  feed prices; non-feed opex = feed cost at base prices × (1 − s) / s, with s the rare-earth share
  of production cost;
- SLI: for `sli_years` from first production, min(bid × kg sold, 40 % of net sales), and in total
  at most capacity × sli_years × the per-kg cap;
- capital subsidy: 15 % of eligible investment, at most ₹150 crore × capacity / 1,200 t, paid in
  the first production year, not taxed;
- tax: on revenue + SLI − feed − opex − straight-line depreciation, losses carried forward.
"""

from repm.analyses.finance.cashflow import (
    Context,
    breakeven_price,
    breakeven_sli,
    cash_flows,
    context,
    discount_rate,
    first_price,
    irr,
    non_feed_opex_per_kg,
    npv,
    unit_metrics,
    unit_npv,
)
from repm.analyses.finance.scheme import (
    ROUTE_COSTS,
    SEPARATION,
    outlay,
    outlay_check,
    route_costs,
    separation_side,
)
from repm.analyses.finance.sensitivity import SENSITIVITY, montecarlo, tornado
from repm.analyses.finance.units import (
    CRORE,
    Levers,
    UnitSpec,
    check_bid,
    hypothetical_unit,
    unit_specs,
)

__all__ = [
    "CRORE", "ROUTE_COSTS", "SEPARATION", "SENSITIVITY", "Context", "Levers", "UnitSpec", "breakeven_price",
    "first_price",
    "breakeven_sli", "cash_flows", "check_bid", "context", "hypothetical_unit", "irr", "montecarlo",
    "non_feed_opex_per_kg", "npv", "outlay", "outlay_check", "route_costs", "separation_side", "tornado",
    "discount_rate", "unit_metrics", "unit_npv", "unit_specs",
]  # fmt: skip
