"""Only export restrictions start the spare-capacity ramp (`risk.spare_ramp_months`).

Other origins' spare capacity ramps up because buyers turn to them when an origin restricts its
exports; an outage at a plant (`kind: outage`) does not make the world's other makers add
capacity. So the ramp's spell is the months with some `kind: export_restriction` event active: an
outage neither starts one nor keeps one going, and a restriction that begins during an outage
starts its ramp from zero. Checked by hand on a small case, on the fused pass over the levels
(`philox.all_levels`, what `shocks.sample` runs) against `shocks.spare_ramp`, and on the shipped
outage scenario (india-heavy-outside-china-outage), whose ramp is its parent's bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.errors import UserError
from repm.scenario import load_scenario
from repm.simulate import philox
from repm.simulate.shocks import sample, spare_ramp

NAME = "india-heavy-outside-china-outage"
R = 4.0
T = 16


def _by_hand_levels() -> np.ndarray:
    """One draw, 16 months: a restriction (event 0) refusing 80 % in months 10–12, an outage
    (event 1) withholding all in months 6–11."""
    level = np.zeros((1, T, 2), dtype=np.float32)
    level[0, 10:13, 0] = 0.8
    level[0, 6:12, 1] = 1.0
    return level


def test_the_ramp_follows_the_restriction_alone_by_hand():
    level = _by_hand_levels()
    # R = 4: month k of the restriction's spell gets (k + ½)/4; the outage's months before it, 1
    want = np.ones(T)
    want[10:13] = [0.125, 0.375, 0.625]
    got = spare_ramp(level, R, np.array([True, False]))[0]
    np.testing.assert_array_equal(got, want)
    # what the old rule (any event active) gave: the spell from the outage's first month
    old = np.ones(T)
    old[6:13] = [0.125, 0.375, 0.625, 0.875, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(spare_ramp(level, R)[0], old)
    np.testing.assert_array_equal(spare_ramp(level, R, np.array([True, True]))[0], old)
    # an outage alone: no spell, all the spare there
    assert np.all(spare_ramp(level[:, :, 1:], R, np.array([False])) == 1.0)
    assert spare_ramp(level, 0, np.array([True, False])) is None


def test_the_fused_pass_makes_the_same_ramp_by_hand():
    """`philox.all_levels` from the two events' candidates: the same levels and the same ramp."""
    pos, dur, sev = np.array([10, 6], dtype=np.int64), np.array([3.0, 6.0]), np.array([0.8, 1.0])
    first, delay = np.array([0, 1, 2], dtype=np.int64), np.zeros(2)
    for ramps, start in (([True, False], 10), ([True, True], 6), ([False, True], 6)):
        level = np.zeros((1, T, 2), dtype=np.float32)
        ramp = np.empty((1, T))
        philox.all_levels(pos, dur, sev, first, delay, np.array(ramps), level, R, ramp)
        np.testing.assert_array_equal(level, _by_hand_levels())
        assert np.array_equal(ramp, spare_ramp(level, R, np.array(ramps)))
        assert np.all(ramp[0, :start] == 1.0) and ramp[0, start] == 0.125
    level = np.zeros((1, T, 2), dtype=np.float32)
    ramp = np.empty((1, T))
    philox.all_levels(pos, dur, sev, first, delay, np.array([False, False]), level, R, ramp)
    assert np.all(ramp == 1.0)


@pytest.fixture(scope="module")
def outage():
    loaded = load_scenario(NAME)
    return loaded.scenario.risk, compile_chain(loaded.scenario)


def _variant(risk, keep: slice, kind: str | None = None):
    events = [
        ev if kind is None else ev.model_copy(update={"kind": kind}) for ev in risk.events[keep]
    ]
    return risk.model_copy(update={"events": events})


def test_outages_alone_do_not_ramp_and_as_restrictions_they_would(outage):
    risk, chain = outage
    assert risk.spare_ramp_months == 5
    draws = np.arange(300)
    alone = sample(_variant(risk, slice(-2, None)), chain, draws, seed=0)
    assert [ev.kind for ev in _variant(risk, slice(-2, None)).events] == ["outage"] * 2
    assert (alone.event_level > 0).any()  # the outages happen …
    assert alone.spare_ramp is not None and np.all(alone.spare_ramp == 1.0)  # … and nothing ramps
    # the same events declared as restrictions: the ramp in their first months, 0.1 to start
    as_restr = sample(_variant(risk, slice(-2, None), "export_restriction"), chain, draws, seed=0)
    np.testing.assert_array_equal(as_restr.event_level, alone.event_level)
    active = (alone.event_level != 0).any(axis=2)
    assert np.all(as_restr.spare_ramp[~active] == 1.0)
    assert (as_restr.spare_ramp[active] < 1.0).any() and (as_restr.spare_ramp == 0.1).any()


def test_with_both_the_ramp_is_the_restrictions_alone(outage):
    """The outage scenario's ramp is india-heavy-outside-china's bit for bit: the same seed gives
    the same Chinese episodes (tests/test_heavy_outage.py), and the outages add nothing to it."""
    risk, chain = outage
    calm = load_scenario("india-heavy-outside-china")
    draws = np.arange(2000)
    hit = sample(risk, chain, draws, seed=0)
    base = sample(calm.scenario.risk, compile_chain(calm.scenario), draws, seed=0)
    k = base.event_level.shape[2]
    out = hit.event_level[:, :, k:] != 0
    chinese = (hit.event_level[:, :, :k] != 0).any(axis=2)
    # there are months where an outage runs and no restriction, and restrictions that begin
    # during an outage: the cases the old rule got wrong
    assert (out.any(axis=2) & ~chinese).any()
    began = chinese[:, 1:] & ~chinese[:, :-1]
    assert (began & out[:, :-1].any(axis=2) & out[:, 1:].any(axis=2)).any()
    assert np.array_equal(hit.spare_ramp.view(np.uint64), base.spare_ramp.view(np.uint64))


def test_the_fused_ramp_is_the_unfused_one_and_any_chunk_gives_it(outage):
    risk, chain = outage
    draws = np.arange(1000)
    sh = sample(risk, chain, draws, seed=7)
    ramps = np.array([ev.kind == "export_restriction" for ev in risk.events])
    assert ramps.tolist() == [True] * (len(ramps) - 2) + [False, False]
    want = spare_ramp(sh.event_level, risk.spare_ramp_months, ramps)
    assert np.array_equal(sh.spare_ramp.view(np.uint64), want.view(np.uint64))
    # a draw's ramp is its own: the same in any chunk, in any order
    part = np.array([999, 3, 500, 4])
    alone = sample(risk, chain, part, seed=7)
    assert np.array_equal(alone.spare_ramp.view(np.uint64), sh.spare_ramp[part].view(np.uint64))


@pytest.mark.parametrize("value", ["strike", "restriction", "1"])
def test_a_bad_kind_is_a_one_line_error_naming_the_field(value):
    with pytest.raises(UserError) as err:
        load_scenario(NAME, [f"risk.events.5.kind={value}"])
    msg = str(err.value)
    assert "risk.events.5.kind" in msg and "export_restriction" in msg and "outage" in msg
    assert "\n" not in msg.strip()
