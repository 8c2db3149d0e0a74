"""Composition: each grade's elements, each material's, and the recipe of a tonne of fresh alloy
by feed route (oxide, metal or alloy), from the scenario's grades, yields and stoichiometry."""

from __future__ import annotations

import numpy as np

from repm.errors import UserError
from repm.model import ModelDefinition
from repm.model.chemistry import Chemistry
from repm.scenario.schema import FEEDS, Scenario


def composition(s: Scenario, model: ModelDefinition, chem: Chemistry) -> dict:
    """grade × element and material × element contents (kg/kg), and each product's oxide per
    metal."""
    GRADES, MATERIALS, ELEMENTS = model.grade_names, model.material_names, model.element_names
    # composition: a grade's content of each separated product (kg/kg), split into its elements
    ei = {e: i for i, e in enumerate(ELEMENTS)}
    gc = np.zeros((len(GRADES), len(ELEMENTS)))
    for gi, g in enumerate(GRADES):
        gr = grade_content(s, g)
        for p, sep in model.separated.items():
            for e, share in _element_shares(chem, sep.elements).items():
                gc[gi, ei[e]] = gr[p] * share if len(sep.elements) > 1 else gr[p]
    mc = np.zeros((len(MATERIALS), len(ELEMENTS)))
    mi = {m: i for i, m in enumerate(MATERIALS)}
    f_ox = {p: _oxide_per_metal(chem, sep.elements) for p, sep in model.separated.items()}
    for p, sep in model.separated.items():
        for e, share in _element_shares(chem, sep.elements).items():
            mc[mi[f"{p}_oxide"], ei[e]] = share / f_ox[p]
            mc[mi[f"{p}_metal"], ei[e]] = share
    for gi, g in enumerate(GRADES):
        for kind in model.grade_forms:
            mc[mi[model.form(kind, g)]] = gc[gi]

    return dict(gc=gc, mc=mc, ei=ei, mi=mi, f_ox=f_ox)


def grade_content(s: Scenario, grade: str) -> dict[str, float]:
    """A grade's content of each separated product (kg/kg), after the Tb-for-Dy lever: `share`
    of its Dy replaced by `ratio` × as much Tb."""
    gr = s.supply.grades[grade].model_dump()
    sub = s.supply.tb_for_dy
    if sub is not None and sub.share > 0:
        moved = gr["dy"] * sub.share
        gr["dy"] = gr["dy"] - moved
        gr["tb"] = gr["tb"] + moved * sub.ratio
    return gr


def recipe(s: Scenario, model: ModelDefinition, gc, ei, mi, f_ox) -> np.ndarray:
    """feed × grade × material: t of each material per t of fresh alloy."""
    GRADES, MATERIALS = model.grade_names, model.material_names
    y = s.supply.yields
    # recipe: t of material per t of fresh alloy, by feed route and grade
    recipe = np.zeros((len(FEEDS), len(GRADES), len(MATERIALS)))
    products = list(model.separated)
    for gi, g in enumerate(GRADES):
        content = [_content(gc[gi], ei, model.separated[p].elements) for p in products]
        metal = np.array(content) / y.strip_casting
        recipe[FEEDS.index("alloy"), gi, mi[model.form("alloy", g)]] = 1.0
        recipe[FEEDS.index("metal"), gi, [mi[f"{p}_metal"] for p in products]] = metal
        recipe[FEEDS.index("oxide"), gi, [mi[f"{p}_oxide"] for p in products]] = (
            metal / y.oxide_to_metal * np.array([f_ox[p] for p in products])
        )

    return recipe


def _element_shares(chem: Chemistry, elements) -> dict[str, float]:
    """Each element's share by mass of a separated product (NdPr at the model's Nd:Pr split)."""
    if len(elements) == 1:
        return {elements[0]: 1.0}
    if set(elements) == {"Nd", "Pr"}:
        return chem.ndpr_split()
    raise UserError(f"no composition rule for a product of {'+'.join(elements)}", where="model")


def _oxide_per_metal(chem: Chemistry, elements) -> float:
    """kg of the product's oxide per kg of its metal."""
    if set(elements) == {"Nd", "Pr"}:
        return chem.ndpr_oxide_per_metal
    return chem.oxide_per_metal(elements[0])


def _content(row: np.ndarray, ei: dict[str, int], elements) -> float:
    """kg of a separated product per kg, from its elements' contents (summed in element order)."""
    total = 0.0
    for e in sorted(elements, key=ei.__getitem__):
        total = total + row[ei[e]]
    return float(total)
