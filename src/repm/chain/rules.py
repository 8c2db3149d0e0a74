"""Rules the engine, the planner and finance share, each written once.

Plain functions over numbers and arrays; `toll_factor` is compiled with the kernel that calls
it each step. The engine's per-step offer is `origin_offer` summed over origins, with the sums
formed once per availability change (a speed shortcut, held to the rule by tests/test_rules.py).
The references in `bench/` do not use these: they compute their own coefficients from the
facts, so they check the rules, not only their wiring.
"""

from __future__ import annotations

import numpy as np

from repm.simulate import jit


def interp_path(points: dict[int, float], years: np.ndarray) -> np.ndarray:
    """A path given at some years: linear between them, flat outside them."""
    xs = np.array(sorted(points), dtype=float)
    ys = np.array([points[int(x)] for x in xs], dtype=float)
    return np.interp(np.asarray(years).astype(float), xs, ys)


def ramp_share(years: np.ndarray, first_year: float, rampup_years: float) -> np.ndarray:
    """Share of nameplate capacity a unit has in each year: 0 before its first year, then
    rising linearly to 1 over `rampup_years` (1/ramp-up in the first year)."""
    years = np.asarray(years)
    share = np.minimum(1.0, (years - first_year + 1) / rampup_years)
    return np.where(years >= first_year, share, 0.0)


def fresh_alloy_per_magnet(alloy_to_magnet: float, scrap_return: float) -> float:
    """t of fresh alloy per t of finished magnet: 1 / alloy→magnet yield, less the machining
    scrap re-melted into alloy."""
    return (1 - scrap_return * (1 - alloy_to_magnet)) / alloy_to_magnet


def annual_mean(per_step, years: int, steps_per_year: int = 12) -> np.ndarray:
    """Stack `per_step(t)` (draw × …) into draw × year × … annual means, steps in order."""
    return np.stack(
        [
            np.mean([per_step(steps_per_year * y + m) for m in range(steps_per_year)], axis=0)
            for y in range(years)
        ],
        axis=1,
    )


def stock_prices(scenario) -> dict[str, float]:
    """INR/kg by material, to value and hold stock: `economics.prices`, with feed prices from
    `economics.finance` where missing, and an embedded magnet at its bare grade's price."""
    prices = dict(scenario.economics.prices)
    fin = scenario.economics.finance
    if fin is not None:
        for m, v in fin.feed_prices.items():
            prices.setdefault(m, v)
    model = scenario.definition
    for g in model.grade_names:  # a magnet costs the same bare or inside a sub-assembly
        prices.setdefault(model.form("embedded", g), prices.get(model.form("magnet", g), 0.0))
    return prices


@jit.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def toll_factor(avail, partner, exposure):
    """Share of a tolling partner's returns that reach India: the partner's own availability ×
    Π over the origins whose licence the returns need (1 − exposure × (1 − availability)).
    avail, exposure: by origin, for the route's magnet. Compiled with the engine (`repm.simulate.jit`)."""
    factor = avail[partner]
    for o in range(avail.shape[0]):
        if exposure[o] != 0.0:
            factor *= 1.0 - exposure[o] * (1.0 - avail[o])
    return factor


def origin_offer(need, share, spare, avail):
    """What an origin sends of a material when `need` is ordered: its usual share of the order
    plus its spare capacity, both × its availability (1 unless restricted). Arrays broadcast.
    The engine takes the same offer summed over origins, with the sums (Σ avail × share and
    Σ avail × spare) formed once each time availability changes: `need × Σ + Σ`."""
    return avail * (share * need + spare)


def release_gap(need, offered):
    """What a strategic stockpile may release: only what origins cannot send (the release rule;
    in the engine, what is left after buying)."""
    return np.maximum(need - offered, 0.0)
