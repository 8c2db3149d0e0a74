"""The scenario schema: what a scenario YAML may say, with units, checked strictly.

Every number may be written plain (taken in the field's unit), with a unit ('600 t/yr',
'7,280 crore INR', '1.2 kg') or as a fact reference ('fact:scheme_outlay'), and is converted
once, here, with pint. Unknown keys are errors everywhere.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import pint
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from repm.model import ModelDefinition, default_definition
from repm.units import parse_quantity, registry, to_unit

FEEDS = ("oxide", "metal", "alloy")
FACT_PREFIX = "fact:"


def definition_of(info: ValidationInfo | None) -> ModelDefinition:
    """The model definition a scenario is validated against (the context's, else the shipped)."""
    d = (info.context or {}).get("definition") if info is not None else None
    return d or default_definition()


def _one_of(value: str, allowed, what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _resolve_fact(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and value.strip().startswith(FACT_PREFIX):
        fid = value.strip()[len(FACT_PREFIX) :].strip()
        facts = (info.context or {}).get("facts")
        if facts is None or fid not in facts:
            raise ValueError(f"unknown fact id {fid!r}; expected an id listed by `repm facts`")
        fact = facts.get(fid)
        return f"{fact.central!r} {fact.unit}"
    return value


def _quantity(
    unit: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False
):
    def convert(value: Any, info: ValidationInfo) -> float:
        value = _resolve_fact(value, info)
        fx = (info.context or {}).get("fx")
        out = to_unit(value, unit, fx_inr_per_usd=fx)
        if lo is not None and out < lo:
            raise ValueError(f"expected a value ≥ {lo:g} {unit}; got {out:g}")
        if hi is not None and out > hi:
            raise ValueError(f"expected a value ≤ {hi:g} {unit}; got {out:g}")
        if integer and abs(out - round(out)) > 1e-9:
            raise ValueError(f"expected a whole number; got {out:g}")
        return float(round(out)) if integer else out

    return BeforeValidator(convert)


def _free_quantity(value: Any, info: ValidationInfo) -> pint.Quantity:
    value = _resolve_fact(value, info)
    ureg = registry()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a quantity like '1.5 kg/vehicle'; got {value!r}")
    q = (
        ureg.Quantity(float(value), "dimensionless")
        if not isinstance(value, str)
        else parse_quantity(value)
    )
    if not math.isfinite(q.magnitude) or q.magnitude < 0:
        raise ValueError(f"expected a finite, non-negative quantity; got {value!r}")
    return q


Tonnes = Annotated[float, _quantity("t", lo=0)]
TonnesPerYear = Annotated[float, _quantity("t/yr", lo=0)]
Fraction = Annotated[float, _quantity("fraction", lo=0, hi=1)]
Rate = Annotated[float, _quantity("1/yr", lo=-0.99, hi=10)]
Year = Annotated[float, _quantity("year", lo=1900, hi=2200, integer=True)]
Years = Annotated[float, _quantity("year", lo=0, hi=200)]
PositiveYears = Annotated[float, _quantity("year", lo=0.1, hi=200)]
Months = Annotated[float, _quantity("month", lo=0, hi=1200)]
PositiveMonths = Annotated[float, _quantity("month", lo=0.01, hi=1200)]
Multiplier = Annotated[float, _quantity("dimensionless", lo=0, hi=1000)]
GrowthSD = Annotated[float, _quantity("1/yr", lo=0, hi=1)]
KgPerKg = Annotated[float, _quantity("kg/kg", lo=0, hi=1)]
CroreINR = Annotated[float, _quantity("crore INR", lo=0)]
INRPerKg = Annotated[float, _quantity("INR/kg", lo=0)]
FX = Annotated[float, _quantity("INR/USD", lo=1e-6)]
FreeQuantity = Annotated[Any, BeforeValidator(_free_quantity)]


class Block(BaseModel):
    """Base for every scenario block: strict, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _check_years_within(path: dict, start: int, end: int, what: str) -> None:
    for y in path:
        if not start - 1 <= y <= end + 1:
            raise ValueError(f"{what}: year {y} outside the horizon {start}–{end}")


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


class Grade(Block):
    """Composition of a magnet grade class, kg element per kg finished magnet."""

    ndpr: KgPerKg
    dy: KgPerKg
    tb: KgPerKg


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
    cracking_reo_per_t_monazite: Fraction
    sx_recovery: Fraction
    oxide_to_metal: Fraction
    alloy_making: Fraction
    alloy_to_magnet: Fraction
    scrap_return: Fraction

    @model_validator(mode="after")
    def _positive(self) -> Yields:
        for name in (
            "cracking_reo_per_t_monazite", "sx_recovery", "oxide_to_metal", "alloy_making",
            "alloy_to_magnet",
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


class Trade(Block):
    """Import origins, their shares per material group, and their spare export capacity to India."""

    origins: list[str]
    shares: dict[str, dict[str, Fraction]]
    spare: dict[str, dict[str, TonnesPerYear]] = Field(default_factory=dict)
    price_factor: dict[str, dict[str, Multiplier]] = Field(
        default_factory=dict,
        description="price of a material group from an origin, × the base price",
    )
    governance_risk: dict[str, Fraction] = Field(
        default_factory=dict,
        description="origin → political risk, 0 (stable) … 1, for the GeoPolRisk score",
    )
    world_production: dict[str, dict[str, Fraction]] = Field(
        default_factory=dict,
        description="material group → producing country → share of world output (HHI of supply)",
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Trade:
        GROUPS = definition_of(info).trade_groups
        if len(set(self.origins)) != len(self.origins) or not self.origins:
            raise ValueError("origins must be a non-empty list of unique names")
        for block_name, block in (
            ("shares", self.shares),
            ("spare", self.spare),
            ("price_factor", self.price_factor),
        ):
            for group, by_origin in block.items():
                if group not in GROUPS:
                    raise ValueError(
                        f"{block_name}.{group}: unknown material group; expected one of {', '.join(GROUPS)}"
                    )
                for o in by_origin:
                    if o not in self.origins:
                        raise ValueError(
                            f"{block_name}.{group}.{o}: unknown origin; expected one of the trade.origins"
                        )
        for o in self.governance_risk:
            if o not in self.origins:
                raise ValueError(
                    f"governance_risk.{o}: unknown origin; expected one of the trade.origins"
                )
        for group, by_country in self.world_production.items():
            if group not in GROUPS:
                raise ValueError(
                    f"world_production.{group}: unknown material group; expected one of {', '.join(GROUPS)}"
                )
            if sum(by_country.values()) > 1 + 1e-6:
                raise ValueError(
                    f"world_production.{group}: shares add up to {sum(by_country.values()):.3g}; expected at most 1"
                )
        missing = [g for g in GROUPS if g not in self.shares]
        if missing:
            raise ValueError(f"shares: missing material group {missing[0]!r}")
        for group, by_origin in self.shares.items():
            total = sum(by_origin.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"shares.{group}: shares sum to {total:.6g}; expected 1")
        return self


class Policy(Block):
    """Policy levers: who is served first in a shortage, inventories held."""

    sector_priority: list[list[str]] = Field(default_factory=lambda: [["defence"]])
    stockpile: dict[str, Tonnes] = Field(
        default_factory=dict, description="strategic stockpile by material at the start, t"
    )
    working_stock_months: Months = Field(
        0.0, description="industry working stock of magnets and feed, months of current use"
    )
    working_stock_refill_months: PositiveMonths = Field(
        3.0, description="months over which buyers rebuild working stock once supply returns"
    )
    max_origin_share: Fraction = Field(
        1.0, description="planner: max share of any one origin per material"
    )
    min_domestic_share: Fraction = Field(
        0.0, description="planner: min domestic output as a share of demand"
    )
    capex_budget: CroreINR | None = Field(None, description="planner: cap on capacity investment")
    allow_unmet: bool = Field(
        True, description="planner: may leave demand unmet (at unmet_penalty)"
    )
    unmet_penalty: INRPerKg = Field(0.0, description="planner: cost of a kg of unmet demand")

    @field_validator("sector_priority")
    @classmethod
    def _sectors(cls, v: list[list[str]], info: ValidationInfo) -> list[list[str]]:
        seen: set[str] = set()
        sectors = definition_of(info).sectors
        for tier in v:
            for s in tier:
                _one_of(s, sectors, "sector")
                if s in seen:
                    raise ValueError(f"sector {s!r} appears in two priority tiers")
                seen.add(s)
        return v


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


class Duration(Block):
    """How long an event lasts, in months."""

    mean_months: PositiveMonths
    cv: Annotated[float, _quantity("fraction", lo=0, hi=5)] = 0.0
    distribution: Literal["lognormal", "exponential", "fixed"] = "lognormal"


class Event(Block):
    """A supply shock: an export restriction by one origin, or a supplier outage.

    `hazard` is the probability per year that an episode starts (a month's chance is
    1 − (1 − hazard)^(1/12)); `start_year` (and `start_month`) instead fixes one onset that
    happens with `probability` (default certain): a stress test.
    While an episode lasts, `severity` (drawn uniformly in [low, high]) of the targeted exports
    are refused; during the first `licensing_delay_months` nothing targeted ships.
    """

    name: str
    kind: Literal["export_restriction", "outage"]
    origin: str
    elements: Literal["light", "heavy", "all"] | None = None
    include_magnets: bool = True
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
            from repm.risk_presets import preset

            data = {**preset(data["preset"]), **{k: v for k, v in data.items() if k != "preset"}}
        return data

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Event:
        MATERIALS = definition_of(info).material_names
        if self.severity_low > self.severity_high:
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


class Risk(Block):
    """Supply-shock model: events sampled per draw, and uncertainty in demand growth."""

    events: list[Event] = Field(default_factory=list)
    demand_growth_sd: GrowthSD = 0.0
    draws_max: Annotated[float, _quantity("dimensionless", lo=1, integer=True)] = 1e8


PerTonne = Annotated[float, _quantity("dimensionless", lo=0, hi=1e6)]  # t per t
EnergyPerTonne = Annotated[float, _quantity("MWh/t", lo=0, hi=1e6)]
WaterPerTonne = Annotated[float, _quantity("m**3/t", lo=0, hi=1e7)]


class Intensity(Block):
    """Burdens per tonne of a stage's output."""

    energy: EnergyPerTonne = 0.0
    water: WaterPerTonne = 0.0
    acid: PerTonne = Field(0.0, description="acids and alkalis consumed, t per t")
    co2e: PerTonne = Field(0.0, description="greenhouse gases, t CO2e per t")


class Environment(Block):
    """The environmental ledger: uranium in monazite and burdens per tonne by stage
    (cracking per t monazite, separation per t NdPr oxide, metal per t metal, magnet per t
    magnet). Imports carry the same burdens per tonne, embodied (origin-specific figures are
    not sourced)."""

    u3o8_fraction: Fraction = Field(0.0, description="U3O8 in monazite, kg/kg")
    intensity: dict[str, Intensity] = Field(default_factory=dict)

    @field_validator("intensity")
    @classmethod
    def _stages(cls, v: dict[str, Intensity], info: ValidationInfo) -> dict[str, Intensity]:
        for stage in v:
            _one_of(stage, definition_of(info).stages, "stage")
        return v


class Tolling(Block):
    """A partner abroad makes magnets from Indian NdPr oxide and sends them back."""

    name: str
    partner: str = Field(description="trade origin: its restrictions on magnets stop returns")
    capacity: TonnesPerYear = Field(description="magnets the partner makes for India, t/yr")
    start_year: Year
    end_year: Year | None = None
    grade: str = "n"
    lead_time_months: Months = 3.0
    fee: INRPerKg = Field(description="tolling fee per kg of magnet returned")
    oxide_priority: Literal["surplus", "first"] = Field(
        "surplus",
        description="'surplus': IREL oxide the units leave; 'first': before the units",
    )
    exposed_to: dict[str, Fraction] = Field(
        default_factory=dict,
        description="origin → share of returns needing its export licence (e.g. China's ≥ 0.1 % rule)",
    )


class Overseas(Block):
    """An equity stake or offtake abroad: tonnes of NdPr oxide, or of mixed rare-earth oxide
    separated in India, per year from a start year, exposed to the country's restrictions."""

    name: str
    country: str = Field(description="trade origin whose restriction events disrupt it")
    product: Literal["ndpr_oxide", "mixed_reo"]
    tonnes: TonnesPerYear
    start_year: Year
    end_year: Year | None = None
    ndpr_share_of_reo: Fraction = Field(1.0, description="NdPr oxide per t mixed REO")
    price: INRPerKg = Field(description="cost per kg of product delivered")
    stake_cost: CroreINR = Field(
        0.0, description="equity or prepayment, paid the year before start"
    )

    @model_validator(mode="after")
    def _ndpr(self) -> Overseas:
        if self.product == "mixed_reo" and self.ndpr_share_of_reo <= 0:
            raise ValueError(
                f"ndpr_share_of_reo: {self.ndpr_share_of_reo:g}; expected > 0 for mixed_reo"
            )
        return self


class ExportRetention(Block):
    """IREL's NdPr oxide the units do not take stays in India (held for them) instead of being
    exported under the 2012 Japan agreement."""

    share: Fraction
    start_year: Year


class ConsumerIncentive(Block):
    """Support per kg of Indian magnet bought, paid to buyers by the treasury."""

    per_kg: INRPerKg
    start_year: Year
    end_year: Year
    pass_through: Fraction = Field(description="share of the support reaching the maker's price")
    localization_shift: Fraction = Field(
        description="share of magnets now imported inside sub-assemblies bought bare in India instead"
    )
    budget: CroreINR | None = Field(None, description="cap on the treasury's total cost")


class Routes(Block):
    """Ways of securing magnets beyond units fed by IREL and imports (issue 6)."""

    tolling: list[Tolling] = Field(default_factory=list)
    overseas: list[Overseas] = Field(default_factory=list)
    export_retention: ExportRetention | None = None
    consumer_incentive: ConsumerIncentive | None = None

    @model_validator(mode="after")
    def _names(self) -> Routes:
        for what, items in (("tolling", self.tolling), ("overseas", self.overseas)):
            names = [x.name for x in items]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(
                    f"{what}: name {sorted(dup)[0]!r} used twice; expected unique names"
                )
        return self


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


def _check_routes(r: Routes, origins: list[str], start: int, end: int) -> None:
    """Routes name known origins and start within the horizon."""

    def origin(o: str, where: str) -> None:
        if o not in origins:
            raise ValueError(f"{where}: unknown origin {o!r}; expected one of the trade.origins")

    def years(x, where: str) -> None:
        if not start <= x.start_year <= end:
            raise ValueError(
                f"{where}.start_year: {x.start_year:g} outside the horizon {start}–{end}"
            )
        if getattr(x, "end_year", None) is not None and x.end_year < x.start_year:
            raise ValueError(
                f"{where}.end_year: {x.end_year:g} before the start year {x.start_year:g}"
            )

    for i, t in enumerate(r.tolling):
        origin(t.partner, f"routes.tolling.{i}.partner")
        for o in t.exposed_to:
            origin(o, f"routes.tolling.{i}.exposed_to.{o}")
        years(t, f"routes.tolling.{i}")
    for i, m in enumerate(r.overseas):
        origin(m.country, f"routes.overseas.{i}.country")
        years(m, f"routes.overseas.{i}")
    if r.export_retention is not None:
        years(r.export_retention, "routes.export_retention")
    if r.consumer_incentive is not None:
        years(r.consumer_incentive, "routes.consumer_incentive")
