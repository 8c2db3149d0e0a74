"""A scenario check written once for a number and for a block of samples' arrays (issue 14
part 6). A validator tests its condition through `flagged`: on a validated number it is the
condition's truth (the validator then raises its message, formatted from the numbers); on a
block's Scenario, whose drawn fields hold each sample's value in an array
(`analyses/uncertainty/fastpath.py`), the samples for which it holds are recorded (`collected`)
and the validator goes on — those samples are then validated one by one, and raise the
message. A condition must be written in numpy's operators (`|`, `&`, `np.logical_not`, no
`and`/`or`/`not` or chained comparisons, which ask an array for its truth): an array asked
for its truth raises, and the block is then validated sample by sample, so a check written
otherwise is slow, never wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

_MASKS: ContextVar[list | None] = ContextVar("repm_check_masks", default=None)


def flagged(bad) -> bool:
    """Whether a check fails: `bad`'s truth for a number; for an array (within `collected`),
    its samples recorded and False."""
    if type(bad) is bool:
        return bad
    if np.ndim(bad) == 0:
        return bool(bad)
    masks = _MASKS.get()
    if masks is None:
        raise TypeError("a check on an array outside `collected()`")
    masks.append(np.asarray(bad, dtype=bool))
    return False


SHARE_TOLERANCE = 1e-6  # how far a whole's shares may sum from 1 (inputs rounded by hand)


def off_one(total):
    """Shares summing to `total` miss a whole (1) by more than SHARE_TOLERANCE (a condition for
    `flagged`, for numbers or arrays)."""
    return abs(total - 1) > SHARE_TOLERANCE


def outside(x, lo, hi):
    """x < lo or x > hi, for numbers or arrays (a check reads finite numbers: the fields refuse
    any other)."""
    return (x < lo) | (x > hi)


def nearest(x):
    """x rounded to the nearest whole number, half to even (`round`, `np.rint` for an array)."""
    return np.rint(x) if isinstance(x, np.ndarray) else round(x)


def positive_or_one(x):
    """x where it is above 0, else 1 (a divisor that may be 0)."""
    return np.where(x > 0, x, 1.0) if isinstance(x, np.ndarray) else (x if x > 0 else 1.0)


@contextmanager
def collected() -> Iterator[list]:
    """The masks of the samples each `flagged` within records."""
    masks: list = []
    token = _MASKS.set(masks)
    try:
        yield masks
    finally:
        _MASKS.reset(token)


def any_of(conditions) -> object:
    """Whether any condition holds: a bool for numbers, a mask where one is an array."""
    out: object = False
    for c in conditions:
        out = out | c
    return out
