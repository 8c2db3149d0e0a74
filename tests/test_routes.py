"""Routes (issue 6): tolling abroad, overseas sources, export retention, the buyer incentive,
heavy rare earths by sector, the GeoPolRisk-style score and the environmental ledger — each
checked against a hand calculation from the fact table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.model import default_definition
from repm.model.facts import load_facts
from repm.results.build import build_results
from repm.scenario import load_scenario
from repm.simulate.engine import STEPS_PER_YEAR, simulate
from repm.simulate.shocks import Shocks, event_targets

MATERIALS = default_definition().material_names

YEARS = list(range(2024, 2036))
F = load_facts()


def _run(ref: str, sets=(), step="yearly", shocks=None):
    chain = compile_chain(load_scenario(ref, list(sets)).scenario)
    out = simulate(chain, shocks=shocks, step=step)
    return chain, out.data, build_results(chain, out)


def _series(res, name, **dims):
    return np.array([res.value(name, y, **dims) for y in YEARS])


def _oxide_per_magnet_n(chain) -> float:
    """t NdPr oxide per t N-grade magnet, by hand: NdPr content × oxide/metal ratio × fresh
    alloy per t magnet (in-plant scrap re-melted) ÷ strip casting ÷ oxide→metal recovery."""
    into = 1 / (F.value("sintering_yield") * F.value("machining_yield"))
    fresh = into - F.value("swarf_inhouse_recovery") * (into - 1)
    return (
        F.value("grade_n_ndpr_content")
        * chain.chem.ndpr_oxide_per_metal
        * fresh
        / (F.value("strip_casting_yield") * F.value("oxide_to_metal_recovery"))
    )


TOLL_ONLY = """extends: india-baseline
supply:
  units: []
  separation: {{output: {{2024: 400}}, to_units_max: 0}}
routes:
  export_retention: null
  tolling:
    - {{name: t, partner: Japan, capacity: 100, start_year: 2026, grade: n,
        lead_time_months: {lead}, fee: 1000, exposed_to: {{China: {exposure}}}}}
"""


@pytest.fixture(scope="module")
def toll_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("toll")
    for lead in (0, 3):
        for exposure in (0, 1):
            (d / f"toll-{lead}-{exposure}.yaml").write_text(
                TOLL_ONLY.format(lead=lead, exposure=exposure)
            )
    return d


def test_tolling_mass_is_conserved_across_the_border(toll_dir):
    chain, ds, res = _run(str(toll_dir / "toll-0-0.yaml"))
    k = _oxide_per_magnet_n(chain)
    sep = chain.separation_output.values
    assert sep[0] == pytest.approx(400)
    bare_n = chain.demand_bare.sel(grade="n").sum("sector").values
    on = np.array(YEARS) >= 2026
    expected = np.where(on, np.minimum.reduce([np.full(12, 100.0), sep / k, bare_n]), 0.0)
    tolled = _series(res, "magnet_tolled")
    np.testing.assert_allclose(tolled, expected, rtol=1e-12)
    assert tolled[on].min() > 0
    oxide_out = _series(res, "ndpr_oxide_tolled")
    np.testing.assert_allclose(oxide_out, expected * k, rtol=1e-12)
    # IREL's oxide: what is not tolled is exported (no units, no retention)
    np.testing.assert_allclose(_series(res, "ndpr_oxide_exports") + oxide_out, sep, rtol=1e-12)
    # element books at the border: Nd+Pr out in oxide = Nd+Pr back in magnets + the partner's losses
    fl = ds.flows.isel(draw=0).sel(element=["Nd", "Pr"]).sum("element")
    nd_pr_out = fl.sel(flow="oxide_tolled").values
    np.testing.assert_allclose(nd_pr_out, oxide_out / chain.chem.ndpr_oxide_per_metal, rtol=1e-12)
    back = tolled * F.value("grade_n_ndpr_content")
    np.testing.assert_allclose(
        nd_pr_out, back + fl.sel(flow="tolling_loss").values, rtol=1e-12, atol=1e-9
    )
    assert float(np.abs(ds.residual).max()) < 1e-9
    # the fee, priced: ₹1,000/kg × t × 1,000 kg/t in crore
    np.testing.assert_allclose(_series(res, "tolling_fee_cost"), tolled * 1000 * 1000 / 1e7)


def test_tolling_lead_time_leaves_magnets_in_transit(toll_dir):
    _, ds, res = _run(str(toll_dir / "toll-3-0.yaml"), step="monthly")
    monthly = 100 / 12  # capacity binds every month (bare N demand and oxide are larger)
    tolled = _series(res, "magnet_tolled")
    assert tolled[YEARS.index(2026)] == pytest.approx(9 * monthly)  # orders of Jan–Sep arrive
    assert tolled[YEARS.index(2027)] == pytest.approx(12 * monthly)
    assert _series(res, "tolling_in_transit")[YEARS.index(2027)] == pytest.approx(3 * monthly)
    assert float(np.abs(ds.residual).max()) < 1e-9


def _ban(chain, origin: str, year: int) -> Shocks:
    spy = STEPS_PER_YEAR["yearly"]
    avail = np.ones((1, spy * chain.n_years, len(chain.origins), len(MATERIALS)))
    avail[0, year - YEARS[0], chain.origins.index(origin), MATERIALS.index("magnet_n")] = 0.0
    return Shocks(availability=avail)


@pytest.mark.parametrize(
    ("exposure", "banned", "left"), [(0, "China", 1.0), (1, "China", 0.0), (0, "Japan", 0.0)]
)
def test_tolled_returns_stop_when_partner_or_licensing_origin_restricts(
    toll_dir, exposure, banned, left
):
    path = str(toll_dir / f"toll-0-{exposure}.yaml")
    chain = compile_chain(load_scenario(path).scenario)
    free = build_results(chain, simulate(chain, step="yearly"))
    hit = build_results(chain, simulate(chain, shocks=_ban(chain, banned, 2027), step="yearly"))
    assert hit.value("magnet_tolled", 2027) == pytest.approx(
        left * free.value("magnet_tolled", 2027)
    )
    assert hit.value("magnet_tolled", 2028) == pytest.approx(free.value("magnet_tolled", 2028))


@pytest.fixture(scope="module")
def baseline():
    return _run("india-baseline")


def test_overseas_sources_raise_domestic_feed_by_tonnes_times_yields(baseline):
    _, _, base = baseline
    chain, ds, mines = _run("india-overseas-mines")
    sx = F.value("sx_recovery")
    aus = np.where(np.array(YEARS) >= 2028, F.value("offtake_australia_ndpr_oxide"), 0.0)
    malawi = np.where(
        np.array(YEARS) >= 2030,
        F.value("stake_malawi_mixed_reo") * F.value("stake_malawi_ndpr_share") * sx,
        0.0,
    )
    feed_gain = _series(mines, "ndpr_oxide_domestic_feed") - _series(
        base, "ndpr_oxide_domestic_feed"
    )
    np.testing.assert_allclose(feed_gain, aus + malawi, rtol=1e-12, atol=1e-9)
    # units short of oxide use all of it, so imports fall by exactly that once both run
    used = _series(mines, "ndpr_oxide_overseas")
    late = np.array(YEARS) >= 2031
    np.testing.assert_allclose(used[late], (aus + malawi)[late], rtol=1e-9)
    drop = _series(base, "ndpr_oxide_imports") - _series(mines, "ndpr_oxide_imports")
    np.testing.assert_allclose(drop[late], used[late], rtol=1e-9)
    assert float(np.abs(ds.residual).max()) < 1e-9
    # Malawi's mixed oxide is separated in India: its NdPr arrives at separation, losses included
    fl = ds.flows.isel(draw=0).sel(element=["Nd", "Pr"]).sum("element")
    reo = fl.sel(flow="overseas_reo").values
    np.testing.assert_allclose(fl.sel(flow="overseas_separated").values, reo * sx, rtol=1e-12)


def test_overseas_source_stops_when_its_country_restricts():
    chain = compile_chain(load_scenario("india-overseas-mines").scenario)
    avail = np.ones((1, chain.n_years, len(chain.origins), len(MATERIALS)))
    avail[0, 2032 - YEARS[0], chain.origins.index("Australia"), MATERIALS.index("ndpr_oxide")] = 0.0
    hit = build_results(chain, simulate(chain, shocks=Shocks(availability=avail), step="yearly"))
    assert hit.value("ndpr_oxide_overseas", 2032, origin="Australia") == 0.0
    assert hit.value("ndpr_oxide_overseas", 2033, origin="Australia") == pytest.approx(500)


HEAVY = ["dy_oxide", "tb_oxide", "dy_metal", "tb_metal"]


def test_heavy_outside_china_moves_the_units_dy_tb_off_china_and_past_a_ban(baseline):
    """india-heavy-outside-china: a secured share of the units' Dy/Tb oxide from Lynas Malaysia
    and Caremag (EU), in full from 2030 (a ramp from 2025: tests/test_share_paths.py). China's
    share falls by exactly that share (facts, by hand), and when China refuses all its Dy/Tb for
    a year the units still receive it: the engine's offer is each origin's share of the units'
    order plus its spare capacity."""
    secured = F.value("india_heavy_secured_share_non_china")
    lynas = F.value("india_heavy_secured_lynas_part")
    base_my = F.value("share_heavy_malaysia")
    base_chain = compile_chain(load_scenario("india-baseline").scenario)
    loaded = load_scenario("india-heavy-outside-china")
    chain = compile_chain(loaded.scenario)
    want = {"China": 1 - base_my - secured, "Malaysia": base_my + secured * lynas,
            "EU": secured * (1 - lynas)}  # fmt: skip
    full = chain.years >= 2030
    for m in HEAVY:
        got = chain.import_share.sel(material=m)
        assert float(base_chain.import_share.sel(material=m, origin="China")) == pytest.approx(
            1 - base_my
        )
        for origin in chain.origins:
            np.testing.assert_allclose(
                got.sel(origin=origin).values[full], want.get(origin, 0.0), atol=1e-15
            )
    others = [m for m in MATERIALS if m not in HEAVY]
    for y in chain.years:
        np.testing.assert_array_equal(
            chain.import_share.sel(year=y, material=others).values,
            base_chain.import_share.sel(material=others).values,
        )
    # China's restriction events reach Chinese Dy/Tb only, not the secured origins'
    target, _ = event_targets(loaded.scenario.risk, chain)
    cols = [MATERIALS.index(m) for m in HEAVY]
    for origin in ("Malaysia", "EU"):
        assert not target[:, chain.origins.index(origin), cols].any()

    # without shocks: the same Dy oxide, China's part 0.58 instead of 0.98
    free = simulate(chain, step="yearly").data["imports"].isel(draw=0).sel(material="dy_oxide")
    base_free = baseline[1]["imports"].isel(draw=0).sel(material="dy_oxide")
    np.testing.assert_allclose(free.sum("origin"), base_free.sum("origin"), rtol=1e-12)
    y = 2030
    assert float(free.sel(year=y, origin="China") / free.sel(year=y).sum()) == pytest.approx(
        want["China"]
    )

    # China refuses every tonne of its Dy/Tb in 2030
    def banned(ch):
        avail = np.ones((1, ch.n_years, len(ch.origins), len(MATERIALS)))
        avail[0, y - YEARS[0], ch.origins.index("China"), cols] = 0.0
        return simulate(ch, shocks=Shocks(availability=avail), step="yearly")

    hit, base_hit = banned(chain), banned(base_chain)
    imp = hit.data["imports"].isel(draw=0).sel(year=y, material="dy_oxide")
    base_imp = base_hit.data["imports"].isel(draw=0).sel(year=y, material="dy_oxide")
    spare_my = float(chain.spare.sel(origin="Malaysia", material="dy_oxide"))
    assert float(imp.sel(origin="China")) == 0.0 == float(base_imp.sel(origin="China"))
    # the units' order, from what the EU (no spare) sends: each origin ships its share of it,
    # Malaysia its spare on top; the baseline's units order the same within 0.1 % (their
    # working stock differs a little), and get only Malaysia's 2 % and spare
    order = float(imp.sel(origin="EU")) / want["EU"]
    assert order > 0.9 * float(base_free.sel(year=y).sum())
    assert float(imp.sel(origin="Malaysia")) == pytest.approx(want["Malaysia"] * order + spare_my)
    base_order = (float(base_imp.sel(origin="Malaysia")) - spare_my) / base_my
    assert base_order == pytest.approx(order, rel=1e-3)
    assert float(imp.sum() - base_imp.sum()) == pytest.approx(secured * order, rel=1e-3)
    # … so the units make more of their Dy/Tb-bearing magnets through the ban
    made = hit.data["production"].isel(draw=0).sel(year=y).sum()
    base_made = base_hit.data["production"].isel(draw=0).sel(year=y).sum()
    assert float(made) > float(base_made) + 500
    assert float(np.abs(hit.data.residual).max()) < 1e-9


def test_export_retention_keeps_oxide_home_and_cuts_imports_by_as_much(baseline):
    """The baseline keeps IREL's oxide home from 2025 (the June 2025 suspension of the Japan
    agreement); without it the oxide the units cannot take yet is exported."""
    _, ds, kept = baseline
    _, _, base = _run("india-baseline", ["routes.export_retention=null"])
    exports = _series(base, "ndpr_oxide_exports")
    assert exports.sum() > 100  # without retention, what the units cannot take yet leaves
    assert _series(kept, "ndpr_oxide_exports")[1:].max() == 0.0
    retained = _series(kept, "ndpr_oxide_retained")
    before_units = (np.array(YEARS) >= 2025) & (_series(base, "ndpr_oxide_to_units") == 0)
    assert before_units.sum() >= 2
    np.testing.assert_allclose(retained[before_units], exports[before_units], rtol=1e-12)
    # the units, short of oxide later, use every tonne that used to leave instead of an import
    drop = _series(base, "ndpr_oxide_imports").sum() - _series(kept, "ndpr_oxide_imports").sum()
    assert drop == pytest.approx(exports[1:].sum(), rel=1e-9)
    # … and the kept oxide counts as IREL's oxide to the units when they draw it
    gain = _series(kept, "ndpr_oxide_to_units").sum() - _series(base, "ndpr_oxide_to_units").sum()
    assert gain == pytest.approx(exports[1:].sum(), rel=1e-9)
    assert _series(kept, "ndpr_oxide_to_units").max() > F.value("irel_oxide_to_scheme_units")
    assert float(np.abs(ds.residual).max()) < 1e-9


def test_switching_a_sector_to_the_n_grade_by_hand(baseline):
    _, _, base = baseline
    grades = ("n", "gbd", "uh")
    _, _, low = _run(
        "india-baseline", [f"demand.sectors.ev_car.grade_mix.{g}={int(g == 'n')}" for g in grades]
    )
    ev = _series(base, "magnet_demand", sector="ev_car")
    mix = {g: F.value(f"grade_mix_ev_car_{g}") for g in grades}
    dy = {g: F.value(f"grade_{g}_dy_content") for g in grades}
    nd = {g: F.value(f"grade_{g}_ndpr_content") for g in grades}
    dy_ev = sum(mix[g] * dy[g] for g in grades)  # kg Dy per kg of EV magnet
    np.testing.assert_allclose(
        _series(base, "dy_in_demand", sector="ev_car"), ev * dy_ev, rtol=1e-12
    )
    assert _series(low, "dy_in_demand", sector="ev_car").max() == 0.0
    dy_drop = _series(base, "dy_in_demand") - _series(low, "dy_in_demand")
    np.testing.assert_allclose(dy_drop, ev * dy_ev, rtol=1e-12)
    nd_change = _series(low, "ndpr_in_demand") - _series(base, "ndpr_in_demand")
    nd_gain = sum(mix[g] * (nd["n"] - nd[g]) for g in grades)
    np.testing.assert_allclose(nd_change, ev * nd_gain, rtol=1e-9, atol=1e-9)


def test_buyer_incentive_cost_and_demand_shift_by_hand(baseline):
    chain0, _, base = baseline
    chain, _, inc = _run("india-buyer-incentive")
    per_kg, budget = F.value("consumer_incentive_per_kg"), F.value("consumer_incentive_budget")
    shift = F.value("consumer_incentive_localization_shift")
    on = (np.array(YEARS) >= 2029) & (np.array(YEARS) <= 2035)
    bare0 = chain0.demand_bare.sum(["sector", "grade"]).values
    emb0 = chain0.demand_embedded.sum(["sector", "grade"]).values
    bare = chain.demand_bare.sum(["sector", "grade"]).values
    np.testing.assert_allclose(bare, np.where(on, bare0 + shift * emb0, bare0), rtol=1e-12)
    prod = _series(inc, "magnet_production_domestic")
    uncapped = np.where(on, per_kg * prod * 1000 / 1e7, 0.0)  # ₹/kg × t × 1,000 kg/t, crore
    paid = np.minimum(
        uncapped, np.maximum(budget - np.concatenate([[0], np.cumsum(uncapped)[:-1]]), 0)
    )
    np.testing.assert_allclose(_series(inc, "consumer_incentive_cost"), paid, rtol=1e-12)
    assert _series(inc, "consumer_incentive_cost").sum() == pytest.approx(budget)  # it binds


def test_geopolrisk_closed_form_for_one_origin(tmp_path):
    others = ", ".join(
        f"{o}: null" for o in ("Japan", "Vietnam", "EU", "USA", "Malaysia", "Others")
    )
    one = "{China: 1, " + others + "}"
    path = tmp_path / "china-only.yaml"
    path.write_text(
        "extends: india-baseline\nsupply: {units: []}\n"
        f"trade: {{shares: {{magnet: {one}, embedded: {one}, alloy: {one}}}}}\n"
    )
    _, _, res = _run(str(path))
    world = sum(F.value(x) ** 2 for x in ("china_share_magnets_2020", "share_magnets_japan_2020",
                                          "share_magnets_eu_2020", "share_magnets_others_2020"))  # fmt: skip
    assert res.value("import_dependence_magnets", 2025) == 1.0
    assert res.value("geopolrisk_magnets", 2025) == pytest.approx(
        world * F.value("governance_risk_china"), rel=1e-12
    )


def test_environmental_ledger_by_hand(baseline):
    chain, _, res = baseline
    monazite = _series(res, "monazite_processed")
    u_frac = 3 * F.value("aw_u") / (3 * F.value("aw_u") + 8 * F.value("aw_o"))
    np.testing.assert_allclose(
        _series(res, "env_uranium_residue"), monazite * F.value("monazite_u3o8_fraction") * u_frac
    )
    sep = chain.separation_output.values
    np.testing.assert_allclose(
        _series(res, "env_co2e_separation"), sep * F.value("env_separation_co2e")
    )
    np.testing.assert_allclose(
        _series(res, "env_water_cracking"), monazite * F.value("env_cracking_water")
    )
    stages = sum(
        _series(res, f"env_energy_{s}") for s in ("cracking", "separation", "metal", "magnet")
    )
    np.testing.assert_allclose(_series(res, "env_energy_domestic"), stages)
    supplied = _series(res, "magnet_production_domestic") + _series(res, "magnet_imports")
    per_t = (_series(res, "env_co2e_domestic") + _series(res, "env_co2e_imports")) / supplied
    np.testing.assert_allclose(_series(res, "env_co2e_per_t_magnet"), per_t, rtol=1e-12)
    # an imported magnet carries at least its own making plus its oxide's separation
    floor = F.value("env_magnet_co2e") + 0.2 * F.value("env_separation_co2e")
    assert _series(res, "env_co2e_imports")[0] > floor * _series(res, "magnet_imports")[0]


# --- the planner chooses routes (repm plan) ---------------------------------------------------


def _plan(ref: str, sets=()):
    from repm.analyses.optimize import optimize

    loaded = load_scenario(ref, list(sets))
    return optimize(loaded.scenario, compile_chain(loaded.scenario))


@pytest.mark.parametrize(("fee", "cheaper"), [("fact:tolling_fee_japan", True), (100_000, False)])
def test_planner_tolls_when_the_fee_beats_imported_magnets(fee, cheaper):
    # N-grade magnets import at their grade price (~₹4,100/kg) × 0.876 China + 1.25 × the rest: a
    # ₹2,188/kg fee on IREL's own oxide is cheaper, a ₹100,000/kg fee is not. Tolled: the 500 t
    # contract, or the N-grade bare market if that is smaller (272.8 t in 2027)
    sets = [f"routes.tolling.0.fee={fee}"]
    chain = compile_chain(load_scenario("india-tolling-japan", sets).scenario)
    bare_n = float(chain.demand_bare.sel(year=2027, grade="n").sum())
    used = min(500.0, bare_n) if cheaper else 0.0
    res = _plan("india-tolling-japan", sets)
    tolled = res.routes["tolled_expected"]
    assert tolled[2026] == 0.0  # before the contract starts
    assert tolled[2027] == pytest.approx(used, abs=1e-6)
    # the contract is sized to the year it is used most (a tonne contracted and never used only
    # costs), never above the 500 t offered (487.7 t in 2031, when the N-grade market peaks)
    contract = res.routes["tolled_contract"]["toyotsu-japan"]
    assert contract == pytest.approx(max(tolled.values()), abs=1e-6)
    assert (0.0 < contract <= 500.0 + 1e-6) if cheaper else contract == pytest.approx(0.0, abs=1e-6)


def test_planner_buys_overseas_oxide_only_when_cheaper_than_imports():
    dear = _plan("india-overseas-mines")  # US$70/kg offtake vs US$56/kg imports: unused
    assert sum(dear.routes["overseas_oxide_expected"].values()) == pytest.approx(0.0, abs=1e-6)
    cheap = _plan("india-overseas-mines", ["routes.overseas.0.price=1", "routes.overseas.1.price=1",
                                           "routes.overseas.1.stake_cost=0"])  # fmt: skip
    use = cheap.routes["overseas_oxide_expected"]
    sx = F.value("sx_recovery")
    full = 500 + 1000 * F.value("stake_malawi_ndpr_share") * sx
    assert use[2027] == 0.0 and use[2035] == pytest.approx(full, rel=1e-9)
    assert cheap.objective < dear.objective


def test_every_indicator_explains_itself_back_to_facts(baseline):
    from repm.results.explain import RECIPES, explain

    chain, _, res = baseline
    assert set(res.wide_totals().columns) <= set(RECIPES)  # every indicator `run` computes
    loaded = load_scenario("india-baseline")
    lines = explain("ndpr_oxide_to_units", 2030, loaded, chain, res, F).lines
    assert "supply.separation.to_units_max = 500" in "\n".join(lines)
    lines = explain("geopolrisk_magnets", 2030, loaded, chain, res, F).lines
    assert any("governance_risk_china" in line for line in lines)


def test_run_prints_routes_only_for_a_scenario_with_routes_and_the_ledger_on_request(repm_home):
    from conftest import run_cli

    toll = run_cli(["run", "india-tolling-japan", "--step", "yearly", "--ledger"])
    base = run_cli(["run", "--step", "yearly", "--set", "routes=null"])
    assert toll.returncode == 0 and base.returncode == 0, (toll.stderr, base.stderr)
    assert "routes:" in toll.stdout and "Toll fees" in toll.stdout
    assert "supply risk" in toll.stdout and "environmental ledger" in toll.stdout
    assert "[crore INR]" in toll.stdout  # units survive rich's markup
    assert "routes:" not in base.stdout and "environmental ledger" not in base.stdout


def test_no_year_exports_and_imports_ndpr_oxide(baseline):
    """IREL's oxide stays home after the June 2025 suspension (export_retention in the
    baseline): no year both sends NdPr oxide abroad and buys it. Without the retention the
    first version did both in 2028 (units ramping up month by month), so the check can fail."""
    _, _, base = baseline
    exports, imports = _series(base, "ndpr_oxide_exports"), _series(base, "ndpr_oxide_imports")
    assert not np.any((exports > 1e-9) & (imports > 1e-9)), (exports, imports)
    _, _, old = _run("india-baseline", ["routes.export_retention=null"], step="monthly")
    e, i = _series(old, "ndpr_oxide_exports"), _series(old, "ndpr_oxide_imports")
    assert np.any((e > 1.0) & (i > 1.0))


def test_domestic_content_is_the_share_of_rare_earths_india_mined_and_separated(baseline):
    """Self-sufficiency counts magnets made in India; domestic content counts only the rare
    earths India separated: Nd+Pr in domestic magnets × the share of the units' NdPr oxide that
    was IREL's (no overseas sources or stockpile releases in the baseline), ÷ all the rare earths
    in the magnets India uses."""
    chain, ds, base = baseline
    prod = ds.production.isel(draw=0).sum("feed")  # year × grade
    gc = chain.grade_comp
    ndpr = gc.sel(element=["Nd", "Pr"]).sum("element")
    re = gc.sel(element=["Nd", "Pr", "Dy", "Tb"]).sum("element")
    used = ds.feed_used.isel(draw=0).sel(material="ndpr_oxide").values
    irel = _series(base, "ndpr_oxide_to_units")
    content = ((ds.demand_bare + ds.demand_embedded).sum("sector") * re).sum("grade").values
    share = np.divide(irel, used, out=np.zeros_like(used), where=used > 0)
    by_hand = (prod * ndpr).sum("grade").values * np.minimum(share, 1.0) / content
    np.testing.assert_allclose(
        _series(base, "domestic_content_share"), by_hand, rtol=1e-9, atol=1e-12
    )
    ss = _series(base, "self_sufficiency")
    y = YEARS.index(2032)
    assert by_hand[y] < 0.5 * ss[y]  # most of the units' oxide is imported
    # China's share of all the rare earths India uses falls while IREL's kept oxide is used
    china = _series(base, "china_content_share")
    assert china[YEARS.index(2030)] < china[YEARS.index(2025)] - 0.05
