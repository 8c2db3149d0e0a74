"""`repm.chain.composition`'s composition and recipe for a block of parameter samples: the
chemistry is per sample (the Nd:Pr split, `supply.pr_share_of_ndpr`, may be drawn), so each
product's element shares and oxide per metal are (S,) arrays; the atomic weights are the fact
table's, the same for every sample."""

from __future__ import annotations

import numpy as np

from repm.chain.compile import _chemistry
from repm.chain.composition import _contents, _layout, composition_rule
from repm.model import ModelDefinition
from repm.model.facts import load_facts
from repm.scenario.samples import SampleBlock
from repm.scenario.schema import FEEDS

COMPOSITION_SHARED = ("ei", "mi")  # index tables: structure, returned once


def pr_share(b: SampleBlock) -> np.ndarray:
    """(S,): each sample's Pr share of NdPr, as `chemistry_of` gives it (the fact table's when
    the scenario sets none)."""
    if b.template.supply.pr_share_of_ndpr is None:
        return np.full(b.n, _chemistry(load_facts()).pr_share)
    return b.get(("supply", "pr_share_of_ndpr"))


def stoichiometry(b: SampleBlock, model: ModelDefinition) -> tuple[dict, dict]:
    """`_stoichiometry`'s shares (product → element → (S,)) and f_ox (product → (S,)), each
    sample at its own Nd:Pr split."""
    chem, pr = _chemistry(load_facts()), pr_share(b)
    shares, f_ox = {}, {}
    for p, sep in model.separated.items():
        els = sep.elements
        if composition_rule(els) == "one":
            shares[p] = {els[0]: np.ones(b.n)}
        else:
            shares[p] = {"Nd": 1 - pr, "Pr": pr}  # chem.ndpr_split()
    for p, sep in model.separated.items():
        if composition_rule(sep.elements) == "ndpr":  # chem.ndpr_oxide_per_metal
            f_ox[p] = (1 - pr) * chem.oxide_per_metal("Nd") + pr * chem.oxide_per_metal("Pr")
        else:
            f_ox[p] = np.full(b.n, chem.oxide_per_metal(sep.elements[0]))
    return shares, f_ox


def grade_content(b: SampleBlock, grade: str) -> dict[str, np.ndarray]:
    """`composition.grade_content` for each sample: product → (S,), after the Tb-for-Dy lever
    (applied where the sample's share > 0, as its own `if` does)."""
    g = ("supply", "grades", grade)
    gr = {k: b.get((*g, k)) for k in type(b.template.supply.grades[grade]).model_fields}
    if b.template.supply.tb_for_dy is not None:
        share = b.get(("supply", "tb_for_dy", "share"))
        ratio = b.get(("supply", "tb_for_dy", "ratio"))
        on = share > 0
        moved = gr["dy"] * share
        gr["dy"] = np.where(on, gr["dy"] - moved, gr["dy"])
        gr["tb"] = np.where(on, gr["tb"] + moved * ratio, gr["tb"])
    return gr


def composition_block(b: SampleBlock, model: ModelDefinition) -> dict:
    """`composition()` for each sample: gc (S, grade, element), mc (S, material, element),
    f_ox product → (S,); ei, mi shared (COMPOSITION_SHARED)."""
    GRADES, ELEMENTS, MATERIALS = model.grade_names, model.element_names, model.material_names
    lay = _layout(model)
    ei, mi = lay["ei"], lay["mi"]
    shares, f_ox = stoichiometry(b, model)
    gc = np.zeros((b.n, len(GRADES), len(ELEMENTS)))
    for gi, g in enumerate(GRADES):
        gr = grade_content(b, g)
        for p, sep in model.separated.items():
            for e, share in shares[p].items():
                gc[:, gi, ei[e]] = gr[p] * share if len(sep.elements) > 1 else gr[p]
    mc = np.zeros((b.n, len(MATERIALS), len(ELEMENTS)))  # `_stoichiometry`'s rows, per sample
    for p in model.separated:
        for e, share in shares[p].items():
            mc[:, mi[f"{p}_oxide"], ei[e]] = share / f_ox[p]
            mc[:, mi[f"{p}_metal"], ei[e]] = share
    mc[:, lay["grade_form_rows"]] = gc[:, lay["grade_of_form_row"]]
    return dict(gc=gc, mc=mc, ei=ei, mi=mi, f_ox=f_ox)


RECIPE_SHARED = ()


def recipe_block(b: SampleBlock, model: ModelDefinition, gc, ei, mi, f_ox) -> np.ndarray:
    """`recipe()` for each sample: (S, feed, grade, material). gc: (S, grade, element); f_ox:
    product → (S,)."""
    GRADES, MATERIALS = model.grade_names, model.material_names
    y = ("supply", "yields")
    lay = _layout(model)
    products = lay["products"]
    recipe = np.zeros((b.n, len(FEEDS), len(GRADES), len(MATERIALS)))
    content = np.stack([_contents(gc, ei, model.separated[p].elements) for p in products], axis=2)
    metal = content / b.get((*y, "strip_casting"))[:, None, None]
    rows = np.arange(len(GRADES))
    recipe[:, FEEDS.index("alloy"), rows, lay["alloy_of_grade"]] = 1.0
    recipe[:, FEEDS.index("metal"), :, lay["metal_cols"]] = np.moveaxis(metal, 2, 0)
    per_metal = np.stack([f_ox[p] for p in products], axis=1)[:, None, :]
    oxide = metal / b.get((*y, "oxide_to_metal"))[:, None, None] * per_metal
    recipe[:, FEEDS.index("oxide"), :, lay["oxide_cols"]] = np.moveaxis(oxide, 2, 0)
    return recipe
