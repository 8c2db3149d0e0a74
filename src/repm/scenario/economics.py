"""Scenario blocks: the incentive scheme, money conventions and a unit's economics."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.scenario.checks import flagged
from repm.scenario.fields import (
    FX,
    Block,
    CroreINR,
    Fraction,
    INRPerKg,
    PositiveYears,
    TonnesPerYear,
    Years,
    _one_of,
    _quantity,
    definition_of,
    refuse_renamed,
)  # fmt: skip


class Scheme(Block):
    """The incentive scheme's rules as data (compare notified rules with drafts)."""

    outlay: CroreINR
    sli_outlay: CroreINR
    capital_subsidy_outlay: CroreINR
    sli_cap_per_kg: INRPerKg
    sli_cap_share_of_sales: Fraction
    capital_subsidy_rate: Fraction
    capital_subsidy_min: CroreINR
    capital_subsidy_max: CroreINR
    gestation_years: Years
    sli_years: Years
    reference_price: INRPerKg
    unit_capacity_min: TonnesPerYear
    unit_capacity_max: TonnesPerYear
    unit_capacity_step: TonnesPerYear
    sli_bid: INRPerKg = Field(
        description="default SLI bid per kg for scheme units (≤ sli_cap_per_kg)"
    )

    @model_validator(mode="after")
    def _bid(self) -> Scheme:
        if flagged(self.sli_bid > self.sli_cap_per_kg + 1e-9):
            raise ValueError(
                f"sli_bid: {self.sli_bid:g} INR/kg exceeds the cap of {self.sli_cap_per_kg:g} INR/kg"
            )
        return self


class MagnetCost(Block):
    """What a magnet costs beyond its rare-earth oxides, by grade class (INR/kg; USD converted):
    other materials (Fe, B, Co, Ga …) and the conversion margin (making and profit)."""

    other_materials: INRPerKg
    conversion: dict[str, INRPerKg]

    @field_validator("conversion")
    @classmethod
    def _grades(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        grades = definition_of(info).grade_names
        for g in v:
            _one_of(g, grades, "grade")
        missing = [g for g in grades if g not in v]
        if missing:
            raise ValueError(
                f"missing grade {missing[0]!r}; expected a margin for every grade class"
            )
        return v


def _oxide_paths(v: dict[str, dict[int, float]], info: ValidationInfo) -> dict:
    model = definition_of(info)
    oxides = model.names(kind="oxide")
    for m, path in v.items():
        _one_of(m, oxides, "oxide")
        if not path:
            raise ValueError(f"{m}: expected a price path with at least one year")
    missing = [m for m in oxides if m not in v]
    if missing:
        raise ValueError(f"missing {missing[0]!r}; expected a price path for every oxide")
    return {m: dict(sorted(p.items())) for m, p in v.items()}


class Economics(Block):
    """Money conventions: INR inside; USD inputs converted at this rate. Prices: oxide price
    paths (what India's buyers pay, and China's domestic prices) and what a magnet costs beyond
    its oxides; a magnet grade's price is derived from them (`repm.chain.prices`)."""

    fx_inr_per_usd: FX
    oxide_prices: dict[str, dict[int, INRPerKg]] = Field(
        description="oxide price paths outside China (INR/kg by year; USD converted)"
    )
    china_oxide_prices: dict[str, dict[int, INRPerKg]] = Field(
        description="China's domestic oxide price paths, what Chinese magnet makers pay"
    )
    magnet_cost: MagnetCost
    coproduct_prices: dict[str, dict[int, INRPerKg]] = Field(
        default_factory=dict,
        description="price paths of the basket's co-products: a rare earth's oxide (INR/kg by "
        "year; USD converted), `tsp` per kg of trisodium phosphate",
    )
    prices: dict[str, INRPerKg] = Field(
        default_factory=dict,
        description="override the derived price of a material (INR/kg), e.g. to value a stockpile",
    )

    _oxide_paths = field_validator("oxide_prices", "china_oxide_prices")(_oxide_paths)

    @field_validator("coproduct_prices")
    @classmethod
    def _coproducts(cls, v: dict[str, dict[int, float]], info: ValidationInfo) -> dict:
        allowed = [
            e for e in definition_of(info).basket_kind("rare_earth") if e not in ("Nd", "Pr")
        ]
        for k, path in v.items():
            _one_of(k, [*allowed, "tsp"], "co-product")
            if not path:
                raise ValueError(f"{k}: expected a price path with at least one year")
        return {k: dict(sorted(p.items())) for k, p in v.items()}

    holding_cost_rate: Annotated[float, _quantity("1/yr", lo=0, hi=1)] = 0.0
    thorium_storage_cost: Annotated[float, _quantity("INR/t/yr", lo=0)] = Field(
        0.0, description="holding the thorium residue, INR per t of Th per year"
    )
    finance: Finance | None = None


class Finance(Block):
    """A magnet unit's economics (used by `repm finance`). Money in INR; USD converted with FX."""

    discount_rate: Annotated[float, _quantity("1/yr", lo=-0.99, hi=10)]
    tax_rate: Fraction
    plant_life_years: PositiveYears
    depreciation_years: PositiveYears
    capex_reference: CroreINR = Field(description="capex of a unit of `capex_reference_capacity`")
    capex_reference_capacity: TonnesPerYear
    capex_scaling_exponent: Annotated[float, _quantity("dimensionless", lo=0, hi=2)]
    eligible_investment_share: Fraction
    re_cost_share: Annotated[float, _quantity("fraction", lo=0.01, hi=1)] = Field(
        description="rare-earth feed as a share of production cost; sets non-feed opex"
    )
    china_landed_markup: Annotated[float, _quantity("dimensionless", lo=0, hi=10)] = 1.0
    irel_oxide_price_ratio: Annotated[float, _quantity("dimensionless", lo=0, hi=10)] = 1.0

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return refuse_renamed(data, {
            "magnet_price": "economics.magnet_cost (a grade's price is derived from oxide prices)",
            "china_price": "economics.china_oxide_prices", "feed_prices": "economics.oxide_prices",
        })  # fmt: skip


Economics.model_rebuild()
