"""What a risk chunk reads from the kernel's outputs, taken faster, is what NumPy's own
expressions give, bit for bit: the sum over a short last axis (`reduce.sum_last`) and the
largest |mass-balance residual| by year (`balance.residual_by_year`, compiled) — signed zeros,
NaN and infinities included."""

from __future__ import annotations

import numpy as np
from conftest import same_bits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repm.analyses.risk.reduce import sum_last
from repm.simulate import balance, jit

SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e16, -1e16, 1e-300, float("nan"), float("inf"), -float("inf")]
VALUES = st.one_of(st.sampled_from(SPECIAL), st.floats(-1e6, 1e6), st.floats(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(rows=st.integers(1, 6), n=st.integers(1, 10), data=st.data())
def test_sum_last_is_numpys_sum_over_the_last_axis(rows, n, data):
    a = np.array(data.draw(st.lists(VALUES, min_size=rows * n, max_size=rows * n)))
    a = a.reshape(rows, 1, n)
    with np.errstate(all="ignore"):
        assert same_bits(sum_last(a), a.sum(axis=-1))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # the same patch each time
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
       zeros=st.booleans(), data=st.data())  # fmt: skip
def test_residual_by_year_is_numpys(shape, zeros, data, monkeypatch):
    n = int(np.prod(shape))
    pool = st.sampled_from([0.0, -0.0]) if zeros else VALUES  # whole years of signed zeros
    residual = np.array(data.draw(st.lists(pool, min_size=n, max_size=n))).reshape(shape)
    monkeypatch.setattr(jit, "is_compiled", lambda name: True)  # as after the compiled loop ran
    with np.errstate(all="ignore"):
        want = np.maximum(residual.max(axis=(0, 2, 3)), -residual.min(axis=(0, 2, 3)))
        assert same_bits(balance.residual_by_year(residual), want)
