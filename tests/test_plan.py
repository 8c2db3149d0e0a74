"""The planner: hand-solvable splits, the foresight bound, plan files, infeasibility in words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from repm.analyses.optimize import optimize
from repm.analyses.risk import run_draws
from repm.chain import compile_chain
from repm.chain.plan import load_plan
from repm.scenario import load_scenario

MAGNETS = ("magnet_n", "magnet_gbd", "magnet_uh")
BASE_NO_TRADE = """\
extends: india-baseline
horizon: {start: 2025, end: 2025}
demand:
  anchors: {2030: null}
  channels: {bare_base: fact:india_magnet_demand_2025, bare_share: null, bare_grade_mix: null,
             localization: {2030: null, 2035: null}}
supply:
  units: []
  separation: {output: {2026: null, 2027: null}}
risk: {events: [], demand_growth_sd: 0}
policy: {capex_budget: 0}
trade: null
"""
TWO_ORIGINS = """\
extends: no-trade.yaml
trade:
  origins: [China, Japan]
  shares:
    magnet: {China: 0.5, Japan: 0.5}
    embedded: {China: 0.5, Japan: 0.5}
    alloy: {China: 0.5, Japan: 0.5}
    oxide: {China: 1}
    metal: {China: 1}
    heavy: {China: 1}
  spare: {magnet: {China: 100000, Japan: 100000}}
  price_factor: {magnet: {Japan: 1.25}}
economics:   # one price for every grade (the scheme's reference), so the hand case stays simple
  prices: {magnet_n: fact:scheme_reference_price, magnet_gbd: fact:scheme_reference_price,
           magnet_uh: fact:scheme_reference_price}
"""


@pytest.fixture()
def two_origins(tmp_path: Path) -> Path:
    (tmp_path / "no-trade.yaml").write_text(BASE_NO_TRADE)
    path = tmp_path / "two.yaml"
    path.write_text(TWO_ORIGINS)
    return path


@pytest.mark.parametrize(
    ("cap", "china_share", "cost_factor"), [(1.0, 1.0, 1.0), (0.5, 0.5, 0.5 + 0.5 * 1.25)]
)
def test_two_origins_split_by_hand(two_origins, cap, china_share, cost_factor):
    loaded = load_scenario(str(two_origins), [f"policy.max_origin_share={cap}"])
    chain = compile_chain(loaded.scenario)
    res = optimize(loaded.scenario, chain)
    # all 4,010 t of 2025 demand is bare (bare_base = demand); no plant may be built (budget 0)
    for m in MAGNETS:
        assert res.import_shares[m]["China"] == pytest.approx(china_share, abs=1e-9)
    # cost: 4,010 t × ₹5,000/kg, Japan's share at 1.25× → crore INR, one year, undiscounted
    assert res.objective == pytest.approx(4010 * 1000 * 5000 / 1e7 * cost_factor, rel=1e-9)
    assert float(res.capacity.sum()) == 0.0


def test_origin_cap_has_a_shadow_price(two_origins):
    """China's cap row is imports_China − cap × (imports_China + imports_Japan) ≤ 0. All 4,010 t
    of magnets are imported, so the sum is fixed and relaxing the row by one unit lets China send
    one more tonne in Japan's place, saving the Japan premium on it: (1.25 − 1) × ₹5,000/kg ×
    1,000 kg/t = ₹12.5 lakh = 0.125 crore INR per tonne, for each magnet grade (one year, one
    deterministic scenario, undiscounted). At a 0.6 cap Japan's row (0.4 ≤ 0.6) is slack: its
    price is 0, and China's is unique."""
    cap, premium, price = 0.6, 0.25, 5000.0  # price: INR/kg, the scheme reference price
    assert loaded_prices(two_origins) == (price, price, price, 1 + premium)
    loaded = load_scenario(str(two_origins), [f"policy.max_origin_share={cap}"])
    res = optimize(loaded.scenario, compile_chain(loaded.scenario))
    expected = premium * price * 1000 / 1e7  # crore INR per tonne
    duals = res.duals["origin_share"]
    for m in MAGNETS:
        assert res.import_shares[m]["China"] == pytest.approx(cap, abs=1e-9)
        assert duals[f"China/{m}"] == pytest.approx(0.125, rel=1e-9)
        assert duals[f"China/{m}"] == pytest.approx(expected, rel=1e-9)
        assert f"Japan/{m}" not in duals  # a slack row has no price
    # nothing imports oxide here: its rows are all zeros, and no price is reported for them
    assert not any(k.endswith("_oxide") for k in duals), duals
    # and it is what the objective says: a cap one point looser moves 1 % of each grade's imports
    # (the two grades' 4,010 t together) from Japan to China at 0.125 crore INR a tonne
    looser = load_scenario(str(two_origins), [f"policy.max_origin_share={cap + 0.01}"])
    saved = res.objective - optimize(looser.scenario, compile_chain(looser.scenario)).objective
    assert saved == pytest.approx(0.01 * 4010 * expected, rel=1e-9)


def loaded_prices(path: Path) -> tuple[float, float, float]:
    """The scenario's magnet prices (by grade) and Japan's magnet price factor, as the hand case
    uses."""
    s = load_scenario(str(path)).scenario
    return (
        *(s.economics.prices[m] for m in MAGNETS),
        s.trade.price_factor["magnet"]["Japan"],
    )


def test_lp_is_an_optimistic_bound_on_the_simulated_plan():
    """The LP sees each scenario's shocks in advance, as yearly means, and may draw its whole
    stockpile in every year; the engine simulates the LP's plan month by month on the same draws.
    With unmet demand priced far above any import (₹1 lakh/kg, set here: at the baseline's
    ₹36,000 the LP holds no magnet stock on these draws) and stock dear to hold (10 %/yr) the LP
    leaves some demand unmet, and the simulated plan can only leave more, in every year. (At
    20 %/yr, since the sectors localise on their own paths, the LP holds no magnet stock on these
    draws and the stockpile would go untested.)"""
    loaded = load_scenario(
        "india-baseline",
        [
            "policy.working_stock_months=0", "policy.sector_working_stock_months.ev_car=0",
            "policy.sector_working_stock_months.wind=0", "policy.sector_working_stock_months.industrial=0",
            "economics.holding_cost_rate=0.1", "policy.unmet_penalty=100000",
        ],
    )  # fmt: skip
    chain = compile_chain(loaded.scenario)
    n, seed = 12, 4
    res = optimize(loaded.scenario, chain, scenarios=n, seed=seed)
    sim = run_draws(chain, loaded.scenario, draws=n, seed=seed, plan=res.plan, chunk_size=n)
    lp_unmet = res.expected_unmet.reindex(list(chain.years)).to_numpy()
    sim_unmet = sim.total.mean(axis=0)
    assert lp_unmet.sum() > 10.0 and (lp_unmet > 1.0).sum() >= 3  # not the bound 0 ≤ x
    assert sum(res.stockpile[m] for m in MAGNETS) > 0  # the plan's stockpile is simulated too
    assert np.all(sim_unmet >= lp_unmet - 1e-6), (sim_unmet, lp_unmet)


def test_saved_plan_round_trips_into_the_engine(tmp_path):
    path = tmp_path / "plan.yaml"
    r = run_cli(["plan", "--save-plan", str(path), "--json"])
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "plan" and "objective" in obj and "duals" in obj and "plan" in obj
    chain = compile_chain(load_scenario("india-baseline").scenario)
    plan = load_plan(path, chain)
    cap = plan.capacity.sel(feed="oxide").values
    expected = np.array([obj["plan"]["capacity"][str(y)] for y in chain.years])
    assert np.allclose(cap, expected)
    run = run_cli(["run", "--plan", str(path), "--json"])
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)["indicators"]
    got = {
        r["year"]: r["value"] for r in rows if r["name"] == "magnet_capacity" and "sector" not in r
    }
    assert np.allclose([got[int(y)] for y in chain.years], expected)


@pytest.mark.parametrize(
    ("sets", "needle"),
    [
        (["policy.min_domestic_share=0.9"], "policy.min_domestic_share"),
        (
            ["policy.allow_unmet=false", "--scenarios", "2", "risk.events.0.start_year=2027", "risk.events.0.probability=1",
             "risk.events.0.severity_low=1", "risk.events.0.severity_high=1", "risk.events.0.elements=all", "trade.spare=null"],
            "embedded_balance in 2027",
        ),
    ],
)  # fmt: skip
def test_infeasible_plans_say_why(sets, needle):
    args = ["plan"]
    for s in sets:
        args += ["--scenarios", "2"] if s == "--scenarios" else (["--set", s] if s != "2" else [])
    args = [
        a for i, a in enumerate(args) if not (a == "--scenarios" and args[i - 1] == "--scenarios")
    ]
    r = run_cli(args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: infeasible") and needle in lines[0], (
        r.stderr
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--cvar", "-1"], "--cvar"),
        (["--cvar-alpha", "1.5"], "--cvar-alpha"),
        (["--scenarios", "-2"], "--scenarios"),
    ],
)
def test_bad_plan_input(args, needle):
    r = run_cli(["plan", *args])
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr


def test_whole_units_follow_the_scheme_rule_and_cost_at_least_the_lp():
    loaded = load_scenario("india-baseline")
    chain = compile_chain(loaded.scenario)
    lp = optimize(loaded.scenario, chain)
    milp = optimize(loaded.scenario, chain, units=True)
    assert milp.units, "the baseline builds at least one unit"
    for u in milp.units:
        assert 600 <= u["capacity"] <= 1200 and u["capacity"] % 100 == 0
        assert u["online"] >= 2028  # award 2026 + 2-year gestation
    assert float(milp.build.sum()) == pytest.approx(sum(u["capacity"] for u in milp.units))
    assert milp.objective >= lp.objective - 1e-6 * abs(lp.objective)  # integrality only adds cost
