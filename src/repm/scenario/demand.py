"""Scenario blocks: the horizon and demand (sectors, grade mixes, channels, anchors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pint
from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.model import ModelDefinition
from repm.scenario.fields import (
    Block,
    Fraction,
    FreeQuantity,
    PositiveYears,
    Rate,
    TonnesPerYear,
    Year,
    _one_of,
    _quantity,
    definition_of,
)  # fmt: skip


class Horizon(Block):
    """First and last modelled year (inclusive)."""

    start: Year
    end: Year

    @model_validator(mode="after")
    def _order(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end:g} is before start {self.start:g}")
        if self.end - self.start > 60:
            raise ValueError("expected a horizon of at most 60 years")
        return self

    @property
    def years(self) -> list[int]:
        return list(range(int(self.start), int(self.end) + 1))


class Lifetime(Block):
    """Product lifetime: a distribution from scipy.stats with this mean and cv."""

    mean: PositiveYears
    cv: Annotated[float, _quantity("fraction", lo=0.01, hi=2)]
    distribution: Literal["normal", "lognormal", "weibull"] = "normal"


class Sector(Block):
    """An end-use sector's base-year magnet use and how it grows.

    basis 'driver': activity × intensity × adoption (e.g. cars/yr × kg/car);
    'share': a share of the base-year total; 'residual': what the base-year total leaves.
    """

    basis: Literal["driver", "share", "residual"]
    activity: FreeQuantity | None = None
    intensity: FreeQuantity | None = None
    adoption: Fraction = 1.0
    share: Fraction | None = None
    growth: Rate
    hre_share: Fraction | None = Field(
        None, description="share of Dy/Tb-bearing grades (the rest N); or give grade_mix"
    )
    grade_mix: dict[str, Fraction] | None = Field(
        None, description="share of each grade class in the sector's magnets (sums to 1)"
    )
    lifetime: Lifetime

    @model_validator(mode="after")
    def _basis_fields(self) -> Sector:
        if self.basis == "driver" and (self.activity is None or self.intensity is None):
            raise ValueError("basis 'driver' needs `activity` and `intensity`")
        if self.basis == "share" and self.share is None:
            raise ValueError("basis 'share' needs `share`")
        if (self.hre_share is None) == (self.grade_mix is None):
            raise ValueError("give `hre_share` or `grade_mix` (one of them)")
        if self.grade_mix is not None and abs(sum(self.grade_mix.values()) - 1) > 1e-6:
            raise ValueError(
                f"grade_mix: shares sum to {sum(self.grade_mix.values()):.6g}; expected 1"
            )
        return self

    def mix(self, model: ModelDefinition) -> dict[str, float]:
        """Share of each grade class, in the definition's grade order. `hre_share` goes to the
        first Dy/Tb-bearing grade, the rest to the first grade without heavy rare earths."""
        if self.grade_mix is not None:
            return {g: self.grade_mix.get(g, 0.0) for g in model.grade_names}
        light = next(g for g in model.grade_names if g not in model.heavy_grades)
        hre = self.hre_share or 0.0
        return {
            g: (1 - hre if g == light else hre if g == model.heavy_grades[0] else 0.0)
            for g in model.grade_names
        }

    def base_tonnes(self) -> float:
        """Driver sectors' base-year tonnage (t/yr)."""
        q = self.activity * self.intensity * self.adoption  # type: ignore[operator]
        try:
            return float(q.to("t/yr").magnitude)
        except pint.DimensionalityError as exc:
            raise ValueError(
                f"activity × intensity has units {q.units:~}; expected a mass per year (t/yr)"
            ) from exc


class Channels(Block):
    """Bare magnets (bought by Indian makers) vs magnets embedded in imported sub-assemblies."""

    bare_base: TonnesPerYear = Field(
        description="bare-magnet demand in the base year (≈ NdFeB imports)"
    )
    localization: dict[int, Fraction] = Field(
        description="share of the base-year embedded channel localised (turned bare), by year"
    )


class Demand(Block):
    """Magnet demand by sector, anchored to cited totals."""

    calibration: Literal["anchored", "drivers"] = "anchored"
    anchors: dict[int, TonnesPerYear]
    growth_after_anchors: Rate = Field(description="growth of the total after the last anchor")
    growth_before_horizon: Rate
    sectors: dict[str, Sector]
    channels: Channels

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "growth_after_2030" in data:
            raise ValueError(
                "growth_after_2030 is now growth_after_anchors (the growth after the last anchor "
                "year, whatever it is); rename the key"
            )
        return data

    @field_validator("sectors")
    @classmethod
    def _known_sectors(cls, v: dict[str, Sector], info: ValidationInfo) -> dict[str, Sector]:
        model = definition_of(info)
        for s, sec in v.items():
            _one_of(s, model.sectors, "sector")
            for g in sec.grade_mix or {}:
                _one_of(g, model.grade_names, f"grade in sectors.{s}.grade_mix:")
        if sum(1 for s in v.values() if s.basis == "residual") > 1:
            raise ValueError("at most one sector may have basis 'residual'")
        return v

    @field_validator("anchors")
    @classmethod
    def _anchors(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("expected at least one anchor year")
        if any(t <= 0 for t in v.values()):
            raise ValueError("expected anchor tonnages > 0")
        return dict(sorted(v.items()))

    @property
    def base_year(self) -> int:
        return min(self.anchors)
