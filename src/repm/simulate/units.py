"""The domestic magnet units within the kernel: the year's plan (demand per step, by grade and
priority tier; output by feed route and grade; the feed it needs) and each step's feed —
recycled and retained oxide, IREL's and overseas oxide first, then imports, working stock and
the strategic stockpile, the scarcest feed setting each route's output (Leontief). Inlined
where the kernel calls them (`jit.STAGE`)."""

from __future__ import annotations

from repm.chain.rules import switch_grades
from repm.simulate.arrays import EMBEDDED, MAGNET
from repm.simulate.jit import STAGE as _STEP
from repm.simulate.jit import njit
from repm.simulate.stock import _release, _take


@njit(**_STEP)
def _plan_year(yi, inp, mult, sw_on, Db0, Db, De, A, De_sum, dk_b, dk_e, target_g, p_star,
               req_fg, req):  # fmt: skip
    """Demand per step (bare and embedded, sector × grade; Db, De) and its sums by grade (A,
    De_sum) and by priority tier (dk_b, dk_e), then the units' plan: output by feed route and
    grade (p_star; capacity shared pro rata, buyers abroad from what India's buyers leave) and
    the feed it needs (req_fg, req). Makers in the switch's sectors who have moved off a grade
    (`sw_on`) buy `sw_share` of its bare demand one class down (`rules.switch_grades`)."""
    bare, emb, dt, tier, n_tiers = inp.bare, inp.emb, inp.dt, inp.tier, inp.n_tiers
    cap, export_dem, recipe = inp.cap, inp.export_dem, inp.recipe
    down, sw_share = inp.down, inp.sw_share
    S, G = Db.shape
    F, M = cap.shape[1], req.shape[0]
    for g in range(G):
        A[g] = 0.0
        De_sum[g] = 0.0
    for s in range(S):
        for g in range(G):
            Db0[s, g] = bare[yi, s, g] * mult * dt
            De[s, g] = emb[yi, s, g] * mult * dt
    switch_grades(Db0, sw_share, down, sw_on, Db)
    for s in range(S):
        for g in range(G):
            A[g] += Db[s, g]
            De_sum[g] += De[s, g]
    for k in range(n_tiers):
        for g in range(G):
            dk_b[k, g] = 0.0
            dk_e[k, g] = 0.0
            for s in range(S):
                if tier[s] == k:
                    dk_b[k, g] += Db[s, g]
                    dk_e[k, g] += De[s, g]
    C = 0.0
    for f in range(F):
        C += cap[yi, f] * dt
    A_tot = 0.0
    X_tot = 0.0  # buyers abroad: served from the capacity India's buyers leave
    for g in range(G):
        A_tot += A[g]
        X_tot += export_dem[yi, g] * dt
    left = max(C - A_tot, 0.0)
    for g in range(G):
        target_g[g] = min(A[g], C * A[g] / A_tot) if A_tot > 0 else 0.0
        if X_tot > 0:
            X_g = export_dem[yi, g] * dt
            target_g[g] += min(X_g, left * X_g / X_tot)
    for m in range(M):
        req[m] = 0.0
    for f in range(F):
        cap_share = cap[yi, f] * dt / C if C > 0 else 0.0
        for g in range(G):
            p_star[f, g] = target_g[g] * cap_share
            fresh_star = p_star[f, g] * inp.fresh_per_mag  # rules.fresh_alloy_per_magnet
            for m in range(M):
                req_fg[f, g, m] = fresh_star * recipe[f, g, m]
                req[m] += req_fg[f, g, m]


@njit(**_STEP)
def _feed_lists(req, group, feed, refill_list):
    """The materials the plan needs (feed) and those whose working stock is rebuilt (needed,
    or a bare magnet): a material nobody needs is neither bought, drawn nor refilled."""
    n_feed = 0
    n_refill = 0
    for m in range(req.shape[0]):
        if req[m] > 0:
            feed[n_feed] = m
            n_feed += 1
        if (req[m] > 0 or group[m] == MAGNET) and group[m] != EMBEDDED:
            refill_list[n_refill] = m
            n_refill += 1
    return n_feed, n_refill


@njit(**_STEP)
def _feed_ratios(inp, n_feed, feed, req, recycled_inv, dom_ndpr, need_imp, cs_share, cs_spare,
                 ws, strat, ratio_m, cons, p_star, n_uses, uses, req_fg, ratio_fg):  # fmt: skip
    """How much of each feed is within reach (ratio_m: domestic, `dom_ndpr` more for NdPr oxide,
    then what origins offer, working stock and stockpile), the feed each route uses at the
    scarcest feed's ratio (cons, ratio_fg) and the imports each feed would need (need_imp).
    Returns True when every feed is within reach (the plan stands)."""
    ndpr = inp.ndpr
    F, G = p_star.shape
    enough = True  # every feed within reach: units make their plan
    for i in range(n_feed):
        m = feed[i]
        dom = recycled_inv[m] + (dom_ndpr if m == ndpr else 0.0)
        need_imp[m] = max(req[m] - dom, 0.0)
        offered = need_imp[m] * cs_share[m] + cs_spare[m]  # usual shares, then spare
        within = dom + offered + ws[m] + strat[m]
        # x ≥ req gives x / req ≥ 1 (division rounds monotonically): skip it
        if within >= req[m]:
            ratio_m[m] = 1.0
        else:
            ratio_m[m] = min(1.0, within / req[m])
            enough = enough and ratio_m[m] == 1.0
    if enough:  # ratios all 1: feed used is the plan's (the same sum, term by term)
        for i in range(n_feed):
            cons[feed[i]] = req[feed[i]]
    else:
        for i in range(n_feed):
            cons[feed[i]] = 0.0
        for f in range(F):
            for g in range(G):
                r = 0.0
                if p_star[f, g] > 0:  # Leontief: the scarcest feed sets the output
                    r = 1.0
                    for k in range(n_uses[f, g]):
                        r = min(r, ratio_m[uses[f, g, k]])
                    for k in range(n_uses[f, g]):
                        m = uses[f, g, k]
                        cons[m] += r * req_fg[f, g, m]
                ratio_fg[f, g] = r
    return enough


@njit(**_STEP)
def _feed_draw(d, yi, inp, out, n_feed, feed, cons, recycled_inv, from_rec, ret_inv, irel_units,
               ov_tot, ov_av, need_imp, cs_share, cs_spare, ws, strat, strat_open, sp_feed, k_nom,
               k_sp, feed_imp_y, feed_rel_y, enough, p_star, ratio_fg, P_g):  # fmt: skip
    """The feed the units use (cons), drawn in order: recycled oxide, retained IREL oxide, fresh
    IREL oxide, overseas sources (pro rata to their offers), imports (usual shares, then spare),
    then working stock and the strategic stockpile (`strat`; none before the as-of date, while
    `strat_open` is False); the units' output (P_g by grade) follows. Returns (retained oxide
    left, retained oxide used, fresh IREL oxide used)."""
    ndpr = inp.ndpr
    K = inp.ov_oxide.shape[1]
    F, G = p_star.shape
    for i in range(n_feed):
        m = feed[i]
        from_rec[m] = min(cons[m], recycled_inv[m])
        recycled_inv[m] -= from_rec[m]
    from_ret = min(cons[ndpr] - from_rec[ndpr], ret_inv)  # retained before fresh
    ret_inv -= from_ret
    from_irel = min(cons[ndpr] - from_rec[ndpr] - from_ret, irel_units)
    from_ov = 0.0
    if K > 0 and ov_tot > 0:  # overseas sources pro rata to what each offers
        from_ov = min(max(cons[ndpr] - from_rec[ndpr] - from_ret - from_irel, 0.0), ov_tot)
        for k in range(K):
            out.overseas_used[d, yi, k] += from_ov * (ov_av[k] / ov_tot)
    for i in range(n_feed):
        m = feed[i]
        used = from_rec[m] + (from_ret + from_irel + from_ov if m == ndpr else 0.0)
        q = max(cons[m] - used, 0.0)
        bought = 0.0
        sp_feed[m] = 0.0
        if q > 0:  # nothing to buy: nothing is shipped
            nom, sp_feed[m] = _take(q, need_imp[m] * cs_share[m], cs_spare[m])
            bought = nom + sp_feed[m]
            k_nom[m] += nom
            k_sp[m] += sp_feed[m]
            feed_imp_y[m] += bought
        release, from_strat = _release(q - bought, m, ws, strat, inp.fit, strat_open)
        if release != 0.0:
            feed_rel_y[m] += release
            out.stock_draw[d, yi, m] += from_strat
        out.feed_used[d, yi, m] += cons[m]
    for g in range(G):
        P_g[g] = 0.0
    for f in range(F):
        for g in range(G):
            P = p_star[f, g] if enough else p_star[f, g] * ratio_fg[f, g]
            if P != 0.0:
                out.production[d, yi, f, g] += P
            P_g[g] += P
    return ret_inv, from_ret, from_irel
