"""The planner ramps spare capacity as the engine does (issue 13 part 5).

Other origins' spare capacity is not there in full in a restriction's first months: the engine
scales it month by month by `Shocks.spare_ramp` (`repm.simulate.shocks.spare_ramp`). The planner
reads the same array and takes each year's mean of availability × ramp, as it takes each year's
mean of availability (`repm.analyses.optimize.shock_inputs`).

By hand: China refuses all its GBD magnets from January 2026 for 12 months, spare ramping over
R = 6 months. Months 1–6 of the spell get (k + ½)/6 = 1/12, 3/12, …, 11/12 (sum 3), months
7–12 get 1 (sum 6): 2026's spare is there at 9/12 = 0.75 of the full rate, 0.25 × S withheld
(S: the other origins' spare GBD, t/yr). The LP then imports from each other origin its usual
share of the need + 0.75 × its spare; what it no longer gets is a shortfall the stockpile covers
at `magnet_stockpile_fit` (f) of it — a finished-magnet stock serves only the designs it was made
for — so the GBD stockpile grows by f × 0.25 × S and unmet by (1 − f) × 0.25 × S. Nothing can be
built before 2028, so the build-out does not move.
"""

from __future__ import annotations

import numpy as np
import pytest

from repm.analyses.optimize import build_model, scenario_inputs, shock_inputs, solve
from repm.chain import compile_chain
from repm.chain.rules import annual_mean, stock_prices
from repm.model.units import CRORE_PER_T_AT
from repm.scenario import load_scenario
from repm.simulate.engine import prepare, simulate
from repm.simulate.shocks import Shocks, sample, spare_ramp

R = 6  # months the spare capacity takes to ramp up in the hand-solved case


@pytest.fixture(scope="module")
def baseline():
    loaded = load_scenario("india-baseline")
    return loaded.scenario, compile_chain(loaded.scenario)


def _gbd_cut_off(chain, ramp_months: float) -> Shocks:
    """One draw: China refuses all its GBD magnets in January–December 2026."""
    O, M, T = len(chain.origins), len(chain.materials), chain.n_years * 12  # noqa: E741
    mats, years = list(chain.materials), list(chain.years)
    target = np.zeros((1, O, M))
    target[0, chain.origins.index("China"), mats.index("magnet_gbd")] = 1.0
    level = np.zeros((1, T, 1), dtype=np.float32)
    y26 = years.index(2026)
    level[0, y26 * 12 : (y26 + 1) * 12, 0] = 1.0
    return Shocks(
        event_level=level, event_target=target, event_price=np.zeros((1, M)),
        spare_ramp=spare_ramp(level, ramp_months), n_materials=M,
    )  # fmt: skip


def test_the_planner_reads_the_engines_ramp(baseline):
    """On the same sampled shocks the engine's kernel gets `Shocks.spare_ramp` (the same array)
    and the planner's spare availability is each year's mean of availability × that ramp."""
    scenario, chain = baseline
    sh = sample(scenario.risk, chain, np.arange(5), seed=3)
    assert sh.spare_ramp is not None and (sh.spare_ramp < 1).any()  # 2025's history ramps
    engine_ramp = prepare(chain, shocks=sh).inputs.ramp
    np.testing.assert_array_equal(engine_ramp, sh.spare_ramp)
    n, Y, O, M = 5, chain.n_years, len(chain.origins), len(chain.materials)  # noqa: E741
    got = shock_inputs(sh, chain)
    want = annual_mean(
        lambda t: np.broadcast_to(sh.at(t, 12), (n, O, M)) * engine_ramp[:, t, None, None], Y
    )
    np.testing.assert_array_equal(got.spare_avail, want)
    # the ramp only takes away: never more spare than availability alone gives, and less in 2025
    assert np.all(got.spare_avail <= got.avail)
    y25 = list(chain.years).index(2025)
    assert np.all(got.spare_avail[:, y25].sum(axis=(1, 2)) < got.avail[:, y25].sum(axis=(1, 2)))
    # `repm plan`'s inputs are these: the same draws through `scenario_inputs`
    via_plan = scenario_inputs(scenario, chain, 5, seed=3)
    np.testing.assert_array_equal(via_plan.spare_avail, want)
    np.testing.assert_array_equal(via_plan.avail, got.avail)


def test_no_ramp_leaves_spare_availability_as_availability(baseline):
    scenario, chain = baseline
    flat = shock_inputs(_gbd_cut_off(chain, 0), chain)  # R = 0: no ramp
    assert flat.spare_avail is flat.avail
    det = scenario_inputs(scenario, chain, 0, seed=0)  # deterministic: everything there
    assert np.all(det.spare_avail == 1.0) and np.all(det.avail == 1.0)


@pytest.fixture(scope="module")
def solved(baseline):
    """The planner on the 2026 cut-off, with the ramp and without (spare there in full)."""
    scenario, chain = baseline
    out = {}
    for name, months in (("ramp", R), ("flat", 0)):
        inputs = shock_inputs(_gbd_cut_off(chain, months), chain)
        mdl, info = build_model(
            scenario, chain, inputs.avail, inputs.price_mult, spare_avail=inputs.spare_avail
        )
        assert solve(mdl) == "optimal"
        out[name] = (inputs, mdl, info)
    return out


def test_the_ramps_mean_share_by_hand(baseline, solved):
    scenario, chain = baseline
    inputs = solved["ramp"][0]
    y26, g = list(chain.years).index(2026), list(chain.materials).index("magnet_gbd")
    china = chain.origins.index("China")
    others = [o for o in range(len(chain.origins)) if o != china]
    # (0.5 + 1.5 + … + 5.5) / 6 + 6 months at 1, over 12 months
    assert (sum((k + 0.5) / R for k in range(R)) + 12 - R) / 12 == pytest.approx(0.75)
    np.testing.assert_allclose(inputs.spare_avail[0, y26, others, g], 0.75, rtol=1e-12)
    assert inputs.spare_avail[0, y26, china, g] == 0.0  # refused: no share, no spare
    np.testing.assert_array_equal(inputs.avail[0, y26, others, g], 1.0)
    # outside the spell all of it is there
    other_years = [y for y in range(chain.n_years) if y != y26]
    np.testing.assert_array_equal(inputs.spare_avail[0, other_years], 1.0)


def test_imports_from_spare_and_the_stockpile_by_hand(baseline, solved):
    scenario, chain = baseline
    ramp = solved["ramp"][1]
    flat = solved["flat"][1]
    origins = list(chain.origins)
    others = [o for o in origins if o != "China"]
    need = float(chain.demand_bare.sum("sector").sel(year=2026, grade="gbd"))
    share = chain.import_share.sel(material="magnet_gbd")
    spare = chain.spare.sel(material="magnet_gbd")
    S = float(spare.sel(origin=others).sum())
    assert S > 50  # the baseline's non-Chinese spare GBD, t/yr

    def imports(mdl):
        v = mdl.variables["imports"].solution.sel(k=0, year=2026, material="magnet_gbd")
        return {o: float(v.sel(origin=o)) for o in origins}

    got_ramp, got_flat = imports(ramp), imports(flat)
    assert got_ramp["China"] == pytest.approx(0.0, abs=1e-9)
    for o in others:
        usual = float(share.sel(origin=o)) * need
        sp = float(spare.sel(origin=o))
        # every tonne on offer is bought: the usual share + the ramp's mean share × spare
        assert got_ramp[o] == pytest.approx(usual + 0.75 * sp, rel=1e-9, abs=1e-9)
        assert got_flat[o] == pytest.approx(usual + sp, rel=1e-9, abs=1e-9)

    withheld = 0.25 * S
    f = scenario.policy.magnet_stockpile_fit
    stock = {n: float(m.variables["stock"].solution.sel(material="magnet_gbd")) for n, m in
             (("ramp", ramp), ("flat", flat))}  # fmt: skip
    # the extra shortfall is stocked for as far as a finished-magnet stock serves it …
    assert stock["ramp"] - stock["flat"] == pytest.approx(f * withheld, rel=1e-6)
    assert stock["flat"] > 0  # the cut-off is stocked against with or without the ramp

    def unmet(mdl):
        return float(mdl.variables["unmet_bare"].solution.sel(k=0, year=2026, grade="gbd"))

    # … and the rest is unmet
    assert unmet(ramp) - unmet(flat) == pytest.approx((1 - f) * withheld, rel=1e-6)
    # nothing can be built before 2028: the build-out does not move
    np.testing.assert_allclose(
        ramp.variables["build"].solution.values, flat.variables["build"].solution.values,
        atol=1e-6,
    )  # fmt: skip
    # the cost of it, by hand: the extra stock bought and held over the horizon, the extra unmet
    # at the penalty, less the imports no longer paid for (no price shock in this case)
    info = solved["ramp"][2]
    disc = info["disc"]
    d26 = float(disc.sel(year=2026))
    value = float(info["value"].sel(material="magnet_gbd"))
    hold = float(info["hold"].sel(material="magnet_gbd"))
    penalty = scenario.policy.unmet_penalty * CRORE_PER_T_AT
    price = _import_price(scenario, chain, others)  # crore per t, by origin
    not_paid = sum(price[o] * 0.25 * float(spare.sel(origin=o)) for o in others) * d26
    by_hand = (
        f * withheld * (value + hold * float(disc.sum()))
        + (1 - f) * withheld * penalty * d26
        - not_paid
    )
    assert float(ramp.objective.value) - float(flat.objective.value) == pytest.approx(
        by_hand, rel=1e-6
    )


def _import_price(scenario, chain, origins) -> dict[str, float]:
    """crore INR per t of GBD magnet by origin: its price × the origin's price factor."""
    base = stock_prices(chain, scenario)["magnet_gbd"] * CRORE_PER_T_AT
    group = chain.model.material_group["magnet_gbd"]
    factor = scenario.trade.price_factor.get(group, {})
    return {o: base * factor.get(o, 1.0) for o in origins}


def test_the_engine_withholds_the_same_tonnes_on_the_same_shocks(baseline):
    """The engine on the same cut-off (no working stock, so every tonne on offer is bought
    month by month) imports 0.25 × S less from the other origins in 2026 with the ramp."""
    loaded = load_scenario(
        "india-baseline",
        [
            "policy.working_stock_months=0",
            "policy.sector_working_stock_months.ev_car=0",
            "policy.sector_working_stock_months.wind=0",
            "policy.sector_working_stock_months.industrial=0",
            # no switch off GBD mid-year: after it, GBD demand can fall below what is on offer
            "risk.grade_switch=null",
        ],
    )
    chain = compile_chain(loaded.scenario)
    others = [o for o in chain.origins if o != "China"]
    S = float(chain.spare.sel(material="magnet_gbd", origin=others).sum())

    def imported(months):
        ds = simulate(chain, shocks=_gbd_cut_off(chain, months)).data.sel(year=2026)
        return float(ds.imports.sel(material="magnet_gbd", origin=others).sum())

    assert imported(0) - imported(R) == pytest.approx(0.25 * S, rel=1e-9)
