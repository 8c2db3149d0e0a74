"""Supply: unit capacity with its ramp, domestic separation, and what each origin ships and can
add (import shares and spare capacity by origin × material)."""

from __future__ import annotations

import numpy as np

from repm.chain.composition import _content
from repm.chain.memo import per_definition
from repm.chain.rules import interp_path, magnet_stage_yields, ramp_share
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
    if recovery_exceeds_content(y.cracking_reo_per_t_monazite, mz.reo_fraction):
        raise recovery_error(y.cracking_reo_per_t_monazite, mz.reo_fraction)

    return ylds


# yields()'s check, one rule: this module and the batched one (repm.chain.batched.supply) call it,
# on a sample's numbers or a block's (S,) arrays (a mask over the samples)


def recovery_exceeds_content(recovered, content):
    """Cracking recovers more REO per t of monazite than it holds (a 1e-12 margin)."""
    return recovered > content + 1e-12


def recovery_error(recovered, content) -> UserError:
    return UserError(
        f"{float(recovered):g} t REO per t monazite exceeds the monazite's REO content "
        f"{float(content):g}; expected recovery ≤ content",
        where="supply.yields.cracking_reo_per_t_monazite",
    )


def capacity(s: Scenario, years: np.ndarray) -> dict:
    """Nameplate and effective (ramped) capacity by year × unit, and effective by feed route."""
    # capacity
    units = s.supply.units
    unit_names = [u.name for u in units]
    # year × unit, every unit at once: each element the same operations as unit by unit
    first = np.array([u.first_year for u in units], dtype=float)[None, :]
    size = np.array([u.capacity for u in units], dtype=float)[None, :]
    ramp = np.array([u.rampup_years for u in units], dtype=float)[None, :]
    col = years[:, None]
    plate = np.where(col >= first, size, 0.0)
    eff = size * ramp_share(col, first, ramp)
    cap = np.zeros((len(years), len(FEEDS)))
    for ui, u in enumerate(units):  # added unit by unit, in order
        cap[:, FEEDS.index(u.feed)] += eff[:, ui]

    return dict(unit_names=unit_names, plate=plate, eff=eff, cap=cap)


def trade(s: Scenario, model: ModelDefinition, years, base, bare, emb, gc, ei, mi) -> dict:
    """Usual import shares and spare capacity by origin × material; the shares by year × origin
    × material where a group's shares follow a year path (`trade.share_paths`)."""
    GRADES, MATERIALS = model.grade_names, model.material_names
    # trade
    origins = tuple(s.trade.origins)
    row_of = {o: i for i, o in enumerate(origins)}
    # filled as lists of Python floats (the same numbers) and made arrays once: a few dozen
    # numbers, where numpy's per-call cost would be most of the work
    share = [[0.0] * len(MATERIALS) for _ in origins]
    spare = [[0.0] * len(MATERIALS) for _ in origins]
    # an origin's spare capacity is for its material group as a whole: split it over the group's
    # materials (by base-year grade mix for alloys and magnets, by Dy:Tb content for heavy rare
    # earths) so that two grades never both get the full amount
    yl = years.tolist()
    b = yl.index(base) if base in yl else 0
    mix = s.trade.spare_grade_mix  # what other origins' makers could spare, by grade
    grade_w = {
        "bare": [mix.get(g, 0.0) for g in GRADES]
        if mix is not None
        else (bare[b].sum(axis=0) / max(bare[b].sum(), 1e-12)).tolist(),
        "emb": (emb[b].sum(axis=0) / max(emb[b].sum(), 1e-12)).tolist(),
    }
    # separated products sharing a group (Dy and Tb: 'heavy') split it by their content, summed
    # over grade classes
    summed = gc.sum(axis=0)
    content = {p: _content(summed, ei, sep.elements) for p, sep in model.separated.items()}

    def spare_weight(mat, peers) -> float:
        if mat.grade is not None:
            w = grade_w["emb" if mat.kind == "embedded" else "bare"]
            return w[GRADES.index(mat.grade)]
        if len(peers) == 1:
            return 1.0
        total = sum(content[p] for p in peers)
        weights = [content[p] / total if total > 0 else 1.0 / len(peers) for p in peers]
        weights[-1] = 1 - sum(weights[:-1])  # the shares add up to exactly 1
        return weights[peers.index(mat.name.removesuffix(f"_{mat.kind}"))]

    for group, (cols, mats, peer_lists) in _groups(model).items():
        for o, v in s.trade.shares.get(group, {}).items():
            row = share[row_of[o]]
            for col in cols:
                row[col] = v
        spares = s.trade.spare.get(group, {})
        if spares:
            weights = [
                spare_weight(mat, peers) for mat, peers in zip(mats, peer_lists, strict=True)
            ]
            for o, v in spares.items():
                row = spare[row_of[o]]
                for col, w in zip(cols, weights, strict=True):
                    row[col] = v * w
    shape = (len(origins), len(MATERIALS))
    share = np.array(share, dtype=float).reshape(shape)
    spare = np.array(spare, dtype=float).reshape(shape)
    if s.trade.share_paths:
        share = _shares_on_paths(s, model, years, share, row_of)

    return dict(origins=origins, share=share, spare=spare)


def path_origins(path: dict, origins) -> list[str]:
    """The origins a group's year path names at any of its years, in trade.origins' order."""
    named = {o for by_origin in path.values() for o in by_origin}
    return [o for o in origins if o in named]


def _shares_on_paths(s: Scenario, model: ModelDefinition, years, share, row_of) -> np.ndarray:
    """year × origin × material: the flat shares every year, a group with a year path its
    origins' shares read along it (`interp_path`: linear between its years, flat beyond; an
    origin a year does not name has 0 there)."""
    out = np.repeat(share[None], len(years), axis=0)
    groups = _groups(model)
    for group, path in s.trade.share_paths.items():
        cols = groups[group][0]
        for o in path_origins(path, s.trade.origins):
            along = interp_path({y: by.get(o, 0.0) for y, by in path.items()}, years)
            out[:, row_of[o], cols] = along[:, None]
    return out


@per_definition
def _groups(model: ModelDefinition) -> dict[str, tuple[list[int], list, list[list[str]]]]:
    """Trade group → its materials (in the definition's order): their columns, the materials,
    and for a separated material the products sharing its group in that form (its peers)."""
    mi = {m: i for i, m in enumerate(model.material_names)}
    out: dict[str, tuple[list[int], list, list[list[str]]]] = {}
    for mat in model.materials:
        peers = [
            p for p in model.separated if f"{p}_{mat.kind}" in mi
            and model.material_group[f"{p}_{mat.kind}"] == mat.trade_group
        ]  # fmt: skip
        cols, mats, peer_lists = out.setdefault(mat.trade_group, ([], [], []))
        cols.append(mi[mat.name])
        mats.append(mat)
        peer_lists.append(peers)
    return out
