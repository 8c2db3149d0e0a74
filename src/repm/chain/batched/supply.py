"""`repm.chain.supply`'s yields, capacity and trade for a block of parameter samples: the
units, origins and material groups are structure (the template's); capacities, ramp-ups,
shares, spare capacity and the base-year grade mixes are (S, …) arrays."""

from __future__ import annotations

import numpy as np

from repm.chain.batched.exact import Failures, interp, py_max, py_sum
from repm.chain.rules import magnet_stage_yields, ramp_share
from repm.chain.supply import _groups, path_origins, recovery_error, recovery_exceeds_content
from repm.model import ModelDefinition
from repm.scenario.samples import SampleBlock
from repm.scenario.schema import FEEDS

YIELDS_SHARED = ()


def yields_block(b: SampleBlock) -> dict[str, np.ndarray]:
    """`yields()` for each sample: name → (S,); raises the lowest sample's UserError where its
    REO recovery exceeds the monazite's content."""
    y = ("supply", "yields")
    ylds = {k: b.get((*y, k)) for k in type(b.template.supply.yields).model_fields}
    a2m, ret = magnet_stage_yields(ylds["sintering"], ylds["machining"], ylds["swarf_return"])
    ylds = {**ylds, "alloy_making": ylds["strip_casting"], "alloy_to_magnet": a2m,
            "scrap_return": ret}  # fmt: skip
    cracked = ylds["cracking_reo_per_t_monazite"]
    reo = b.get(("supply", "monazite", "reo_fraction"))
    fails = Failures(b.n)
    fails.check(
        recovery_exceeds_content(cracked, reo), lambda i: recovery_error(cracked[i], reo[i])
    )
    fails.raise_first()
    return ylds


CAPACITY_SHARED = ("unit_names",)


def _per_unit(b: SampleBlock, n: int, field: str) -> np.ndarray:
    """(S, unit): each unit's `field`."""
    got = [b.get(("supply", "units", ui, field)) for ui in range(n)]
    return np.stack(got, axis=1) if got else np.zeros((b.n, 0))


def capacity_block(b: SampleBlock, years: np.ndarray) -> dict:
    """`capacity()` for each sample: plate, eff (S, year, unit), cap (S, year, feed); unit_names
    shared."""
    units = b.template.supply.units
    first = np.empty((b.n, len(units)))
    for ui, u in enumerate(units):  # `Unit.first_year`: int() of the year, as a float
        p = ("supply", "units", ui)
        if u.start_year is not None:
            first[:, ui] = np.trunc(b.get((*p, "start_year")))
        else:
            first[:, ui] = np.trunc(b.get((*p, "award_year")) + b.get((*p, "gestation_years")))
    size, ramp = (_per_unit(b, len(units), k) for k in ("capacity", "rampup_years"))
    first, size, ramp = (np.reshape(x, (b.n, 1, len(units))) for x in (first, size, ramp))
    col = years[None, :, None]
    plate = np.where(col >= first, size, 0.0)
    eff = size * ramp_share(col, first, ramp)
    cap = np.zeros((b.n, len(years), len(FEEDS)))
    for ui, u in enumerate(units):  # added unit by unit, in order
        cap[:, :, FEEDS.index(u.feed)] += eff[:, :, ui]
    return dict(unit_names=[u.name for u in units], plate=plate, eff=eff, cap=cap)


TRADE_SHARED = ("origins",)


def _column_sums(x: np.ndarray) -> list[np.ndarray]:
    """x (S, row, col): each sample's `x.sum(axis=0)`, by column — rows added in order (numpy
    reduces an outer axis row by row)."""
    acc = x[:, 0].copy()
    for r in range(1, x.shape[1]):
        acc = acc + x[:, r]
    return list(acc.T)


def _base_mix(x: np.ndarray) -> list[np.ndarray]:
    """`(x.sum(axis=0) / max(x.sum(), 1e-12)).tolist()` for each sample of x (S, sector, grade):
    the whole sum over each sample's contiguous block, as numpy sums it (pairwise)."""
    total = py_max(np.ascontiguousarray(x).reshape(len(x), -1).sum(axis=1), 1e-12)
    return [c / total for c in _column_sums(x)]


def trade_block(b: SampleBlock, model: ModelDefinition, years, base, bare, emb, gc, ei, mi) -> dict:
    """`trade()` for each sample: share (S, origin, material), or (S, year, origin, material)
    where a group follows a year path, and spare (S, origin, material); origins shared. bare,
    emb: (S, year, sector, grade); gc: (S, grade, element)."""
    s, GRADES, MATERIALS = b.template, model.grade_names, model.material_names
    origins = tuple(s.trade.origins)
    row_of = {o: i for i, o in enumerate(origins)}
    share = np.zeros((b.n, len(origins), len(MATERIALS)))
    spare = np.zeros((b.n, len(origins), len(MATERIALS)))
    yl = years.tolist()
    at = yl.index(base) if base in yl else 0
    mix = s.trade.spare_grade_mix
    zero = np.zeros(b.n)
    grade_w = {
        "bare": [b.get(("trade", "spare_grade_mix", g)) if g in mix else zero for g in GRADES]
        if mix is not None
        else _base_mix(bare[:, at]),
        "emb": _base_mix(emb[:, at]),
    }
    summed = np.stack(_column_sums(gc), axis=1)  # gc.sum(axis=0): (S, element)
    content = {}
    for p, sep in model.separated.items():  # `_content`: 0.0 + each element, in element order
        total = np.zeros(b.n)
        for e in sorted(sep.elements, key=ei.__getitem__):
            total = total + summed[:, ei[e]]
        content[p] = total

    def spare_weight(mat, peers):
        if mat.grade is not None:
            return grade_w["emb" if mat.kind == "embedded" else "bare"][GRADES.index(mat.grade)]
        if len(peers) == 1:
            return 1.0
        total = py_sum([content[p] for p in peers])
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = [np.where(total > 0, content[p] / total, 1.0 / len(peers)) for p in peers]
        weights[-1] = 1 - py_sum(weights[:-1])  # the shares add up to exactly 1
        return weights[peers.index(mat.name.removesuffix(f"_{mat.kind}"))]

    for group, (cols, mats, peer_lists) in _groups(model).items():
        for o in s.trade.shares.get(group, {}):
            share[:, row_of[o], cols] = b.get(("trade", "shares", group, o))[:, None]
        spares = s.trade.spare.get(group, {})
        if spares:
            weights = [
                spare_weight(mat, peers) for mat, peers in zip(mats, peer_lists, strict=True)
            ]
            for o in spares:
                v = b.get(("trade", "spare", group, o))
                for col, w in zip(cols, weights, strict=True):
                    spare[:, row_of[o], col] = v * w
    if s.trade.share_paths:
        share = _shares_on_paths(b, model, years, share, row_of)
    return dict(origins=origins, share=share, spare=spare)


def _shares_on_paths(
    b: SampleBlock, model: ModelDefinition, years, share: np.ndarray, row_of: dict
) -> np.ndarray:
    """`supply._shares_on_paths` for each sample: (S, year, origin, material). A path's years
    and the origins each names are structure; the shares are the samples' (S, year) arrays,
    read along it by numpy's interp formula (`exact.interp`)."""
    s = b.template
    out = np.repeat(share[:, None], len(years), axis=1)
    groups = _groups(model)
    zero = np.zeros(b.n)
    for group, path in s.trade.share_paths.items():
        cols = groups[group][0]
        xs = sorted(path)
        p = ("trade", "share_paths", group)
        for o in path_origins(path, s.trade.origins):
            fp = np.stack([b.get((*p, y, o)) if o in path[y] else zero for y in xs], axis=1)
            along = interp([float(y) for y in xs], fp, np.asarray(years, dtype=float))
            out[:, :, row_of[o], cols] = along[:, :, None]
    return out
