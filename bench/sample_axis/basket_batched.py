"""`repm.chain.basket.basket` for a block of S samples at once: a second module, to see whether
demand's costs (a fixed cost per block of a few loop-samples, a small cost per sample) hold for
a module of wider arrays (year × flow × basket element). Same rules as demand_batched.py."""

from __future__ import annotations

import numpy as np
from demand_batched import Block, Failures, _get, _mag, _path, interp_b

from repm.chain.basket import BALANCES, FLOWS, TOLERANCE_T, _layout, _per_oxide
from repm.errors import MassBalanceError


def basket_paths(s) -> list[tuple]:
    sp = ("supply",)
    mz, co = s.supply.monazite, s.supply.coproducts
    P = [sp + ("monazite", k) for k in ("reo_fraction", "tho2_fraction", "p2o5_fraction",
                                         "ndpr_share_of_reo")]  # fmt: skip
    P += [sp + ("monazite", "re_distribution", e) for e in mz.re_distribution]
    P += [sp + ("monazite", "processed", y) for y in mz.processed]
    P += [("environment", "u3o8_fraction")]
    P += [sp + ("yields", k) for k in ("cracking_reo_per_t_monazite", "sx_recovery",
                                       "phosphate_recovery", "sx_recovery_coproducts",
                                       "heavy_concentrate_recovery")]  # fmt: skip
    P += [sp + ("separation", "output", y) for y in s.supply.separation.output]
    P += [sp + ("separation", "capacity"), sp + ("mining_capacity",), sp + ("cracking_capacity",)]
    P += [sp + ("coproducts", "chloride_export_share")]
    P += [sp + ("coproducts", "market_cap", e) for e in co.market_cap]
    return P


def gather_basket(scenarios, model, chems) -> tuple[Block, np.ndarray]:
    """The block's numbers, and per_oxide (S, E) (stoichiometry: the same in every sample)."""
    tmpl = scenarios[0]
    paths = basket_paths(tmpl)
    f = {p: np.array([_mag(_get(s, p)) for s in scenarios], dtype=float) for p in paths}
    per = np.stack([_per_oxide(model, c) for c in chems])
    return Block(tmpl, f, len(scenarios)), per


def basket_batched(B: Block, model, per_oxide, years, ndpr_elements, retention) -> dict:
    """`basket(...)` of every sample: retention (S, Y), per_oxide (S, E); outputs (S, …)."""
    s = B.tmpl
    F = B.f
    S, Y = B.n, len(years)
    sp = ("supply",)
    mzp, yp, cop = sp + ("monazite",), sp + ("yields",), sp + ("coproducts",)
    mz, co = s.supply.monazite, s.supply.coproducts
    names = model.basket_names
    bi, rare, is_re, p = _layout(model)
    zero = np.zeros(S)
    cols = []  # contents(): oxide by basket element
    for e, b in model.basket.items():
        if b.kind == "rare_earth":
            cols.append(F[mzp + ("reo_fraction",)] * F[mzp + ("re_distribution", e)])
        elif e == "Th":
            cols.append(F[mzp + ("tho2_fraction",)])
        elif e == "U":
            cols.append(F[("environment", "u3o8_fraction")])
        elif b.kind == "phosphate":
            cols.append(F[mzp + ("p2o5_fraction",)])
        else:
            cols.append(zero)
    oxide = np.stack(cols, axis=1)
    element = oxide * per_oxide
    crack = F[yp + ("cracking_reo_per_t_monazite",)]
    sxr = F[yp + ("sx_recovery",)]
    nshare = F[mzp + ("ndpr_share_of_reo",)]
    crack_rec = crack / F[mzp + ("reo_fraction",)]
    ndpr_per_t = crack * nshare * sxr

    planned = interp_b(*_path(B, sp + ("separation", "output"), s.supply.separation.output), years)
    path = interp_b(*_path(B, mzp + ("processed",), mz.processed), years)
    mining = np.repeat(F[sp + ("mining_capacity",)][:, None], Y, axis=1)
    cracking = np.repeat(F[sp + ("cracking_capacity",)][:, None], Y, axis=1)
    market = np.full((S, Y), np.inf)
    for e in co.market_cap:
        per_t = crack * F[mzp + ("re_distribution", e)]
        with np.errstate(divide="ignore"):
            lim = np.where(per_t > 0, F[cop + ("market_cap", e)] / per_t, np.inf)
        market = np.minimum(market, lim[:, None])
    want = np.maximum(path, planned / ndpr_per_t[:, None])
    cracked = np.minimum(np.minimum(np.minimum(want, mining), cracking), market)
    sep_cap = F[sp + ("separation", "capacity")]
    sep_out = np.minimum(np.minimum(planned, sep_cap[:, None]), cracked * ndpr_per_t[:, None])
    caps = np.stack([mining, cracking, market], axis=1)  # S × 3 × Y
    bound = np.where(
        cracked >= want - 1e-9,
        np.where(path >= planned / ndpr_per_t[:, None], "path", "ndpr plan"),
        np.array(["mining", "cracking", "market"])[np.argmin(caps, axis=1)],
    )
    E = len(names)
    flows = {f: np.zeros((S, Y, E)) for f in FLOWS}
    mined = cracked[:, :, None] * element[:, None, :]
    flows["extraction"] = mined
    flows["monazite"] = mined.copy()
    chloride = np.where(is_re[None, None], mined * crack_rec[:, None, None], 0.0)
    if p is not None:
        flows["phosphate"][:, :, p] = mined[:, :, p] * F[yp + ("phosphate_recovery",)][:, None]
    sep_reo = sep_out / (nshare * sxr)[:, None]
    reo = cracked * crack[:, None]
    to_sep = np.divide(sep_reo, reo, out=np.zeros((S, Y)), where=reo > 0)
    exported = np.minimum(
        1 - to_sep, F[cop + ("chloride_export_share",)][:, None] * (1 - retention)
    )
    flows["concentrate"] = chloride * to_sep[:, :, None]
    flows["chloride_exports"] = chloride * exported[:, :, None]
    flows["chloride_stocked"] = chloride - flows["concentrate"] - flows["chloride_exports"]
    flows["cracking_residue"] = mined - chloride - flows["phosphate"]
    feed = flows["concentrate"]
    ndpr = [bi[e] for e in ndpr_elements]
    sold = [bi[e] for e in rare if e not in ndpr_elements and e in co.sold]
    held = [bi[e] for e in rare if e not in ndpr_elements and e not in co.sold]
    flows["oxide_domestic"][:, :, ndpr] = feed[:, :, ndpr] * sxr[:, None, None]
    flows["coproducts_sold"][:, :, sold] = (
        feed[:, :, sold] * F[yp + ("sx_recovery_coproducts",)][:, None, None]
    )
    flows["coproducts_stocked"][:, :, held] = (
        feed[:, :, held] * F[yp + ("heavy_concentrate_recovery",)][:, None, None]
    )
    flows["sx_loss"] = (
        feed - flows["oxide_domestic"] - flows["coproducts_sold"] - flows["coproducts_stocked"]
    )
    fail = Failures(S)
    for process, (ins, outs) in BALANCES.items():  # each sample's check, its own message
        res = sum(flows[f] for f in ins) - sum(flows[f] for f in outs)
        worst = np.abs(res).max(axis=1)  # S × element
        fail.check((worst > TOLERANCE_T).any(axis=1), lambda i, w=worst, pr=process: MassBalanceError(
            f"basket: {pr} does not balance for {names[int(np.argmax(w[i]))]} ({w[i].max():.3g} t/yr)"))  # fmt: skip
    fail.raise_first()
    return dict(
        names=names, flows=flows, cracked=cracked, bound=bound,
        limits={"path": path, "mining": mining, "cracking": cracking, "market": market},
        sep_out=sep_out, sep_reo=sep_reo, reo=reo, per_oxide=per_oxide, oxide_per_t=oxide,
        ndpr_per_t=ndpr_per_t, monazite_comp=element,
    )  # fmt: skip
