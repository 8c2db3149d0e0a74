"""Global sensitivity with SALib: Sobol indices (Saltelli's sampling, first and total order with
bootstrap confidence intervals) and Morris screening, on any model of uniforms in [0, 1]^k.

The model sees uniforms, not values: repm maps them through each fact's distribution
(`ranges.inverse_cdf`) and lineage (`inputs.Inputs.values`), so the same design serves every
distribution, and the same code is tested on functions whose indices are known in closed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

METHODS = ("sobol", "morris")
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Indices:
    """Indices by factor (a fact or a group), sorted by importance (ST, or Morris' mu*)."""

    method: str
    samples: int
    evaluations: int
    factors: list[dict]  # sobol: {fact, S1, S1_conf, ST, ST_conf}; morris: {fact, mu_star, …}
    y: np.ndarray = field(repr=False)  # every model output, in design order
    warnings: list[str] = field(default_factory=list)


def _problem(names: Sequence[str], groups: Sequence[str] | None) -> dict:
    p = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    if groups is not None:
        p["groups"] = list(groups)
    return p


def n_factors(names: Sequence[str], groups: Sequence[str] | None) -> int:
    return len(names) if groups is None else len(dict.fromkeys(groups))


def evaluations(method: str, samples: int, factors: int) -> int:
    """Model evaluations a design takes: Sobol N·(k + 2) (first and total order), Morris N·(k + 1)."""
    return samples * (factors + 2) if method == "sobol" else samples * (factors + 1)


def sobol(
    model: Callable[[np.ndarray], np.ndarray],
    names: Sequence[str],
    samples: int,
    seed: int = 0,
    groups: Sequence[str] | None = None,
    conf_level: float = 0.95,
    num_resamples: int = 200,
) -> Indices:
    """First- and total-order Sobol indices of model(X) (X: n × k uniforms) from Saltelli's
    design of `samples` base points (a power of 2), with bootstrap confidence half-widths."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    problem = _problem(names, groups)
    if n_factors(names, groups) == 1:  # SALib needs two; one factor carries all the variance
        from scipy.stats import qmc

        X = qmc.Sobol(d=len(names), scramble=True, seed=seed).random(samples)
        Y = np.asarray(model(X), dtype=float)
        label = groups[0] if groups is not None else names[0]
        row = {"fact": label, "S1": 1.0, "S1_conf": 0.0, "ST": 1.0, "ST_conf": 0.0}
        return Indices("sobol", samples, len(Y), [row], Y, [])
    X = sample.sample(problem, samples, calc_second_order=False, scramble=True, seed=seed)
    Y = np.asarray(model(X), dtype=float)
    if Y.shape != (X.shape[0],):
        raise ValueError(f"model returned shape {Y.shape}; expected ({X.shape[0]},)")
    if not np.all(np.isfinite(Y)):
        raise ValueError("the model returned a value that is not finite")
    labels = list(dict.fromkeys(groups)) if groups is not None else list(names)
    if np.var(Y) == 0:
        rows = [{"fact": n, "S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0} for n in labels]
        return Indices("sobol", samples, len(Y), rows, Y, ["the output does not vary"])
    res = analyze.analyze(
        problem, Y, calc_second_order=False, conf_level=conf_level, num_resamples=num_resamples,
        seed=_bootstrap_seed(seed),
    )  # fmt: skip
    rows = [
        {"fact": n, "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
         "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])}
        for i, n in enumerate(labels)
    ]  # fmt: skip
    rows.sort(key=lambda r: -r["ST"])
    return Indices("sobol", samples, len(Y), rows, Y, rank_warnings(rows, "ST", "ST_conf", samples))


def _bootstrap_seed(seed: int) -> int:
    """A non-zero seed for SALib's Sobol bootstrap, derived from `seed`: SALib seeds its
    resampling only `if seed:`, so seed 0 drew the confidence intervals from numpy's global
    state — different in every process (found when a pooled run's intervals differed)."""
    return int(np.random.SeedSequence([seed, 0x5A1B]).generate_state(1)[0]) | 1


def morris(
    model: Callable[[np.ndarray], np.ndarray],
    names: Sequence[str],
    samples: int,
    seed: int = 0,
    groups: Sequence[str] | None = None,
    conf_level: float = 0.95,
    num_resamples: int = 200,
) -> Indices:
    """Morris elementary effects over `samples` trajectories (4 levels): mu* (mean absolute
    effect, in the output's unit), its confidence half-width, and sigma (interactions and
    non-linearity)."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    problem = _problem(names, groups)
    X = sample.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    Y = np.asarray(model(X), dtype=float)
    if not np.all(np.isfinite(Y)):
        raise ValueError("the model returned a value that is not finite")
    res = analyze.analyze(
        problem, X, Y, num_resamples=num_resamples, conf_level=conf_level,
        num_levels=MORRIS_LEVELS, seed=seed,
    )  # fmt: skip
    rows = [
        {"fact": str(n), "mu_star": float(res["mu_star"][i]),
         "mu_star_conf": float(res["mu_star_conf"][i]), "mu": float(res["mu"][i]),
         "sigma": float(res["sigma"][i])}
        for i, n in enumerate(res["names"])
    ]  # fmt: skip
    rows = [
        {k: (0.0 if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    rows.sort(key=lambda r: -r["mu_star"])
    return Indices(
        "morris", samples, len(Y), rows, Y, rank_warnings(rows, "mu_star", "mu_star_conf", samples)
    )


def rank_warnings(rows: list[dict], key: str, conf: str, samples: int, top: int = 3) -> list[str]:
    """A warning when the confidence intervals of the leading factors overlap (rows sorted by
    `key`): their order is then not established at this sample size."""
    out = []
    lead = rows[: top + 1]
    for a, b in zip(lead, lead[1:], strict=False):
        if a[key] - a[conf] <= b[key] + b[conf] and a[key] > 0:
            out.append(
                f"confidence intervals too wide to rank {a['fact']} above {b['fact']} "
                f"({key} {a[key]:.3g} ± {a[conf]:.2g} vs {b[key]:.3g} ± {b[conf]:.2g}); "
                f"more samples narrow them (~1/√N: --samples {samples * 4} halves them)"
            )
            break
    return out
