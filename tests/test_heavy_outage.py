"""india-heavy-outside-china-outage: outages at the non-Chinese Dy/Tb separators (Lynas Malaysia,
Caremag in France) on top of india-heavy-outside-china. The events are the baseline's, repeated
(a child's list replaces its parent's), with two outages listed last; they target the secured
origins' Dy/Tb only, keep every Chinese episode of the same seed, and add unmet demand."""

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
NAME = "india-heavy-outside-china-outage"


@pytest.fixture(scope="module")
def pair():
    """The scenario without and with the outages, each loaded and compiled."""
    out = []
    for name in ("india-heavy-outside-china", NAME):
        loaded = load_scenario(name)
        out.append((loaded, compile_chain(loaded.scenario)))
    return out


def test_the_baseline_events_are_repeated_and_two_outages_added(pair):
    (calm, _), (hit, chain) = pair
    base = load_scenario("india-baseline").scenario.risk.events
    events = hit.scenario.risk.events
    assert calm.scenario.risk.events == base  # (the parent inherits the baseline's)
    assert len(events) == len(base) + 2
    assert events[: len(base)] == base  # the copy has not drifted from the baseline's list
    lynas, caremag = events[len(base) :]
    assert (lynas.origin, caremag.origin) == ("Malaysia", "EU")
    for ev, hazard in ((lynas, "lynas_malaysia_outage_hazard"), (caremag, "caremag_outage_hazard")):
        assert ev.kind == "outage" and sorted(ev.materials) == sorted(HEAVY)
        assert ev.elements is None and ev.start_year is None
        assert ev.hazard == F.value(hazard)
        assert ev.duration.mean_months == F.value("separator_outage_months")
        assert ev.duration.cv == F.value("separator_outage_duration_cv")
        assert ev.severity_low == F.value("separator_outage_severity_low")
        assert ev.severity_high == F.value("separator_outage_severity_high")
        assert not ev.price_multiplier and ev.third_country_share == 0
    # everything else is india-heavy-outside-china's
    assert hit.scenario.trade == calm.scenario.trade
    assert hit.scenario.model_dump(exclude={"name", "description", "risk"}) == (
        calm.scenario.model_dump(exclude={"name", "description", "risk"})
    )


def test_each_outage_refuses_its_origins_dy_tb_and_nothing_else(pair):
    (_, _), (hit, chain) = pair
    target, price = event_targets(hit.scenario.risk, chain)
    n = len(hit.scenario.risk.events)
    cols = [MATERIALS.index(m) for m in HEAVY]
    for e, origin in ((n - 2, "Malaysia"), (n - 1, "EU")):
        want = np.zeros(target.shape[1:])
        want[chain.origins.index(origin), cols] = 1.0
        np.testing.assert_array_equal(target[e], want)
        assert not price[e].any()
    # and no Chinese event reaches the secured origins' Dy/Tb
    for origin in ("Malaysia", "EU"):
        assert not target[: n - 2, chain.origins.index(origin)][:, cols].any()


def test_the_same_seed_gives_the_same_chinese_episodes_and_some_outages(pair):
    (calm, calm_chain), (hit, chain) = pair
    draws = np.arange(400)
    a = sample(calm.scenario.risk, calm_chain, draws, seed=0)
    b = sample(hit.scenario.risk, chain, draws, seed=0)
    k = a.event_level.shape[2]
    np.testing.assert_array_equal(b.event_level[:, :, :k], a.event_level)
    np.testing.assert_array_equal(b.demand_multiplier, a.demand_multiplier)
    out = b.event_level[:, :, k:]
    assert 0 < (out > 0).mean() < 0.2  # ~0.4 onsets a year each, ~2 months long
    assert not out[:, :24].any()  # no outage before the as-of date (2024–25 are history)


def test_outages_add_unmet_demand_on_the_same_draws():
    """Same draws, same Chinese episodes, the same spare-capacity ramp: the outages withhold
    Dy/Tb, so expected unmet demand is higher from 2028 (when the units buy Dy/Tb) and the same,
    bit for bit, before it. Run as the scenarios are, with their 5-month ramp: only export
    restrictions start it (`kind: outage` events do not, tests/test_ramp_kind.py), so a Chinese
    episode that begins during an outage finds no more spare magnets than without the outage."""
    for name in ("india-heavy-outside-china", NAME):
        assert load_scenario(name).scenario.risk.spare_ramp_months == 5
    calm, hit, years = unmet_on_the_same_draws("india-heavy-outside-china", NAME)  # draw × year
    before = years < 2028
    np.testing.assert_array_equal(hit[:, before], calm[:, before])
    diff = hit[:, ~before] - calm[:, ~before]
    assert diff.sum() > 100  # t over 2,000 draws × 8 years
    assert (diff.mean(axis=0) > 0).all()  # every year from 2028, on average
    # draw by draw, seldom less, and then by little (5 of 16,000 draw-years, ≤ 0.031 t, at
    # seed 0: buyers' stock and refills after an outage; not traced further)
    assert (diff > 1e-9).sum() > 10 * (diff < -1e-9).sum()
    assert -diff[diff < 0].sum() < 0.01 * diff[diff > 0].sum()


def test_outage_facts_hold_together():
    """The severity ends cannot cross in any parameter draw, and every fact is cited."""
    lo, hi = F.get("separator_outage_severity_low"), F.get("separator_outage_severity_high")
    assert lo.high <= hi.low
    for fid in ("lynas_malaysia_outage_hazard", "caremag_outage_hazard", "separator_outage_months",
                "separator_outage_duration_cv", lo.id, hi.id):  # fmt: skip
        f = F.get(fid)
        assert f.grade == "assumption" and f.note.startswith("ASSUMPTION")
        assert f.low is not None and f.high is not None and f.low <= f.central <= f.high
        assert f.derived_from and all(d in F for d in f.derived_from)
