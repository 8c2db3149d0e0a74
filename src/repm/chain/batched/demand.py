"""`repm.chain.demand.demand` and `history` for a block of S samples at once.

The structure (sector names and bases, the years a path is given at, which options are set,
units) is the block's template; every number comes through `SampleBlock.get` as an (S,) array
and every per-sample array gains a leading sample axis. Loops are over structure (years,
sectors, grades), not samples — except the rare ones done per sample on just the samples that
need them: water-filling the bare channel, a sector in offset units (pint), a lognormal or
Weibull lifetime (scipy.stats). Each sample's first error is the one its own call raises; the
block raises the lowest failing sample's (`Failures`)."""

from __future__ import annotations

import numpy as np

from repm.chain.batched.channels import bare_base_shares, channels_by_mix, heavy_free_split
from repm.chain.batched.exact import Failures, interp, libm_pow, py_sum
from repm.chain.demand import (
    _FACTORS,
    _UNKNOWN,
    HISTORY_YEARS,
    _edges,
    _heavy_elements,
    _tonnes_per_year,
    bare_base_error,
    bare_exceeds_demand,
    calibration_error,
    driver_tonnes,
    lifetime_pmf,
    nothing_to_calibrate,
    residual_error,
    residual_negative,
)
from repm.errors import UserError
from repm.model.units import registry
from repm.scenario.samples import SampleBlock, at

# what the per-sample results hold once for the block (structure), and the (S,) arrays that are
# Python numbers in a sample's result (`slicing.sample`)
SHARED = ("sectors", "base")
HISTORY_SHARED = ("n_ages", "hist_years")

D, SEC, CH = ("demand",), ("demand", "sectors"), ("demand", "channels")


def path_of(b: SampleBlock, prefix: tuple, points: dict, years: np.ndarray) -> np.ndarray:
    """`interp_path(points, years)` of every sample, (S, Y): the points' years are structure."""
    xs = sorted(points)
    fp = np.stack([b.get((*prefix, x)) for x in xs], axis=1)
    return interp(xs, fp, np.asarray(years, dtype=float))


def demand_block(b: SampleBlock, model, years: np.ndarray, gc: np.ndarray) -> dict:
    """`demand(s, model, years, gc[s])` of every sample; gc (S, grade, element). Returns its keys,
    `SHARED` once, the others (S, …)."""
    d = b.template.demand
    S, sectors, base = b.n, tuple(d.sectors), d.base_year
    yl = years.tolist()
    fail = Failures(S)
    total = _total_path(b, d, yl)
    base_total = _total_path(b, d, [base])[:, 0]
    with np.errstate(all="ignore"):  # a failed sample's rows are not read: the block raises
        base_t: dict[str, np.ndarray] = {}
        for name, sec in d.sectors.items():
            if sec.basis == "driver":
                base_t[name] = _base_tonnes(b, name, sec, fail)
            elif sec.basis == "share":
                base_t[name] = b.get((*SEC, name, "share")) * base_total
        residual = [n for n, sec in d.sectors.items() if sec.basis == "residual"]
        if residual:
            exact = [d.sectors[n].basis == "driver" for n in base_t]  # Python floats
            others = python_sum(list(base_t.values()), exact)
            rest = base_total - others
            fail.check(residual_negative(rest), lambda i: residual_error(
                rest[i], others[i], base, base_total[i], residual[0]))  # fmt: skip
            base_t[residual[0]] = rest
        bottom = np.empty((S, len(yl), len(sectors)))  # sector last: rows sum as the loop's
        for k, n in enumerate(sectors):
            bottom[:, :, k] = base_t[n][:, None] * _activity(b, n, d.sectors[n], base, yl)
        if d.calibration == "anchored":
            sums = bottom.sum(axis=2, keepdims=True)
            fail.check(nothing_to_calibrate(sums), lambda _: calibration_error())
            dem = total[:, :, None] * bottom / sums
        else:
            dem = bottom
        out = _channels(b, model, years, gc, d, sectors, base_total, dem, fail)
    fail.raise_first()
    return dict(sectors=sectors, base=base, dem=dem, bottom=bottom, **out)


def _channels(b, model, years, gc, d, sectors, base_total, dem, fail) -> dict:
    """demand()'s second half: the bare and embedded channels by grade, exports."""
    S, Y, base = b.n, len(years), d.base_year
    bb = b.get((*CH, "bare_base"))
    fail.check(bare_exceeds_demand(bb, base_total),
               lambda i: bare_base_error(bb[i], base, base_total[i]))  # fmt: skip
    beta = bare_base_shares(b, sectors, base_total, dem[:, years.tolist().index(base)], fail)
    ch = d.channels
    pres = [(*CH, "localization_by_sector", n) if n in ch.localization_by_sector
            else (*CH, "localization") for n in sectors]  # fmt: skip
    along = {p: path_of(b, p, at(b.template, p), years) for p in dict.fromkeys(pres)}
    loc = np.stack([along[p] for p in pres], axis=2)  # S × year × sector
    bare_share = beta[:, None, :] + (1 - beta[:, None, :]) * loc
    hs = d.heavy_free_shift
    shift = np.zeros((S, Y, len(sectors)))
    if hs is not None:
        on = np.array([hs.sectors is None or n in hs.sectors for n in sectors])
        shift = path_of(b, (*D, "heavy_free_shift", "share"), hs.share, years)[:, :, None] * on
    grades = model.grade_names
    heavy = gc[:, :, _heavy_elements(model)].sum(axis=2)  # S × grade
    mixes = [_mix(b, (*SEC, n, "grade_mix"), d.sectors[n].grade_mix, grades) for n in sectors]
    mix = np.stack(mixes, axis=1)  # S × sector × grade
    grade_split = heavy_free_split(mix, heavy, shift)
    ci = b.template.routes.consumer_incentive
    ci_on = np.zeros((S, Y), bool)
    if ci is not None:  # buyers supported to buy Indian magnets bring sub-assembly imports home
        r = ("routes", "consumer_incentive")
        ci_on = (years >= b.get((*r, "start_year"))[:, None]) & (
            years <= b.get((*r, "end_year"))[:, None])  # fmt: skip
        lift = b.get((*r, "localization_shift"))[:, None, None]
        bare_share = np.where(ci_on[:, :, None], bare_share + lift * (1 - bare_share), bare_share)
    if ch.bare_grade_mix:
        bare, emb = channels_by_mix(b, sectors, grades, mix, beta, bare_share, dem, heavy, shift)
    else:
        bare = dem[..., None] * bare_share[..., None] * grade_split
        emb = dem[..., None] * (1 - bare_share)[..., None] * grade_split
    ex = d.exports
    exports = np.zeros((S, Y, len(grades)))
    premium = np.zeros(S)
    if ex is not None:  # buyers abroad: a volume path split by its grade mix
        emix = _mix(b, (*D, "exports", "grade_mix"), ex.grade_mix, grades)
        volume = path_of(b, (*D, "exports", "tonnes"), ex.tonnes, years)
        exports = volume[:, :, None] * emix[:, None, :]
        premium = b.get((*D, "exports", "premium"))
    return dict(bare=bare, emb=emb, grade_split=grade_split, ci_on=ci_on, exports=exports,
                heavy=heavy, export_premium=premium)  # fmt: skip


def python_sum(arrays: list[np.ndarray], exact: list[bool]) -> np.ndarray:
    """Python's `sum()` of numbers of which `exact[k]` are Python floats, the others numpy's
    (a share sector's `share * base_total`): from 3.12 CPython compensates only the leading run
    of exact floats, then adds the rest in turn (`py_sum` is the run's; 3.11 adds all in turn)."""
    run = next((k for k, e in enumerate(exact) if not e), len(exact))
    acc = py_sum(arrays[:run]) if run else 0 + arrays[0]
    for x in arrays[max(run, 1) :]:
        acc = acc + x
    return acc


def _mix(b: SampleBlock, prefix: tuple, given: dict, grades) -> np.ndarray:
    """(S, grade): a grade mix in the definition's order, absent grades 0."""
    zero = np.zeros(b.n)
    return np.stack([b.get((*prefix, g)) if g in given else zero for g in grades], axis=1)


def _total_path(b: SampleBlock, d, years: list[int]) -> np.ndarray:
    """`_total_path` of every sample, (S, len(years)): which anchor interval a year falls in is
    structure; the powers are C's pow, as the loop's Python floats have them."""
    ay = sorted(d.anchors)
    A = {y: b.get((*D, "anchors", y)) for y in ay}
    after = b.get((*D, "growth_after_anchors"))
    yv = np.array(years)
    out = np.empty((b.n, len(years)))
    first = libm_pow(A[ay[1]] / A[ay[0]], 1 / (ay[1] - ay[0])) - 1 if len(ay) > 1 else after
    lo = yv <= ay[0]
    hi = (yv >= ay[-1]) & ~lo
    if lo.any():
        out[:, lo] = A[ay[0]][:, None] * libm_pow((1 + first)[:, None], (yv[lo] - ay[0]) * 1.0)
    if hi.any():
        out[:, hi] = A[ay[-1]][:, None] * libm_pow((1 + after)[:, None], (yv[hi] - ay[-1]) * 1.0)
    for k in range(len(ay) - 1):  # between anchors k and k + 1
        y0, y1 = ay[k], ay[k + 1]
        m = (yv >= y0) & (yv < y1) & ~lo & ~hi
        if m.any():
            g = libm_pow(A[y1] / A[y0], 1 / (y1 - y0))
            out[:, m] = A[y0][:, None] * libm_pow(g[:, None], (yv[m] - y0) * 1.0)
    return out


def _activity(b: SampleBlock, name: str, sec, base: int, years: list[int]) -> np.ndarray:
    """`_activity_factors` of every sample, (S, Y)."""
    p = (*SEC, name)
    g = 1 + b.get((*p, "growth"))
    if not sec.activity_path:
        return libm_pow(g[:, None], np.array([float(y - base) for y in years]))
    a0 = b.get((*p, "activity"))
    xs = sorted({base, *sec.activity_path})  # the base year's point: a later one overrides it
    fp = np.stack(
        [b.get((*p, "activity_path", y)) if y in sec.activity_path else a0 for y in xs], axis=1
    )
    last = max(xs)
    at = interp(xs, fp, np.asarray(years, dtype=float)) / a0[:, None]
    cols = [
        libm_pow(g, float(y - base))
        if y <= base
        else at[:, i] * (libm_pow(g, float(y - last)) if y > last else 1.0)
        for i, y in enumerate(years)
    ]
    return np.stack(cols, axis=1)


def _base_tonnes(b: SampleBlock, name: str, sec, fail: Failures) -> np.ndarray:
    """`_base_tonnes` of every sample: magnitudes × pint's factor for the units (structure);
    where there is none (an offset unit, units pint refuses) each sample through pint."""
    p = (*SEC, name)
    a, i = sec.activity, sec.intensity
    key = (tuple(a.unit_items()), tuple(i.unit_items()))
    factor = _FACTORS.get(key, _UNKNOWN)
    if factor is _UNKNOWN:
        factor = _FACTORS[key] = _tonnes_per_year(a.units, i.units)
    act, inten, adopt = b.get((*p, "activity")), b.get((*p, "intensity")), b.get((*p, "adoption"))
    if factor is not None:
        return act * inten * adopt * factor
    out, errs = np.zeros(b.n), {}
    Q = registry().Quantity
    for k in range(b.n):  # rare: pint per sample, as the loop
        one = sec.model_copy(update={"activity": Q(float(act[k]), a.units),
                                     "intensity": Q(float(inten[k]), i.units),
                                     "adoption": float(adopt[k])})  # fmt: skip
        try:
            out[k] = driver_tonnes(name, one)
        except UserError as exc:
            errs[k] = exc
    fail.check(np.isin(np.arange(b.n), list(errs)), errs.__getitem__)
    return out


def history_block(
    b: SampleBlock, years: np.ndarray, dem: np.ndarray, grade_split: np.ndarray
) -> dict:
    """`history(s, years, dem[s], grade_split[s])` of every sample: `pmf` (S, sector, age),
    `hist` (S, sector, grade, hist_year); `HISTORY_SHARED` once."""
    d = b.template.demand
    sectors = tuple(d.sectors)
    n_ages = HISTORY_YEARS + len(years) + 1
    lts = [d.sectors[n].lifetime for n in sectors]
    mean = np.stack([b.get((*SEC, n, "lifetime", "mean")) for n in sectors], axis=1)
    cv = np.stack([b.get((*SEC, n, "lifetime", "cv")) for n in sectors], axis=1)
    pmf = np.empty((b.n, len(sectors), n_ages))
    normal = [i for i, lt in enumerate(lts) if lt.distribution == "normal"]
    if normal:  # lifetime_pmf's operations element by element, scipy's ndtr (a ufunc) on all
        from repm.chain.demand import ndtr  # scipy's ndtr (a ufunc), file-cached for one run

        m, sd = mean[:, normal, None], (mean * cv)[:, normal, None]
        pmf[:, normal] = np.diff(ndtr((_edges(n_ages) - m) / sd), axis=2)
    for i, lt in enumerate(lts):
        if lt.distribution != "normal":  # scipy.stats per sample, as the loop
            for k in range(b.n):
                pmf[k, i] = lifetime_pmf(
                    float(mean[k, i]), float(cv[k, i]), lt.distribution, n_ages
                )
    hist_years = np.arange(years[0] - HISTORY_YEARS, years[0])
    start_dem = dem[:, 0, :, None] * grade_split[:, 0]  # S × sector × grade, the first year
    # numpy's power of arrays, as the loop's Python float ** int array is
    grow = np.power(1 + b.get((*D, "growth_before_horizon"))[:, None], hist_years - years[0])
    hist = start_dem[:, :, :, None] * grow[:, None, None, :]
    return dict(pmf=pmf, n_ages=n_ages, hist=hist, hist_years=hist_years)
