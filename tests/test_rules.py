"""The shared rules (repm.rules) against hand calculations and the engine's shortcuts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repm.chain.rules import (
    fresh_alloy_per_magnet,
    interp_path,
    origin_offer,
    ramp_share,
    release_gap,
    toll_factor,
)


def test_paths_are_linear_between_points_and_flat_outside() -> None:
    got = interp_path({2026: 0.0, 2030: 0.4}, np.arange(2024, 2033))
    np.testing.assert_allclose(got, [0, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.4, 0.4])


def test_a_unit_ramps_over_its_rampup_years_from_its_first_year() -> None:
    got = ramp_share(np.arange(2026, 2033), first_year=2028, rampup_years=4)
    np.testing.assert_allclose(got, [0, 0, 0.25, 0.5, 0.75, 1.0, 1.0])


def test_fresh_alloy_per_magnet_by_hand() -> None:
    # 90 % alloy→magnet: 1/0.9 t alloy in; of the 0.111 t scrap, half is re-melted
    assert fresh_alloy_per_magnet(0.9, 0.5) == pytest.approx(1 / 0.9 - 0.5 * (1 / 0.9 - 1))
    assert fresh_alloy_per_magnet(1.0, 0.7) == 1.0  # no scrap: nothing to re-melt


@settings(max_examples=60, deadline=None)
@given(
    need=st.floats(0, 1e4),
    rows=st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 500), st.floats(0, 1)), min_size=1, max_size=8
    ),
)
def test_the_engine_offer_is_the_rule_summed_over_origins(need, rows) -> None:
    share, spare, avail = (np.array(c) for c in zip(*rows, strict=True))
    per_origin = origin_offer(need, share, spare, avail)
    engine = need * (avail * share).sum() + (avail * spare).sum()  # kernel: need × Σ + Σ
    assert per_origin.sum() == pytest.approx(engine, rel=1e-12, abs=1e-9)
    assert release_gap(need, per_origin.sum()) == pytest.approx(max(need - engine, 0.0), abs=1e-6)


def test_tolling_returns_need_the_partner_and_the_licensing_origins() -> None:
    avail = np.array([0.5, 1.0, 0.2])  # China restricted by half, Japan free, a third origin
    exposure = np.array([0.8, 0.0, 0.0])  # 80 % of returns need a Chinese licence
    # Japan tolls: 1.0 × (1 − 0.8 × (1 − 0.5)) = 0.6
    assert toll_factor(avail, 1, exposure) == pytest.approx(0.6)
    assert toll_factor(avail, 2, np.zeros(3)) == pytest.approx(0.2)
