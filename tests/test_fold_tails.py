"""The fold's CVaR tails with a running threshold per row (`Reduction._tails`) are the tails the
fold kept before it (every candidate copied, all rows cut together, each cut partitioning the
zeros: `_old_tails` and `_old_largest_in_rows` below, as reduce.py had them), bit for bit — on
random chunks with many zeros of both signs, ties, NaN, rows short in every draw and in none,
chunks larger than the buffer; and a cut is the cut it was, value for value and in order."""

from __future__ import annotations

import numpy as np
from conftest import same_bits
from hypothesis import given, settings
from hypothesis import strategies as st

from repm.analyses.risk.reduce import Block, Reduction, largest_in_rows, tail_size


def _old_largest_in_rows(rows: np.ndarray, k: int) -> np.ndarray:
    """`largest_in_rows` at 279cd56: the zeros partitioned whatever their bits."""
    out = np.empty((rows.shape[0], k))
    for i in range(rows.shape[0]):
        row = rows[i]
        up = ~(row <= 0.0)
        hi = row[up]
        if len(hi) >= k:
            out[i] = np.partition(hi, len(hi) - k)[len(hi) - k :]
        else:
            rest = row[~up]
            need = k - len(hi)
            out[i, : len(hi)] = hi
            out[i, len(hi) :] = np.partition(rest, len(rest) - need)[len(rest) - need :]
    return out


def _old_tails(chunks: list[np.ndarray], k: int) -> np.ndarray:
    """The fold's tails before the thresholds (reduce.py at 279cd56): year × sector CVaR."""
    Y, S = chunks[0].shape[1:]
    cap = 3 * k
    worst = np.empty((Y * S, cap))
    filled = 0
    for u in chunks:
        rows = u.reshape(len(u), -1).T
        if filled + rows.shape[1] > cap:
            if filled > k:
                worst[:, :k] = _old_largest_in_rows(worst[:, :filled], k)
                filled = k
            if filled + rows.shape[1] > cap:
                grown = np.empty((len(worst), filled + rows.shape[1]))
                grown[:, :filled] = worst[:, :filled]
                worst, cap = grown, grown.shape[1]
        worst[:, filled : filled + rows.shape[1]] = rows
        filled += rows.shape[1]
    kept = worst[:, :filled]
    if filled > k:
        kept = _old_largest_in_rows(kept, k)
    w = np.sort(kept, axis=1).reshape(Y, S, -1)
    return np.stack([np.ascontiguousarray(w[:, s].T).mean(axis=0) for s in range(S)], 1)


def _chunks(rng, n: int, Y: int, S: int, sizes: list[int], kind: str) -> list[np.ndarray]:
    u = rng.exponential(5.0, (n, Y, S))
    short = rng.random((n, Y, S)) < rng.choice([0.0, 0.02, 0.2, 0.9, 1.0], (1, Y, S))
    u = np.where(short, u, 0.0)
    if kind in ("signed zeros", "all"):
        u[(u == 0) & (rng.random(u.shape) < 0.5)] = -0.0
    if kind in ("ties", "all"):
        u = np.round(u)  # many equal values above 0
    if kind in ("nan", "all"):
        u[rng.random(u.shape) < 0.002] = np.nan
    if kind == "negative":
        u[rng.random(u.shape) < 0.05] = -1e-12  # round-off below 0
    out, lo = [], 0
    for size in sizes:
        if lo >= n:
            break
        out.append(u[lo : lo + size])
        lo += size
    if lo < n:
        out.append(u[lo:])
    return out


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 600),
    Y=st.integers(1, 3),
    S=st.integers(1, 3),
    alpha=st.sampled_from([0.0, 0.5, 0.8, 0.95, 0.99]),
    sizes=st.lists(st.integers(1, 80), min_size=1, max_size=40),
    kind=st.sampled_from(["plain", "signed zeros", "ties", "nan", "negative", "all"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_thresholded_tails_are_the_folds_tails_before(n, Y, S, alpha, sizes, kind, seed):
    chunks = _chunks(np.random.default_rng(seed), n, Y, S, sizes, kind)
    red = Reduction(n, Y, S, 1, lambda t: t.sum(axis=2), alpha)
    lo = 0
    for u in chunks:
        z = np.zeros
        m = len(u)
        red.add(Block(np.arange(lo, lo + m), u, z((m, Y)), z((m, Y, 1)), z((m, 1)), z(Y),
                      z((m, Y, S))))  # fmt: skip
        lo += m
    got = red.result().sector_cvar
    assert same_bits(got, _old_tails(chunks, tail_size(alpha, n)))


def test_dense_rows_take_thresholds_and_sparse_rows_do_not():
    """A row short in every draw gets a threshold after the first cut, raised cut by cut; a
    row short in fewer draws than its tail holds never does."""
    rng = np.random.default_rng(3)
    n, size = 20_000, 500
    u = np.zeros((n, 1, 2))
    u[:, 0, 0] = rng.exponential(1.0, n)  # short in every draw
    u[rng.random(n) < 0.01, 0, 1] = 1.0  # in 1 % (fewer than k = 1,000)
    red = Reduction(n, 1, 2, 1, lambda t: t.sum(axis=2))
    for lo in range(0, n, size):
        m = min(size, n - lo)
        z = np.zeros
        red.add(Block(np.arange(lo, lo + m), u[lo : lo + m], z((m, 1)), z((m, 1, 1)), z((m, 1)),
                      z(1), z((m, 1, 2))))  # fmt: skip
    assert red.thr[1] == 0  # cut with the others, every candidate kept
    assert red.thr[0] > np.quantile(u[:, 0, 0], 0.75)  # by the end, 3 in 4 values dropped
    chunks = [u[lo : lo + size] for lo in range(0, n, size)]
    assert same_bits(red.result().sector_cvar, _old_tails(chunks, tail_size(0.95, n)))


@settings(max_examples=300, deadline=None)
@given(
    rows=st.integers(1, 4),
    n=st.integers(1, 300),
    k_share=st.floats(0.01, 1.0),
    pool=st.sampled_from(
        [
            [0.0],
            [0.0, 1.0, 2.5],
            [0.0, -0.0, 3.0],
            [0.0, -1e-9, 7.0],
            [0.0, float("nan"), 1.0],
            [-0.0],
        ]
    ),  # fmt: skip
    short=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_cut_is_the_cut_before_value_for_value(rows, n, k_share, pool, short, seed):
    """The cut's output, in its order (the next cut partitions it again), is the one before,
    where the rest of the k are taken from all-0.0 values without partitioning them."""
    rng = np.random.default_rng(seed)
    x = rng.choice(pool, (rows, n)) + (rng.random((rows, n)) < short) * rng.exponential(
        1, (rows, n)
    )
    x[x == 0] = rng.choice(pool, (rows, n))[x == 0] * 0.0  # zeros keep the pool's signs
    k = max(1, min(n, int(k_share * n)))
    got, want = largest_in_rows(x, k), _old_largest_in_rows(x, k)
    assert same_bits(got, want)
