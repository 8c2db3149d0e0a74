"""The mass balance, checked the way flodym does: every process's inputs − outputs − Δstock per
element, year and draw (computed by `books.balance`, compiled), and an error when it leaks."""

from __future__ import annotations

import numpy as np
import xarray as xr

from repm.errors import MassBalanceError
from repm.model import ModelDefinition, default_definition
from repm.simulate import books, jit
from repm.simulate.arrays import _f64


def _process_flows(
    model: ModelDefinition, flow_names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the mass balance: per process, the indexes (in flow_names) of the flows into it and
    out of it (−1 padded), and the process indexes of the stocks (the definition's `stocks`)."""
    PROCESSES = model.processes
    index = {n: i for i, n in enumerate(flow_names)}
    ins = [[index[f.name] for f in model.flow_list if f.target == p] for p in PROCESSES]
    outs = [[index[f.name] for f in model.flow_list if f.source == p] for p in PROCESSES]
    width = max(len(x) for x in ins + outs)
    inflows = np.full((len(PROCESSES), width), -1, dtype=np.int64)
    outflows = np.full((len(PROCESSES), width), -1, dtype=np.int64)
    for pi in range(len(PROCESSES)):
        inflows[pi, : len(ins[pi])] = ins[pi]
        outflows[pi, : len(outs[pi])] = outs[pi]
    stocked = np.array([PROCESSES.index(p) for p in model.stocks])
    return inflows, outflows, stocked


BALANCE_ATOL = 1e-6  # t: far above round-off (~1e-11 t here), far below anything that matters
BALANCE_RTOL = 1e-9  # of the largest flow: round-off grows with the tonnes summed


def abs_argmax(a: np.ndarray) -> int:
    """`np.argmax(np.abs(a))` (the first index of the largest |value|, a NaN's if any) from the
    largest and the smallest value, without an |a| array the size of a chunk's outputs."""
    hi, lo = int(np.argmax(a)), int(np.argmin(a))
    x, y = abs(float(a.flat[hi])), abs(float(a.flat[lo]))
    if x != x:  # NaN: argmax gives the first NaN
        return hi
    return lo if y > x else hi if x > y else min(hi, lo)


def abs_max(a: np.ndarray) -> float:
    """`np.abs(a).max(initial=0.0)` from the largest and the smallest value (NaN if any is)."""
    if a.size == 0:
        return 0.0
    top = float(a.max())
    return top if top != top else max(0.0, top, -float(a.min()))  # top != top: NaN


def residual_by_year(residual: np.ndarray) -> np.ndarray:
    """year: the largest |residual| over draws, processes and elements (NaN if any is NaN):
    `np.maximum(residual.max(axis=(0, 2, 3)), -residual.min(axis=(0, 2, 3)))`, in one compiled
    pass (~5× less time a risk chunk). A largest |residual| is one value whatever the order it
    is found in, except 0 (±0) and NaN: a year with those is taken as NumPy has it. A few
    draws the kernel ran uncompiled compile nothing here either."""
    if residual.size == 0 or residual.dtype != np.float64 or not jit.is_compiled(_LOOP):
        return _by_year_numpy(residual)
    hi, lo = np.empty(residual.shape[1]), np.empty(residual.shape[1])
    range_by_year(np.ascontiguousarray(residual), hi, lo)
    by_year = np.maximum(hi, -lo)
    if not (by_year > 0).all():
        return _by_year_numpy(residual)
    return by_year


def _by_year_numpy(residual: np.ndarray) -> np.ndarray:
    return np.maximum(residual.max(axis=(0, 2, 3)), -residual.min(axis=(0, 2, 3)))


_JIT = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)
_LOOP = "repm.simulate.loop"  # the draw loop's module: compiled once a run has many draws


@jit.njit(**_JIT)
def _range_by_year(residual, hi, lo):
    """hi[y], lo[y]: the largest and smallest residual of year y, NaN if any is. Each process ×
    element its own running extreme (a select per element, which the compiler vectorises; a
    single running extreme is a chain it does not), reduced at the end."""
    D, Y, P, E = residual.shape
    K = P * E
    r = residual.reshape(D, Y, K)
    top = np.full((Y, K), -np.inf)
    bottom = np.full((Y, K), np.inf)
    nan = np.zeros((Y, K), dtype=np.bool_)
    for d in range(D):
        for y in range(Y):
            for k in range(K):
                x = r[d, y, k]
                top[y, k] = x if x > top[y, k] else top[y, k]
                bottom[y, k] = x if x < bottom[y, k] else bottom[y, k]
                nan[y, k] |= x != x
    for y in range(Y):
        h, lo_y, any_nan = -np.inf, np.inf, False
        for k in range(K):
            h = top[y, k] if top[y, k] > h else h
            lo_y = bottom[y, k] if bottom[y, k] < lo_y else lo_y
            any_nan |= nan[y, k]
        hi[y] = np.nan if any_nan else h
        lo[y] = np.nan if any_nan else lo_y


range_by_year = jit.compiled_call(__name__, "_range_by_year")


def check_mass_balance(
    residual: np.ndarray, flows: np.ndarray, processes, elements, by_year: np.ndarray | None = None
) -> None:
    """Raise if any process leaks or makes mass (as flodym's check does): |inputs − outputs −
    Δstock| above BALANCE_ATOL + BALANCE_RTOL × the largest flow, for any draw, year, process
    and element. residual: draw × year × process × element; flows: draw × year × flow × element.

    by_year: `residual_by_year(residual)`, from a caller whose every flow enters some process's
    residual. Then a run within BALANCE_ATOL passes without reading the flows (~3 of a chunk's
    ~4 passes over its outputs): a NaN flow would make a residual NaN, so the flows are not NaN
    and the tolerance is at least BALANCE_ATOL."""
    if residual.size == 0:
        return
    if by_year is not None and by_year.max() <= BALANCE_ATOL:  # NaN: not ≤, checked in full
        return
    at = abs_argmax(residual)
    worst = np.unravel_index(at, residual.shape)
    value = float(residual.flat[at])
    tol = BALANCE_ATOL + BALANCE_RTOL * abs_max(flows)
    if not abs(value) <= tol:  # NaN fails too
        d, y, p, e = (int(i) for i in worst)
        raise MassBalanceError(
            f"mass balance broken: {value:.3g} t of {elements[e]} at process {processes[p]!r} "
            f"(draw {d}, year index {y}); tolerance {tol:.1g} t"
        )


def mass_balance(
    ds: xr.Dataset, stockpile0: np.ndarray, in_use0: np.ndarray, mc: np.ndarray, gc: np.ndarray
) -> xr.DataArray:
    """inputs − outputs − Δstock for every process, element and year (t of element).

    The check `simulate` runs on every draw as the kernel finishes it (its `residual`), here from
    any Dataset's flows and stock levels: stockpile0 (t of material) and in_use0 (t by sector ×
    grade) are the stocks when the horizon opens, a row per draw or one for all."""
    fl = _f64(ds["flows"].transpose("draw", "year", "flow", "element").values)
    D, Y, _, E = fl.shape
    model = default_definition()  # the flow table is the kernel's, whatever the grades
    inflows, outflows, stocked = _process_flows(model, [str(n) for n in ds["flow"].values])
    stocks = tuple(
        _f64(ds[v].values)
        for v in (
            "stockpile_level",
            "working_stock",
            "recycled_inventory",
            "in_use_stock",
            "tolling_transit",
        )
    )
    # the compiled sums run unchecked: stocks of the wrong shape would be read past their ends
    in_use = stocks[3]  # draw × year × sector × grade
    if np.ndim(in_use0) != 3 or np.shape(in_use0)[1:] != in_use.shape[2:]:
        raise ValueError(
            f"in_use0 has shape {np.shape(in_use0)}; expected (draws or 1, "
            f"{in_use.shape[2]} sectors, {in_use.shape[3]} grades)"
        )
    if np.ndim(stockpile0) != 2 or np.shape(stockpile0)[1] != stocks[0].shape[2]:
        raise ValueError(
            f"stockpile0 has shape {np.shape(stockpile0)}; expected (draws or 1, "
            f"{stocks[0].shape[2]} materials)"
        )
    out = np.empty((D, Y, len(model.processes), E))
    books.balance(fl, inflows, outflows, stocks, _f64(stockpile0), _f64(in_use0), _f64(mc),
                   _f64(gc), stocked, out)  # fmt: skip
    return xr.DataArray(
        out,
        dims=("draw", "year", "process", "element"),
        coords={
            "draw": ds.draw,
            "year": ds.year,
            "process": list(model.processes),
            "element": ds.element,
        },
    )
