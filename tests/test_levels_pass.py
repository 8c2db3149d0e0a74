"""A risk chunk's event levels in one pass (`philox.all_levels`: every event episode by episode,
and the spare ramp from the restrictions among them) and the kernel's float64 levels with the
switch steps in one pass (`prepare._levels_and_switch`) give what the event-by-event levels,
`shocks.spare_ramp`, `prepare._availability` and `shocks.switch_steps` give, bit for bit, on
random candidates, levels, targets and choices of the events that start the ramp."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repm.chain import compile_chain
from repm.scenario import load_scenario
from repm.simulate import philox
from repm.simulate.prepare import _availability, _levels_and_switch, _switch_steps, prepare
from repm.simulate.shocks import Shocks, sample, spare_ramp

SEVERITIES = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 1e-50, -0.0]), st.floats(0.0, 1.0))
DURATIONS = st.one_of(st.sampled_from([1.0, 2.0, 500.0, np.inf]), st.integers(1, 40).map(float))


@st.composite
def _events(draw):
    """Candidates of a few events for D draws × T months (positions in draw, month order, each
    at most once), their durations and severities, and each event's licensing delay."""
    D, T, E = draw(st.integers(1, 6)), draw(st.integers(1, 30)), draw(st.integers(1, 5))
    events = []
    for _ in range(E):
        pos = sorted(draw(st.sets(st.integers(0, D * T - 1), max_size=D * T)))
        n = len(pos)
        dur = draw(st.lists(DURATIONS, min_size=n, max_size=n))
        sev = draw(st.lists(SEVERITIES, min_size=n, max_size=n))
        delay = draw(st.sampled_from([0.0, 1.0, 2.5, 3.0]))
        events.append((np.array(pos, dtype=np.int64), np.array(dur), np.array(sev), delay))
    return D, T, events


@settings(max_examples=300, deadline=None)
@given(case=_events(), R=st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.5]), data=st.data())
def test_all_levels_are_the_event_by_event_levels_and_their_ramp(case, R, data):
    D, T, events = case
    E = len(events)
    # which events start the ramp (export restrictions; outages do not)
    ramps = np.array(data.draw(st.lists(st.booleans(), min_size=E, max_size=E)), dtype=np.bool_)
    want = np.zeros((D, T, E), dtype=np.float32)
    for e, (pos, dur, sev, delay) in enumerate(events):
        philox.event_levels(pos, dur, sev, D, T, delay, want, e)
    got = np.zeros((D, T, E), dtype=np.float32)
    ramp = np.empty((D, T)) if R > 0 else np.empty((0, 0))
    first = np.cumsum([0] + [len(p) for p, _, _, _ in events]).astype(np.int64)
    philox.all_levels(
        np.concatenate([c[0] for c in events]), np.concatenate([c[1] for c in events]),
        np.concatenate([c[2] for c in events]), first, np.array([c[3] for c in events]), ramps,
        got, float(R), ramp,
    )  # fmt: skip
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))  # signed zeros too
    if R > 0:
        assert np.array_equal(ramp.view(np.uint64), spare_ramp(want, R, ramps).view(np.uint64))


@pytest.fixture(scope="module")
def chain():
    return compile_chain(load_scenario("india-baseline").scenario)


def _old(shocks: Shocks, chain) -> tuple[np.ndarray, np.ndarray]:
    O, M, G = len(chain.origins), len(chain.materials), len(chain.grades)  # noqa: E741
    return _availability(shocks, O, M)[2], _switch_steps(shocks, chain, 12, G)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    D=st.integers(1, 8),
    E=st.integers(1, 6),
    after=st.sampled_from([0.0, 1.0, 2.0, 4.3, 6.0, 200.0]),
    switching=st.booleans(),
    data=st.data(),
)
def test_levels_and_switch_steps_in_one_pass_are_the_old_paths(chain, D, E, after, switching,
                                                               data):  # fmt: skip
    T, O, M = 12 * chain.n_years, len(chain.origins), len(chain.materials)  # noqa: E741
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    level = rng.random((D, T, E)).astype(np.float32)
    level[rng.random((D, T, E)) < data.draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))] = 0.0
    level[rng.random((D, T, E)) < 0.05] = -0.0
    target = rng.random((E, O, M)) * (
        rng.random((E, O, M)) < data.draw(st.sampled_from([0.02, 0.3]))
    )
    c = chain if switching else dataclasses.replace(chain, switch_share=chain.switch_share * 0.0)
    c = dataclasses.replace(c, switch_after_months=after)
    sh = Shocks(event_level=level, event_target=target, event_price=np.zeros((E, M)))
    got = _levels_and_switch(sh, c, 12, len(chain.grades), np.empty)
    assert got is not None
    want = _old(sh, c)
    assert got[0].dtype == want[0].dtype and np.array_equal(got[0], want[0])
    assert np.array_equal(got[0].view(np.uint64), want[0].view(np.uint64))
    assert got[1].dtype == want[1].dtype and np.array_equal(got[1], want[1])


def test_a_risk_sample_prepares_as_before_and_the_other_paths_stay(chain):
    """The baseline's own sample: the one-pass inputs equal the old paths' (its switch steps
    read in every draw); float64 levels, yearly steps or no events take the old paths."""
    risk = load_scenario("india-baseline").scenario.risk
    sh = sample(risk, chain, np.arange(300), seed=11)
    level, step = _levels_and_switch(sh, chain, 12, len(chain.grades), np.empty)
    want_level, want_step = _old(sh, chain)
    assert np.array_equal(level, want_level) and np.array_equal(step, want_step)
    assert (step >= 0).any() and (step == -1).any()
    as64 = dataclasses.replace(sh, event_level=sh.event_level.astype(np.float64))
    assert _levels_and_switch(as64, chain, 12, len(chain.grades), np.empty) is None
    assert _levels_and_switch(sh, chain, 1, len(chain.grades), np.empty) is None
    empty = dataclasses.replace(sh, event_level=sh.event_level[:, :, :0])
    assert _levels_and_switch(empty, chain, 12, len(chain.grades), np.empty) is None
    # what prepare hands the kernel, through either path
    fast = prepare(chain, shocks=sh).inputs
    slow = prepare(chain, shocks=as64).inputs
    for name in ("level", "target", "sw_step", "ramp", "avail"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert fast.dense == slow.dense
