"""`repm.chain.prices.prices` for a block of parameter samples: each price path's years are
structure, its prices (S, point) arrays, read off by numpy's interp formula (`exact.interp`);
magnet prices by the same matrix product per sample (a stack of matmuls calls the per-sample
one's BLAS routine on each pair)."""

from __future__ import annotations

import numpy as np

from repm.chain.batched.exact import interp
from repm.model import ModelDefinition
from repm.scenario.samples import SampleBlock, at

PRICES_SHARED = ("coproducts",)


def path_block(b: SampleBlock, path: tuple, years: np.ndarray) -> np.ndarray:
    """`interp_path` of the path at `path` (year → price) for each sample: (S, year)."""
    xs = sorted(at(b.template, path))
    fp = np.stack([b.get((*path, x)) for x in xs], axis=1)
    return interp([float(x) for x in xs], fp, np.asarray(years, dtype=float))


def prices_block(
    b: SampleBlock, model: ModelDefinition, years: np.ndarray, oxide_per_kg: np.ndarray
) -> dict:
    """`prices()` for each sample: oxide, oxide_china (S, year, material), magnet, magnet_china
    (S, year, grade), coproduct (S, year, product); coproducts shared. oxide_per_kg: (S, grade,
    material)."""
    e, ec = b.template.economics, ("economics",)
    conversion = np.stack(
        [b.get((*ec, "magnet_cost", "conversion", g)) for g in model.grade_names], axis=1
    )
    other = b.get((*ec, "magnet_cost", "other_materials"))
    # each sample's oxide_per_kg.T as the per-sample call has it: a transposed C-ordered array
    # (its layout picks the BLAS call)
    per_kg_t = np.swapaxes(np.ascontiguousarray(oxide_per_kg), 1, 2)
    out = {}
    for key, field in (("", "oxide_prices"), ("_china", "china_oxide_prices")):
        ox = np.zeros((b.n, len(years), len(model.material_names)))
        for m in getattr(e, field):
            ox[:, :, model.material_names.index(m)] = path_block(b, (*ec, field, m), years)
        out[f"oxide{key}"] = ox
        # rules.magnet_price: oxide_price @ oxide_per_kg.T + other_materials + conversion
        out[f"magnet{key}"] = (
            np.matmul(ox, per_kg_t) + other[:, None, None] + conversion[:, None, :]
        )
    out["coproducts"] = list(e.coproduct_prices)
    out["coproduct"] = (
        np.stack(
            [path_block(b, (*ec, "coproduct_prices", p), years) for p in e.coproduct_prices],
            axis=2,
        )
        if e.coproduct_prices
        else np.zeros((b.n, len(years), 0))
    )
    return out
