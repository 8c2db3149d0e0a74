"""Markets for Indian magnets: each sector buys its own share bare (issue 12 part 4)."""

from __future__ import annotations

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.errors import UserError
from repm.model.facts import load_facts
from repm.scenario import load_scenario

F = load_facts()


@pytest.fixture(scope="module")
def chain():
    return compile_chain(load_scenario("india-baseline").scenario)


def test_sector_bare_shares_are_scaled_to_the_sourced_bare_total_by_hand(chain):
    """2025 (base year, no localisation yet): sector s buys D_s × β_s × 870 / Σ β D bare."""
    dem = chain.demand_total.sel(year=2025)
    beta = {s: F.value(f"bare_share_{s}") for s in chain.sectors}
    implied = sum(beta[s] * float(dem.sel(sector=s)) for s in chain.sectors)
    bare_total = F.value("india_ndfeb_imports_fy25_et")
    assert implied == pytest.approx(bare_total, rel=0.05)  # the assumed shares nearly give 870 t
    bare = chain.demand_bare.sel(year=2025).sum("grade")
    for s in chain.sectors:
        expected = float(dem.sel(sector=s)) * beta[s] * bare_total / implied
        assert float(bare.sel(sector=s)) == pytest.approx(expected, rel=1e-12)
    assert float(bare.sum()) == pytest.approx(bare_total, rel=1e-12)
    # e-2W makers buy more of their magnets bare than electronics or wind makers do
    share = bare / dem
    assert float(share.sel(sector="e2w")) > 2 * float(share.sel(sector="electronics"))
    assert float(share.sel(sector="e2w")) > 5 * float(share.sel(sector="wind"))


def test_a_sector_can_localise_on_its_own_path():
    base = compile_chain(load_scenario("india-baseline").scenario)
    fast = compile_chain(
        load_scenario(
            "india-baseline", ["demand.channels.localization_by_sector.e2w.2030=1"]
        ).scenario
    )
    b0 = base.demand_bare.sel(year=2030).sum("grade")
    b1 = fast.demand_bare.sel(year=2030).sum("grade")
    # e-2W buys everything bare in 2030; the other sectors are untouched
    total = float((fast.demand_bare + fast.demand_embedded).sel(year=2030, sector="e2w").sum())
    assert float(b1.sel(sector="e2w")) == pytest.approx(total, rel=1e-12)
    others = [s for s in base.sectors if s != "e2w"]
    np.testing.assert_allclose(b1.sel(sector=others).values, b0.sel(sector=others).values)


@pytest.mark.parametrize(
    ("sets", "needle"),
    [
        (["demand.channels.bare_share.drones=0.1"], "unknown sector .*'drones'"),
        (["demand.channels.bare_share.wind=1.5"], "demand.channels.bare_share.wind"),
        (["demand.channels.bare_share.e2w=null"], "no bare share for sector 'e2w'"),
        # only defence buys bare: 540 t is 4.5 × its 120 t, more than it buys at all
        ([f"demand.channels.bare_share.{s}=0" for s in ("ev_car", "e2w", "e3w", "wind",
          "electronics", "industrial")], "more than the sectors with a bare share buy"),
    ],
)  # fmt: skip
def test_bad_bare_shares_are_one_line_errors(sets, needle):
    with pytest.raises(UserError, match=needle):
        compile_chain(load_scenario("india-baseline", sets).scenario)


def test_a_sector_scaled_past_all_bare_buys_all_bare_and_the_rest_is_shared():
    """Water-filling: a sector whose share, scaled to the channel's level, passes 100 % buys all
    its magnets bare; the rest of bare_base is split among the others by their shares."""
    sets = [f"demand.channels.bare_share.{n}={v}" for n, v in
            (("defence", 1.0), ("wind", 0.9), ("e2w", 0.02), ("ev_car", 0.05), ("e3w", 0.02))]  # fmt: skip
    chain = compile_chain(load_scenario("india-baseline", sets).scenario)
    sc = load_scenario("india-baseline", sets).scenario
    y = chain.base_year
    bare = chain.demand_bare.sel(year=y).sum("grade").to_series()
    total = (chain.demand_bare + chain.demand_embedded).sel(year=y).sum("grade").to_series()
    beta = bare / total
    raw = sc.demand.channels.bare_share
    # by hand: with every share as given, defence and wind would pass 100 %
    plain = {n: raw[n] * sc.demand.channels.bare_base / sum(raw[m] * total[m] for m in total.index)
             for n in total.index}  # fmt: skip
    assert plain["defence"] > 1 and plain["wind"] > 1
    assert beta["defence"] == pytest.approx(1.0, rel=1e-12)
    assert beta["wind"] == pytest.approx(1.0, rel=1e-12)
    assert float(bare.sum()) == pytest.approx(sc.demand.channels.bare_base, rel=1e-9)
    rest = [n for n in total.index if n not in ("defence", "wind") and raw[n] > 0]
    ratios = {n: beta[n] / raw[n] for n in rest}  # the others keep their shares' proportions
    assert max(ratios.values()) == pytest.approx(min(ratios.values()), rel=1e-12)
    assert all(beta[n] < 1 for n in rest)


# --- buyers abroad: a unit's sales are not capped only by India's bare channel -------------------

EXPORTS = [
    "demand.exports.tonnes.2028=0",
    "demand.exports.tonnes.2032=1500",
    "demand.exports.grade_mix.gbd=1",
    "demand.exports.premium=0.1",
]


@pytest.fixture(scope="module")
def with_exports():
    from repm.results.build import run_scenario

    base = run_scenario(load_scenario("india-baseline"), step="yearly")
    more = run_scenario(load_scenario("india-baseline", EXPORTS), step="yearly")
    return base, more


def test_exports_take_only_the_capacity_indias_buyers_leave(with_exports):
    (chain0, base), (chain, more) = with_exports
    for y in (2030, 2031, 2032, 2033):
        X = float(chain.export_demand.sel(year=y).sum())
        spare = float(chain.capacity.sel(year=y).sum()) - base.value(
            "magnet_production_domestic", y
        )
        assert more.value("magnet_exports", y) == pytest.approx(min(X, max(spare, 0.0)), rel=1e-9)
        # India's buyers are served exactly as before
        assert more.value("self_sufficiency", y) == pytest.approx(
            base.value("self_sufficiency", y), rel=1e-12
        )
    # by 2035 India's own buyers take the whole 6,003 t/yr: nothing is left to export (2033 while
    # every sector localised on one path; with the sector paths the bare channel fills it later)
    cap_2035 = float(chain.capacity.sel(year=2035).sum())
    assert base.value("magnet_production_domestic", 2035) == pytest.approx(cap_2035)
    assert more.value("magnet_exports", 2035) == 0.0
    assert more.value("magnet_exports", 2032) > 500  # (path: 1,500 t in 2032)
    # the mass balance books them, element by element, out of the magnet stage
    fl = more.data.flows.isel(draw=0).sel(flow="magnet_exports", year=2032)
    gbd = chain.grade_comp.sel(grade="gbd")
    np.testing.assert_allclose(fl.values, more.value("magnet_exports", 2032) * gbd.values)
    assert float(np.abs(more.data.residual).max()) < 1e-6
    assert base.value("magnet_exports", 2032) == 0.0  # none unless a scenario sets them


def test_a_unit_sells_its_exports_at_the_grade_price_plus_the_premium(with_exports):
    from repm.analyses import finance as F

    (chain0, base), (chain, more) = with_exports
    s0 = load_scenario("india-baseline").scenario
    s1 = load_scenario("india-baseline", EXPORTS).scenario
    ctx0, ctx1 = F.context(s0, chain0, base), F.context(s1, chain, more)
    unit = F.unit_specs(s1)[0]
    df0, df1 = F.cash_flows(ctx0, unit), F.cash_flows(ctx1, unit)
    row = df1[df1["year"] == 2031].iloc[0]
    i = list(chain.years).index(2031)
    total = more.value("magnet_production_domestic", 2031)
    abroad = more.value("magnet_exports", 2031) / total  # share of output sold abroad
    home = ctx1.grade_mix[i] - ctx1.export_mix[i]
    price = (
        home @ chain.magnet_price.values[i]
        + abroad * float(chain.magnet_price.sel(grade="gbd").values[i]) * 1.1
    )
    assert row.price == pytest.approx(price, rel=1e-12)
    # more output (the spare capacity sold abroad) at a premium: the unit is worth more
    assert F.unit_metrics(ctx1, unit)["npv"] > F.unit_metrics(ctx0, unit)["npv"]
    assert (df1["production"] >= df0["production"] - 1e-9).all()


def test_the_sli_is_paid_on_the_share_of_exports_the_scenario_sets(with_exports):
    """demand.exports.sli_share: 1 (the default) pays the SLI on exports as on sales in India;
    0 pays it on what is sold in India only. Sales, costs and the engine's run are the same."""
    from repm.analyses import finance as F

    (chain0, base), (chain, more) = with_exports
    s1 = load_scenario("india-baseline", EXPORTS).scenario
    s0 = load_scenario("india-baseline", [*EXPORTS, "demand.exports.sli_share=0"]).scenario
    ctx1, ctx0 = F.context(s1, chain, more), F.context(s0, chain, more)
    unit = F.unit_specs(s1)[0]
    df1, df0 = F.cash_flows(ctx1, unit), F.cash_flows(ctx0, unit)
    for c in ("production", "revenue", "feed", "opex", "capex"):
        np.testing.assert_array_equal(df1[c].values, df0[c].values)
    np.testing.assert_allclose(df1.attrs["sli_t"], df1["production"].values, rtol=1e-12)
    years = df0["year"].values
    idx = np.clip(years - chain.years[0], 0, len(chain.years) - 1)
    abroad = ctx0.export_mix[idx].sum(axis=1)  # share of output sold abroad
    assert abroad[years == 2031][0] > 0.1
    np.testing.assert_allclose(df0.attrs["sli_t"], df0["production"].values * (1 - abroad),
                               rtol=1e-12)  # fmt: skip
    # in the SLI years, bid × the t it is paid on (neither the 40 % nor the total cap binds)
    w = (years >= unit.first_year) & (years < unit.first_year + s0.scheme.sli_years)
    np.testing.assert_allclose(
        df0["sli"].values[w],
        unit.sli_bid * np.asarray(df0.attrs["sli_t"])[w] * 1e3 / 1e7,
        rtol=1e-12,
    )
    m1, m0 = F.unit_metrics(ctx1, unit), F.unit_metrics(ctx0, unit)
    assert m0["npv"] < m1["npv"] and m0["sli_total"] < m1["sli_total"]


def test_feed_for_exported_magnets_is_not_in_indias_china_content(with_exports):
    """China's content and India's own (mined here) are both shares of the rare earths in the
    magnets India uses: together at most all of it (~0.3 % more in the baseline's 2034, where the
    year's feed imports and its output differ by what went into working stock). The units' feed
    from China also made the magnets sold abroad; counted whole, it took the two to 109 % in 2031
    and China's share to 100 % in 2032–2033 here."""
    (_, base), (_, more) = with_exports
    for res in (base, more):
        for y in range(2028, 2036):
            total = res.value("china_content_share", y) + res.value("domestic_content_share", y)
            assert total <= 1.01, y
    assert more.value("magnet_exports", 2032) > 1000
    assert more.value("china_content_share", 2032) < 0.95


def test_the_planner_builds_for_buyers_abroad_only_when_they_pay(tmp_path):
    from repm.analyses.optimize import optimize

    path = tmp_path / "small.yaml"
    path.write_text(
        "extends: india-baseline\nhorizon: {start: 2025, end: 2030}\n"
        "demand: {channels: {localization: {2035: null}}}\nsupply: {units: []}\n"
        "risk: {events: [], demand_growth_sd: 0}\nroutes: null\n"
    )
    abroad = ["demand.exports.tonnes.2025=1000", "demand.exports.grade_mix.gbd=1"]

    def built(sets):
        loaded = load_scenario(str(path), sets)
        return optimize(loaded.scenario, compile_chain(loaded.scenario)).capacity

    none = built([])
    rich = built([*abroad, "demand.exports.premium=0.3"])
    poor = built([*abroad, "demand.exports.premium=-0.5"])
    assert float(rich.loc[2025]) > float(none.loc[2025]) + 100  # builds to sell abroad
    np.testing.assert_allclose(poor.values, none.values, atol=1e-6)  # at half price: no
