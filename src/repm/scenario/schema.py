"""The scenario schema: what a scenario YAML may say, with units, checked strictly.

Every number may be written plain (taken in the field's unit), with a unit ('600 t/yr',
'7,280 crore INR', '1.2 kg') or as a fact reference ('fact:scheme_outlay'), and is converted
once, with pint (`fields`). Unknown keys are errors everywhere. The top-level blocks are named
here once; each lives in its own module (demand, supply, trade, economics, risk, routes).
"""

from __future__ import annotations

from pydantic import PrivateAttr, ValidationInfo, model_validator

from repm.model import ModelDefinition, default_definition
from repm.scenario.demand import Demand, Horizon
from repm.scenario.economics import Economics, Scheme
from repm.scenario.fields import FACT_PREFIX, Block, _check_years_within, definition_of
from repm.scenario.risk import Risk
from repm.scenario.routes import Environment, Routes, _check_routes
from repm.scenario.supply import Supply
from repm.scenario.trade import Policy, Trade
from repm.scenario.uncertainty import Uncertainty

FEEDS = tuple(default_definition().feeds)  # oxide-, metal- or alloy-fed units
__all__ = ["FACT_PREFIX", "FEEDS", "Scenario"]


class Scenario(Block):
    """A whole scenario. Top-level blocks are named here once."""

    name: str
    description: str = ""
    horizon: Horizon
    demand: Demand
    supply: Supply
    trade: Trade
    policy: Policy = Policy()
    scheme: Scheme | None = None
    risk: Risk = Risk()
    economics: Economics
    environment: Environment = Environment()
    routes: Routes = Routes()
    uncertainty: Uncertainty = {}  # per-fact overrides of the uncertainty rule (docs/uncertainty.md)
    _definition: ModelDefinition | None = PrivateAttr(default=None)

    @property
    def definition(self) -> ModelDefinition:
        """The model definition this scenario was validated against."""
        return self._definition or default_definition()

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Scenario:
        model = definition_of(info)
        self._definition = model
        for i, t in enumerate(self.routes.tolling):
            if t.grade not in model.grade_names:
                raise ValueError(
                    f"routes.tolling.{i}.grade: unknown grade {t.grade!r}; expected one of "
                    f"{', '.join(model.grade_names)}"
                )
        start, end = int(self.horizon.start), int(self.horizon.end)
        d = self.demand
        for y in d.anchors:
            if not start <= y <= end:
                raise ValueError(f"demand.anchors: year {y} outside the horizon {start}–{end}")
        if d.base_year < start:
            raise ValueError(
                f"demand.anchors: base year {d.base_year} before the horizon start {start}"
            )
        _check_years_within(d.channels.localization, start, end, "demand.channels.localization")
        if d.exports is not None:
            _check_years_within(d.exports.tonnes, start, end, "demand.exports.tonnes")
        _check_years_within(self.supply.separation.output, start, end, "supply.separation.output")
        for i, u in enumerate(self.supply.units):
            if u.first_year > end + 50:
                raise ValueError(
                    f"supply.units.{i}.start_year: {u.first_year} is far beyond the horizon"
                )
        for material in self.policy.stockpile:
            allowed_m = [m.name for m in model.materials if m.kind != "embedded"]
            if material not in allowed_m:
                allowed = ", ".join(allowed_m)
                raise ValueError(
                    f"policy.stockpile.{material}: unknown stockpile material; expected one of {allowed}"
                )
        for i, ev in enumerate(self.risk.events):
            if ev.origin not in self.trade.origins:
                raise ValueError(
                    f"risk.events.{i}.origin: unknown origin {ev.origin!r}; expected one of the trade.origins"
                )
            if ev.start_year is not None and not start <= ev.start_year <= end:
                raise ValueError(
                    f"risk.events.{i}.start_year: {ev.start_year:g} outside the horizon {start}–{end}"
                )
        for material in self.policy.stockpile:
            if (
                self.policy.stockpile[material] > 0
                and self.economics.holding_cost_rate > 0
                and material not in self.economics.prices
                and model.material(material).kind not in ("oxide", "magnet", "embedded")
            ):
                raise ValueError(
                    f"economics.prices.{material}: missing; a stockpile of {material} needs a price to cost its holding"
                )
        _check_routes(self.routes, self.trade.origins, start, end)
        if self.scheme is not None:
            s = self.scheme
            for i, u in enumerate(self.supply.units):
                if u.scheme and not (
                    s.unit_capacity_min - 1e-9 <= u.capacity <= s.unit_capacity_max + 1e-9
                ):
                    raise ValueError(
                        f"supply.units.{i}.capacity: {u.capacity:g} t/yr outside the scheme's "
                        f"{s.unit_capacity_min:g}–{s.unit_capacity_max:g} t/yr"
                    )
                if u.scheme and s.unit_capacity_step > 0:
                    steps = u.capacity / s.unit_capacity_step
                    if abs(steps - round(steps)) > 1e-9:
                        raise ValueError(
                            f"supply.units.{i}.capacity: {u.capacity:g} t/yr is not a multiple of the "
                            f"scheme's {s.unit_capacity_step:g} t/yr"
                        )
                if u.sli_bid is not None and u.sli_bid > s.sli_cap_per_kg + 1e-9:
                    raise ValueError(
                        f"supply.units.{i}.sli_bid: {u.sli_bid:g} INR/kg exceeds the cap of "
                        f"{s.sli_cap_per_kg:g} INR/kg"
                    )
        return self
