"""Drivers for the lockstep refill (`refill_ls._refill_ls`) and the state restore shared with the
scalar driver (`scalar8.py`): groups 0 … NG − 1 of 8 recorded draws, R repetitions each, every
repetition restoring the state the stage writes from `saved` (the same bytes for both)."""

from __future__ import annotations

from refill_ls import _refill_ls

from repm.simulate.jit import LOOP, STAGE, njit


@njit(**STAGE)
def _copy(dst, src, at):
    for x in range(dst.shape[0]):
        dst[x] = src[at + x]
    return at + dst.shape[0]


@njit(**STAGE)
def _restore(fws, fwsb, fwant, fkn, fks, fry, fimp, sv):
    at = _copy(fws, sv, 0)
    at = _copy(fwsb, sv, at)
    at = _copy(fwant, sv, at)
    at = _copy(fkn, sv, at)
    at = _copy(fks, sv, at)
    at = _copy(fry, sv, at)
    _copy(fimp, sv, at)


@njit(**LOOP)
def lanes(R, run, L, vec, group, grade_of, ws_frac, refill_frac, inl, req, need_mag, ws, wsb, want_s,
          Db, A, sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover,
          cover_t, imports, saved, S, sc, bsc):  # fmt: skip
    """The lane count L a runtime value (the lanes' loops: LLVM's loop vectorizer)."""
    NG = req.shape[0]
    for j in range(NG):
        inl_j, req_j, need_mag_j, ws_j, wsb_j, want_s_j = inl[j], req[j], need_mag[j], ws[j], wsb[j], want_s[j]  # fmt: skip
        Db_j, A_j, sp_feed_j, sp_mag_j, a_spare_j = Db[j], A[j], sp_feed[j], sp_mag[j], a_spare[j]
        cs_share_j, cs_spare_j, k_nom_j, k_sp_j = cs_share[j], cs_spare[j], k_nom[j], k_sp[j]
        refill_y_j, cover_j, cover_t_j, imports_j = refill_y[j], cover[j], cover_t[j], imports[j]
        fws, fwsb, fwant = ws_j.reshape(-1), wsb_j.reshape(-1), want_s_j.reshape(-1)
        fkn, fks, fry = k_nom_j.reshape(-1), k_sp_j.reshape(-1), refill_y_j.reshape(-1)
        fimp = imports_j.reshape(-1)
        sv = saved[j]
        for _r in range(R):
            _restore(fws, fwsb, fwant, fkn, fks, fry, fimp, sv)
            if run:
                _refill_ls(L, vec, group, grade_of, ws_frac, refill_frac, inl_j, req_j, need_mag_j,
                           ws_j, wsb_j, want_s_j, Db_j, A_j, sp_feed_j, sp_mag_j, a_spare_j,
                           cs_share_j, cs_spare_j, k_nom_j, k_sp_j, refill_y_j, cover_j,
                           cover_t_j, imports_j, S, sc, bsc)  # fmt: skip


@njit(**LOOP)
def lanes8(R, run, L, vec, group, grade_of, ws_frac, refill_frac, inl, req, need_mag, ws, wsb, want_s,
           Db, A, sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover,
          cover_t, imports, saved, S, sc, bsc):  # fmt: skip
    """`lanes` with the lane count the constant 8 (L ignored): LLVM unrolls the lanes' loops;
    without Numba's SLP vectorizer (NUMBA_SLP_VECTORIZE, off by default) they stay scalar."""
    NG = req.shape[0]
    for j in range(NG):
        inl_j, req_j, need_mag_j, ws_j, wsb_j, want_s_j = inl[j], req[j], need_mag[j], ws[j], wsb[j], want_s[j]  # fmt: skip
        Db_j, A_j, sp_feed_j, sp_mag_j, a_spare_j = Db[j], A[j], sp_feed[j], sp_mag[j], a_spare[j]
        cs_share_j, cs_spare_j, k_nom_j, k_sp_j = cs_share[j], cs_spare[j], k_nom[j], k_sp[j]
        refill_y_j, cover_j, cover_t_j, imports_j = refill_y[j], cover[j], cover_t[j], imports[j]
        fws, fwsb, fwant = ws_j.reshape(-1), wsb_j.reshape(-1), want_s_j.reshape(-1)
        fkn, fks, fry = k_nom_j.reshape(-1), k_sp_j.reshape(-1), refill_y_j.reshape(-1)
        fimp = imports_j.reshape(-1)
        sv = saved[j]
        for _r in range(R):
            _restore(fws, fwsb, fwant, fkn, fks, fry, fimp, sv)
            if run:
                _refill_ls(8, vec, group, grade_of, ws_frac, refill_frac, inl_j, req_j, need_mag_j,
                           ws_j, wsb_j, want_s_j, Db_j, A_j, sp_feed_j, sp_mag_j, a_spare_j,
                           cs_share_j, cs_spare_j, k_nom_j, k_sp_j, refill_y_j, cover_j,
                           cover_t_j, imports_j, S, sc, bsc)  # fmt: skip


@njit(**LOOP)
def lanes32(R, run, L, vec, group, grade_of, ws_frac, refill_frac, inl, req, need_mag, ws, wsb, want_s,
           Db, A, sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover,
          cover_t, imports, saved, S, sc, bsc):  # fmt: skip
    """`lanes` with the lane count the constant 32 (L ignored; arrays of 32 lanes)."""
    NG = req.shape[0]
    for j in range(NG):
        inl_j, req_j, need_mag_j, ws_j, wsb_j, want_s_j = inl[j], req[j], need_mag[j], ws[j], wsb[j], want_s[j]  # fmt: skip
        Db_j, A_j, sp_feed_j, sp_mag_j, a_spare_j = Db[j], A[j], sp_feed[j], sp_mag[j], a_spare[j]
        cs_share_j, cs_spare_j, k_nom_j, k_sp_j = cs_share[j], cs_spare[j], k_nom[j], k_sp[j]
        refill_y_j, cover_j, cover_t_j, imports_j = refill_y[j], cover[j], cover_t[j], imports[j]
        fws, fwsb, fwant = ws_j.reshape(-1), wsb_j.reshape(-1), want_s_j.reshape(-1)
        fkn, fks, fry = k_nom_j.reshape(-1), k_sp_j.reshape(-1), refill_y_j.reshape(-1)
        fimp = imports_j.reshape(-1)
        sv = saved[j]
        for _r in range(R):
            _restore(fws, fwsb, fwant, fkn, fks, fry, fimp, sv)
            if run:
                _refill_ls(32, vec, group, grade_of, ws_frac, refill_frac, inl_j, req_j, need_mag_j,
                           ws_j, wsb_j, want_s_j, Db_j, A_j, sp_feed_j, sp_mag_j, a_spare_j,
                           cs_share_j, cs_spare_j, k_nom_j, k_sp_j, refill_y_j, cover_j,
                           cover_t_j, imports_j, S, sc, bsc)  # fmt: skip
