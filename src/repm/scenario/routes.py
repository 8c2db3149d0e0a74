"""Scenario blocks: the environmental ledger and the routes (tolling, overseas sources, export
retention, buyer incentive), with their cross-checks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.scenario.checks import flagged, outside
from repm.scenario.fields import (
    Block,
    CroreINR,
    Fraction,
    INRPerKg,
    Months,
    TonnesPerYear,
    Year,
    _one_of,
    _quantity,
    definition_of,
)  # fmt: skip

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
        if self.product == "mixed_reo" and flagged(self.ndpr_share_of_reo <= 0):
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


def route_mistakes(r: Routes, origins: list[str], start: int, end: int):
    """Routes name known origins and start within the horizon: each mistake, one line."""

    def origin(o: str, where: str):
        if o not in origins:
            yield f"{where}: unknown origin {o!r}; expected one of the trade.origins"

    def years(x, where: str):
        if flagged(outside(x.start_year, start, end)):
            yield f"{where}.start_year: {x.start_year:g} outside the horizon {start}–{end}"
        if getattr(x, "end_year", None) is not None and flagged(x.end_year < x.start_year):
            yield f"{where}.end_year: {x.end_year:g} before the start year {x.start_year:g}"

    for i, t in enumerate(r.tolling):
        yield from origin(t.partner, f"routes.tolling.{i}.partner")
        for o in t.exposed_to:
            yield from origin(o, f"routes.tolling.{i}.exposed_to.{o}")
        yield from years(t, f"routes.tolling.{i}")
    for i, m in enumerate(r.overseas):
        yield from origin(m.country, f"routes.overseas.{i}.country")
        yield from years(m, f"routes.overseas.{i}")
    if r.export_retention is not None:
        yield from years(r.export_retention, "routes.export_retention")
    if r.consumer_incentive is not None:
        yield from years(r.consumer_incentive, "routes.consumer_incentive")
