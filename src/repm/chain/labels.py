"""Labelled arrays for the Chain, with their labels built once.

Building an `xr.DataArray` from labels makes a pandas index for each dimension and copies it:
~85 % of compiling a chain, which a parameter sample (repm.analyses.uncertainty) pays each
time. The labels of a chain (years, sectors, grades, materials, …) are the same from one
compile to the next, so `labelled` builds them once per set of labels and gives every later
array the same coordinates and indexes (xarray's own shallow-copy sharing; index variables are
immutable). The array is the one `xr.DataArray(data, dims=dims, coords=coords)` makes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

MAX_LABEL_SETS = 512  # distinct (dims, labels) kept; more (many horizons, say) start afresh

_LABELS: dict[tuple, Any] = {}  # labels → what a later array reuses
_LOCK = threading.Lock()


def _keep(key: tuple, value: Any) -> None:
    with _LOCK:
        if len(_LABELS) >= MAX_LABEL_SETS:
            _LABELS.clear()
        _LABELS[key] = value


def _key(labels: Any) -> tuple:
    if isinstance(labels, np.ndarray):
        return (np.ndarray, labels.dtype.str, tuple(labels.tolist()))
    return (type(labels), None, tuple(labels))


def labelled(data: Any, dims: Sequence[str], coords: Mapping[str, Any]) -> xr.DataArray:
    """`xr.DataArray(data, dims=dims, coords=coords)`, with the coordinates of an earlier call
    with the same dims and labels reused (`coords`: a dimension's labels, one per dimension)."""
    dims = tuple(dims)
    key = (dims, tuple((name, _key(v)) for name, v in coords.items()))
    known = _LABELS.get(key)
    if known is not None:
        variables, indexes, shape = known
        variable = xr.Variable(dims, data)
        if variable.shape == shape:
            return xr.DataArray(variable, coords=dict(variables), indexes=indexes, fastpath=True)
    out = xr.DataArray(data, dims=dims, coords=coords)  # also raises for a wrong shape
    _keep(key, (dict(out.coords.variables), dict(out.xindexes), out.shape))
    return out


def labelled_set(
    variables: Mapping[str, tuple[Any, Any]],
    coords: Mapping[str, Any],
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """`xr.Dataset(variables, coords=coords, attrs=attrs)` (`variables`: name → (dims, data)),
    a copy of an earlier one with the same variables' dims and the same labels, with this
    call's data and attrs (xarray's `copy(data=…)`: the coordinates and indexes are shared)."""
    key = (
        "set",
        tuple((name, tuple((d,) if isinstance(d, str) else d)) for name, (d, _) in variables.items()),
        tuple((name, _key(v)) for name, v in coords.items()),
    )  # fmt: skip
    template = _LABELS.get(key)
    if template is not None:
        try:
            out = template.copy(deep=False, data={k: data for k, (_, data) in variables.items()})
        except ValueError:  # another shape: the constructor says why
            pass
        else:
            out.attrs = dict(attrs or {})
            return out
    out = xr.Dataset(dict(variables), coords=dict(coords), attrs=dict(attrs or {}))
    _keep(key, out.copy(deep=False))
    return out
