"""`repm.chain.demand.demand` for a block of S parameter samples at once (a measured prototype).

The samples of one scenario share its structure — the sector names and bases, the years a path
is given at, which options are set, the units — and differ in the drawn numbers. So the
structure is read from one sample's validated scenario (`tmpl`) and the numbers are arrays of
shape (S,) (`Block.f[path]`); every output gets a leading sample axis. Python loops remain only
over structure (years, sectors, grades, anchors), never over samples.

Bit for bit with `demand()` on each sample by doing, per element, the same IEEE operations in
the same order (see README.md for the numpy rules this leans on):
- element-wise + − × ÷ are correctly rounded: broadcasting over a sample axis changes nothing;
- reductions (row sums) keep the reduced axis last and contiguous, as the loop has it, so each
  row is summed by the same pairwise/sequential inner loop;
- `x ** n` (Python float, C's pow) is done by C's pow (`libm_pow`, numba → libm), not by
  `np.power`, which on AVX-512 CPUs takes SIMD code that may differ in the last bit;
- `np.interp` is written out with numpy's formula (`slope*(x-xp[j]) + fp[j]`, slope first);
- `a @ b` of two vectors (BLAS ddot) is done by `np.dot` on each sample's rows (`rowdot`):
  an element-wise product summed is not the same float (see README.md);
- Python's `sum()` of floats (sequential on 3.11, Neumaier-compensated from 3.12) and `min()`
  are written out (`py_sum`, `py_min`);
- per-sample control flow on drawn values (errors, water-filling, the loose-mix loop, an order
  of grades by drawn content) becomes masks: each sample does the steps its own loop would.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from repm.chain.demand import _FACTORS, _UNKNOWN, _heavy_elements, _tonnes_per_year
from repm.errors import UserError

# --- the drawn numbers of a block -----------------------------------------------------------


def _mag(x) -> float:
    return float(getattr(x, "magnitude", x))


@dataclass
class Block:
    """The block's samples: structure from `tmpl` (the first sample's scenario), each number the
    demand reads as an (S,) array under its path (a tuple of field names / dict keys)."""

    tmpl: object
    f: dict[tuple, np.ndarray]
    n: int


def demand_paths(s) -> list[tuple]:
    """Every number `demand()` reads from a scenario, as paths (the template's structure)."""
    d = s.demand
    P = [("demand", "anchors", y) for y in d.anchors]
    P += [("demand", "growth_after_anchors")]
    for n, sec in d.sectors.items():
        p = ("demand", "sectors", n)
        P += [p + ("growth",)] + [p + ("grade_mix", g) for g in sec.grade_mix]
        if sec.basis == "driver":
            P += [p + ("activity",), p + ("intensity",), p + ("adoption",)]
            P += [p + ("activity_path", y) for y in sec.activity_path or {}]
        elif sec.basis == "share":
            P += [p + ("share",)]
    ch = d.channels
    c = ("demand", "channels")
    P += [c + ("bare_base",)] + [c + ("localization", y) for y in ch.localization]
    P += [c + ("bare_share", n) for n in ch.bare_share or {}]
    P += [
        c + ("localization_by_sector", n, y)
        for n, p in ch.localization_by_sector.items()
        for y in p
    ]
    P += [c + ("bare_grade_mix", n, g) for n, m in (ch.bare_grade_mix or {}).items() for g in m]
    if d.heavy_free_shift is not None:
        P += [("demand", "heavy_free_shift", "share", y) for y in d.heavy_free_shift.share]
    if d.exports is not None:
        e = ("demand", "exports")
        P += [e + ("tonnes", y) for y in d.exports.tonnes] + [e + ("premium",)]
        P += [e + ("grade_mix", g) for g in d.exports.grade_mix]
    ci = s.routes.consumer_incentive
    if ci is not None:
        P += [
            ("routes", "consumer_incentive", k)
            for k in ("start_year", "end_year", "localization_shift")
        ]
    return P


def _get(s, path):
    o = s
    for k in path:
        o = o[k] if isinstance(o, dict) else getattr(o, k)
    return o


def gather(scenarios) -> Block:
    """The block from validated scenarios: what a validation of drawn values as arrays would
    hand over (here read back from each sample's Scenario, to check against the loop). The
    structure is the first sample's; a sample with another structure is refused."""
    tmpl = scenarios[0]
    paths = demand_paths(tmpl)
    f = {p: np.array([_mag(_get(s, p)) for s in scenarios], dtype=float) for p in paths}
    for p in paths:  # units are structure: one per path in a block
        u = getattr(_get(tmpl, p), "units", None)
        if u is not None:
            assert all(_get(s, p).units == u for s in scenarios[1:]), p
    return Block(tmpl, f, len(scenarios))


# --- exact building blocks ----------------------------------------------------------------


def _make_pow():
    from numba import vectorize

    @vectorize(["float64(float64, float64)"], nopython=True)
    def libm_pow(a, b):  # llvm.pow.f64: a call to the C library's pow, as Python's float ** does
        return a**b

    return libm_pow


libm_pow = _make_pow()


def py_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Python's `sum(floats)` element-wise over a list of (S,) arrays: 0 + x1 + x2 … on 3.11;
    from 3.12, Neumaier's compensated sum as CPython writes it (builtin_sum_impl)."""
    if not arrays:
        return np.zeros(())
    acc = 0 + arrays[0]
    if sys.version_info < (3, 12):
        for x in arrays[1:]:
            acc = acc + x
        return acc
    c = np.zeros_like(acc)
    for x in arrays[1:]:
        t = acc + x
        c = c + np.where(np.abs(acc) >= np.abs(x), (acc - t) + x, (x - t) + acc)
        acc = t
    return np.where((c != 0) & np.isfinite(c), acc + c, acc)


def py_min(a, b):
    """Python's min(a, b): a unless b < a (NaN and ±0 as Python has them; np.minimum not)."""
    return np.where(b < a, b, a)


_PLANS: dict = {}  # (xp, x) → where each x falls: structure, computed once


def _interp_plan(xp: tuple, x: tuple):
    plan = _PLANS.get((xp, x))
    if plan is None:
        xa, xv = np.asarray(xp, dtype=float), np.asarray(x, dtype=float)
        K = len(xa)
        j = np.searchsorted(xa, xv, side="right") - 1
        # the value of a point (left of all, at a point, right of all): which fp column
        at = np.where(j < 0, 0, np.where(j >= K - 1, K - 1, j))
        inner = (
            (j >= 0) & (j < K - 1) & (xa[np.clip(j, 0, K - 1)] != xv)
            if K > 1
            else np.zeros(len(xv), bool)
        )
        ji = j[inner]
        plan = _PLANS[(xp, x)] = (at, inner, ji, xa[ji], xa[ji + 1] - xa[ji], xv[inner] - xa[ji],
                                  xv[inner] - xa[ji + 1])  # fmt: skip
    return plan


def interp_b(points_x: list[int], fp: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`np.interp(x, xp, fp[s])` for each sample s: xp (sorted, structure) and x shared, fp
    (S, K). numpy's arr_interp formula: left/right = fp[0]/fp[-1], at a point its value, else
    slope = (fp[j+1]-fp[j]) / (xp[j+1]-xp[j]); slope*(x-xp[j]) + fp[j] (the other side if NaN).
    Where each x falls is structure (one plan per xp, x); the values are the samples'."""
    at, inner, ji, _, dxp, dx0, dx1 = _interp_plan(
        tuple(float(v) for v in points_x), tuple(np.asarray(x, dtype=float).tolist())
    )
    out = fp[:, at]  # every year its point's value: left, at a point, right
    if ji.size:
        f0, f1 = fp[:, ji], fp[:, ji + 1]
        slope = (f1 - f0) / dxp
        r = slope * dx0 + f0
        bad = np.isnan(r)
        if bad.any():  # the other side, as numpy does
            r2 = slope * dx1 + f1
            r2 = np.where(np.isnan(r2) & (f0 == f1), f0, r2)
            r = np.where(bad, r2, r)
        out[:, inner] = r
    return out


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each sample's `a[s] @ b[s]` (vectors): a stack of (1, k) @ (k, 1) matmuls, which numpy
    does by its dot function on each pair, the loop's BLAS ddot (an FMA kernel in OpenBLAS);
    (a*b).sum(-1) or einsum are other floats."""
    return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]


def _path(B: Block, prefix: tuple, points: dict) -> tuple[list[int], np.ndarray]:
    xs = sorted(points)
    return xs, np.stack([B.f[prefix + (x,)] for x in xs], axis=1)


stats: dict[str, int] = {}  # how often the per-sample branches ran (run.py prints them)


# --- demand, batched ------------------------------------------------------------------------


class Failures:
    """Each sample's first UserError (the one its own `demand()` raises), in check order."""

    def __init__(self, n: int) -> None:
        self.err: dict[int, UserError] = {}
        self.ok = np.ones(n, dtype=bool)

    def check(self, bad: np.ndarray, make) -> None:
        for i in np.flatnonzero(bad & self.ok).tolist():
            self.err[i] = make(i)
        self.ok &= ~bad

    def raise_first(self) -> None:  # a block fails as its loop would: at its first bad sample
        if self.err:
            raise self.err[min(self.err)]


def _total_path_b(B, d, years: list[int]) -> np.ndarray:
    ay = sorted(d.anchors)
    A = {y: B.f[("demand", "anchors", y)] for y in ay}
    ga = B.f[("demand", "growth_after_anchors")]
    out = np.empty((B.n, len(years)))
    yv = np.array(years)
    fg = libm_pow(A[ay[1]] / A[ay[0]], 1 / (ay[1] - ay[0])) - 1 if len(ay) > 1 else ga
    lo, hi = yv <= ay[0], (yv >= ay[-1]) & ~(yv <= ay[0])
    if lo.any():
        out[:, lo] = A[ay[0]][:, None] * libm_pow((1 + fg)[:, None], (yv[lo] - ay[0]).astype(float))
    if hi.any():
        out[:, hi] = A[ay[-1]][:, None] * libm_pow(
            (1 + ga)[:, None], (yv[hi] - ay[-1]).astype(float)
        )
    for k in range(len(ay) - 1):  # between anchors k and k + 1
        y0, y1 = ay[k], ay[k + 1]
        m = (yv >= y0) & (yv < y1) & ~lo & ~hi
        if m.any():
            g = libm_pow(A[y1] / A[y0], 1 / (y1 - y0))
            out[:, m] = A[y0][:, None] * libm_pow(g[:, None], (yv[m] - y0).astype(float))
    return out


def _activity_b(B, name, sec, base, years) -> np.ndarray:
    p = ("demand", "sectors", name)
    g = 1 + B.f[p + ("growth",)]
    ex = np.array([float(y - base) for y in years])
    if not sec.activity_path:
        return libm_pow(g[:, None], ex[None, :])  # (S, Y)
    a0 = B.f[p + ("activity",)]
    pts_x = sorted({base, *sec.activity_path})
    fp = np.stack([a0 if y == base and y not in sec.activity_path else B.f[p + ("activity_path", y)]
                   for y in pts_x], axis=1)  # fmt: skip
    last = max(pts_x)
    at = interp_b(pts_x, fp, np.array(years)) / a0[:, None]
    cols = []
    for i, y in enumerate(years):
        if y <= base:
            cols.append(libm_pow(g, float(y - base)))
        else:
            cols.append(at[:, i] * (libm_pow(g, float(y - last)) if y > last else 1.0))
    return np.stack(cols, axis=1)


def _base_tonnes_b(B, name, sec) -> np.ndarray:
    p = ("demand", "sectors", name)
    a, i = sec.activity, sec.intensity
    key = (tuple(a.unit_items()), tuple(i.unit_items()))
    factor = _FACTORS.get(key, _UNKNOWN)
    if factor is _UNKNOWN:
        factor = _FACTORS[key] = _tonnes_per_year(a.units, i.units)
    if factor is None:
        raise NotImplementedError("offset units: pint per sample (not in the prototype)")
    return B.f[p + ("activity",)] * B.f[p + ("intensity",)] * B.f[p + ("adoption",)] * factor


def heavy_free_split_b(mix, heavy, shift):
    """mix (S, sec, G), heavy (S, G), shift (S, Y, sec) → (S, Y, sec, G); each sample's grade
    order by its own heavy content (drawn), positions done in turn for all samples at once."""
    S, Y = shift.shape[0], shift.shape[1]
    out = np.repeat(mix[:, None], Y, axis=1)
    if not shift.any() and not np.signbit(mix).any():
        return out  # per sample the loop returns early, or moves ±0.0: the same floats
    order = np.argsort(heavy, axis=1, kind="stable")  # (S, G) lightest first
    hs = np.take_along_axis(heavy, order, axis=1)
    down = np.full(heavy.shape, -1, dtype=np.int64)
    rows = np.arange(S)
    for k in range(1, heavy.shape[1]):
        up = hs[:, k] > hs[:, k - 1]
        down[rows[up], order[up, k]] = order[up, k - 1]
    for k in range(heavy.shape[1]):
        upper = order[:, k]
        dn = down[rows, upper]
        m = dn >= 0
        r, u, dd = rows[m], upper[m], dn[m]
        moved = mix[r, :, u][:, None, :] * shift[r]  # (m, Y, sec)
        out[r, :, :, u] -= moved
        out[r, :, :, dd] += moved
    return out


def _loose_b(mix_i, beta_i, want):
    """`_loose_by_grade` for each sample: mix_i (S, G), beta_i (S,), want (S, G)."""
    w = want
    take = np.minimum(beta_i[:, None] * w, mix_i)
    going = np.ones(len(beta_i), dtype=bool)
    for pas, named in enumerate((w > 0, w <= 0)):
        excess = beta_i - take.sum(axis=1)
        going &= ~(excess <= 1e-15)
        key = f"loose_by_grade pass {pas + 1} (sector-samples)"
        stats[key] = stats.get(key, 0) + int(going.sum())
        if not going.any():
            break
        left = np.where(named, mix_i - take, 0.0)
        room = left.sum(axis=1)
        do = going & (room > 0)
        step = take + (py_min(excess, room)[:, None] * left) / room[:, None]
        take = np.where(do[:, None], step, take)
    return take


def _bare_base_shares_b(B, d, sectors, base_total, base_dem, fail):
    ch = d.channels
    bb = B.f[("demand", "channels", "bare_base")]
    if ch.bare_share is None:
        return np.repeat((bb / base_total)[:, None], len(sectors), axis=1)
    missing = [n for n in sectors if n not in ch.bare_share]
    if missing:  # structure: every sample alike
        raise UserError(
            f"no bare share for sector {missing[0]!r}; expected one for every sector (or none)",
            where="demand.channels.bare_share",
        )
    raw = np.stack([B.f[("demand", "channels", "bare_share", n)] for n in sectors], axis=1)
    implied = rowdot(raw, base_dem)
    fail.check(implied <= 0, lambda i: UserError(
        "the sector shares give no bare magnets; expected some sector with a share above 0",
        where="demand.channels.bare_share"))  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):  # failed samples: not read
        beta = raw * (bb / implied)[:, None]
    full = np.zeros(beta.shape, dtype=bool)
    active = fail.ok & (beta.max(axis=1) > 1 + 1e-12)
    stats["water_filled"] = stats.get("water_filled", 0) + int(active.sum())
    while active.any():  # each sample water-fills until its own loop would stop
        idx = np.flatnonzero(active)
        for i in idx.tolist():  # few samples, few rounds: per-sample rows, the loop's floats
            full[i] |= beta[i] > 1 + 1e-12
            f = full[i]
            left = bb[i] - float(base_dem[i][f].sum())
            room = float(raw[i][~f] @ base_dem[i][~f])
            if left <= 0 or room <= 0:
                most = float(base_dem[i][raw[i] > 0].sum())
                bad = np.zeros(B.n, dtype=bool)
                bad[i] = True
                fail.check(bad, lambda _i, bbi=bb[i], most=most: UserError(
                    f"{bbi:,.0f} t is more than the sectors with a bare share buy "
                    f"({most:,.0f} t in the base year); expected at most that",
                    where="demand.channels.bare_base"))  # fmt: skip
                continue
            beta[i] = np.where(f, 1.0, raw[i] * (left / room))
        active = fail.ok & (beta.max(axis=1) > 1 + 1e-12)
    return np.minimum(beta, 1.0)


def demand_batched(B: Block, model, years: np.ndarray, gc: np.ndarray) -> dict:
    """`demand(s, model, years, gc[s])` for every sample s of the block at once; gc (S, G, E).
    Raises the UserError of the first sample whose own demand() raises."""
    s = B.tmpl
    d = s.demand
    S = B.n
    sectors = tuple(d.sectors)
    base = d.base_year
    yl = years.tolist()
    Y = len(yl)
    fail = Failures(S)
    total = _total_path_b(B, d, yl)
    base_total = _total_path_b(B, d, [base])[:, 0]

    base_t: dict[str, np.ndarray] = {}
    for name, sec in d.sectors.items():
        if sec.basis == "driver":
            base_t[name] = _base_tonnes_b(B, name, sec)
        elif sec.basis == "share":
            base_t[name] = B.f[("demand", "sectors", name, "share")] * base_total
    residual = [n for n, sec in d.sectors.items() if sec.basis == "residual"]
    if residual:
        others = py_sum(list(base_t.values()))
        rest = base_total - others
        fail.check(rest < 0, lambda i: UserError(
            f"residual base-year demand is {rest[i]:,.0f} t: the other sectors ({others[i]:,.0f} t) "
            f"exceed the {base} total of {base_total[i]:,.0f} t; expected them to leave a non-negative rest",
            where=f"demand.sectors.{residual[0]}"))  # fmt: skip
        base_t[residual[0]] = rest
    bottom = np.empty((S, Y, len(sectors)))  # sample × year × sector, C order: rows as the loop's
    for k, n in enumerate(sectors):
        bottom[:, :, k] = base_t[n][:, None] * _activity_b(B, n, d.sectors[n], base, yl)
    if d.calibration == "anchored":
        sums = bottom.sum(axis=2, keepdims=True)
        fail.check(np.any(sums <= 0, axis=(1, 2)), lambda i: UserError(
            "sectors add up to zero demand; expected some demand to calibrate",
            where="demand.sectors"))  # fmt: skip
        dem = total[:, :, None] * bottom / sums
    else:
        dem = bottom

    bb = B.f[("demand", "channels", "bare_base")]
    fail.check(bb > base_total + 1e-9, lambda i: UserError(
        f"{bb[i]:,.0f} t/yr exceeds the {base} demand of {base_total[i]:,.0f} t/yr; "
        "expected the bare channel to be part of demand",
        where="demand.channels.bare_base"))  # fmt: skip
    beta = _bare_base_shares_b(B, d, sectors, base_total, dem[:, yl.index(base)], fail)
    ch = d.channels
    c = ("demand", "channels")
    locs = []
    for n in sectors:
        if n in ch.localization_by_sector:
            xs, fp = _path(B, c + ("localization_by_sector", n), ch.localization_by_sector[n])
        else:
            xs, fp = _path(B, c + ("localization",), ch.localization)
        locs.append(interp_b(xs, fp, years))
    loc = np.stack(locs, axis=2)  # S × year × sector
    bare_share = beta[:, None, :] + (1 - beta[:, None, :]) * loc
    hs = d.heavy_free_shift
    shift = np.zeros((S, Y, len(sectors)))
    if hs is not None:
        on = np.array([hs.sectors is None or n in hs.sectors for n in sectors])
        xs, fp = _path(B, ("demand", "heavy_free_shift", "share"), hs.share)
        shift = interp_b(xs, fp, years)[:, :, None] * on[None, None, :]
    grades = model.grade_names
    heavy = gc[:, :, _heavy_elements(model)].sum(axis=2)  # S × grade
    zero = np.zeros(S)
    mix = np.stack(
        [
            np.stack(
                [B.f.get(("demand", "sectors", n, "grade_mix", g), zero) for g in grades], axis=1
            )
            for n in sectors
        ],
        axis=1,
    )  # fmt: skip  S × sector × grade
    grade_split = heavy_free_split_b(mix, heavy, shift)
    ci = s.routes.consumer_incentive
    if ci is not None:
        r = ("routes", "consumer_incentive")
        ci_on = (years[None, :] >= B.f[r + ("start_year",)][:, None]) & (
            years[None, :] <= B.f[r + ("end_year",)][:, None])  # fmt: skip
        shift_ci = B.f[r + ("localization_shift",)][:, None, None]
        bare_share = np.where(
            ci_on[:, :, None], bare_share + shift_ci * (1 - bare_share), bare_share
        )
    else:
        ci_on = np.zeros((S, Y), bool)
    if ch.bare_grade_mix:
        bare, emb = _channels_by_mix_b(
            B, ch, sectors, grades, mix, beta, bare_share, dem, heavy, shift
        )
    else:
        bare = dem[..., None] * bare_share[..., None] * grade_split
        emb = dem[..., None] * (1 - bare_share)[..., None] * grade_split

    ex = d.exports
    exports = np.zeros((S, Y, len(grades)))
    if ex is not None:
        e = ("demand", "exports")
        emix = np.stack([B.f.get(e + ("grade_mix", g), zero) for g in grades], axis=1)
        xs, fp = _path(B, e + ("tonnes",), ex.tonnes)
        exports = interp_b(xs, fp, years)[:, :, None] * emix[:, None, :]
    fail.raise_first()
    return dict(
        sectors=sectors, base=base, dem=dem, bottom=bottom, bare=bare, emb=emb,
        grade_split=grade_split, ci_on=ci_on, exports=exports, heavy=heavy,
        export_premium=B.f[("demand", "exports", "premium")] if ex is not None else np.zeros(S),
    )  # fmt: skip


def _channels_by_mix_b(B, ch, sectors, grades, mix, beta, bare_share, dem, heavy, shift):
    given = ch.bare_grade_mix
    S = B.n
    zero = np.zeros(S)
    b = beta[:, :, None]  # S × sector × 1
    cols = []
    for i, n in enumerate(sectors):
        if n in given:
            want = np.stack([B.f.get(("demand", "channels", "bare_grade_mix", n, g), zero)
                             for g in grades], axis=1)  # fmt: skip
            cols.append(_loose_b(mix[:, i], beta[:, i], want))
        else:
            cols.append(beta[:, i, None] * mix[:, i])
    loose = np.stack(cols, axis=1)  # S × sector × grade
    bmix = loose / np.maximum(b, 1e-300)
    emix = np.where(b < 1.0, np.maximum(mix - loose, 0.0) / np.maximum(1.0 - b, 1e-300), mix)
    bsplit, esplit = heavy_free_split_b(bmix, heavy, shift), heavy_free_split_b(emix, heavy, shift)
    turned = (bare_share - beta[:, None, :]) / np.maximum(1.0 - beta[:, None, :], 1e-300)
    one_minus = (1.0 - beta)[:, None, :, None]
    bare = dem[..., None] * (b[:, None] * bsplit + one_minus * turned[..., None] * esplit)
    emb = dem[..., None] * one_minus * (1.0 - turned)[..., None] * esplit
    return bare, emb
