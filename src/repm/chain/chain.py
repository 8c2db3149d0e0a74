"""The compiled supply chain: the scenario as dense, labelled arrays (`compile_chain` builds it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from repm.chain.rules import fresh_alloy_per_magnet
from repm.model import ModelDefinition
from repm.model.chemistry import Chemistry


@dataclass(frozen=True)
class Chain:
    """The compiled supply chain. Arrays are xarray; `.values` feed the engine's hot loop."""

    name: str
    model: ModelDefinition  # what the chain is made of: grades, materials, elements, flows
    years: np.ndarray
    base_year: int  # the demand's first anchor year: growth shocks compound from it
    sectors: tuple[str, ...]
    origins: tuple[str, ...]
    demand_total: xr.DataArray  # year × sector, t/yr
    demand_bottom_up: xr.DataArray  # year × sector, t/yr, before calibration
    demand_bare: xr.DataArray  # year × sector × grade, t/yr
    demand_embedded: xr.DataArray  # year × sector × grade, t/yr
    export_demand: xr.DataArray  # year × grade, buyers abroad for Indian magnets, t/yr
    export_premium: float  # what they pay over a grade's price, fraction
    future_from: int  # months from the horizon's start to the first month after risk.as_of
    grade_comp: xr.DataArray  # grade × element, kg/kg finished magnet
    material_comp: xr.DataArray  # material × element, kg/kg
    recipe: xr.DataArray  # feed × grade × material: t material per t fresh alloy
    capacity: xr.DataArray  # year × feed, effective (ramped) magnet capacity, t/yr
    capacity_nameplate: xr.DataArray  # year × unit, t/yr
    capacity_effective_unit: xr.DataArray  # year × unit, t/yr
    separation_output: xr.DataArray  # year, t NdPr oxide/yr
    irel_to_units_max: float  # t/yr
    monazite_per_t_oxide: float  # t monazite cracked per t NdPr oxide separated from it
    monazite_comp: xr.DataArray  # basket element, kg/kg monazite
    monazite_processed: xr.DataArray  # year, t monazite cracked
    monazite_bound: xr.DataArray  # year, what decided it: path, ndpr plan, mining, cracking, market
    basket: xr.DataArray  # year × flow × basket element: monazite's elements upstream, t/yr
    basket_per_oxide: xr.DataArray  # basket element: t element per t of the oxide it is counted in
    coproduct_price: xr.DataArray  # year × product: INR/kg (rare earths per kg oxide; tsp per kg)
    tsp_p2o5_fraction: float  # P2O5 in the trisodium phosphate sold, kg/kg
    thorium_storage_cost: float  # INR per t of Th residue held, per year
    yields: dict[str, float]
    import_share: xr.DataArray  # origin × material, or year × origin × material (a share path)
    spare: xr.DataArray  # origin × material, t/yr
    lifetime_pmf: xr.DataArray  # sector × age, share of a cohort leaving at that age
    history_inflow: xr.DataArray  # sector × grade × hist_year, t/yr before the horizon
    priority_tier: xr.DataArray  # sector -> tier index (0 first)
    stockpile0: xr.DataArray  # material, t
    stockpile_fit: xr.DataArray  # material: share of a shortfall its strategic stockpile serves
    grade_down: np.ndarray  # grade -> the grade one class down (−1: none)
    switch_share: np.ndarray  # sector: share of a restricted grade's bare magnets switched down
    switch_after_months: float  # months of restriction before makers switch (risk.grade_switch)
    collection_rate: float
    recycling_recovery: float
    working_stock_months: float
    sector_working_stock: xr.DataArray  # sector: months of bare magnets its buyers hold
    working_stock_refill_months: float
    chem: Chemistry
    # routes (issue 6): tolling abroad, overseas sources, export retention, buyer support
    tolling_capacity: xr.DataArray  # year × route, magnets a partner makes for India, t/yr
    tolling: xr.Dataset  # per route: grade, lead_months, partner, first, fee (INR/kg); exposure
    overseas_oxide: (
        xr.DataArray
    )  # year × source, NdPr oxide it can deliver (after separation), t/yr
    overseas: xr.Dataset  # per source: country, product tonnes per t oxide, price, stake_cost
    retention: xr.DataArray  # year, share of IREL's unused oxide kept in India
    incentive: xr.Dataset  # year: per_kg (INR/kg), pass_through; attrs: budget (crore INR)
    governance_risk: xr.DataArray  # origin, 0 … 1
    world_hhi: xr.DataArray  # material, HHI of world output of its group
    oxide_price: xr.DataArray  # year × material, INR/kg outside China (0: not an oxide)
    oxide_price_china: xr.DataArray  # year × material, INR/kg, China's domestic prices
    magnet_price: xr.DataArray  # year × grade, INR/kg: oxides + other materials + conversion
    magnet_price_china: xr.DataArray  # year × grade, INR/kg ex-works China (before landing)
    env_intensity: xr.DataArray  # stage × quantity, per t of the stage's output
    u3o8_fraction: float

    def basket_oxide(self, flow: str, kind: str = "rare_earth") -> xr.DataArray:
        """year × element: a flow of the basket's `kind` elements in t of the oxide each is
        counted in (REO for the rare earths, P2O5 for phosphorus)."""
        els = list(self.model.basket_kind(kind))
        return self.basket.sel(flow=flow, element=els) / self.basket_per_oxide.sel(element=els)

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def first_future_year(self) -> int:
        """Index of the first year not all history (a month of it after `risk.as_of`): where
        risk's yearly measures and the stockpile's service level count from."""
        return self.future_from // 12

    @property
    def first_planned_year(self) -> int:
        """Index of the first year wholly after `risk.as_of`: where a plan's yearly decisions
        (its import shares) may begin, so that no month of history runs on them."""
        return min(-(-self.future_from // 12), self.n_years)

    @property
    def route_names(self) -> list:
        """The tolling routes' labels (off the Dataset's Variables: `ds.route` builds a
        DataArray, ~40 µs)."""
        return list(self.tolling.variables["route"].values)

    @property
    def route_grades(self) -> np.ndarray:
        """Each tolling route's grade, by index into `grades`."""
        return self.tolling.variables["grade"].values

    @property
    def source_names(self) -> list:
        """The overseas sources' labels."""
        return list(self.overseas.variables["source"].values)

    @property
    def grades(self) -> tuple[str, ...]:
        return self.model.grade_names

    @property
    def materials(self) -> tuple[str, ...]:
        return self.model.material_names

    @property
    def elements(self) -> tuple[str, ...]:
        return self.model.element_names

    @property
    def fresh_alloy_per_magnet(self) -> float:
        """t of fresh alloy per t of finished magnet: 1 / alloy→magnet yield, less the machining
        scrap re-melted into alloy."""
        return fresh_alloy_per_magnet(self.yields["alloy_to_magnet"], self.yields["scrap_return"])

    @property
    def export_price_values(self) -> np.ndarray:
        """year × grade, INR/kg: what buyers abroad pay, the grade's price × (1 + premium)
        (numpy: a parameter sample's NPV reads it without labels)."""
        return self.magnet_price.values * (1 + self.export_premium)

    @property
    def export_price(self) -> xr.DataArray:
        """`export_price_values`, labelled year × grade (as `magnet_price`)."""
        return self.magnet_price.copy(data=self.export_price_values)

    def reached_grades(self, group: str, threshold: float = 0.0) -> tuple[str, ...]:
        """Grade classes an export control on `group`'s elements reaches: those whose content
        of them exceeds `threshold` kg/kg (0: any content)."""
        idx = [self.elements.index(e) for e in self.model.element_groups(group)]
        content = np.ascontiguousarray(self.grade_comp.values[:, idx]).sum(axis=1)  # grade
        return tuple(g for g, c in zip(self.grades, content, strict=True) if c > threshold)

    @property
    def oxide_per_magnet_values(self) -> np.ndarray:
        """grade × material: t per t of magnet made from oxide — the oxide route's recipe × fresh
        alloy per magnet (numpy: the engine and per-sample paths read it without labels)."""
        oxide = self.recipe.get_index("feed").get_loc("oxide")  # no DataArray for the label
        return self.recipe.values[oxide] * self.fresh_alloy_per_magnet

    @property
    def oxide_per_magnet(self) -> xr.DataArray:
        """`oxide_per_magnet_values`, labelled grade × material."""
        return xr.DataArray(
            self.oxide_per_magnet_values, dims=("grade", "material"),
            coords={"grade": self.recipe["grade"].values, "material": self.recipe["material"].values},
        )  # fmt: skip
