"""The engine: calibration, capacity, mass balance, invariants and hand-computed shortage cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repm.chain import compile_chain
from repm.model import default_definition
from repm.model.facts import load_facts
from repm.results.build import build_results, run_scenario
from repm.scenario import load_scenario
from repm.simulate.engine import STEPS_PER_YEAR, simulate
from repm.simulate.shocks import Shocks

MATERIALS = default_definition().material_names
SECTORS = default_definition().sectors

YEARS = list(range(2024, 2036))
MAGNETS = tuple(m for m in MATERIALS if m.startswith(("magnet_", "embedded_")))

# hand values from the fact table's central values
CHINA_MAGNET_SHARE = (0.848 + 0.904) / 2  # 0.876, china_share_magnet_imports (range midpoint)
DEMAND_2025, BARE_2025 = 4010.0, 540.0  # india_magnet_demand_2025; the ban's bare channel (set)
VIZAG = 3.0  # irel_vizag_repm_capacity, the only plant producing in 2025


@pytest.fixture(scope="module")
def baseline():
    loaded = load_scenario("india-baseline")
    chain = compile_chain(loaded.scenario)
    out = simulate(chain, step="monthly")
    return chain, out, build_results(chain, out)


def _series(res, name, **dims):
    return np.array([res.value(name, y, **dims) for y in YEARS])


# (a) -------------------------------------------------------------------------------------------
def test_baseline_demand_is_calibrated_to_the_anchors(baseline):
    _, _, res = baseline
    assert res.value("magnet_demand", 2025) == pytest.approx(4010, rel=1e-9)
    assert res.value("magnet_demand", 2030) == pytest.approx(8220, rel=1e-9)
    # geometric in between: 4010 × (8220/4010)^(3/5) in 2028; +10 %/yr after 2030
    assert res.value("magnet_demand", 2028) == pytest.approx(4010 * (8220 / 4010) ** 0.6, rel=1e-9)
    assert res.value("magnet_demand", 2031) == pytest.approx(8220 * 1.10, rel=1e-9)
    # sectors add up to the total
    by_sector = sum(res.value("magnet_demand", 2030, sector=s) for s in SECTORS)
    assert by_sector == pytest.approx(8220, rel=1e-9)


def test_2025_sector_split_by_hand(baseline):
    chain, _, _ = baseline
    expected = _sector_demand_2025()
    for s, t in expected.items():
        assert float(chain.demand_total.sel(year=2025, sector=s)) == pytest.approx(t, rel=1e-9), s


# (b) -------------------------------------------------------------------------------------------
def test_capacity_reaches_6000_t_in_2032(baseline):
    _, _, res = baseline
    cap = dict(zip(YEARS, _series(res, "magnet_capacity"), strict=True))
    # five 1,200 t units awarded 2026 + 2 yr gestation → first year 2028, 5-year linear ramp,
    # plus IREL's 3 t Vizag plant: 2028 1,203; 2031 4 × 1,200 + 3 = 4,803; 2032 6,003
    assert cap[2031] < 6000 <= cap[2032]
    assert cap[2027] == pytest.approx(3)
    assert cap[2028] == pytest.approx(1203)
    assert cap[2031] == pytest.approx(4803)
    assert cap[2032] == pytest.approx(6003)


# (c) -------------------------------------------------------------------------------------------
def test_no_scheme_only_irel_vizag_produces():
    _, res = run_scenario(load_scenario("india-no-scheme"), step="monthly")
    prod = _series(res, "magnet_production_domestic")
    assert np.all(prod <= VIZAG + 1e-9)
    assert prod.max() == pytest.approx(VIZAG)  # the plant does run
    assert _series(res, "magnet_capacity") == pytest.approx(np.full(len(YEARS), VIZAG))


# (d) -------------------------------------------------------------------------------------------
def test_same_scenario_twice_gives_identical_indicators():
    _, r1 = run_scenario(load_scenario("india-baseline"), step="monthly")
    _, r2 = run_scenario(load_scenario("india-baseline"), step="monthly")
    pd.testing.assert_frame_equal(r1.indicators, r2.indicators, check_exact=True)


# (e) -------------------------------------------------------------------------------------------
def test_monthly_and_yearly_agree_without_shocks(baseline):
    chain, _, monthly = baseline
    yearly = build_results(chain, simulate(chain, step="yearly"))
    for name in ("magnet_demand", "magnet_production_domestic", "ndpr_oxide_required"):
        np.testing.assert_allclose(
            _series(monthly, name), _series(yearly, name), rtol=1e-9, err_msg=name
        )


def test_monthly_and_yearly_imports_agree_without_working_stock():
    # working stock is rebuilt over months, so its imports depend on the step; without it the
    # annual imports are the same at either step
    loaded = load_scenario(
        "india-baseline",
        [
            "policy.working_stock_months=0",
            "policy.sector_working_stock_months.ev_car=0",
            "policy.sector_working_stock_months.wind=0",
            "policy.sector_working_stock_months.industrial=0",
        ],
    )
    chain, monthly = run_scenario(loaded, step="monthly")
    _, yearly = run_scenario(loaded, step="yearly")
    for name in (
        "magnet_demand",
        "magnet_production_domestic",
        "magnet_imports",
        "ndpr_oxide_required",
    ):
        np.testing.assert_allclose(
            _series(monthly, name), _series(yearly, name), rtol=1e-9, err_msg=name
        )


# (f) -------------------------------------------------------------------------------------------
def test_baseline_mass_balance_closes(baseline):
    _, out, res = baseline
    assert float(np.abs(out.data.residual).max()) < 1e-6
    assert _series(res, "mass_balance_residual").max() < 1e-6


def test_mass_balance_check_detects_a_leak(baseline):
    """The residual is a real check: drop the magnet-import flow and the `use` process is off by
    exactly that flow's element tonnage, and no other process moves."""
    from repm.simulate.engine import mass_balance

    chain, out, _ = baseline
    leaky = out.data.copy(deep=True)
    leaky["flows"].loc[{"flow": "magnet_imports"}] = 0.0
    mc, gc = chain.material_comp.values, chain.grade_comp.values
    stock0 = np.zeros((1, len(MATERIALS)))
    in_use0 = np.zeros((1, len(SECTORS), len(chain.grades)))  # 2 grades read past its end once
    with pytest.raises(ValueError, match="in_use0 has shape"):
        mass_balance(out.data, stock0, np.zeros((1, len(SECTORS), 2)), mc, gc)
    diff = mass_balance(out.data, stock0, in_use0, mc, gc) - mass_balance(
        leaky, stock0, in_use0, mc, gc
    )
    dropped = out.data.flows.sel(flow="magnet_imports")
    np.testing.assert_allclose(
        diff.sel(process="use").values, dropped.values, rtol=1e-12, atol=1e-12
    )
    assert float(dropped.sum()) > 100.0
    assert float(np.abs(diff.drop_sel(process="use")).max()) == 0.0


# (g) -------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    growth_after=st.floats(-0.05, 0.30),
    sector_growth=st.lists(st.floats(0.0, 0.30), min_size=len(SECTORS), max_size=len(SECTORS)),
    loc2030=st.floats(0.0, 1.0),
    loc2035=st.floats(0.0, 1.0),
    capacities=st.lists(st.integers(6, 12).map(lambda n: n * 100.0), min_size=5, max_size=5),
    rampups=st.lists(st.floats(0.5, 8.0), min_size=5, max_size=5),
    feeds=st.lists(st.sampled_from(["oxide", "metal", "alloy"]), min_size=5, max_size=5),
    swarf_return=st.floats(0.0, 0.9),
    collection=st.floats(0.0, 1.0),
    stockpile=st.floats(0.0, 500.0),
    draws=st.integers(1, 3),
    zero_frac=st.floats(0.0, 0.5),
    step=st.sampled_from(["monthly", "yearly"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_under_random_scenarios_and_shocks(
    growth_after, sector_growth, loc2030, loc2035, capacities, rampups, feeds, swarf_return,
    collection, stockpile, draws, zero_frac, step, seed,
):  # fmt: skip
    sets = [
        f"demand.growth_after_anchors={growth_after}",
        f"demand.channels.localization.2030={loc2030}",
        f"demand.channels.localization.2035={loc2035}",
        f"supply.yields.swarf_return={swarf_return}",
        f"supply.recycling.collection_rate={collection}",
        f"policy.stockpile.magnet_uh={stockpile}",
        f"policy.stockpile.ndpr_oxide={stockpile}",
    ]
    sets += [f"demand.sectors.{s}.growth={g}" for s, g in zip(SECTORS, sector_growth, strict=True)]
    for i in range(5):
        sets += [
            f"supply.units.{i}.capacity={capacities[i]}",
            f"supply.units.{i}.rampup_years={rampups[i]}",
            f"supply.units.{i}.feed={feeds[i]}",
        ]
    chain = compile_chain(load_scenario("india-baseline", sets).scenario)
    rng = np.random.default_rng(seed)
    steps = STEPS_PER_YEAR[step] * chain.n_years
    avail = rng.uniform(0, 1, (draws, steps, len(chain.origins), len(MATERIALS)))
    avail[rng.uniform(0, 1, avail.shape) < zero_frac] = 0.0  # some full bans too
    ds = simulate(chain, shocks=Shocks(availability=avail), step=step).data

    assert ds.sizes["draw"] == draws
    assert float(np.abs(ds.residual).max()) < 1e-6
    unmet, served = ds.unmet.values, ds.served.values
    assert unmet.min() >= 0.0
    assert served.min() >= 0.0
    # what each draw demanded is served or unmet; makers who switch grades in an episode
    # (risk.grade_switch) move demand between grades, never the sector's total
    np.testing.assert_allclose(served + unmet, ds.demand.values, rtol=0, atol=1e-6)
    demand = (ds.demand_bare + ds.demand_embedded).values  # year × sector × grade
    np.testing.assert_allclose(
        ds.demand.sum("grade").values,
        np.broadcast_to(demand.sum(axis=-1), unmet.shape[:-1]),
        rtol=1e-12, atol=1e-9,
    )  # fmt: skip
    # production within capacity, stocks never negative
    prod = ds.production.sum("grade").values  # draw × year × feed
    assert np.all(prod <= chain.capacity.values[None] + 1e-6)
    assert ds.stockpile_level.values.min() >= -1e-9
    assert ds.imports.values.min() >= -1e-12


# (h)(i)(k) a one-year Chinese magnet ban --------------------------------------------------------
def _sector_demand_2025() -> dict[str, float]:
    """2025 demand by sector from the facts (2025 is the base year, so calibration is 1)."""
    f = load_facts()
    out = {
        "ev_car": f.value("ev_car_sales_fy25")
        * f.value("ev_car_magnet_kg")
        / 1000,  # 110,748 × 1.5 kg
        "e2w": f.value("e2w_sales_fy25") * f.value("e2w_magnet_kg") / 1000,  # 1,149,334 × 0.69 kg
        "e3w": f.value("e3w_sales_fy25") * f.value("e3w_magnet_kg") / 1000,  # 159,235 × 1.0 kg
        # 4,151 MW × 0.3485 t/MW of PM units × 13 % PM generators = 188.0 t (test_wind.py)
        "wind": f.value("wind_additions_fy25")
        * f.value("wind_magnet_t_per_mw")
        * f.value("wind_pmg_share_india"),
        "electronics": f.value("electronics_share_of_demand") * DEMAND_2025,  # 30 % × 4,010
        "defence": f.value("defence_share_of_demand") * DEMAND_2025,  # 3 % × 4,010 = 120.3
    }
    out["industrial"] = DEMAND_2025 - sum(out.values())  # the residual sector
    return out


def _grade_bare_2025(grade: str = "uh") -> float:
    """Bare-channel demand for one grade class in 2025: the bare channel is 540/4,010 of every
    sector's demand (no localisation yet), of which the sector's share of that grade."""
    f = load_facts()
    return (
        sum(t * f.value(f"grade_mix_{s}_{grade}") for s, t in _sector_demand_2025().items())
        * BARE_2025
        / DEMAND_2025
    )


@pytest.fixture(scope="module")
def ban_scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ban") / "no-spare.yaml"
    # no origin can add supply, and buyers hold no working stock to bridge the ban
    path.write_text(
        "extends: india-baseline\ntrade:\n  spare: null\npolicy:\n  working_stock_months: 0\n  sector_working_stock_months: {ev_car: 0, wind: 0, industrial: 0}\n"
        # one bare share for every sector (540/4,010), as the hand calculations take it
        "demand:\n  channels:\n    bare_base: 540\n    bare_share: null\n    bare_grade_mix: null\n"
        # the stockpile may be drawn in 2025, when the hand case bans; no grade switch in it
        "risk:\n  as_of: null\n  grade_switch: null\n"
    )
    return path


def _china_magnet_ban_2025(chain, step: str) -> Shocks:
    spy = STEPS_PER_YEAR[step]
    avail = np.ones((1, spy * chain.n_years, len(chain.origins), len(MATERIALS)))
    first = (2025 - int(chain.years[0])) * spy
    o = chain.origins.index("China")
    m = [MATERIALS.index(x) for x in MAGNETS]
    avail[0, first : first + spy, o, m] = 0.0  # 2025 only
    return Shocks(availability=avail)


def _ban_run(path: Path, sets=(), step="monthly"):
    chain = compile_chain(load_scenario(str(path), list(sets)).scenario)
    assert float(chain.spare.sum()) == 0.0  # no origin can make up for China
    out = simulate(chain, shocks=_china_magnet_ban_2025(chain, step), step=step)
    return chain, out, build_results(chain, out)


@pytest.mark.parametrize("step", ["monthly", "yearly"])
def test_china_magnet_ban_unmet_by_hand(ban_scenario, step):
    chain, out, res = _ban_run(ban_scenario, step=step)
    assert float(chain.spare.sum()) == 0.0
    # 2025 magnet imports: bare 540 − 3 t Vizag + embedded (4,010 − 540) = 4,007 t;
    # China's 87.6 % of them is lost: 0.876 × 4,007 = 3,510.132 t
    imports_2025 = (BARE_2025 - VIZAG) + (DEMAND_2025 - BARE_2025)
    assert res.value("magnet_production_domestic", 2025) == pytest.approx(VIZAG)
    assert res.value("unmet_demand", 2025) == pytest.approx(
        CHINA_MAGNET_SHARE * imports_2025, rel=1e-9
    )
    assert res.value("magnet_imports", 2025) == pytest.approx(
        (1 - CHINA_MAGNET_SHARE) * imports_2025, rel=1e-9
    )
    assert res.value("magnet_imports", 2025, origin="China") == pytest.approx(0.0, abs=1e-9)
    # the ban is for 2025 only
    assert res.value("unmet_demand", 2024) == pytest.approx(0.0, abs=1e-6)
    assert res.value("unmet_demand", 2026) == pytest.approx(0.0, abs=1e-6)
    assert float(np.abs(out.data.residual).max()) < 1e-6


@pytest.mark.parametrize("stockpile", [100.0, 10_000.0])
@pytest.mark.parametrize("fit", [None, 1.0, 0.3])
def test_magnet_stockpile_cuts_unmet_by_min_of_stock_and_h_shortfall(ban_scenario, stockpile, fit):
    """A stockpile of finished magnets serves only the share of a grade's shortfall it was made
    for (policy.magnet_stockpile_fit; the baseline's fact when None): the cut is
    min(stock, fit × shortfall), and no more however large the stock (issue 13 part 6)."""
    _, _, without = _ban_run(ban_scenario)
    assert float(compile_chain(load_scenario(str(ban_scenario)).scenario).stockpile0.sum()) == 0.0
    sets = [f"policy.stockpile.magnet_uh={stockpile}"]
    if fit is not None:
        sets.append(f"policy.magnet_stockpile_fit={fit}")
    chain, out, with_stock = _ban_run(ban_scenario, sets)
    f = load_facts().value("magnet_stockpile_fit") if fit is None else fit
    assert float(chain.stockpile_fit.sel(material="magnet_uh")) == f
    assert float(chain.stockpile_fit.sel(material="ndpr_oxide")) == 1.0  # feed serves any unit
    # uh-grade bare shortfall: China's share of uh-grade bare imports; Vizag's 3 t are split over
    # grades in proportion to bare demand, so uh-grade imports are A_uh × (1 − 3/540)
    a_h = _grade_bare_2025("uh")
    assert float(chain.demand_bare.sel(year=2025, grade="uh").sum()) == pytest.approx(a_h, rel=1e-9)
    shortfall_h = CHINA_MAGNET_SHARE * a_h * (1 - VIZAG / BARE_2025)
    cut = without.value("unmet_demand", 2025) - with_stock.value("unmet_demand", 2025)
    assert cut == pytest.approx(min(stockpile, f * shortfall_h), rel=1e-9)
    # what is not drawn stays in the stockpile at the end of the year
    left = float(out.data.stockpile_level.sel(year=2025, material="magnet_uh").isel(draw=0))
    assert left == pytest.approx(stockpile - min(stockpile, f * shortfall_h), rel=1e-9, abs=1e-9)


def test_ban_serves_defence_first(ban_scenario):
    chain, out, res = _ban_run(ban_scenario)
    # defence: 3 % × 4,010 = 120.3 t, bare 120.3 × 540/4,010 = 16.2 t, embedded 104.1 t, split
    # over the grades by its mix; it takes first what still arrives in each grade and channel,
    # so it is short only where that is less than its own need
    f = load_facts()
    defence = 0.03 * DEMAND_2025
    short = 0.0
    for g in chain.grades:
        mix = f.value(f"grade_mix_defence_{g}")
        defence_bare = defence * BARE_2025 / DEMAND_2025 * mix
        defence_emb = defence * (1 - BARE_2025 / DEMAND_2025) * mix
        a_g = _grade_bare_2025(g)
        bare_supply = VIZAG * a_g / BARE_2025 + (1 - CHINA_MAGNET_SHARE) * a_g * (
            1 - VIZAG / BARE_2025
        )
        emb_supply = (1 - CHINA_MAGNET_SHARE) * a_g * (DEMAND_2025 - BARE_2025) / BARE_2025
        short += max(defence_bare - bare_supply, 0.0) + max(defence_emb - emb_supply, 0.0)
    # the UH grade in sub-assemblies: 17.3 t short (0.5 t when wind took 488 t in 2025; at 184 t
    # wind, 55 % UH, buys less UH, so less of it arrives from outside China)
    assert 10.0 < short < 25.0
    assert res.value("unmet_demand", 2025, sector="defence") == pytest.approx(short, rel=1e-9)
    for s in SECTORS:
        if s != "defence":
            assert res.value("unmet_demand", 2025, sector=s) > 1.0, s
    assert res.value("unmet_demand", 2025) == pytest.approx(
        sum(res.value("unmet_demand", 2025, sector=s) for s in SECTORS)
    )


def test_without_priority_defence_is_short_too(ban_scenario):
    """The priority rule is what protects defence: with no tiers it is cut pro rata."""
    flat = ban_scenario.parent / "flat.yaml"
    flat.write_text(f"extends: {ban_scenario.name}\npolicy:\n  sector_priority: []\n")
    _, _, res = _ban_run(flat)
    assert res.value("unmet_demand", 2025, sector="defence") > 1.0


# (j) -------------------------------------------------------------------------------------------
def test_thorium_residue_by_hand(baseline):
    _, _, res = baseline
    th_per_tho2 = 232.0377 / (232.0377 + 2 * 15.999)  # 0.87881
    tho2 = (0.06 + 0.11) / 2  # 8.5 % ThO2 in monazite (monazite_tho2_fraction midpoint)
    # monazite cracked: USGS's 2,900 t REO mined in 2024 ÷ 57.5 % REO, held flat; IREL's NdPr
    # plan (500 t from 2027) needs 500 / (0.50 × 0.23 × 0.95) = 4,577 t, less than that
    monazite = 2900 / 0.575
    for y in YEARS:
        assert res.value("monazite_processed", y) == pytest.approx(monazite, rel=2e-4)
        assert res.value("thorium_residue", y) == pytest.approx(
            res.value("monazite_processed", y) * tho2 * th_per_tho2, rel=1e-9
        )
    assert res.value("thorium_residue", 2027) == pytest.approx(376.71, abs=0.1)


def test_partial_feed_shortage_keeps_the_books_closed(ban_scenario):
    """Regression: when an origin was restricted, the units' feed imports were re-ordered at the
    reduced quantity, so origins offered their share of less than was first asked for; the gap
    was consumed but never imported (an oxide_market residual of hundreds of tonnes)."""
    chain = compile_chain(load_scenario(str(ban_scenario)).scenario)
    avail = np.ones((1, 1, len(chain.origins), len(MATERIALS)))
    avail[0, 0, chain.origins.index("China"), MATERIALS.index("ndpr_oxide")] = 0.5  # every step
    shocked = simulate(chain, shocks=Shocks(availability=avail), step="yearly").data
    free = simulate(chain, step="yearly").data
    # feed runs short, so the units make less (Leontief) ...
    made = shocked.production.sel(year=2032).sum().item()
    assert made < free.production.sel(year=2032).sum().item() - 100
    # ... and every tonne of NdPr oxide they use was obtained: IREL, recycled stock or imports
    ox = shocked.flows.sel(flow=["oxide_to_metal"], element=["Nd", "Pr"]).sum().item()
    ox_in = (
        shocked.flows.sel(flow=["oxide_imports", "oxide_stockpile_release"], element=["Nd", "Pr"])
        .sum()
        .item()
    )
    assert ox_in > 0 and ox > ox_in  # IREL and recycling supply the rest
    assert float(np.abs(shocked.residual).max()) < 1e-6


def test_hhi_by_hand():
    from repm.results.sourcing import hhi

    assert hhi(np.array([5.0])) == pytest.approx(1.0)
    assert hhi(np.array([0.0, 7.0, 0.0])) == pytest.approx(1.0)
    for n in (2, 4, 8):
        assert hhi(np.full(n, 3.0)) == pytest.approx(1 / n)
    assert hhi(np.array([0.876, 0.124])) == pytest.approx(0.876**2 + 0.124**2)
    assert hhi(np.zeros(3)) == 0.0


def test_import_dependence_is_zero_without_imports_and_one_without_production(baseline):
    _, _, res = baseline
    # 2025: 3 t domestic (IREL Vizag) of 4,010 t — dependence is everything else
    assert res.value("import_dependence_magnets", 2025) == pytest.approx(
        res.value("magnet_imports", 2025) / (res.value("magnet_imports", 2025) + VIZAG)
    )
    # no units feed on imported NdPr oxide before 2028: IREL covers Vizag's few tonnes (what is
    # imported is the working stock growing with Vizag's output: grams)
    assert res.value("import_dependence_ndpr_oxide", 2025) < 1e-3
    assert res.value("hhi_magnet_imports", 2025) == pytest.approx(
        CHINA_MAGNET_SHARE**2 + sum(x**2 for x in (0.043, 0.031, 0.019, 0.006, 0.006, 0.019)),
        rel=1e-6,
    )


def test_a_risk_chunk_shares_the_draw_independent_inputs_the_kernel_never_writes():
    """`prepare(..., like=)` (a risk run's chunks share one preparation of the chain and plan)
    makes the very inputs a preparation from nothing makes, and the compiled kernel writes
    none of them — so chunks on two threads may read the same arrays."""
    from repm.simulate import arrays, kernel
    from repm.simulate.engine import prepare
    from repm.simulate.shocks import sample

    loaded = load_scenario("india-baseline")
    chain = compile_chain(loaded.scenario)
    like = prepare(chain, None, None, "monthly")
    shocks = sample(loaded.scenario.risk, chain, np.arange(40, 72), 3)
    fresh, shared = (
        prepare(chain, None, shocks, "monthly"),
        prepare(chain, None, shocks, "monthly", like),
    )
    assert fresh.dims == shared.dims and fresh.inputs._fields == shared.inputs._fields
    for name, a, b in zip(fresh.inputs._fields, fresh.inputs, shared.inputs, strict=True):
        assert type(a) is type(b) and np.array_equal(a, b), name
        assert not isinstance(a, np.ndarray) or a.dtype == b.dtype, name
    before = [np.copy(a) for a in shared.inputs]
    kernel.compiled()
    kernel.run(shared.inputs, arrays.outputs(shared.dims))
    for name, a, b in zip(shared.inputs._fields, before, shared.inputs, strict=True):
        assert np.array_equal(a, b), f"the kernel wrote its input {name}"
    with pytest.raises(ValueError, match="another chain"):
        prepare(compile_chain(loaded.scenario), None, shocks, "monthly", like)
