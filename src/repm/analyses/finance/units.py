"""The scheme units a finance run values: their specs, a hypothetical unit, bids and levers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repm.errors import UserError
from repm.model.units import INR_PER_CRORE
from repm.scenario.schema import Scenario

CRORE = INR_PER_CRORE


@dataclass(frozen=True)
class UnitSpec:
    unit_id: str
    capacity: float  # t/yr
    award_year: int
    first_year: int
    rampup_years: float
    sli_bid: float  # INR/kg
    scheme: bool = True


@dataclass(frozen=True)
class Levers:
    """Multipliers for sensitivity and Monte Carlo (1 = as in the scenario)."""

    price: float = 1.0
    capex: float = 1.0
    feed: float = 1.0
    fx: float = 1.0
    discount: float = 1.0
    price_path: np.ndarray | None = None  # per modelled year, revenue multiplier
    feed_path: np.ndarray | None = None  # per modelled year × material, feed price multiplier


def unit_specs(s: Scenario) -> list[UnitSpec]:
    if s.scheme is None:
        raise UserError(
            "this scenario has no `scheme` block; expected the scheme's rules to value units",
            where="scheme",
        )
    out = []
    for u in s.supply.units:
        if not u.scheme:
            continue
        award = int(
            u.award_year if u.award_year is not None else u.first_year - s.scheme.gestation_years
        )
        out.append(
            UnitSpec(
                u.name,
                u.capacity,
                award,
                u.first_year,
                u.rampup_years,
                u.sli_bid if u.sli_bid is not None else s.scheme.sli_bid,
            )
        )
    return out


def hypothetical_unit(s: Scenario, capacity: float, sli_bid: float | None = None) -> UnitSpec:
    """A unit of the given size on the scenario's scheme timing (the first scheme unit's, or the
    scheme's gestation from the horizon start)."""
    if s.scheme is None:
        raise UserError(
            "this scenario has no `scheme` block; expected scheme rules", where="scheme"
        )
    sch = s.scheme
    if not sch.unit_capacity_min - 1e-9 <= capacity <= sch.unit_capacity_max + 1e-9:
        raise UserError(
            f"{capacity:g} t/yr; expected {sch.unit_capacity_min:g}–{sch.unit_capacity_max:g} t/yr under the scheme",
            where="--unit",
        )
    if (
        sch.unit_capacity_step > 0
        and abs(capacity / sch.unit_capacity_step - round(capacity / sch.unit_capacity_step)) > 1e-9
    ):
        raise UserError(
            f"{capacity:g} t/yr; expected a multiple of {sch.unit_capacity_step:g} t/yr",
            where="--unit",
        )
    ref = next((u for u in s.supply.units if u.scheme), None)
    award = (
        int(ref.award_year)
        if ref is not None and ref.award_year is not None
        else int(s.horizon.start)
    )
    first = ref.first_year if ref is not None else int(award + sch.gestation_years)
    ramp = ref.rampup_years if ref is not None else 1.0
    bid = sch.sli_bid if sli_bid is None else sli_bid
    return UnitSpec(f"unit-{capacity:g}t", capacity, award, first, ramp, bid)


def check_bid(s: Scenario, bid: float) -> float:
    cap = s.scheme.sli_cap_per_kg  # type: ignore[union-attr]
    if bid < 0 or bid > cap + 1e-9:
        raise UserError(
            f"{bid:g} INR/kg; expected 0–{cap:g} INR/kg (the scheme's cap)", where="--sli-bid"
        )
    return bid
