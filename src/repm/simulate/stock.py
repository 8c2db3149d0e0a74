"""Buying and holding, within the kernel: an order from origins' offers then spare capacity
(`_take`); industry working stock and the strategic stockpile covering a feed's shortfall
(`_release`); buyers' own working stock of bare magnets by sector — filled by surplus tolled
magnets (`_spread`), run down towards its target where a grade flows in full (`_use_excess`),
rebuilt by a new order (`_refill`); what buyers hold when the horizon opens (`_start_stock`).
Inlined where the kernel calls them (`jit.STAGE`)."""

from __future__ import annotations

from repm.simulate.arrays import MAGNET
from repm.simulate.jit import STAGE as _STEP
from repm.simulate.jit import njit


@njit(**_STEP)
def _take(q, n_tot, s_tot):
    """Buy q of one material, at most what is offered: first from origins' nominal offers (n_tot
    in all, pro rata), then from their spare capacity (s_tot in all, pro rata). Returns the
    tonnes taken from the offers and from spare capacity."""
    from_nom = min(q, n_tot)
    return from_nom, min(q - from_nom, s_tot)


@njit(**_STEP)
def _release(rem, m, ws, strat, fit, strat_open):
    """Cover `rem` t of material m from industry working stock, then the strategic stockpile —
    of what is left, the share fit[m] it serves (`rules.release_gap`), none before the as-of
    date (`strat_open` False: history); returns what they gave together and what the strategic
    stockpile gave."""
    from_ws = min(rem, ws[m])
    from_strat = min((rem - from_ws) * fit[m], strat[m] if strat_open else 0.0)
    ws[m] -= from_ws
    if strat_open:
        strat[m] -= from_strat
    return from_ws + from_strat, from_strat


@njit(**_STEP)
def _spread(wsb, g, x, Db, A_g, S):
    """Add x t of grade g's bare magnets to the sectors' working stock by their share of its
    demand (evenly when nobody needs the grade). wsb, Db: grade × sector (padded)."""
    for s in range(S):
        wsb[g, s] += x * (Db[g, s] / A_g if A_g > 0 else 1.0 / S)


@njit(**_STEP)
def _flows_in_full(av, m):
    """No origin restricts material m this step."""
    for o in range(av.shape[0]):
        if av[o, m] < 1.0:
            return False
    return True


@njit(**_STEP)
def _use_excess(wsb, g, need, Db, A_g, cover, cover_t, refill_frac, S, xs):
    """Buyers holding more of grade g than their own target (their steps of cover × their share
    of the grade's import need `need`, plus `cover_t`'s tonnes of next year's use for a grade they
    start buying then, at that share) use a refill_frac part of the excess instead of buying, at
    most their share of the need; returns the tonnes they draw. Only where the grade flows in full:
    in a restriction a buyer keeps its stock for its own shortfall. Grade × sector arrays, the
    sector axis padded: the per-sector part runs over every lane without a branch (selects; the
    pads hold 0 and are never summed), then the draws are summed in sector order."""
    drawn = 0.0
    if A_g <= 0.0:
        return drawn
    for s in range(wsb.shape[1]):
        own = need * Db[g, s] / A_g
        held = cover[g, s] * own
        ct = cover_t[g, s]
        h2 = held + ct * need / A_g
        if ct != 0.0:  # else it adds 0 × need / A_g, +0.0: no bit changes
            held = h2
        x = min((wsb[g, s] - held) * refill_frac, own)
        w = wsb[g, s]
        if x > 0.0:
            w = w - x
        else:
            x = 0.0  # +0.0 added to a sum that starts at +0.0: no bit changes
        wsb[g, s] = w
        xs[s] = x
    for s in range(S):
        drawn += xs[s]
    return drawn


@njit(**_STEP)
def _refill(d, yi, inp, out, n_refill, refill_list, req, need_mag, ws, wsb, want_s, Db, A, sp_feed,
            sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover, cover_t, S):  # fmt: skip
    """Buyers rebuild working stock towards its target by a new order: usual shares as
    restricted, then the spare capacity this step's purchases left over. A bare magnet's target
    is each sector's (its steps of coming use, `_cover`, × its share of the grade's import
    need); what the order brings is shared by what each sector is short of its target.
    wsb, Db, cover, cover_t: grade × sector, the sector axis padded (per-sector work over every
    lane, sums over the S sectors in order)."""
    group, ws_frac, refill_frac = inp.group, inp.ws_frac, inp.refill_frac
    grade_of = inp.grade_of
    o_imports = out.imports
    O = a_spare.shape[0]  # noqa: E741
    SP = wsb.shape[1]
    for i in range(n_refill):
        m = refill_list[i]
        g = grade_of[m]
        if group[m] == MAGNET:
            want = 0.0
            nm = need_mag[m]
            a = A[g]
            if a > 0:
                for s in range(SP):
                    held = (cover[g, s] * nm * Db[g, s] + cover_t[g, s] * nm) / a
                    want_s[s] = max(held - wsb[g, s], 0.0) * refill_frac
            else:  # nobody buys the grade this year: all of next year's part is imported
                for s in range(SP):
                    want_s[s] = max(cover_t[g, s] - wsb[g, s], 0.0) * refill_frac
            for s in range(S):
                want += want_s[s]
        else:
            want = max(ws_frac * req[m] - ws[m], 0.0) * refill_frac
        if want > 0:
            # a new order: usual shares (as restricted), then the spare left over
            if sp_feed[m] == 0.0 and sp_mag[m] == 0.0:  # no spare used this step
                nom, spare_part = _take(want, want * cs_share[m], cs_spare[m])
                k_sp[m] += spare_part
            else:  # each origin's spare, less its part of what was bought from it
                w1 = sp_feed[m] / cs_spare[m]
                w2 = sp_mag[m] / cs_spare[m]
                left = 0.0
                for o in range(O):
                    s0 = a_spare[o, m]
                    left += max(s0 - s0 * w1 - s0 * w2, 0.0)
                nom, spare_part = _take(want, want * cs_share[m], left)
                if spare_part != 0.0:
                    x = spare_part / left
                    for o in range(O):
                        s0 = a_spare[o, m]
                        o_imports[d, yi, o, m] += max(s0 - s0 * w1 - s0 * w2, 0.0) * x
            k_nom[m] += nom
            refill = nom + spare_part
            refill_y[m] += refill
            if group[m] == MAGNET:
                got = refill / want
                for s in range(SP):
                    wsb[g, s] += want_s[s] * got
                held_m = 0.0  # summed in a register: the same additions in the same order
                for s in range(S):
                    held_m += wsb[g, s]
                ws[m] = held_m
            else:
                ws[m] += refill


@njit(**_STEP)
def _start_stock(inp, req, A, Db, p_star, ws, wsb, cover, cover_t, S):
    """Buyers' working stock when the horizon opens: the units' feed at `ws_frac` steps of use;
    each sector's bare magnets at its cover (`_cover`, its months at the first step) of its part
    of what the units do not make. wsb, Db, cover, cover_t: grade × sector (padded)."""
    magnet = inp.magnet
    G = wsb.shape[0]
    for m in range(req.shape[0]):
        ws[m] = inp.ws_frac * req[m]
    for g in range(G):
        made = 0.0
        for f in range(p_star.shape[0]):
            made += p_star[f, g]
        mg = magnet[g]
        ws[mg] = 0.0
        for s in range(S):
            x = max(A[g] - made, 0.0)
            wsb[g, s] = (
                (cover[g, s] * x * Db[g, s] + cover_t[g, s] * x) / A[g]
                if A[g] > 0
                else cover_t[g, s]
            )
            ws[mg] += wsb[g, s]


@njit(**_STEP)
def _cover_tables(inp, SP, wsP, bareT, ratio):
    """Per block, grade × sector (padded): each sector's months of cover (wsP), bare demand
    (bareT, a year of zeros past the horizon) and next year's over this year's (ratio: the same
    division `_cover` took per step; 0 in the last year, which never reads it)."""
    bare, ws_sector = inp.bare, inp.ws_sector
    Y, S, G = bare.shape
    for s in range(S):
        wsP[s] = ws_sector[s]
    for y in range(Y):
        for g in range(G):
            for s in range(S):
                bareT[y, g, s] = bare[y, s, g]
                if y + 1 < Y:  # read only where this year's use is > 0 (`_cover`): no 0/0
                    b = bare[y, s, g]
                    ratio[y, g, s] = bare[y + 1, s, g] / b if b > 0.0 else 0.0


@njit(**_STEP)
def _cover(inp, yi, k, mult, cover, cover_t, wsP, bareT, ratio):
    """Each sector's working-stock target at step k of year yi, by grade: buyers hold their
    months of the use ahead of them (forward cover), so where the window reaches into next year
    its steps count at next year's bare demand (a new motor line buys its stock before it starts,
    not in its first month). `cover`: in steps of the current use; `cover_t`: tonnes of next year's
    use (at this year's demand multiplier `mult`) for a grade the sector buys none of loose this
    year (but for what a grade switch moves into it, counted in `cover` for this year's steps
    only) and will next year — a multiple of a use of 0 would hold nothing. Grade × sector, the
    sector axis padded (pads: no cover, so 0), every lane computed without a branch (selects of
    the same expressions) from the block's tables (`_cover_tables`)."""
    dt = inp.dt
    G, SP = cover.shape
    rest = inp.spy - 1 - k  # steps left in this year after this one
    last = yi + 1 >= bareT.shape[0] - 1
    yn = yi + 1
    for g in range(G):
        for s in range(SP):
            w = wsP[s]
            into = w - rest
            b0 = bareT[yi, g, s]
            c_in = rest + into * ratio[yi, g, s]
            t_in = into * bareT[yn, g, s] * mult * dt
            full = into <= 0.0 or last
            c = w
            ct = 0.0
            if not full:
                if b0 <= 0.0:  # only a switched-in use now: this year's months of it
                    c = rest
                    ct = t_in
                else:
                    c = c_in
            cover[g, s] = c
            cover_t[g, s] = ct


@njit(**_STEP)
def _transpose(Db, DbT):
    """DbT[g, s] = Db[s, g] (DbT's pads stay 0)."""
    S, G = Db.shape
    for g in range(G):
        for s in range(S):
            DbT[g, s] = Db[s, g]
