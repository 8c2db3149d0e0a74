"""bench/risk.py's SimPy model and repm's engine agree, draw by draw, under a certain Chinese ban.

The SimPy model restates the engine's supply rule for the import-only chain (imports in usual
shares, spare capacity, working stock, strategic stockpile, priority tiers) in plain Python; if
either side changes its rule, the two stop agreeing and this test fails.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import load_bench

pytest.importorskip("simpy")

from repm.chain import compile_chain  # noqa: E402
from repm.simulate.engine import simulate  # noqa: E402
from repm.simulate.shocks import sample  # noqa: E402

DRAWS = 20

bench = load_bench("risk")


@pytest.fixture(scope="module")
def ban():
    """One certain, total, 12-month Chinese ban on heavy rare earths and magnets from Jan 2026;
    a strategic stockpile and a second priority tier so every branch of the rule is used."""
    extra = {
        "risk": {"events": [bench.BAN_EVENT]},  # demand_growth_sd stays the baseline's
        "policy": {
            "sector_priority": [["defence"], ["wind"]],
            "stockpile": {"magnet_n": 20.0, "magnet_gbd": 150.0, "magnet_uh": 100.0},
        },
    }
    loaded = bench.reduced_scenario(extra)
    chain = compile_chain(loaded.scenario)
    shocks = sample(loaded.scenario.risk, chain, np.arange(DRAWS), seed=0)
    availability, demand_mult = bench.shock_inputs(shocks, chain)
    cfg = bench.model_config(chain, loaded.scenario.risk.spare_ramp_months)
    repm = bench.engine_result(simulate(chain, shocks=shocks).data)
    sim = bench.simpy_unmet(cfg, availability, demand_mult)
    return chain, cfg, availability, demand_mult, repm, sim


def test_simpy_model_and_engine_agree_under_a_ban(ban):
    chain, _, _, _, repm, sim = ban
    assert bench.mismatches(chain, repm, sim) == []
    np.testing.assert_allclose(sim.unmet, repm.unmet, rtol=bench.RTOL, atol=bench.ATOL)


def test_the_ban_bites_where_expected(ban):
    """Guards against agreeing on nothing: shortages in 2026 only, priority tiers served, the
    heavy-grade stockpile drawn down."""
    chain, _, _, _, repm, _ = ban
    years, sectors = list(chain.years), list(chain.sectors)
    by_year = repm.unmet.sum(axis=(2, 3))  # draw × year
    y26 = years.index(2026)
    assert np.all(np.delete(by_year, y26, axis=1) < bench.ATOL)
    assert (by_year[:, y26] > 1.0).sum() >= DRAWS * 3 // 4
    for tier_sector in ("defence", "wind"):
        assert np.all(repm.unmet[:, :, sectors.index(tier_sector)] < bench.ATOL)
    short = by_year[:, y26] > 1.0
    for g, held in (("gbd", 150.0), ("uh", 100.0)):  # the Dy/Tb grades' stockpiles
        h = list(chain.grades).index(g)
        assert np.all(repm.stockpile[:, years.index(2025), h] == pytest.approx(held))
        left = repm.stockpile[short, y26, h]
        # both are drawn (finished magnets serve only part of each shortfall: not emptied)
        assert np.all(left < held - 1.0) and np.all(left > 0.0)


@pytest.mark.parametrize(
    "change",
    [
        {"refill_months": 6.0},  # slower working-stock rebuild
        {
            "stockpile": {"magnet_n": 20.0, "magnet_gbd": 0.0, "magnet_uh": 0.0}
        },  # no strategic stockpile
        {"tiers": None},  # everyone pro rata, no priority
        {"working_stock_months": None},  # car makers hold what everyone else holds
    ],
    ids=["refill", "stockpile", "priority", "holdings"],
)
def test_a_changed_rule_is_detected(ban, change):
    chain, cfg, availability, demand_mult, repm, _ = ban
    if change.get("tiers", 0) is None:
        change = {"tiers": [list(cfg.sectors)]}
    if change.get("working_stock_months", 0) is None:
        months = cfg.working_stock_months
        assert months["ev_car"] != months["e2w"]  # the baseline's car makers hold more
        change = {"working_stock_months": {**months, "ev_car": months["e2w"]}}
    changed = bench.simpy_unmet(replace(cfg, **change), availability, demand_mult)
    assert bench.mismatches(chain, repm, changed) != []


def _agree(loaded_or_chain, risk=None, draws: int = 3):
    """Mismatches between the engine and the SimPy model on one scenario (or chain and risk)."""
    if risk is None:
        chain, risk = compile_chain(loaded_or_chain.scenario), loaded_or_chain.scenario.risk
    else:
        chain = loaded_or_chain
    shocks = sample(risk, chain, np.arange(draws), seed=0)
    availability, demand_mult = bench.shock_inputs(shocks, chain)
    cfg = bench.model_config(chain, risk.spare_ramp_months)
    repm = bench.engine_result(simulate(chain, shocks=shocks).data)
    sim = bench.simpy_unmet(cfg, availability, demand_mult)
    return bench.mismatches(chain, repm, sim), repm


def test_forward_cover_of_a_grade_only_a_switch_brings_this_year():
    """Car makers buy no N loose (their mix has none) and switch all their GBD/UH one class down
    a month into the ban: this year their N is only switched-in use, next year's their own. Both
    models hold this year's months of the switched use plus next year's months in tonnes — not
    the whole window twice (the engine) nor nothing this year (the reference) — review of
    ab3f33a."""
    extra = {
        "risk": {
            "events": [bench.BAN_EVENT],
            "grade_switch": {"share": 1.0, "after_months": 1, "sectors": ["ev_car"]},
        }
    }
    sets = [
        f"demand.sectors.ev_car.grade_mix.{g}={v}" for g, v in (("n", 0), ("gbd", 0.8), ("uh", 0.2))
    ]
    mismatches, repm = _agree(bench.reduced_scenario(extra, sets))
    assert mismatches == []
    assert float(repm.unmet.sum()) > 1.0  # the ban bites: agreeing on something


def test_forward_cover_of_a_grade_nobody_buys_loose_this_year():
    """No sector buys UH loose in the first year; car makers buy 24 t in the second. The engine
    stocks it ahead as the reference does (all of it imported: nobody's import share to scale
    by) — review of ab3f33a, where the engine held nothing."""
    loaded = bench.reduced_scenario({}, [])
    chain = compile_chain(loaded.scenario)
    y0, y1 = (int(y) for y in chain.years[:2])
    bare = chain.demand_bare.copy()
    bare.loc[{"year": y0, "grade": "uh"}] = 0.0
    bare.loc[{"year": y1, "sector": "ev_car", "grade": "uh"}] = 24.0
    ch = replace(chain, demand_bare=bare)
    mismatches, repm = _agree(ch, loaded.scenario.risk, draws=2)
    assert mismatches == []
    uh = list(chain.grades).index("uh")
    assert np.all(repm.working_stock[:, 0, uh] > 1.0)  # stocked before the year it starts
