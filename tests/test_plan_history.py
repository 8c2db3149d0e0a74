"""A plan cannot change history: its import shares apply from the first year after `risk.as_of`
(`build_plan`), the kernel reads shares by year, and the years before run as the scenario is
written — so `repm plan`'s simulated 2024–25 are `repm risk`'s."""

from __future__ import annotations

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.chain.plan import Plan, build_plan, default_plan
from repm.scenario import load_scenario
from repm.simulate.engine import simulate
from repm.simulate.shocks import sample


@pytest.fixture(scope="module")
def chain_and_shocks():
    loaded = load_scenario("india-baseline")
    chain = compile_chain(loaded.scenario)
    risk = loaded.scenario.risk
    return chain, sample(risk, chain, np.arange(4), 0), lambda ids: sample(risk, chain, ids, 0)


def _all_from(chain, origin: str) -> dict[str, dict[str, float]]:
    """Every traded material's shares moved whole to one origin: a plan unlike the scenario."""
    mats = [m for m in chain.materials if chain.import_share.sel(material=m).sum() > 0]
    return {m: {origin: 1.0} for m in mats}


def test_plan_shares_start_after_history(chain_and_shocks):
    chain, _, _ = chain_and_shocks
    first = chain.first_planned_year
    assert chain.years[first] == 2026  # india-baseline: risk.as_of 2025-12
    plan = build_plan(chain, {}, _all_from(chain, "Japan"), {})
    share = plan.import_share.transpose("year", "origin", "material").values
    assert np.array_equal(
        share[:first], np.broadcast_to(chain.import_share.values, share[:first].shape)
    )
    assert share[first:, chain.origins.index("Japan")].max() == 1.0
    assert share[first:, chain.origins.index("China")].max() == 0.0


def test_history_runs_as_written_under_any_plan(chain_and_shocks):
    chain, shocks, _ = chain_and_shocks
    first = chain.first_planned_year
    base = default_plan(chain)
    planned = build_plan(chain, {}, _all_from(chain, "Japan"), {})
    plan = Plan(capacity=base.capacity, import_share=planned.import_share, stockpile=base.stockpile)
    a = simulate(chain, shocks=shocks).data
    b = simulate(chain, plan=plan, shocks=shocks).data
    for v in ("unmet", "imports", "working_stock", "production"):
        assert np.array_equal(a[v].values[:, :first], b[v].values[:, :first]), v
    assert not np.array_equal(a.imports.values[:, first:], b.imports.values[:, first:])


def test_shares_by_year_each_draw_as_alone(chain_and_shocks):
    """Draws side by side carry no state: the shares a draw ends on are not the next draw's
    first year's (they were, before each draw reset them)."""
    chain, shocks, draws = chain_and_shocks
    plan = build_plan(chain, {}, _all_from(chain, "Japan"), {})
    together = simulate(chain, plan=plan, shocks=shocks).data.unmet.values
    for d in range(shocks.draws):
        alone = simulate(chain, plan=plan, shocks=draws(np.array([d]))).data.unmet.values
        assert np.array_equal(together[d], alone[0]), d


def test_the_same_shares_every_year_are_the_scenarios(chain_and_shocks):
    chain, shocks, _ = chain_and_shocks
    base = default_plan(chain)
    by_year = chain.import_share.expand_dims(year=chain.years).copy()
    plan = Plan(capacity=base.capacity, import_share=by_year, stockpile=base.stockpile)
    a = simulate(chain, shocks=shocks).data
    b = simulate(chain, plan=plan, shocks=shocks).data
    for v in ("unmet", "imports", "flows"):
        assert a[v].values.tobytes() == b[v].values.tobytes(), v


def test_as_of_mid_year_keeps_that_whole_year_as_written():
    """With history to June 2025, 2025 is partly history: a plan's shares (by year) start in 2026,
    so no month of history runs on them."""
    loaded = load_scenario("india-baseline", ["risk.as_of=2025-06"])
    chain = compile_chain(loaded.scenario)
    assert chain.future_from == 18
    assert chain.years[chain.first_planned_year] == 2026
    assert chain.years[chain.first_future_year] == 2025  # risk counts 2025's last months
