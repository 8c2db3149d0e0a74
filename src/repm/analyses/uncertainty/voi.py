"""Value of information (issue 14 part 4; docs/uncertainty.md): what knowing a fact before
deciding is worth, from a matrix of net benefits over parameter samples.

`nb` is samples × options: the net benefit (crore INR) of each option of the decision in each
parameter sample. With the decision taken now on what is known, the best one can do is the
option with the largest expected net benefit; knowing the sample before deciding, one picks the
best option in each. Hence

    EVPI       = E[max_d NB_d(θ)] − max_d E[NB_d(θ)]
    EVPPI(φ)   = E[max_d E[NB_d | φ]] − max_d E[NB_d(θ)]

EVPPI uses the regression estimator of Strong & Oakley (2013, Med. Decis. Making 34:311): each
option's net benefit is regressed on the fact(s) φ, and the fitted values stand for E[NB_d | φ].
The smoother is a least-squares polynomial in φ (cubic when there are enough samples, lower
degree with few); for several facts, a single index — the linear least-squares combination of
the facts — is found first and the polynomial is fitted in it. Ordinary least squares with an
intercept keeps the mean of the fitted values equal to the mean of the net benefit, so the
second term is the same as EVPI's and EVPPI ≥ 0 exactly. Fitted values carry sampling noise,
and max is convex, so with few samples EVPPI is biased upwards: `noise_floor` measures that bias
with the facts themselves shuffled against the net benefit (the largest value the estimator gives
among the facts ranked when none of them is linked to the answer, exceeded by chance in about one
try in fifty), and the estimate is capped at EVPI (a partial information is never worth more).
"""

from __future__ import annotations

import math

import numpy as np

FLAG_GRADES = ("C", "assumption")  # weak grades: high value of information → research next
FLAG_SHARE = 0.10  # of EVPI, and above the noise floor: a fact worth pinning down


def evpi(nb: np.ndarray) -> float:
    """Expected value of perfect information from a samples × options net-benefit matrix."""
    nb = _matrix(nb)
    return max(float(nb.max(axis=1).mean() - nb.mean(axis=0).max()), 0.0)


def degree_for(n: int) -> int:
    """The smoother's polynomial degree for n samples: linear below 24, quadratic below 36,
    cubic from 36 (four coefficients want ~10 samples each)."""
    return int(min(3, max(1, n // 12)))


def fitted(x: np.ndarray, y: np.ndarray, degree: int | None = None) -> np.ndarray:
    """E[y | x] at each sample, by least squares: a polynomial of `degree` in x (one column) or
    in the single index of several columns (their least-squares linear combination)."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    x = np.asarray(x, dtype=float).reshape(n, -1)
    degree = degree_for(n) if degree is None else degree
    z = _standard(x)
    if z.shape[1] == 0 or np.ptp(y) == 0:
        return np.full(n, y.mean())
    if z.shape[1] > 1:
        a = np.column_stack([np.ones(n), z])
        beta, *_ = np.linalg.lstsq(a, y, rcond=None)
        t = _standard((z @ beta[1:])[:, None])
        if t.shape[1] == 0:
            return np.full(n, y.mean())
        z = t
    a = np.column_stack([z[:, 0] ** k for k in range(degree + 1)])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    g = a @ coef
    return g - g.mean() + y.mean()  # exact: the mean of the fit is the mean of y


def evppi(nb: np.ndarray, x: np.ndarray, degree: int | None = None) -> float:
    """EVPPI of the fact(s) `x` (samples × facts, or one column) by regression, capped at EVPI."""
    nb = _matrix(nb)
    g = np.column_stack([fitted(x, nb[:, d], degree) for d in range(nb.shape[1])])
    value = float(g.max(axis=1).mean() - g.mean(axis=0).max())
    return min(max(value, 0.0), evpi(nb))


def evppi_each(nb: np.ndarray, x: np.ndarray, degree: int | None = None) -> np.ndarray:
    """EVPPI of each column of `x` alone (samples × facts), the same estimator as `evppi` with
    all the one-fact regressions solved at once (normal equations of the standardized
    polynomial, batched over facts); capped at EVPI."""
    nb = _matrix(nb)
    n = nb.shape[0]
    x = np.asarray(x, dtype=float).reshape(n, -1)
    return _each(nb, *_terms(x, degree_for(n) if degree is None else degree))


def _terms(x: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """The one-fact regressions' design (samples × facts × terms: the powers of each standardized
    column) and their normal matrices (facts × terms × terms); a column that does not vary has
    only the intercept."""
    sd = x.std(axis=0)
    varies = sd > 1e-12 * np.maximum(np.abs(x).max(axis=0), 1.0)
    z = np.where(varies, (x - x.mean(axis=0)) / np.where(varies, sd, 1.0), 0.0)
    a = np.stack([z**k for k in range(degree + 1)], axis=2)  # n × m × (degree + 1)
    gram = np.einsum("nmi,nmj->mij", a, a)
    gram[~varies] = np.eye(degree + 1)  # a constant column: only the intercept is fitted
    a[:, ~varies, 1:] = 0.0
    return a, gram


def _each(nb: np.ndarray, a: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """`evppi_each` from the design `_terms` made: each option regressed on each fact."""
    n, m = a.shape[:2]
    g = np.empty((n, m, nb.shape[1]))
    for d in range(nb.shape[1]):
        y = nb[:, d]
        if np.ptp(y) == 0:
            g[:, :, d] = y[0]
            continue
        coef = np.linalg.solve(gram, np.einsum("nmi,n->mi", a, y)[..., None])[..., 0]
        fit = np.einsum("nmi,mi->nm", a, coef)
        g[:, :, d] = fit - fit.mean(axis=0) + y.mean()
    value = g.max(axis=2).mean(axis=0) - g.mean(axis=0).max(axis=1)
    return np.minimum(np.maximum(value, 0.0), evpi(nb))


def noise_floor(
    nb: np.ndarray,
    x: np.ndarray,
    replicates: int = 200,
    seed: int = 0,
    degree: int | None = None,
    q: float = 0.98,
) -> float:
    """What the estimator gives when no fact matters, for the facts `x` (samples × facts) ranked
    one by one: the q-quantile (`_beaten_by_chance`), over `replicates` tries, of the largest
    `evppi_each` among the facts, each try with the samples' order shuffled against the net
    benefit (one permutation for every fact: each fact keeps its own values — its distribution,
    its leverage, its ties — and the facts their relations to one another; only their link to the
    net benefit is broken). A ranking in which no fact mattered would top it by chance in at most
    one try in fifty (q = 0.98); an estimate at or below it cannot be told from zero.

    The null is the facts' own: a cubic fitted on a skewed or long-tailed regressor finds more
    in noise than on a uniform one (a few samples far out steer it), and a floor set by uniform
    noise was topped by facts a unit's NPV does not read (docs/uncertainty.md)."""
    nb = _matrix(nb)
    n = nb.shape[0]
    x = np.asarray(x, dtype=float).reshape(n, -1)
    rng = np.random.default_rng(seed)
    a, gram = _terms(x, degree_for(n) if degree is None else degree)  # the same in every try
    tops = [_each(nb[rng.permutation(n)], a, gram).max() for _ in range(replicates)]
    return _beaten_by_chance(tops, q)


def noise_floor_set(
    nb: np.ndarray,
    x: np.ndarray,
    among: int = 1,
    replicates: int = 50,
    seed: int = 0,
    degree: int | None = None,
    q: float = 0.98,
) -> float:
    """`noise_floor` of a set of facts `x` (samples × facts) estimated together (`evppi`'s single
    index), ranked among `among` sets: the q-quantile (`_beaten_by_chance`), over `replicates`
    tries, of the largest EVPPI among `among` copies of the set, each with its samples' order
    shuffled on its own against the net benefit (the set's rows move together: its facts keep
    their values and their relations to one another)."""
    nb = _matrix(nb)
    n = nb.shape[0]
    x = np.asarray(x, dtype=float).reshape(n, -1)
    x = _standard(x)  # a column that does not vary adds nothing (and evppi drops it)
    if x.shape[1] == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    sets, chunk, order = replicates * among, 64, np.arange(n)
    each = np.concatenate([
        evppi_sets(nb, x[rng.permuted(np.tile(order, (min(chunk, sets - lo), 1)), axis=1)],
                   degree, per_call=chunk)
        for lo in range(0, sets, chunk)
    ])  # fmt: skip
    return _beaten_by_chance(each.reshape(replicates, among).max(axis=1), q)


def _beaten_by_chance(tops, q: float) -> float:
    """The floor from `replicates` tries of the largest null EVPPI: the ⌈q (R + 1)⌉-th smallest
    of the R tries (the largest if that is past R), so that one more ranking in which nothing
    matters — exchangeable with the tries — tops it with probability at most 1 − q: with R = 200
    and q = 0.98, the 197th (4 in 201); with 50, the largest (1 in 51). (The 98th percentile of
    50 tries, np.quantile's, is topped about 1 time in 25.)"""
    tops = np.sort(np.asarray(tops, dtype=float))
    k = min(len(tops), math.ceil(q * (len(tops) + 1) - 1e-9))
    return float(tops[k - 1])


def evppi_sets(
    nb: np.ndarray, x: np.ndarray, degree: int | None = None, per_call: int = 64
) -> np.ndarray:
    """`evppi(nb, x[k])` for each set k of regressors (sets × samples × facts, every column
    varying), solved together: the single index and the polynomial by their normal equations,
    batched over sets and options (what `noise_floor_set` asks thousands of times). Equal to
    `evppi` set by set up to rounding (tests/test_voi.py)."""
    nb = _matrix(nb)
    x = np.asarray(x, dtype=float)
    n = nb.shape[0]
    degree = degree_for(n) if degree is None else degree
    cap, flat = evpi(nb), np.ptp(nb, axis=0) == 0
    y = nb[:, ~flat]  # an option that never varies is fitted by its mean
    if y.shape[1] == 0:
        return np.zeros(x.shape[0])
    # the best of the options that never vary, beside each sample's best fitted one
    flat_best = nb[0, flat].max() if flat.any() else -np.inf
    out = np.empty(x.shape[0])
    for lo in range(0, x.shape[0], per_call):  # bounded memory: sets × samples × options × terms
        z = x[lo : lo + per_call]
        z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
        if z.shape[2] > 1:  # the single index: y's least-squares combination of the facts
            a = np.concatenate([np.ones(z.shape[:2] + (1,)), z], axis=2)
            beta = np.linalg.solve(np.einsum("kni,knj->kij", a, a), np.einsum("kni,nd->kid", a, y))
            t = np.einsum("knw,kwd->knd", z, beta[:, 1:, :])
            t = (t - t.mean(axis=1, keepdims=True)) / t.std(axis=1, keepdims=True)
        else:
            t = np.broadcast_to(z, z.shape[:2] + (y.shape[1],))
        a = np.stack([t**j for j in range(degree + 1)], axis=3)  # sets × n × options × terms
        coef = np.linalg.solve(
            np.einsum("kndi,kndj->kdij", a, a), np.einsum("kndi,nd->kdi", a, y)[..., None]
        )[..., 0]
        g = np.einsum("kndi,kdi->knd", a, coef)
        g = g - g.mean(axis=1, keepdims=True) + y.mean(axis=0)
        best = np.maximum(g.max(axis=2), flat_best)
        value = best.mean(axis=1) - np.maximum(g.mean(axis=1).max(axis=1), flat_best)
        out[lo : lo + per_call] = np.minimum(np.maximum(value, 0.0), cap)
    return out


def evpi_interval(
    nb: np.ndarray,
    replicates: int = 400,
    seed: int = 0,
    level: float = 0.90,
    per_draw: np.ndarray | None = None,
) -> tuple[float, float]:
    """A bootstrap interval of EVPI: how wide the estimate is at this sample size. The samples are
    resampled with replacement; with `per_draw` (samples × options × shock draws, whose mean over
    draws is `nb`, the same draws in every sample and option) the draws are resampled too, one
    set for all samples — each option's expected net benefit is itself a Monte Carlo mean, and
    which option looks best in expectation moves with the draws (docs/uncertainty.md)."""
    nb = _matrix(nb)
    rng = np.random.default_rng(seed)
    n = nb.shape[0]
    if per_draw is None:
        vals = [evpi(nb[rng.integers(0, n, n)]) for _ in range(replicates)]
    else:
        per_draw = np.asarray(per_draw, dtype=float)
        if per_draw.shape[:2] != nb.shape or per_draw.ndim != 3:
            raise ValueError(
                f"per-draw net benefits of shape {per_draw.shape}; expected {nb.shape} × draws"
            )
        k = per_draw.shape[2]
        rows, weights = [], np.empty((k, replicates))
        for r in range(replicates):  # each replicate: its samples, and one draw set for all
            rows.append(rng.integers(0, n, n))
            weights[:, r] = np.bincount(rng.integers(0, k, k), minlength=k) / k
        means = per_draw @ weights  # samples × options × replicates: one pass, no copies
        vals = [evpi(means[rows[r], :, r]) for r in range(replicates)]
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def normal_max0(mu: float, sigma: float) -> float:
    """E[max(Z, 0)] for Z ~ N(mu, sigma²) = mu Φ(mu/sigma) + sigma φ(mu/sigma): the closed form
    the tests check EVPI and EVPPI against."""
    if sigma == 0:
        return max(mu, 0.0)
    z = mu / sigma
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return float(mu * cdf + sigma * pdf)


def _matrix(nb: np.ndarray) -> np.ndarray:
    nb = np.asarray(nb, dtype=float)
    if nb.ndim != 2 or nb.shape[0] < 2 or nb.shape[1] < 1:
        raise ValueError(f"net benefits of shape {nb.shape}; expected samples (≥ 2) × options")
    if not np.all(np.isfinite(nb)):
        raise ValueError("a net benefit is not finite")
    return nb


def _standard(x: np.ndarray) -> np.ndarray:
    """Columns centred and scaled; columns that do not vary are dropped."""
    sd = x.std(axis=0)
    keep = sd > 1e-12 * np.maximum(np.abs(x).max(axis=0), 1.0)
    return (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
