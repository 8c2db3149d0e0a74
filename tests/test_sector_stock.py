"""Buyers hold their own working stock (issue 13): a sector's bare-magnet shortfall comes out of
its own holding, never another sector's; holdings are rebuilt towards each sector's own months
of use and, where a grade flows in full, run down towards them. Hand calculations on the
import-only chain (no units, no spare capacity, no stockpile), one grade at a time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.errors import UserError
from repm.scenario import load_scenario
from repm.simulate.engine import simulate
from repm.simulate.shocks import Shocks

MONTHS = {"ev_car": 6.0}  # car makers hold six months; every other sector one
OTHERS = 1.0
REFILL = 1.0 / 3.0  # a third of the gap a month (working_stock_refill_months 3)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    path = tmp_path_factory.mktemp("stock") / "import-only.yaml"
    path.write_text(
        "extends: india-baseline\n"
        "supply:\n  units: []\n"
        "trade:\n  spare: null\n"
        "policy:\n"
        "  stockpile: {}\n"
        f"  working_stock_months: {OTHERS}\n"
        # wind and industrial hold their own months in the baseline: here the others' one
        f"  sector_working_stock_months: {{ev_car: {MONTHS['ev_car']}, wind: {OTHERS}, industrial: {OTHERS}}}\n"
        "  working_stock_refill_months: 3\n"
        "risk:\n  grade_switch: null\n"
    )
    c = compile_chain(load_scenario(str(path)).scenario)
    assert float(c.capacity.sum()) == 0.0 and float(c.stockpile0.sum()) == 0.0
    assert float(c.spare.sum()) == 0.0
    return c


def _months(sector: str) -> float:
    return MONTHS.get(sector, OTHERS)


def _cover(sector: str, month: int, now: float, after: float) -> float:
    """Months of current use the sector holds in month 0–11 (forward cover): the months of its
    window that reach into next year count at next year's demand (after / now)."""
    w, rest = _months(sector), 11 - month
    return w if w <= rest or now <= 0 else rest + (w - rest) * (after / now)


def _china_stops(chain, grade: str, months: range) -> Shocks:
    mats = list(chain.model.material_names)
    avail = np.ones((1, 12 * chain.n_years, len(chain.origins), len(mats)))
    avail[0, list(months), chain.origins.index("China"), mats.index(f"magnet_{grade}")] = 0.0
    return Shocks(availability=avail)


def test_each_sector_draws_only_on_its_own_stock(chain):
    """China's GBD magnets stopped for the first year. The other origins' usual share (1 − c)
    of the order arrives; defence (tier 0) is served in full from it, the rest share what is
    left pro rata (each gets f of its demand). Each sector covers its gap (1 − f) D from its own
    holding (its months × D at the start), then goes short; each month it orders a third of the
    gap to its target (its months of coming use: forward cover) and gets (1 − c) of the order.
    Cars, with six months, outlast the others."""
    y0 = int(chain.years[0])
    ds = simulate(chain, shocks=_china_stops(chain, "gbd", range(12)), step="monthly").data
    c = float(chain.import_share.sel(origin="China", material="magnet_gbd"))
    D = {  # t per month
        s: float(chain.demand_bare.sel(year=y0, sector=s, grade="gbd")) / 12 for s in chain.sectors
    }
    A = sum(D.values())
    tier0 = [s for s, k in zip(chain.sectors, chain.priority_tier.values, strict=True) if k == 0]
    d0 = sum(D[s] for s in tier0)
    assert (1 - c) * A >= d0  # defence is served in full
    f = ((1 - c) * A - d0) / (A - d0)
    for s in chain.sectors:
        if s in tier0:
            want_unmet = 0.0
        else:
            nxt = float(chain.demand_bare.sel(year=y0 + 1, sector=s, grade="gbd")) / 12
            held, want_unmet = _months(s) * D[s], 0.0
            for k in range(12):
                short = (1 - f) * D[s]
                own = min(short, held)
                held -= own
                want_unmet += short - own
                target = _cover(s, k, D[s], nxt) * D[s]
                held += (1 - c) * max(target - held, 0.0) * REFILL
        got = float(ds.unmet.sel(draw=0, year=y0, sector=s, grade="gbd"))
        assert got == pytest.approx(want_unmet, rel=1e-9, abs=1e-9), s
    # the point of it: car makers' six months carry them further than the one-month sectors
    car = float(ds.unmet.sel(draw=0, year=y0, sector="ev_car", grade="gbd")) / D["ev_car"]
    e2w = float(ds.unmet.sel(draw=0, year=y0, sector="e2w", grade="gbd")) / D["e2w"]
    assert 0.0 < car < e2w
    assert float(ds.short_steps_sector.sel(draw=0, year=y0, sector="e2w")) == 11.0  # from month 2
    assert float(ds.short_steps_sector.sel(draw=0, year=y0, sector="defence")) == 0.0


def test_a_holding_above_its_target_is_run_down(chain):
    """Bare UH demand halves in the second year, nothing restricted. Buyers hold their months of
    coming use (forward cover), so late in the first year their target already counts the halved
    demand, and late in the second the third year's: a holding above its target is used, a
    third of the excess a month (at most the month's demand) instead of buying; one below it is
    rebuilt by a third of the gap. Imports are the demand less what holdings gave, plus what
    rebuilt them; the holding at the second year's end follows — not left where the old demand
    put it."""
    y0, y1, y2 = (int(y) for y in chain.years[:3])
    bare = chain.demand_bare.copy()
    bare.loc[{"year": y1}] = bare.sel(year=y0) / 2
    half = dataclasses.replace(chain, demand_bare=bare)
    ds = simulate(half, step="monthly").data
    imports = float(ds.imports.sel(draw=0, year=y1, material="magnet_uh").sum())
    want_imports, want_stock = 0.0, 0.0
    for s in chain.sectors:
        d0 = float(chain.demand_bare.sel(year=y0, sector=s, grade="uh")) / 12
        d1 = d0 / 2
        d2 = float(chain.demand_bare.sel(year=y2, sector=s, grade="uh")) / 12
        held = _months(s) * d0  # at target when the horizon opens
        for year, d, after in ((y0, d0, d1), (y1, d1, d2)):
            for k in range(12):
                target = _cover(s, k, d, after) * d
                x = min((held - target) * REFILL, d)
                if x > 0:
                    held -= x
                refill = max(target - held, 0.0) * REFILL
                held += refill
                if year == y1:
                    want_imports += d - max(x, 0.0) + refill
        want_stock += held
    assert imports == pytest.approx(want_imports, rel=1e-9)
    assert float(ds.working_stock.sel(draw=0, year=y1, material="magnet_uh")) == pytest.approx(
        want_stock, rel=1e-9
    )


def test_a_grade_a_sector_starts_buying_next_year_is_stocked_before_it_starts(chain):
    """Car makers buy no N magnets loose in the first year and d1 a month in the second (as a
    sector does when localisation first brings a grade its loose buying lacked). Their six
    months reach into the second year from month 6: their target there is the months of the
    window in the second year × d1 (into = k − 5 at month k), in tonnes — a multiple of a use of
    0 would hold nothing — and a third of the gap is bought each month. The N held at the first
    year's end is theirs alone: the same run with no second-year N for car makers holds less by
    exactly that."""
    y0, y1 = (int(y) for y in chain.years[:2])

    def with_ev_n(second_year: float):
        bare = chain.demand_bare.copy()
        bare.loc[{"year": y0, "sector": "ev_car", "grade": "n"}] = 0.0
        bare.loc[{"year": y1, "sector": "ev_car", "grade": "n"}] = second_year
        ds = simulate(dataclasses.replace(chain, demand_bare=bare), step="monthly").data
        return float(ds.working_stock.sel(draw=0, year=y0, material="magnet_n"))

    d1 = 24.0 / 12  # t a month in the second year
    held = 0.0
    for k in range(12):
        into = _months("ev_car") - (11 - k)
        target = max(into, 0.0) * d1
        held += max(target - held, 0.0) * REFILL
    assert held > 0.0
    assert with_ev_n(24.0) - with_ev_n(0.0) == pytest.approx(held, rel=1e-9)


def test_an_unknown_sector_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("extends: india-baseline\npolicy:\n  sector_working_stock_months: {boats: 2}\n")
    with pytest.raises(UserError, match="unknown sector 'boats'"):
        load_scenario(str(path))
