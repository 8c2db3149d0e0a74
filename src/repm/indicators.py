"""The indicators, each declared once: name, unit, label, number format, dimensions, the
command that computes it, its recipe in words and the scenario fields that feed it, and — where
the recipe is arithmetic over other indicators — that arithmetic (`check`), which the tests
evaluate against the computed values.

Calliope keeps its post-processed outputs as math-as-data and PyPSA its attributes in tables;
here one registry serves the results (units), the CLI tables (`TABLES`: which indicators a
printed table shows, in order, with labels and formats), `--json`, `explain`, `compare`, the
report and the dashboard. `IndicatorTable` is the tidy table every command returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from repm.model import default_definition

KEYS = ("sector", "origin", "material", "unit_id", "grade", "element", "channel", "stat")
COLUMNS = ("year", "name", "value", "unit", *KEYS)


@dataclass(frozen=True)
class Indicator:
    name: str
    unit: str
    label: str
    fmt: str = "{:,.0f}"
    dims: tuple[str, ...] = ()  # the keys its rows may carry beside the totals
    command: str = "run"  # the command that computes it (run, risk, plan, finance, stockpile)
    recipe: str = ""  # how it is computed, in words (`repm explain`)
    inputs: tuple[str, ...] = ()  # scenario field prefixes whose facts feed it
    check: str | None = None  # the recipe as arithmetic over other indicators (tested)
    also: tuple[str, ...] = field(default=())  # other commands that report it too

    def format(self, value: float) -> str:
        return self.fmt.format(value)


def _declared() -> list[Indicator]:
    return [
        Indicator(
            "magnet_demand",
            "t",
            "Demand",
            check="magnet_demand_bare + magnet_demand_embedded",
            dims=("sector",),
            recipe="total path (geometric between the anchors, growth_after_anchors after the last) split by sector in proportion to bottom-up tonnages (activity × intensity × adoption, share of the base-year total, or the residual), each grown at its own rate",
            inputs=("demand.anchors", "demand.growth_after_anchors", "demand.sectors"),
        ),
        Indicator(
            "magnet_demand_bare",
            "t",
            "Magnet demand bare",
            recipe="magnet_demand × bare share (bare_base ÷ base-year demand, plus the localised part of the rest)",
            inputs=("demand.channels", "demand.anchors"),
        ),
        Indicator(
            "magnet_demand_embedded",
            "t",
            "Magnet demand embedded",
            check="magnet_demand - magnet_demand_bare",
            recipe="magnet_demand − magnet_demand_bare: magnets inside imported sub-assemblies",
            inputs=("demand.channels", "demand.anchors"),
        ),
        Indicator(
            "magnet_production_domestic",
            "t",
            "Domestic",
            recipe="min(capacity, bare-channel demand), cut where feed (IREL oxide, imports) runs short",
            inputs=("supply.units", "demand.channels", "supply.separation"),
        ),
        Indicator(
            "magnet_imports",
            "t",
            "Imports",
            check="magnet_imports_bare + magnet_imports_embedded",
            dims=("origin",),
            recipe="bare-channel demand not met by domestic output + the embedded channel, from origins in trade shares",
            inputs=("demand.channels", "trade.shares"),
        ),
        Indicator(
            "magnet_imports_bare",
            "t",
            "Magnet imports bare",
            recipe="bare-channel demand not met by domestic output or tolled returns, bought from origins in trade shares (then spare capacity), including working-stock build-up",
            inputs=("trade.shares.magnet", "trade.spare.magnet", "policy.working_stock_months"),
        ),
        Indicator(
            "magnet_imports_embedded",
            "t",
            "Magnet imports embedded",
            recipe="the embedded channel, from origins in trade shares",
            inputs=("trade.shares.embedded", "demand.channels"),
        ),
        Indicator(
            "magnet_capacity",
            "t/yr",
            "Capacity",
            recipe="Σ units: capacity × min(1, (year − first year + 1) / ramp-up years); first year = award + gestation",
            inputs=("supply.units",),
        ),
        Indicator(
            "magnet_capacity_nameplate",
            "t/yr",
            "Magnet capacity nameplate",
            recipe="Σ units online: nameplate capacity (no ramp-up)",
            inputs=("supply.units",),
        ),
        Indicator(
            "unmet_demand",
            "t",
            "Unmet",
            dims=("sector",),
            recipe="demand − domestic − imports − stockpile draws, served by sector priority",
            inputs=("trade", "policy"),
        ),
        Indicator(
            "self_sufficiency",
            "fraction",
            "Self-suff.",
            check="magnet_production_domestic / magnet_demand",
            fmt="{:.1%}",
            recipe="magnet_production_domestic ÷ magnet_demand",
            inputs=("supply.units", "demand.anchors"),
        ),
        Indicator(
            "import_share_china",
            "fraction",
            "China share",
            fmt="{:.1%}",
            recipe="imports from China ÷ all magnet imports (bare + embedded)",
            inputs=("trade.shares.magnet", "trade.shares.embedded"),
        ),
        Indicator(
            "ndpr_oxide_required",
            "t",
            "NdPr ox. need",
            recipe="Σ grades: magnets made ÷ alloy→magnet yield × NdPr content ÷ alloy yield ÷ oxide→metal yield × kg NdPr oxide per kg NdPr metal (oxide-equivalent of oxide, metal or alloy fed)",
            inputs=("supply.grades", "supply.yields", "supply.units"),
        ),
        Indicator(
            "ndpr_oxide_domestic",
            "t",
            "NdPr ox. dom.",
            recipe="min(planned IREL output path, separation capacity, monazite feed × t oxide per t monazite)",
            inputs=("supply.separation", "supply.mining_capacity", "supply.cracking_capacity"),
        ),
        Indicator(
            "ndpr_oxide_to_units",
            "t",
            "Ndpr oxide to units",
            recipe="IREL NdPr oxide the units use: up to min(separation output, to_units_max) a year, plus oxide kept in India by export retention",
            inputs=("supply.separation", "routes.export_retention"),
        ),
        Indicator(
            "ndpr_oxide_imports",
            "t",
            "Ndpr oxide imports",
            recipe="NdPr oxide the units need beyond recycled, IREL and overseas oxide, from origins in trade shares, including working-stock build-up",
            inputs=("trade.shares.oxide", "supply.grades", "supply.yields"),
        ),
        Indicator(
            "dy_oxide_imports",
            "t",
            "Dy oxide imports",
            recipe="Dy oxide for Dy/Tb-grade magnets made in India: all imported (Indian monazite yields no Dy)",
            inputs=("trade.shares.heavy", "supply.grades.h"),
        ),
        Indicator(
            "tb_oxide_imports",
            "t",
            "Tb oxide imports",
            recipe="Tb oxide for Dy/Tb-grade magnets made in India: all imported (Indian monazite yields no Tb)",
            inputs=("trade.shares.heavy", "supply.grades.h"),
        ),
        Indicator(
            "monazite_processed",
            "t",
            "Monazite",
            recipe="domestic NdPr oxide ÷ (t REO per t monazite × NdPr share of REO × SX recovery)",
            inputs=(
                "supply.separation",
                "supply.yields.cracking_reo_per_t_monazite",
                "supply.monazite.ndpr_share_of_reo",
                "supply.yields.sx_recovery",
            ),
        ),
        Indicator(
            "thorium_residue",
            "t",
            "Th residue",
            fmt="{:,.1f}",
            recipe="monazite processed × ThO2 share × Th/ThO2 mass ratio (CIAAW atomic weights); all Th leaves at cracking",
            inputs=("supply.monazite.tho2_fraction", "supply.separation"),
        ),
        Indicator(
            "in_use_stock",
            "t",
            "In use stock",
            recipe="cohorts of magnets put in use × share surviving to this year (lifetime distributions)",
            inputs=("demand.sectors",),
        ),
        Indicator(
            "end_of_life",
            "t",
            "End of life",
            recipe="cohorts × share of each reaching end of life this year",
            inputs=("demand.sectors",),
        ),
        Indicator(
            "demand_calibration_factor",
            "1",
            "Demand calibration factor",
            fmt="{:.3f}",
            recipe="anchored total ÷ bottom-up sector sum (activity × intensity × adoption, shares)",
            inputs=("demand.anchors", "demand.sectors"),
        ),
        Indicator(
            "mass_balance_residual",
            "t",
            "Max residual",
            recipe="largest |inputs − outputs − Δstock| over processes, elements and draws; ~0 when the books close",
        ),
        Indicator(
            "import_dependence_magnets",
            "fraction",
            "Import dep. magnets",
            check="magnet_imports / (magnet_imports + magnet_production_domestic + magnet_tolled)",
            fmt="{:.1%}",
            recipe="magnet imports ÷ (imports + domestic output + tolled returns)",
            inputs=("trade.shares", "supply.units", "routes.tolling"),
        ),
        Indicator(
            "import_dependence_ndpr_oxide",
            "fraction",
            "Import dep. NdPr ox.",
            fmt="{:.1%}",
            recipe="NdPr oxide imports ÷ NdPr oxide the units used",
            inputs=("trade.shares.oxide", "supply.separation"),
        ),
        Indicator(
            "hhi_magnet_imports",
            "1",
            "HHI magnet imports",
            fmt="{:.3f}",
            recipe="Σ origins (origin's share of magnet imports)²: 1 for one source, 1/n for n equal",
            inputs=("trade.shares.magnet", "trade.shares.embedded"),
        ),
        Indicator(
            "hhi_ndpr_oxide_imports",
            "1",
            "HHI NdPr ox. imports",
            fmt="{:.3f}",
            recipe="Σ origins (origin's share of NdPr oxide imports)²",
            inputs=("trade.shares.oxide",),
        ),
        Indicator(
            "magnet_tolled",
            "t",
            "Tolled",
            dims=("origin",),
            recipe="magnets a tolling partner returns: each step min(capacity × what restrictions leave (partner's, and origins its returns need licences from), IREL oxide available ÷ oxide per t magnet, magnets the units leave to buy), arriving after the lead time",
            inputs=("routes.tolling", "supply.separation"),
        ),
        Indicator(
            "ndpr_oxide_tolled",
            "t",
            "Ox. tolled",
            recipe="magnets ordered × NdPr oxide per t magnet (the oxide route's recipe: NdPr content ÷ alloy and oxide→metal yields × oxide per metal, scrap re-melted)",
            inputs=("routes.tolling", "supply.grades", "supply.yields"),
        ),
        Indicator(
            "tolling_in_transit",
            "t",
            "Tolling in transit",
            recipe="tolled magnets ordered but not yet back at the year's end (the lead time's orders)",
            inputs=("routes.tolling",),
        ),
        Indicator(
            "ndpr_oxide_overseas",
            "t",
            "Ox. overseas",
            recipe="NdPr oxide used from overseas sources (after domestic oxide, before imports), pro rata to what each offers: tonnes × (1, or NdPr share of REO × SX recovery) × its country's availability",
            inputs=("routes.overseas", "supply.yields.sx_recovery"),
        ),
        Indicator(
            "ndpr_oxide_domestic_feed",
            "t",
            "Ndpr oxide domestic feed",
            recipe="IREL's NdPr oxide + what overseas sources can deliver (tonnes × yields)",
            inputs=("supply.separation", "routes.overseas", "supply.yields.sx_recovery"),
        ),
        Indicator(
            "ndpr_oxide_exports",
            "t",
            "Ox. exported",
            recipe="IREL oxide the units and tolling do not take × (1 − retention share)",
            inputs=("supply.separation", "routes.export_retention"),
        ),
        Indicator(
            "ndpr_oxide_retained",
            "t",
            "Ox. retained",
            recipe="IREL oxide the units and tolling do not take × retention share; held for the units",
            inputs=("supply.separation", "routes.export_retention"),
        ),
        Indicator(
            "tolling_fee_cost",
            "crore INR",
            "Toll fees",
            fmt="{:,.1f}",
            recipe="magnets returned × fee per kg",
            inputs=("routes.tolling",),
        ),
        Indicator(
            "overseas_cost",
            "crore INR",
            "Overseas cost",
            fmt="{:,.1f}",
            recipe="product bought × price + equity paid the year before first output",
            inputs=("routes.overseas",),
        ),
        Indicator(
            "consumer_incentive_cost",
            "crore INR",
            "Buyer support",
            fmt="{:,.1f}",
            recipe="support per kg × Indian magnets made, while it runs, until the budget is spent",
            inputs=("routes.consumer_incentive",),
        ),
        Indicator(
            "ndpr_in_demand",
            "t",
            "NdPr in demand",
            dims=("sector",),
            recipe="Σ sectors, grades: magnet demand × grade share (hre_share) × NdPr per kg of the grade",
            inputs=("demand.sectors", "supply.grades"),
        ),
        Indicator(
            "dy_in_demand",
            "t",
            "Dy in demand",
            dims=("sector",),
            recipe="Σ sectors, grades: magnet demand × grade share (hre_share) × Dy per kg of the grade",
            inputs=("demand.sectors", "supply.grades"),
        ),
        Indicator(
            "tb_in_demand",
            "t",
            "Tb in demand",
            dims=("sector",),
            recipe="Σ sectors, grades: magnet demand × grade share (hre_share) × Tb per kg of the grade",
            inputs=("demand.sectors", "supply.grades"),
        ),
        Indicator(
            "geopolrisk_magnets",
            "1",
            "GeoPolRisk magnets",
            fmt="{:.3f}",
            recipe="HHI of world magnet output × Σ origins governance risk × origin's share of India's magnet supply (imports + domestic + tolled)",
            inputs=("trade.world_production", "trade.governance_risk", "trade.shares"),
        ),
        Indicator(
            "geopolrisk_ndpr_oxide",
            "1",
            "GeoPolRisk NdPr ox.",
            fmt="{:.3f}",
            recipe="HHI of world refined output × Σ origins governance risk × origin's share of India's NdPr oxide supply (imports + domestic + tolled)",
            inputs=("trade.world_production", "trade.governance_risk", "trade.shares"),
        ),
        Indicator(
            "geopolrisk_heavy",
            "1",
            "GeoPolRisk Dy/Tb ox.",
            fmt="{:.3f}",
            recipe="HHI of world refined output × Σ origins governance risk × origin's share of India's Dy/Tb oxide supply (imports + domestic + tolled)",
            inputs=("trade.world_production", "trade.governance_risk", "trade.shares"),
        ),
        Indicator(
            "env_uranium_residue",
            "t",
            "U residue",
            fmt="{:,.1f}",
            recipe="monazite processed × U3O8 share × U/U3O8 mass ratio",
            inputs=("environment.u3o8_fraction", "supply.separation"),
        ),
        Indicator(
            "unit_revenue",
            "crore INR",
            "Unit revenue",
            fmt="{:,.1f}",
            dims=("unit_id",),
            command="finance",
        ),
        Indicator(
            "unit_sli", "crore INR", "Unit sli", fmt="{:,.1f}", dims=("unit_id",), command="finance"
        ),
        Indicator(
            "unit_capital_subsidy",
            "crore INR",
            "Unit capital subsidy",
            fmt="{:,.1f}",
            dims=("unit_id",),
            command="finance",
        ),
        Indicator(
            "unit_net", "crore INR", "Unit net", fmt="{:,.1f}", dims=("unit_id",), command="finance"
        ),
        Indicator("scheme_outlay", "crore INR", "Scheme outlay", fmt="{:,.1f}", command="finance"),
        Indicator("expected_unmet_simulated", "t", "Expected unmet simulated", command="plan"),
        Indicator("capacity_added", "t/yr", "Capacity added", command="plan"),
        Indicator("expected_unmet", "t", "Expected unmet", dims=("sector",), command="plan"),
        Indicator("capacity_value", "crore INR per t/yr", "Capacity value", command="plan"),
        Indicator(
            "p_shortage", "fraction", "P shortage", fmt="{:.1%}", dims=("sector",), command="risk"
        ),
        Indicator("cvar95_unmet", "t", "Cvar95 unmet", dims=("sector",), command="risk"),
        Indicator("unmet_p05", "t", "Unmet p05", command="risk"),
        Indicator("unmet_p50", "t", "Unmet p50", command="risk"),
        Indicator("unmet_p95", "t", "Unmet p95", command="risk"),
        Indicator("months_short", "month", "Months short", command="risk"),
        Indicator(
            "stockpile_holding_cost",
            "crore INR",
            "Stockpile holding cost",
            fmt="{:,.1f}",
            command="risk",
        ),
        Indicator("ev_cars_not_built", "vehicles", "Ev cars not built", command="risk"),
        Indicator("e2w_not_built", "vehicles", "E2w not built", command="risk"),
        Indicator("e3w_not_built", "vehicles", "E3w not built", command="risk"),
    ]


ENV_QUANTITIES = {"energy": "MWh", "water": "m³", "acid": "t", "co2e": "t CO2e"}
ENV_LABELS = {"energy": "Energy", "water": "Water", "acid": "Acid", "co2e": "CO2e"}


def _environment() -> list[Indicator]:
    """The environmental ledger: per quantity, each stage in India, India's total, imports and
    per tonne of magnet supplied."""
    stages = default_definition().stages
    out = []
    for q, u in ENV_QUANTITIES.items():
        for st in stages:
            out.append(Indicator(
                f"env_{q}_{st}", u, f"{ENV_LABELS[q]} {st}",
                recipe=f"the stage's output in India × its {q} per tonne",
                inputs=(f"environment.intensity.{st}.{q}",),
            ))  # fmt: skip
        out += [
            Indicator(
                f"env_{q}_domestic", u, f"{ENV_LABELS[q]} India",
                recipe=f"Σ stages in India: output × {q} per tonne",
                inputs=("environment.intensity",),
                check=" + ".join(f"env_{q}_{st}" for st in stages),
            ),
            Indicator(
                f"env_{q}_imports", u, f"{ENV_LABELS[q]} in imports",
                recipe=f"imports × cradle-to-gate {q} per tonne with India's chain coefficients "
                "(origin figures are not sourced)",
                inputs=("environment.intensity",),
            ),
            Indicator(
                f"env_{q}_per_t_magnet", f"{u}/t", f"{ENV_LABELS[q]} per t magnet", fmt="{:,.1f}",
                recipe=f"(env_{q}_domestic + env_{q}_imports) ÷ magnets supplied (domestic, "
                "tolled and imported)",
                inputs=("environment.intensity",),
                check=f"(env_{q}_domestic + env_{q}_imports) / (magnet_production_domestic "
                "+ magnet_tolled + magnet_imports)",
            ),
        ]  # fmt: skip
    return out


REGISTRY: dict[str, Indicator] = {i.name: i for i in _declared() + _environment()}

# the printed tables: which indicators, in which order
TABLES: dict[str, tuple[str, ...]] = {
    "headline": (
        "magnet_demand", "magnet_capacity", "magnet_production_domestic", "magnet_imports",
        "unmet_demand", "self_sufficiency", "import_share_china", "ndpr_oxide_required",
        "ndpr_oxide_domestic", "monazite_processed", "thorium_residue", "mass_balance_residual",
    ),
    "routes": (
        "magnet_tolled", "ndpr_oxide_tolled", "ndpr_oxide_overseas", "ndpr_oxide_retained",
        "ndpr_oxide_exports", "tolling_fee_cost", "overseas_cost", "consumer_incentive_cost",
    ),
    "supply_risk": (
        "import_dependence_magnets", "import_dependence_ndpr_oxide", "hhi_magnet_imports",
        "hhi_ndpr_oxide_imports", "geopolrisk_magnets", "geopolrisk_ndpr_oxide",
        "geopolrisk_heavy", "ndpr_in_demand", "dy_in_demand", "tb_in_demand",
    ),
    "ledger": (
        "thorium_residue", "env_uranium_residue", "env_co2e_domestic", "env_co2e_imports",
        "env_co2e_per_t_magnet", "env_energy_domestic", "env_water_domestic", "env_acid_domestic",
    ),
    "risk": (
        "p_shortage", "expected_unmet", "cvar95_unmet", "unmet_p95", "months_short",
        "stockpile_holding_cost",
    ),
    "compare": (
        "magnet_demand", "magnet_production_domestic", "magnet_imports", "unmet_demand",
        "self_sufficiency", "import_share_china", "ndpr_oxide_domestic", "thorium_residue",
        "expected_unmet", "p_shortage", "cvar95_unmet", "scheme_outlay",
    ),
}  # fmt: skip


def get(name: str) -> Indicator:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"indicator {name!r} is not declared in repm.indicators") from None


def unit(name: str) -> str:
    return get(name).unit


def table(name: str) -> tuple[Indicator, ...]:
    """The indicators a printed table shows, in order."""
    return tuple(get(n) for n in TABLES[name])


class IndicatorTable:
    """The tidy indicator table: one row per year × indicator × dimension keys, fixed columns
    (`COLUMNS`; keys absent for totals are None). Every command returns one."""

    def __init__(self, rows: list[dict] | pd.DataFrame) -> None:
        df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
        for k in COLUMNS:
            if k not in df:
                df[k] = None
        self.frame = df[list(COLUMNS)]

    @classmethod
    def from_rows(cls, rows: list[dict]) -> IndicatorTable:
        """Rows of (year, name, value, dims…); the unit comes from the registry."""
        return cls([{**r, "unit": r.get("unit") or unit(r["name"])} for r in rows])

    def totals(self) -> pd.DataFrame:
        """The rows without a dimension key."""
        df = self.frame
        return df[df[list(KEYS)].isna().all(axis=1)]

    def wide(self) -> pd.DataFrame:
        """year × name of the totals."""
        return self.totals().pivot(index="year", columns="name", values="value")

    def select(self, name: str, **dims: str) -> pd.DataFrame:
        """One indicator's rows with exactly these dimension keys (others absent)."""
        df = self.frame
        mask = df["name"] == name
        for k in KEYS:
            mask &= (df[k] == dims[k]) if k in dims else df[k].isna()
        return df[mask]

    def records(self) -> list[dict]:
        """The `--json` rows: year, name, value, unit and only the keys a row has."""
        out = []
        for row in self.frame.itertuples(index=False):
            rec = {
                "year": int(row.year),
                "name": row.name,
                "value": float(row.value),
                "unit": row.unit,
            }
            for k in KEYS:
                v = getattr(row, k)
                if isinstance(v, str):
                    rec[k] = v
            out.append(rec)
        return out
