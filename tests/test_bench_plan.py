"""bench/plan.py's Pyomo model and repm's linopy planning model are the same LP.

The Pyomo model restates `repm.analyses.optimize.build_model` from NumPy arrays; if either side changes a
variable, bound, coefficient or constraint, the objectives or the term-by-term comparison stop
agreeing and these tests fail.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import load_bench

pytest.importorskip("pyomo")

from repm.analyses.optimize import build_model, scenario_inputs  # noqa: E402
from repm.chain import compile_chain  # noqa: E402
from repm.scenario import load_scenario  # noqa: E402

N = 2

bench = load_bench("plan")


@pytest.fixture(scope="module")
def baseline():
    loaded = load_scenario("india-baseline")
    return loaded.scenario, compile_chain(loaded.scenario)


def _both(scenario, chain, cvar_weight=0.0):
    """The linopy and Pyomo models for N scenarios, built but not solved."""
    avail, pm, spare_avail, switched = scenario_inputs(scenario, chain, N, seed=0)
    mdl, _ = build_model(
        scenario, chain, avail, pm, spare_avail=spare_avail, switched=switched,
        cvar_weight=cvar_weight,
    )  # fmt: skip
    own = bench.spare_availability(scenario, chain, N, seed=0)  # the ramp, computed by the bench
    bare = bench.switched_demand(scenario, chain, N, seed=0)  # … and the grade switch
    arrays = bench.plan_arrays(scenario, chain, avail, pm, own, bare, cvar_weight=cvar_weight)
    return mdl, arrays


def test_objectives_agree_for_two_scenarios(baseline):
    row = bench.compare(*baseline, N)  # exits if the sizes differ
    assert row.n == N and row.variables > 0 and row.constraints > 0
    assert row.rel_diff <= bench.RTOL, (row.linopy_objective, row.pyomo_objective)


@pytest.mark.parametrize(
    ("sets", "cvar"),
    [
        ([], 0.0),
        ([], 0.5),  # CVaR rows and variables
        (["policy.max_origin_share=0.6"], 0.0),
        (["policy.min_domestic_share=0.05", "policy.allow_unmet=false"], 0.0),
        (["policy.capex_budget=20000"], 0.0),
    ],
    ids=["baseline", "cvar", "origin_share", "min_domestic", "budget"],
)
def test_same_lp_term_by_term(baseline, sets, cvar):
    """Every bound, objective coefficient and constraint row, for every optional branch (these
    need not be feasible: nothing is solved)."""
    if sets:
        loaded = load_scenario("india-baseline", sets)
        scenario, chain = loaded.scenario, compile_chain(loaded.scenario)
    else:
        scenario, chain = baseline
    mdl, arrays = _both(scenario, chain, cvar)
    lin, pyo = bench.linopy_lp(mdl), bench.pyomo_lp(bench.build_pyomo(arrays))
    assert len(lin.rows) > 0 and len(lin.bounds) > 0
    assert bench.lp_differences(lin, pyo) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda a: replace(a, opex=a.opex * 1.001),  # one cost
        lambda a: replace(a, limit=a.limit * 1.001),  # import caps
        lambda a: replace(a, recipe=a.recipe[::-1]),  # grades swapped in the recipe
        lambda a: replace(a, gap=a.gap + 1.0),  # the release rule
    ],
    ids=["opex", "limit", "recipe", "gap"],
)
def test_a_changed_coefficient_is_detected(baseline, change):
    mdl, arrays = _both(*baseline)
    lin, pyo = bench.linopy_lp(mdl), bench.pyomo_lp(bench.build_pyomo(change(arrays)))
    assert bench.lp_differences(lin, pyo) != []


def test_the_script_fails_when_objectives_differ(baseline, monkeypatch, capsys):
    solve_pyomo = bench.solve_pyomo

    def off(m):
        obj, own = solve_pyomo(m)
        return obj * (1 + 10 * bench.RTOL), own

    monkeypatch.setattr(bench, "solve_pyomo", off)
    assert bench.main(["--scenarios", "1", "--repeat", "1"]) == 1
    out = capsys.readouterr()
    assert "objectives differ" in out.err and "N=1" in out.err


def test_the_spare_ramp_is_computed_on_both_sides(baseline):
    """The bench computes the spare ramp itself (docs/risk.md's definition) and gets repm's
    numbers; a Pyomo side that took spare capacity in full is a different LP (the baseline's
    2025 history ramps spare in every draw)."""
    scenario, chain = baseline
    avail, pm, spare_avail, switched = scenario_inputs(scenario, chain, N, seed=0)
    own = bench.spare_availability(scenario, chain, N, seed=0)
    np.testing.assert_allclose(own, spare_avail, rtol=1e-12, atol=1e-15)
    assert (own < avail).any()
    bare = bench.switched_demand(scenario, chain, N, seed=0)
    mdl, _ = build_model(scenario, chain, avail, pm, spare_avail=spare_avail, switched=switched)
    in_full = bench.build_pyomo(bench.plan_arrays(scenario, chain, avail, pm, avail, bare))
    assert bench.lp_differences(bench.linopy_lp(mdl), bench.pyomo_lp(in_full)) != []


def test_the_grade_switch_is_computed_on_both_sides(baseline):
    """The bench works out makers' grade switch itself (docs/risk.md's definition) and gets
    repm's demand; the baseline's 2025 history switches e-2W/e-3W makers in every scenario, so
    a Pyomo side that ignored the switch is a different LP."""
    scenario, chain = baseline
    avail, pm, spare_avail, switched = scenario_inputs(scenario, chain, N, seed=0)
    bare = bench.switched_demand(scenario, chain, N, seed=0)
    mdl, _ = build_model(scenario, chain, avail, pm, spare_avail=spare_avail, switched=switched)
    arrays = bench.plan_arrays(scenario, chain, avail, pm, spare_avail, bare)
    assert (
        bench.lp_differences(bench.linopy_lp(mdl), bench.pyomo_lp(bench.build_pyomo(arrays))) == []
    )
    y26 = list(chain.years).index(2026)
    assert (switched[:, y26] == 1.0).any()  # switched for good after the 2025 episode
    unswitched = bench.plan_arrays(scenario, chain, avail, pm, spare_avail)
    assert (
        bench.lp_differences(bench.linopy_lp(mdl), bench.pyomo_lp(bench.build_pyomo(unswitched)))
        != []
    )
