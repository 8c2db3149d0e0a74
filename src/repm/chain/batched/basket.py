"""`repm.chain.basket.basket` for a block of S samples at once: the ledger (S, year, basket
element) per flow, each sample's mass balance checked and the lowest failing sample's error
raised, as a loop over the samples would."""

from __future__ import annotations

import numpy as np

from repm.chain.basket import BALANCES, FLOWS, TOLERANCE_T, _layout, _per_oxide
from repm.chain.batched.exact import Failures, interp
from repm.errors import MassBalanceError
from repm.model.chemistry import Chemistry
from repm.scenario.samples import SampleBlock

SHARED = ("names",)
SCALARS = ("ndpr_per_t",)

SP, MZ, YL, CO = ("supply",), ("supply", "monazite"), ("supply", "yields"), ("supply", "coproducts")


def _path(b: SampleBlock, prefix: tuple, points: dict, years: np.ndarray) -> np.ndarray:
    xs = sorted(points)
    fp = np.stack([b.get((*prefix, x)) for x in xs], axis=1)
    return interp(xs, fp, np.asarray(years, dtype=float))


def contents(b: SampleBlock, model, chems: list[Chemistry]) -> dict[str, np.ndarray]:
    """`contents` of every sample: oxide, per_oxide and element, (S, basket element)."""
    zero = np.zeros(b.n)
    cols = []
    for e, k in model.basket.items():
        if k.kind == "rare_earth":
            cols.append(b.get((*MZ, "reo_fraction")) * b.get((*MZ, "re_distribution", e)))
        elif e == "Th":
            cols.append(b.get((*MZ, "tho2_fraction")))
        elif e == "U":
            cols.append(b.get(("environment", "u3o8_fraction")))
        elif k.kind == "phosphate":
            cols.append(b.get((*MZ, "p2o5_fraction")))
        else:
            cols.append(zero)
    oxide = np.stack(cols, axis=1)
    per_oxide = np.stack([_per_oxide(model, c) for c in chems])  # stoichiometry, kept per chem
    return {"oxide": oxide, "per_oxide": per_oxide, "element": oxide * per_oxide}


def basket_block(
    b: SampleBlock, model, chems: list[Chemistry], years: np.ndarray,
    ndpr_elements: tuple[str, ...], retention: np.ndarray,
) -> dict:  # fmt: skip
    """`basket(s, model, chems[s], years, ndpr_elements, retention[s])` of every sample;
    retention (S, year). Returns its keys, `SHARED` once, the others (S, …)."""
    S, Y = b.n, len(years)
    sup = b.template.supply
    names = model.basket_names
    ct = contents(b, model, chems)
    crack = b.get((*YL, "cracking_reo_per_t_monazite"))
    sxr = b.get((*YL, "sx_recovery"))
    # Monazite.ndpr_share_of_reo, a property (no field: `get` would give the template's)
    nshare = b.get((*MZ, "re_distribution", "Nd")) + b.get((*MZ, "re_distribution", "Pr"))
    crack_rec = crack / b.get((*MZ, "reo_fraction"))
    ndpr_per_t = crack * nshare * sxr

    planned = _path(b, (*SP, "separation", "output"), sup.separation.output, years)
    limits = {
        "path": _path(b, (*MZ, "processed"), sup.monazite.processed, years),
        "mining": np.repeat(b.get((*SP, "mining_capacity"))[:, None], Y, axis=1),
        "cracking": np.repeat(b.get((*SP, "cracking_capacity"))[:, None], Y, axis=1),
        "market": np.full((S, Y), np.inf),
    }
    for e in sup.coproducts.market_cap:
        per_t = crack * b.get((*MZ, "re_distribution", e))
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = np.where(per_t > 0, b.get((*CO, "market_cap", e)) / per_t, np.inf)
        limits["market"] = np.minimum(limits["market"], cap[:, None])
    want = np.maximum(limits["path"], planned / ndpr_per_t[:, None])
    cracked = np.minimum(
        np.minimum(np.minimum(want, limits["mining"]), limits["cracking"]), limits["market"]
    )
    sep_cap = b.get((*SP, "separation", "capacity"))[:, None]
    sep_out = np.minimum(np.minimum(planned, sep_cap), cracked * ndpr_per_t[:, None])
    caps = np.stack([limits["mining"], limits["cracking"], limits["market"]], axis=1)
    bound = np.where(
        cracked >= want - 1e-9,
        np.where(limits["path"] >= planned / ndpr_per_t[:, None], "path", "ndpr plan"),
        np.array(["mining", "cracking", "market"])[np.argmin(caps, axis=1)],
    )
    sep_reo = sep_out / (nshare * sxr)[:, None]  # t REO fed to separation
    reo = cracked * crack[:, None]
    flows = _flows(b, model, cracked, ct["element"], crack_rec, sep_reo, reo, retention,
                   ndpr_elements)  # fmt: skip
    fail = Failures(S)
    for process, (ins, outs) in BALANCES.items():  # each sample's check, its own message
        res = sum(flows[f] for f in ins) - sum(flows[f] for f in outs)
        worst = np.abs(res).max(axis=1)  # S × element
        fail.check((worst > TOLERANCE_T).any(axis=1), lambda i, w=worst, pr=process: (
            MassBalanceError(f"basket: {pr} does not balance for "
                             f"{names[int(np.argmax(w[i]))]} ({w[i].max():.3g} t/yr)")))  # fmt: skip
    fail.raise_first()
    return dict(
        names=names, flows=flows, cracked=cracked, bound=bound, limits=limits, sep_out=sep_out,
        sep_reo=sep_reo, reo=reo, per_oxide=ct["per_oxide"],
        oxide_per_t=ct["oxide"], ndpr_per_t=ndpr_per_t, monazite_comp=ct["element"],
    )  # fmt: skip


def _flows(b, model, cracked, element, crack_rec, sep_reo, reo, retention, ndpr_elements):
    """The ledger by flow, (S, year, basket element): cracking, then separation."""
    S, Y = cracked.shape
    bi, rare, is_re, p = _layout(model)
    co = b.template.supply.coproducts
    flows = {f: np.zeros((S, Y, len(model.basket_names))) for f in FLOWS}
    mined = cracked[:, :, None] * element[:, None, :]
    flows["extraction"] = mined
    flows["monazite"] = mined.copy()
    chloride = np.where(is_re[None, None], mined * crack_rec[:, None, None], 0.0)
    if p is not None:
        flows["phosphate"][:, :, p] = mined[:, :, p] * b.get((*YL, "phosphate_recovery"))[:, None]
    to_sep = np.divide(sep_reo, reo, out=np.zeros((S, Y)), where=reo > 0)
    share = b.get((*CO, "chloride_export_share"))[:, None]
    exported = np.minimum(1 - to_sep, share * (1 - retention))
    flows["concentrate"] = chloride * to_sep[:, :, None]
    flows["chloride_exports"] = chloride * exported[:, :, None]
    flows["chloride_stocked"] = chloride - flows["concentrate"] - flows["chloride_exports"]
    flows["cracking_residue"] = mined - chloride - flows["phosphate"]
    feed = flows["concentrate"]
    ndpr = [bi[e] for e in ndpr_elements]
    sold = [bi[e] for e in rare if e not in ndpr_elements and e in co.sold]
    held = [bi[e] for e in rare if e not in ndpr_elements and e not in co.sold]
    for group, key, flow in ((ndpr, "sx_recovery", "oxide_domestic"),
                             (sold, "sx_recovery_coproducts", "coproducts_sold"),
                             (held, "heavy_concentrate_recovery", "coproducts_stocked")):  # fmt: skip
        flows[flow][:, :, group] = feed[:, :, group] * b.get((*YL, key))[:, None, None]
    flows["sx_loss"] = (
        feed - flows["oxide_domestic"] - flows["coproducts_sold"] - flows["coproducts_stocked"]
    )
    return flows
