"""Wind's magnet intensity from the drivetrain mix (issue 13 part 7), checked by hand.

India's new wind capacity is split by drivetrain — direct-drive PM (0.65 t NdFeB/MW), geared PM
(0.16 t/MW), and generators without magnets (DFIG, squirrel cage, electrically excited: 0) — and
the two facts the baseline reads are derived from that split:

    PM share          = 0.05 + 0.08                           = 0.13
    t/MW of PM units  = (0.05 × 0.65 + 0.08 × 0.16) / 0.13    = 0.0453 / 0.13 = 0.34846
    t/MW of all MW    = 0.13 × 0.34846 = Σ share × intensity   = 0.0453
    FY25 wind demand  = 4,151 MW × 0.0453 t/MW                = 188.04 t
    FY26 (observed)   = 6,050 MW × 0.0453 t/MW                = 274.07 t
    FY27              = 6,050 × 1.20 MW × 0.0453 t/MW         = 328.88 t
"""

from __future__ import annotations

import math

import pytest

from repm.analyses.uncertainty.ranges import check_lineage, evaluate_formula, shipped_rule
from repm.chain import compile_chain
from repm.model.facts import load_facts
from repm.scenario import load_scenario

DD, GEARED = "wind_share_direct_drive_pm_india", "wind_share_geared_pm_india"
I_DD, I_GEARED = "wind_magnet_t_per_mw_direct_drive", "wind_magnet_t_per_mw_geared_pm"


@pytest.fixture(scope="module")
def facts():
    return load_facts()


def test_the_drivetrain_facts_are_the_ones_the_hand_case_takes(facts):
    assert facts.value(I_DD) == 0.65
    assert facts.value(I_GEARED) == 0.16
    assert facts.value(DD) == 0.05
    assert facts.value(GEARED) == 0.08


def test_the_derived_facts_are_the_sums_by_hand(facts):
    assert facts.value("wind_pmg_share_india") == pytest.approx(0.13, abs=1e-12)
    assert facts.value("wind_magnet_t_per_mw") == pytest.approx(0.0453 / 0.13, abs=1e-12)
    # per MW of all additions: Σ share × intensity
    per_mw = facts.value("wind_pmg_share_india") * facts.value("wind_magnet_t_per_mw")
    assert per_mw == pytest.approx(0.05 * 0.65 + 0.08 * 0.16, abs=1e-12)
    assert per_mw == pytest.approx(0.0453, abs=1e-12)
    for fid in ("wind_pmg_share_india", "wind_magnet_t_per_mw"):
        f = facts.get(fid)
        assert f.grade == "derived"
        assert set(f.derived_from) <= {DD, GEARED, I_DD, I_GEARED}


def test_the_lineage_formulas_are_the_same_rule_away_from_the_centrals(facts):
    """The formulas the uncertainty analysis draws through reproduce the shipped values (checked
    for every fact by check_lineage) and move as the drivetrain mix moves: half direct drive at
    0.6 t/MW and half geared at 0.2 t/MW is 0.4 t per MW of PM units, all of them PM."""
    rule = shipped_rule()
    assert not [p for p in check_lineage() if "wind" in p]
    central = {k: f.central for k, f in facts.facts.items()}
    env = {**central, DD: 0.5, GEARED: 0.5, I_DD: 0.6, I_GEARED: 0.2}
    share = evaluate_formula(rule.lineage["wind_pmg_share_india"], env, central)
    per_pm_mw = evaluate_formula(rule.lineage["wind_magnet_t_per_mw"], env, central)
    assert share == pytest.approx(1.0)
    assert per_pm_mw == pytest.approx((0.5 * 0.6 + 0.5 * 0.2) / 1.0)  # 0.4
    # no PM turbines of the direct-drive kind: the PM fleet's intensity is the geared one
    env = {**central, DD: 0.0}
    per_pm_mw = evaluate_formula(rule.lineage["wind_magnet_t_per_mw"], env, central)
    assert per_pm_mw == pytest.approx(0.16)


def test_the_baseline_wind_sector_is_additions_times_the_mix():
    chain = compile_chain(load_scenario("india-baseline").scenario)
    wind_2025 = float(chain.demand_bottom_up.sel(year=2025, sector="wind"))
    assert math.isclose(wind_2025, 4151 * 0.0453, rel_tol=1e-9)  # 188.04 t
    # FY26's observed additions (activity_path), then wind_additions_growth from them
    wind_2026 = float(chain.demand_bottom_up.sel(year=2026, sector="wind"))
    wind_2027 = float(chain.demand_bottom_up.sel(year=2027, sector="wind"))
    assert math.isclose(wind_2026, 6050 * 0.0453, rel_tol=1e-9)  # 274.07 t
    assert math.isclose(wind_2027, 6050 * 1.20 * 0.0453, rel_tol=1e-9)  # 328.88 t
    # before the base year: the growth rate back from FY25, as without a path
    wind_2024 = float(chain.demand_bottom_up.sel(year=2024, sector="wind"))
    assert math.isclose(wind_2024, 4151 * 0.0453 / 1.20, rel_tol=1e-9)
    # a planner's what-if: a quarter of new capacity direct drive, the rest without magnets
    what_if = load_scenario(
        "india-baseline",
        ["demand.sectors.wind.intensity=0.65 t/MW", "demand.sectors.wind.adoption=0.25"],
    ).scenario
    wind_dd = float(compile_chain(what_if).demand_bottom_up.sel(year=2025, sector="wind"))
    assert math.isclose(wind_dd, 4151 * 0.65 * 0.25, rel_tol=1e-9)  # 674.5 t


def test_an_activity_path_is_followed_linearly_then_grows():
    # a path with two later points: linear between the base year and them, growth after the last
    sc = load_scenario(
        "india-baseline",
        [
            "demand.sectors.wind.activity_path.2026=5000",
            "demand.sectors.wind.activity_path.2029=8000",
        ],
    ).scenario
    bu = compile_chain(sc).demand_bottom_up.sel(sector="wind")
    per_mw = 0.0453  # t NdFeB per MW of all additions (the module docstring)
    for year, mw in {2025: 4151, 2026: 5000, 2027: 6000, 2028: 7000, 2029: 8000,
                     2030: 8000 * 1.2, 2031: 8000 * 1.2**2}.items():  # fmt: skip
        assert math.isclose(float(bu.sel(year=year)), mw * per_mw, rel_tol=1e-9), year
