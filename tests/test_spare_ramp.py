"""Non-Chinese spare capacity ramps up (issue 13 part 5): it is not there in full in month one.

From the first month of a restriction spell, every origin's spare capacity grows linearly from 0
to full over `risk.spare_ramp_months` (R); month k of the spell gets the ramp's mean over that
month, (k + ½)/R while k + 1 ≤ R. Checked by hand on a one-material cut-off, month by month.
"""

from __future__ import annotations

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.errors import UserError
from repm.scenario import load_scenario
from repm.simulate.engine import simulate
from repm.simulate.shocks import Shocks, ramp_factor, sample, spare_ramp


def test_the_ramp_by_hand():
    # R = 5: month k of the spell gets (k + 0.5) / 5, full from the sixth month
    np.testing.assert_allclose(ramp_factor(np.arange(7), 5), [0.1, 0.3, 0.5, 0.7, 0.9, 1, 1])
    # R = 2.5: 0.5/2.5, 1.5/2.5, then the month the ramp completes: ∫₂^2.5 s/2.5 ds + 0.5
    np.testing.assert_allclose(ramp_factor(np.arange(4), 2.5), [0.2, 0.6, 0.45 + 0.5, 1.0])
    assert np.all(ramp_factor(np.arange(5), 0) == 1.0)  # no ramp: all of it at once


def test_a_spell_starts_the_ramp_once_and_again_after_a_gap():
    level = np.zeros((1, 14, 2), dtype=np.float32)
    level[0, 1:4, 0] = 0.8  # an event in months 1–3 …
    level[0, 3:6, 1] = 1.0  # … another from month 3, while the first is active: one spell
    level[0, 9:11, 0] = 0.5  # a new spell after a gap of three months
    f = spare_ramp(level, 4)[0]
    expect = np.ones(14)
    expect[1:6] = [0.125, 0.375, 0.625, 0.875, 1.0]
    expect[9:11] = [0.125, 0.375]
    np.testing.assert_allclose(f, expect)
    assert spare_ramp(level, 0) is None


@pytest.fixture(scope="module")
def cut_off():
    """The baseline with no working stock; China refuses all its GBD magnets from January 2026
    for n months (one event, one material); other origins' spare GBD capacity is S t/yr."""
    loaded = load_scenario(
        "india-baseline",
        [
            "policy.working_stock_months=0",
            "policy.sector_working_stock_months.ev_car=0",
            "policy.sector_working_stock_months.wind=0",
            "policy.sector_working_stock_months.industrial=0",
        ],
    )
    chain = compile_chain(loaded.scenario)
    O, M, T = len(chain.origins), len(chain.materials), chain.n_years * 12  # noqa: E741
    mats, years = list(chain.materials), list(chain.years)
    gbd, china, y26 = mats.index("magnet_gbd"), chain.origins.index("China"), years.index(2026)
    target = np.zeros((1, O, M))
    target[0, china, gbd] = 1.0

    def run(n: int, ramp_months: float):
        level = np.zeros((1, T, 1), dtype=np.float32)
        level[0, y26 * 12 : y26 * 12 + n, 0] = 1.0
        sh = Shocks(
            event_level=level, event_target=target, event_price=np.zeros((1, M)),
            spare_ramp=spare_ramp(level, ramp_months), n_materials=M,
        )  # fmt: skip
        ds = simulate(chain, shocks=sh).data.sel(year=2026)
        return (
            float(ds.unmet.sel(grade="gbd").sum()),
            ds.imports.sel(material="magnet_gbd").values[0],  # by origin
        )

    return chain, gbd, run


def test_spare_withheld_by_the_ramp_month_by_month(cut_off):
    """A month's GBD need (466.6 t/yr ÷ 12 × China's 87.6 % ≈ 34 t) is far above all the spare
    (≈ 74 t/yr ÷ 12 ≈ 6.2 t), so every tonne of spare is taken: with a 5-month ramp the unmet
    grows by S/12 × (1 − f_k) in month k of the cut-off, f = 0.1, 0.3, 0.5, 0.7, 0.9, 1, …"""
    chain, gbd, run = cut_off
    spare = chain.spare.values[:, gbd]  # t/yr by origin
    S = spare.sum()
    assert 70 < S < 80
    withheld = 0.0
    for n, f in enumerate([0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.0], start=1):
        withheld += S / 12 * (1 - f)
        unmet_flat, imp_flat = run(n, 0)
        unmet_ramp, imp_ramp = run(n, 5)
        assert unmet_ramp - unmet_flat == pytest.approx(withheld, rel=1e-9)
        # each origin sends its spare × the ramp: what it withholds is its own spare's part
        np.testing.assert_allclose(imp_flat - imp_ramp, spare / S * withheld, rtol=1e-9, atol=1e-9)
    assert withheld == pytest.approx(S / 12 * 2.5)  # a 5-month ramp withholds 2.5 months' spare


def test_the_baseline_ramps_spare_as_the_fact_says():
    loaded = load_scenario("india-baseline")
    assert loaded.scenario.risk.spare_ramp_months == 5  # fact spare_ramp_months_non_china
    chain = compile_chain(loaded.scenario)
    sh = sample(loaded.scenario.risk, chain, np.arange(6), seed=2)
    apr25 = 12 + 3
    np.testing.assert_allclose(
        sh.spare_ramp[:, apr25 : apr25 + 6], [[0.1, 0.3, 0.5, 0.7, 0.9, 1]] * 6
    )
    assert np.all(sh.spare_ramp[:, :apr25] == 1.0)  # 2024: nothing restricted, nothing ramps
    # a draw's ramp is its own: the same whether sampled alone or among others
    alone = sample(loaded.scenario.risk, chain, np.array([4, 5]), seed=2)
    assert np.array_equal(alone.spare_ramp, sh.spare_ramp[4:6])


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_bad_ramp_is_a_one_line_error(value):
    with pytest.raises(UserError, match="risk.spare_ramp_months"):
        load_scenario("india-baseline", [f"risk.spare_ramp_months={value}"])
