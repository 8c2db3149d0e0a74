"""Composition: each grade's elements, each material's, and the recipe of a tonne of fresh alloy
by feed route (oxide, metal or alloy), from the scenario's grades, yields and stoichiometry."""

from __future__ import annotations

import numpy as np

from repm.chain.memo import per_definition
from repm.errors import UserError
from repm.model import ModelDefinition
from repm.model.chemistry import Chemistry
from repm.scenario.schema import FEEDS, Scenario


def composition(s: Scenario, model: ModelDefinition, chem: Chemistry) -> dict:
    """grade × element and material × element contents (kg/kg), and each product's oxide per
    metal."""
    GRADES, ELEMENTS = model.grade_names, model.element_names
    lay, st = _layout(model), _stoichiometry(model, chem)
    ei, mi, shares, f_ox = lay["ei"], lay["mi"], st["shares"], st["f_ox"]
    # composition: a grade's content of each separated product (kg/kg), split into its elements
    gc = np.zeros((len(GRADES), len(ELEMENTS)))
    for gi, g in enumerate(GRADES):
        gr = grade_content(s, g)
        for p, sep in model.separated.items():
            for e, share in shares[p].items():
                gc[gi, ei[e]] = gr[p] * share if len(sep.elements) > 1 else gr[p]
    mc = st["mc"].copy()  # the separated products' rows; the grades' rows are their contents
    mc[lay["grade_form_rows"]] = gc[lay["grade_of_form_row"]]

    return dict(gc=gc, mc=mc, ei=ei, mi=mi, f_ox=dict(f_ox))


@per_definition
def _layout(model: ModelDefinition) -> dict:
    """The definition's index tables: element and material → index; the rows of the grades'
    alloys, magnets and embedded magnets in the material table, with each one's grade."""
    mi = {m: i for i, m in enumerate(model.material_names)}
    forms = [(mi[model.form(kind, g)], gi) for gi, g in enumerate(model.grade_names)
             for kind in model.grade_forms]  # fmt: skip
    products = list(model.separated)
    return dict(
        ei={e: i for i, e in enumerate(model.element_names)}, mi=mi, products=products,
        grade_form_rows=[r for r, _ in forms], grade_of_form_row=[gi for _, gi in forms],
        alloy_of_grade=[mi[model.form("alloy", g)] for g in model.grade_names],
        metal_cols=[mi[f"{p}_metal"] for p in products],
        oxide_cols=[mi[f"{p}_oxide"] for p in products],
    )  # fmt: skip


@per_definition
def _stoichiometry(model: ModelDefinition, chem: Chemistry) -> dict:
    """Each separated product's element shares and oxide per metal, and the material × element
    rows of its oxide and metal forms: from the chemistry alone."""
    lay = _layout(model)
    ei, mi = lay["ei"], lay["mi"]
    shares = {p: _element_shares(chem, sep.elements) for p, sep in model.separated.items()}
    f_ox = {p: _oxide_per_metal(chem, sep.elements) for p, sep in model.separated.items()}
    mc = np.zeros((len(model.material_names), len(model.element_names)))
    for p in model.separated:
        for e, share in shares[p].items():
            mc[mi[f"{p}_oxide"], ei[e]] = share / f_ox[p]
            mc[mi[f"{p}_metal"], ei[e]] = share
    mc.flags.writeable = False
    return dict(shares=shares, f_ox=f_ox, mc=mc)


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
    lay = _layout(model)
    products = lay["products"]
    # recipe: t of material per t of fresh alloy, by feed route and grade
    recipe = np.zeros((len(FEEDS), len(GRADES), len(MATERIALS)))
    # grade × product: `_content` of each grade's row, every grade at once (the same sums)
    content = np.stack([_contents(gc, ei, model.separated[p].elements) for p in products], axis=1)
    metal = content / y.strip_casting
    rows = np.arange(len(GRADES))
    recipe[FEEDS.index("alloy"), rows, lay["alloy_of_grade"]] = 1.0
    recipe[FEEDS.index("metal")][:, lay["metal_cols"]] = metal
    recipe[FEEDS.index("oxide")][:, lay["oxide_cols"]] = (
        metal / y.oxide_to_metal * np.array([f_ox[p] for p in products])
    )

    return recipe


def _element_shares(chem: Chemistry, elements) -> dict[str, float]:
    """Each element's share by mass of a separated product (NdPr at the model's Nd:Pr split)."""
    if composition_rule(elements) == "one":
        return {elements[0]: 1.0}
    return chem.ndpr_split()


def composition_rule(elements) -> str:
    """How a separated product's elements are split: 'one' (a single element) or 'ndpr' (Nd
    and Pr at the Nd:Pr split); a UserError for any other product. One rule for this module and
    the batched one (repm.chain.batched.composition): structure, the same for every sample."""
    if len(elements) == 1:
        return "one"
    if set(elements) == {"Nd", "Pr"}:
        return "ndpr"
    raise UserError(f"no composition rule for a product of {'+'.join(elements)}", where="model")


def _oxide_per_metal(chem: Chemistry, elements) -> float:
    """kg of the product's oxide per kg of its metal."""
    if composition_rule(elements) == "ndpr":
        return chem.ndpr_oxide_per_metal
    return chem.oxide_per_metal(elements[0])


def _contents(rows: np.ndarray, ei: dict[str, int], elements) -> np.ndarray:
    """`_content` of each row of `rows` (… × element): the same sums, in the same order."""
    total = np.zeros(rows.shape[:-1])
    for e in sorted(elements, key=ei.__getitem__):
        total = total + rows[..., ei[e]]
    return total


def _content(row: np.ndarray, ei: dict[str, int], elements) -> float:
    """kg of a separated product per kg, from its elements' contents (summed in element order)."""
    total = 0.0
    for e in sorted(elements, key=ei.__getitem__):
        total = total + row[ei[e]]
    return float(total)
