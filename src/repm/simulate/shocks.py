"""Shocks: per-draw availability of each origin × material, price multipliers, demand shifts.

`sample(risk, chain, draws, seed)` draws them with a counter-based generator (Philox4x32-10,
compiled with Numba in `repm.simulate.philox`): every random number is a pure function of (seed, draw
index, stream, month), so a draw's path never depends on how draws are chunked or spread over
workers. Only the months where an episode may begin get a duration and a severity.

Events are kept factorised — a level per draw × month × event and a target weight per event ×
origin × material — so a chunk of 10^4 draws over 144 months costs megabytes, not gigabytes; the
engine multiplies them out one step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repm.chain import Chain
from repm.chain.rules import oxide_cost_shares
from repm.simulate import philox

MONTHS_PER_YEAR = 12
_MASK = np.uint64(0xFFFFFFFF)


def philox4x32(
    counter: tuple[np.ndarray, ...], key: tuple[int, int], rounds: int = 10
) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 (Salmon et al. 2011) on arrays of 32-bit counters (any shape, broadcast):
    the four output words, each an array of uint64 holding 32 bits (compiled, `repm.simulate.philox`)."""
    if rounds != 10:
        raise ValueError("only Philox4x32-10 is implemented")
    arrays = np.broadcast_arrays(*(np.asarray(c, dtype=np.uint64) for c in counter))
    shape = arrays[0].shape
    c0, c1, c2, c3 = (np.ascontiguousarray(a).ravel() & _MASK for a in arrays)
    out = np.empty((c0.size, 4), dtype=np.uint64)
    philox.philox_array(c0, c1, c2, c3, *_key(key), out)
    return tuple(out[:, j].reshape(shape) for j in range(4))


def _key(key: tuple[int, int]) -> tuple[np.uint64, np.uint64]:
    return np.uint64(int(key[0]) & 0xFFFFFFFF), np.uint64(int(key[1]) & 0xFFFFFFFF)


def _seed_key(seed: int) -> tuple[np.uint64, np.uint64]:
    return _key((seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF))


def uniforms(seed: int, draws: np.ndarray, stream: int, n: int) -> np.ndarray:
    """Four uniforms in (0, 1) per (draw, index): array (draws, n, 4), a pure function of its keys
    (counter (index, stream, draw low word, draw high word), key the seed's two words)."""
    d = np.ascontiguousarray(draws, dtype=np.int64).ravel()
    out = np.empty((len(d), n, 4))
    philox.uniform_block(*_seed_key(seed), d, int(stream), int(n), out)
    return out


@dataclass(frozen=True)
class Shocks:
    """What the engine needs from the risk model, for a block of draws.

    Either a dense `availability` (draw × step × origin × material, broadcastable), or the
    factorised form `event_level` (draw × month × event, share of exports refused) with
    `event_target` (event × origin × material weights). `demand_multiplier` is draw × year.
    `spare_ramp` (draw × month, or None: 1) scales every origin's spare capacity while it ramps
    up after a restriction spell begins (`spare_ramp`: export restrictions only, not outages).
    """

    availability: np.ndarray | None = None
    event_level: np.ndarray | None = None
    event_target: np.ndarray | None = None
    event_price: np.ndarray | None = None  # event × material: multiplier − 1 while active
    demand_multiplier: np.ndarray | None = None
    spare_ramp: np.ndarray | None = None  # draw × month: share of spare capacity there (ramp)
    draw_ids: np.ndarray | None = field(default=None)
    n_materials: int = 1  # the material axis of `prices_at` when no event sets prices

    @property
    def draws(self) -> int:
        for a in (self.availability, self.event_level, self.demand_multiplier):
            if a is not None:
                return a.shape[0]
        return 1

    def at(self, step: int, steps_per_year: int = 12) -> np.ndarray:
        """Availability (draw × origin × material) during one engine step."""
        if self.availability is not None:
            return self.availability[:, min(step, self.availability.shape[1] - 1)]
        if self.event_level is None or self.event_level.shape[2] == 0:
            return np.ones((self.draws, 1, 1))
        per = MONTHS_PER_YEAR // steps_per_year
        months = slice(step * per, (step + 1) * per)
        level = self.event_level[:, months].astype(np.float64).mean(axis=1)  # draw × event
        avail = np.ones((self.draws,) + self.event_target.shape[1:])
        for e in range(level.shape[1]):
            avail *= 1.0 - level[:, e, None, None] * self.event_target[e][None]
        return avail

    def prices_at(self, step: int, steps_per_year: int = 12) -> np.ndarray:
        """Price multipliers (draw × material) during one step; 1 where nothing is active."""
        if self.event_level is None or self.event_price is None:
            return np.ones((self.draws, self.n_materials))
        per = MONTHS_PER_YEAR // steps_per_year
        active = (self.event_level[:, step * per : (step + 1) * per] > 0).mean(axis=1)
        return 1.0 + np.einsum("de,em->dm", active, self.event_price)

    def dense(self, months: int) -> tuple[np.ndarray, np.ndarray]:
        """The full arrays, draw × month × origin × material availability and draw × month ×
        material price multipliers (for small draw counts: this is what the factorised form saves)."""
        avail = np.stack(
            [
                np.broadcast_to(self.at(t, 12), (self.draws,) + self.at(0, 12).shape[1:])
                for t in range(months)
            ],
            axis=1,
        )
        prices = np.stack([self.prices_at(t, 12) for t in range(months)], axis=1)
        return avail, prices

    def demand(self, year_index: int) -> np.ndarray:
        if self.demand_multiplier is None:
            return np.ones(self.draws)
        return self.demand_multiplier[:, year_index]


def no_shocks(chain: Chain, draws: int = 1) -> Shocks:
    """Everything available, every step."""
    return Shocks(availability=np.ones((draws, 1, 1, 1)), n_materials=len(chain.materials))


def event_targets(risk, chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """Per event: weight on each origin × material (1 on the event's targets from each origin
    it names, `Event.origins`; third_country_share on the finished ones from every origin it does
    not name), and price multiplier − 1 per material."""
    model = chain.model
    MATERIALS = model.material_names
    O, M = len(chain.origins), len(MATERIALS)  # noqa: E741
    target = np.zeros((len(risk.events), O, M))
    price = np.zeros((len(risk.events), M))
    oxides = [MATERIALS.index(m) for m in model.names(kind="oxide")]
    shares = oxide_cost_shares(chain) if risk.events else None  # grade × material
    reached: dict[tuple[str, float], tuple[str, ...]] = {}  # events share content thresholds
    for e, ev in enumerate(risk.events):
        mats: set[str] = set(ev.materials or [])
        for group in ("light", "heavy"):
            if ev.elements in (group, "all"):
                key = (group, ev.content_threshold)
                if key not in reached:
                    reached[key] = chain.reached_grades(*key)
                mats |= model.restricted_by(group, ev.include_magnets, reached[key])
        cols = [MATERIALS.index(m) for m in sorted(mats)]
        named = [chain.origins.index(o) for o in ev.origins]  # one, or a common cause's list
        if ev.include_magnets and ev.other_grades_share > 0:  # held up though not covered
            spared = [
                MATERIALS.index(model.form(kind, g))
                for g in chain.grades
                for kind in ("alloy", "magnet")
                if model.form(kind, g) not in mats
            ]
            for o in named:
                target[e, o, spared] = ev.other_grades_share
        for o in named:
            target[e, o, cols] = 1.0
        if ev.third_country_share > 0:
            finished = [
                MATERIALS.index(m) for m in sorted(mats)
                if model.material(m).kind in ("alloy", "magnet")
            ]  # fmt: skip
            others = [i for i in range(O) if i not in named]
            target[e][np.ix_(others, finished)] = ev.third_country_share
        for m, mult in ev.price_multiplier.items():
            price[e, MATERIALS.index(m)] = mult - 1.0
        # a magnet's price moves with its oxides' (by their share of its price), unless given
        for gi, g in enumerate(chain.grades):
            rise = float(shares[gi][oxides] @ price[e, oxides])
            for kind in ("alloy", "magnet", "embedded"):
                m = model.form(kind, g)
                if m not in ev.price_multiplier:
                    price[e, MATERIALS.index(m)] = rise
    return target, price


def ramp_factor(k: np.ndarray, months: float) -> np.ndarray:
    """Mean over month k (0 = the spell's first month) of the linear ramp min(1, s / months),
    s the months since the spell began: (k + ½) / months while k + 1 ≤ months, 1 from k ≥
    months, and in the month the ramp completes (R² − k²) / 2R + (k + 1 − R)."""
    k = np.asarray(k, dtype=np.float64)
    R = float(months)
    if R <= 0:
        return np.ones_like(k)
    inside = (k + 0.5) / R
    crossing = (R * R - k * k) / (2.0 * R) + (k + 1.0 - R)
    return np.where(k + 1.0 <= R, inside, np.where(k >= R, 1.0, crossing))


def spare_ramp(
    level: np.ndarray, months: float, ramps: np.ndarray | None = None
) -> np.ndarray | None:
    """Share of spare capacity there each month (draw × month): 1 outside restriction spells; in
    a spell (months with some restriction active: level > 0 for an event e with ramps[e] — the
    events that start the ramp, `Event.starts_spare_ramp`; None: every event), the ramp from the
    spell's first month (`ramp_factor`). None when there is no ramp. Each draw from its own
    levels only: the same for any chunking. `sample` makes the same ramp in its pass over the
    levels (`philox.all_levels`, tests/test_levels_pass.py)."""
    E = level.shape[2]
    if months <= 0 or E == 0:
        return None
    starts = range(E) if ramps is None else np.flatnonzero(np.asarray(ramps, dtype=bool))
    # draw × month: (level[:, :, starts] != 0).any(axis=2), as ORs over the events' slices: the
    # same booleans, ~5× faster than NumPy's reduction over a last axis of a few events
    active = np.zeros(level.shape[:2], dtype=bool)
    for e in starts:
        active |= level[:, :, e] != 0
    out = np.ones(active.shape)
    if active.any():  # the loop, compiled (`spells`): ramp_factor month by month, draw by draw
        from repm.simulate.spells import spare_ramp_loop

        spare_ramp_loop(active, float(months), out)
    return out


def switch_steps(shocks: Shocks, chain: Chain, steps_per_year: int = 12) -> np.ndarray | None:
    """The step at which makers switch off each grade (draw × grade; −1: never), the rule of
    `risk.grade_switch` that the engine and the planner both read: a grade's bare magnets are
    restricted in a step when some origin lets less than all of them through; makers switch, for
    good, in a restricted step once `switch_after_months` of restriction have passed without a
    break (a step unrestricted starts the count again). None when nobody can switch (no share,
    or no grade with a lighter one)."""
    down = np.asarray(chain.grade_down)
    if not (np.any(np.asarray(chain.switch_share) > 0) and np.any(down >= 0)):
        return None
    model = chain.model
    cols = [model.material_names.index(model.form("magnet", g)) for g in model.grade_names]
    n_steps = chain.n_years * steps_per_year
    restricted = _magnets_restricted(shocks, cols, steps_per_year, n_steps)  # draw × step × grade
    D, G = shocks.draws, len(cols)
    step = np.full((D, G), -1, dtype=np.int64)
    if restricted is None:
        return step
    if not restricted.any():  # (a run without shocks never compiles the loop)
        return step
    restricted = np.ascontiguousarray(np.broadcast_to(restricted, (D, n_steps, G)))
    per = MONTHS_PER_YEAR // steps_per_year
    from repm.simulate.spells import switch_steps_loop  # counts months step by step, compiled

    switch_steps_loop(restricted, float(chain.switch_after_months), float(per), step)
    step[:, down < 0] = -1  # nothing lighter to switch to
    return step


def _magnets_restricted(
    shocks: Shocks, cols: list[int], steps_per_year: int, n_steps: int
) -> np.ndarray | None:
    """draw (or 1) × step × grade: some origin's availability of the grade's bare magnets (the
    materials `cols`) below 1 in the step, as the engine reads availability; None: nothing is
    ever restricted."""
    G = len(cols)
    if shocks.availability is not None:
        if not (shocks.availability < 1.0).any():  # nothing below 1 (no shocks): none of it
            return None
        a = shocks.availability[:, np.minimum(np.arange(n_steps), shocks.availability.shape[1] - 1)]
        a = a[..., cols] if a.shape[3] > 1 else a[..., [0] * G]
        return (a < 1.0).any(axis=2)
    if shocks.event_level is None or shocks.event_level.shape[2] == 0:
        return None
    # Π_e (1 − level × weight) < 1 for some origin ⟺ some active event weighs on the grade:
    # levels and weights are ≥ 0, and the products are far above round-off (levels are
    # severities, weights shares), so this is the engine's `< 1` without the product
    D, _, E = shocks.event_level.shape
    per = MONTHS_PER_YEAR // steps_per_year
    active = (
        shocks.event_level[:, : n_steps * per].reshape(D, n_steps, per, E).any(axis=2)
        if per > 1
        else shocks.event_level[:, :n_steps] != 0
    )
    reach = (shocks.event_target[:, :, cols] > 0).any(axis=1)  # event × grade
    return (active.astype(np.float32) @ reach.astype(np.float32)) > 0


def switched_share(steps: np.ndarray, n_years: int) -> np.ndarray:
    """draw × year × grade: the share of each year's months in which makers are switched off the
    grade (from `switch_steps` at monthly steps)."""
    month = np.arange(n_years * MONTHS_PER_YEAR)
    on = (steps[:, None, :] >= 0) & (month[None, :, None] >= steps[:, None, :])
    return on.reshape(steps.shape[0], n_years, MONTHS_PER_YEAR, -1).mean(axis=2)


def _durations(u: np.ndarray, dur) -> np.ndarray:
    """Whole months ≥ 1 from uniforms, by the event's duration distribution (inverse CDF)."""
    if dur.distribution == "fixed" or dur.cv == 0:
        x = np.full_like(u, dur.mean_months)
    elif dur.distribution == "exponential":
        x = -dur.mean_months * np.log1p(-u)
    else:
        sigma = np.sqrt(np.log1p(dur.cv**2))
        mu = np.log(dur.mean_months) - sigma**2 / 2
        from scipy import special  # only here: scipy is slow to import

        x = np.exp(mu + sigma * np.sqrt(2.0) * special.erfinv(2.0 * u - 1.0))
    return np.maximum(1.0, np.round(x))


def _candidates(ev, key, draw_ids, e, D, T, first_year, future_from, none_i, none_f):
    """Event e's candidates in draw, month order — flat positions d × T + t where an episode may
    begin, its durations and severities — and its licensing delay (`philox.all_levels` makes the
    levels from them). Only the months where an episode may begin get a duration and a severity:
    the candidates with their uniforms, then the same float operations as on the whole draw ×
    month array, element by element."""
    delay = float(ev.licensing_delay_months)
    p_month = 1.0 - (1.0 - ev.hazard) ** (1.0 / MONTHS_PER_YEAR)
    fixed = -1
    if ev.start_year is not None:
        fixed = (int(ev.start_year) - first_year) * MONTHS_PER_YEAR + int(ev.start_month) - 1
        if not 0 <= fixed < T:
            return none_i, none_f, none_f, delay  # its date is outside the horizon: never starts
    if 0 <= fixed < future_from:  # history: every draw, as it happened
        pos = np.arange(D, dtype=np.int64) * T + fixed
        dur = np.full(D, max(1.0, float(np.round(ev.duration.mean_months))))
        sev = np.full(D, (ev.severity_low + ev.severity_high) / 2)
        return pos, dur, sev, delay
    pos, u1, u2 = philox.onsets(*key, draw_ids, e, T, float(p_month), fixed, float(ev.probability))
    if future_from > 0:  # random episodes begin only after the as-of date
        keep = pos % T >= future_from
        pos, u1, u2 = pos[keep], u1[keep], u2[keep]
    dur = _durations(u1, ev.duration)
    sev = ev.severity_low + (ev.severity_high - ev.severity_low) * u2
    return pos, dur, sev, delay


def sample(risk, chain: Chain, draw_ids: np.ndarray, seed: int) -> Shocks:
    """Sample the scenario's risk model for the given draw indices (any subset, any order)."""
    draw_ids = np.asarray(draw_ids, dtype=np.int64)
    D, T = len(draw_ids), chain.n_years * MONTHS_PER_YEAR
    E = len(risk.events)
    first_year = int(chain.years[0])
    key = _seed_key(seed)
    none_i, none_f = np.empty(0, dtype=np.int64), np.empty(0)
    cands = []  # per event: its candidates (flat positions, durations, severities), its delay
    for e, ev in enumerate(risk.events):
        ff = chain.future_from
        cands.append(_candidates(ev, key, draw_ids, e, D, T, first_year, ff, none_i, none_f))
    level = np.zeros((D, T, E), dtype=np.float32)
    months = risk.spare_ramp_months
    ramp = np.empty((D, T)) if months > 0 and E > 0 else None  # `spare_ramp`'s cases
    if E > 0:  # every event's levels and the ramp from the restrictions', one compiled pass
        first = np.cumsum([0] + [len(c[0]) for c in cands]).astype(np.int64)
        ramps = np.array([ev.starts_spare_ramp for ev in risk.events], dtype=np.bool_)
        philox.all_levels(
            np.concatenate([c[0] for c in cands]), np.concatenate([c[1] for c in cands]),
            np.concatenate([c[2] for c in cands]), first, np.array([c[3] for c in cands]), ramps,
            level, float(months), np.empty((0, 0)) if ramp is None else ramp,
        )  # fmt: skip
    target, price = event_targets(risk, chain)
    mult = None
    if risk.demand_growth_sd > 0:
        z = uniforms(seed, draw_ids, stream=1_000_003, n=1)[:, 0, :2]
        eps = (
            risk.demand_growth_sd * np.sqrt(-2.0 * np.log(z[:, 0])) * np.cos(2.0 * np.pi * z[:, 1])
        )
        # the shift compounds from the base year, or from the last year wholly in history
        # (risk.as_of): demand in history is what it was, the same in every draw
        base = int(min(chain.years[0], chain.base_year))
        base = max(base, int(chain.years[0]) + chain.first_future_year - 1)
        age = np.maximum(chain.years - base, 0)[None, :]
        mult = np.maximum(1.0 + eps[:, None], 0.0) ** age
    return Shocks(
        event_level=level,
        event_target=target,
        event_price=price,
        demand_multiplier=mult,
        spare_ramp=ramp,
        draw_ids=draw_ids,
        n_materials=len(chain.materials),
    )
