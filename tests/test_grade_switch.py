"""Makers switch to a lighter grade within an episode (risk.grade_switch, issue 13): once a
grade's magnets have been restricted for `after_months` without a break, makers in the switch's
sectors buy `share` of that grade's bare magnets one class down, and stay there."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.chain.demand import heavy_content, next_lower_grade
from repm.errors import UserError
from repm.scenario import load_scenario
from repm.simulate.engine import simulate
from repm.simulate.shocks import Shocks


@pytest.fixture(scope="module")
def chain():
    return compile_chain(load_scenario("india-baseline").scenario)


def _restricted(chain, grade: str, months: list[int]) -> Shocks:
    """China's magnets of `grade` refused in the given months (monthly steps) of the first year."""
    model = chain.model
    mats = list(model.material_names)
    avail = np.ones((1, 12 * chain.n_years, len(chain.origins), len(mats)))
    o = chain.origins.index("China")
    avail[0, months, o, mats.index(model.form("magnet", grade))] = 0.5
    return Shocks(availability=avail)


def _switch(chain, share: float, after: float, sectors=("e2w",)):
    on = np.array([share if s in sectors else 0.0 for s in chain.sectors])
    return dataclasses.replace(chain, switch_share=on, switch_after_months=after)


def test_next_lower_grade_is_one_class_down(chain):
    grades = list(chain.model.grade_names)
    down = next_lower_grade(heavy_content(chain.model, chain.grade_comp.values))
    assert [grades[d] if d >= 0 else None for d in down] == [None, "n", "gbd"]  # n, gbd, uh


def test_demand_moves_down_after_the_qualification_months(chain):
    """GBD restricted from January: with after = 2 months the switch holds from March, so the
    year's e2w GBD demand is 2 months at full and 10 at (1 − share) of its bare part, by hand."""
    share, after = 0.6, 2.0
    c = _switch(chain, share, after)
    ds = simulate(c, shocks=_restricted(chain, "gbd", list(range(12))), step="monthly").data
    base = simulate(chain, step="monthly").data
    y0 = int(chain.years[0])
    bare = float(chain.demand_bare.sel(year=y0, sector="e2w", grade="gbd"))
    moved = bare * share * 10 / 12  # 10 of 12 months, of the bare magnets only
    got = ds.demand.sel(draw=0, year=y0, sector="e2w")
    want = base.demand.sel(draw=0, year=y0, sector="e2w")
    assert float(got.sel(grade="gbd")) == pytest.approx(
        float(want.sel(grade="gbd")) - moved, rel=1e-12
    )
    assert float(got.sel(grade="n")) == pytest.approx(float(want.sel(grade="n")) + moved, rel=1e-12)
    assert float(got.sel(grade="uh")) == pytest.approx(float(want.sel(grade="uh")), rel=1e-12)
    # other sectors keep their grades; total demand is unchanged
    other = ds.demand.sel(draw=0, year=y0, sector="ev_car")
    # (booked as 2 + 10 months of the same demand instead of 12: equal to rounding)
    np.testing.assert_allclose(
        other.values, base.demand.sel(draw=0, year=y0, sector="ev_car").values, rtol=1e-12
    )
    assert float(ds.demand.sel(draw=0).sum()) == pytest.approx(
        float(base.demand.sel(draw=0).sum()), rel=1e-12
    )
    # and the switch stays: the next year (nothing restricted) is all switched
    y1 = y0 + 1
    bare1 = float(chain.demand_bare.sel(year=y1, sector="e2w", grade="gbd"))
    g1 = float(ds.demand.sel(draw=0, year=y1, sector="e2w", grade="gbd"))
    w1 = float(base.demand.sel(draw=0, year=y1, sector="e2w", grade="gbd"))
    assert g1 == pytest.approx(w1 - bare1 * share, rel=1e-12)


def test_a_break_in_the_restriction_restarts_the_clock(chain):
    """Restricted Jan–Feb, free in March, restricted again Apr–May: never 3 months on end."""
    c = _switch(chain, 0.6, 3.0)
    broken = simulate(c, shocks=_restricted(chain, "gbd", [0, 1, 3, 4]), step="monthly").data
    plain = simulate(chain, shocks=_restricted(chain, "gbd", [0, 1, 3, 4]), step="monthly").data
    assert np.array_equal(broken.demand.values, plain.demand.values)
    assert np.array_equal(broken.unmet.values, plain.unmet.values)


def test_no_switch_without_a_restriction(chain):
    c = _switch(chain, 1.0, 0.0)
    a, b = simulate(c, step="monthly").data, simulate(chain, step="monthly").data
    for name in ("demand", "unmet", "served", "flows"):
        assert np.array_equal(a[name].values, b[name].values), name


def test_switching_ends_e2w_shortage_of_a_banned_grade(chain):
    """GBD magnets from every origin stopped for a year: without the switch e-2W makers go short
    once working stock (3 months) is spent; with all of them switching to N after 2 months (N
    still flows), they buy no GBD from month 3 on and nothing of theirs goes unmet."""
    mats = list(chain.model.material_names)
    avail = np.ones((1, 12 * chain.n_years, len(chain.origins), len(mats)))
    avail[0, :12, :, mats.index("magnet_gbd")] = 0.0
    shocks = Shocks(availability=avail)
    y0 = int(chain.years[0])
    plain = simulate(chain, shocks=shocks, step="monthly").data
    switched = simulate(_switch(chain, 1.0, 2.0), shocks=shocks, step="monthly").data
    assert float(plain.unmet.sel(draw=0, year=y0, sector="e2w", grade="gbd")) > 10.0  # t
    assert float(switched.unmet.sel(draw=0, year=y0, sector="e2w").sum()) == 0.0


def test_an_unknown_sector_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "extends: india-baseline\nrisk:\n  grade_switch: {share: 0.5, after_months: 3, sectors: [boats]}\n"
    )
    with pytest.raises(UserError, match="unknown sector in grade_switch.sectors: 'boats'"):
        load_scenario(str(path))


def test_the_switch_steps_are_the_same_from_event_levels_and_dense_availability(chain):
    """`shocks.switch_steps` reads restriction from the factorised events (risk runs) the way it
    reads a dense availability array (the engine's other input): the same steps, draw by draw.
    The baseline's 2025 history switches e-2W/e-3W makers off GBD and UH in every draw."""
    from repm.simulate.shocks import sample, switch_steps

    loaded = load_scenario("india-baseline")
    sh = sample(loaded.scenario.risk, chain, np.arange(40), seed=3)
    from_events = switch_steps(sh, chain, 12)
    avail, _ = sh.dense(12 * chain.n_years)
    from_dense = switch_steps(Shocks(availability=avail), chain, 12)
    assert np.array_equal(from_events, from_dense)
    grades = list(chain.model.grade_names)
    # restricted from April 2025 (step 15); the first restricted month with more than 4.3
    # months of it before: September (April–August are five)
    sep_2025 = 12 + 8
    assert np.all(from_events[:, grades.index("gbd")] == sep_2025)
    assert np.all(from_events[:, grades.index("n")] == -1)  # nothing lighter than N
