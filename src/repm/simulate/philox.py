"""Philox4x32-10 (Salmon et al. 2011), compiled with Numba, and the event-level loop built on it.

Every random number the risk model uses is a pure function of (seed, draw index, stream, month):
the counter is (month, stream, draw low word, draw high word) and the key is the seed's two 32-bit
words. The functions here compute exactly what the earlier NumPy version did (the same 32-bit
words, the same uniforms (w + 0.5) / 2^32, the same float operations in the same order), one
counter at a time, without the (draw × month × 4) temporaries — `shocks.sample` calls them.

All of it is serial (`nogil`, no `parallel=True`): chunks already run side by side on threads.
The functions are compiled the first time one of them is called (`repm.simulate.jit`); importing this
module does not import Numba.
"""

from __future__ import annotations

import numpy as np

from repm.simulate import jit
from repm.simulate.spells import _ramp_month

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_SCALE = 2.0**32

_JIT = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)


@jit.njit(**_JIT)
def _round(c0, c1, c2, c3, k0, k1):
    """One Philox round: the four words after it (key bumped by the caller, `_bump`)."""
    p0 = _M0 * c0
    p1 = _M1 * c2
    hi0, lo0 = p0 >> _S32, p0 & _MASK
    hi1, lo1 = p1 >> _S32, p1 & _MASK
    return (hi1 ^ c1 ^ k0) & _MASK, lo1, (hi0 ^ c3 ^ k1) & _MASK, lo0


@jit.njit(**_JIT)
def _bump(k0, k1):
    """The key of the next round."""
    return (k0 + _W0) & _MASK, (k1 + _W1) & _MASK


@jit.njit(**_JIT)
def _philox_words(c0, c1, c2, c3, k0, k1):
    """The four 32-bit output words (as uint64) for one counter and key, ten rounds."""
    for _ in range(10):
        c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
        k0, k1 = _bump(k0, k1)
    return c0, c1, c2, c3


@jit.njit(**_JIT)
def _philox_lanes(c0, c1, c2, c3, k0, k1):
    """`_philox_words` of every counter (c0[j], c1[j], c2[j], c3[j]) at once, in place: round by
    round over the arrays, a loop the compiler vectorises (~4× faster than counter by counter,
    whose ten rounds it does not)."""
    for _ in range(10):
        for j in range(c0.shape[0]):
            c0[j], c1[j], c2[j], c3[j] = _round(c0[j], c1[j], c2[j], c3[j], k0, k1)
        k0, k1 = _bump(k0, k1)


@jit.njit(**_JIT)
def _philox_array(c0, c1, c2, c3, k0, k1, out):
    """Philox over 1-d counter arrays (uint64, already masked to 32 bits): out is n × 4."""
    for i in range(c0.shape[0]):
        w0, w1, w2, w3 = _philox_words(c0[i], c1[i], c2[i], c3[i], k0, k1)
        out[i, 0] = w0
        out[i, 1] = w1
        out[i, 2] = w2
        out[i, 3] = w3


@jit.njit(**_JIT)
def _uniform_block(k0, k1, draws, stream, n, out):
    """out[d, i, j] = (word j of counter (i, stream, draw lo, draw hi) + 0.5) / 2^32."""
    s = np.uint64(stream) & _MASK
    for d in range(draws.shape[0]):
        dl = np.uint64(draws[d]) & _MASK
        dh = (np.uint64(draws[d]) >> _S32) & _MASK
        for i in range(n):
            w0, w1, w2, w3 = _philox_words(np.uint64(i), s, dl, dh, k0, k1)
            out[d, i, 0] = (np.float64(w0) + 0.5) / _SCALE
            out[d, i, 1] = (np.float64(w1) + 0.5) / _SCALE
            out[d, i, 2] = (np.float64(w2) + 0.5) / _SCALE
            out[d, i, 3] = (np.float64(w3) + 0.5) / _SCALE


@jit.njit(**_JIT)
def _onsets(k0, k1, draws, stream, T, p_month, fixed_month, probability):
    """Where an episode may begin, with the uniforms its duration and severity are drawn from.

    Hazard mode (fixed_month < 0): month t of a draw is a candidate when u0 < p_month. Fixed date:
    only month `fixed_month`, when u3 < probability. Returns the candidates in draw-then-month
    order: flat positions d * T + t, u1 (duration) and u2 (severity). Two passes: every counter
    (a draw's months as lanes, `_philox_lanes`), then the few candidates again for their other
    words."""
    D = draws.shape[0]
    s = np.uint64(stream) & _MASK
    lo_t, hi_t = (0, T) if fixed_month < 0 else (fixed_month, fixed_month + 1)
    W = hi_t - lo_t
    hit = np.empty((D, W), dtype=np.bool_)
    c0, c1 = np.empty(W, dtype=np.uint64), np.empty(W, dtype=np.uint64)
    c2, c3 = np.empty(W, dtype=np.uint64), np.empty(W, dtype=np.uint64)
    for d in range(D):
        dl = np.uint64(draws[d]) & _MASK
        dh = (np.uint64(draws[d]) >> _S32) & _MASK
        for j in range(W):  # a draw's months as lanes
            c0[j], c1[j], c2[j], c3[j] = np.uint64(lo_t + j), s, dl, dh
        _philox_lanes(c0, c1, c2, c3, k0, k1)
        for j in range(W):
            if fixed_month < 0:
                hit[d, j] = (np.float64(c0[j]) + 0.5) / _SCALE < p_month
            else:
                hit[d, j] = (np.float64(c3[j]) + 0.5) / _SCALE < probability
    n = 0
    for d in range(D):
        for j in range(W):
            n += hit[d, j]
    pos = np.empty(n, dtype=np.int64)
    u1 = np.empty(n)
    u2 = np.empty(n)
    i = 0
    for d in range(D):
        dl = np.uint64(draws[d]) & _MASK
        dh = (np.uint64(draws[d]) >> _S32) & _MASK
        for j in range(W):
            if hit[d, j]:
                t = lo_t + j
                _, w1, w2, _ = _philox_words(np.uint64(t), s, dl, dh, k0, k1)
                pos[i] = d * T + t
                u1[i] = (np.float64(w1) + 0.5) / _SCALE
                u2[i] = (np.float64(w2) + 0.5) / _SCALE
                i += 1
    return pos, u1, u2


@jit.njit(**_JIT)
def _event_levels(pos, dur, sev, D, T, delay, level, e):
    """Share of exports refused, per draw × month, for event e (written into level[:, :, e]).

    An episode begins at a candidate month when the previous one has ended (t ≥ end); it lasts
    `dur` months, refuses everything during the licensing delay and `sev` afterwards."""
    j = 0
    n = pos.shape[0]
    for d in range(D):
        end = -1.0
        start = 0.0
        s_now = 0.0
        base = d * T
        for t in range(T):
            if j < n and pos[j] == base + t:
                if t >= end:
                    end = t + dur[j]
                    start = np.float64(t)
                    s_now = sev[j]
                j += 1
            if t < end:
                if t < start + delay:
                    level[d, t, e] = np.float32(1.0)
                else:
                    level[d, t, e] = np.float32(s_now)
            else:
                level[d, t, e] = np.float32(0.0)


@jit.njit(**_JIT)
def _all_levels(pos, dur, sev, first, delay, ramps, level, R, ramp):
    """Every event's levels into level (draw × month × event, zeros on entry), and the spare
    ramp from them, in one call: level[:, :, e] is `_event_levels`' for event e, whose
    candidates are pos, dur and sev[first[e]:first[e + 1]] (in draw, month order) and whose
    licensing delay is delay[e]. Episode by episode rather than month by month: a candidate
    begins an episode when the one before has ended, and only the months of an episode are
    written (the same values: 1 during the delay, the severity after, as float32). When ramp has
    rows (draw × month), ramp[d, t] is `spells._spare_ramp`'s over the months with some level
    ≠ 0 of an event that starts the ramp (ramps[e]: the export restrictions, not the outages),
    ramp length R — the same float operations, so the same bits as `_event_levels` event by
    event and then `shocks.spare_ramp`."""
    D, T, E = level.shape
    do_ramp = ramp.shape[0] > 0
    active = np.zeros(T, dtype=np.bool_)
    j = np.empty(E, dtype=np.int64)
    for e in range(E):
        j[e] = first[e]
    for d in range(D):
        base = d * T
        if do_ramp:
            for t in range(T):
                active[t] = False
        for e in range(E):
            end = -1.0
            i, stop = j[e], first[e + 1]
            spell = do_ramp and ramps[e]  # does this event's episode count in a spell?
            while i < stop and pos[i] < base + T:
                t = pos[i] - base
                if t >= end:  # an episode begins: its months, to its end or the horizon's
                    end = t + dur[i]
                    start = np.float64(t)
                    s_now = sev[i]
                    u = t
                    while u < T and u < end:
                        v = np.float32(1.0) if u < start + delay[e] else np.float32(s_now)
                        level[d, u, e] = v
                        if spell and v != 0:
                            active[u] = True
                        u += 1
                i += 1
            j[e] = i
        if do_ramp:
            k = 0.0  # months since the spell began
            for t in range(T):
                if t > 0:
                    k = k + 1.0 if active[t - 1] else 0.0
                ramp[d, t] = _ramp_month(k, R) if active[t] else 1.0


# the public names: the compiled twins of the functions above
philox_words = jit.compiled_call(__name__, "_philox_words")
philox_array = jit.compiled_call(__name__, "_philox_array")
uniform_block = jit.compiled_call(__name__, "_uniform_block")
onsets = jit.compiled_call(__name__, "_onsets")
event_levels = jit.compiled_call(__name__, "_event_levels")
all_levels = jit.compiled_call(__name__, "_all_levels")
