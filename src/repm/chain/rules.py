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
    xs = sorted(points)
    ys = [points[int(x)] for x in xs]
    return np.interp(
        np.asarray(years, dtype=float), np.array(xs, dtype=float), np.array(ys, dtype=float)
    )


def ramp_share(years: np.ndarray, first_year: float, rampup_years: float) -> np.ndarray:
    """Share of nameplate capacity a unit has in each year: 0 before its first year, then
    rising linearly to 1 over `rampup_years` (1/ramp-up in the first year)."""
    years = np.asarray(years)
    share = np.minimum(1.0, (years - first_year + 1) / rampup_years)
    return np.where(years >= first_year, share, 0.0)


def magnet_stage_yields(sintering: float, machining: float, swarf_return: float):
    """(alloy→magnet yield, share of the in-plant scrap returned in-house): the yield is
    sintering × machining; the scrap (machining swarf and grinding sludge, milling fines and
    sintering rejects: 1 / yield − 1 t per t of magnet) comes back to alloy at `swarf_return`."""
    return sintering * machining, swarf_return


def fresh_alloy_per_magnet(alloy_to_magnet: float, scrap_return: float) -> float:
    """t of fresh alloy per t of finished magnet: 1 / alloy→magnet yield, less the machining
    scrap re-melted into alloy."""
    return (1 - scrap_return * (1 - alloy_to_magnet)) / alloy_to_magnet


def magnet_price(oxide_per_kg, oxide_price, other_materials, conversion):
    """A magnet's price by grade: its oxides at their prices + other materials + the grade's
    conversion margin. oxide_per_kg: grade × material; oxide_price: (year ×) material;
    conversion: by grade. Returns (year ×) grade, in the prices' currency per kg."""
    return np.asarray(oxide_price) @ np.asarray(oxide_per_kg).T + other_materials + conversion


def annual_mean(per_step, years: int, steps_per_year: int = 12) -> np.ndarray:
    """Stack `per_step(t)` (draw × …) into draw × year × … annual means, steps in order."""
    return np.stack(
        [
            np.mean([per_step(steps_per_year * y + m) for m in range(steps_per_year)], axis=0)
            for y in range(years)
        ],
        axis=1,
    )


def base_index(chain) -> int:
    """Index of the base year (the demand's first anchor) on the chain's year axis: the year
    whose prices value stock and set conversion costs."""
    return int(np.clip(np.searchsorted(chain.years, chain.base_year), 0, chain.n_years - 1))


def oxide_cost_shares(chain) -> np.ndarray:
    """Grade × material: each oxide's share of the grade's magnet price in the base year (how a
    shock to oxide prices reaches the magnet's)."""
    i = base_index(chain)
    cost = chain.oxide_per_magnet_values * chain.oxide_price.values[i]  # grade × material
    return cost / chain.magnet_price.values[i][:, None]


def oxide_cost_share(chain, grade: str) -> np.ndarray:
    """`oxide_cost_shares`' row of one grade."""
    return oxide_cost_shares(chain)[chain.grades.index(grade)]


def stock_prices(chain, scenario) -> dict[str, float]:
    """INR/kg by material, to value and hold stock: oxides at their price and magnets at their
    grade's price in the base year (an embedded magnet at its bare grade's), unless
    `economics.prices` sets one."""
    model = chain.model
    base = base_index(chain)
    # the base year's row of each price table, by position (a stockpile search asks this once
    # per candidate: label lookups cost ~5 ms a call)
    oxide = _year_row(chain.oxide_price, base, "material")
    magnet = _year_row(chain.magnet_price, base, "grade")
    materials = list(chain.oxide_price.coords["material"].values)
    grades = list(chain.magnet_price.coords["grade"].values)
    prices = {}
    for m in model.names(kind="oxide"):
        prices[m] = float(oxide[materials.index(m)])
    for g in model.grade_names:
        p = float(magnet[grades.index(g)])
        prices[model.form("magnet", g)] = prices[model.form("embedded", g)] = p
    given = scenario.economics.prices
    prices.update(given)
    for g in model.grade_names:  # a magnet costs the same bare or inside a sub-assembly
        magnet, embedded = model.form("magnet", g), model.form("embedded", g)
        if magnet in given and embedded not in given:
            prices[embedded] = given[magnet]
    return prices


def _year_row(table, i: int, dim: str) -> np.ndarray:
    """Row i of a year × `dim` table, along `dim`."""
    return np.asarray(table.transpose("year", dim).values[i])


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


@jit.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def switch_grades(bare, share, down, on, out):
    """Bare-magnet demand (sector × grade) once makers have switched grades (`risk.grade_switch`):
    where they are off grade g (on[g]: 1 switched, 0 not, between: the share of the period),
    each sector moves share[s] of g's demand one class down (down[g]), from g's own demand, so
    nothing cascades. Writes out. The engine calls it per plan, the planner per year and
    scenario. Compiled with the engine (`repm.simulate.jit`)."""
    S, G = bare.shape
    for s in range(S):
        for g in range(G):
            out[s, g] = bare[s, g]
    for g in range(G):
        if on[g] > 0.0 and down[g] >= 0:
            for s in range(S):
                moved = bare[s, g] * share[s] * on[g]
                out[s, g] -= moved
                out[s, down[g]] += moved


def origin_offer(need, share, spare, avail, spare_avail=None):
    """What an origin sends of a material when `need` is ordered: its usual share of the order
    × its availability (1 unless restricted), plus its spare capacity × `spare_avail`, the
    availability of spare capacity: availability × the spare ramp (the share of spare capacity
    there while it ramps up after a restriction spell begins, `repm.simulate.shocks.spare_ramp`),
    over a period the period's mean of that product; None: `avail` (spare there in full).
    Arrays broadcast. The engine takes the same offer summed over origins, with the sums
    (Σ avail × share and Σ avail × ramp × spare) formed once each time availability changes:
    `need × Σ + Σ`."""
    if spare_avail is None:
        return avail * (share * need + spare)
    return avail * share * need + spare_avail * spare


def release_gap(need, offered, fit=1.0):
    """What a strategic stockpile may release: only what origins cannot send (the release rule;
    in the engine, what is left after buying and working stock), and of that only the share
    `fit` it was made for (finished magnets are machined for their application; 1 for oxide,
    metal and alloy). The engine's `_release` applies the same rule step by step."""
    return fit * np.maximum(need - offered, 0.0)
