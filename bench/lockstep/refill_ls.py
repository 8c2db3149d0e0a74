"""The refill (`repm.simulate.stock._refill`) for 8 draws in lockstep: every scalar of its state an
array of lanes (the last axis, contiguous), each lane one draw, the lanes' loop innermost.

Per lane the same floating-point operations in the same order as `_refill` (fastmath off, the
engine's options): a data-dependent branch becomes both sides computed and one selected per lane
(`a if c else b`; Numba's max(a, b) is select(b > a, b, a) and min(a, b) select(b < a, b, a), written
out as such in the lanes' loops, where the builtins kept LLVM from vectorising); a lane's update is its new value where the lane takes that path, else its old
value (a select, not an addition of 0: no signed zero can change). The per-draw list of materials
to rebuild (`refill_list`) becomes a mask `inl` (material × lane); a material no lane rebuilds is
skipped. The path where spare capacity was already used this step (each origin's spare left, a
loop over origins, imports booked by origin) runs, when some lane takes it, either lane by lane
in those lanes only (`vec` False) or for every lane with selects (`vec` True).

Shapes (L lanes): req, need_mag, ws, sp_feed, sp_mag, cs_share, cs_spare, k_nom, k_sp, refill_y,
inl: M × L; wsb, Db, cover, cover_t: G × SP × L (sectors 0 … S − 1 read, SP ≥ S so the stored
bytes match the scalar stage's padded arrays); want_s: SP × L; A: G × L; a_spare, imports: O × M ×
L (imports: this step's year's slice of `out.imports` per lane). sc: 6 × L scratch (want, nom,
spp, rf, got, hm); bsc: 2 × L booleans (take, common). (At most ~30 arguments: CPython passes
more as *args, which Numba cannot inline.)
"""

from __future__ import annotations

from repm.simulate.arrays import MAGNET
from repm.simulate.jit import STAGE, njit


@njit(**STAGE)
def _refill_ls(L, vec, group, grade_of, ws_frac, refill_frac, inl, req, need_mag, ws, wsb, want_s, Db,
               A, sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover,
               cover_t, imports, S, sc, bsc):  # fmt: skip
    want, nom, spp, rf, got, hm = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    take, common = bsc[0], bsc[1]
    M = req.shape[0]
    O = a_spare.shape[0]  # noqa: E741
    for m in range(M):
        anyin = False
        for l in range(L):  # noqa: E741
            anyin |= inl[m, l]
        if not anyin:
            continue
        g = grade_of[m]
        mag = group[m] == MAGNET  # the same in every lane
        if mag:
            for l in range(L):  # noqa: E741
                want[l] = 0.0
            for s in range(S):
                for l in range(L):  # noqa: E741
                    nm = need_mag[m, l]
                    a = A[g, l]
                    w = wsb[g, s, l]
                    ct = cover_t[g, s, l]
                    held = (cover[g, s, l] * nm * Db[g, s, l] + ct * nm) / a
                    x1 = held - w
                    x2 = ct - w
                    x1 = (0.0 if 0.0 > x1 else x1) * refill_frac  # max(x1, 0.0), its select
                    x2 = (0.0 if 0.0 > x2 else x2) * refill_frac
                    want_s[s, l] = x1 if a > 0 else x2
            for s in range(S):
                for l in range(L):  # noqa: E741
                    want[l] += want_s[s, l]
        else:
            for l in range(L):  # noqa: E741
                x = ws_frac * req[m, l] - ws[m, l]
                want[l] = (0.0 if 0.0 > x else x) * refill_frac
        n_rare = 0
        for l in range(L):  # noqa: E741
            w = want[l]
            tk = inl[m, l] & (w > 0)
            cm = (sp_feed[m, l] == 0.0) & (sp_mag[m, l] == 0.0)  # no spare used this step
            take[l] = tk
            common[l] = cm
            n_rare += tk & (not cm)
            b = w * cs_share[m, l]
            from_nom = b if b < w else w  # `_take`: min(w, b), its select
            b = cs_spare[m, l]
            a = w - from_nom
            sp = b if b < a else a
            nom[l] = from_nom
            spp[l] = sp
            ksp = k_sp[m, l]
            k_sp[m, l] = ksp + sp if tk & cm else ksp
        if n_rare > 0 and vec:  # the same, every lane at once (selects)
            for l in range(L):  # noqa: E741
                cs = cs_spare[m, l]
                w1 = sp_feed[m, l] / cs
                w2 = sp_mag[m, l] / cs
                got[l] = w1
                hm[l] = w2
                rf[l] = 0.0  # left
            for o in range(O):
                for l in range(L):  # noqa: E741
                    s0 = a_spare[o, m, l]
                    x = s0 - s0 * got[l] - s0 * hm[l]
                    rf[l] += 0.0 if 0.0 > x else x
            for l in range(L):  # noqa: E741
                rare = take[l] & (not common[l])
                w = want[l]
                left = rf[l]
                b = w * cs_share[m, l]
                from_nom = b if b < w else w
                a = w - from_nom
                sp = left if left < a else a
                nom[l] = from_nom if rare else nom[l]
                spp[l] = sp if rare else spp[l]
                want_s[S, l] = sp / left  # x (a spare row: want_s has SP > S rows)
                common[l] = not (rare & (sp != 0.0))  # reused: True where no imports booked
            for o in range(O):
                for l in range(L):  # noqa: E741
                    s0 = a_spare[o, m, l]
                    v = imports[o, m, l]
                    x = s0 - s0 * got[l] - s0 * hm[l]
                    u = v + (0.0 if 0.0 > x else x) * want_s[S, l]
                    imports[o, m, l] = v if common[l] else u
        elif n_rare > 0:  # each origin's spare, less its part of what was bought from it
            for l in range(L):  # noqa: E741
                if take[l] and not common[l]:
                    w1 = sp_feed[m, l] / cs_spare[m, l]
                    w2 = sp_mag[m, l] / cs_spare[m, l]
                    left = 0.0
                    for o in range(O):
                        s0 = a_spare[o, m, l]
                        left += max(s0 - s0 * w1 - s0 * w2, 0.0)
                    w = want[l]
                    from_nom = min(w, w * cs_share[m, l])
                    sp = min(w - from_nom, left)
                    nom[l] = from_nom
                    spp[l] = sp
                    if sp != 0.0:
                        x = sp / left
                        for o in range(O):
                            s0 = a_spare[o, m, l]
                            imports[o, m, l] += max(s0 - s0 * w1 - s0 * w2, 0.0) * x
        for l in range(L):  # noqa: E741
            tk = take[l]
            n = nom[l]
            r = n + spp[l]
            rf[l] = r
            kn = k_nom[m, l]
            k_nom[m, l] = kn + n if tk else kn
            ry = refill_y[m, l]
            refill_y[m, l] = ry + r if tk else ry
        if mag:
            for l in range(L):  # noqa: E741
                got[l] = rf[l] / want[l]
                hm[l] = 0.0
            for s in range(S):
                for l in range(L):  # noqa: E741
                    w = wsb[g, s, l]
                    wsb[g, s, l] = w + want_s[s, l] * got[l] if take[l] else w
            for s in range(S):
                for l in range(L):  # noqa: E741
                    hm[l] += wsb[g, s, l]
            for l in range(L):  # noqa: E741
                x = ws[m, l]
                ws[m, l] = hm[l] if take[l] else x
        else:
            for l in range(L):  # noqa: E741
                x = ws[m, l]
                ws[m, l] = x + rf[l] if take[l] else x
