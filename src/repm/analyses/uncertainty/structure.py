"""Structural uncertainty: which of several scenarios describes the system, weighed like a fact.

Some doubts are not about a number but about how the system is put together — whose sector split
of India's demand is right (the bottom-up drivers of `india-baseline` or the government's split,
`india-official-split`), which route a unit will take. `repm uncertainty`, `sensitivity` and
`voi` take such alternatives with weights (`--alternative NAME=WEIGHT`; the scenario asked for
keeps the rest of the weight), and treat the choice as one more uncertain input, `scenario`:

- each parameter sample draws it, from its own Philox stream keyed like a fact's (by seed, sample
  and the id `scenario`; in `uncertainty` and `voi` stratified, so each scenario runs in its
  weight's share of the samples to within one), and is evaluated under that scenario; its fact
  values do not depend on which scenario it drew (each fact keeps its own stream), but each
  sample runs one scenario, so the groups are independent samples, not pairs;
- its share of an answer's variance is Var(E[Y | scenario]) / Var(Y), the first-order Sobol
  index of a discrete input, estimated from the group means (ε²) beside what shuffled labels
  read (its chance level);
- its value of information is EVPPI with E[NB | scenario] from the group means (the regression
  estimator's smoother is not needed for a discrete input): "knowing which split is right before
  deciding is worth ₹N crore".

docs/uncertainty.md "Which scenario".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from repm.errors import UserError

STRUCTURE = "scenario"  # the structural input's id, beside the fact ids (no fact may take it)


@dataclass(frozen=True)
class Alternatives:
    """The scenarios weighed (the one asked for first) and their weights (summing to 1)."""

    names: tuple[str, ...]
    weights: tuple[float, ...]

    @classmethod
    def of(cls, base: str, alternatives: Sequence[tuple[str, float]]) -> Alternatives:
        rest = 1.0 - sum(w for _, w in alternatives)
        return cls((base, *(n for n, _ in alternatives)), (rest, *(w for _, w in alternatives)))

    def index(self, u: np.ndarray) -> np.ndarray:
        """The scenario of each uniform in (0, 1): scenario k where the cumulative weights first
        exceed u (inverse CDF of the discrete distribution)."""
        edges = np.cumsum(self.weights)[:-1]
        return np.searchsorted(edges, np.asarray(u, dtype=float), side="right").astype(np.int64)


def parse_alternatives(items: Sequence[str] | Mapping[str, float] | None) -> tuple:
    """`NAME=WEIGHT` strings (or a mapping, or (name, weight) pairs) → ((name, weight), …),
    checked: distinct names, each weight in (0, 1), their sum below 1 (the scenario asked for
    keeps the rest). One line per mistake, all of them at once."""
    if not items:
        return ()
    pairs: list[tuple[str, object]] = []
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        for item in items:
            if isinstance(item, tuple | list) and len(item) == 2:
                pairs.append((str(item[0]), item[1]))
                continue
            name, eq, weight = str(item).rpartition("=")
            if not eq or not name.strip():
                raise UserError(
                    f"{item!r}; expected SCENARIO=WEIGHT (e.g. india-official-split=0.5)",
                    where="--alternative",
                )
            pairs.append((name.strip(), weight.strip()))
    out, errors = [], []
    for name, w in pairs:
        try:
            weight = float(w)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            weight = float("nan")
        if not 0.0 < weight < 1.0:
            errors.append(f"{name}={w}; expected a weight strictly between 0 and 1")
        out.append((name, weight))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        errors.append(f"{', '.join(names)}; expected each scenario once")
    total = sum(w for _, w in out if 0.0 < w < 1.0)
    if not errors and total >= 1.0:
        errors.append(
            f"weights summing to {total:g}; expected less than 1 (the scenario asked for keeps "
            "the rest)"
        )
    if errors:
        raise UserError("; ".join(errors), where="--alternative")
    return tuple(out)


def structure_uniforms(seed: int, samples: np.ndarray) -> np.ndarray:
    """Each sample's uniform for the scenario draw: the parameter stream of the id `scenario`."""
    from repm.analyses.uncertainty.inputs import philox_uniforms

    return philox_uniforms((STRUCTURE,), seed, samples)[STRUCTURE]


def stratified(u: np.ndarray) -> np.ndarray:
    """The n uniforms' ranks as the midpoints of n equal strata, (rank + ½) / n: each scenario
    then runs in its weight's share of the samples to within one (a free draw of 16 at even
    odds split 11/5), which ones by the seed's uniforms."""
    u = np.asarray(u, dtype=float)
    return (np.argsort(np.argsort(u, kind="stable"), kind="stable") + 0.5) / max(u.size, 1)


def variance_share_floor(
    y: np.ndarray, labels: np.ndarray, replicates: int = 200, seed: int = 0, q: float = 0.98
) -> np.ndarray:
    """What `variance_share` reads when the choice does not matter, per cell: its q-quantile
    over `replicates` shuffles of the labels against y (the groups' sizes kept). A share at or
    below it cannot be told from chance at these samples."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    null = np.stack([variance_share(y, rng.permutation(labels)) for _ in range(replicates)])
    return np.quantile(null, q, axis=0)


def variance_share(y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Var(E[y | label]) / Var(y) over the first axis (samples; the rest is kept): the share of
    y's variance the discrete input explains, from the group means. Estimated as ε² (Kelley
    1935): the between-group sum of squares less what K groups would explain by chance,
    (SS_between − (K − 1) · SS_within / (n − K)) / SS_total, so that an input that does not
    matter reads ~0 rather than ~(K − 1)/n; clipped to [0, 1], 0 where y does not vary."""
    y = np.asarray(y, dtype=float)
    labels = np.asarray(labels)
    n = y.shape[0]
    mean = y.mean(axis=0)
    groups = np.unique(labels)
    between = np.zeros_like(mean)
    for k in groups:
        g = y[labels == k]
        between = between + len(g) * (g.mean(axis=0) - mean) ** 2
    total = ((y - mean) ** 2).sum(axis=0)
    K = len(groups)
    chance = (K - 1) * (total - between) / (n - K) if n > K else 0.0
    varies = total > 1e-12 * np.maximum(np.abs(y).max(axis=0), 1.0) ** 2
    share = np.where(varies, (between - chance) / np.where(varies, total, 1.0), 0.0)
    return np.clip(share, 0.0, 1.0)


def evppi_discrete(nb: np.ndarray, labels: np.ndarray) -> float:
    """EVPPI of a discrete input: Σ_k P(k) max_d E[NB_d | k] − max_d E[NB_d], the conditional
    means taken in each group of samples (exact for a discrete input; capped at EVPI)."""
    from repm.analyses.uncertainty.voi import evpi

    nb = np.asarray(nb, dtype=float)
    labels = np.asarray(labels)
    n = nb.shape[0]
    known = sum(
        (labels == k).sum() / n * nb[labels == k].mean(axis=0).max() for k in np.unique(labels)
    )
    value = float(known - nb.mean(axis=0).max())
    return min(max(value, 0.0), evpi(nb))


def evppi_discrete_floor(
    nb: np.ndarray, labels: np.ndarray, replicates: int = 200, seed: int = 0, q: float = 0.98
) -> float:
    """What `evppi_discrete` gives when the input does not matter: the labels shuffled against
    the net benefit, `replicates` tries, the floor `voi.noise_floor` takes for a fact."""
    from repm.analyses.uncertainty.voi import _beaten_by_chance

    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    tops = [evppi_discrete(nb, rng.permutation(labels)) for _ in range(replicates)]
    return _beaten_by_chance(tops, q)


class Sample(dict):
    """One parameter sample's fact values (fact id → value) and the scenario it is evaluated
    under (`scenario`: the index among the alternatives)."""

    def __init__(self, values: Mapping[str, float], scenario: int = 0) -> None:
        super().__init__(values)
        self.scenario = scenario


class Pooled:
    """The Evaluators of the alternatives behind one interface: samples drawn over the union of
    their uncertain facts and the scenario; each sample evaluated by its scenario's Evaluator.
    With one scenario it is that scenario's Evaluator, bit for bit (the same draws, the same
    values, the same calls)."""

    def __init__(
        self, evaluators: Sequence, alternatives: Alternatives, flag: str = "--alternative"
    ) -> None:
        from repm.analyses.uncertainty.inputs import Inputs

        base = evaluators[0]
        if STRUCTURE in base.table.facts:
            raise ValueError(f"a fact is named {STRUCTURE!r}, the structural input's id")
        for name, ev in zip(alternatives.names[1:], evaluators[1:], strict=True):
            if ev.years != base.years:
                raise UserError(
                    f"{name} runs {ev.years[0]}–{ev.years[-1]}; expected the years of "
                    f"{alternatives.names[0]} ({base.years[0]}–{base.years[-1]}) to pool them",
                    where=flag,
                )
        self.evaluators = list(evaluators)
        self.alternatives = alternatives
        self.table, self.rule, self.years = base.table, base.rule, base.years
        self.unit, self.loaded = base.unit, base.loaded
        # a fact's spread as the first scenario that draws it draws it (else the base's): the
        # regressors of voi's EVPPI map each sample's uniform through it (a monotone map of what
        # each scenario drew, so the fitted E[NB | fact] is the same either way)
        spreads = dict(base.spreads)
        taken: set[str] = set()
        for ev in self.evaluators:
            for f in ev.inputs.drawn:
                if f not in taken:
                    spreads[f] = ev.spreads[f]
                    taken.add(f)
        used = {f for ev in self.evaluators for f in ev.inputs.used}
        self.spreads = spreads
        self.inputs = Inputs(self.spreads, tuple(sorted(used)),
                             tuple(sorted({f for ev in self.evaluators for f in ev.inputs.drawn})))  # fmt: skip

    @classmethod
    def of(cls, loads: Sequence, alternatives: Alternatives, make,
           flag: str = "--alternative") -> Pooled:  # fmt: skip
        """`make(loaded)` → an Evaluator for each scenario; an alternative's mistake (no scheme
        units for unit_npv, say) is named for the alternative (under `flag`), not for the
        scenario asked for."""
        evaluators = []
        for k, sc in enumerate(loads):
            try:
                evaluators.append(make(sc))
            except UserError as exc:
                if k == 0:
                    raise
                raise UserError(f"{sc.name}: {exc}", where=flag) from None
        return cls(evaluators, alternatives, flag)

    @property
    def pooled(self) -> bool:
        return len(self.evaluators) > 1

    @property
    def evaluations(self) -> int:
        return sum(ev.evaluations for ev in self.evaluators)

    @property
    def seconds(self) -> float:
        return sum(ev.seconds for ev in self.evaluators)

    def draw(self, seed: int, n: int) -> tuple[dict[str, np.ndarray], np.ndarray, list[Sample]]:
        """n samples: the uniforms of every drawn fact (and, pooled, of `scenario`), each
        sample's scenario, and its fact values as its scenario reads them (only the facts that
        move off their central values in some sample, as each Evaluator takes them)."""
        from repm.analyses.uncertainty.inputs import philox_uniforms

        ids = np.arange(n)
        u = philox_uniforms(self.inputs.drawn, seed, ids)
        if self.pooled:
            u[STRUCTURE] = stratified(structure_uniforms(seed, ids))
        at = self.at(u, n)
        return u, np.array([v.scenario for v in at], dtype=np.int64), at

    def at(self, u: Mapping[str, np.ndarray], n: int, scenario: int | None = None) -> list[Sample]:
        """The samples at these uniforms (input id → n uniforms; `scenario` picks each sample's
        scenario, the one asked for where it is not given; a fact not given is held at its
        central value): each sample's fact values as its scenario reads them — only the facts
        that move off their central values in some sample of that scenario, as the Evaluator
        takes them. `scenario=k`: every sample under scenario k (paired comparisons)."""
        if scenario is not None:
            labels = np.full(n, scenario, dtype=np.int64)
        elif STRUCTURE in u:
            labels = self.alternatives.index(u[STRUCTURE])
        else:
            labels = np.zeros(n, dtype=np.int64)
        at: list = [None] * n
        for k, ev in enumerate(self.evaluators):
            rows = np.flatnonzero(labels == k)
            if rows.size == 0:
                continue
            given = {f: np.asarray(u[f])[rows] for f in ev.inputs.drawn if f in u}
            vals = ev.inputs.values(given, rows.size)
            moving = [f for f, v in vals.items() if not np.all(v == ev.spreads[f].central)]
            for j, d in enumerate(rows):
                at[d] = Sample({f: float(vals[f][j]) for f in moving}, int(k))
        return at

    def many(self, at: Sequence[Mapping[str, float]], progress=None) -> np.ndarray:
        """Each sample's output by its scenario's Evaluator, in the samples' order."""
        labels = np.array([getattr(v, "scenario", 0) for v in at], dtype=np.int64)
        if not self.pooled:
            return self.evaluators[0].many(list(at), progress)
        from repm.analyses.uncertainty.pool import cpus, pooled

        out = None
        for k, ev in enumerate(self.evaluators):
            rows = np.flatnonzero(labels == k)
            if rows.size == 0:
                continue
            workers = ev.workers
            if workers is None and pooled(len(at), ev.draws_per_set):  # as the whole batch warrants
                ev.workers = cpus()
            try:
                part = ev.many([at[d] for d in rows], progress)
            finally:
                ev.workers = workers
            if out is None:
                out = np.empty((len(at), *part.shape[1:]))
            out[rows] = part
        return out if out is not None else np.empty(0)

    def scenario_at(self, values: Mapping[str, float], drawn: bool = True):
        """The sample's scenario with its fact values (the scenario asked for: `Sample` 0)."""
        return self.evaluators[getattr(values, "scenario", 0)].scenario_at(values, drawn)
