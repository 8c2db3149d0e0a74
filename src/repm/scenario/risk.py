"""Scenario blocks: the risk model — supply-shock events and demand-growth uncertainty."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.scenario.checks import flagged
from repm.scenario.fields import (
    Block,
    Fraction,
    GrowthSD,
    KgPerKg,
    Months,
    Multiplier,
    PositiveMonths,
    Year,
    _one_of,
    _quantity,
    definition_of,
)  # fmt: skip


class Duration(Block):
    """How long an event lasts, in months."""

    mean_months: PositiveMonths
    cv: Annotated[float, _quantity("fraction", lo=0, hi=5)] = 0.0
    distribution: Literal["lognormal", "exponential", "fixed"] = "lognormal"


class Event(Block):
    """A supply shock: an export restriction by one origin, or a supplier outage.

    `origin` names one trade origin, or a list of them that one cause stops together (a common
    cause: Chinese controls on the reagents or equipment of separators in several countries):
    each episode — one onset, one length, one severity per draw — refuses the targets of every
    origin named, in the same months; `third_country_share` then reaches the origins not named.

    `hazard` is the probability per year that an episode starts (a month's chance is
    1 − (1 − hazard)^(1/12)); `start_year` (and `start_month`) instead fixes one onset that
    happens with `probability` (default certain): a stress test.
    While an episode lasts, `severity` (drawn uniformly in [low, high]) of the targeted exports
    are refused; during the first `licensing_delay_months` nothing targeted ships.
    With `include_magnets`, alloys and magnets are reached by their content: a grade class is
    targeted when its content of the controlled elements exceeds `content_threshold` (kg/kg;
    0: any content, as the April 2025 list; 0.001: the October 2025 0.1 % rule), and
    `other_grades_share` of the grades it does not reach is held up in practice all the same.
    `kind` says which it is: only an export restriction starts (or keeps going) the spell over
    which other origins' spare capacity ramps up (`Risk.spare_ramp_months`); an outage refuses
    its origin's materials all the same but moves no one else's capacity.
    """

    name: str
    kind: Literal["export_restriction", "outage"] = Field(
        description="export_restriction: an origin refuses exports, buyers turn to the others, "
        "whose spare capacity ramps up from the restriction spell's first month "
        "(risk.spare_ramp_months); outage: a supplier's plant stops, its materials are withheld "
        "the same way, but it starts no ramp (other makers add no capacity for it)"
    )
    origin: str | list[str] = Field(
        description="the trade origin the event refuses (one of trade.origins), or a list of "
        "origins one cause stops together: one episode (onset, length, severity) for all of them"
    )
    elements: Literal["light", "heavy", "all"] | None = None
    include_magnets: bool = True
    content_threshold: KgPerKg = 0.0
    other_grades_share: Fraction = Field(
        0.0,
        description="share of the magnets the content rule does not reach (e.g. N grade) held "
        "up in practice all the same (customs checks, exporters' caution)",
    )
    materials: list[str] | None = None
    hazard: Annotated[float, _quantity("1/yr", lo=0, hi=1)] = 0.0
    start_year: Year | None = None
    start_month: Annotated[float, _quantity("dimensionless", lo=1, hi=12, integer=True)] = 1
    probability: Fraction = 1.0
    duration: Duration
    severity_low: Fraction
    severity_high: Fraction
    licensing_delay_months: Months = 0.0
    third_country_share: Fraction = 0.0
    price_multiplier: dict[str, Multiplier] = Field(default_factory=dict)
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and "preset" in data:
            from repm.scenario.presets import with_preset

            data = with_preset(data)
        return data

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Event:
        MATERIALS = definition_of(info).material_names
        if flagged(self.severity_low > self.severity_high):
            raise ValueError(
                f"severity_low {self.severity_low:g} > severity_high {self.severity_high:g}"
            )
        if self.elements is None and not self.materials:
            raise ValueError("give `elements` (light, heavy, all) or a list of `materials`")
        for m in self.materials or []:
            if m not in MATERIALS:
                raise ValueError(
                    f"materials: unknown material {m!r}; expected one of {', '.join(MATERIALS)}"
                )
        for m in self.price_multiplier:
            if m not in MATERIALS:
                raise ValueError(
                    f"price_multiplier: unknown material {m!r}; expected one of {', '.join(MATERIALS)}"
                )
        return self

    @field_validator("origin", mode="before")
    @classmethod
    def _origins(cls, v: Any) -> Any:
        """One origin, or a list of distinct origins, at least one (whether each is one of the
        trade.origins is the scenario's check: `Scenario._cross_mistakes`)."""
        if isinstance(v, list):
            if not v:
                raise ValueError("an empty list; expected an origin or a list of at least one")
            if not all(isinstance(o, str) for o in v):
                raise ValueError("expected an origin or a list of origins (names)")
            twice = list(dict.fromkeys(o for o in v if v.count(o) > 1))
            if twice:
                raise ValueError(
                    f"{', '.join(map(repr, twice))} given more than once; expected each origin once"
                )
        elif not isinstance(v, str):
            raise ValueError("expected an origin or a list of origins (names)")
        return v

    @property
    def origins(self) -> tuple[str, ...]:
        """The origins the event refuses, in the order given (one, or the common cause's list)."""
        return (self.origin,) if isinstance(self.origin, str) else tuple(self.origin)

    @property
    def starts_spare_ramp(self) -> bool:
        """Whether the event counts in the spell from which other origins' spare capacity ramps
        up (`Risk.spare_ramp_months`): export restrictions do, outages do not."""
        return self.kind == "export_restriction"


class GradeSwitch(Block):
    """Makers moving to a lighter grade within an episode: once a grade's magnets have been
    restricted for `after_months` without a break (the time to qualify a lighter grade), makers
    in `sectors` (default: all) buy `share` of that grade's bare magnets one class down (the
    grade with the next lower Dy+Tb content), for the rest of the run. Magnets inside imported
    sub-assemblies keep their grade (they are their makers' choice)."""

    share: Fraction
    after_months: Months
    sectors: list[str] | None = None


class Risk(Block):
    """Supply-shock model: events sampled per draw, and uncertainty in demand growth.

    `as_of` ("YYYY-MM", the last month of history): an event dated on or before it happened and
    hits every draw as it happened (its mean duration, its central severity); random episodes
    (hazard) start only after it, and the strategic stockpile is drawn only after it.

    `spare_ramp_months`: spare capacity is not there in full in month one. From the first month
    of a restriction spell (a month in which some `kind: export_restriction` event is active after
    one in which none was) it grows linearly from 0 to full over that many months; a step gets the
    ramp's mean over its months (with R months, month k of the spell gets (k + ½)/R while k + 1 ≤
    R). A restriction starting while another is active does not send suppliers back to zero.
    Outages (`kind: outage`) neither start a spell nor keep one going: outside restriction spells
    all the spare is there."""

    as_of: str | None = None
    events: list[Event] = Field(default_factory=list)

    @field_validator("as_of", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str | None:
        import re

        if v is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(v)):
            raise ValueError("expected a month written YYYY-MM, e.g. '2025-12'")
        return None if v is None else str(v)

    def months_of_history(self, first_year: int, n_years: int) -> int:
        """Months from the start of `first_year` to the first month after `as_of` (0 without
        one; at most the horizon): the chain's `future_from`, whose years are
        `Chain.first_future_year` and `Chain.first_planned_year`."""
        if self.as_of is None:
            return 0
        y, m = (int(x) for x in self.as_of.split("-"))
        return min(max((y - first_year) * 12 + m, 0), 12 * n_years)

    demand_growth_sd: GrowthSD = 0.0
    spare_ramp_months: Months = Field(
        0.0,
        description="months over which other origins' spare capacity grows linearly from 0 to "
        "full after a restriction spell begins — months with some kind: export_restriction event "
        "active; outages start none (0: all of it at once)",
    )
    grade_switch: GradeSwitch | None = Field(
        None, description="makers moving to a lighter grade within an episode (none unless set)"
    )
    draws_max: Annotated[float, _quantity("dimensionless", lo=1, integer=True)] = 1e8

    @field_validator("grade_switch")
    @classmethod
    def _switch_sectors(cls, v: GradeSwitch | None, info: ValidationInfo):
        for sec in (v.sectors or []) if v is not None else []:
            _one_of(sec, definition_of(info).sectors, "sector in grade_switch.sectors:")
        return v
