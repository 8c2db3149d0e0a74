"""Explain a printed figure back to the facts and sources it came from."""

from __future__ import annotations

from dataclasses import dataclass

from repm.chain import Chain
from repm.errors import UserError
from repm.model.facts import FactTable
from repm.results.build import Results
from repm.results.indicators import REGISTRY
from repm.scenario.load import LoadedScenario

# indicator -> (formula in words, scenario field prefixes whose facts feed it): the registry's
RECIPES: dict[str, tuple[str, tuple[str, ...]]] = {
    n: (i.recipe, i.inputs) for n, i in REGISTRY.items() if i.command == "run"
}


@dataclass(frozen=True)
class Explanation:
    lines: list[str]


def explain(
    name: str, year: int, loaded: LoadedScenario, chain: Chain, results: Results, facts: FactTable
) -> Explanation:
    if name not in RECIPES:
        raise UserError(
            f"unknown indicator {name!r}; expected one of: {', '.join(sorted(RECIPES))}"
        )
    years = [int(y) for y in chain.years]
    if year not in years:
        raise UserError(f"year {year} outside the horizon {years[0]}–{years[-1]}")
    value = results.value(name, year)
    lines = [f"{name} {year} = {value:,.4g} {REGISTRY[name].unit}   (scenario {loaded.name})"]
    formula, prefixes = RECIPES[name]
    lines.append(f"  = {formula}")
    if name == "magnet_demand":
        lines += _demand_detail(year, loaded, chain)
    if name in ("monazite_processed", "reo_mined", "reo_produced"):
        lines += _monazite_detail(year, loaded, chain, facts)
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
        f"  anchors {anchors}; after {max(d.anchors)}: +{d.growth_after_anchors:.1%}/yr",
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
        since = d.base_year
        if sec.basis == "driver" and sec.activity_path:
            pts = ", ".join(f"{y}: {q:~,.6g}" for y, q in sorted(sec.activity_path.items()))
            how += f", then {pts} (linear between)"
            since = max(sec.activity_path)
        out.append(
            f"    {s:<12} {float(bu.sel(sector=s)):>9,.0f} → {float(tot.sel(sector=s)):>9,.0f} t"
            f"   ({how}, +{sec.growth:.1%}/yr from {since})"
        )
    return out


def _monazite_detail(
    year: int, loaded: LoadedScenario, chain: Chain, facts: FactTable
) -> list[str]:
    """How the year's monazite was decided, and the calibration to what USGS says India mined."""
    s = loaded.scenario
    mz, y = s.supply.monazite, s.supply.yields
    cracked = float(chain.monazite_processed.sel(year=year))
    bound = str(chain.monazite_bound.sel(year=year).item())
    path = ", ".join(f"{k}: {v:,.0f} t" for k, v in mz.processed.items())
    ndpr_per_t = 1.0 / chain.monazite_per_t_oxide  # t NdPr oxide per t monazite (chain/basket.py)
    out = [
        f"  path {path} (held flat outside its years); decided by: {bound}",
        f"  IREL's NdPr plan needs {float(chain.separation_output.sel(year=year)) / ndpr_per_t:,.0f} t "
        f"(NdPr oxide ÷ {ndpr_per_t:.4f} t per t monazite); capacity: mining "
        f"{s.supply.mining_capacity:,.0f} t, cracking {s.supply.cracking_capacity:,.0f} t",
        f"  {cracked:,.0f} t monazite × {mz.reo_fraction:.1%} REO = {cracked * mz.reo_fraction:,.0f} t REO mined; "
        f"× {y.cracking_reo_per_t_monazite / mz.reo_fraction:.1%} cracking recovery = "
        f"{cracked * y.cracking_reo_per_t_monazite:,.0f} t REO in mixed chloride",
    ]
    usgs = [
        f
        for f in facts.facts.values()
        if f.id.startswith("mine_production_india_") and f.year is not None
    ]
    for f in sorted(usgs, key=lambda f: str(f.year)):
        if str(f.year) == str(year):
            reo = cracked * mz.reo_fraction
            gap = reo / f.central - 1
            out.append(
                f"  calibration: USGS {f.id} = {f.shown()} {f.unit} REO; the model's {reo:,.0f} t is "
                + ("the same" if abs(gap) < 5e-4 else f"{gap:+.1%} from it")
            )
    # cross-checks against what was reported (the model is not fitted to them)
    checks = (
        ("irel_monazite_production_2022", "IREL's monazite output, 2022 (Lok Sabha)", cracked, "t monazite"),
        ("toyotsu_exports_japan_2024", "Toyotsu's shipments to Japan, 2024 (Reuters)",
         float(chain.basket_oxide("chloride_exports").sel(year=year).sum()), "t REO as chloride"),
    )  # fmt: skip
    for fid, what, model_value, unit in checks:
        if fid in facts:
            out.append(
                f"  cross-check: {what} {facts.get(fid).shown()} [{fid}]; the model's {year}: "
                f"{model_value:,.0f} {unit}"
            )
    return out
