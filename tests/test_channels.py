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
    """2025 (base year, no localisation yet): sector s buys D_s × β_s × 540 / Σ β D bare."""
    dem = chain.demand_total.sel(year=2025)
    beta = {s: F.value(f"bare_share_{s}") for s in chain.sectors}
    implied = sum(beta[s] * float(dem.sel(sector=s)) for s in chain.sectors)
    bare_total = F.value("india_ndfeb_imports_fy25_tnie")
    assert implied == pytest.approx(bare_total, rel=0.05)  # the assumed shares nearly give 540 t
    bare = chain.demand_bare.sel(year=2025).sum("grade")
    for s in chain.sectors:
        expected = float(dem.sel(sector=s)) * beta[s] * bare_total / implied
        assert float(bare.sel(sector=s)) == pytest.approx(expected, rel=1e-12)
    assert float(bare.sum()) == pytest.approx(bare_total, rel=1e-12)
    # e-2W makers buy far more of their magnets bare than electronics makers do
    share = bare / dem
    assert float(share.sel(sector="e2w")) > 10 * float(share.sel(sector="electronics"))


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
        # only defence buys bare: 540 t would be 4.5 × its 120 t
        ([f"demand.channels.bare_share.{s}=0" for s in ("ev_car", "e2w", "e3w", "wind",
          "electronics", "industrial")], "sector 'defence' would buy 4"),
    ],
)  # fmt: skip
def test_bad_bare_shares_are_one_line_errors(sets, needle):
    with pytest.raises(UserError, match=needle):
        compile_chain(load_scenario("india-baseline", sets).scenario)
