"""Explain a printed figure back to the facts and sources it came from."""

from __future__ import annotations

from dataclasses import dataclass

from repm.chain import Chain
from repm.errors import UserError
from repm.facts import FactTable
from repm.results import UNITS, Results
from repm.scenario.load import LoadedScenario

# indicator -> (formula in words, scenario field prefixes whose facts feed it)
RECIPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "magnet_demand": (
        "total path (geometric between the anchors, growth_after_2030 after the last) split by sector "
        "in proportion to bottom-up tonnages (activity × intensity × adoption, share of the base-year "
        "total, or the residual), each grown at its own rate",
        ("demand.anchors", "demand.growth_after_2030", "demand.sectors"),
    ),
    "magnet_capacity": (
        "Σ units: capacity × min(1, (year − first year + 1) / ramp-up years); first year = award + gestation",
        ("supply.units",),
    ),
    "magnet_production_domestic": (
        "min(capacity, bare-channel demand), cut where feed (IREL oxide, imports) runs short",
        ("supply.units", "demand.channels", "supply.separation"),
    ),
    "magnet_imports": (
        "bare-channel demand not met by domestic output + the embedded channel, from origins in trade shares",
        ("demand.channels", "trade.shares"),
    ),
    "unmet_demand": (
        "demand − domestic − imports − stockpile draws, served by sector priority",
        ("trade", "policy"),
    ),
    "self_sufficiency": (
        "magnet_production_domestic ÷ magnet_demand",
        ("supply.units", "demand.anchors"),
    ),
    "import_share_china": (
        "imports from China ÷ all magnet imports (bare + embedded)",
        ("trade.shares.magnet", "trade.shares.embedded"),
    ),
    "ndpr_oxide_required": (
        "Σ grades: magnets made ÷ alloy→magnet yield × NdPr content ÷ alloy yield ÷ oxide→metal yield × "
        "kg NdPr oxide per kg NdPr metal (oxide-equivalent of oxide, metal or alloy fed)",
        ("supply.grades", "supply.yields", "supply.units"),
    ),
    "ndpr_oxide_domestic": (
        "min(planned IREL output path, separation capacity, monazite feed × t oxide per t monazite)",
        ("supply.separation", "supply.mining_capacity", "supply.cracking_capacity"),
    ),
    "monazite_processed": (
        "domestic NdPr oxide ÷ (t REO per t monazite × NdPr share of REO × SX recovery)",
        (
            "supply.separation",
            "supply.yields.cracking_reo_per_t_monazite",
            "supply.monazite.ndpr_share_of_reo",
            "supply.yields.sx_recovery",
        ),
    ),
    "thorium_residue": (
        "monazite processed × ThO2 share × Th/ThO2 mass ratio (CIAAW atomic weights); all Th leaves at cracking",
        ("supply.monazite.tho2_fraction", "supply.separation"),
    ),
    "mass_balance_residual": (
        "largest |inputs − outputs − Δstock| over processes, elements and draws; ~0 when the books close",
        (),
    ),
    # routes (issue 6)
    "magnet_tolled": (
        "magnets a tolling partner returns: each step min(capacity × what restrictions leave "
        "(partner's, and origins its returns need licences from), IREL oxide available ÷ oxide per "
        "t magnet, magnets the units leave to buy), arriving after the lead time",
        ("routes.tolling", "supply.separation"),
    ),
    "ndpr_oxide_tolled": (
        "magnets ordered × NdPr oxide per t magnet (the oxide route's recipe: NdPr content ÷ alloy "
        "and oxide→metal yields × oxide per metal, scrap re-melted)",
        ("routes.tolling", "supply.grades", "supply.yields"),
    ),
    "tolling_fee_cost": ("magnets returned × fee per kg", ("routes.tolling",)),
    "ndpr_oxide_overseas": (
        "NdPr oxide used from overseas sources (after domestic oxide, before imports), pro rata to "
        "what each offers: tonnes × (1, or NdPr share of REO × SX recovery) × its country's availability",
        ("routes.overseas", "supply.yields.sx_recovery"),
    ),
    "ndpr_oxide_domestic_feed": (
        "IREL's NdPr oxide + what overseas sources can deliver (tonnes × yields)",
        ("supply.separation", "routes.overseas", "supply.yields.sx_recovery"),
    ),
    "overseas_cost": (
        "product bought × price + equity paid the year before first output",
        ("routes.overseas",),
    ),
    "ndpr_oxide_exports": (
        "IREL oxide the units and tolling do not take × (1 − retention share)",
        ("supply.separation", "routes.export_retention"),
    ),
    "ndpr_oxide_retained": (
        "IREL oxide the units and tolling do not take × retention share; held for the units",
        ("supply.separation", "routes.export_retention"),
    ),
    "consumer_incentive_cost": (
        "support per kg × Indian magnets made, while it runs, until the budget is spent",
        ("routes.consumer_incentive",),
    ),
    "dy_in_demand": (
        "Σ sectors, grades: magnet demand × grade share (hre_share) × Dy per kg of the grade",
        ("demand.sectors", "supply.grades"),
    ),
    "geopolrisk_magnets": (
        "HHI of world magnet output × Σ origins governance risk × origin's share of India's magnet "
        "supply (imports + domestic + tolled)",
        ("trade.world_production", "trade.governance_risk", "trade.shares"),
    ),
    "env_uranium_residue": (
        "monazite processed × U3O8 share × U/U3O8 mass ratio",
        ("environment.u3o8_fraction", "supply.separation"),
    ),
}
RECIPES.update(
    {
        "magnet_demand_bare": (
            "magnet_demand × bare share (bare_base ÷ base-year demand, plus the localised part of "
            "the rest)",
            ("demand.channels", "demand.anchors"),
        ),
        "magnet_demand_embedded": (
            "magnet_demand − magnet_demand_bare: magnets inside imported sub-assemblies",
            ("demand.channels", "demand.anchors"),
        ),
        "magnet_imports_bare": (
            "bare-channel demand not met by domestic output or tolled returns, bought from origins "
            "in trade shares (then spare capacity), including working-stock build-up",
            ("trade.shares.magnet", "trade.spare.magnet", "policy.working_stock_months"),
        ),
        "magnet_imports_embedded": (
            "the embedded channel, from origins in trade shares",
            ("trade.shares.embedded", "demand.channels"),
        ),
        "magnet_capacity_nameplate": (
            "Σ units online: nameplate capacity (no ramp-up)",
            ("supply.units",),
        ),
        "ndpr_oxide_to_units": (
            "IREL NdPr oxide the units use: up to min(separation output, to_units_max) a year, "
            "plus oxide kept in India by export retention",
            ("supply.separation", "routes.export_retention"),
        ),
        "ndpr_oxide_imports": (
            "NdPr oxide the units need beyond recycled, IREL and overseas oxide, from origins in "
            "trade shares, including working-stock build-up",
            ("trade.shares.oxide", "supply.grades", "supply.yields"),
        ),
        "dy_oxide_imports": (
            "Dy oxide for Dy/Tb-grade magnets made in India: all imported (Indian monazite "
            "yields no Dy)",
            ("trade.shares.heavy", "supply.grades.h"),
        ),
        "in_use_stock": (
            "cohorts of magnets put in use × share surviving to this year (lifetime distributions)",
            ("demand.sectors",),
        ),
        "end_of_life": (
            "cohorts × share of each reaching end of life this year",
            ("demand.sectors",),
        ),
        "demand_calibration_factor": (
            "anchored total ÷ bottom-up sector sum (activity × intensity × adoption, shares)",
            ("demand.anchors", "demand.sectors"),
        ),
        "import_dependence_magnets": (
            "magnet imports ÷ (imports + domestic output + tolled returns)",
            ("trade.shares", "supply.units", "routes.tolling"),
        ),
        "import_dependence_ndpr_oxide": (
            "NdPr oxide imports ÷ NdPr oxide the units used",
            ("trade.shares.oxide", "supply.separation"),
        ),
        "hhi_magnet_imports": (
            "Σ origins (origin's share of magnet imports)²: 1 for one source, 1/n for n equal",
            ("trade.shares.magnet", "trade.shares.embedded"),
        ),
        "hhi_ndpr_oxide_imports": (
            "Σ origins (origin's share of NdPr oxide imports)²",
            ("trade.shares.oxide",),
        ),
        "tolling_in_transit": (
            "tolled magnets ordered but not yet back at the year's end (the lead time's orders)",
            ("routes.tolling",),
        ),
    }
)
RECIPES["tb_oxide_imports"] = (
    RECIPES["dy_oxide_imports"][0].replace("Dy oxide", "Tb oxide").replace("no Dy", "no Tb"),
    RECIPES["dy_oxide_imports"][1],
)
for _n, _el in (("ndpr_in_demand", "NdPr"), ("tb_in_demand", "Tb")):
    RECIPES[_n] = (RECIPES["dy_in_demand"][0].replace("Dy", _el), RECIPES["dy_in_demand"][1])
for _n, _what in (("geopolrisk_ndpr_oxide", "NdPr oxide"), ("geopolrisk_heavy", "Dy/Tb oxide")):
    RECIPES[_n] = (
        RECIPES["geopolrisk_magnets"][0]
        .replace("world magnet", "world refined")
        .replace("magnet", _what),
        RECIPES["geopolrisk_magnets"][1],
    )
for _q in ("energy", "water", "acid", "co2e"):
    for _st in ("cracking", "separation", "metal", "magnet"):
        RECIPES[f"env_{_q}_{_st}"] = (
            f"the stage's output in India × its {_q} per tonne",
            (f"environment.intensity.{_st}.{_q}",),
        )
    RECIPES[f"env_{_q}_domestic"] = (
        f"Σ stages in India: output × {_q} per tonne",
        ("environment.intensity",),
    )
    RECIPES[f"env_{_q}_imports"] = (
        f"imports × cradle-to-gate {_q} per tonne with India's chain coefficients (origin figures are not sourced)",
        ("environment.intensity",),
    )
    RECIPES[f"env_{_q}_per_t_magnet"] = (
        f"(env_{_q}_domestic + env_{_q}_imports) ÷ magnets supplied",
        ("environment.intensity",),
    )


@dataclass(frozen=True)
class Explanation:
    lines: list[str]


def explain(
    name: str, year: int, loaded: LoadedScenario, chain: Chain, results: Results, facts: FactTable
) -> Explanation:
    if name not in UNITS:
        raise UserError(f"unknown indicator {name!r}; expected one of: {', '.join(sorted(UNITS))}")
    years = [int(y) for y in chain.years]
    if year not in years:
        raise UserError(f"year {year} outside the horizon {years[0]}–{years[-1]}")
    value = results.value(name, year)
    lines = [f"{name} {year} = {value:,.4g} {UNITS[name]}   (scenario {loaded.name})"]
    formula, prefixes = RECIPES[name]
    lines.append(f"  = {formula}")
    if name == "magnet_demand":
        lines += _demand_detail(year, loaded, chain)
    used = {
        p: f
        for p, f in loaded.provenance.items()
        if any(p == q or p.startswith(q + ".") for q in prefixes)
    }
    if used:
        lines.append("  from these facts:")
        for path, fid in used.items():
            f = facts.get(fid)
            cites = (
                "; ".join(facts.sources[s].cite() for s in f.sources)
                or f"({f.grade}) {f.note[:160]}"
            )
            lines.append(f"    {path} = {f.shown()} {f.unit}  [{fid}, grade {f.grade}]")
            lines.append(f"        source: {cites}")
            for parent in facts.lineage(fid)[1:]:
                pc = "; ".join(facts.sources[s].cite() for s in parent.sources) or "—"
                lines.append(
                    f"        ← {parent.id} = {parent.shown()} {parent.unit} (grade {parent.grade}): {pc}"
                )
    overridden = [
        p
        for p in _leaf_paths(loaded.raw)
        if any(p == q or p.startswith(q + ".") for q in prefixes) and p not in loaded.provenance
    ]
    for p in overridden:
        lines.append(f"    {p}: set in the scenario or by --set (no fact behind it)")
    return Explanation(lines)


def _leaf_paths(data, prefix: str = "") -> list[str]:
    if isinstance(data, dict):
        return [
            p
            for k, v in data.items()
            for p in _leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
        ]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _leaf_paths(v, f"{prefix}.{i}")]
    return [prefix] if isinstance(data, int | float) and not isinstance(data, bool) else []


def _demand_detail(year: int, loaded: LoadedScenario, chain: Chain) -> list[str]:
    d = loaded.scenario.demand
    tot = chain.demand_total.sel(year=year)
    bu = chain.demand_bottom_up.sel(year=year)
    k = float(tot.sum()) / float(bu.sum()) if float(bu.sum()) > 0 else 0.0
    anchors = ", ".join(f"{y}: {v:,.0f} t" for y, v in d.anchors.items())
    out = [
        f"  anchors {anchors}; after {max(d.anchors)}: +{d.growth_after_2030:.1%}/yr",
        f"  bottom-up {float(bu.sum()):,.0f} t × calibration factor {k:.4f} = {float(tot.sum()):,.0f} t",
        "  by sector (bottom-up → calibrated):",
    ]
    for s in chain.sectors:
        sec = d.sectors[s]
        if sec.basis == "driver":
            how = f"{sec.activity:~,.6g} × {sec.intensity:~,.6g} × adoption {sec.adoption:.0%}"
        elif sec.basis == "share":
            how = f"{sec.share:.1%} of the {d.base_year} total"
        else:
            how = f"{d.base_year} total − other sectors"
        out.append(
            f"    {s:<12} {float(bu.sel(sector=s)):>9,.0f} → {float(tot.sel(sector=s)):>9,.0f} t"
            f"   ({how}, +{sec.growth:.1%}/yr from {d.base_year})"
        )
    return out
