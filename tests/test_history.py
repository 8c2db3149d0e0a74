"""History is data, not a draw (issue 13 part 3): the risk model's as-of date.

Events dated on or before `risk.as_of` happened: they hit every draw, identically, as they
happened (mean duration, central severity). Random episodes start only after it, and the
strategic stockpile is drawn only after it (what is history cannot be insured).
"""

from __future__ import annotations

import numpy as np
import pytest

from repm.analyses.risk import run_draws
from repm.chain import compile_chain
from repm.errors import UserError
from repm.scenario import load_scenario
from repm.simulate.shocks import sample

MONTHS = 12


@pytest.fixture(scope="module")
def baseline():
    loaded = load_scenario("india-baseline")
    return loaded, compile_chain(loaded.scenario)


def test_the_baseline_knows_what_happened_in_2025(baseline):
    loaded, chain = baseline
    assert loaded.scenario.risk.as_of == "2025-12"
    assert chain.future_from == 24  # Jan 2026 is month 24 of a horizon from Jan 2024
    sh = sample(loaded.scenario.risk, chain, np.arange(300), seed=5)
    level = sh.event_level  # draw × month × event
    before = level[:, : chain.future_from]
    # no draw differs before the as-of date
    assert np.array_equal(before, np.broadcast_to(before[0], before.shape))
    # the random event never starts before it; the history events do, where they happened
    names = [ev.name for ev in loaded.scenario.risk.events]
    random_e = names.index("china_april_2025")
    assert before[:, :, random_e].max() == 0.0
    april, october = names.index("april_2025"), names.index("october_2025")
    apr, oct_ = MONTHS + 3, MONTHS + 9  # April and October 2025
    assert level[0, apr - 1, april] == 0.0 and level[0, apr, april] == 1.0  # the licensing stall
    ev = loaded.scenario.risk.events[april]
    months = int(np.round(ev.duration.mean_months))
    central = np.float32((ev.severity_low + ev.severity_high) / 2)
    stall = int(np.ceil(ev.licensing_delay_months))  # no licence for Indian buyers until 30 Oct
    assert stall == 7 and months == 9  # April–October refused, the regime in force to December
    assert np.all(level[:, apr : apr + stall, april] == 1.0)
    assert np.all(level[:, apr + stall : apr + months, april] == central)
    assert np.all(level[:, apr + months :, april] == 0.0)
    assert level[0, oct_, october] == 1.0
    # after the as-of date the future is random: draws differ
    after = level[:, chain.future_from :, random_e]
    assert 0 < (after.max(axis=1) > 0).mean() < 1


def test_no_random_shortage_before_the_first_possible_shock(baseline):
    loaded, chain = baseline
    s = run_draws(chain, loaded.scenario, draws=200, seed=3, chunk_size=200)
    years = list(chain.years)
    assert s.total[:, years.index(2024)].max() == 0.0  # 2024 had no restriction
    y25 = s.total[:, years.index(2025)]
    assert y25.min() > 1.0  # 2025's restriction hit every draw
    assert np.all(y25 == y25[0])  # … identically: demand in history is not drawn either


def test_demand_in_history_is_the_same_in_every_draw(baseline):
    """The per-draw shift in demand growth compounds from the last year of history: 2024 and
    2025 demand is what it was in every draw; from 2026 draws differ, 2026 by one year's shift."""
    loaded, chain = baseline
    risk = loaded.scenario.risk
    assert risk.demand_growth_sd > 0
    mult = sample(risk, chain, np.arange(300), seed=5).demand_multiplier  # draw × year
    years = list(chain.years)
    assert np.all(mult[:, : years.index(2026)] == 1.0)
    one_year = mult[:, years.index(2026)] - 1.0  # the draw's shift, compounded once
    assert one_year.std() == pytest.approx(risk.demand_growth_sd, rel=0.15)  # 300 draws
    np.testing.assert_allclose(mult[:, years.index(2030)], (1.0 + one_year) ** 5, rtol=1e-12)


def test_the_strategic_stockpile_is_not_drawn_in_history(baseline, tmp_path):
    """A stockpile bought now cannot undo 2025: in history it stays untouched, after the as-of
    date it covers what it can."""
    loaded = load_scenario("india-baseline", ["policy.stockpile.magnet_gbd=500"])
    chain = compile_chain(loaded.scenario)
    from repm.simulate.engine import simulate

    shocks = sample(loaded.scenario.risk, chain, np.arange(4), seed=1)
    ds = simulate(chain, shocks=shocks).data
    level = ds.stockpile_level.sel(material="magnet_gbd")
    assert float(level.sel(year=2025).min()) == pytest.approx(500.0)  # short in 2025, not drawn
    base = load_scenario("india-baseline")
    ds0 = simulate(compile_chain(base.scenario), shocks=shocks).data
    np.testing.assert_allclose(
        ds.unmet.sel(year=2025).values, ds0.unmet.sel(year=2025).values, rtol=1e-12
    )


def test_without_an_as_of_date_every_event_is_a_draw():
    loaded = load_scenario("india-baseline", ["risk.as_of=null"])
    chain = compile_chain(loaded.scenario)
    assert chain.future_from == 0
    s = run_draws(chain, loaded.scenario, draws=200, seed=3, chunk_size=200)
    assert s.total[:, 0].max() > 0.0  # a random episode may start in 2024 again


@pytest.mark.parametrize("value", ["2025-13", "25-12", "December 2025"])
def test_a_bad_as_of_date_is_a_one_line_error(value):
    with pytest.raises(UserError, match="risk.as_of"):
        load_scenario("india-baseline", [f"risk.as_of={value}"])


def test_magnets_the_rule_does_not_reach_can_be_held_up_in_practice(baseline):
    """China's May 2025 magnet exports fell across grades: `other_grades_share` holds up that
    share of the N grade (which contains no Dy/Tb) while the event lasts; 0 leaves it alone."""
    from repm.simulate.shocks import event_targets

    loaded, chain = baseline
    m, china = list(chain.materials), chain.origins.index("China")
    target, _ = event_targets(loaded.scenario.risk, chain)
    assert target[0, china, m.index("magnet_n")] == 0.0
    held = load_scenario("india-baseline", ["risk.events.0.other_grades_share=0.4"])
    target, _ = event_targets(held.scenario.risk, compile_chain(held.scenario))
    assert target[0, china, m.index("magnet_n")] == pytest.approx(0.4)
    assert target[0, china, m.index("alloy_n")] == pytest.approx(0.4)
    assert target[0, china, m.index("magnet_uh")] == 1.0  # the grades it reaches, in full
    assert target[0, china, m.index("embedded_n")] == 0.0  # not magnets inside sub-assemblies


def test_the_april_regime_runs_on_past_the_record_as_a_drawn_tail(baseline):
    """The record stops at the as-of date with the April 2025 regime still in force: the history
    event ends in December 2025 in every draw, and its hold on Indian buyers after that is a
    drawn future event (`april_2025_india_tail`): from January 2026, no stall, each draw's
    length ≥ 1 month and one severity in [low, high] for all of its months, nothing after it."""
    loaded, chain = baseline
    risk = loaded.scenario.risk
    names = [ev.name for ev in risk.events]
    april, tail = names.index("april_2025"), names.index("april_2025_india_tail")
    ev = risk.events[tail]
    assert (int(ev.start_year), int(ev.start_month)) == (2026, 1)
    assert ev.licensing_delay_months == 0 and ev.probability == 1.0
    assert ev.price_multiplier == {}  # the 2025-on ex-China prices carry the premium already
    lo, hi = ev.severity_low, ev.severity_high
    assert (lo, hi) == pytest.approx((0.1, 0.7))
    draws = 400
    level = sample(risk, chain, np.arange(draws), seed=5).event_level  # draw × month × event
    jan26 = chain.future_from
    assert jan26 == 24
    # the history event: nothing after December 2025, in any draw
    assert np.all(level[:, jan26 - 1, april] > 0) and np.all(level[:, jan26:, april] == 0.0)
    t = level[:, :, tail]
    assert np.all(t[:, :jan26] == 0.0)  # nothing before January 2026
    assert np.all(t[:, jan26] > 0)  # every draw starts in January 2026 (probability 1)
    sev = t[:, jan26]
    assert np.all((sev >= np.float32(lo)) & (sev <= np.float32(hi)))
    assert sev.std() > 0.1  # drawn, not the central value
    months = (t > 0).sum(axis=1)
    # one spell from January: the drawn severity in all of its months, then nothing
    for d in range(draws):
        assert np.all(t[d, jan26 : jan26 + months[d]] == sev[d])
    assert months.min() >= 1 and len(set(months.tolist())) > 3  # lengths drawn
    assert 2.0 < months.mean() < 4.5  # lognormal around a 3-month mean, rounded


def test_the_april_2025_history_ends_in_december_2025_in_every_uncertainty_sample():
    """`repm uncertainty` draws facts, not history: the regime's months within the record are
    exact (an as-of cut) and the Indian licence wait is held to 6.7–6.9 months, so in every
    sample the history event refuses everything April–October 2025, its mid severity in
    November–December and nothing from January 2026 (drawn at ±15 %, 8 or 10 months ended it in
    November or ran it into January). The tail's facts are drawn."""
    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator

    loaded = load_scenario("india-baseline")
    ev = Evaluator(loaded, "expected_unmet", step="yearly", draws=1, seed=0)
    assert ev.spreads["april_2025_duration_india_months"].dist == "exact"
    wait = ev.spreads["licence_wait_indian_buyers_2025_months"]
    assert 6 < wait.low <= wait.central <= wait.high <= 7  # always the 7th month (October)
    n = 24
    values = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 0, np.arange(n)), n)
    for f in ("april_2025_india_tail_months", "april_2025_india_tail_severity_high"):
        assert f in values and np.ptp(values[f]) > 0, f  # the tail's facts move
    moving = [f for f, v in values.items() if not np.all(v == ev.spreads[f].central)]
    apr = MONTHS + 3  # April 2025
    for d in range(n):
        sc = ev.scenario_at({f: float(values[f][d]) for f in moving})
        chain = compile_chain(sc)
        names = [e.name for e in sc.risk.events]
        level = sample(sc.risk, chain, np.arange(2), seed=0).event_level
        lv = level[:, :, names.index("april_2025")]
        assert np.all(lv[:, apr : apr + 7] == 1.0), d  # April–October 2025
        assert np.all((lv[:, apr + 7 : apr + 9] > 0) & (lv[:, apr + 7 : apr + 9] < 1)), d
        assert np.all(lv[:, apr + 9 :] == 0.0), d  # from January 2026: the tail's, not history's
        assert np.all(level[:, 2 * MONTHS, names.index("april_2025_india_tail")] > 0), d


@pytest.mark.parametrize("name", ["india-baseline", "india-2025-replay"])
def test_2025s_regime_adds_no_price_rise_on_top_of_2025s_ex_china_prices(name):
    """From 2025 the baseline's Dy and Tb oxide prices are ex-China prices, which already carry
    the April regime's premium: the history event (and the 2026 tail) raise no price again."""
    loaded = load_scenario(name)
    chain = compile_chain(loaded.scenario)
    shocks = sample(loaded.scenario.risk, chain, np.arange(4), seed=0)
    names = [e.name for e in loaded.scenario.risk.events]
    history = [e.name for e in loaded.scenario.risk.events if (e.start_year or 9999) <= 2025]
    assert {"april_2025", "october_2025"} <= set(history)
    for ev in [*history, "april_2025_india_tail"]:
        if ev in names:
            assert not np.any(shocks.event_price[names.index(ev)]), ev
