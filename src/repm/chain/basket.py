"""Monazite's whole basket, from the mine to a destination (issue 13).

How much monazite is cracked each year, and where every element of it goes: NdPr oxide to the
magnet chain; La, Ce, Sm, Gd, Y separated and sold in India; Dy, Tb and the other heavy rare
earths held by IREL as a concentrate; mixed rare-earth chloride shipped abroad while exports are
allowed (the Japan agreement, stopped by routes.export_retention) or held; thorium, uranium and
what cracking does not recover to the residue; phosphorus sold as trisodium phosphate.

The ledger is draw-independent (no shock in the risk model reaches India's own mining), in t of
element per year, over the model's upstream flows. The engine books its own elements' rows of it
(`Chain.basket`), so one rule decides the upstream for both.

Cracking rule: monazite cracked = max(the calibrated path, what IREL's planned NdPr output
needs), within mining and cracking capacity and the co-product market (a capped element's oxide
leaving cracking ≤ its cap). NdPr oxide out = min(planned path, separation capacity, what the
cracked monazite holds × SX recovery).
"""

from __future__ import annotations

import numpy as np

from repm.chain.memo import per_definition
from repm.chain.rules import interp_path
from repm.errors import MassBalanceError
from repm.model import ModelDefinition
from repm.model.chemistry import Chemistry
from repm.scenario.schema import Scenario

# the upstream flows of the model definition, in the ledger's order
FLOWS = (
    "extraction", "monazite", "concentrate", "cracking_residue", "chloride_exports",
    "chloride_stocked", "phosphate", "oxide_domestic", "sx_loss", "coproducts_sold",
    "coproducts_stocked",
)  # fmt: skip
# process: (flows in, flows out) — the balances checked element by element
BALANCES = {
    "cracking": (("monazite",), ("concentrate", "cracking_residue", "chloride_exports",
                                 "chloride_stocked", "phosphate")),
    "separation": (("concentrate",), ("oxide_domestic", "sx_loss", "coproducts_sold",
                                      "coproducts_stocked")),
}  # fmt: skip
TOLERANCE_T = 1e-6
# t of monazite within which the plan counts as met (the year's figure: the path's or the plan's)
CRACKED_MARGIN = 1e-9


def element_of(formula: dict[str, float]) -> str:
    """The element an oxide formula counts ({'La': 2, 'O': 3} → 'La')."""
    return next(e for e in formula if e != "O")


def contents(s: Scenario, model: ModelDefinition, chem: Chemistry) -> dict[str, np.ndarray]:
    """Per t of monazite, by basket element: `element` t of the element; `oxide` t of it in
    the form it is counted in (REO, ThO2, U3O8, P2O5); `per_oxide` t element per t oxide."""
    mz = s.supply.monazite
    oxide = np.zeros(len(model.basket))
    per_oxide = _per_oxide(model, chem).copy()
    for i, (e, b) in enumerate(model.basket.items()):
        if b.kind == "rare_earth":
            oxide[i] = mz.reo_fraction * mz.re_distribution[e]
        elif e == "Th":
            oxide[i] = mz.tho2_fraction
        elif e == "U":
            oxide[i] = s.environment.u3o8_fraction
        elif b.kind == "phosphate":
            oxide[i] = mz.p2o5_fraction
    return {"oxide": oxide, "per_oxide": per_oxide, "element": oxide * per_oxide}


@per_definition
def _layout(
    model: ModelDefinition,
) -> tuple[dict[str, int], tuple[str, ...], np.ndarray, int | None]:
    """Basket element → index, the rare earths, which elements are rare earths, the index of
    phosphorus (None: none in the basket)."""
    names = model.basket_names
    bi = {e: i for i, e in enumerate(names)}
    rare = model.basket_kind("rare_earth")
    is_re = np.array([e in rare for e in names])
    is_re.flags.writeable = False
    p = bi[model.basket_kind("phosphate")[0]] if model.basket_kind("phosphate") else None
    return bi, rare, is_re, p


@per_definition
def _per_oxide(model: ModelDefinition, chem: Chemistry) -> np.ndarray:
    """t element per t of the oxide each basket element is counted in: stoichiometry alone."""
    out = np.array(
        [chem.mass_fraction(b.oxide, element_of(b.oxide)) for b in model.basket.values()]
    )
    out.flags.writeable = False
    return out


def basket(
    s: Scenario, model: ModelDefinition, chem: Chemistry, years: np.ndarray,
    ndpr_elements: tuple[str, ...], retention: np.ndarray,
) -> dict:  # fmt: skip
    """The basket ledger by year × flow × basket element (t element/yr), with the monazite
    cracked, what limited it, the NdPr oxide separated and the co-products' oxide tonnes.

    `ndpr_elements`: the elements of the NdPr product; `retention`: share of IREL's unexported
    material kept in India, by year (stops chloride exports too)."""
    mz, y, co = s.supply.monazite, s.supply.yields, s.supply.coproducts
    names = model.basket_names
    bi, rare, is_re, p = _layout(model)
    ct = contents(s, model, chem)
    crack_rec = y.cracking_reo_per_t_monazite / mz.reo_fraction  # of each rare earth
    ndpr_per_t = y.cracking_reo_per_t_monazite * mz.ndpr_share_of_reo * y.sx_recovery

    # how much is cracked, and what limits it
    sep = s.supply.separation
    planned = interp_path(sep.output, years)
    limits = {
        "path": interp_path(mz.processed, years),
        "mining": np.full(len(years), float(s.supply.mining_capacity)),
        "cracking": np.full(len(years), float(s.supply.cracking_capacity)),
        "market": np.full(len(years), np.inf),
    }
    for e, cap in co.market_cap.items():
        per_t = y.cracking_reo_per_t_monazite * mz.re_distribution[e]  # t of e's oxide out
        limits["market"] = np.minimum(limits["market"], cap / per_t if per_t > 0 else np.inf)
    want = np.maximum(limits["path"], planned / ndpr_per_t)
    # what np.minimum.reduce of the stacked limits gives, without stacking them
    cracked = np.minimum(
        np.minimum(np.minimum(want, limits["mining"]), limits["cracking"]), limits["market"]
    )
    sep_out = np.minimum(np.minimum(planned, float(sep.capacity)), cracked * ndpr_per_t)
    # what decided each year's figure: the path or the NdPr plan, else the binding limit
    caps = np.stack([limits["mining"], limits["cracking"], limits["market"]])
    bound = np.where(
        cracked >= want - CRACKED_MARGIN,
        np.where(limits["path"] >= planned / ndpr_per_t, "path", "ndpr plan"),
        np.array(["mining", "cracking", "market"])[np.argmin(caps, axis=0)],
    )

    # cracking: rare earths to the chloride at crack_rec, Th and U to the residue, P to phosphate
    Y, E = len(years), len(names)
    flows = {f: np.zeros((Y, E)) for f in FLOWS}
    mined = cracked[:, None] * ct["element"][None]
    flows["extraction"] = mined
    flows["monazite"] = mined.copy()
    chloride = np.where(is_re[None], mined * crack_rec, 0.0)
    if p is not None:
        flows["phosphate"][:, p] = mined[:, p] * y.phosphate_recovery
    # separation is fed what the NdPr output needs; the rest of the chloride is exported or held
    sep_reo = sep_out / (mz.ndpr_share_of_reo * y.sx_recovery)  # t REO fed to separation
    reo = cracked * y.cracking_reo_per_t_monazite
    to_sep = np.divide(sep_reo, reo, out=np.zeros(Y), where=reo > 0)
    exported = np.minimum(1 - to_sep, co.chloride_export_share * (1 - retention))
    flows["concentrate"] = chloride * to_sep[:, None]
    flows["chloride_exports"] = chloride * exported[:, None]
    flows["chloride_stocked"] = chloride - flows["concentrate"] - flows["chloride_exports"]
    flows["cracking_residue"] = mined - chloride - flows["phosphate"]
    # separation: NdPr oxide from the monazite's own Nd and Pr; co-products sold or held
    feed = flows["concentrate"]
    ndpr = [bi[e] for e in ndpr_elements]  # each group's columns at once
    sold = [bi[e] for e in rare if e not in ndpr_elements and e in co.sold]
    held = [bi[e] for e in rare if e not in ndpr_elements and e not in co.sold]
    flows["oxide_domestic"][:, ndpr] = feed[:, ndpr] * y.sx_recovery
    flows["coproducts_sold"][:, sold] = feed[:, sold] * y.sx_recovery_coproducts
    flows["coproducts_stocked"][:, held] = feed[:, held] * y.heavy_concentrate_recovery
    flows["sx_loss"] = (
        feed - flows["oxide_domestic"] - flows["coproducts_sold"] - flows["coproducts_stocked"]
    )
    check(flows, names)
    per_oxide = ct["per_oxide"]
    return dict(
        names=names, flows=flows, cracked=cracked, bound=bound, limits=limits, sep_out=sep_out,
        sep_reo=sep_reo, reo=reo, per_oxide=per_oxide, oxide_per_t=ct["oxide"],
        ndpr_per_t=ndpr_per_t, monazite_comp=ct["element"],
    )  # fmt: skip


def check(flows: dict[str, np.ndarray], names) -> None:
    """Every element's inputs = outputs at cracking and at separation (t/yr), or raise."""
    for process, (ins, outs) in BALANCES.items():
        res = sum(flows[f] for f in ins) - sum(flows[f] for f in outs)
        worst = np.abs(res).max(axis=0)
        if unbalanced(worst):
            raise balance_error(process, names, worst)


# the mass balance's check, one rule: `check` and the batched basket (repm.chain.batched.basket)
# call it, on a sample's worst residual by element or a block's (S, element)


def unbalanced(worst):
    """Some element's worst |inputs − outputs| over the years (`worst`: … × element) is past
    the tolerance: a verdict, or a mask over a block's samples."""
    return np.any(worst > TOLERANCE_T, axis=-1)


def balance_error(process: str, names, worst: np.ndarray) -> MassBalanceError:
    """The error for one sample's `worst` (by element): the element off most, and by how much."""
    e = names[int(np.argmax(worst))]
    return MassBalanceError(f"basket: {process} does not balance for {e} ({worst.max():.3g} t/yr)")


def engine_upstream(
    basket: np.ndarray, flows: tuple[str, ...], names: tuple[str, ...], elements: tuple[str, ...],
    ndpr_comp: dict[str, np.ndarray], sep_out: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The engine's rows of the basket (set × year × flow × basket element → flow: set × year ×
    engine element), without domestic NdPr oxide, which the engine books itself as output × the
    NdPr product's composition (`ndpr_comp`: element → t per t oxide, by set; `sep_out`: set ×
    year). The engine carries NdPr at the product's Nd:Pr split, the basket at the monazite's:
    upstream, each flow's Nd + Pr is split as the product is (its total kept), and the SX loss
    is what the product does not take. Elementwise, so a set's numbers are its own alone."""
    # every flow at once (elementwise, so each flow's numbers are those of the flow alone)
    rows = basket[..., [names.index(e) for e in elements]]
    ei = {e: i for i, e in enumerate(elements)}
    comp = {e: np.asarray(c)[:, None] for e, c in ndpr_comp.items()}  # set × 1: by year
    total = sum(comp.values())
    ndpr = sum(rows[..., ei[e]] for e in comp)
    for e, c in comp.items():
        rows[..., ei[e]] = ndpr * c[..., None] / total[..., None]
    sx, concentrate = flows.index("sx_loss"), flows.index("concentrate")
    for e, c in comp.items():
        rows[:, :, sx, ei[e]] = rows[:, :, concentrate, ei[e]] - sep_out * c
    skip = flows.index("oxide_domestic")
    return {f: rows[:, :, k] for k, f in enumerate(flows) if k != skip}
