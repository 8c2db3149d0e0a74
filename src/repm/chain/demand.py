"""Demand: the anchored total, sectors, grade mixes and channels; in-use history and lifetimes."""

from __future__ import annotations

import numpy as np

from repm.chain.rules import interp_path
from repm.errors import UserError
from repm.model import ModelDefinition
from repm.scenario.schema import Scenario

HISTORY_YEARS = 30  # cohorts before the horizon, to seed in-use stocks and end-of-life flows


def demand(s: Scenario, model: ModelDefinition, years: np.ndarray, gc: np.ndarray) -> dict:
    """Demand by year × sector (total, bottom-up) and by year × sector × grade in the bare and
    embedded channels; the grade split (year × sector × grade) and the years a buyer incentive
    runs. gc: grade × element content, to know which grades carry heavy rare earths."""
    d = s.demand
    sectors = tuple(d.sectors)
    base = d.base_year
    total = _total_path(d.anchors, d.growth_after_anchors, years)
    base_total = _total_path(d.anchors, d.growth_after_anchors, np.array([base]))[0]

    base_t: dict[str, float] = {}
    for name, sec in d.sectors.items():
        if sec.basis == "driver":
            try:
                base_t[name] = sec.base_tonnes()
            except ValueError as exc:
                raise UserError(str(exc), where=f"demand.sectors.{name}") from None
        elif sec.basis == "share":
            base_t[name] = sec.share * base_total  # type: ignore[operator]
    residual = [n for n, sec in d.sectors.items() if sec.basis == "residual"]
    if residual:
        rest = base_total - sum(base_t.values())
        if rest < 0:
            raise UserError(
                f"residual base-year demand is {rest:,.0f} t: the other sectors ({sum(base_t.values()):,.0f} t) "
                f"exceed the {base} total of {base_total:,.0f} t; expected them to leave a non-negative rest",
                where=f"demand.sectors.{residual[0]}",
            )
        base_t[residual[0]] = rest
    bottom = np.array(
        [[base_t[n] * (1 + d.sectors[n].growth) ** (y - base) for n in sectors] for y in years]
    )
    if d.calibration == "anchored":
        sums = bottom.sum(axis=1, keepdims=True)
        if np.any(sums <= 0):
            raise UserError(
                "sectors add up to zero demand; expected some demand to calibrate",
                where="demand.sectors",
            )
        dem = total[:, None] * bottom / sums
    else:
        dem = bottom

    if d.channels.bare_base > base_total + 1e-9:
        raise UserError(
            f"{d.channels.bare_base:,.0f} t/yr exceeds the {base} demand of {base_total:,.0f} t/yr; "
            "expected the bare channel to be part of demand",
            where="demand.channels.bare_base",
        )
    beta = _bare_base_shares(d, sectors, base_total, dem[list(years).index(base)])
    ch = d.channels
    loc = np.stack(
        [interp_path(ch.localization_by_sector.get(n, ch.localization), years) for n in sectors],
        axis=1,
    )  # year × sector
    bare_share = beta[None, :] + (1 - beta[None, :]) * loc  # year × sector
    hs = d.heavy_free_shift
    shift = np.zeros((len(years), len(sectors)))
    if hs is not None:
        on = np.array([hs.sectors is None or n in hs.sectors for n in sectors])
        shift = interp_path(hs.share, years)[:, None] * on[None, :]
    grade_split = heavy_free_split(
        np.array([list(d.sectors[n].mix(model).values()) for n in sectors]),
        heavy_content(model, gc),
        shift,
    )  # year × sector × grade
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
    bare = dem[:, :, None] * bare_share[:, :, None] * grade_split
    emb = dem[:, :, None] * (1 - bare_share)[:, :, None] * grade_split

    ex = d.exports
    exports = np.zeros((len(years), len(model.grade_names)))
    if ex is not None:  # buyers abroad: a volume path split by its grade mix
        mix = np.array([ex.grade_mix.get(g, 0.0) for g in model.grade_names])
        exports = interp_path(ex.tonnes, years)[:, None] * mix[None, :]

    return dict(
        sectors=sectors, base=base, dem=dem, bottom=bottom, bare=bare, emb=emb,
        grade_split=grade_split, ci_on=ci_on, exports=exports,
        export_premium=ex.premium if ex is not None else 0.0,
    )  # fmt: skip


def _bare_base_shares(d, sectors, base_total: float, base_dem: np.ndarray) -> np.ndarray:
    """Each sector's base-year bare share: the scenario's sector shares scaled so the channel is
    bare_base, or bare_base ÷ demand for every sector."""
    ch = d.channels
    if ch.bare_share is None:
        return np.full(len(sectors), ch.bare_base / base_total)
    missing = [n for n in sectors if n not in ch.bare_share]
    if missing:
        raise UserError(
            f"no bare share for sector {missing[0]!r}; expected one for every sector (or none)",
            where="demand.channels.bare_share",
        )
    raw = np.array([ch.bare_share[n] for n in sectors])
    implied = float(raw @ base_dem)
    if implied <= 0:
        raise UserError(
            "the sector shares give no bare magnets; expected some sector with a share above 0",
            where="demand.channels.bare_share",
        )
    beta = raw * (ch.bare_base / implied)
    if beta.max() > 1 + 1e-12:
        n = sectors[int(beta.argmax())]
        raise UserError(
            f"scaled to bare_base ({ch.bare_base:,.0f} t) sector {n!r} would buy {beta.max():.0%} of "
            "its magnets bare; expected at most 100 %",
            where="demand.channels.bare_share",
        )
    return np.minimum(beta, 1.0)


def heavy_content(model: ModelDefinition, gc: np.ndarray) -> np.ndarray:
    """kg of heavy rare earths (Dy, Tb) per kg of each grade class."""
    heavy = [model.element_names.index(e) for e in model.element_groups("heavy")]
    return gc[:, heavy].sum(axis=1)


def heavy_free_split(mix: np.ndarray, heavy: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """year × sector × grade shares: each sector's mix (sector × grade) with `shift` (year ×
    sector) of each Dy/Tb-bearing grade's mass moved one class down — to the grade with the
    next lower heavy-rare-earth content (`heavy`, by grade)."""
    down = next_lower_grade(heavy)
    out = np.broadcast_to(mix, (len(shift),) + mix.shape).copy()
    base = out.copy()
    for upper in np.argsort(heavy, kind="stable"):  # lightest first
        if down[upper] >= 0:
            moved = base[:, :, upper] * shift
            out[:, :, upper] -= moved
            out[:, :, down[upper]] += moved
    return out


def next_lower_grade(heavy: np.ndarray) -> np.ndarray:
    """grade -> the grade one class down: the next lower heavy-rare-earth content (`heavy`, by
    grade); −1 for a grade with none lower (what a switch off a grade moves to)."""
    order = np.argsort(heavy, kind="stable")  # lightest first
    down = np.full(len(heavy), -1, dtype=np.int64)
    for lower, upper in zip(order[:-1], order[1:], strict=True):
        if heavy[upper] > heavy[lower]:
            down[upper] = lower
    return down


def history(s: Scenario, years: np.ndarray, dem: np.ndarray, grade_split: np.ndarray) -> dict:
    """Lifetime distributions by sector and the inflow of the cohorts before the horizon
    (bought with the first year's grade split)."""
    d = s.demand
    sectors = tuple(d.sectors)
    # lifetimes and history
    n_ages = HISTORY_YEARS + len(years) + 1
    pmf = np.array(
        [
            lifetime_pmf(
                d.sectors[n].lifetime.mean,
                d.sectors[n].lifetime.cv,
                d.sectors[n].lifetime.distribution,
                n_ages,
            )
            for n in sectors
        ]
    )
    hist_years = np.arange(years[0] - HISTORY_YEARS, years[0])
    start_dem = dem[0][:, None] * grade_split[0]  # sector × grade in the first year
    hist = (
        start_dem[:, :, None]
        * (1 + d.growth_before_horizon) ** (hist_years - years[0])[None, None, :]
    )

    return dict(pmf=pmf, n_ages=n_ages, hist=hist, hist_years=hist_years)


def _total_path(anchors: dict[int, float], growth_after: float, years: np.ndarray) -> np.ndarray:
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
            out[i] = anchors[ay[0]] * (1 + first_growth) ** (y - ay[0])
        elif y >= ay[-1]:
            out[i] = anchors[ay[-1]] * (1 + growth_after) ** (y - ay[-1])
        else:
            k = max(j for j in range(len(ay)) if ay[j] <= y)
            y0, y1 = ay[k], ay[k + 1]
            g = (anchors[y1] / anchors[y0]) ** (1 / (y1 - y0))
            out[i] = anchors[y0] * g ** (y - y0)
    return out


def lifetime_pmf(mean: float, cv: float, distribution: str, n_ages: int) -> np.ndarray:
    """Share of a cohort reaching end of life at each whole age 0..n_ages-1 (scipy.stats)."""
    sd = mean * cv
    edges = np.concatenate([[-np.inf], np.arange(n_ages) + 0.5])
    if distribution == "normal":  # what stats.norm(mean, sd).cdf computes, bit for bit
        from scipy.special import ndtr  # scipy.stats takes ~1 s to import: only when needed

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
