"""Scheme finance: numpy-financial agreement, the Gazette's arithmetic, caps, breakevens, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import numpy_financial as npf
import pytest
from conftest import run_cli

from repm.analyses import finance as F
from repm.results.build import run_scenario
from repm.scenario import load_scenario


@pytest.fixture(scope="module")
def base():
    loaded = load_scenario("india-baseline")
    chain, results = run_scenario(loaded, step="yearly")
    return loaded.scenario, chain, F.context(loaded.scenario, chain, results)


def test_npv_and_irr_match_numpy_financial(base):
    s, _, ctx = base
    unit = F.unit_specs(s)[0]
    flows = F.cash_flows(ctx, unit)["net"].values
    for rate in (0.0, 0.05, 0.12, 0.3):
        assert F.npv(rate, flows) == pytest.approx(npf.npv(rate, flows), rel=1e-12)
    # a unit that pays: double the magnet price
    rich = F.cash_flows(ctx, unit, F.Levers(price=2.0))["net"].values
    assert F.irr(rich) == pytest.approx(npf.irr(rich), rel=1e-8)
    assert F.irr(np.array([-100.0, 10.0, 10.0])) == pytest.approx(
        npf.irr([-100.0, 10.0, 10.0]), rel=1e-8
    )
    assert F.irr(np.array([100.0, 10.0, 10.0])) is None and np.isnan(npf.irr([100.0, 10.0, 10.0]))


def test_gazette_arithmetic(base):
    s, _, _ = base
    sch = s.scheme
    # 6,000 t × 5 yr × ₹2,150/kg = ₹6,450 crore
    assert 6000 * 1000 * sch.sli_years * sch.sli_cap_per_kg / 1e7 == pytest.approx(sch.sli_outlay)
    # a 1,200 t/yr unit's SLI is capped at ₹1,290 crore
    assert 1200 * 1000 * sch.sli_years * sch.sli_cap_per_kg / 1e7 == pytest.approx(1290)
    assert sch.outlay - sch.sli_outlay - sch.capital_subsidy_outlay == pytest.approx(
        80
    )  # unexplained ₹80 cr


def test_sli_is_cut_to_40_percent_of_net_sales(base):
    s, _, ctx = base
    unit = replace(F.unit_specs(s)[0], sli_bid=2150.0)
    df = F.cash_flows(ctx, unit, price_basis="reference")
    window = (df["year"] >= unit.first_year) & (df["year"] < unit.first_year + 5)
    # at the scheme's ₹5,000/kg, 40 % of sales is ₹2,000/kg < the ₹2,150 bid: SLI = 0.4 × revenue
    assert np.allclose(df.loc[window, "sli"], 0.4 * df.loc[window, "revenue"], rtol=1e-12)
    assert (df.loc[~window, "sli"] == 0).all()
    low = F.cash_flows(ctx, replace(unit, sli_bid=1000.0), price_basis="reference")
    kg = low.loc[window, "production"] * 1000
    assert np.allclose(
        low.loc[window, "sli"], kg * 1000 / 1e7, rtol=1e-12
    )  # bid × kg below the cap


def test_revenue_is_each_grade_at_its_price(base):
    """Sales at grade prices: each year, Σ grade share of output × the grade's price (INR/kg),
    and those prices are each grade's oxides + other materials + its conversion margin."""
    s, chain, ctx = base
    unit = F.unit_specs(s)[0]
    df = F.cash_flows(ctx, unit)
    on = df["production"] > 0
    for r in df[on & (df["year"] <= chain.years[-1])].itertuples():
        i = int(r.year - chain.years[0])
        price = sum(
            ctx.grade_mix[i, gi] * float(chain.magnet_price.sel(grade=g).values[i])
            for gi, g in enumerate(chain.grades)
        )
        assert r.price == pytest.approx(price, rel=1e-12)
        assert r.revenue == pytest.approx(r.production * 1000 * price / 1e7, rel=1e-12)
    e, fx = s.economics, s.economics.fx_inr_per_usd
    for g in chain.grades:
        i = list(chain.years).index(2030)
        oxides = sum(
            float(chain.oxide_per_magnet.sel(grade=g, material=m)) * e.oxide_prices[m][2025]
            for m in ("ndpr_oxide", "dy_oxide", "tb_oxide")
        )  # prices held at 2025 after the last point given
        expected = oxides + e.magnet_cost.other_materials + e.magnet_cost.conversion[g]
        assert float(chain.magnet_price.sel(grade=g).values[i]) == pytest.approx(expected)
    assert e.magnet_cost.conversion["uh"] > e.magnet_cost.conversion["n"] > 10 * fx


def test_china_price_is_the_same_grades_at_chinas_oxide_prices_landed(base):
    s, chain, ctx = base
    unit = F.unit_specs(s)[0]
    china = F.cash_flows(ctx, unit, price_basis="china")
    grade = F.cash_flows(ctx, unit)
    i = list(chain.years).index(2030)
    row = china[china["year"] == 2030].iloc[0]
    landed = s.economics.finance.china_landed_markup
    expected = sum(
        ctx.grade_mix[i, gi] * float(chain.magnet_price_china.sel(grade=g).values[i]) * landed
        for gi, g in enumerate(chain.grades)
    )
    assert row.price == pytest.approx(expected, rel=1e-12)
    # the costs are the same; only the price differs
    assert np.allclose(china["feed"], grade["feed"]) and np.allclose(china["opex"], grade["opex"])


def test_sli_total_never_exceeds_the_per_unit_cap(base):
    s, _, ctx = base
    unit = replace(F.unit_specs(s)[0], sli_bid=2150.0)
    df = F.cash_flows(
        ctx, unit, F.Levers(price=10.0)
    )  # sales so high that the 40 % rule never binds
    assert df["sli"].sum() <= 1290 + 1e-9
    assert df["sli"].sum() == pytest.approx(
        sum(df["production"][df["sli"] > 0]) * 1000 * 2150 / 1e7
    )


def test_capital_subsidy_and_capex_scaling(base):
    s, _, ctx = base
    big = F.cash_flows(ctx, F.hypothetical_unit(s, 1200))
    small = F.cash_flows(ctx, F.hypothetical_unit(s, 600))
    assert big["capex"].sum() == pytest.approx(1000)  # DAE's ₹1,000 crore for 1,200 t/yr
    assert small["capex"].sum() == pytest.approx(1000 * 0.5**0.6)  # six-tenths rule
    assert big["capital_subsidy"].sum() == pytest.approx(min(0.15 * 0.8 * 1000, 150))  # = 120
    assert small["capital_subsidy"].sum() == pytest.approx(min(0.15 * 0.8 * 1000 * 0.5**0.6, 75))


def test_breakeven_sli_gives_zero_npv(base):
    s, _, ctx = base
    unit = F.unit_specs(s)[0]
    # every grade 15 % dearer: a breakeven bid within the cap (at the grade price there is none)
    cheap = replace(ctx, magnet_price=ctx.magnet_price * 1.15)
    bid, note = F.breakeven_sli(cheap, unit)
    assert bid is not None and 0 < bid < 2150, note
    assert F.unit_metrics(cheap, replace(unit, sli_bid=bid))["npv"] == pytest.approx(0, abs=1e-3)


def test_no_breakeven_within_the_caps_is_said(base):
    s, _, ctx = base
    bid, note = F.breakeven_sli(ctx, F.unit_specs(s)[0])
    assert bid is None
    # at grade prices (~₹6,250/kg) 40 % of sales exceeds the ₹2,150/kg cap: the cap binds
    assert "no breakeven within the caps" in note and "effectively ₹2,150/kg" in note


def test_breakeven_price(base):
    s, _, ctx = base
    unit = F.unit_specs(s)[0]
    price, note = F.breakeven_price(ctx, unit)
    k = price / F.first_price(ctx, unit)
    assert f"₹{F.first_price(ctx, unit):,.0f}/kg" in note
    assert F.unit_metrics(ctx, unit, F.Levers(price=k))["npv"] == pytest.approx(0, abs=1e-3)


def test_outlay_sums_units_and_flags_a_breach(base):
    s, _, ctx = base
    units = F.unit_specs(s)
    out = F.outlay(ctx, units)
    each = sum(F.cash_flows(ctx, u)[["sli", "capital_subsidy"]].values.sum() for u in units)
    assert out["total"].sum() == pytest.approx(each)
    assert not F.outlay_check(ctx, out)["breach"]
    tight = replace(ctx, scenario=load_scenario("india-baseline", ["scheme.outlay=1000"]).scenario)
    assert F.outlay_check(tight, F.outlay(tight, units))["breach"]


def test_finance_json_shape():
    r = run_cli(["finance", "--unit", "1200", "--sli-bid", "1800 INR/kg", "--json"])
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "finance" and obj["run_id"]
    assert obj["units"][0]["capacity"] == 1200 and obj["units"][0]["sli_bid"] == 1800
    assert all(
        set(o) == {"year", "value", "unit"} and o["unit"] == "crore INR" for o in obj["outlay"]
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--set", "economics.oxide_prices.dy_oxide.2025=-5"],
            "economics.oxide_prices.dy_oxide",
        ),
        (["--set", "economics.magnet_cost.conversion.n=-1"], "economics.magnet_cost.conversion"),
        (["--set", "economics.magnet_cost.conversion.h=20"], "unknown grade 'h'"),
        (["--set", "economics.oxide_prices.ndpr_oxide=null"], "missing 'ndpr_oxide'"),
        (["--set", "economics.finance.magnet_price.2025=6300"], "magnet_price is replaced by"),
        (["--set", "economics.finance.discount_rate=-1"], "economics.finance.discount_rate"),
        (["--unit", "1300"], "--unit"),
        (["--unit", "650"], "--unit"),
        (["--set", "supply.units.0.capacity=650"], "supply.units.0.capacity"),
        (["--sli-bid", "2500 INR/kg"], "--sli-bid"),
        (["--sli-bid", "2 kg"], "--sli-bid"),
        (["--breakeven", "cost"], "--breakeven"),
    ],
)
def test_bad_finance_input(args, needle):
    r = run_cli(["finance", *args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr


def test_buyer_incentive_reaches_the_maker_by_its_pass_through_share():
    from repm.model.facts import load_facts

    f = load_facts()
    loaded = load_scenario("india-buyer-incentive")
    chain, results = run_scenario(loaded, step="yearly")
    ctx = F.context(loaded.scenario, chain, results)
    unit = F.unit_specs(loaded.scenario)[0]
    with_support = F.cash_flows(ctx, unit)
    without = F.cash_flows(replace(ctx, incentive_price=np.zeros(len(ctx.years))), unit)
    support = f.value("consumer_incentive_per_kg") * f.value("consumer_incentive_pass_through")
    on = (with_support["year"] >= 2029) & (with_support["year"] <= 2035)
    kg = with_support["production"] * 1000
    extra = (with_support["revenue"] - without["revenue"]) * 1e7  # INR
    np.testing.assert_allclose(extra[on], kg[on] * support, rtol=1e-12)
    assert (extra[~on] == 0).all() and extra[on].min() > 0


def test_route_costs_are_the_runs_cost_indicators():
    loaded = load_scenario("india-overseas-mines")
    _, results = run_scenario(loaded, step="yearly")
    costs = F.route_costs(results)
    assert list(costs.columns) == ["year", "overseas_cost"]  # no tolling, no buyer support here
    # from the first year the units use overseas oxide (IREL's, kept home, goes first)
    assert costs["year"].min() >= 2028
    for r in costs.itertuples():
        assert r.overseas_cost == pytest.approx(results.value("overseas_cost", int(r.year)))
    # the stake's equity is paid the year before Malawi's first output (2030)
    from repm.model.facts import load_facts

    assert results.value("overseas_cost", 2029) >= load_facts().value("stake_malawi_equity")


def test_sli_cut_by_sales_cap_only_when_the_40_percent_rule_pays_less_than_the_bid(base):
    """The flag looks at the SLI window alone (outside it the SLI is 0 by design, not cut)."""
    s, _, ctx = base
    unit = F.unit_specs(s)[0]
    low = F.unit_metrics(ctx, replace(unit, sli_bid=100.0))  # 100 ₹/kg: far below 40 % of sales
    assert low["sli_cut_by_sales_cap"] is False
    df = low["cash_flows"]
    assert df["sli"].sum() == pytest.approx(
        sum(df["production"][df["sli"] > 0]) * 1000 * 100.0 / 1e7
    )
    cheap = F.unit_metrics(ctx, replace(unit, sli_bid=2150.0), F.Levers(price=0.05))
    assert cheap["sli_cut_by_sales_cap"] is True  # sales at 5 % of the price: 40 % of them < bid
