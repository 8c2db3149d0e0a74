"""`repm voi plan`'s planner re-solves (repm.analyses.optimize.fixed): the LP handed to HiGHS
once gives, free, `repm plan`'s own answer and, with the build-out fixed, what a freshly built
linopy model with those bounds gives — bit for bit, in any order of options; and the decision
end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repm.analyses.optimize.fixed import FixedBuild
from repm.analyses.optimize.model import build_model
from repm.analyses.optimize.solve import optimize, scenario_inputs, solve
from repm.chain import compile_chain
from repm.scenario import load_scenario


@pytest.fixture(scope="module")
def base():
    sc = load_scenario("india-baseline").scenario
    chain = compile_chain(sc)
    return sc, chain, scenario_inputs(sc, chain, 0, 0)


def _model(sc, chain, inputs):
    avail, pm, spare_avail, switched = inputs
    return build_model(sc, chain, avail, pm, spare_avail=spare_avail, switched=switched)[0]


def _fresh_fixed(sc, chain, inputs, build) -> float:
    """A new linopy model with the build-out's bounds set, solved as `repm plan` solves."""
    mdl = _model(sc, chain, inputs)
    var = mdl.variables["build"]
    b = np.minimum(np.asarray(build, dtype=float), var.upper.values)
    var.update(lower=var.lower.copy(data=np.zeros_like(b)))
    var.update(upper=var.upper.copy(data=b), lower=var.lower.copy(data=b))
    assert solve(mdl) == "optimal"
    return float(mdl.objective.value)


def test_free_solve_is_the_planners_answer(base):
    sc, chain, inputs = base
    res = optimize(sc, chain)
    objective, build = FixedBuild.of(_model(sc, chain, inputs)).free()
    assert objective == res.objective
    np.testing.assert_array_equal(build, res.build.values)
    assert build.sum() > 0  # the baseline builds something: the options below differ


def test_fixed_build_outs_equal_fresh_models_in_any_order(base):
    sc, chain, inputs = base
    free = FixedBuild.of(_model(sc, chain, inputs)).free()[1]
    options = [free * 0.5, free, free * 1.5 + 10.0]
    forward = FixedBuild.of(_model(sc, chain, inputs))
    got = [forward.at(o) for o in options]
    backward = FixedBuild.of(_model(sc, chain, inputs))
    assert [backward.at(o) for o in reversed(options)][::-1] == got
    assert got == [_fresh_fixed(sc, chain, inputs, o) for o in options]
    # the free optimum costs least; fixing it reproduces the free objective
    assert got[1] == pytest.approx(forward.free()[0], rel=1e-9)
    assert min(got) == got[1]


def test_a_build_out_the_lp_cannot_take_is_nan_not_an_error(base):
    sc, chain, inputs = base
    lp = FixedBuild.of(_model(sc, chain, inputs))
    # a negative build-out violates the LP's own lower bound of 0 (infeasible bounds)
    assert math.isnan(lp.at(np.full(len(lp.cols), -100.0)))
    assert lp.free()[1] is not None  # and the LP solves again afterwards


def test_voi_plan_end_to_end_and_without_room_to_keep_lps(monkeypatch):
    from repm.app import decisions
    from repm.app.voi import VoiRequest, voi

    req = VoiRequest(scenario="india-baseline", decision="plan", samples=4)
    kept = voi(req)
    out, nb = kept.payload, kept.tables["nb"]
    sc = load_scenario("india-baseline").scenario
    assert out["objective_central"] == optimize(sc, compile_chain(sc)).objective
    assert out["samples_failed"] == 0
    assert nb.shape == (4, len(out["choice"]["options"]))
    # every option valued in its own right: no two columns alike (the samples' build-outs differ)
    assert len({tuple(col) for col in nb.T}) == nb.shape[1] > 1
    # no room to keep a sample's LP: each is built again to value the options, the same numbers
    monkeypatch.setattr(decisions, "KEPT_LP_BYTES", 0)
    rebuilt = voi(req)
    np.testing.assert_array_equal(rebuilt.tables["nb"], nb)
    assert rebuilt.payload["evpi"] == out["evpi"]
