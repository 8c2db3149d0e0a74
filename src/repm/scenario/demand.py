"""Scenario blocks: the horizon and demand (sectors, grade mixes, channels, anchors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.model import ModelDefinition
from repm.model.units import pint  # as repm imports it (repm.startup.import_pint)
from repm.scenario.checks import any_of, flagged, off_one
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
    refuse_renamed,
)  # fmt: skip


class Horizon(Block):
    """First and last modelled year (inclusive)."""

    start: Year
    end: Year

    @model_validator(mode="after")
    def _order(self) -> Horizon:
        if flagged(self.end < self.start):
            raise ValueError(f"end {self.end:g} is before start {self.start:g}")
        if flagged(self.end - self.start > 60):
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

    basis 'driver': activity × intensity × adoption (e.g. cars/yr × kg/car), the activity in the
    base year, followed through any later observations (`activity_path`), then `growth` on;
    'share': a share of the base-year total; 'residual': what the base-year total leaves.
    """

    basis: Literal["driver", "share", "residual"]
    activity: FreeQuantity | None = None
    activity_path: dict[int, FreeQuantity] | None = Field(
        None,
        description="later observations of the activity by year (driver sectors): followed "
        "linearly from the base year's activity to the last one, then `growth` on",
    )
    intensity: FreeQuantity | None = None
    adoption: Fraction = 1.0
    share: Fraction | None = None
    growth: Rate
    grade_mix: dict[str, Fraction] = Field(
        description="share of each grade class in the sector's magnets by mass (sums to 1)"
    )
    lifetime: Lifetime

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return refuse_renamed(data, {
            "hre_share": "grade_mix (the share of each grade class, e.g. {n: 0.2, gbd: 0.6, "
                         "uh: 0.2}: one Dy/Tb-bearing share cannot say which grade)",
        })  # fmt: skip

    @model_validator(mode="after")
    def _basis_fields(self) -> Sector:
        if self.basis == "driver" and (self.activity is None or self.intensity is None):
            raise ValueError("basis 'driver' needs `activity` and `intensity`")
        if self.activity_path is not None:
            if self.basis != "driver":
                raise ValueError("activity_path: only a 'driver' sector has an activity")
            units, path = self.activity.units, {}
            same = tuple(self.activity.unit_items())  # cheaper than pint's own comparisons
            if flagged(self.activity.magnitude <= 0):
                raise ValueError(
                    f"activity: {self.activity:~} with an activity_path; expected the base year's "
                    "activity > 0 (the path is followed relative to it)"
                )
            for y, q in self.activity_path.items():
                items = tuple(q.unit_items())
                if not items:
                    q = q.magnitude * units  # a plain number: in the activity's units
                elif not same:
                    raise ValueError(
                        f"activity: {self.activity.magnitude:g} has no units; expected e.g. "
                        f"'{self.activity.magnitude:g} {q.units:~}', the units of "
                        f"activity_path.{y}"
                    )
                try:
                    path[y] = q if items == same else q.to(units)
                except pint.DimensionalityError:
                    raise ValueError(
                        f"activity_path.{y}: {q} is not in the units of activity "
                        f"({self.activity.units:~}); expected e.g. '{self.activity:~}'"
                    ) from None
            object.__setattr__(self, "activity_path", path)  # frozen: set once, validated
        if self.basis == "share" and self.share is None:
            raise ValueError("basis 'share' needs `share`")
        if flagged(off_one(sum(self.grade_mix.values()))):
            raise ValueError(
                f"grade_mix: shares sum to {sum(self.grade_mix.values()):.6g}; expected 1"
            )
        return self

    def mix(self, model: ModelDefinition) -> dict[str, float]:
        """Share of each grade class, in the definition's grade order (absent grades: 0)."""
        return {g: self.grade_mix.get(g, 0.0) for g in model.grade_names}

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
    """Bare magnets (bought by Indian makers) vs magnets embedded in imported sub-assemblies.

    `bare_share` gives each sector's base-year share of bare magnets; they are scaled together so
    the bare channel is `bare_base` in the base year (the sourced total sets the level, the
    sector shares the split). Without it every sector has bare_base ÷ demand. `localization`
    (a path, or one per sector in `localization_by_sector`) turns that share of the rest bare."""

    bare_base: TonnesPerYear = Field(
        description="bare-magnet demand in the base year (≈ NdFeB imports)"
    )
    bare_share: dict[str, Fraction] | None = Field(
        None,
        description="each sector's base-year share of magnets bought bare (scaled to bare_base)",
    )
    localization: dict[int, Fraction] = Field(
        description="share of the base-year embedded channel localised (turned bare), by year"
    )
    localization_by_sector: dict[str, dict[int, Fraction]] = Field(
        default_factory=dict, description="a sector's own localisation path (else `localization`)"
    )
    bare_grade_mix: dict[str, dict[str, Fraction]] | None = Field(
        None,
        description="a sector's grade mix of its base-year bare magnets (else the sector's own "
        "mix); its embedded magnets take the rest of the sector's mix",
    )


class HeavyFreeShift(Block):
    """Makers moving away from heavy rare earths: `share` (a path by year) of each Dy/Tb-bearing
    grade's mass moves one class down (to the grade with the next lower Dy+Tb content), in
    `sectors` (default: all)."""

    share: dict[int, Fraction]
    sectors: list[str] | None = None


class Exports(Block):
    """Buyers abroad (outside China) for Indian magnets: a volume path, its grade mix and the
    price premium they pay over a grade's price. India's own buyers are served first.
    `sli_share`: the share of export sales the scheme's SLI is paid on (1: like domestic sales,
    0: none) — a scheme rule kept here so that scenarios without exports are unchanged."""

    tonnes: dict[int, TonnesPerYear]
    grade_mix: dict[str, Fraction]
    premium: Annotated[float, _quantity("fraction", lo=-0.5, hi=2)] = 0.0
    sli_share: Fraction = Field(
        1.0, description="share of export sales the SLI is paid on (1: all, 0: none)"
    )

    @model_validator(mode="after")
    def _mix(self) -> Exports:
        if flagged(off_one(sum(self.grade_mix.values()))):
            raise ValueError(
                f"grade_mix: shares sum to {sum(self.grade_mix.values()):.6g}; expected 1"
            )
        return self


class Demand(Block):
    """Magnet demand by sector, anchored to cited totals."""

    calibration: Literal["anchored", "drivers"] = "anchored"
    anchors: dict[int, TonnesPerYear]
    growth_after_anchors: Rate = Field(description="growth of the total after the last anchor")
    growth_before_horizon: Rate
    sectors: dict[str, Sector]
    channels: Channels
    heavy_free_shift: HeavyFreeShift | None = None
    exports: Exports | None = Field(
        None, description="buyers abroad for Indian magnets (none unless set)"
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return refuse_renamed(data, {
            "growth_after_2030": "growth_after_anchors (the growth after the last anchor year, "
                                 "whatever it is)",
        })  # fmt: skip

    @field_validator("sectors")
    @classmethod
    def _known_sectors(cls, v: dict[str, Sector], info: ValidationInfo) -> dict[str, Sector]:
        model = definition_of(info)
        for s, sec in v.items():
            _one_of(s, model.sectors, "sector")
            for g in sec.grade_mix:
                _one_of(g, model.grade_names, f"grade in sectors.{s}.grade_mix:")
        return v

    @field_validator("channels")
    @classmethod
    def _channel_sectors(cls, v: Channels, info: ValidationInfo) -> Channels:
        sectors = definition_of(info).sectors
        mixes = v.bare_grade_mix or {}
        for s in [*(v.bare_share or {}), *v.localization_by_sector]:
            _one_of(s, sectors, "sector in demand.channels:")
        grades = definition_of(info).grade_names
        bad = []  # every mistake in the loose mixes at once
        for s, mix in mixes.items():
            where = f"bare_grade_mix.{s}"
            if s not in sectors:
                bad.append(f"{where}: unknown sector; expected one of {', '.join(sectors)}")
            unknown = [g for g in mix if g not in grades]
            bad += [
                f"{where}.{g}: unknown grade; expected one of {', '.join(grades)}" for g in unknown
            ]
            if not unknown and flagged(off_one(sum(mix.values()))):
                bad.append(f"{where}: shares sum to {sum(mix.values()):.6g}; expected 1")
        if bad:
            raise ValueError(
                f"{'; '.join(bad)}" + (f" ({len(bad)} mistakes)" if len(bad) > 1 else "")
            )
        return v

    @field_validator("exports")
    @classmethod
    def _export_grades(cls, v: Exports | None, info: ValidationInfo):
        for g in v.grade_mix if v is not None else {}:
            _one_of(g, definition_of(info).grade_names, "grade in demand.exports.grade_mix:")
        return v

    @field_validator("heavy_free_shift")
    @classmethod
    def _shift_sectors(cls, v: HeavyFreeShift | None, info: ValidationInfo):
        for s in (v.sectors or []) if v is not None else []:
            _one_of(s, definition_of(info).sectors, "sector in heavy_free_shift.sectors:")
        return v

    @field_validator("sectors")
    @classmethod
    def _one_residual(cls, v: dict[str, Sector]) -> dict[str, Sector]:
        if sum(1 for s in v.values() if s.basis == "residual") > 1:
            raise ValueError("at most one sector may have basis 'residual'")
        return v

    @field_validator("anchors")
    @classmethod
    def _anchors(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("expected at least one anchor year")
        if flagged(any_of(t <= 0 for t in v.values())):
            raise ValueError("expected anchor tonnages > 0")
        return dict(sorted(v.items()))

    @property
    def base_year(self) -> int:
        return min(self.anchors)
