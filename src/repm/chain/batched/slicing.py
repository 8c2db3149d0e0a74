"""One sample's slice of a batched module's result: what its per-sample module returns, so
`compile_chain(s, parts=...)` can take it in place of calling that module."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np


def sample(result, i: int, shared: Collection[str] = ()):
    """Sample i's result as the per-sample module returns it. Of a dict: keys in `shared`
    (structure) as they are; a nested dict slice by slice; an (S,) array a per-sample scalar, as
    the Python number (`.item()`: float, int or bool by dtype);
    any other array its row i, contiguous, with its dtype. Of one array (recipe's): its row i."""
    if not isinstance(result, dict):
        return np.ascontiguousarray(result[i])
    return {k: v if k in shared else _row(v, i) for k, v in result.items()}


def _row(v, i: int):
    if isinstance(v, dict):
        return {k: _row(x, i) for k, x in v.items()}
    if np.ndim(v) == 1:
        return v[i].item()
    return np.ascontiguousarray(v[i])
