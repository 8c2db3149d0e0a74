"""Years every draw of a block lives alike, simulated once (speed, kept apart from the rule).

A risk run's draws differ only from the first month some drawn input differs: before it (the
recorded history, the same in every draw) each draw would repeat the block's first draw step by
step. So the block's first draw runs from the start and leaves its state where the first such
year begins (`_save`); every other draw of the block takes that state and those years' outputs
(`_restore`, `_copy_years`) and runs on from there. The rule is the same and nothing is summed
in another order: the outputs are the same bits (tests/test_prefix.py compares every output
array with the prefix shared and not).

What may differ per draw is read from the inputs the engine fills per draw (`arrays.Inputs`):
the demand multiplier, the restriction events' levels (or the dense availability), the spare
capacity's ramp and the step makers switch grade.
"""

from __future__ import annotations

from repm.simulate.jit import KERNEL, njit


@njit(**KERNEL)
def _first_step_apart(lo, hi, inp, per, spy):
    """The first step at which some draw of lo … hi − 1 has other inputs than draw lo (the
    number of steps when none has)."""
    dmult, level, avail, ramp, sw = inp.dmult, inp.level, inp.avail, inp.ramp, inp.sw_step
    Y = dmult.shape[1]
    first = Y * spy
    for d in range(lo + 1, hi):
        if dmult.shape[0] > 1:
            for y in range(Y):
                if y * spy >= first:
                    break
                if dmult[d, y] != dmult[lo, y]:
                    first = y * spy
                    break
        if level.shape[0] > 1:
            for mo in range(level.shape[1]):
                if mo // per >= first:
                    break
                apart = False
                for e in range(level.shape[2]):
                    if level[d, mo, e] != level[lo, mo, e]:
                        apart = True
                if apart:
                    first = mo // per
                    break
        if ramp.shape[0] > 1:
            for mo in range(ramp.shape[1]):
                at = mo // per if ramp.shape[1] > 1 else 0  # one value: every step's
                if at >= first:
                    break
                if ramp[d, mo] != ramp[lo, mo]:
                    first = at
                    break
        if avail.shape[0] > 1:
            for ts in range(avail.shape[1]):
                at = ts if avail.shape[1] > 1 else 0
                if at >= first:
                    break
                apart = False
                for o in range(avail.shape[2]):
                    for m in range(avail.shape[3]):
                        if avail[d, ts, o, m] != avail[lo, ts, o, m]:
                            apart = True
                if apart:
                    first = at
                    break
        if sw.shape[0] > 1:
            for g in range(sw.shape[1]):
                a, b = sw[d, g], sw[lo, g]
                if a != b:  # they part where the earlier of the two switches (−1: never)
                    at = min(a, b) if a >= 0 and b >= 0 else max(a, b)
                    first = min(first, at)
    return first


@njit(**KERNEL)
def shared_years(lo, hi, inp):
    """Whole years at the start of the horizon in which draws lo … hi − 1 all have draw lo's
    inputs (0 for a block of one draw)."""
    if hi - lo < 2:
        return 0
    spy = inp.spy
    return _first_step_apart(lo, hi, inp, 12 // spy, spy) // spy


@njit(**KERNEL)
def _copy_years(src, d, ys, out):
    """Draw src's outputs of years 0 … ys − 1 (and its stock at the start) to draw d. Each
    tuple holds arrays of one rank (Numba iterates over such a tuple only)."""
    out.stock_start[d] = out.stock_start[src]
    for a in (out.demand, out.unmet, out.unmet_bare, out.served, out.eol, out.in_use, out.imports,
              out.production, out.flows, out.residual):  # fmt: skip
        a[d, :ys] = a[src, :ys]
    for a in (out.stock_draw, out.stockpile_level, out.tonne_years, out.working, out.recycled,
              out.feed_used, out.short_sector, out.tolled, out.transit, out.overseas_used,
              out.magnet_exports):  # fmt: skip
        a[d, :ys] = a[src, :ys]
    for a in (out.irel, out.short_steps, out.toll_oxide, out.exports, out.retained):
        a[d, :ys] = a[src, :ys]


@njit(**KERNEL)
def _copies(src):
    """A copy of every array of a draw's state (a tuple as `_block` builds it)."""
    return (src[0].copy(), src[1].copy(), src[2].copy(), src[3].copy(), src[4].copy(),
            src[5].copy(), src[6].copy(), src[7].copy(), src[8].copy(), src[9].copy(),
            src[10].copy(), src[11].copy(), src[12].copy(), src[13].copy(), src[14].copy(),
            src[15].copy(), src[16].copy())  # fmt: skip


@njit(**KERNEL)
def _copy_state(src, dst):
    """Every array of a draw's state (`src`, a tuple as `_block` builds it) into `dst`."""
    assert len(src) == 17 and len(dst) == 17
    dst[0][:] = src[0]
    dst[1][:] = src[1]
    dst[2][:] = src[2]
    dst[3][:] = src[3]
    dst[4][:] = src[4]
    dst[5][:] = src[5]
    dst[6][:] = src[6]
    dst[7][:] = src[7]
    dst[8][:] = src[8]
    dst[9][:] = src[9]
    dst[10][:] = src[10]
    dst[11][:] = src[11]
    dst[12][:] = src[12]
    dst[13][:] = src[13]
    dst[14][:] = src[14]
    dst[15][:] = src[15]
    dst[16][:] = src[16]
