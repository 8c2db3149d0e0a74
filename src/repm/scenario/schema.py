"""The scenario schema: what a scenario YAML may say, with units, checked strictly.

Every number may be written plain (taken in the field's unit), with a unit ('600 t/yr',
'7,280 crore INR', '1.2 kg') or as a fact reference ('fact:scheme_outlay'), and is converted
once, with pint (`fields`). Unknown keys are errors everywhere. The top-level blocks are named
here once; each lives in its own module (demand, supply, trade, economics, risk, routes).
"""

from __future__ import annotations

from pydantic import PrivateAttr, ValidationInfo, model_validator

from repm.model import ModelDefinition, default_definition
from repm.scenario.checks import flagged, nearest, outside, positive_or_one
from repm.scenario.demand import Demand, Horizon
from repm.scenario.economics import Economics, Scheme
from repm.scenario.fields import (
    FACT_PREFIX,
    PATH_REACH,
    Block,
    definition_of,
    path_years_mistakes,
)
from repm.scenario.risk import Risk
from repm.scenario.routes import Environment, Routes, route_mistakes
from repm.scenario.supply import Supply
from repm.scenario.trade import Policy, Trade, share_path_mistakes
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
        mistakes = list(self._cross_mistakes(model))
        if mistakes:
            more = f" ({len(mistakes)} mistakes)" if len(mistakes) > 1 else ""
            raise ValueError("; ".join(mistakes) + more)
        return self

    def _cross_mistakes(self, model: ModelDefinition):
        """Each check across blocks that fails, as a one-line message naming the field (all of
        them, not only the first)."""
        for i, t in enumerate(self.routes.tolling):
            if t.grade not in model.grade_names:
                yield (
                    f"routes.tolling.{i}.grade: unknown grade {t.grade!r}; expected one of "
                    f"{', '.join(model.grade_names)}"
                )
        start, end = int(self.horizon.start), int(self.horizon.end)
        d = self.demand
        for y in d.anchors:
            if not start <= y <= end:
                yield f"demand.anchors: year {y} outside the horizon {start}–{end}"
        if d.base_year < start:
            yield f"demand.anchors: base year {d.base_year} before the horizon start {start}"
        yield from self._path_mistakes(start, end)
        yield from share_path_mistakes(self.trade, model.trade_groups, start, end)
        for i, u in enumerate(self.supply.units):
            if flagged(u.first_year > end + PATH_REACH):
                yield f"supply.units.{i}.start_year: {u.first_year} is far beyond the horizon"
        allowed_m = [m.name for m in model.materials if m.kind != "embedded"]
        for material in self.policy.stockpile:
            if material not in allowed_m:
                yield (
                    f"policy.stockpile.{material}: unknown stockpile material; expected one of "
                    f"{', '.join(allowed_m)}"
                )
            elif (
                material not in self.economics.prices
                and model.material(material).kind not in ("oxide", "magnet", "embedded")
                and flagged(
                    (self.policy.stockpile[material] > 0) & (self.economics.holding_cost_rate > 0)
                )
            ):
                yield (
                    f"economics.prices.{material}: missing; a stockpile of {material} needs a "
                    "price to cost its holding"
                )
        for i, ev in enumerate(self.risk.events):
            for o in (o for o in ev.origins if o not in self.trade.origins):  # each, at once
                yield (
                    f"risk.events.{i}.origin: unknown origin {o!r}; expected one of the "
                    f"trade.origins ({', '.join(self.trade.origins)})"
                )
            if ev.start_year is not None and flagged(outside(ev.start_year, start, end)):
                yield (
                    f"risk.events.{i}.start_year: {ev.start_year:g} outside the horizon "
                    f"{start}–{end}"
                )
        yield from route_mistakes(self.routes, self.trade.origins, start, end)
        if self.scheme is not None:
            yield from self._scheme_mistakes()

    def _path_mistakes(self, start: int, end: int):
        """Every path given by year, under one rule (`path_years_mistakes`)."""
        d, e = self.demand, self.economics
        paths = {
            "demand.channels.localization": d.channels.localization,
            **{
                f"demand.channels.localization_by_sector.{k}": v
                for k, v in d.channels.localization_by_sector.items()
            },
            "supply.separation.output": self.supply.separation.output,
            "supply.monazite.processed": self.supply.monazite.processed,
            **{f"economics.oxide_prices.{k}": v for k, v in e.oxide_prices.items()},
            **{f"economics.china_oxide_prices.{k}": v for k, v in e.china_oxide_prices.items()},
            **{f"economics.coproduct_prices.{k}": v for k, v in e.coproduct_prices.items()},
        }
        if d.heavy_free_shift is not None:
            paths["demand.heavy_free_shift.share"] = d.heavy_free_shift.share
        if d.exports is not None:
            paths["demand.exports.tonnes"] = d.exports.tonnes
        for name, sec in d.sectors.items():
            if sec.activity_path:
                what = f"demand.sectors.{name}.activity_path"
                paths[what] = sec.activity_path
                for y in sorted(y for y in sec.activity_path if y <= d.base_year):
                    yield (
                        f"{what}: year {y} is not after the base year {d.base_year}; "
                        "expected later observations (the base year's is `activity`)"
                    )
        for what, path in paths.items():
            yield from path_years_mistakes(path, start, end, what)

    def _scheme_mistakes(self):
        s = self.scheme
        for i, u in enumerate(self.supply.units):
            if u.scheme and flagged(
                outside(u.capacity, s.unit_capacity_min - 1e-9, s.unit_capacity_max + 1e-9)
            ):
                yield (
                    f"supply.units.{i}.capacity: {u.capacity:g} t/yr outside the scheme's "
                    f"{s.unit_capacity_min:g}–{s.unit_capacity_max:g} t/yr"
                )
            if u.scheme:  # a step of 0: any capacity
                step = s.unit_capacity_step
                steps = u.capacity / positive_or_one(step)
                if flagged((step > 0) & (abs(steps - nearest(steps)) > 1e-9)):
                    yield (
                        f"supply.units.{i}.capacity: {u.capacity:g} t/yr is not a multiple of the "
                        f"scheme's {s.unit_capacity_step:g} t/yr"
                    )
            if u.sli_bid is not None and flagged(u.sli_bid > s.sli_cap_per_kg + 1e-9):
                yield (
                    f"supply.units.{i}.sli_bid: {u.sli_bid:g} INR/kg exceeds the cap of "
                    f"{s.sli_cap_per_kg:g} INR/kg"
                )
