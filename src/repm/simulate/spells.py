"""What each draw's restrictions imply month by month, compiled loops over draws × steps (the
rules are `shocks.spare_ramp` and `shocks.switch_steps`; these are their inner loops, one draw
after another instead of the whole draw axis step by step: ~20× less time per chunk, the same
float operations in the same order, so the same numbers bit for bit).

A risk chunk's switch steps come from `_switch_from_levels` (the restriction read from the
levels and the steps counted in one pass, `prepare._levels_and_switch`); `_switch_steps` is the
rule's loop on any other input. Compiled the first time one of them is called
(`repm.simulate.jit`); importing this module does not import Numba.
"""

from __future__ import annotations

import numpy as np

from repm.simulate import jit

_JIT = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)


@jit.njit(**jit.STAGE)
def _ramp_month(k, R):
    """The rule, once: the mean over a month of the ramp min(1, s / R) when the spell began k
    months before it (`shocks.ramp_factor`, R > 0); `_spare_ramp` and `philox._all_levels` call
    it (inlined)."""
    if k + 1.0 <= R:
        return (k + 0.5) / R
    if k >= R:
        return 1.0
    return (R * R - k * k) / (2.0 * R) + (k + 1.0 - R)


@jit.njit(**_JIT)
def _spare_ramp(active, R, out):
    """out[d, t]: 1 outside restriction spells; in a spell, the mean over month t of the ramp
    min(1, s / R) from the spell's first month (`shocks.ramp_factor`, R > 0)."""
    D, T = active.shape
    for d in range(D):
        k = 0.0  # months since the spell began
        for t in range(T):
            if t > 0:
                k = k + 1.0 if active[d, t - 1] else 0.0
            out[d, t] = _ramp_month(k, R) if active[d, t] else 1.0


@jit.njit(**_JIT)
def _switch_steps(restricted, after, per, step):
    """step[d, g]: the first step restricted with `after` months of restriction before it
    without a break (each restricted step counts `per` months); −1 where there is none."""
    D, S, G = restricted.shape
    for d in range(D):
        for g in range(G):
            months = 0.0
            step[d, g] = -1
            for t in range(S):
                if restricted[d, t, g]:
                    if months >= after:
                        step[d, g] = t
                        break
                    months += per
                else:
                    months = 0.0


@jit.njit(**_JIT)
def _switch_from_levels(level, bits, after, S, step):
    """step[d, g] as `_switch_steps` at monthly steps (per = 1) over the first S months, from
    the levels (draw × month × event): grade g restricted in a month when some event e with a
    level ≠ 0 has bit e in bits[g] (the events that reach it; at most 63 events) —
    `shocks._magnets_restricted` and `_switch_steps` in one pass, without their draw × month ×
    grade arrays."""
    D, T, E = level.shape
    G = step.shape[1]
    mask = np.zeros(T, dtype=np.int64)  # a draw's months: the events with a level ≠ 0
    for d in range(D):
        for t in range(T):
            m = 0
            for e in range(E):
                m |= np.int64(level[d, t, e] != 0) << e
            mask[t] = m
        for g in range(G):
            months = 0.0
            step[d, g] = -1
            b = bits[g]
            for t in range(min(S, T)):
                if mask[t] & b:
                    if months >= after:
                        step[d, g] = t
                        break
                    months += 1.0
                else:
                    months = 0.0


spare_ramp_loop = jit.compiled_call(__name__, "_spare_ramp")
switch_steps_loop = jit.compiled_call(__name__, "_switch_steps")
switch_from_levels = jit.compiled_call(__name__, "_switch_from_levels")
