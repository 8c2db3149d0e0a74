"""Parameter samples on the engine's draw axis (issue 14 part 2): the uncertainty evaluator runs
its samples side by side (`simulate_sets`) and gives what the commands give for each sample —
`repm risk` for the risk outputs (the same shock draws), `repm finance` for a unit's NPV."""

from __future__ import annotations

import numpy as np
import pytest

from repm.analyses.uncertainty.evaluate import Evaluator
from repm.app import FinanceRequest, RiskRequest, finance, risk
from repm.scenario import load_scenario


@pytest.fixture(scope="module")
def loaded():
    return load_scenario("india-baseline")


def test_risk_outputs_at_central_values_are_repm_risks(loaded):
    draws, seed = 6, 4
    done = risk(RiskRequest(scenario="india-baseline", draws=draws, seed=seed, chunk=draws))
    rows = {
        (r["name"], r["year"]): r["value"]
        for r in done.payload["indicators"]
        if "sector" not in r and r["name"] in ("expected_unmet", "p_shortage", "cvar95_unmet")
    }
    for output in ("expected_unmet", "p_shortage", "cvar95_unmet"):
        ev = Evaluator(loaded, output, draws=draws, seed=seed)
        got = ev.many([{}])[0]
        want = [rows[(output, y)] for y in ev.years]
        np.testing.assert_array_equal(got, want, err_msg=output)


def test_samples_side_by_side_equal_each_sample_alone(loaded):
    ev = Evaluator(loaded, "expected_unmet", draws=4, seed=1)
    samples = [
        {"working_stock_months": 1.0},
        {"china_restriction_hazard": ev.spreads["china_restriction_hazard"].high},
        {},
    ]
    together = ev.many(samples)
    alone = np.stack([ev.many([s])[0] for s in samples])
    np.testing.assert_array_equal(together, alone)
    assert not np.array_equal(together[0], together[2])  # the samples differ
    assert not np.array_equal(together[1], together[2])  # a preset's fact is drawn too


def test_unit_npv_at_central_values_is_repm_finances(loaded):
    done = finance(FinanceRequest(scenario="india-baseline"))
    ev = Evaluator(loaded, "unit_npv")
    assert ev.many([{}])[0] == pytest.approx(done.payload["units"][0]["npv"], rel=1e-12)


def test_no_drawn_sample_puts_heavy_free_magnets_under_a_heavy_control():
    """N-class magnets are heavy-rare-earth-free by definition: no parameter sample may give
    them Dy or Tb, or every April-2025-type control would cover them and a sample would model
    an impossible world (it did: the N class's contents had ranges, and 2030's sampled E(unmet)
    was 26 t against 7 t at central values)."""
    import numpy as np

    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.inputs import philox_uniforms
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    ev = Evaluator(load_scenario("india-baseline"), "magnet_imports")
    n = 16
    vals = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 3, np.arange(n)), n)
    for i in range(n):
        chain = compile_chain(ev.scenario_at({k: float(v[i]) for k, v in vals.items()}))
        assert "n" not in chain.reached_grades("heavy"), i  # any content at all
        assert chain.reached_grades("heavy")  # the control still reaches the heavy grades


def test_a_batch_beyond_a_few_sets_runs_the_compiled_kernel(loaded, monkeypatch):
    """A batch of more than a few sets loads the compiled kernel first: each block is small
    enough for the kernel's plain-Python path (meant for one quick run), and unit_npv's blocks
    of 64 yearly sets ran there, ~30 ms a set."""
    from repm.analyses.uncertainty import pool
    from repm.simulate import kernel

    loads: list[int] = []
    monkeypatch.setattr(kernel, "compiled", lambda: loads.append(1))
    monkeypatch.setattr(pool, "run_blocks", lambda ev, blocks, progress: [])
    ev = Evaluator(loaded, "unit_npv")  # yearly: 12 years × 1 step a set
    few = kernel.PY_DRAW_STEPS // len(ev.years)
    ev.many([{}] * few)
    assert loads == []
    ev.many([{}] * (few + 1))
    assert loads == [1]


def test_sets_with_many_shock_draws_go_fewer_to_a_kernel_call(monkeypatch):
    """With shock draws, a kernel call holds at most DRAWS_PER_CALL draws (two sets at least):
    64 sets × 1,000 draws held ~4 GB. The numbers do not depend on how the sets are blocked."""
    import numpy as np

    from repm.analyses.uncertainty import evaluate, philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    assert Evaluator(loaded, "expected_unmet", draws=1000).sets_per_call() == 4
    assert Evaluator(loaded, "expected_unmet", draws=100).sets_per_call() == 40
    assert Evaluator(loaded, "expected_unmet", draws=2000).sets_per_call() == 2
    assert Evaluator(loaded, "expected_unmet", draws=10**5).sets_per_call() == 1  # in pieces
    assert Evaluator(loaded, "magnet_imports").sets_per_call() == evaluate.SETS_PER_CALL
    ev = Evaluator(loaded, "expected_unmet", step="yearly", draws=3, per_draw=True, workers=1)
    n = 5
    values = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 2, np.arange(n)), n)
    at = [{k: float(v[d]) for k, v in values.items()} for d in range(n)]
    whole = ev.many(at)  # one call of 5 sets
    sizes: list[int] = []
    block = Evaluator._block
    monkeypatch.setattr(evaluate, "DRAWS_PER_CALL", 6)  # 2 sets of 3 draws a call
    monkeypatch.setattr(
        Evaluator, "_block", lambda self, b: (sizes.append(len(b)), block(self, b))[1]
    )
    blocked = Evaluator(loaded, "expected_unmet", step="yearly", draws=3, per_draw=True, workers=1)
    assert np.array_equal(blocked.many(at), whole) and sizes == [2, 2, 1]


def test_a_sets_many_draws_run_in_pieces_as_one_call_of_all(monkeypatch):
    """A set with more than DRAWS_PER_CALL / 2 shock draws runs them in calls of two equal
    pieces side by side: each draw's shocks are keyed by its id, so the unmet demand by draw and
    every risk output are those of one call of all the draws, bit for bit (here 21 draws, the
    compiled monthly kernel, calls of at most 8: three calls of two pieces of 4, the last piece
    filled up with 3 draws past the set's, dropped)."""
    import numpy as np

    from repm.analyses.uncertainty import evaluate, philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    kw = {"step": "monthly", "draws": 21, "workers": 1}
    ev = Evaluator(loaded, "expected_unmet", per_draw=True, **kw)
    values = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 4, np.arange(2)), 2)
    at = [{k: float(v[d]) for k, v in values.items()} for d in range(2)]
    whole = {o: Evaluator(loaded, o, **kw).many(at) for o in ("expected_unmet", "cvar95_unmet")}
    by_draw = ev.many(at)
    monkeypatch.setattr(evaluate, "DRAWS_PER_CALL", 8)
    assert Evaluator(loaded, "expected_unmet", **kw).sets_per_call() == 1
    calls: list[list[int]] = []
    from repm.simulate import sets as sets_module

    real = sets_module.simulate_sets_unlabelled  # what the risk outputs run through

    def spy(chains, *a, shocks=None, **k):
        calls.append([sh.draws for sh in shocks])
        return real(chains, *a, shocks=shocks, **k)

    monkeypatch.setattr(sets_module, "simulate_sets_unlabelled", spy)
    pieced = Evaluator(loaded, "expected_unmet", per_draw=True, **kw).many(at)
    assert calls == [[4, 4]] * 6 and pieced.shape == (2, 21, 12)  # 3 calls a set, both threads
    assert np.array_equal(pieced, by_draw) and by_draw.max() > 0
    for o, want in whole.items():
        assert np.array_equal(Evaluator(loaded, o, **kw).many(at), want), o


def test_sets_whose_kernel_calls_would_not_fit_are_refused_before_any_work(monkeypatch):
    """A kernel call holds every draw's outputs (at most DRAWS_PER_CALL draws): where even that
    does not fit the memory free, a one-line error naming --draws before anything is evaluated."""
    import pytest

    from repm import limits
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.errors import UserError
    from repm.scenario import load_scenario

    monkeypatch.setattr(limits, "available_memory", lambda: 100 * 2**20)  # 100 MiB, 1 process
    ev = Evaluator(load_scenario("india-baseline"), "expected_unmet", draws=100_000, workers=1)
    monkeypatch.setattr(Evaluator, "_block", lambda *a: pytest.fail("evaluated"))
    with pytest.raises(UserError, match=r"4,000 shock draws to a kernel call") as exc:
        ev.many([{}, {}, {}])
    assert exc.value.where == "--draws"
    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)  # 1 GiB: the pieces fit
    monkeypatch.setattr(
        Evaluator, "_block", lambda self, b: __import__("numpy").zeros((len(b), 12))
    )
    assert ev.many([{}, {}, {}]).shape == (3, 12)
