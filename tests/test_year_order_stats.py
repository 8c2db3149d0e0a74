"""The end of a risk run reads its order statistics by year from one contiguous year × draw copy
(`DrawSummary.by_year`): the quantiles, several in one call, and the CVaR are what NumPy's
expressions on the draw × year totals gave (as `metrics` and the risk command computed them),
bit for bit — zeros of both signs, ties, NaN, one draw, a tail as long as the draws."""

from __future__ import annotations

import dataclasses

import numpy as np
from conftest import same_bits
from hypothesis import given, settings
from hypothesis import strategies as st

from repm.analyses.risk.reduce import DrawSummary, cvar


def _summary(total: np.ndarray) -> DrawSummary:
    n, Y = total.shape
    z = np.zeros
    return DrawSummary(n, 0.95, total, total.sum(axis=1), z((n, Y)), z((n, 1)), z(Y), z((Y, 1)),
                       z((Y, 1)), z((Y, 1)), z(Y), z((Y, 1)))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 400),
    Y=st.integers(1, 4),
    pool=st.sampled_from([[0.0], [0.0, -0.0], [0.0, 1.0, 2.0], [0.0, float("nan")], [-1e-12, 0.0]]),
    short=st.floats(0.0, 1.0),
    alpha=st.sampled_from([0.0, 0.5, 0.95, 0.999]),
    seed=st.integers(0, 2**32 - 1),
)
def test_order_statistics_by_year_are_numpys_on_the_totals(n, Y, pool, short, alpha, seed):
    rng = np.random.default_rng(seed)
    total = rng.choice(pool, (n, Y)) + (rng.random((n, Y)) < short) * rng.exponential(5, (n, Y))
    s = _summary(total)
    qs = [0.05, 0.5, 0.95]
    got = s.quantiles(qs, "inverted_cdf")
    for i, q in enumerate(qs):
        assert same_bits(got[i], np.quantile(total, q, axis=0, method="inverted_cdf"))
    five = [0.05, 0.25, 0.5, 0.75, 0.95]
    assert same_bits(s.quantiles(five), np.quantile(total, five, axis=0))
    assert same_bits(s.cvar(alpha), cvar(total, alpha))
    assert s.by_year is s.by_year and s.by_year.flags.c_contiguous  # one copy, made once


def test_a_summary_of_other_layout_takes_numpys_path():
    total = np.asfortranarray(np.random.default_rng(1).exponential(1, (50, 3)))
    s = dataclasses.replace(_summary(np.ascontiguousarray(total)), total=total)
    assert same_bits(s.cvar(0.9), cvar(total, 0.9))
