"""Import shares on a year path (`trade.share_paths`): a group's split by origin given at some
years, read linearly between them and flat beyond, compiled into year × origin × material
import shares that the engine follows year by year; india-heavy-outside-china's Dy/Tb ramp.
The schema's mistakes are in tests/test_bad_input.py; the batched modules and the fast sample
path are held to the per-sample ones on every shipped scenario (tests/test_batched_*.py,
test_fast_samples.py, test_block_run.py), which includes this ramp."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import drawn_scenarios, same_bits

from repm.analyses.uncertainty.evaluate import Evaluator
from repm.analyses.uncertainty.structure import Alternatives, Pooled
from repm.chain import compile_chain
from repm.chain.batched.chains import block_results, sample_parts
from repm.chain.plan import build_plan, default_plan
from repm.model import default_definition
from repm.model.facts import load_facts
from repm.scenario import load_scenario
from repm.scenario.samples import SampleBlock
from repm.simulate.engine import simulate

F = load_facts()
MATERIALS = default_definition().material_names
HEAVY = ["dy_oxide", "tb_oxide", "dy_metal", "tb_metal"]
NAME = "india-heavy-outside-china"
# a path on the baseline: all Chinese until 2026, half from the EU by 2030
PATH = ["trade.shares.heavy=null", "trade.share_paths.heavy.2026.China=1",
        "trade.share_paths.heavy.2030.China=0.5", "trade.share_paths.heavy.2030.EU=0.5"]  # fmt: skip


def hand_ramp(years, level: float, lynas: float, base_my: float) -> dict[str, np.ndarray]:
    """The ramp docs/research/heavy_ramp.py built into a Plan by hand (retired with this field):
    the secured share 0 up to 2025, linear to `level` in 2030, flat after; China gives it up,
    Lynas (Malaysia) and Caremag (EU) split it."""
    s = level * np.clip((np.asarray(years, dtype=float) - 2025) / (2030 - 2025), 0.0, 1.0)
    return {"China": 1 - base_my - s, "Malaysia": base_my + s * lynas, "EU": s * (1 - lynas)}


def test_a_path_compiles_to_shares_by_year_linear_between_its_years_flat_beyond():
    chain = compile_chain(load_scenario("india-baseline", PATH).scenario)
    share = chain.import_share
    assert share.dims == ("year", "origin", "material")
    eu = {2024: 0.0, 2025: 0.0, 2026: 0.0, 2027: 0.125, 2028: 0.25, 2029: 0.375}
    eu.update({y: 0.5 for y in range(2030, 2036)})  # fmt: skip
    for m in HEAVY:
        for y, v in eu.items():
            got = share.sel(year=y, material=m)
            assert float(got.sel(origin="EU")) == pytest.approx(v, abs=1e-15)
            assert float(got.sel(origin="China")) == pytest.approx(1 - v, abs=1e-15)
            assert float(got.sum()) == pytest.approx(1.0, abs=1e-15)
    # the other groups keep their one split, every year
    base = compile_chain(load_scenario("india-baseline").scenario).import_share
    others = [m for m in MATERIALS if m not in HEAVY]
    for y in chain.years:
        np.testing.assert_array_equal(
            share.sel(year=y, material=others).values, base.sel(material=others).values
        )


def test_the_scenarios_ramp_is_the_research_scripts():
    """india-heavy-outside-china: 0.98/0.02 in 2025 (the baseline's) to the secured split in
    2030 (0.58/0.14/0.28), as docs/research/heavy_ramp.py built it by hand (its `repm risk`
    numbers at 10,000 draws, seed 0, are the script's to the digits it printed)."""
    chain = compile_chain(load_scenario(NAME).scenario)
    want = hand_ramp(chain.years, F.value("india_heavy_secured_share_non_china"),
                     F.value("india_heavy_secured_lynas_part"), F.value("share_heavy_malaysia"))  # fmt: skip
    for m in HEAVY:
        got = chain.import_share.sel(material=m)
        for o in chain.origins:
            np.testing.assert_allclose(
                got.sel(origin=o).values, want.get(o, np.zeros(len(chain.years))), atol=1e-15
            )
    assert float(chain.import_share.sel(year=2028, material="dy_oxide", origin="EU")) == (
        pytest.approx(0.24 * 0.7)
    )


def test_the_engine_imports_each_origins_share_of_the_year():
    """No shocks, yearly: each origin's Dy/Tb oxide imports are its share of that year's (a
    share path's year, not one split for the horizon); the total is the fixed split's."""
    chain = compile_chain(load_scenario("india-baseline", PATH).scenario)
    imp = simulate(chain, step="yearly").data["imports"].isel(draw=0)
    flat = compile_chain(load_scenario("india-baseline").scenario)
    flat_imp = simulate(flat, step="yearly").data["imports"].isel(draw=0)
    for m in ("dy_oxide", "tb_oxide"):
        by = imp.sel(material=m)
        total = by.sum("origin")
        bought = total.values > 1.0
        assert bought.sum() >= 6  # the units buy Dy/Tb from 2028
        got = (by / total).values[bought]
        want = chain.import_share.sel(material=m).transpose("year", "origin").values[bought]
        np.testing.assert_allclose(got, want, atol=1e-9)
        np.testing.assert_allclose(total, flat_imp.sel(material=m).sum("origin"), rtol=1e-9)


def test_a_plan_keeps_the_paths_years_of_history():
    """build_plan starts from the chain's shares by year (a path's, not one split repeated) and
    the default plan passes them through as they are."""
    chain = compile_chain(load_scenario(NAME).scenario)
    assert default_plan(chain).import_share is chain.import_share
    plan = build_plan(chain, {}, {"dy_oxide": {"China": 1.0}}, {})
    first = chain.first_planned_year
    np.testing.assert_array_equal(
        plan.import_share.values[:first], chain.import_share.values[:first]
    )
    assert (plan.import_share.sel(material="dy_oxide", origin="China").values[first:] == 1).all()
    np.testing.assert_array_equal(
        plan.import_share.sel(material="tb_oxide").values,
        chain.import_share.sel(material="tb_oxide").values,
    )


def test_a_paths_fact_references_are_drawn():
    """`repm uncertainty` draws the facts a path's years read: the secured share (0.1–0.9) moves
    2030's split through its lineage formulas, the years ramping to it with it; each year's
    split still sums to 1 (a drawn split is scaled to 1, year by year, as trade.shares are)."""
    ev = Evaluator(load_scenario(NAME), "magnet_imports", step="yearly", workers=1)
    _, _, at = Pooled([ev], Alternatives.of(NAME, ())).draw(0, 12)
    secured = []
    for a in map(dict, at):
        s = ev.scenario_at(a)
        path = s.trade.share_paths["heavy"]
        for y in (2025, 2030):
            assert sum(path[y].values()) == pytest.approx(1.0, abs=1e-9)
        assert path[2030]["EU"] == pytest.approx(a["share_heavy_eu_secured"], rel=1e-9)
        share = compile_chain(s).import_share.sel(material="dy_oxide")
        for o in ("China", "Malaysia", "EU"):  # 2028: 3/5 of the way from 2025 to 2030
            want = 0.4 * path[2025].get(o, 0.0) + 0.6 * path[2030][o]
            assert float(share.sel(year=2028, origin=o)) == pytest.approx(want, abs=1e-12)
        secured.append(1 - path[2030]["China"] - a["share_heavy_malaysia"])
    # the secured share (1 − China − the baseline's Malaysia) drawn over its 0.1–0.9
    assert max(secured) - min(secured) > 0.2


def test_batched_trade_has_the_year_axis_and_the_per_sample_bits():
    """The batched chain modules on drawn samples of the ramp: shares (S, year, origin,
    material), each sample's slice the per-sample trade's, bit for bit."""
    scs = drawn_scenarios(NAME, 6, seed=1)
    block = SampleBlock.gather(scs)
    res = block_results(block, scs)
    share = res["trade"]["share"]
    assert share.shape[:2] == (6, len(res["years"]))
    assert np.ptp(share[:, -1, :, MATERIALS.index("dy_oxide")], axis=0).max() > 0  # drawn
    for i, s in enumerate(scs):
        mine = compile_chain(s).import_share.transpose("year", "origin", "material").values
        assert same_bits(share[i], mine)
        assert same_bits(sample_parts(res, i)["trade"]["share"], mine)
