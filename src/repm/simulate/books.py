"""The kernel's books, once a year and once a draw: the year's flows by element from the
annual sums the steps gathered, end of life and recycling, and each draw's mass balance
(inflows − outflows − Δstock per year × process × element)."""

from __future__ import annotations

import sys

import numpy as np

from repm.simulate import jit
from repm.simulate.arrays import (
    ALL,
    ALLOY,
    ALLOY_IMPORTS,
    ALLOY_LOSS,
    ALLOY_STOCKPILE_RELEASE,
    ALLOY_TO_MAGNET,
    EMBEDDED,
    EMBEDDED_IMPORTS,
    EOL_COLLECTED,
    EOL_LANDFILL,
    MAGNET,
    MAGNET_EXPORTS,
    MAGNET_IMPORTS,
    MAGNET_STOCKPILE_RELEASE,
    MAGNETS_DOMESTIC,
    METAL,
    METAL_IMPORTS,
    METAL_LOSS,
    METAL_STOCKPILE_RELEASE,
    METAL_TO_ALLOY,
    OVERSEAS_OXIDE,
    OVERSEAS_REO,
    OVERSEAS_SEPARATED,
    OVERSEAS_SX_LOSS,
    OXIDE,
    OXIDE_DOMESTIC,
    OXIDE_EXPORTS,
    OXIDE_IMPORTS,
    OXIDE_STOCKPILE_RELEASE,
    OXIDE_TO_METAL,
    OXIDE_TOLLED,
    RECYCLED_OXIDE,
    RECYCLING_LOSS,
    SCRAP_LOSS,
    SCRAP_RETURN,
    STOCK_REFILL,
    TOLLED_MAGNETS,
    TOLLED_TO_STOCK,
    TOLLING_HEAVY_INPUTS,
    TOLLING_LOSS,
)
from repm.simulate.jit import KERNEL as _JIT
from repm.simulate.jit import STAGE as _YEAR
from repm.simulate.jit import njit


@njit(**_YEAR)
def _book(flows, d, y, f, q, mc, group, which):
    """flows[d, y, f, :] += tonnes of element in q (material) of one group (ALL: every one)."""
    for m in range(q.shape[0]):
        if (which == ALL or group[m] == which) and q[m] != 0.0:
            for e in range(mc.shape[1]):
                flows[d, y, f, e] += q[m] * mc[m, e]


@njit(**_YEAR)
def _book_year(d, yi, inp, out, feed_imp_y, feed_rel_y, mag_bought_y, mag_rel_y, refill_y, el,
               sep_y, exports_y, order_y, toll_used_y, toll_stock_y, pipe):  # fmt: skip
    """The year's flows by element (out.flows[d, yi]), from the annual sums in tonnes of
    material the steps gathered: imports, releases and refills by material kind, oxide to metal
    to alloy to magnet with their losses and scrap, upstream of separation, tolling and
    overseas sources."""
    mc, group, gc, ndpr = inp.mc, inp.group, inp.gc, inp.ndpr
    y_om, y_alloy, y_am, r_scrap = inp.y_om, inp.y_alloy, inp.y_am, inp.r_scrap
    f_ox, f_met, up_flows, upstream = inp.f_ox, inp.f_met, inp.up_flows, inp.upstream
    toll_grade, el_per_mag = inp.toll_grade, inp.el_per_mag
    ov_mixed, ov_recovery = inp.ov_mixed, inp.ov_recovery
    o_flows, o_feed_used, o_production = out.flows, out.feed_used, out.production
    o_exports, o_transit, o_overseas_used = out.exports, out.transit, out.overseas_used
    E, M = mc.shape[1], mc.shape[0]
    F, G = o_production.shape[2], o_production.shape[3]
    R, K, W = inp.toll_cap.shape[1], inp.ov_oxide.shape[1], pipe.shape[1]
    # --- the year's flows by element, from annual sums in tonnes of material ---
    grp = group
    _book(o_flows, d, yi, OXIDE_IMPORTS, feed_imp_y, mc, grp, OXIDE)
    _book(o_flows, d, yi, METAL_IMPORTS, feed_imp_y, mc, grp, METAL)
    _book(o_flows, d, yi, ALLOY_IMPORTS, feed_imp_y, mc, grp, ALLOY)
    _book(o_flows, d, yi, OXIDE_STOCKPILE_RELEASE, feed_rel_y, mc, grp, OXIDE)
    _book(o_flows, d, yi, METAL_STOCKPILE_RELEASE, feed_rel_y, mc, grp, METAL)
    _book(o_flows, d, yi, ALLOY_STOCKPILE_RELEASE, feed_rel_y, mc, grp, ALLOY)
    _book(o_flows, d, yi, MAGNET_IMPORTS, mag_bought_y, mc, grp, MAGNET)
    _book(o_flows, d, yi, EMBEDDED_IMPORTS, mag_bought_y, mc, grp, EMBEDDED)
    _book(o_flows, d, yi, MAGNET_STOCKPILE_RELEASE, mag_rel_y, mc, grp, MAGNET)
    _book(o_flows, d, yi, STOCK_REFILL, refill_y, mc, grp, ALL)
    for e in range(E):
        el[e] = 0.0
        for m in range(M):
            if grp[m] == OXIDE:
                el[e] += o_feed_used[d, yi, m] * mc[m, e]
        o_flows[d, yi, OXIDE_TO_METAL, e] = el[e]
        o_flows[d, yi, METAL_LOSS, e] = el[e] * (1 - y_om)
        o_flows[d, yi, METAL_TO_ALLOY, e] = el[e] * y_om
        metal_in = el[e] * y_om
        for m in range(M):
            if grp[m] == METAL:
                metal_in += o_feed_used[d, yi, m] * mc[m, e]
        o_flows[d, yi, ALLOY_LOSS, e] = metal_in * (1 - y_alloy)
    for g in range(G):
        made = 0.0
        fresh_om = 0.0
        ret_g = 0.0
        loss_g = 0.0
        for f in range(F):
            P = o_production[d, yi, f, g]
            alloy_in = P / y_am
            ret = r_scrap * (alloy_in - P)
            if f == f_ox or f == f_met:
                fresh_om += alloy_in - ret
            ret_g += ret
            loss_g += alloy_in - P - ret
            made += P
        for e in range(E):
            o_flows[d, yi, ALLOY_TO_MAGNET, e] += (fresh_om + ret_g) * gc[g, e]
            o_flows[d, yi, SCRAP_RETURN, e] += ret_g * gc[g, e]
            o_flows[d, yi, SCRAP_LOSS, e] += loss_g * gc[g, e]
            o_flows[d, yi, MAGNETS_DOMESTIC, e] += (made - out.magnet_exports[d, yi, g]) * gc[g, e]
            o_flows[d, yi, MAGNET_EXPORTS, e] += out.magnet_exports[d, yi, g] * gc[g, e]
    for e in range(E):
        o_flows[d, yi, OXIDE_DOMESTIC, e] = sep_y * mc[ndpr, e]
        o_flows[d, yi, OXIDE_EXPORTS, e] = exports_y * mc[ndpr, e]
        for k in range(up_flows.shape[0]):
            o_flows[d, yi, up_flows[k], e] = upstream[yi, k, e]
    o_exports[d, yi] = exports_y
    if R > 0:
        for g in range(G):
            o_transit[d, yi, g] = 0.0
        for r in range(R):
            for k in range(W):
                o_transit[d, yi, toll_grade[r]] += pipe[r, k]
        for e in range(E):
            for g in range(G):
                inp_e = order_y[g] * el_per_mag[g, e]
                if mc[ndpr, e] > 0:  # Nd, Pr: IREL's oxide; Dy, Tb: the partner's
                    o_flows[d, yi, OXIDE_TOLLED, e] += inp_e
                else:
                    o_flows[d, yi, TOLLING_HEAVY_INPUTS, e] += inp_e
                o_flows[d, yi, TOLLING_LOSS, e] += inp_e - order_y[g] * gc[g, e]
                o_flows[d, yi, TOLLED_MAGNETS, e] += toll_used_y[g] * gc[g, e]
                o_flows[d, yi, TOLLED_TO_STOCK, e] += toll_stock_y[g] * gc[g, e]
    else:
        for g in range(G):
            o_transit[d, yi, g] = 0.0
    for k in range(K):
        used = o_overseas_used[d, yi, k]
        for e in range(E):
            if not ov_mixed[k]:  # separated oxide
                o_flows[d, yi, OVERSEAS_OXIDE, e] += used * mc[ndpr, e]
            else:  # mixed oxide separated in India
                shipped = used / ov_recovery[k] * mc[ndpr, e]
                o_flows[d, yi, OVERSEAS_REO, e] += shipped
                o_flows[d, yi, OVERSEAS_SEPARATED, e] += used * mc[ndpr, e]
                o_flows[d, yi, OVERSEAS_SX_LOSS, e] += shipped - used * mc[ndpr, e]


@njit(**_YEAR)
def _end_of_life_year(d, yi, inp, out, cohorts, hist_eol, hist_use, eol_g, rec_t, recycled_inv,
                      strat, ws, ret_inv):  # fmt: skip
    """Once a year (slow dynamics): in-use stock and end of life of every cohort, collection and
    recycling back to oxide, and the year-end stock levels."""
    pmf, sf_cum, gc, ndpr = inp.pmf, inp.sf_cum, inp.gc, inp.ndpr
    collection, recovery, rec_to, oxide_per = (
        inp.collection,
        inp.recovery,
        inp.rec_to,
        inp.oxide_per,
    )
    o_flows, o_eol, o_in_use = out.flows, out.eol, out.in_use
    o_stockpile_level, o_working, o_recycled = out.stockpile_level, out.working, out.recycled
    S, G, E, M = cohorts.shape[0], cohorts.shape[1], gc.shape[1], strat.shape[0]
    # --- in-use stock, end of life and recycling, once a year (slow dynamics) ---
    for g in range(G):
        eol_g[g] = 0.0
    for s in range(S):
        for g in range(G):
            leaving = hist_eol[yi, s, g]
            staying = hist_use[yi, s, g]
            for c in range(yi + 1):
                age = yi - c
                leaving += cohorts[s, g, c] * pmf[s, age]
                staying += cohorts[s, g, c] * sf_cum[s, age]
            o_eol[d, yi, s, g] = leaving
            o_in_use[d, yi, s, g] = staying
            eol_g[g] += leaving
    for m in range(M):
        rec_t[m] = 0.0
    for e in range(E):
        eol_el = 0.0
        for g in range(G):
            eol_el += eol_g[g] * gc[g, e]
        collected = eol_el * collection
        recovered = collected * recovery
        o_flows[d, yi, EOL_COLLECTED, e] = collected
        o_flows[d, yi, EOL_LANDFILL, e] = eol_el - collected
        o_flows[d, yi, RECYCLING_LOSS, e] = collected - recovered
        o_flows[d, yi, RECYCLED_OXIDE, e] = recovered
        if rec_to[e] >= 0:
            rec_t[rec_to[e]] += recovered
    for m in range(M):
        recycled_inv[m] += rec_t[m] * oxide_per[m]
        o_stockpile_level[d, yi, m] = strat[m]
        o_working[d, yi, m] = ws[m]
        o_recycled[d, yi, m] = recycled_inv[m] + (ret_inv if m == ndpr else 0.0)


@njit(**_JIT)
def _balance(d, flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out, stock,
             y_from=0):  # fmt: skip
    """Mass balance of draw d, per year × process × element: inflows − outflows − Δstock.

    flows: draw × year × flow × element; inflows, outflows: process × flow indexes, −1 padded.
    stocks: (strategic stockpile, working stock, recycled and retained oxide), each draw × year ×
    material at the end of each year, magnets in use, draw × year × sector × grade, and tolled
    magnets in transit, draw × year × grade; held0 (strategic + working, by material) and in_use0
    (sector × grade) when the horizon opens, a row per draw or one for all (nothing is in
    transit then). stocked: the process indexes of the stockpile, the oxide market, use and
    tolling. Writes out[d]; `stock` is scratch, year + 1 × 4 × element. Years before `y_from`
    are left as they are (speed: a draw's years copied from the block's first draw, `prefix`,
    have its residuals already)."""
    strat, working, recycled, in_use, transit = stocks
    Y, P, E = out.shape[1], out.shape[2], out.shape[3]
    M = mc.shape[0]
    S, G = in_use.shape[2], in_use.shape[3]
    d0 = min(d, held0.shape[0] - 1)
    d1 = min(d, in_use0.shape[0] - 1)
    # sums run in local variables (registers), not in the arrays: the same additions in the
    # same order, without a store and reload between one term and the next
    for e in range(E):
        a0 = 0.0
        for m in range(M):
            a0 += held0[d0, m] * mc[m, e]
        a2 = 0.0
        for g in range(G):
            in_g = 0.0
            for s in range(S):
                in_g += in_use0[d1, s, g]
            a2 += in_g * gc[g, e]
        stock[0, 0, e] = a0
        stock[0, 1, e] = 0.0
        stock[0, 2, e] = a2
        stock[0, 3, e] = 0.0
        for y in range(Y):
            a0 = 0.0
            a1 = 0.0
            for m in range(M):
                a0 += (strat[d, y, m] + working[d, y, m]) * mc[m, e]
                a1 += recycled[d, y, m] * mc[m, e]
            a2 = 0.0
            for s in range(S):
                for g in range(G):
                    a2 += in_use[d, y, s, g] * gc[g, e]
            a3 = 0.0
            for g in range(G):
                a3 += transit[d, y, g] * gc[g, e]
            stock[y + 1, 0, e] = a0
            stock[y + 1, 1, e] = a1
            stock[y + 1, 2, e] = a2
            stock[y + 1, 3, e] = a3
    for y in range(y_from, Y):
        for p in range(P):
            for e in range(E):
                x = 0.0
                for i in range(inflows.shape[1]):
                    f = inflows[p, i]
                    if f < 0:
                        break
                    x += flows[d, y, f, e]
                for i in range(outflows.shape[1]):
                    f = outflows[p, i]
                    if f < 0:
                        break
                    x -= flows[d, y, f, e]
                out[d, y, p, e] = x
        for k in range(4):
            for e in range(E):
                out[d, y, stocked[k], e] -= stock[y + 1, k, e] - stock[y, k, e]


@njit(**_JIT)
def _balance_all(flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out):
    """`_balance` for every draw of a finished run (`run` checks each draw as it finishes it)."""
    stock = np.empty((flows.shape[1] + 1, 4, flows.shape[3]))
    for d in range(flows.shape[0]):
        _balance(d, flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out, stock)


def balance(flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out) -> None:
    """`_balance` for every draw of a finished run (`run` checks each draw as it finishes it)."""
    jit.compiled(sys.modules[__name__])._balance_all(
        flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out
    )
