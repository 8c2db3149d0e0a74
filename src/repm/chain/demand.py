"""Demand: the anchored total, sectors, grade mixes and channels; in-use history and lifetimes."""

from __future__ import annotations

import functools
import os

import numpy as np

from repm.chain.memo import per_definition
from repm.chain.rules import interp_path
from repm.errors import UserError
from repm.model import ModelDefinition
from repm.model.units import (
    pint,  # as repm imports it (repm.startup.import_pint)
    registry,
)
from repm.scenario.schema import Scenario

HISTORY_YEARS = 30  # cohorts before the horizon, to seed in-use stocks and end-of-life flows
TINY = 1e-300  # a divisor's floor: a share of nothing is 0, not NaN
SETTLED = 1e-15  # the loose channel's share still to place, at or below which it is all placed


def demand(s: Scenario, model: ModelDefinition, years: np.ndarray, gc: np.ndarray) -> dict:
    """Demand by year × sector (total, bottom-up) and by year × sector × grade in the bare and
    embedded channels; the grade split (year × sector × grade) and the years a buyer incentive
    runs. gc: grade × element content, to know which grades carry heavy rare earths."""
    d = s.demand
    sectors = tuple(d.sectors)
    base = d.base_year
    yl = years.tolist()  # Python ints: numpy's scalars cost ~1 µs an operation in the loops
    total = _total_path(d.anchors, d.growth_after_anchors, yl)
    base_total = _total_path(d.anchors, d.growth_after_anchors, [base])[0]

    base_t: dict[str, float] = {}
    for name, sec in d.sectors.items():
        if sec.basis == "driver":
            base_t[name] = driver_tonnes(name, sec)
        elif sec.basis == "share":
            base_t[name] = sec.share * base_total  # type: ignore[operator]
    residual = [n for n, sec in d.sectors.items() if sec.basis == "residual"]
    if residual:
        rest = base_total - sum(base_t.values())
        if residual_negative(rest):
            raise residual_error(rest, sum(base_t.values()), base, base_total, residual[0])
        base_t[residual[0]] = rest
    bottom = np.ascontiguousarray(  # year × sector, C order: row sums round as before
        np.array(
            [[base_t[n] * f for f in _activity_factors(d.sectors[n], base, yl)] for n in sectors],
            dtype=float,
        ).T
    )
    if d.calibration == "anchored":
        sums = bottom.sum(axis=1, keepdims=True)
        if nothing_to_calibrate(sums):
            raise calibration_error()
        dem = total[:, None] * bottom / sums
    else:
        dem = bottom

    if bare_exceeds_demand(d.channels.bare_base, base_total):
        raise bare_base_error(d.channels.bare_base, base, base_total)
    beta = _bare_base_shares(d, sectors, base_total, dem[yl.index(base)])
    ch = d.channels
    paths = [ch.localization_by_sector.get(n, ch.localization) for n in sectors]
    along = {id(p): interp_path(p, years) for p in paths}  # sectors sharing a path: once
    loc = np.stack([along[id(p)] for p in paths], axis=1)  # year × sector
    bare_share = beta[None, :] + (1 - beta[None, :]) * loc  # year × sector
    hs = d.heavy_free_shift
    shift = np.zeros((len(years), len(sectors)))
    if hs is not None:
        on = np.array([hs.sectors is None or n in hs.sectors for n in sectors])
        shift = interp_path(hs.share, years)[:, None] * on[None, :]
    grades = model.grade_names  # each sector's mix in the definition's order (absent grades: 0)
    heavy = heavy_content(model, gc)
    mix = np.array([[d.sectors[n].grade_mix.get(g, 0.0) for g in grades] for n in sectors])
    grade_split = heavy_free_split(mix, heavy, shift)  # year × sector × grade
    ci = s.routes.consumer_incentive
    ci_on = (
        (years >= ci.start_year) & (years <= ci.end_year)
        if ci is not None
        else np.zeros(len(years), bool)
    )
    if ci is not None:  # buyers supported to buy Indian magnets bring sub-assembly imports home
        bare_share = np.where(
            ci_on[:, None], bare_share + ci.localization_shift * (1 - bare_share), bare_share
        )
    if ch.bare_grade_mix:
        bare, emb = _channels_by_mix(d, sectors, grades, mix, beta, bare_share, dem, heavy, shift)
    else:
        bare = dem[:, :, None] * bare_share[:, :, None] * grade_split
        emb = dem[:, :, None] * (1 - bare_share)[:, :, None] * grade_split

    ex = d.exports
    exports = np.zeros((len(years), len(model.grade_names)))
    if ex is not None:  # buyers abroad: a volume path split by its grade mix
        mix = np.array([ex.grade_mix.get(g, 0.0) for g in model.grade_names])
        exports = interp_path(ex.tonnes, years)[:, None] * mix[None, :]

    return dict(
        sectors=sectors, base=base, dem=dem, bottom=bottom, bare=bare, emb=emb,
        grade_split=grade_split, ci_on=ci_on, exports=exports, heavy=heavy,
        export_premium=ex.premium if ex is not None else 0.0,
    )  # fmt: skip


def _channels_by_mix(d, sectors, grades, mix, beta, bare_share, dem, heavy, shift):
    """Bare and embedded demand (year × sector × grade) where a sector's base-year bare magnets
    have their own grade mix (`channels.bare_grade_mix`): the embedded channel takes the rest of
    the sector's mix, and what localisation (and a buyer incentive) turns bare comes from it — so
    the sector's demand by grade is its mix whatever the channels. Why: magnets bought loose
    (speakers, small motors) need not be the grades imported inside assemblies."""
    given = d.channels.bare_grade_mix
    b = beta[:, None]
    loose = np.array(
        [
            _loose_by_grade(mix[i], beta[i], [given[n].get(g, 0.0) for g in grades])
            if n in given
            else beta[i] * mix[i]
            for i, n in enumerate(sectors)
        ]
    )  # sector × grade: the base-year bare magnets, as shares of the sector's demand
    bmix = loose / np.maximum(b, TINY)
    emix = np.where(b < 1.0, np.maximum(mix - loose, 0.0) / np.maximum(1.0 - b, TINY), mix)
    bsplit, esplit = heavy_free_split(bmix, heavy, shift), heavy_free_split(emix, heavy, shift)
    # the share of the base-year embedded channel bought bare this year (localisation, incentive)
    turned = (bare_share - beta[None, :]) / np.maximum(1.0 - beta[None, :], TINY)
    one_minus = (1.0 - beta)[None, :, None]
    bare = dem[:, :, None] * (b[None] * bsplit + one_minus * turned[:, :, None] * esplit)
    emb = dem[:, :, None] * one_minus * (1.0 - turned)[:, :, None] * esplit
    return bare, emb


def _loose_by_grade(mix: np.ndarray, beta: float, want: list[float]) -> np.ndarray:
    """A sector's base-year bare magnets by grade (shares of all it buys): `want` × beta, each
    grade at most what the sector buys of it (`mix`); what a grade cannot hold goes first to the
    other grades the loose mix names, in proportion to what they have left, then to the rest —
    as the channel's level is water-filled across sectors, so drawn shares at their range ends
    stay a valid split, as near the stated mix as the sector allows."""
    w = np.asarray(want, dtype=float)
    take = np.minimum(beta * w, mix)
    for named in (w > 0, w <= 0):  # the grades the mix names, then the others
        excess = beta - float(take.sum())
        if excess <= SETTLED:
            break
        left = np.where(named, mix - take, 0.0)
        room = float(left.sum())
        if room > 0:
            take = take + min(excess, room) * left / room
    return take


def _activity_factors(sec, base: int, years: list[int]) -> list[float]:
    """Each year's activity as a multiple of the base year's: `growth` compounded, or, for a
    driver sector with later observations (`activity_path`), linear between them to the last,
    then `growth` compounded from it (before the base year: `growth` back)."""
    g = 1 + sec.growth
    if not sec.activity_path:
        return [_power(g, y - base) for y in years]
    a0 = sec.activity.magnitude
    pts = {base: a0, **{y: q.magnitude for y, q in sec.activity_path.items()}}  # in its units
    last = max(pts)
    at = interp_path(pts, np.array(years)) / a0  # linear between the points, flat past the last
    return [
        _power(g, y - base) if y <= base else float(r) * (_power(g, y - last) if y > last else 1.0)
        for y, r in zip(years, at, strict=True)
    ]


def _base_tonnes(sec) -> float:
    """`sec.base_tonnes()`: activity × intensity × adoption in t/yr, the same float operations
    pint performs (the magnitudes multiplied in that order, then × pint's factor for the units),
    without pint's quantities (~130 µs a sector, a parameter sample's scenario each time)."""
    a, i = sec.activity, sec.intensity
    key = (tuple(a.unit_items()), tuple(i.unit_items()))  # cheaper to hash than pint's Units
    factor = _FACTORS.get(key, _UNKNOWN)
    if factor is _UNKNOWN:
        factor = _FACTORS[key] = _tonnes_per_year(a.units, i.units)
    if factor is None:  # pint answers: the refusal, or an offset unit
        return sec.base_tonnes()
    return float(a.magnitude * i.magnitude * sec.adoption * factor)


_FACTORS: dict[tuple, float | None] = {}  # (activity's units, intensity's) → the factor to t/yr
_UNKNOWN = object()


def _tonnes_per_year(activity: pint.Unit, intensity: pint.Unit) -> float | None:
    """The factor pint's `to("t/yr")` multiplies activity × intensity by (1.0 × it: the same
    float), found by pint once per pair of units; None where it is not a factor (an offset
    unit such as °C, converted to its base unit first) or pint refuses the conversion."""
    ureg = registry()
    if any(ureg.Quantity(0.0, u).to_root_units().magnitude != 0.0 for u in (activity, intensity)):
        return None
    try:
        return float(
            (ureg.Quantity(1.0, activity) * ureg.Quantity(1.0, intensity)).to("t/yr").magnitude
        )
    except pint.DimensionalityError:
        return None


def _bare_base_shares(d, sectors, base_total: float, base_dem: np.ndarray) -> np.ndarray:
    """Each sector's base-year bare share: the scenario's sector shares scaled so the channel is
    bare_base, or bare_base ÷ demand for every sector."""
    ch = d.channels
    if ch.bare_share is None:
        return np.full(len(sectors), ch.bare_base / base_total)
    err = missing_bare_share(sectors, ch.bare_share)
    if err is not None:
        raise err
    raw = np.array([ch.bare_share[n] for n in sectors])
    implied = float(raw @ base_dem)
    if no_bare_magnets(implied):
        raise no_bare_error()
    beta = raw * (ch.bare_base / implied)
    if over_full(beta.max()):
        beta = water_fill(ch.bare_base, raw, beta, base_dem)
    return np.minimum(beta, 1.0)


def water_fill(
    bare_base: float, raw: np.ndarray, beta: np.ndarray, base_dem: np.ndarray
) -> np.ndarray:
    """One sample's bare shares (by sector) where the scaling takes a sector past 100 %: it
    buys all its magnets bare, and the rest of the channel is split among the others by their
    shares — the channel's level is the sourced figure, the split an assumption (with ranges
    drawn, their ends can meet so). Raises where the sectors with a share cannot buy bare_base.
    The batched demand calls it for each sample that needs it: one loop, one refusal."""
    full = np.zeros(len(raw), dtype=bool)
    while over_full(beta.max()):
        full |= over_full(beta)
        left = bare_base - float(base_dem[full].sum())
        room = float(raw[~full] @ base_dem[~full])
        if left <= 0 or room <= 0:
            raise bare_overflow_error(bare_base, float(base_dem[raw > 0].sum()))
        beta = np.where(full, 1.0, raw * (left / room))
    return beta


# --- demand()'s checks, each one rule: the per-sample module and the batched one
# (repm.chain.batched.demand, .channels) both call these. A condition takes a sample's numbers or
# a block's arrays (a leading sample axis) and answers a verdict or a mask over the samples; an
# error is made of one sample's numbers.


def driver_tonnes(name: str, sec) -> float:
    """A driver sector's base-year t/yr (`_base_tonnes`), or the UserError for units that are no
    mass a year."""
    try:
        return _base_tonnes(sec)
    except ValueError as exc:
        raise UserError(str(exc), where=f"demand.sectors.{name}") from None


def residual_negative(rest):
    """The residual sector's base-year demand below zero: the other sectors take more."""
    return rest < 0


def residual_error(rest, others, base: int, base_total, sector: str) -> UserError:
    return UserError(
        f"residual base-year demand is {rest:,.0f} t: the other sectors ({others:,.0f} t) "
        f"exceed the {base} total of {base_total:,.0f} t; expected them to leave a non-negative rest",
        where=f"demand.sectors.{sector}",
    )


def nothing_to_calibrate(sums):
    """Some year's bottom-up demand (`sums`: … × year × 1) adds up to zero or less."""
    return np.any(sums <= 0, axis=(-2, -1))


def calibration_error() -> UserError:
    return UserError(
        "sectors add up to zero demand; expected some demand to calibrate", where="demand.sectors"
    )


def bare_exceeds_demand(bare_base, base_total):
    """The bare channel above the base year's demand (a 1e-9 t/yr margin for rounding)."""
    return bare_base > base_total + 1e-9


def bare_base_error(bare_base, base: int, base_total) -> UserError:
    return UserError(
        f"{bare_base:,.0f} t/yr exceeds the {base} demand of {base_total:,.0f} t/yr; "
        "expected the bare channel to be part of demand",
        where="demand.channels.bare_base",
    )


def missing_bare_share(sectors, bare_share: dict) -> UserError | None:
    """The error for the first sector without a bare share (sector shares given for some), or
    None: structure, the same for every sample of a block."""
    missing = [n for n in sectors if n not in bare_share]
    if not missing:
        return None
    return UserError(
        f"no bare share for sector {missing[0]!r}; expected one for every sector (or none)",
        where="demand.channels.bare_share",
    )


def no_bare_magnets(implied):
    """The sector shares × base-year demand give no bare magnets."""
    return implied <= 0


def no_bare_error() -> UserError:
    return UserError(
        "the sector shares give no bare magnets; expected some sector with a share above 0",
        where="demand.channels.bare_share",
    )


def over_full(share):
    """A bare share past 100 % (beyond a 1e-12 margin): water-filling's trigger and its step."""
    return share > 1 + 1e-12


def bare_overflow_error(bare_base, most: float) -> UserError:
    return UserError(
        f"{bare_base:,.0f} t is more than the sectors with a bare share buy "
        f"({most:,.0f} t in the base year); expected at most that",
        where="demand.channels.bare_base",
    )


def heavy_content(model: ModelDefinition, gc: np.ndarray) -> np.ndarray:
    """kg of heavy rare earths (Dy, Tb) per kg of each grade class."""
    return gc[:, _heavy_elements(model)].sum(axis=1)


@per_definition
def _heavy_elements(model: ModelDefinition) -> list[int]:
    return [model.element_names.index(e) for e in model.element_groups("heavy")]


def heavy_free_split(mix: np.ndarray, heavy: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """year × sector × grade shares: each sector's mix (sector × grade) with `shift` (year ×
    sector) of each Dy/Tb-bearing grade's mass moved one class down — to the grade with the
    next lower heavy-rare-earth content (`heavy`, by grade)."""
    out = np.repeat(mix[None], len(shift), axis=0)
    if not shift.any() and not np.signbit(mix).any():
        return out  # nothing moves: each share would be itself ± 0.0, unchanged
    down = next_lower_grade(heavy)
    for upper in np.argsort(heavy, kind="stable").tolist():  # lightest first
        if down[upper] >= 0:
            moved = mix[:, upper] * shift  # the mass the grade had before any move
            out[:, :, upper] -= moved
            out[:, :, down[upper]] += moved
    return out


def next_lower_grade(heavy: np.ndarray) -> np.ndarray:
    """grade -> the grade one class down: the next lower heavy-rare-earth content (`heavy`, by
    grade); −1 for a grade with none lower (what a switch off a grade moves to)."""
    order = np.argsort(heavy, kind="stable").tolist()  # lightest first
    content = heavy.tolist()
    down = np.full(len(heavy), -1, dtype=np.int64)
    for lower, upper in zip(order[:-1], order[1:], strict=True):
        if content[upper] > content[lower]:
            down[upper] = lower
    return down


def history(s: Scenario, years: np.ndarray, dem: np.ndarray, grade_split: np.ndarray) -> dict:
    """Lifetime distributions by sector and the inflow of the cohorts before the horizon
    (bought with the first year's grade split)."""
    d = s.demand
    sectors = tuple(d.sectors)
    # lifetimes and history
    n_ages = HISTORY_YEARS + len(years) + 1
    lifetimes = [d.sectors[n].lifetime for n in sectors]
    pmf = np.empty((len(sectors), n_ages))
    normal = [i for i, lt in enumerate(lifetimes) if lt.distribution == "normal"]
    if normal:  # all at once: lifetime_pmf's operations, element by element
        mean = np.array([lifetimes[i].mean for i in normal])[:, None]
        sd = np.array([lifetimes[i].mean * lifetimes[i].cv for i in normal])[:, None]
        pmf[normal] = np.diff(ndtr((_edges(n_ages)[None, :] - mean) / sd), axis=1)
    for i, lt in enumerate(lifetimes):
        if lt.distribution != "normal":
            pmf[i] = lifetime_pmf(lt.mean, lt.cv, lt.distribution, n_ages)
    hist_years = np.arange(years[0] - HISTORY_YEARS, years[0])
    start_dem = dem[0][:, None] * grade_split[0]  # sector × grade in the first year
    hist = (
        start_dem[:, :, None]
        * (1 + d.growth_before_horizon) ** (hist_years - years[0])[None, None, :]
    )

    return dict(pmf=pmf, n_ages=n_ages, hist=hist, hist_years=hist_years)


def _total_path(anchors: dict[int, float], growth_after: float, years: list[int]) -> np.ndarray:
    """Demand total: geometric between anchors, back-cast before the first with the first
    interval's growth, and `growth_after` after the last anchor."""
    ay = sorted(anchors)
    out = np.empty(len(years))
    first_growth = (
        (anchors[ay[1]] / anchors[ay[0]]) ** (1 / (ay[1] - ay[0])) - 1
        if len(ay) > 1
        else growth_after
    )
    for i, y in enumerate(years):
        if y <= ay[0]:
            out[i] = anchors[ay[0]] * _power(1 + first_growth, y - ay[0])
        elif y >= ay[-1]:
            out[i] = anchors[ay[-1]] * _power(1 + growth_after, y - ay[-1])
        else:
            k = max(j for j in range(len(ay)) if ay[j] <= y)
            y0, y1 = ay[k], ay[k + 1]
            g = (anchors[y1] / anchors[y0]) ** (1 / (y1 - y0))
            out[i] = anchors[y0] * _power(g, y - y0)
    return out


def _power(base: float, exponent: int) -> float:
    """`base ** exponent` by C's pow (Python's float power calls it); where Python raises
    (overflow, 0 to a negative power) numpy answers (inf). numpy's scalar power is C's pow on
    most CPUs, SIMD library code on AVX-512 ones (the last bit may differ)."""
    try:
        return base**exponent
    except (OverflowError, ZeroDivisionError):
        return float(np.float64(base) ** np.int64(exponent))


@functools.lru_cache(maxsize=64)
def _edges(n_ages: int) -> np.ndarray:
    """The whole ages' upper edges, below −inf: what `lifetime_pmf` integrates between."""
    edges = np.concatenate([[-np.inf], np.arange(n_ages) + 0.5])
    edges.flags.writeable = False  # shared by every call
    return edges


NDTR_FILES = 64  # lifetime CDFs kept in the cache folder (the oldest go first)


def ndtr(z: np.ndarray) -> np.ndarray:
    """`scipy.special.ndtr(z)` (the standard normal CDF), remembered in the cache folder by z's
    bytes: importing scipy.special costs a warm `repm run` ~0.3 s, and a scenario's lifetimes are
    the same from one run to the next. The values are scipy's, stored exactly (.npy); once scipy
    is imported in this process, it answers directly (a parameter sample's z is new each time)."""
    import hashlib
    import sys
    from importlib.metadata import version

    from repm.model.facts import cache_dir

    z = np.ascontiguousarray(z, dtype=np.float64)
    if "scipy.special" in sys.modules:  # imported already (parameter samples: z new each time)
        return sys.modules["scipy.special"].ndtr(z)
    h = hashlib.sha256(f"{version('scipy')} {z.shape}".encode())  # another scipy: new values
    h.update(z.tobytes())
    folder = cache_dir() / "ndtr"
    path = folder / f"{h.hexdigest()[:32]}.npy"
    try:
        out = np.load(path, allow_pickle=False)
        if out.shape == z.shape and out.dtype == np.float64:
            return out
    except (OSError, ValueError):
        pass
    from scipy.special import ndtr as scipy_ndtr  # scipy.stats takes ~1 s to import

    out = scipy_ndtr(z)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = sorted(folder.glob("*.npy"), key=lambda f: f.stat().st_mtime)
        for old in kept[: max(0, len(kept) - NDTR_FILES + 1)]:  # a few scenarios' lifetimes
            old.unlink(missing_ok=True)
        with open(tmp, "wb") as fh:
            np.save(fh, out, allow_pickle=False)
        os.replace(tmp, path)  # a concurrent reader sees the whole file or none
    except OSError:  # a read-only cache: computed each time
        tmp.unlink(missing_ok=True)
    return out


def lifetime_pmf(mean: float, cv: float, distribution: str, n_ages: int) -> np.ndarray:
    """Share of a cohort reaching end of life at each whole age 0..n_ages-1 (scipy.stats)."""
    sd = mean * cv
    edges = _edges(n_ages)
    if distribution == "normal":  # what stats.norm(mean, sd).cdf computes, bit for bit
        return np.diff(ndtr((edges - mean) / sd))
    from scipy import optimize, special, stats

    if distribution == "lognormal":
        sigma = np.sqrt(np.log(1 + cv**2))
        dist = stats.lognorm(s=sigma, scale=mean / np.sqrt(1 + cv**2))
    else:  # weibull: solve the shape k for the coefficient of variation

        def cv_of(k: float) -> float:
            g1, g2 = special.gamma(1 + 1 / k), special.gamma(1 + 2 / k)
            return np.sqrt(g2 / g1**2 - 1) - cv

        k = optimize.brentq(cv_of, 0.05, 100.0)
        dist = stats.weibull_min(c=k, scale=mean / special.gamma(1 + 1 / k))
    cdf = dist.cdf(edges)
    return np.diff(cdf)  # age 0 takes everything up to 0.5 (and any mass below zero)
