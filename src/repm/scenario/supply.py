"""Scenario blocks: supply — grade compositions, monazite, yields, separation, units, recycling."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.scenario.fields import (
    Block,
    Fraction,
    INRPerKg,
    KgPerKg,
    Multiplier,
    PositiveYears,
    TonnesPerYear,
    Year,
    Years,
    definition_of,
    refuse_renamed,
)  # fmt: skip


class Grade(Block):
    """Composition of a magnet grade class, kg element per kg finished magnet."""

    ndpr: KgPerKg
    dy: KgPerKg
    tb: KgPerKg

    @model_validator(mode="after")
    def _rare_earths(self) -> Grade:
        total = self.ndpr + self.dy + self.tb
        if not 0 < total <= 0.40:
            raise ValueError(
                f"ndpr + dy + tb = {total:.4g} kg/kg; expected a rare-earth content above 0 and "
                "at most 0.40 (sintered NdFeB is ~29–33 % rare earths)"
            )
        return self


class TbForDy(Block):
    """Terbium for dysprosium: `share` of every grade's Dy replaced by Tb, `ratio` kg Tb per kg
    Dy replaced (Tb raises coercivity more per kg)."""

    share: Fraction
    ratio: Multiplier


class Monazite(Block):
    reo_fraction: Fraction
    tho2_fraction: Fraction
    ndpr_share_of_reo: Fraction

    @model_validator(mode="after")
    def _ndpr(self) -> Monazite:
        if self.ndpr_share_of_reo <= 0:
            raise ValueError(f"ndpr_share_of_reo: {self.ndpr_share_of_reo:g}; expected > 0")
        return self


class Yields(Block):
    """Stage yields as the industry states them. `oxide_to_metal` is the share of the rare
    earth in the oxide recovered as metal (the oxygen is not a loss: the stoichiometric oxide
    factor is applied apart); `strip_casting`: alloy per t of metal charged; `sintering`:
    sintered blocks per t of alloy (milling, pressing, sintering); `machining`: finished magnet
    per t of sintered block; `swarf_return`: share of the in-plant scrap (swarf, sludge, rejects)
    returned in-house to alloy making (apart from end-of-life recycling)."""

    cracking_reo_per_t_monazite: Fraction
    sx_recovery: Fraction
    oxide_to_metal: Fraction
    strip_casting: Fraction
    sintering: Fraction
    machining: Fraction
    swarf_return: Fraction

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        stages = (
            " (yields are stated stage by stage: strip_casting, sintering, machining, swarf_return)"
        )
        return refuse_renamed(data, {
            "alloy_making": "strip_casting" + stages, "alloy_to_magnet": "sintering × machining" + stages,
            "scrap_return": "swarf_return" + stages,
        })  # fmt: skip

    @model_validator(mode="after")
    def _positive(self) -> Yields:
        for name in (
            "cracking_reo_per_t_monazite", "sx_recovery", "oxide_to_metal", "strip_casting",
            "sintering", "machining",
        ):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: {getattr(self, name):g}; expected a yield > 0")
        return self


class Separation(Block):
    """Domestic separation (IREL): capacity and planned output are separate."""

    capacity: TonnesPerYear
    output: dict[int, TonnesPerYear]
    to_units_max: TonnesPerYear


class Unit(Block):
    """A magnet plant: capacity (t/yr of magnets), when it starts, how it ramps, what it is fed."""

    name: str
    capacity: TonnesPerYear
    start_year: Year | None = None
    award_year: Year | None = None
    gestation_years: Years | None = None
    rampup_years: PositiveYears
    feed: Literal["oxide", "metal", "alloy"] = "oxide"
    scheme: bool = False
    sli_bid: INRPerKg | None = None

    @model_validator(mode="after")
    def _start(self) -> Unit:
        if self.start_year is None and (self.award_year is None or self.gestation_years is None):
            raise ValueError("give `start_year`, or `award_year` and `gestation_years`")
        return self

    @property
    def first_year(self) -> int:
        if self.start_year is not None:
            return int(self.start_year)
        return int(self.award_year + self.gestation_years)  # type: ignore[operator]


class Recycling(Block):
    collection_rate: Fraction
    recovery: Fraction


class Supply(Block):
    grades: dict[str, Grade]
    tb_for_dy: TbForDy | None = Field(None, description="substitute Tb for part of the Dy")
    monazite: Monazite
    yields: Yields
    mining_capacity: TonnesPerYear
    cracking_capacity: TonnesPerYear
    separation: Separation
    units: list[Unit]
    recycling: Recycling

    @field_validator("grades")
    @classmethod
    def _every_grade(cls, v: dict, info: ValidationInfo) -> dict:
        model = definition_of(info)
        if set(v) != set(model.grade_names):
            want = ", ".join(f"{g!r} ({model.grades[g].label})" for g in model.grade_names)
            raise ValueError(f"expected the composition of every grade class: {want}")
        return v

    @field_validator("units")
    @classmethod
    def _unique_names(cls, v: list[Unit]) -> list[Unit]:
        names = [u.name for u in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"unit name {sorted(dup)[0]!r} used twice; expected unique names")
        return v
