"""Scenario blocks: the incentive scheme, money conventions and a unit's economics."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

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
        if self.sli_bid > self.sli_cap_per_kg + 1e-9:
            raise ValueError(
                f"sli_bid: {self.sli_bid:g} INR/kg exceeds the cap of {self.sli_cap_per_kg:g} INR/kg"
            )
        return self


class Economics(Block):
    """Money conventions: INR inside; USD inputs converted at this rate."""

    fx_inr_per_usd: FX
    prices: dict[str, INRPerKg] = Field(
        default_factory=dict, description="price by material (INR/kg), to value stockpiles"
    )
    holding_cost_rate: Annotated[float, _quantity("1/yr", lo=0, hi=1)] = 0.0
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
    magnet_price: dict[int, INRPerKg] = Field(description="revenue price path by year (INR/kg)")
    china_price: dict[int, INRPerKg] = Field(
        description="Chinese landed price path by year (INR/kg)"
    )
    feed_prices: dict[str, INRPerKg] = Field(description="import price of feed materials (INR/kg)")
    china_landed_markup: Annotated[float, _quantity("dimensionless", lo=0, hi=10)] = 1.0
    irel_oxide_price_ratio: Annotated[float, _quantity("dimensionless", lo=0, hi=10)] = 1.0

    @field_validator("feed_prices")
    @classmethod
    def _materials(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for m in v:
            _one_of(m, definition_of(info).material_names, "material")
        return v


Economics.model_rebuild()
