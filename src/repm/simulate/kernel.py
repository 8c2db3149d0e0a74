"""The engine's time loop, run: `run(inp, out)` walks each draw through all years and steps
(months or years) of the supply rule (`repm.simulate.loop`, compiled) and writes its annual sums
into `out`; `repm.simulate.engine.simulate` prepares the inputs and labels the outputs.

Draws are independent — nothing of one draw is ever combined with another's — so a draw's
numbers are the same whatever draws share its chunk and however many threads run; `run`
spreads blocks of draws over threads. `fastmath` stays off: every sum keeps its order and
results are reproducible bit for bit.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from repm.simulate import jit, loop
from repm.simulate.arrays import Outputs
from repm.simulate.loop import _block

BLOCK = 16  # draws per parallel task; scratch arrays are allocated once per block
PY_DRAW_STEPS = 8 * 144  # draws × steps run uncompiled when the compiled kernel is not loaded


def run(inp, out, threads: int | None = None) -> None:
    """Simulate every draw of `out` through all years and steps of the rule (module docstring).

    A few draws (at most PY_DRAW_STEPS draw-steps) run as plain Python when this process has not
    loaded the compiled kernel yet: the same numbers bit for bit, in less time than loading it
    (~0.4 s) and no compiler on a first run. Otherwise the compiled kernel (`nogil`) runs blocks of
    draws on `threads` threads (default: every core); each draw depends on its own inputs only,
    so the numbers are the same for any split."""
    D = out.unmet.shape[0]
    if D * out.unmet.shape[1] * inp.spy <= PY_DRAW_STEPS and not jit.is_compiled(loop.__name__):
        try:
            with np.errstate(all="ignore"):
                _block(0, D, inp, out)
            return
        except (ZeroDivisionError, OverflowError):  # Python floats raise where NumPy's give inf
            pass
    block = compiled()._block
    if getattr(_SERIAL, "on", False):
        threads = 1
    n = min(threads or os.cpu_count() or 1, (D + BLOCK - 1) // BLOCK)
    if n <= 1:
        block(0, D, inp, out)
        return
    per = -(-D // n)
    with ThreadPoolExecutor(n, thread_name_prefix="repm-kernel") as pool:
        for f in [pool.submit(block, lo, min(D, lo + per), inp, out) for lo in range(0, D, per)]:
            f.result()


def run_sets(inps, out, per_set: int, threads: int | None = None) -> None:
    """Parameter sets on one draw axis: set p (its inputs `inps[p]`: its own chain's arrays and
    its own shocks for `per_set` draws) fills draws p × per_set … (p + 1) × per_set − 1 of `out`.
    Each set runs the same compiled `_block` as `run` on views of `out`, so a set's numbers are
    bit for bit those of a run of that set alone; sets are spread over `threads` threads."""
    P = len(inps)
    if P == 0:
        return
    # each array's draws of each set: views (a C-contiguous array split once, not sliced per set;
    # a reshape of any other would be a copy the kernel writes into unseen)
    split = [
        list(a[: P * per_set].reshape(P, per_set, *a.shape[1:])) if a.flags.c_contiguous
        else [a[p * per_set : (p + 1) * per_set] for p in range(P)]
        for a in out
    ]  # fmt: skip
    views = [Outputs._make(v) for v in zip(*split, strict=True)]
    steps = per_set * out.unmet.shape[1] * inps[0].spy
    if P * steps <= PY_DRAW_STEPS and not jit.is_compiled(loop.__name__):
        try:
            with np.errstate(all="ignore"):
                for inp, view in zip(inps, views, strict=True):
                    _block(0, per_set, inp, view)
            return
        except (ZeroDivisionError, OverflowError):
            pass
    block = compiled()._block
    if getattr(_SERIAL, "on", False):
        threads = 1
    n = min(threads or os.cpu_count() or 1, P)

    def work(lo: int, hi: int) -> None:
        for p in range(lo, hi):
            block(0, per_set, inps[p], views[p])

    if n <= 1:
        work(0, P)
        return
    per = -(-P // n)
    with ThreadPoolExecutor(n, thread_name_prefix="repm-kernel") as pool:
        for f in [pool.submit(work, lo, min(P, lo + per)) for lo in range(0, P, per)]:
            f.result()


def run_stacked(stacked, out, per_set: int, threads: int | None = None) -> None:
    """`run_sets` of each set of `stacked` (`prepare.stacked_inputs`: fields on a leading set
    axis), by one call into compiled code a thread (`repm.simulate.stacked`: each set's inputs
    and output views made there), not one a set: the same numbers bit for bit. Where the compiled
    kernel is not loaded and the run is small, or an output is not C-contiguous, `run_sets` on
    `set_inputs`."""
    from repm.simulate import stacked as stacked_module  # imports `prepare` (xarray)
    from repm.simulate.prepare import set_inputs

    P = len(stacked.bare)
    if P == 0:
        return
    steps = P * per_set * out.unmet.shape[1] * stacked.spy
    small = steps <= PY_DRAW_STEPS and not jit.is_compiled(loop.__name__)
    if small or not all(a.flags.c_contiguous for a in out):
        run_sets(set_inputs(stacked), out, per_set, threads)
        return
    _check_stacked(stacked, P, P * per_set, out)
    sets = jit.compiled(stacked_module)._sets
    if getattr(_SERIAL, "on", False):
        threads = 1
    n = min(threads or os.cpu_count() or 1, P)
    if n <= 1:
        sets(0, P, per_set, stacked, out)
        return
    per = -(-P // n)
    with ThreadPoolExecutor(n, thread_name_prefix="repm-kernel") as pool:
        tasks = [pool.submit(sets, lo, min(P, lo + per), per_set, stacked, out)
                 for lo in range(0, P, per)]  # fmt: skip
        for f in tasks:
            f.result()


def _check_stacked(stacked, sets: int, draws: int, out) -> None:
    """What compiled code cannot check for itself (it writes past a short array unseen) and what
    would make Numba compile `_sets` or `_block` again for another type: each per-set field one
    row a set, writeable; its numbers float64, int64 or bool, as `set_inputs`' Python numbers
    type; `out` at least `draws` draws. A ValueError names the field (a bug, not input)."""
    from repm.simulate.prepare import _MODES

    if out.unmet.shape[0] < draws:
        raise ValueError(f"outputs of {out.unmet.shape[0]} draws for {draws}")
    for field, mode, v in zip(stacked._fields, _MODES, stacked, strict=True):
        if not isinstance(v, np.ndarray):
            continue
        if not v.flags.writeable:
            raise ValueError(f"stacked input {field} is read-only")
        if mode and len(v) != sets:
            raise ValueError(f"stacked input {field}: {len(v)} rows for {sets} sets")
        if mode == 1 and v.dtype not in (np.float64, np.int64, np.bool_):
            raise ValueError(f"stacked input {field}: {v.dtype}; expected float64, int64 or bool")


def run_serial(inp, out) -> None:
    """`run` on the calling thread only (the same numbers: each draw on its own)."""
    run(inp, out, threads=1)


_SERIAL = threading.local()


@contextmanager
def serial():
    """Within this block, `run` on this thread uses this thread only (chunks already run side by
    side on threads of their own: `repm.analyses.risk.run_draws`)."""
    before = getattr(_SERIAL, "on", False)
    _SERIAL.on = True
    try:
        yield
    finally:
        _SERIAL.on = before


def compiled():
    """The compiled kernel (`repm.simulate.jit.compiled`: loaded from Numba's cache, or compiled once)."""
    return jit.compiled(loop)
