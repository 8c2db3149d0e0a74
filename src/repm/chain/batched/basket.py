"""`repm.chain.basket.basket` for a block of S samples at once: the ledger (S, year, basket
element) per flow, each sample's mass balance checked and the lowest failing sample's error
raised, as a loop over the samples would."""

from __future__ import annotations

import numpy as np

from repm.chain.basket import (
    BALANCES,
    CRACKED_MARGIN,
    FLOWS,
    _layout,
    _per_oxide,
    balance_error,
    unbalanced,
)
from repm.chain.batched.exact import Failures, interp
from repm.model.chemistry import Chemistry
from repm.scenario.samples import SampleBlock

SHARED = ("names",)

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
    # stoichiometry: mass_fraction reads the atomic weights alone, so one row per weights object
    # (a drawn Nd:Pr split is a new Chemistry holding the same `aw`)
    rows: dict[int, np.ndarray] = {}
    for c in chems:
        if id(c.aw) not in rows:
            rows[id(c.aw)] = _per_oxide(model, c)
    per_oxide = np.stack([rows[id(c.aw)] for c in chems])
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
        cracked >= want - CRACKED_MARGIN,
        np.where(limits["path"] >= planned / ndpr_per_t[:, None], "path", "ndpr plan"),
        np.array(["mining", "cracking", "market"])[np.argmin(caps, axis=1)],
    )
    sep_reo = sep_out / (nshare * sxr)[:, None]  # t REO fed to separation
    reo = cracked * crack[:, None]
    flows = _flows(b, model, cracked, ct["element"], crack_rec, sep_reo, reo, retention,
                   ndpr_elements)  # fmt: skip
    fail = Failures(S)
    for process, (ins, outs) in BALANCES.items():  # each sample's check, its own message
        res = _added([flows[f] for f in ins])
        res -= _added([flows[f] for f in outs])
        worst = np.abs(res, out=res).max(axis=1)  # S × element
        fail.check(unbalanced(worst), lambda i, w=worst, pr=process: balance_error(pr, names, w[i]))
    fail.raise_first()
    return dict(
        names=names, flows=flows, cracked=cracked, bound=bound, limits=limits, sep_out=sep_out,
        sep_reo=sep_reo, reo=reo, per_oxide=ct["per_oxide"],
        oxide_per_t=ct["oxide"], ndpr_per_t=ndpr_per_t, monazite_comp=ct["element"],
    )  # fmt: skip


def _added(arrays: list[np.ndarray]) -> np.ndarray:
    """Python's sum() of the arrays (0 + a + b …, in order) in one buffer: the same floats but
    a zero's sign, which the balance's absolute value drops."""
    out = arrays[0].copy()
    for a in arrays[1:]:
        out += a
    return out


def _flows(b, model, cracked, element, crack_rec, sep_reo, reo, retention, ndpr_elements):
    """The ledger by flow, (S, year, basket element): cracking, then separation. The loop's
    operations in its order; zeros only where it leaves some columns, and differences in place
    (the same floats, fewer fresh pages: a block's arrays are past malloc's mmap threshold)."""
    S, Y = cracked.shape
    bi, rare, is_re, p = _layout(model)
    co = b.template.supply.coproducts
    f: dict[str, np.ndarray] = {}
    mined = cracked[:, :, None] * element[:, None, :]
    f["extraction"], f["monazite"] = mined, mined.copy()
    chloride = np.where(is_re[None, None], mined * crack_rec[:, None, None], 0.0)
    f["phosphate"] = np.zeros_like(mined)
    if p is not None:
        f["phosphate"][:, :, p] = mined[:, :, p] * b.get((*YL, "phosphate_recovery"))[:, None]
    to_sep = np.divide(sep_reo, reo, out=np.zeros((S, Y)), where=reo > 0)
    share = b.get((*CO, "chloride_export_share"))[:, None]
    exported = np.minimum(1 - to_sep, share * (1 - retention))
    f["concentrate"] = chloride * to_sep[:, :, None]
    f["chloride_exports"] = chloride * exported[:, :, None]
    f["chloride_stocked"] = chloride - f["concentrate"]
    f["chloride_stocked"] -= f["chloride_exports"]
    f["cracking_residue"] = mined - chloride
    f["cracking_residue"] -= f["phosphate"]
    feed = f["concentrate"]
    ndpr = [bi[e] for e in ndpr_elements]
    sold = [bi[e] for e in rare if e not in ndpr_elements and e in co.sold]
    held = [bi[e] for e in rare if e not in ndpr_elements and e not in co.sold]
    for group, key, flow in ((ndpr, "sx_recovery", "oxide_domestic"),
                             (sold, "sx_recovery_coproducts", "coproducts_sold"),
                             (held, "heavy_concentrate_recovery", "coproducts_stocked")):  # fmt: skip
        f[flow] = np.zeros_like(mined)
        f[flow][:, :, group] = feed[:, :, group] * b.get((*YL, key))[:, None, None]
    f["sx_loss"] = feed - f["oxide_domestic"]
    f["sx_loss"] -= f["coproducts_sold"]
    f["sx_loss"] -= f["coproducts_stocked"]
    return {k: f[k] for k in FLOWS}  # the loop's order
