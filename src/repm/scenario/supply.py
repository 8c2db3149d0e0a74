"""Scenario blocks: supply — grade compositions, monazite, yields, separation, units, recycling."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.scenario.checks import flagged, off_one
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
        if flagged((total <= 0) | (total > 0.40)):
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
    """Indian monazite: its REO, ThO2 and P2O5 contents, the REO's split by rare earth (oxide
    mass, every rare earth of the model's basket; they add up to 1), and how much is cracked
    each year (`processed`, t monazite/yr; calibrated to what India mines)."""

    reo_fraction: Fraction
    tho2_fraction: Fraction
    p2o5_fraction: Fraction
    re_distribution: dict[str, Fraction]
    processed: dict[int, TonnesPerYear]

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return refuse_renamed(data, {
            "ndpr_share_of_reo": "supply.monazite.re_distribution (the whole REO split; NdPr is its Nd + Pr)",
        })  # fmt: skip

    @field_validator("re_distribution")
    @classmethod
    def _whole_basket(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        rare = definition_of(info).basket_kind("rare_earth")
        for e in v:
            if e not in rare:
                raise ValueError(f"unknown rare earth {e!r}; expected one of {', '.join(rare)}")
        missing = [e for e in rare if e not in v]
        if missing:
            raise ValueError(
                f"missing {missing[0]!r}; expected a share for every rare earth: {', '.join(rare)}"
            )
        total = sum(v.values())
        if flagged(off_one(total)):
            raise ValueError(
                f"the shares add up to {total:.6g}; expected 1 (shares of the REO by oxide mass)"
            )
        if flagged(v.get("Nd", 0) + v.get("Pr", 0) <= 0):
            raise ValueError("Nd + Pr = 0; expected NdPr in the REO")
        return {e: v[e] for e in rare}

    @field_validator("processed")
    @classmethod
    def _path(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("expected a path with at least one year")
        return dict(sorted(v.items()))

    @property
    def ndpr_share_of_reo(self) -> float:
        """NdPr oxide as a share of the REO: its Nd + Pr."""
        return self.re_distribution["Nd"] + self.re_distribution["Pr"]


class Coproducts(Block):
    """Where the rest of the basket goes. `sold`: separated rare earths sold in India (the rest
    of what separation recovers, e.g. a Dy/Tb-bearing heavy concentrate, is held by IREL);
    `market_cap`: t oxide/yr of an element India's buyers (and the chloride's buyers abroad)
    take, which caps cracking; `chloride_export_share`: share of the cracked REO shipped abroad
    as mixed chloride while exports are allowed (routes.export_retention stops them);
    `tsp_p2o5_fraction`: P2O5 content of the trisodium phosphate sold."""

    sold: list[str]
    market_cap: dict[str, TonnesPerYear] = Field(default_factory=dict)
    chloride_export_share: Fraction = 0.0
    tsp_p2o5_fraction: Fraction

    @field_validator("sold", "market_cap")
    @classmethod
    def _rare_earths(cls, v, info: ValidationInfo):
        rare = definition_of(info).basket_kind("rare_earth")
        for e in v:
            if e not in rare:
                raise ValueError(f"unknown rare earth {e!r}; expected one of {', '.join(rare)}")
            if e in ("Nd", "Pr"):
                raise ValueError(f"{e!r} is separated as NdPr oxide for magnets, not a co-product")
        return v


class Yields(Block):
    """Stage yields as the industry states them. `oxide_to_metal` is the share of the rare
    earth in the oxide recovered as metal (the oxygen is not a loss: the stoichiometric oxide
    factor is applied apart); `strip_casting`: alloy per t of metal charged; `sintering`:
    sintered blocks per t of alloy (milling, pressing, sintering); `machining`: finished magnet
    per t of sintered block; `swarf_return`: share of the in-plant scrap (swarf, sludge, rejects)
    returned in-house to alloy making (apart from end-of-life recycling)."""

    cracking_reo_per_t_monazite: Fraction
    sx_recovery: Fraction
    sx_recovery_coproducts: Fraction  # La, Ce, Sm, Gd, Y recovered as separated oxides
    heavy_concentrate_recovery: Fraction  # Dy, Tb and the other heavy rare earths
    phosphate_recovery: Fraction  # P2O5 of the monazite recovered as trisodium phosphate
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
            if flagged(getattr(self, name) <= 0):
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
        """The first year of output (an int; a block's samples' years, `scenario.checks`)."""
        y = self.start_year if self.start_year is not None else self.award_year + self.gestation_years  # type: ignore[operator]
        if not isinstance(y, np.ndarray):
            return int(y)
        with np.errstate(invalid="ignore"):  # a sample's non-finite year: refused by its field
            return y.astype(int)


class Recycling(Block):
    collection_rate: Fraction
    recovery: Fraction


class Supply(Block):
    grades: dict[str, Grade]
    # the Nd:Pr split of every NdPr material (oxide, metal, magnet): a grade-C figure, so a
    # scenario field (drawn by `repm sensitivity`, set by --set) rather than read by the chain
    pr_share_of_ndpr: Fraction | None = Field(
        None,
        description="Pr as a share of NdPr by mass, for every NdPr material; default: the fact "
        "ndpr_pr_share_of_metal",
    )
    tb_for_dy: TbForDy | None = Field(None, description="substitute Tb for part of the Dy")
    monazite: Monazite
    coproducts: Coproducts
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
