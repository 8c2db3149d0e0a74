"""Supply: unit capacity with its ramp, domestic separation, and what each origin ships and can
add (import shares and spare capacity by origin × material)."""

from __future__ import annotations

import numpy as np

from repm.chain.composition import _content
from repm.chain.rules import magnet_stage_yields, ramp_share
from repm.errors import UserError
from repm.model import ModelDefinition
from repm.scenario.schema import FEEDS, Scenario


def yields(s: Scenario) -> dict[str, float]:
    """The scenario's yields, checked against the monazite's REO content, with the engine's
    three magnet-side coefficients: alloy_making (metal → alloy), alloy_to_magnet (alloy →
    finished magnet) and scrap_return (share of the alloy→magnet loss returned in-house)."""
    y = s.supply.yields
    a2m, ret = magnet_stage_yields(y.sintering, y.machining, y.swarf_return)
    ylds = {**y.model_dump(), "alloy_making": y.strip_casting, "alloy_to_magnet": a2m,
            "scrap_return": ret}  # fmt: skip
    mz = s.supply.monazite
    if y.cracking_reo_per_t_monazite > mz.reo_fraction + 1e-12:
        raise UserError(
            f"{y.cracking_reo_per_t_monazite:g} t REO per t monazite exceeds the monazite's REO content "
            f"{mz.reo_fraction:g}; expected recovery ≤ content",
            where="supply.yields.cracking_reo_per_t_monazite",
        )

    return ylds


def capacity(s: Scenario, years: np.ndarray) -> dict:
    """Nameplate and effective (ramped) capacity by year × unit, and effective by feed route."""
    # capacity
    units = s.supply.units
    unit_names = [u.name for u in units]
    plate = np.zeros((len(years), len(units)))
    eff = np.zeros_like(plate)
    for ui, u in enumerate(units):
        plate[:, ui] = np.where(years >= u.first_year, u.capacity, 0.0)
        eff[:, ui] = u.capacity * ramp_share(years, u.first_year, u.rampup_years)
    cap = np.zeros((len(years), len(FEEDS)))
    for ui, u in enumerate(units):
        cap[:, FEEDS.index(u.feed)] += eff[:, ui]

    return dict(unit_names=unit_names, plate=plate, eff=eff, cap=cap)


def trade(s: Scenario, model: ModelDefinition, years, base, bare, emb, gc, ei, mi) -> dict:
    """Usual import shares and spare capacity by origin × material."""
    GRADES, MATERIALS = model.grade_names, model.material_names
    # trade
    origins = tuple(s.trade.origins)
    share = np.zeros((len(origins), len(MATERIALS)))
    spare = np.zeros_like(share)
    # an origin's spare capacity is for its material group as a whole: split it over the group's
    # materials (by base-year grade mix for alloys and magnets, by Dy:Tb content for heavy rare
    # earths) so that two grades never both get the full amount
    b = list(years).index(base) if base in years else 0
    grade_w = {
        "bare": bare[b].sum(axis=0) / max(bare[b].sum(), 1e-12),
        "emb": emb[b].sum(axis=0) / max(emb[b].sum(), 1e-12),
    }
    # separated products sharing a group (Dy and Tb: 'heavy') split it by their content, summed
    # over grade classes
    content = {p: _content(gc.sum(axis=0), ei, sep.elements) for p, sep in model.separated.items()}

    def spare_weight(mat) -> float:
        if mat.grade is not None:
            w = grade_w["emb" if mat.kind == "embedded" else "bare"]
            return float(w[GRADES.index(mat.grade)])
        peers = [
            p for p in model.separated if f"{p}_{mat.kind}" in mi
            and model.material_group[f"{p}_{mat.kind}"] == mat.trade_group
        ]  # fmt: skip
        if len(peers) == 1:
            return 1.0
        total = sum(content[p] for p in peers)
        weights = [content[p] / total if total > 0 else 1.0 / len(peers) for p in peers]
        weights[-1] = 1 - sum(weights[:-1])  # the shares add up to exactly 1
        return weights[peers.index(mat.name.removesuffix(f"_{mat.kind}"))]

    for mat in model.materials:
        m, group = mat.name, mat.trade_group
        for o, v in s.trade.shares[group].items():
            share[origins.index(o), mi[m]] = v
        for o, v in s.trade.spare.get(group, {}).items():
            spare[origins.index(o), mi[m]] = v * spare_weight(mat)

    return dict(origins=origins, share=share, spare=spare)
