"""A common cause: one risk event naming several origins (`origin: [Malaysia, EU]`) stops them
together — one onset, one length, one depth per draw for all of them — where two single-origin
events stop each on its own. Checked by hand against single-origin events on the same random
stream, for `third_country_share` ("others" are the origins not named), for one origin written
as a list (the same numbers, bit for bit), and on the shipped india-heavy-outside-china-common:
the outage scenario's events repeated, the common cause last, the same episodes for every other
event, more unmet demand on the same draws."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import unmet_on_the_same_draws

from repm.chain import compile_chain
from repm.model import default_definition
from repm.model.facts import load_facts
from repm.scenario import load_scenario
from repm.simulate.shocks import event_targets, sample

F = load_facts()
MATERIALS = default_definition().material_names
HEAVY = ["dy_oxide", "tb_oxide", "dy_metal", "tb_metal"]
NAME = "india-heavy-outside-china-common"
OUTAGE = "india-heavy-outside-china-outage"
T = 144  # months, 2024–2035


@pytest.fixture(scope="module")
def common():
    loaded = load_scenario(NAME)
    return loaded.scenario, compile_chain(loaded.scenario)


def _only(risk, *events):
    return risk.model_copy(update={"events": list(events)})


def _dense(shocks) -> np.ndarray:
    """draw × month × origin × material availability, month by month as the engine reads it."""
    return np.stack([shocks.at(t, 12) for t in range(T)], axis=1)


def test_one_episode_refuses_both_origins_in_the_same_months_of_the_same_draws(common):
    """The common cause alone (event 0 in each case, so the same random stream) at a hazard of
    0.5 a year: written [Malaysia, EU], written Malaysia, written EU. The list's episodes are the
    single events' episodes; its availability is theirs multiplied, 1 − level on both origins'
    Dy/Tb in the same months at the same depth, 1 everywhere else."""
    scenario, chain = common
    cc = scenario.risk.events[-1]
    assert cc.origin == ["Malaysia", "EU"] and cc.origins == ("Malaysia", "EU")
    ev = cc.model_copy(update={"hazard": 0.5})
    draws = np.arange(100)
    both, mal, eu = (
        sample(_only(scenario.risk, ev.model_copy(update={"origin": o})), chain, draws, seed=3)
        for o in (["Malaysia", "EU"], "Malaysia", "EU")
    )
    # the episode is the event's, whatever it names: the same onsets, lengths and depths
    np.testing.assert_array_equal(both.event_level, mal.event_level)
    np.testing.assert_array_equal(both.event_level, eu.event_level)
    level = both.event_level[:, :, 0].astype(np.float64)  # draw × month
    assert 0.1 < (level > 0).mean() < 0.5 and len(np.unique(level[level > 0])) > 50
    a, a_mal, a_eu = _dense(both), _dense(mal), _dense(eu)
    m, e = chain.origins.index("Malaysia"), chain.origins.index("EU")
    cols = [MATERIALS.index(x) for x in HEAVY]
    want = np.ones_like(a)  # by hand: 1 − level on both origins' Dy/Tb, 1 elsewhere
    for o in (m, e):
        want[:, :, o, cols] = 1.0 - level[:, :, None]
    np.testing.assert_allclose(a, want, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(a[:, :, m, cols], a[:, :, e, cols])  # same months, same depth
    np.testing.assert_array_equal(a, a_mal * a_eu)  # = the two single events forced together
    np.testing.assert_array_equal(a[:, :, m], a_mal[:, :, m])
    np.testing.assert_array_equal(a[:, :, e], a_eu[:, :, e])


def test_two_single_origin_events_are_not_one_common_cause(common):
    """The contrast: Malaysia and EU as two events (indices 0 and 1) draw their own episodes, so
    one plant is often out while the other runs; the list never leaves one running alone."""
    scenario, chain = common
    ev = scenario.risk.events[-1].model_copy(update={"hazard": 0.5})
    draws = np.arange(100)
    apart = sample(
        _only(scenario.risk, ev.model_copy(update={"origin": "Malaysia"}),
              ev.model_copy(update={"origin": "EU"})),
        chain, draws, seed=3,
    )  # fmt: skip
    together = sample(_only(scenario.risk, ev), chain, draws, seed=3)
    out = apart.event_level > 0
    assert (out[:, :, 0] != out[:, :, 1]).mean() > 0.05  # one out, the other running
    a = _dense(together)
    m, e = chain.origins.index("Malaysia"), chain.origins.index("EU")
    dy = MATERIALS.index("dy_oxide")
    assert ((a[:, :, m, dy] < 1) == (a[:, :, e, dy] < 1)).all()


def test_one_origin_as_a_list_is_the_same_event_bit_for_bit(common):
    """`origin: X` and `origin: [X]` are one event: every event of the scenario (the Chinese
    presets with their magnets, October's third-country share, the outages) written both ways
    gives the same targets, prices and levels, to the bit."""
    scenario, chain = common
    single = [ev for ev in scenario.risk.events if len(ev.origins) == 1]
    listed = [ev.model_copy(update={"origin": [ev.origin]}) for ev in single]
    assert all(ev.origins == (ev.origin[0],) for ev in listed)
    r1, r2 = _only(scenario.risk, *single), _only(scenario.risk, *listed)
    t1, p1 = event_targets(r1, chain)
    t2, p2 = event_targets(r2, chain)
    assert t1.tobytes() == t2.tobytes() and p1.tobytes() == p2.tobytes()
    draws = np.arange(300)
    s1, s2 = sample(r1, chain, draws, seed=0), sample(r2, chain, draws, seed=0)
    assert s1.event_level.tobytes() == s2.event_level.tobytes()
    assert s1.spare_ramp.tobytes() == s2.spare_ramp.tobytes()


def test_third_country_share_reaches_the_origins_not_named(common):
    """October 2025's preset (its 0.1 % rule reaches other origins' Dy/Tb-bearing magnets) named
    for China and Japan: both origins' own targets are refused whole, the share falls on the
    finished goods of the six origins not named, never on the named ones."""
    scenario, chain = common
    share = F.value("chinese_content_share_third_country_magnets")  # the preset's, not 2025's 0
    assert 0 < share < 1
    octo = next(ev for ev in scenario.risk.events if ev.name == "october_2025")
    octo = octo.model_copy(update={"third_country_share": share})
    ev = octo.model_copy(update={"origin": ["China", "Japan"]})
    target, _ = event_targets(_only(scenario.risk, ev), chain)
    alone, _ = event_targets(_only(scenario.risk, octo), chain)
    c, j = chain.origins.index("China"), chain.origins.index("Japan")
    np.testing.assert_array_equal(target[0, c], alone[0, c])
    np.testing.assert_array_equal(target[0, j], alone[0, c])  # Japan's as China's own: 1s
    finished = [MATERIALS.index(m) for m in ("alloy_gbd", "alloy_uh", "magnet_gbd", "magnet_uh")]
    assert (target[0, j, finished] == 1.0).all() and (alone[0, j, finished] == share).all()
    for o in range(len(chain.origins)):
        if o not in (c, j):
            np.testing.assert_array_equal(target[0, o], alone[0, o])
            assert (target[0, o, finished] == share).all()


def test_the_scenario_repeats_the_outage_events_and_adds_the_common_cause_last(common):
    scenario, chain = common
    outage = load_scenario(OUTAGE).scenario
    events = scenario.risk.events
    assert len(events) == len(outage.risk.events) + 1
    assert events[:-1] == outage.risk.events  # the copy has not drifted from its parent's list
    cc = events[-1]
    assert cc.kind == "outage" and cc.origins == ("Malaysia", "EU")
    assert sorted(cc.materials) == sorted(HEAVY) and cc.elements is None and cc.start_year is None
    assert cc.hazard == F.value("separator_common_cause_hazard")
    assert cc.duration.mean_months == F.value("separator_common_cause_months")
    assert cc.duration.cv == F.value("separator_outage_duration_cv")
    assert cc.severity_low == F.value("separator_outage_severity_low")
    assert cc.severity_high == F.value("separator_outage_severity_high")
    assert not cc.price_multiplier and cc.third_country_share == 0
    assert scenario.model_dump(exclude={"name", "description", "risk"}) == (
        outage.model_dump(exclude={"name", "description", "risk"})
    )
    target, price = event_targets(scenario.risk, chain)
    want = np.zeros(target.shape[1:])
    for o in ("Malaysia", "EU"):
        want[chain.origins.index(o), [MATERIALS.index(m) for m in HEAVY]] = 1.0
    np.testing.assert_array_equal(target[-1], want)
    assert not price[-1].any()
    # the same seed: every other event's episodes are the outage scenario's; the common cause
    # happens, after the as-of date only, at both origins
    draws = np.arange(2000)
    a = sample(outage.risk, compile_chain(outage), draws, seed=0)
    b = sample(scenario.risk, chain, draws, seed=0)
    k = a.event_level.shape[2]
    np.testing.assert_array_equal(b.event_level[:, :, :k], a.event_level)
    np.testing.assert_array_equal(b.spare_ramp, a.spare_ramp)  # an outage: no ramp
    cc_level = b.event_level[:, :, k]
    assert 0 < (cc_level > 0).mean() < 0.05 and not cc_level[:, :24].any()


def test_facts_hold_together():
    for fid in ("separator_common_cause_hazard", "separator_common_cause_months"):
        f = F.get(fid)
        assert f.grade == "assumption" and f.note.startswith("ASSUMPTION")
        assert f.low is not None and f.high is not None and f.low <= f.central <= f.high
        assert f.derived_from and all(d in F for d in f.derived_from)
    # the plant's own outages are shorter than the common cause, its rate below theirs
    assert F.value("separator_common_cause_months") > F.value("separator_outage_months")
    assert F.value("separator_common_cause_hazard") < F.value("lynas_malaysia_outage_hazard")


def test_the_common_cause_adds_unmet_demand_on_the_same_draws():
    """Same draws, same Chinese episodes and independent outages: the common cause withholds
    both plants' Dy/Tb together, so unmet demand is the same, bit for bit, before 2028 (the units
    buy no Dy/Tb before it) and higher on average after."""
    base, hit, years = unmet_on_the_same_draws(OUTAGE, NAME)  # draw × year
    before = years < 2028
    np.testing.assert_array_equal(hit[:, before], base[:, before])
    diff = hit[:, ~before] - base[:, ~before]
    assert diff.sum() > 0
    assert (diff > 1e-9).sum() > 5 * (diff < -1e-9).sum()
    assert -diff[diff < 0].sum() < 0.01 * diff[diff > 0].sum()
