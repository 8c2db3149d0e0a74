"""The kernel's stages within a step (`repm.simulate.kernel`'s rule, items 0–4): what origins
offer this step, tolling orders, magnets, allocation to sectors and the working-stock refill, and
the small rules they share. Compiled with the kernel; the per-step stages are inlined where they
are called (`jit.STAGE`), so a stage of its own costs no call in the hot loop."""

from __future__ import annotations

from repm.chain.rules import toll_factor
from repm.simulate.arrays import MAGNET
from repm.simulate.jit import KERNEL as _JIT
from repm.simulate.jit import STAGE as _STEP
from repm.simulate.jit import njit


@njit(**_JIT)
def _take(q, n_tot, s_tot):
    """Buy q of one material, at most what is offered: first from origins' nominal offers (n_tot
    in all, pro rata), then from their spare capacity (s_tot in all, pro rata). Returns the
    tonnes taken from the offers and from spare capacity."""
    from_nom = min(q, n_tot)
    return from_nom, min(q - from_nom, s_tot)


@njit(**_JIT)
def _release(rem, m, ws, strat, fit):
    """Cover `rem` t of material m from industry working stock, then the strategic stockpile —
    of what is left, the share fit[m] it serves (`rules.release_gap`); returns what they gave."""
    from_ws = min(rem, ws[m])
    from_strat = min((rem - from_ws) * fit[m], strat[m])
    ws[m] -= from_ws
    strat[m] -= from_strat
    return from_ws + from_strat


@njit(**_JIT)
def _flush(imports, d, y, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp):
    """Book by origin the tonnes bought since the availability last changed: k_nom of each
    material from origins' offers (each ships its part a_share / cs_share), k_sp from spare
    capacity (a_spare / cs_spare); then zero them."""
    for m in range(a_share.shape[1]):
        if k_nom[m] != 0.0:
            x = k_nom[m] / cs_share[m]
            for o in range(a_share.shape[0]):
                imports[d, y, o, m] += a_share[o, m] * x
            k_nom[m] = 0.0
        if k_sp[m] != 0.0:
            x = k_sp[m] / cs_spare[m]
            for o in range(a_spare.shape[0]):
                imports[d, y, o, m] += a_spare[o, m] * x
            k_sp[m] = 0.0


@njit(**_JIT)
def _tiers(supply, dk, g, frac):
    """Serve sectors tier by tier, pro rata within a tier: `supply` of grade g, `dk` tier × grade
    demand. Writes the share of demand served per tier into frac[:, g]; returns True when every
    tier is served in full."""
    remaining = supply
    full = True
    for k in range(dk.shape[0]):
        # supply and demand are sums taken in different orders: within round-off, serve in full
        if remaining >= dk[k, g] * (1 - 1e-12):
            fr = 1.0
        else:
            fr = min(1.0, remaining / dk[k, g]) if dk[k, g] > 0 else 0.0
            full = False
        frac[k, g] = fr
        remaining = max(remaining - fr * dk[k, g], 0.0)
    return full


@njit(**_JIT)
def _column_sums(a_share, a_spare, cs_share, cs_spare):
    """Sums over origins (the first axis): what is offered of each material per unit ordered,
    and spare capacity."""
    for m in range(a_share.shape[1]):
        cs_share[m] = 0.0
        cs_spare[m] = 0.0
    for o in range(a_share.shape[0]):
        for m in range(a_share.shape[1]):
            cs_share[m] += a_share[o, m]
            cs_spare[m] += a_spare[o, m]


@njit(**_JIT)
def _all_available(share, spare, a_share, a_spare, cs_share, cs_spare):
    """Every origin ships all it usually does: a_share = share, a_spare = spare."""
    for o in range(share.shape[0]):
        for m in range(share.shape[1]):
            a_share[o, m] = share[o, m]
            a_spare[o, m] = spare[o, m]
    _column_sums(a_share, a_spare, cs_share, cs_spare)


@njit(**_JIT)
def _toll_orders(first, yi, t, ox_left, A, p_star, toll_cap, toll_grade, toll_lead, toll_partner,
                 toll_exposure, toll_first, ox_per_mag, av, magnet, dt, pipe, ordered_g, order_y):  # fmt: skip
    """Magnets ordered this step from the tolling partners that take IREL oxide `first` (or
    from what the units left): each up to its capacity, less what restrictions stop (its
    partner's, and those of origins whose licence its returns need), up to the oxide left and
    the magnets domestic units leave to buy. Orders arrive `toll_lead` steps later. Returns
    the oxide still left."""
    for r in range(toll_cap.shape[1]):
        if toll_first[r] != first or toll_cap[yi, r] == 0.0:
            continue
        g = toll_grade[r]
        mg = magnet[g]
        factor = toll_factor(av[:, mg], toll_partner[r], toll_exposure[r])
        planned = 0.0
        for f in range(p_star.shape[0]):
            planned += p_star[f, g]
        gap = max(A[g] - planned - ordered_g[g], 0.0)
        q = min(toll_cap[yi, r] * dt * factor, gap)
        if ox_per_mag[g] > 0:
            q = min(q, ox_left / ox_per_mag[g])
        if q > 0.0:
            pipe[r, (t + toll_lead[r]) % (toll_lead[r] + 1)] += q
            ox_left -= q * ox_per_mag[g]
            ordered_g[g] += q
            order_y[g] += q
    return max(ox_left, 0.0)


@njit(**_STEP)
def _step_availability(d, yi, t, per, inp, o_imports, av, a_share, a_spare, cs_share, cs_spare,
                       k_nom, k_sp, lv, all_available):  # fmt: skip
    """This step's availability of each origin × material (av), × usual share and × spare
    (a_share, a_spare) and their sums over origins; returns whether everything is available.
    Speed, kept apart from the rule: imports bought so far are booked by origin (`_flush`) only
    when availability changes, and an unrestricted step reuses share and spare as they are."""
    dense, avail, level, target = inp.dense, inp.avail, inp.level, inp.target
    share, spare, ramp = inp.share, inp.spare, inp.ramp
    O, M = share.shape  # noqa: E741
    EV = target.shape[0]
    # spare capacity ramps up after a restriction spell begins: this step's mean of the ramp
    rp = ramp[d if ramp.shape[0] > 1 else 0, 0]
    if ramp.shape[1] > 1:
        rp = 0.0
        for k in range(per):
            rp += ramp[d if ramp.shape[0] > 1 else 0, t * per + k]
        rp = rp / per
    if dense:
        _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
        da = d if avail.shape[0] > 1 else 0
        ta = min(t, avail.shape[1] - 1)
        for o in range(O):
            oa = o if avail.shape[2] > 1 else 0
            for m in range(M):
                x = avail[da, ta, oa, m if avail.shape[3] > 1 else 0]
                av[o, m] = x
                a_share[o, m] = x * share[o, m]
                a_spare[o, m] = x * spare[o, m] * rp
        _column_sums(a_share, a_spare, cs_share, cs_spare)
    else:
        active = False
        for e in range(EV):
            acc = 0.0
            for k in range(per):
                acc += level[d, t * per + k, e]
            lv[e] = acc / per
            if lv[e] != 0.0:
                active = True
        if active:
            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            for o in range(O):
                for m in range(M):
                    x = 1.0
                    for e in range(EV):
                        x *= 1.0 - lv[e] * target[e, o, m]
                    av[o, m] = x
                    a_share[o, m] = x * share[o, m]
                    a_spare[o, m] = x * spare[o, m] * rp
            _column_sums(a_share, a_spare, cs_share, cs_spare)
            all_available = False
        elif not all_available:  # everything available again: 1 × share is share
            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            _all_available(share, spare, a_share, a_spare, cs_share, cs_spare)
            all_available = True
            av[:] = 1.0
    return all_available


@njit(**_STEP)
def _allocate(d, yi, out, sup_bare, sup_emb, dk_b, dk_e, fr_b, fr_e, Db, De, tier):
    """Supply to sectors tier by tier, pro rata within a tier; what is left over is unmet.
    Returns True when every sector is served in full (then nothing is booked here: the year's
    end books served demand at once)."""
    o_unmet, o_unmet_bare, o_served, o_short_steps = (
        out.unmet,
        out.unmet_bare,
        out.served,
        out.short_steps,
    )
    S, G = Db.shape
    full = True
    for g in range(G):
        full &= _tiers(sup_bare[g], dk_b, g, fr_b)
        full &= _tiers(sup_emb[g], dk_e, g, fr_e)
    if full:  # x − x × 1 is 0: nothing unmet
        return True
    short_total = 0.0
    for s in range(S):
        for g in range(G):
            sb = Db[s, g] * fr_b[tier[s], g]
            se = De[s, g] * fr_e[tier[s], g]
            short = (Db[s, g] - sb) + (De[s, g] - se)
            short_total += short
            o_unmet[d, yi, s, g] += short
            o_unmet_bare[d, yi, s, g] += Db[s, g] - sb
            o_served[d, yi, s, g] += sb + se
    if short_total > 1e-9:
        o_short_steps[d, yi] += 1.0
    return False


@njit(**_STEP)
def _magnets(d, yi, inp, out, A, P_g, arrive_g, De_sum, cs_share, cs_spare, ws, strat, need_mag,
             sup_bare, sup_emb, sp_mag, k_nom, k_sp, mag_bought_y, mag_rel_y, toll_used_y,
             toll_stock_y):  # fmt: skip
    """Magnets domestic output does not cover, by grade: tolled magnets arriving (a surplus to
    working stock), then imports (usual shares, then spare), then working stock, then the
    strategic stockpile; magnets inside imported sub-assemblies are only imported. Sets the
    bare and embedded supply each grade has this step (sup_bare, sup_emb)."""
    magnet, embedded = inp.magnet, inp.embedded
    o_stock_draw = out.stock_draw
    G = A.shape[0]
    for g in range(G):
        # India's buyers first; what the units make beyond them goes to buyers abroad
        sold = min(max(P_g[g] - A[g], 0.0), inp.export_dem[yi, g] * inp.dt)
        if sold != 0.0:
            P_g[g] -= sold
            out.magnet_exports[d, yi, g] += sold
        gap = max(A[g] - P_g[g], 0.0)
        t_used = min(arrive_g[g], gap)
        if arrive_g[g] != 0.0:
            toll_used_y[g] += t_used
            toll_stock_y[g] += arrive_g[g] - t_used  # more than needed: stocked
            ws[magnet[g]] += arrive_g[g] - t_used
        need_mag[magnet[g]] = gap - t_used
        need_mag[embedded[g]] = De_sum[g]
        sup_bare[g] = P_g[g] + t_used
        sup_emb[g] = 0.0
        for j in range(2):
            m = magnet[g] if j == 0 else embedded[g]
            bought = 0.0
            sp_mag[m] = 0.0
            if need_mag[m] > 0:
                nom, sp_mag[m] = _take(need_mag[m], need_mag[m] * cs_share[m], cs_spare[m])
                bought = nom + sp_mag[m]
                k_nom[m] += nom
                k_sp[m] += sp_mag[m]
                mag_bought_y[m] += bought
            release = _release(need_mag[m] - bought, m, ws, strat, inp.fit)
            if release != 0.0:
                mag_rel_y[m] += release
                o_stock_draw[d, yi, m] += release
            if j == 0:
                sup_bare[g] += bought + release
            else:
                sup_emb[g] = bought  # embedded magnets cannot be stocked


@njit(**_STEP)
def _refill(d, yi, inp, out, n_refill, refill_list, req, need_mag, ws, sp_feed, sp_mag, a_spare,
            cs_share, cs_spare, k_nom, k_sp, refill_y):  # fmt: skip
    """Buyers rebuild working stock towards its target (months of use) by a new order: usual
    shares as restricted, then the spare capacity this step's purchases left over."""
    group, ws_frac, refill_frac = inp.group, inp.ws_frac, inp.refill_frac
    o_imports = out.imports
    O = a_spare.shape[0]  # noqa: E741
    for i in range(n_refill):
        m = refill_list[i]
        mag = need_mag[m] if group[m] == MAGNET else 0.0
        want = max(ws_frac * (req[m] + mag) - ws[m], 0.0) * refill_frac
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
            ws[m] += refill
            refill_y[m] += refill


@njit(**_STEP)
def _switch(inp, av, per, sw_on, sw_months):
    """Makers switch off a grade, and stay switched, in a step its magnets are restricted (some
    origin's availability below 1) after `sw_after` months of restriction without a break — the
    time to qualify a lighter grade. Counts the months; returns whether a grade switched now."""
    magnet, down = inp.magnet, inp.down
    changed = False
    for g in range(sw_on.shape[0]):
        if down[g] < 0 or sw_on[g]:
            continue
        restricted = False
        for o in range(av.shape[0]):
            restricted = restricted or av[o, magnet[g]] < 1.0
        if not restricted:
            sw_months[g] = 0.0
        elif sw_months[g] >= inp.sw_after:
            sw_on[g] = True
            changed = True
        else:
            sw_months[g] += per
    return changed


@njit(**_STEP)
def _book_demand(d, yi, out, Db, De, steps, n_full):
    """Demand of `steps` steps at this plan's per-step demand, and what was served in the
    `n_full` of them in which every sector was served in full (nothing else booked it)."""
    S, G = Db.shape
    for s in range(S):
        for g in range(G):
            x = Db[s, g] + De[s, g]
            out.demand[d, yi, s, g] += x * steps
            out.served[d, yi, s, g] += x * n_full
