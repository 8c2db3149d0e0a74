"""The kernel's stages within a step (`repm.simulate.kernel`'s rule, items 0–3): what origins
offer this step, the grade switch, tolling orders, magnets, and allocation to sectors (then each
sector's own working stock and the strategic stockpile); buying and holding are in `stock`. Compiled with the kernel; the per-step stages are inlined where they
are called (`jit.STAGE`), so a stage of its own costs no call in the hot loop."""

from __future__ import annotations

from repm.chain.rules import toll_factor
from repm.simulate.jit import KERNEL as _JIT
from repm.simulate.jit import STAGE as _STEP
from repm.simulate.jit import njit
from repm.simulate.stock import _flows_in_full, _spread, _take, _use_excess


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


@njit(**_STEP)
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
    for m in range(a_share.shape[1]):  # each sum in registers, over origins in order
        x = 0.0
        y = 0.0
        for o in range(a_share.shape[0]):
            x += a_share[o, m]
            y += a_spare[o, m]
        cs_share[m] = x
        cs_spare[m] = y


@njit(**_JIT)
def _all_available(share, spare, a_share, a_spare, cs_share, cs_spare):
    """Every origin ships all it usually does: a_share = share, a_spare = spare."""
    for o in range(share.shape[0]):
        for m in range(share.shape[1]):
            a_share[o, m] = share[o, m]
            a_spare[o, m] = spare[o, m]
    _column_sums(a_share, a_spare, cs_share, cs_spare)


@njit(**_JIT)
def _shares_change(share, yi):
    """Whether year yi's usual import shares differ from the year before's (a plan's begin)."""
    if yi == 0:
        return False
    for o in range(share.shape[1]):
        for m in range(share.shape[2]):
            if share[yi, o, m] != share[yi - 1, o, m]:
                return True
    return False


@njit(**_JIT)
def _reshare(share, spare, av, a_share, a_spare, cs_share, cs_spare):
    """New usual shares under the availability in force: a_share = av × share (av is 1 where
    nothing is restricted, so 1 × share is share, as `_all_available` writes it)."""
    for o in range(share.shape[0]):
        for m in range(share.shape[1]):
            a_share[o, m] = av[o, m] * share[o, m]
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


@njit(**_JIT)
def _targeted(target, hit):
    """The origin × material pairs some restriction event targets, into hit (pair × (origin,
    material)); returns how many. The others are never restricted."""
    n_hit = 0
    for o in range(target.shape[1]):
        for m in range(target.shape[2]):
            for e in range(target.shape[0]):
                if target[e, o, m] != 0.0:
                    hit[n_hit, 0] = o
                    hit[n_hit, 1] = m
                    n_hit += 1
                    break
    return n_hit


@njit(**_STEP)
def _step_availability(d, yi, t, per, inp, o_imports, av, a_share, a_spare, cs_share, cs_spare,
                       k_nom, k_sp, lv, all_available, hit, n_hit):  # fmt: skip
    """This step's availability of each origin × material (av), × usual share and × spare
    (a_share, a_spare) and their sums over origins; returns whether everything is available.
    Speed, kept apart from the rule: imports bought so far are booked by origin (`_flush`) only
    when availability changes, and an unrestricted step reuses share and spare as they are;
    in a restricted one only the n_hit origin × material pairs some event targets (`_targeted`,
    `hit`) can be less than available."""
    dense, avail, level, target = inp.dense, inp.avail, inp.level, inp.target
    # this year's usual shares, share[ys, o, m]: indexed, not a view taken every step (a view
    # is a new array, with its reference count)
    share = inp.share
    ys = yi if share.shape[0] > 1 else 0
    spare, ramp = inp.spare, inp.ramp
    O, M = share.shape[1], share.shape[2]  # noqa: E741
    EV = target.shape[0]
    # spare capacity ramps up after a restriction spell begins: this step's mean of the ramp
    rp = ramp[d if ramp.shape[0] > 1 else 0, 0]
    if ramp.shape[1] > 1:
        rp = 0.0
        for k in range(per):
            rp += ramp[d if ramp.shape[0] > 1 else 0, t * per + k]
        if per != 1:  # x / 1 is x, bit for bit (speed: a month's step divides by nothing)
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
                a_share[o, m] = x * share[ys, o, m]
                a_spare[o, m] = x * spare[o, m] * rp
        _column_sums(a_share, a_spare, cs_share, cs_spare)
    else:
        active = False
        for e in range(EV):
            acc = 0.0
            for k in range(per):
                acc += level[d, t * per + k, e]
            lv[e] = acc / per if per != 1 else acc  # x / 1 is x
            if lv[e] != 0.0:
                active = True
        if active:
            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            # a pair no event targets stays available (a factor 1 − lv × 0 is 1, and 1 × x is
            # x: skipping it changes no bit): there av is 1 and a_share is share already
            for o in range(O):
                for m in range(M):
                    a_spare[o, m] = spare[o, m] * rp
            for i in range(n_hit):
                o, m = hit[i, 0], hit[i, 1]
                x = 1.0
                for e in range(EV):
                    x *= 1.0 - lv[e] * target[e, o, m]
                av[o, m] = x
                a_share[o, m] = x * share[ys, o, m]
                a_spare[o, m] = x * spare[o, m] * rp
            _column_sums(a_share, a_spare, cs_share, cs_spare)
            all_available = False
        elif not all_available:  # everything available again: 1 × share is share
            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            _all_available(share[ys], spare, a_share, a_spare, cs_share, cs_spare)
            all_available = True
            av[:] = 1.0
    return all_available


@njit(**_STEP)
def _allocate(d, yi, inp, out, sup_bare, sup_emb, dk_b, dk_e, fr_b, fr_e, dk_r, fr_r, Db, De,
              wsb, ws, strat, strat_open, short_b, short_s, mag_rel_y):  # fmt: skip
    """Supply bought or made this step goes to sectors tier by tier, pro rata within a tier.
    A sector's bare-magnet shortfall comes out of its own working stock (`wsb`), then the
    strategic stockpile — of what is left, the share fit it serves (`rules.release_gap`), tier by
    tier, from the as-of date (`strat_open`); the rest is unmet. Returns True when every sector
    is served in full from this step's supply (then nothing is booked here: the year's end
    books served demand at once). Db, De: sector × grade; wsb: grade × sector (padded)."""
    tier, magnet, fit = inp.tier, inp.magnet, inp.fit
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
        short_s[s] = 0.0
    for g in range(G):
        m = magnet[g]
        # each sector's bare shortfall from its own working stock
        from_ws = 0.0
        rem = 0.0
        for k in range(dk_r.shape[0]):
            dk_r[k, g] = 0.0
        for s in range(S):
            sh = Db[s, g] - Db[s, g] * fr_b[tier[s], g]
            x = min(sh, wsb[g, s])
            if x > 0.0:
                wsb[g, s] -= x
                from_ws += x
            short_b[s] = sh - x
            dk_r[tier[s], g] += sh - x
            rem += sh - x
        # … then the strategic stockpile, tier by tier
        rel = min(rem * fit[m], strat[m] if strat_open else 0.0) if rem > 0.0 else 0.0
        if rel > 0.0:
            strat[m] -= rel
            _tiers(rel, dk_r, g, fr_r)
        else:
            for k in range(dk_r.shape[0]):
                fr_r[k, g] = 0.0
        if from_ws > 0.0:
            held_m = 0.0  # summed in a register: the same additions in the same order
            for s in range(S):
                held_m += wsb[g, s]
            ws[m] = held_m
        if from_ws + rel != 0.0:
            mag_rel_y[m] += from_ws + rel
            out.stock_draw[d, yi, m] += rel
        for s in range(S):
            ub = short_b[s] - short_b[s] * fr_r[tier[s], g]
            se = De[s, g] * fr_e[tier[s], g]
            short = ub + (De[s, g] - se)
            short_total += short
            short_s[s] += short
            o_unmet[d, yi, s, g] += short
            o_unmet_bare[d, yi, s, g] += ub
            o_served[d, yi, s, g] += (Db[s, g] - ub) + se
    if short_total > 1e-9:
        o_short_steps[d, yi] += 1.0
        for s in range(S):
            if short_s[s] > 1e-9:
                out.short_sector[d, yi, s] += 1.0
    return False


@njit(**_STEP)
def _magnets(d, yi, inp, out, A, Db, P_g, arrive_g, De_sum, av, cs_share, cs_spare, ws, wsb,
             need_mag, sup_bare, sup_emb, sp_mag, k_nom, k_sp, mag_bought_y, mag_rel_y,
             toll_used_y, toll_stock_y, cover, cover_t, S, xs):  # fmt: skip
    """Magnets domestic output does not cover, by grade: tolled magnets arriving (a surplus to
    the sectors' working stock), then imports (usual shares, then spare); magnets inside
    imported sub-assemblies are only imported. Where a grade flows in full, buyers above their
    working-stock target use the excess first (`_use_excess`). Sets the bare and embedded
    supply each grade has this step (sup_bare, sup_emb); in a shortage stocks are drawn in
    `_allocate`, by sector. Db (this step's bare demand), wsb, cover and cover_t are grade ×
    sector, the sector axis padded (`loop._block`); S sectors."""
    magnet, embedded = inp.magnet, inp.embedded
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
            _spread(wsb, g, arrive_g[g] - t_used, Db, A[g], S)
        need_mag[magnet[g]] = gap - t_used
        need_mag[embedded[g]] = De_sum[g]
        sup_bare[g] = P_g[g] + t_used
        sup_emb[g] = 0.0
        for j in range(2):
            m = magnet[g] if j == 0 else embedded[g]
            bought = 0.0
            sp_mag[m] = 0.0
            q = need_mag[m]
            if j == 0 and q > 0 and _flows_in_full(av, m):
                used = _use_excess(wsb, g, q, Db, A[g], cover, cover_t, inp.refill_frac, S, xs)
                if used > 0.0:
                    q -= used
                    sup_bare[g] += used
                    mag_rel_y[m] += used
                    held_m = 0.0  # summed in a register: the same additions in the same order
                    for s in range(S):
                        held_m += wsb[g, s]
                    ws[m] = held_m
            if q > 0:
                nom, sp_mag[m] = _take(q, q * cs_share[m], cs_spare[m])
                bought = nom + sp_mag[m]
                k_nom[m] += nom
                k_sp[m] += sp_mag[m]
                mag_bought_y[m] += bought
            if j == 0:
                sup_bare[g] += bought
            else:
                sup_emb[g] = bought  # embedded magnets cannot be stocked


@njit(**_STEP)
def _switch(sw_step, d, t, sw_on):
    """Makers switch off a grade, and stay switched, at the step `shocks.switch_steps` worked
    out for it from the draw's availability (the rule of `risk.grade_switch`, which the planner
    reads too). Returns whether a grade switched now."""
    dd = d if sw_step.shape[0] > 1 else 0
    changed = False
    for g in range(sw_on.shape[0]):
        if sw_on[g] == 0.0 and sw_step[dd, g] == t:
            sw_on[g] = 1.0
            changed = True
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
