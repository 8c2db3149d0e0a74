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
def _spread(wsb, g, x, Db, A_g):
    """Add x t of grade g's bare magnets to the sectors' working stock by their share of its
    demand (evenly when nobody needs the grade)."""
    S = wsb.shape[0]
    for s in range(S):
        wsb[s, g] += x * (Db[s, g] / A_g if A_g > 0 else 1.0 / S)


@njit(**_STEP)
def _flows_in_full(av, m):
    """No origin restricts material m this step."""
    for o in range(av.shape[0]):
        if av[o, m] < 1.0:
            return False
    return True


@njit(**_STEP)
def _use_excess(wsb, g, need, Db, A_g, cover, cover_t, refill_frac):
    """Buyers holding more of grade g than their own target (their steps of cover × their share
    of the grade's import need `need`, plus `cover_t`'s tonnes of next year's use for a grade they
    start buying then, at that share) use a refill_frac part of the excess instead of buying, at
    most their share of the need; returns the tonnes they draw. Only where the grade flows in full:
    in a restriction a buyer keeps its stock for its own shortfall."""
    drawn = 0.0
    if A_g <= 0.0:
        return drawn
    for s in range(wsb.shape[0]):
        own = need * Db[s, g] / A_g
        held = cover[s, g] * own
        if cover_t[s, g] != 0.0:  # else it adds 0 × need / A_g, +0.0: no bit changes (speed)
            held += cover_t[s, g] * need / A_g
        x = min((wsb[s, g] - held) * refill_frac, own)
        if x > 0.0:
            wsb[s, g] -= x
            drawn += x
    return drawn


@njit(**_STEP)
def _refill(d, yi, inp, out, n_refill, refill_list, req, need_mag, ws, wsb, want_s, Db, A, sp_feed,
            sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover, cover_t):  # fmt: skip
    """Buyers rebuild working stock towards its target by a new order: usual shares as
    restricted, then the spare capacity this step's purchases left over. A bare magnet's target
    is each sector's (its steps of coming use, `_cover`, × its share of the grade's import
    need); what the order brings is shared by what each sector is short of its target."""
    group, ws_frac, refill_frac = inp.group, inp.ws_frac, inp.refill_frac
    grade_of = inp.grade_of
    o_imports = out.imports
    O = a_spare.shape[0]  # noqa: E741
    S = wsb.shape[0]
    for i in range(n_refill):
        m = refill_list[i]
        g = grade_of[m]
        if group[m] == MAGNET:
            want = 0.0
            for s in range(S):
                held = (  # nobody buys the grade this year: all of next year's part is imported
                    (cover[s, g] * need_mag[m] * Db[s, g] + cover_t[s, g] * need_mag[m]) / A[g]
                    if A[g] > 0
                    else cover_t[s, g]
                )
                want_s[s] = max(held - wsb[s, g], 0.0) * refill_frac
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
                held_m = 0.0  # summed in a register: the same additions in the same order
                for s in range(S):
                    wsb[s, g] += want_s[s] * got
                    held_m += wsb[s, g]
                ws[m] = held_m
            else:
                ws[m] += refill


@njit(**_STEP)
def _start_stock(inp, req, A, Db, p_star, ws, wsb, cover, cover_t):
    """Buyers' working stock when the horizon opens: the units' feed at `ws_frac` steps of use;
    each sector's bare magnets at its cover (`_cover`, its months at the first step) of its part
    of what the units do not make."""
    magnet = inp.magnet
    S, G = wsb.shape
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
            wsb[s, g] = (
                (cover[s, g] * x * Db[s, g] + cover_t[s, g] * x) / A[g]
                if A[g] > 0
                else cover_t[s, g]
            )
            ws[mg] += wsb[s, g]


@njit(**_STEP)
def _cover(inp, yi, k, mult, cover, cover_t):
    """Each sector's working-stock target at step k of year yi, by grade: buyers hold their
    months of the use ahead of them (forward cover), so where the window reaches into next year
    its steps count at next year's bare demand (a new motor line buys its stock before it starts,
    not in its first month). `cover`: in steps of the current use; `cover_t`: tonnes of next year's
    use (at this year's demand multiplier `mult`) for a grade the sector buys none of loose this
    year (but for what a grade switch moves into it, counted in `cover` for this year's steps
    only) and will next year — a multiple of a use of 0 would hold nothing."""
    bare, ws_sector, dt = inp.bare, inp.ws_sector, inp.dt
    S, G = cover.shape
    rest = inp.spy - 1 - k  # steps left in this year after this one
    last = yi + 1 >= bare.shape[0]
    for s in range(S):
        w = ws_sector[s]
        into = w - rest
        for g in range(G):
            cover_t[s, g] = 0.0
            if into <= 0.0 or last:
                cover[s, g] = w
            elif bare[yi, s, g] <= 0.0:  # only a switched-in use now: this year's months of it
                cover[s, g] = rest
                cover_t[s, g] = into * bare[yi + 1, s, g] * mult * dt
            else:
                cover[s, g] = rest + into * (bare[yi + 1, s, g] / bare[yi, s, g])
