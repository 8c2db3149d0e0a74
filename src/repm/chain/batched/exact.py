"""Exact building blocks for the batched chain modules: the same IEEE operations, in the same
order, as the per-sample code does on each sample (measured in bench/sample_axis/README.md).

- Element-wise + − × ÷, min/max, where are correctly rounded: broadcasting over a sample axis
  changes nothing. Keep the per-sample code's association (`a * b / c` is `(a*b)/c`).
- Reductions: keep the reduced axis last and contiguous, as the per-sample code has it (numpy
  sums an inner contiguous axis pairwise, an outer one row by row).
- `x ** y` on Python floats is C's pow; `np.power` on float64 arrays may take SIMD code that
  differs in the last bit: `libm_pow` (Python's operator pair by pair). `arr ** 2` is `x*x` in numpy (not pow(x, 2.0)).
- `np.interp` written out with numpy's own formula: `interp`.
- `a @ b` of two vectors (BLAS ddot, an FMA chain in OpenBLAS): `rowdot` (a stack of matmuls).
- Python's `sum()` of floats (sequential on 3.11, compensated from 3.12): `py_sum`; `min(a, b)`:
  `py_min`.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from repm.errors import UserError


def libm_pow(a, b) -> np.ndarray:
    """Element-wise `a ** b` as Python's float `**` computes it (C's pow), broadcast. `math.pow`
    is that pow wherever neither raises (both apply C99's special cases, then call C's pow), and
    mapped over the pairs it costs ~half Python's operator in a loop of our own; where it raises
    (0 to a negative power, overflow, a negative base) each pair is computed as `_pow` does. No
    compiler is loaded for this: a small batch runs without Numba."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    xs, ys = a.ravel().tolist(), b.ravel().tolist()
    try:
        out = list(map(math.pow, xs, ys))
    except (ValueError, OverflowError, ZeroDivisionError):
        out = [_pow(x, y) for x, y in zip(xs, ys, strict=True)]
    return np.array(out, dtype=float).reshape(a.shape)


def _pow(x: float, y: float) -> float:
    """C's pow(x, y) for Python floats: Python's operator, or what C gives where Python raises
    (0 to a negative power, overflow) or makes a complex number (a negative base) — a block's
    invalid samples are computed beside the valid ones and refused later."""
    try:
        r = x**y
    except (ZeroDivisionError, OverflowError):
        with np.errstate(all="ignore"):
            return float(np.float64(x) ** np.float64(y))
    return r if type(r) is float else math.nan


def py_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Python's `sum(floats)` element-wise over a list of (S,) arrays: 0 + x1 + x2 … on 3.11;
    from 3.12, Neumaier's compensated sum as CPython writes it (builtin_sum_impl)."""
    if not arrays:
        return np.zeros(())
    acc = 0 + arrays[0]
    if sys.version_info < (3, 12):
        for x in arrays[1:]:
            acc = acc + x
        return acc
    c = np.zeros_like(acc)
    for x in arrays[1:]:
        t = acc + x
        c = c + np.where(np.abs(acc) >= np.abs(x), (acc - t) + x, (x - t) + acc)
        acc = t
    return np.where((c != 0) & np.isfinite(c), acc + c, acc)


def py_min(a, b):
    """Python's min(a, b): a unless b < a (NaN and ±0 as Python has them; np.minimum not)."""
    return np.where(b < a, b, a)


def py_max(a, b):
    """Python's max(a, b): a unless b > a."""
    return np.where(b > a, b, a)


_PLANS: dict = {}  # (xp, x) → where each x falls: structure, computed once


def _interp_plan(xp: tuple, x: tuple):
    plan = _PLANS.get((xp, x))
    if plan is None:
        xa, xv = np.asarray(xp, dtype=float), np.asarray(x, dtype=float)
        K = len(xa)
        j = np.searchsorted(xa, xv, side="right") - 1
        # the value of a point (left of all, at a point, right of all): which fp column
        at = np.where(j < 0, 0, np.where(j >= K - 1, K - 1, j))
        inner = (
            (j >= 0) & (j < K - 1) & (xa[np.clip(j, 0, K - 1)] != xv)
            if K > 1
            else np.zeros(len(xv), bool)
        )
        ji = j[inner]
        plan = (at, inner, ji, xa[ji + 1] - xa[ji], xv[inner] - xa[ji], xv[inner] - xa[ji + 1])
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[(xp, x)] = plan
    return plan


def interp(points_x, fp: np.ndarray, x) -> np.ndarray:
    """`np.interp(x, xp, fp[s])` for each sample s: xp (sorted, structure) and x shared, fp
    (S, K). numpy's arr_interp formula: left/right = fp[0]/fp[-1], at a point its value, else
    slope = (fp[j+1]-fp[j]) / (xp[j+1]-xp[j]); slope*(x-xp[j]) + fp[j] (the other side if NaN).
    Where each x falls is structure (one plan per xp, x); the values are the samples'."""
    at, inner, ji, dxp, dx0, dx1 = _interp_plan(
        tuple(float(v) for v in points_x), tuple(np.asarray(x, dtype=float).tolist())
    )
    out = fp[:, at]  # every x its point's value: left, at a point, right
    if ji.size:
        f0, f1 = fp[:, ji], fp[:, ji + 1]
        slope = (f1 - f0) / dxp
        r = slope * dx0 + f0
        bad = np.isnan(r)
        if bad.any():  # the other side, as numpy does
            r2 = slope * dx1 + f1
            r2 = np.where(np.isnan(r2) & (f0 == f1), f0, r2)
            r = np.where(bad, r2, r)
        out[:, inner] = r
    return out


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each sample's `a[s] @ b[s]` (vectors): a stack of (1, k) @ (k, 1) matmuls, which numpy
    does by its dot function on each pair — the per-sample code's BLAS ddot (an FMA kernel in
    OpenBLAS); (a*b).sum(-1) or einsum give other floats."""
    return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]


class Failures:
    """Each sample's first UserError (the one its own per-sample module raises), in check order:
    `check(bad, make)` records `make(i)` for each sample i newly bad; `raise_first` raises the
    lowest sample's, as a loop over the samples would stop there."""

    def __init__(self, n: int) -> None:
        self.err: dict[int, UserError] = {}
        self.ok = np.ones(n, dtype=bool)

    def check(self, bad: np.ndarray, make) -> None:
        for i in np.flatnonzero(bad & self.ok).tolist():
            self.err[i] = make(i)
        self.ok &= ~bad

    def raise_first(self) -> None:
        if self.err:
            raise self.err[min(self.err)]
