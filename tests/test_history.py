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
