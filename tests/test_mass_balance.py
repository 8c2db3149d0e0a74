"""A broken mass balance raises (as flodym's check does) instead of only being printed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repm.errors import MassBalanceError
from repm.simulate.engine import BALANCE_ATOL, check_mass_balance

PROCESSES, ELEMENTS = ("mining", "use"), ("Nd", "Dy")


def test_round_off_passes_and_a_leak_raises_naming_where() -> None:
    flows = np.full((3, 2, 4, 2), 1000.0)
    residual = np.full((3, 2, 2, 2), 1e-11)
    check_mass_balance(residual, flows, PROCESSES, ELEMENTS)  # round-off: no error
    residual[2, 1, 1, 1] = -0.5  # half a tonne of Dy lost at `use`, draw 2, second year
    with pytest.raises(
        MassBalanceError, match=r"-0.5 t of Dy at process 'use' \(draw 2, year index 1\)"
    ):
        check_mass_balance(residual, flows, PROCESSES, ELEMENTS)


def test_the_tolerance_grows_with_the_tonnes_summed_and_nan_fails() -> None:
    residual = np.zeros((1, 1, 2, 2))
    residual[0, 0, 0, 0] = 2 * BALANCE_ATOL
    small, large = np.full((1, 1, 1, 2), 1.0), np.full((1, 1, 1, 2), 1e7)
    with pytest.raises(MassBalanceError):
        check_mass_balance(residual, small, PROCESSES, ELEMENTS)
    check_mass_balance(residual, large, PROCESSES, ELEMENTS)  # 2e-6 t in 1e7 t: round-off
    residual[0, 0, 1, 1] = np.nan
    with pytest.raises(MassBalanceError):
        check_mass_balance(residual, large, PROCESSES, ELEMENTS)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.sampled_from(
                [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, float("nan"), float("inf"), -float("inf")]
            ),
            st.floats(-1e3, 1e3),
        ),
        min_size=1,
        max_size=40,
    ),  # fmt: skip
)
def test_the_largest_magnitude_without_an_abs_array_is_numpys(values):
    """abs_argmax and abs_max (the check reads them without an |array| the size of a chunk's
    outputs) are `np.argmax(np.abs(a))` and `np.abs(a).max(initial=0.0)`: ties, signs, NaN."""
    import math

    from repm.simulate.balance import abs_argmax, abs_max

    a = np.array(values).reshape(-1, 1)[: len(values)]
    assert abs_argmax(a) == int(np.argmax(np.abs(a)))
    want, got = float(np.abs(a).max(initial=0.0)), abs_max(a)
    assert got == want or (math.isnan(got) and math.isnan(want))


@settings(max_examples=200, deadline=None)
@given(
    res=st.lists(
        st.one_of(st.sampled_from([0.0, -0.0, BALANCE_ATOL, -BALANCE_ATOL, 2e-6, float("nan")]),
                  st.floats(-1e-6, 1e-6)),
        min_size=8, max_size=8,
    ),
    flow=st.one_of(st.sampled_from([1.0, 1e7, float("inf"), float("nan")]), st.floats(0, 1e9)),
)  # fmt: skip
def test_the_check_from_the_residual_by_year_is_the_full_check(res, flow):
    """Given `residual_by_year`, a run within BALANCE_ATOL passes without the flows being read;
    whatever the residuals, the check raises exactly when (and with the message) the full one
    does — as long as a NaN flow makes a residual NaN, as the kernel's balance does."""
    from repm.simulate.balance import residual_by_year

    residual = np.array(res).reshape(1, 2, 2, 2)
    flows = np.full((1, 2, 3, 2), 1.0)
    flows[0, 1, 2, 0] = flow
    if flow != flow:
        residual[0, 1, 0, 0] = np.nan  # the flow's process

    def outcome(by_year):
        try:
            check_mass_balance(residual, flows, PROCESSES, ELEMENTS, by_year)
        except MassBalanceError as exc:
            return str(exc)
        return None

    by_year = residual_by_year(residual)
    with np.errstate(invalid="ignore"):
        assert np.array_equal(by_year, np.abs(residual).max(axis=(0, 2, 3)), equal_nan=True)
    assert outcome(by_year) == outcome(None)
