"""The draw loop, compiled: every step of the supply rule for one draw after another (`_block`;
`repm.simulate.kernel.run` spreads blocks of draws over threads). Its stages: the units' plan
and feed (`units`), a step's availability, tolling, magnets, allocation and refill (`step`),
the year's books, end of life and the mass balance (`books`).

The rule, per step (docs/model.md):

0. makers whose grade has been restricted long enough switch to a lighter one
   (`risk.grade_switch`), and the year is planned again from that step;
   routes (issue 6): overseas oxide on offer this step (each source × its country's
   availability); tolling partners that take IREL oxide first place their orders;
1. feed for domestic magnet making (capacity × ramp-up, Leontief ratios of the feed recipe):
   recycled (and retained) oxide, IREL's oxide and overseas oxide first, then imports —
   origins' usual shares of the order, less what their restrictions refuse, then spare capacity
   pro rata (ramping up after a restriction spell begins: `ramp`) — then industry working
   stock, then the strategic stockpile; units make what their scarcest feed allows; then
   tolling partners order from the IREL oxide left, and what is still left is kept (export
   retention) or exported;
2. magnets domestic output does not cover: tolled magnets arriving this step (ordered a lead
   time ago; any surplus to working stock), then imported (usual shares, then spare); magnets
   embedded in imported sub-assemblies are only imported;
3. this supply is allocated to sectors by priority tier, pro rata within a tier; a sector's
   bare-magnet shortfall comes out of its own working stock (buyers hold their own: a sector's
   months of coming use × its share of the grade's imports — forward cover, `stock._cover`),
   then the strategic stockpile, tier by tier; the
   rest is unmet;
4. working stock is rebuilt from a new order and the spare capacity left over, shared by what
   each sector is short of its own target.

Once a year: end of life of the in-use cohorts, collection and recycling. Flows are booked by
element per draw × year × flow (the table `FLOWS`) from annual sums in tonnes of material, and
each draw's mass balance is checked (`_balance`) as soon as it is finished.

Book-keeping is arranged so the common case costs little, without changing the rule: imports
are split over origins only when availability changes or the year ends (each origin's part of
what was bought is fixed while availability is); a step in which every sector is served in
full adds nothing unmet, and its deliveries are booked once a year. Sums are therefore taken
in another order than NumPy's whole-array engine took them: results agree with it to ~1e-12
relative.
"""

from __future__ import annotations

import numpy as np

from repm.simulate.arrays import Inputs, Outputs
from repm.simulate.books import _balance, _book_year, _end_of_life_year
from repm.simulate.jit import LOOP, njit
from repm.simulate.prefix import _copies, _copy_state, _copy_years, shared_years
from repm.simulate.step import (
    _all_available,
    _allocate,
    _book_demand,
    _flush,
    _magnets,
    _reshare,
    _shares_change,
    _step_availability,
    _switch,
    _targeted,
    _toll_orders,
)
from repm.simulate.stock import _cover, _cover_tables, _refill, _start_stock, _transpose
from repm.simulate.units import _feed_draw, _feed_lists, _feed_ratios, _plan_year

# the loop reads its inputs' and outputs' fields by name, compiled to positions, and Numba's cache
# key holds the fields' types, not their names: two fields of one type swapped in `arrays` would
# be served the old positions. Their order is part of this module's cache stamp (`jit.source_stamp`)
STAMP = repr((Inputs._fields, Outputs._fields))


@njit(**LOOP)
def _block(lo, hi, inp, out):  # noqa: C901 - the rule is one loop, on purpose
    """Draws lo … hi − 1, one after another."""
    # every array out of the tuples once: numba then keeps no reference counts in the loops
    cap = inp.cap
    dmult = inp.dmult
    dt = inp.dt
    gc = inp.gc
    group = inp.group
    history = inp.history
    irel_max = inp.irel_max
    magnet = inp.magnet
    mc = inp.mc
    n_tiers = inp.n_tiers
    ndpr = inp.ndpr
    pmf = inp.pmf
    recipe = inp.recipe
    sep = inp.sep
    sf_cum = inp.sf_cum
    share = inp.share
    spare = inp.spare
    spy = inp.spy
    stock0 = inp.stock0
    target = inp.target
    o_demand = out.demand
    o_feed_used = out.feed_used
    o_flows = out.flows
    o_imports = out.imports
    o_in_use = out.in_use
    o_irel = out.irel
    o_production = out.production
    o_recycled = out.recycled
    o_served = out.served
    o_short_steps = out.short_steps
    o_stock_draw = out.stock_draw
    o_stock_start = out.stock_start
    o_stockpile_level = out.stockpile_level
    o_tonne_years = out.tonne_years
    o_unmet = out.unmet
    o_unmet_bare = out.unmet_bare
    o_working = out.working
    o_residual = out.residual
    inflows = inp.inflows
    outflows = inp.outflows
    stocked = inp.stocked
    in_use0 = inp.in_use0
    toll_cap = inp.toll_cap
    toll_grade = inp.toll_grade
    toll_lead = inp.toll_lead
    toll_partner = inp.toll_partner
    toll_exposure = inp.toll_exposure
    toll_first = inp.toll_first
    ox_per_mag = inp.ox_per_mag
    ov_oxide = inp.ov_oxide
    ov_country = inp.ov_country
    retention = inp.retention
    strat_from = inp.strat_from
    o_tolled = out.tolled
    o_toll_oxide = out.toll_oxide
    o_transit = out.transit
    o_overseas_used = out.overseas_used
    o_exports = out.exports
    o_retained = out.retained
    R = toll_cap.shape[1]
    K = ov_oxide.shape[1]
    _, Y, S, G = o_unmet.shape
    _, O, M = share.shape  # noqa: E741
    F = cap.shape[1]
    E = mc.shape[1]
    H = history.shape[2]
    EV = target.shape[0]
    per = 12 // spy  # months per step
    # --- once per block: what every draw shares ---
    # the feed materials each route uses (Leontief: the scarcest sets the output)
    uses = np.zeros((F, G, M), dtype=np.int64)
    n_uses = np.zeros((F, G), dtype=np.int64)
    for f in range(F):
        for g in range(G):
            for m in range(M):
                if recipe[f, g, m] > 0:
                    uses[f, g, n_uses[f, g]] = m
                    n_uses[f, g] += 1
    # end of life and survival of the cohorts sold before the horizon, by year
    hist_eol = np.zeros((Y, S, G))
    hist_use = np.zeros((Y, S, G))
    for yi in range(Y):
        for s in range(S):
            for g in range(G):
                for c in range(H):
                    age = H + yi - c
                    hist_eol[yi, s, g] += history[s, g, c] * pmf[s, age]
                    hist_use[yi, s, g] += history[s, g, c] * sf_cum[s, age]
    # --- scratch ---
    strat = np.empty(M)  # strategic stockpile, t
    ws = np.empty(M)  # industry working stock, t
    # sector-indexed state as grade × sector, the sector axis padded to a multiple of 8 (SIMD
    # width): per-grade loops over sectors run over contiguous memory (pads stay 0, never summed)
    SP = ((S + 7) // 8) * 8
    wsb = np.zeros((G, SP))  # … of bare magnets, held by each sector's buyers (sums to ws)
    want_s = np.zeros(SP)  # what each sector orders to rebuild it
    xs = np.zeros(SP)  # scratch, per sector
    cover = np.zeros((G, SP))  # … its target, in steps of its current use (forward cover)
    cover_t = np.zeros((G, SP))  # … and in tonnes, for a grade it starts buying next year
    DbT = np.zeros((G, SP))  # Db, grade × sector
    wsP = np.zeros(SP)  # `_cover`'s tables, once per block
    bareT = np.zeros((inp.bare.shape[0] + 1, G, SP))
    ratio = np.zeros((inp.bare.shape[0], G, SP))
    _cover_tables(inp, SP, wsP, bareT, ratio)
    short_b = np.empty(S)  # a sector's bare shortfall left after its own stock
    short_s = np.empty(S)  # … and all it is short this step
    recycled_inv = np.empty(M)  # recycled oxide not yet used, t
    cohorts = np.empty((S, G, Y))  # magnets put in use per year of the horizon, t
    Db = np.empty((S, G))  # demand this step, bare and embedded channels
    De = np.empty((S, G))
    dk_b = np.empty((n_tiers, G))  # … summed per priority tier
    dk_e = np.empty((n_tiers, G))
    fr_b = np.empty((n_tiers, G))  # share served per tier
    fr_e = np.empty((n_tiers, G))
    dk_r = np.empty((n_tiers, G))  # shortfall left after sectors' own stock, per tier
    fr_r = np.empty((n_tiers, G))  # … and the share of it the strategic stockpile serves
    A = np.empty(G)  # bare demand per grade
    sw_on = np.zeros(G)  # 1: makers of the switch's sectors moved off this grade
    Db0 = np.empty((S, G))  # bare demand this step before any switch
    switching = False  # a switch to a lighter grade is possible at all
    for g in range(G):
        if inp.down[g] >= 0:
            for s in range(S):
                switching = switching or inp.sw_share[s] > 0.0
    De_sum = np.empty(G)  # embedded demand per grade
    target_g = np.empty(G)
    p_star = np.empty((F, G))  # planned output per route
    req_fg = np.empty((F, G, M))  # … and the feed it needs
    req = np.empty(M)
    feed = np.empty(M, dtype=np.int64)  # materials with req > 0
    refill_list = np.empty(M, dtype=np.int64)  # materials with a working stock to rebuild
    ratio_m = np.empty(M)
    ratio_fg = np.empty((F, G))
    cons = np.empty(M)
    need_imp = np.empty(M)
    from_rec = np.empty(M)
    sp_feed = np.zeros(M)  # tonnes bought from spare capacity this step: feed, magnets
    sp_mag = np.zeros(M)
    k_nom = np.zeros(M)  # tonnes bought from offers and from spare, not yet booked by origin
    k_sp = np.zeros(M)
    need_mag = np.zeros(M)
    P_g = np.empty(G)
    sup_bare = np.empty(G)
    sup_emb = np.empty(G)
    lv = np.empty(max(EV, 1))
    a_share = np.empty((O, M))  # availability × usual share, availability × spare
    a_spare = np.empty((O, M))
    cs_share = np.empty(M)  # their sums over origins
    cs_spare = np.empty(M)
    _all_available(share[0], spare, a_share, a_spare, cs_share, cs_spare)
    hit = np.empty((O * M, 2), dtype=np.int64)  # the pairs restriction events target
    n_hit = _targeted(target, hit)
    all_available = True  # a_share is share, a_spare is spare
    stockpiled = False  # any strategic stockpile at all (it only ever shrinks)
    for m in range(M):
        stockpiled = stockpiled or stock0[m] != 0.0
    # annual sums in tonnes of material, converted to elements at the end of each year
    feed_imp_y = np.empty(M)
    feed_rel_y = np.empty(M)
    mag_bought_y = np.empty(M)
    mag_rel_y = np.empty(M)
    refill_y = np.empty(M)
    eol_g = np.empty(G)
    el = np.empty(E)
    rec_t = np.empty(M)
    bal_stock = np.empty((Y + 1, 4, E))
    # routes: availability by origin × material (1 unless restricted), tolling pipeline
    av = np.ones((O, M))
    W = 1
    for r in range(R):
        W = max(W, toll_lead[r] + 1)
    pipe = np.zeros((max(R, 1), W))  # magnets ordered, by the step (mod W) they arrive
    ordered_g = np.zeros(G)
    arrive_g = np.zeros(G)
    order_y = np.zeros(G)  # this year: magnets ordered, used on arrival, put in stock
    toll_used_y = np.zeros(G)
    toll_stock_y = np.zeros(G)
    ov_av = np.zeros(max(K, 1))
    # the years every draw of the block lives alike run once, for draw lo (`prefix`); the state
    # it leaves where they end is what the other draws start from
    y_sh = shared_years(lo, hi, inp)
    state = (strat, ws, recycled_inv, sw_on, k_nom, k_sp, sp_feed, sp_mag, need_mag, cs_share,
             cs_spare, wsb, av, a_share, a_spare, cohorts, pipe)  # fmt: skip
    saved = _copies(state)  # filled by draw lo where the shared years end (never read when
    # every year is shared: the other draws then start at the horizon's end)
    saved_ret = 0.0
    saved_all = True

    for d in range(lo, hi):
        o_production[d] = 0.0
        o_imports[d] = 0.0
        o_stock_draw[d] = 0.0
        o_tonne_years[d] = 0.0
        o_feed_used[d] = 0.0
        o_irel[d] = 0.0
        o_unmet[d] = 0.0
        o_unmet_bare[d] = 0.0
        o_served[d] = 0.0
        o_demand[d] = 0.0
        o_short_steps[d] = 0.0
        out.short_sector[d] = 0.0
        o_flows[d] = 0.0
        o_tolled[d] = 0.0
        o_toll_oxide[d] = 0.0
        o_overseas_used[d] = 0.0
        o_exports[d] = 0.0
        o_retained[d] = 0.0
        out.magnet_exports[d] = 0.0
        pipe[:] = 0.0
        av[:] = 1.0
        if share.shape[0] > 1:  # a plan's shares by year: each draw starts from the first's
            _reshare(share[0], spare, av, a_share, a_spare, cs_share, cs_spare)
        dm = d if dmult.shape[0] > 1 else 0
        for m in range(M):
            strat[m] = stock0[m]
            ws[m] = 0.0
            recycled_inv[m] = 0.0
        ret_inv = 0.0  # IREL NdPr oxide kept in India (export retention), t
        sw_on[:] = 0.0
        cohorts[:] = 0.0
        t = 0
        y0 = 0
        if y_sh > 0 and d > lo:
            _copy_years(lo, d, y_sh, out)
            _copy_state(saved, state)
            ret_inv, all_available, t, y0 = saved_ret, saved_all, y_sh * spy, y_sh
        for yi in range(y0, Y):
            if yi == y_sh and d == lo:
                _copy_state(state, saved)
                saved_ret, saved_all = ret_inv, all_available
            # --- the year's demand and the units' feed plan ---
            mult = dmult[dm, yi]
            _plan_year(yi, inp, mult, sw_on, Db0, Db, De, A, De_sum, dk_b, dk_e, target_g, p_star,
                       req_fg, req)  # fmt: skip
            _transpose(Db, DbT)
            irel_avail = min(sep[yi], irel_max) * dt
            # a material nobody needs is neither bought, drawn nor refilled (stocks are ≥ 0)
            for m in range(M):
                ratio_m[m] = 1.0
                cons[m] = 0.0
                from_rec[m] = 0.0
                sp_feed[m] = 0.0
            n_feed, n_refill = _feed_lists(req, group, feed, refill_list)
            if yi == 0:  # buyers start with their usual working stock
                _cover(inp, yi, 0, mult, cover, cover_t, wsP, bareT, ratio)
                _start_stock(inp, req, A, DbT, p_star, ws, wsb, cover, cover_t, S)
                for m in range(M):
                    o_stock_start[d, m] = strat[m] + ws[m]
            for m in range(M):
                feed_imp_y[m] = 0.0
                feed_rel_y[m] = 0.0
                mag_bought_y[m] = 0.0
                mag_rel_y[m] = 0.0
                refill_y[m] = 0.0
            sep_y = 0.0
            exports_y = 0.0
            for g in range(G):
                order_y[g] = 0.0
                toll_used_y[g] = 0.0
                toll_stock_y[g] = 0.0
            n_full = 0  # steps where every sector was served in full (at this plan's demand)
            k0 = 0  # the step of the year this plan's demand began
            if share.shape[0] > 1 and _shares_change(share, yi):
                # a plan's shares from this year (last year's imports are booked: `_flush`)
                _reshare(share[yi], spare, av, a_share, a_spare, cs_share, cs_spare)

            for k_step in range(spy):
                # --- availability × usual share and × spare, this step (a_share, a_spare) ---
                all_available = _step_availability(
                    d, yi, t, per, inp, o_imports, av, a_share, a_spare, cs_share, cs_spare,
                    k_nom, k_sp, lv, all_available, hit, n_hit,
                )  # fmt: skip
                # makers who have qualified a lighter grade switch to it: demand changes
                if switching and _switch(inp.sw_step, d, t, sw_on):
                    _book_demand(d, yi, out, Db, De, k_step - k0, n_full)
                    n_full = 0
                    k0 = k_step
                    _plan_year(yi, inp, mult, sw_on, Db0, Db, De, A, De_sum, dk_b, dk_e, target_g,
                               p_star, req_fg, req)  # fmt: skip
                    _transpose(Db, DbT)
                    n_feed, n_refill = _feed_lists(req, group, feed, refill_list)

                # --- 0. routes: overseas oxide on offer; tolling that takes IREL oxide first ---
                ox_left = sep[yi] * dt  # IREL's oxide this step not yet spoken for
                ov_tot = 0.0
                for k in range(K):
                    ov_av[k] = ov_oxide[yi, k] * dt * av[ov_country[k], ndpr]
                    ov_tot += ov_av[k]
                for g in range(G):
                    ordered_g[g] = 0.0
                if R > 0:
                    ox_left = _toll_orders(True, yi, t, ox_left, A, p_star, toll_cap, toll_grade,
                                           toll_lead, toll_partner, toll_exposure, toll_first,
                                           ox_per_mag, av, magnet, dt, pipe, ordered_g, order_y)  # fmt: skip
                irel_units = min(irel_avail, ox_left)

                # --- 1. feed: domestic first, then imports, working stock, stockpile ---
                enough = _feed_ratios(
                    inp, n_feed, feed, req, recycled_inv, ret_inv + irel_units + ov_tot, need_imp,
                    cs_share, cs_spare, ws, strat, ratio_m, cons, p_star, n_uses, uses, req_fg,
                    ratio_fg,
                )  # fmt: skip
                ret_inv, from_ret, from_irel = _feed_draw(
                    d, yi, inp, out, n_feed, feed, cons, recycled_inv, from_rec, ret_inv,
                    irel_units, ov_tot, ov_av, need_imp, cs_share, cs_spare, ws,
                    strat, t >= strat_from, sp_feed, k_nom, k_sp, feed_imp_y,
                    feed_rel_y, enough, p_star, ratio_fg, P_g,
                )  # fmt: skip

                # --- 1b. tolling from the oxide the units left; then retention or export ---
                ox_left -= from_irel
                for g in range(G):
                    arrive_g[g] = 0.0
                if R > 0:
                    ox_left = _toll_orders(False, yi, t, ox_left, A, p_star, toll_cap, toll_grade,
                                           toll_lead, toll_partner, toll_exposure, toll_first,
                                           ox_per_mag, av, magnet, dt, pipe, ordered_g, order_y)  # fmt: skip
                    for r in range(R):  # what arrives this step (ordered toll_lead steps ago)
                        slot = t % (toll_lead[r] + 1)
                        arrive_g[toll_grade[r]] += pipe[r, slot]
                        o_tolled[d, yi, r] += pipe[r, slot]
                        pipe[r, slot] = 0.0
                    o_toll_oxide[d, yi] += sep[yi] * dt - from_irel - ox_left
                keep = retention[yi] * max(ox_left, 0.0)
                if keep != 0.0:
                    ret_inv += keep  # held in India for the units
                    o_retained[d, yi] += keep
                exports_y += ox_left - keep

                # --- 2. magnets: tolled returns, imports, then working stock and stockpile ---
                _cover(inp, yi, k_step, mult, cover, cover_t, wsP, bareT, ratio)
                _magnets(d, yi, inp, out, A, DbT, P_g, arrive_g, De_sum, av, cs_share, cs_spare,
                         ws, wsb, need_mag, sup_bare, sup_emb, sp_mag, k_nom, k_sp, mag_bought_y,
                         mag_rel_y, toll_used_y, toll_stock_y, cover, cover_t, S, xs)  # fmt: skip

                # --- 3. allocation by priority tier: then sectors' own stock, the stockpile ---
                if _allocate(d, yi, inp, out, sup_bare, sup_emb, dk_b, dk_e, fr_b, fr_e, dk_r,
                             fr_r, Db, De, wsb, ws, strat, t >= strat_from,
                             short_b, short_s, mag_rel_y):  # fmt: skip
                    n_full += 1  # everyone served, nothing unmet: booked at year end

                # --- 4. rebuild working stock from what origins still offer ---
                _refill(d, yi, inp, out, n_refill, refill_list, req, need_mag, ws, wsb, want_s, DbT,
                        A, sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y,
                        cover, cover_t, S)  # fmt: skip
                if stockpiled:
                    for m in range(M):
                        if strat[m] != 0.0:
                            o_tonne_years[d, yi, m] += strat[m] * dt
                o_irel[d, yi] += from_irel + from_ret  # IREL's oxide to the units, kept or fresh
                sep_step = sep[yi] * dt
                sep_y += sep_step
                t += 1

            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            # demand is the same every step of a plan; what was served went into use
            _book_demand(d, yi, out, Db, De, spy - k0, n_full)
            for s in range(S):
                for g in range(G):
                    cohorts[s, g, yi] = o_served[d, yi, s, g]
            _book_year(d, yi, inp, out, feed_imp_y, feed_rel_y, mag_bought_y, mag_rel_y,
                       refill_y, el, sep_y, exports_y, order_y, toll_used_y, toll_stock_y, pipe)  # fmt: skip
            _end_of_life_year(d, yi, inp, out, cohorts, hist_eol, hist_use, eol_g, rec_t,
                              recycled_inv, strat, ws, ret_inv)  # fmt: skip

        # --- the draw's books, checked while they are in cache ---
        stocks = (o_stockpile_level, o_working, o_recycled, o_in_use, o_transit)
        _balance(d, o_flows, inflows, outflows, stocks, o_stock_start, in_use0, mc, gc, stocked,
                 o_residual, bal_stock, y_sh if d > lo else 0)  # fmt: skip
