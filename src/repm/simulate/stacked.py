"""A block's parameter sets run by one call into compiled code (`_sets`), not one call each.

`kernel.run_sets` calls the compiled draw loop (`loop._block`) from Python once a set, and each
call unboxes the set's ~70 input arrays (~0.036 ms, against ~0.08 ms of work a set). `_sets`
takes the stacked inputs (`prepare.stacked_inputs`) once and makes each set's `Inputs` in
compiled code — its row of each stacked field, its number of each per-set one, the shared
fields as they are (`prepare._MODES`) — and its draws of the outputs: arrays of the types the
Python path gives (an integer index, or a slice without step, on a C array's first axis keeps it
C-contiguous), so `_block` keeps its one compiled signature and a set's numbers are those of
`run_sets`.

The per-field construction is generated from `arrays.Inputs._fields`, `prepare._MODES` and
`arrays.Outputs._fields` (`GENERATED`), so it cannot fall out of step with them. It is inlined
into `_sets` (Numba IR), which Numba caches; the generated text is part of this module's cache
stamp (`jit.source_stamp`), so a `_sets` built from another field list is never served.
"""

from __future__ import annotations

import numpy as np

from repm.simulate.arrays import Inputs, Outputs
from repm.simulate.jit import KERNEL, STAGE, njit
from repm.simulate.loop import _block
from repm.simulate.prepare import _MODES

# set p's inputs: a shared field as it is, else its [p] (a row, or a number of a 1-D array);
# set p's draws lo … hi − 1 of each output
_FIELDS = zip(Inputs._fields, _MODES, strict=True)
_ARGS = ", ".join(f"st.{f}" if m == 0 else f"st.{f}[p]" for f, m in _FIELDS)
_VIEWS = ", ".join(f"out.{f}[lo:hi]" for f in Outputs._fields)
GENERATED = f"""
def _set_inputs(st, p):
    return Inputs({_ARGS})


def _draws(out, lo, hi):
    return Outputs({_VIEWS})
"""
_made: dict = {}
exec(compile(GENERATED, f"<{__name__} generated>", "exec"), globals(), _made)
# no source file to cache them by: compiled only inlined into `_sets`, whose cache holds them
_set_inputs = njit(**dict(STAGE, cache=False))(_made["_set_inputs"])
_draws = njit(**dict(STAGE, cache=False))(_made["_draws"])


@njit(**KERNEL)
def _sets(lo, hi, per_set, st, out):
    """Sets lo … hi − 1 of the stacked inputs `st`: set p on draws p × per_set … (p + 1) ×
    per_set − 1 of `out` (C-contiguous), as `kernel.run_sets` runs it."""
    start = np.int64(0)  # not the literal 0: `_block` would be compiled again for Literal[int](0)
    for p in range(lo, hi):
        _block(start, per_set, _set_inputs(st, p), _draws(out, p * per_set, (p + 1) * per_set))
