"""Prices: oxide price paths by year and each grade's magnet price derived from them.

A magnet's price is the cost of its rare-earth oxides at the year's prices (the oxide route's
recipe: kg of each oxide per kg of magnet), plus other materials, plus the grade's conversion
margin (`rules.magnet_price`). Outside China the oxides cost what India's buyers pay; China's
makers pay China's domestic prices, which sets the price of a Chinese magnet of the same grade.
"""

from __future__ import annotations

import numpy as np

from repm.chain.rules import interp_path, magnet_price
from repm.model import ModelDefinition
from repm.scenario.schema import Scenario


def prices(
    s: Scenario, model: ModelDefinition, years: np.ndarray, oxide_per_kg: np.ndarray
) -> dict:
    """oxide (year × material, INR/kg; zero for what is not an oxide) outside China and in
    China, and magnet prices (year × grade, INR/kg) on each basis. oxide_per_kg: grade ×
    material, kg per kg of magnet."""
    e = s.economics
    conversion = np.array([e.magnet_cost.conversion[g] for g in model.grade_names])
    out = {}
    for key, paths in (("", e.oxide_prices), ("_china", e.china_oxide_prices)):
        ox = np.zeros((len(years), len(model.material_names)))
        for m, path in paths.items():
            ox[:, model.material_names.index(m)] = interp_path(path, years)
        out[f"oxide{key}"] = ox
        out[f"magnet{key}"] = magnet_price(
            oxide_per_kg, ox, e.magnet_cost.other_materials, conversion
        )
    # the basket's co-products: a rare earth's oxide, trisodium phosphate
    out["coproducts"] = list(e.coproduct_prices)
    out["coproduct"] = (
        np.stack([interp_path(p, years) for p in e.coproduct_prices.values()], axis=1)
        if e.coproduct_prices
        else np.zeros((len(years), 0))
    )
    return out
