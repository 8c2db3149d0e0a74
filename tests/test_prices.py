"""Prices per grade, tied to oxide prices (issue 12 part 3), and what the planner and finance do
with them: anchors, NPV per grade, two hand-solved planning cases, bad input."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest

from repm.analyses import finance as F
from repm.analyses.optimize import optimize
from repm.chain import compile_chain
from repm.errors import UserError
from repm.model.facts import load_facts
from repm.results.build import run_scenario
from repm.scenario import load_scenario

FACTS = load_facts()
GRADES = ("n", "gbd", "uh")


@pytest.fixture(scope="module")
def chain():
    return compile_chain(load_scenario("india-baseline").scenario)


def test_chinas_export_mix_at_chinas_oxide_prices_gives_its_export_unit_value(chain):
    """The conversion margins are calibrated so China's 2024 export mix, priced at China's
    own oxide prices, lands on the US$49.2/kg unit value of its magnet exports (Adamas)."""
    fx = load_scenario("india-baseline").scenario.economics.fx_inr_per_usd
    price = chain.magnet_price_china.sel(year=2024) / fx  # USD/kg by grade
    mix = {g: FACTS.value(f"china_export_mix_{g}") for g in GRADES}
    assert sum(mix.values()) == pytest.approx(1.0)
    unit_value = sum(mix[g] * float(price.sel(grade=g)) for g in GRADES)
    assert unit_value == pytest.approx(FACTS.value("price_magnet_all_china_export_2024"), rel=0.03)
    # and the grades are ordered as their Dy/Tb content orders them
    assert (
        float(price.sel(grade="n")) < float(price.sel(grade="gbd")) < float(price.sel(grade="uh"))
    )


def test_a_dy_price_shock_moves_each_grade_by_its_dy_share(chain):
    """Risk price shocks reach magnets through their oxides: a UH magnet, whose Dy is a large
    part of its price, rises far more than a GBD one; an N magnet not at all."""
    from repm.chain.rules import oxide_cost_share
    from repm.simulate.shocks import event_targets

    loaded = load_scenario("india-baseline")
    _, price = event_targets(loaded.scenario.risk, chain)
    m = list(chain.materials)
    dy, tb = price[0, m.index("dy_oxide")], price[0, m.index("tb_oxide")]
    for g in GRADES:
        share = oxide_cost_share(chain, g)
        expected = share[m.index("dy_oxide")] * dy + share[m.index("tb_oxide")] * tb
        assert price[0, m.index(f"magnet_{g}")] == pytest.approx(expected, rel=1e-12)
    assert price[0, m.index("magnet_n")] == 0.0
    assert price[0, m.index("magnet_uh")] > 1.5 * price[0, m.index("magnet_gbd")] > 0


@pytest.mark.parametrize("grade", GRADES)
def test_npv_of_a_unit_making_one_grade_matches_numpy_financial(grade):
    """Every sector buys one grade: the unit sells it at that grade's price, and its NPV is
    numpy-financial's over the same net flows."""
    sets = [
        f"demand.sectors.{s}.grade_mix.{g}={int(g == grade)}" for s in _sectors() for g in GRADES
    ] + ["demand.channels.bare_grade_mix=null"]  # loose magnets the one grade too
    loaded = load_scenario("india-baseline", sets)
    chain, results = run_scenario(loaded, step="yearly")
    ctx = F.context(loaded.scenario, chain, results)
    unit = F.unit_specs(loaded.scenario)[0]
    df = F.cash_flows(ctx, unit)
    on = (df["production"] > 0) & (df["year"] <= chain.years[-1])
    price = chain.magnet_price.sel(grade=grade)
    for r in df[on].itertuples():
        assert r.price == pytest.approx(float(price.sel(year=r.year)), rel=1e-12)
    rate = loaded.scenario.economics.finance.discount_rate
    npv = F.unit_metrics(ctx, unit)["npv"]
    assert npv == pytest.approx(npf.npv(rate, df["net"].values), rel=1e-12)


def _sectors():
    from repm.model import default_definition

    return default_definition().sectors


# --- the planner sells into the market it has, and builds when it pays -----------------------

SMALL = """\
extends: india-baseline
horizon: {start: 2025, end: 2030}
demand: {channels: {localization: {2035: null}}}
supply: {units: []}
risk: {events: [], demand_growth_sd: 0}
routes: null
"""


@pytest.fixture()
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_planner_builds_exactly_the_bare_market_when_domestic_undercuts_imports(small):
    """Imported magnets at oxides + US$200/kg of margin: making them at home (oxides + ~US$14/kg
    of conversion + capex) is far cheaper, so the planner builds to the bare-magnet market each
    year — never more (it could not sell more), never less (every tonne bought is dearer)."""
    sets = [f"economics.magnet_cost.conversion.{g}=200 USD/kg" for g in GRADES]
    loaded = load_scenario(str(small), sets)
    chain = compile_chain(loaded.scenario)
    res = optimize(loaded.scenario, chain)
    bare = chain.demand_bare.sum(["sector", "grade"]).to_series()
    cap = res.capacity.reindex(bare.index)
    np.testing.assert_allclose(cap.values, bare.values, rtol=1e-6)


def test_planner_builds_nothing_when_imports_undercut_home_making(small):
    """Imported magnets at their oxides + other materials, no margin: cheaper than any domestic
    unit on imported oxide (which adds its conversion cost and capex), so nothing is built. (With
    IREL's oxide, which costs the economy nothing more, some is: hence to_units_max = 0.)"""
    sets = [f"economics.magnet_cost.conversion.{g}=0" for g in GRADES]
    sets += ["supply.separation.to_units_max=0"]
    loaded = load_scenario(str(small), sets)
    res = optimize(loaded.scenario, compile_chain(loaded.scenario))
    assert float(res.capacity.max()) == pytest.approx(0.0, abs=1e-6)


# --- bad input for the new blocks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "needle"),
    [
        (["supply.grades.n.dy=-0.01"], "supply.grades.n.dy"),
        (["supply.grades.uh.ndpr=0.9"], "expected a rare-earth content above 0 and at most 0.40"),
        (["demand.sectors.wind.grade_mix.uh=0", "demand.sectors.wind.grade_mix.h=0.55"],
         "unknown grade in sectors.wind.grade_mix: 'h'"),
        (["demand.sectors.wind.grade_mix.n=0.5"], "grade_mix: shares sum to"),
        (["supply.tb_for_dy.share=1.5", "supply.tb_for_dy.ratio=0.6"], "supply.tb_for_dy.share"),
        (["economics.oxide_prices.tb_oxide.2025=-1"], "economics.oxide_prices.tb_oxide"),
        (["economics.magnet_cost.other_materials=-1"], "economics.magnet_cost.other_materials"),
        (["supply.yields.alloy_to_magnet=0.9"], "alloy_to_magnet is replaced by sintering × machining"),
    ],
)  # fmt: skip
def test_bad_input_in_the_new_blocks_is_a_one_line_error(sets, needle):
    with pytest.raises(UserError, match=needle.replace("×", ".").replace("(", r"\(")):
        compile_chain(load_scenario("india-baseline", sets).scenario)


def test_a_shift_in_an_unknown_sector_is_a_one_line_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "extends: india-baseline\ndemand:\n  heavy_free_shift: {share: {2030: 0.4}, sectors: [boats]}\n"
    )
    with pytest.raises(UserError, match="unknown sector in heavy_free_shift.sectors: 'boats'"):
        load_scenario(str(path))
