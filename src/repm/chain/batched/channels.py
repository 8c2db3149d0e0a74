"""The bare and embedded channels and the heavy-free shift of `repm.chain.demand`, for a block of
samples (`repm.chain.batched.demand`): per-sample control flow on drawn values as masks (the
loose mix's passes, an order of grades by drawn heavy content), water-filling per sample on
just the samples whose shares overflow (`repm.chain.demand.water_fill`, the per-sample loop)."""

from __future__ import annotations

import numpy as np

from repm.chain.batched.exact import Failures, py_min, rowdot
from repm.chain.demand import (
    SETTLED,
    TINY,
    missing_bare_share,
    no_bare_error,
    no_bare_magnets,
    over_full,
    water_fill,
)
from repm.errors import UserError
from repm.scenario.samples import SampleBlock

CH = ("demand", "channels")


def bare_base_shares(
    b: SampleBlock, sectors, base_total: np.ndarray, base_dem: np.ndarray, fail: Failures
) -> np.ndarray:
    """`_bare_base_shares` of every sample, (S, sector); base_dem (S, sector)."""
    ch = b.template.demand.channels
    bb = b.get((*CH, "bare_base"))
    if ch.bare_share is None:
        return np.repeat((bb / base_total)[:, None], len(sectors), axis=1)
    err = missing_bare_share(sectors, ch.bare_share)
    if err is not None:  # structure: every sample fails here, unless it failed before
        fail.check(np.ones(b.n, dtype=bool), lambda _: err)
        fail.raise_first()
    raw = np.stack([b.get((*CH, "bare_share", n)) for n in sectors], axis=1)
    implied = rowdot(raw, base_dem)
    fail.check(no_bare_magnets(implied), lambda _: no_bare_error())
    beta = raw * (bb / implied)[:, None]
    for i in np.flatnonzero(fail.ok & over_full(beta.max(axis=1))).tolist():
        try:  # the per-sample water-filling, on just the samples whose shares overflow
            beta[i] = water_fill(float(bb[i]), raw[i], beta[i], base_dem[i])
        except UserError as exc:
            fail.check(np.arange(b.n) == i, lambda _, exc=exc: exc)
    return np.minimum(beta, 1.0)


def heavy_free_split(mix: np.ndarray, heavy: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """`heavy_free_split` of every sample: mix (S, sector, grade), heavy (S, grade), shift (S,
    year, sector) → (S, year, sector, grade). Each sample's grades in the order of its own heavy
    content; the k-th lightest of every sample moved at once, in the loop's order."""
    S, Y = shift.shape[:2]
    out = np.repeat(mix[:, None], Y, axis=1)
    if not shift.any() and not np.signbit(mix).any():
        return out  # a sample the loop returns early for would move ±0.0: the same floats
    order = np.argsort(heavy, axis=1, kind="stable")  # lightest first
    content = np.take_along_axis(heavy, order, axis=1)
    rows = np.arange(S)
    down = np.full(heavy.shape, -1, dtype=np.int64)  # next_lower_grade, each sample
    for k in range(1, heavy.shape[1]):
        up = content[:, k] > content[:, k - 1]
        down[rows[up], order[up, k]] = order[up, k - 1]
    for k in range(heavy.shape[1]):
        upper = order[:, k]
        lower = down[rows, upper]
        m = lower >= 0
        r, u, dn = rows[m], upper[m], lower[m]
        moved = mix[r, :, u][:, None, :] * shift[r]  # (m, Y, sector)
        out[r, :, :, u] -= moved
        out[r, :, :, dn] += moved
    return out


def loose_by_grade(mix: np.ndarray, beta: np.ndarray, want: np.ndarray) -> np.ndarray:
    """`_loose_by_grade` of every sample: mix (S, grade), beta (S,), want (S, grade). The loop's
    `break` and `if room > 0` are masks: each sample takes the passes its own loop would."""
    take = np.minimum(beta[:, None] * want, mix)
    going = np.ones(len(beta), dtype=bool)
    for named in (want > 0, want <= 0):  # the grades the mix names, then the others
        excess = beta - take.sum(axis=1)
        going &= ~(excess <= SETTLED)
        if not going.any():
            break
        left = np.where(named, mix - take, 0.0)
        room = left.sum(axis=1)
        step = take + (py_min(excess, room)[:, None] * left) / room[:, None]
        take = np.where((going & (room > 0))[:, None], step, take)
    return take


def channels_by_mix(b: SampleBlock, sectors, grades, mix, beta, bare_share, dem, heavy, shift):
    """`_channels_by_mix` of every sample: bare and embedded demand (S, year, sector, grade)."""
    given = b.template.demand.channels.bare_grade_mix
    cols = []
    for i, n in enumerate(sectors):
        if n in given:
            want = np.stack(
                [
                    b.get((*CH, "bare_grade_mix", n, g)) if g in given[n] else np.zeros(b.n)
                    for g in grades
                ],
                axis=1,
            )
            cols.append(loose_by_grade(mix[:, i], beta[:, i], want))
        else:
            cols.append(beta[:, i, None] * mix[:, i])
    loose = np.stack(cols, axis=1)  # S × sector × grade: base-year bare, shares of the sector's
    bb = beta[:, :, None]
    bmix = loose / np.maximum(bb, TINY)
    emix = np.where(bb < 1.0, np.maximum(mix - loose, 0.0) / np.maximum(1.0 - bb, TINY), mix)
    bsplit, esplit = heavy_free_split(bmix, heavy, shift), heavy_free_split(emix, heavy, shift)
    turned = (bare_share - beta[:, None, :]) / np.maximum(1.0 - beta[:, None, :], TINY)
    one_minus = (1.0 - beta)[:, None, :, None]
    bare = dem[..., None] * (bb[:, None] * bsplit + one_minus * turned[..., None] * esplit)
    emb = dem[..., None] * one_minus * (1.0 - turned)[..., None] * esplit
    return bare, emb
