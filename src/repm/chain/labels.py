"""Labelled arrays for the Chain, with their labels built once.

Building an `xr.DataArray` from labels makes a pandas index for each dimension and copies it:
~85 % of compiling a chain, which a parameter sample (repm.analyses.uncertainty) pays each
time. The labels of a chain (years, sectors, grades, materials, …) are the same from one
compile to the next, so `labelled` builds them once per set of labels and gives every later
array the same coordinates and indexes (xarray's own shallow-copy sharing; index variables are
immutable). The array is the one `xr.DataArray(data, dims=dims, coords=coords)` makes.

A later array is put together directly, as xarray's own operations do it: the public
constructors validate the coordinates again (~30 µs an array, ~200 µs a Dataset's
`copy(data=…)`), which a chain of ~40 arrays and a few thousand samples pay for nothing. A
Variable and a DataArray get the attributes xarray's internal constructors give them
(`Variable(dims, data, fastpath=True)`, `DataArray._construct_direct`), set without their
Python-level checks and `__setattr__` (most of what is left: ~7 of ~11 µs an array) — only for
plain numpy data, which the constructor keeps as it is (`_fast_data`), and only when xarray's
objects have the attributes this was written for (`_DIRECT`); otherwise those constructors.
"""

from __future__ import annotations

import copy
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
    if type(labels) is np.ndarray:  # its bytes: cheaper than a tuple of its items
        return (labels.dtype, labels.shape, labels.tobytes())
    return (type(labels), tuple(labels))


def _slots(cls: type) -> set[str]:
    return {a for c in cls.__mro__ for a in getattr(c, "__slots__", ())} - {"__weakref__"}


# the attributes the direct construction sets: those of the xarray it was written for
_DIRECT = _slots(xr.Variable) == {"_attrs", "_data", "_dims", "_encoding"} and _slots(
    xr.DataArray
) == {"_cache", "_coords", "_close", "_indexes", "_name", "_variable"}
_set = object.__setattr__


def _fast_data(data: Any) -> bool:
    """Whether `xr.Variable` would keep `data` as it is (a plain numpy array of numbers, bools
    or strings): then it can skip its checks (`fastpath`) and hold the same array."""
    return type(data) is np.ndarray and data.dtype.kind not in "OMm"


def _variable(dims: tuple[str, ...], data: Any) -> xr.Variable:
    """`xr.Variable(dims, data)`."""
    if not (_DIRECT and _fast_data(data) and data.ndim == len(dims)):
        return xr.Variable(dims, data, fastpath=_fast_data(data))
    variable = object.__new__(xr.Variable)  # what Variable(dims, data, fastpath=True) sets
    variable._dims, variable._data, variable._attrs, variable._encoding = dims, data, None, None
    return variable


def _data_array(variable: xr.Variable, coords: dict, indexes: dict) -> xr.DataArray:
    """`DataArray._construct_direct(variable, coords, None, indexes)`."""
    if not _DIRECT:
        return xr.DataArray._construct_direct(variable, coords, None, indexes)
    out = object.__new__(xr.DataArray)  # DataArray's __setattr__ only checks the name
    _set(out, "_variable", variable)
    _set(out, "_coords", coords)
    _set(out, "_name", None)
    _set(out, "_indexes", indexes)
    _set(out, "_close", None)
    return out


class Labels:
    """Labels by dimension (a chain's years, sectors, grades, …) for `labelled`'s `coords`: each
    dimension's key made once, and what `labelled` finds for each set of dims kept here, so the
    ~30 arrays of a chain compiled again with the same labels (a parameter sample's) find their
    coordinates without making a key (~2 of ~4.5 µs an array). `Labels.of` gives the one object
    of each set of labels."""

    __slots__ = ("coords", "keys", "known")

    def __init__(self, coords: Mapping[str, Any]) -> None:
        self.coords = {name: copy.copy(v) for name, v in coords.items()}  # kept as keyed
        self.keys = {name: _key(v) for name, v in self.coords.items()}
        self.known: dict[tuple[str, ...], Any] = {}  # dims → the `_LABELS` entry

    @staticmethod
    def of(coords: Mapping[str, Any]) -> Labels:
        """The Labels of these labels: an earlier one with the same labels, or a new one."""
        key = ("labels", *[(name, _key(v)) for name, v in coords.items()])
        known = _LABELS.get(key)
        if known is None:
            known = Labels(coords)
            _keep(key, known)
        return known

    def key(self, dims: tuple[str, ...]) -> tuple:
        """`labelled`'s key of an array with these dims and their labels from here."""
        return (dims, *[(name, self.keys[name]) for name in dims])


def labelled(data: Any, dims: Sequence[str], coords: Mapping[str, Any] | Labels) -> xr.DataArray:
    """`xr.DataArray(data, dims=dims, coords=coords)`, with the coordinates of an earlier call
    with the same dims and labels reused (`coords`: a dimension's labels, one per dimension; or
    Labels, whose labels of `dims` are the coordinates, in the order of `dims`)."""
    dims = tuple(dims)
    if type(coords) is Labels:
        known = coords.known.get(dims)
        if known is None:
            key = coords.key(dims)
            known = _LABELS.get(key)
            if known is not None:
                coords.known[dims] = known
    else:
        key = (dims, *[(name, _key(v)) for name, v in coords.items()])
        known = _LABELS.get(key)
    if known is not None:
        variables, indexes, shape = known
        variable = _variable(dims, data)
        if variable.shape == shape:  # each array its own dicts: xarray edits them in place
            return _data_array(variable, dict(variables), dict(indexes))
    if type(coords) is Labels:
        key, coords = coords.key(dims), {name: coords.coords[name] for name in dims}
    out = xr.DataArray(data, dims=dims, coords=coords)  # also raises for a wrong shape
    _keep(key, (dict(out.coords.variables), dict(out.xindexes), out.shape))
    return out


def labelled_set(
    variables: Mapping[str, tuple[Any, Any]],
    coords: Mapping[str, Any],
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """`xr.Dataset(variables, coords=coords, attrs=attrs)` (`variables`: name → (dims, data)),
    with the coordinates and indexes of an earlier one with the same variables' dims and the
    same labels, and this call's data and attrs."""
    key = (
        "set",
        *[(name, (d,) if isinstance(d, str) else tuple(d)) for name, (d, _) in variables.items()],
        "coords",
        *[(name, _key(v)) for name, v in coords.items()],
    )  # fmt: skip
    known = _LABELS.get(key)
    if known is not None:
        template, coord_names, sizes, indexes = known
        made = {name: _variable(template[name].dims, data) for name, (_, data) in variables.items()}
        if all(v.shape == template[name].shape for name, v in made.items()):
            # the template's variables in its order, this call's data in place of its data
            return xr.Dataset._construct_direct(
                {name: made.get(name, v) for name, v in template.items()},
                set(coord_names),
                dict(sizes),
                dict(attrs) if attrs else None,
                dict(indexes),
            )
        # another shape: the constructor says why
    out = xr.Dataset(dict(variables), coords=dict(coords), attrs=dict(attrs or {}))
    _keep(key, (dict(out.variables), set(out.coords), dict(out.sizes), dict(out.xindexes)))
    return out
