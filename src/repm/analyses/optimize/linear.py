"""Linear rows written straight from label and coefficient arrays (linopy Constraint data),
so linopy has nothing to align: the same rows its operators would build, built once."""

from __future__ import annotations

import linopy
import numpy as np
import pandas as pd
import xarray as xr


def _grid(coords: list[pd.Index], values) -> xr.DataArray:
    """`values` broadcast to the grid `coords`, labelled."""
    return xr.DataArray(np.broadcast_to(values, tuple(len(c) for c in coords)), coords=coords)


def _terms(coords: list[pd.Index], *terms) -> xr.Dataset:
    """linopy's data for a linear expression over the grid `coords`, from (coefficients, labels)
    pairs. Each pair's arrays have the grid's dimensions plus a trailing term axis (NumPy
    broadcasting fills the rest); the pairs' terms are put side by side. Labels are the variables'
    own (`var.labels`), so the expression is exactly what linopy's operators would build, without
    aligning and merging an xarray object per operator."""
    shape = tuple(len(c) for c in coords)
    cs, vs = [], []
    for coef, labels in terms:
        labels = np.asarray(labels)
        full = shape + (labels.shape[-1],)
        vs.append(np.broadcast_to(labels, full))
        cs.append(np.broadcast_to(np.asarray(coef, dtype=float), full))
    dims = [c.name for c in coords] + ["_term"]
    return xr.Dataset(
        {
            "coeffs": (dims, np.concatenate(cs, axis=-1)),
            "vars": (dims, np.concatenate(vs, axis=-1)),
        },
        coords={c.name: c for c in coords},
    )


def _rows(mdl: linopy.Model, coords: list[pd.Index], *terms) -> linopy.LinearExpression:
    """The linear expression of `_terms`."""
    return linopy.LinearExpression(_terms(coords, *terms), mdl)


def _constrain(mdl, name, coords, terms, sign, rhs, extra=None) -> None:
    """Add `Σ terms (+ extra) sign rhs` over the grid `coords` as constraint `name`. Without
    `extra` (a linopy expression, e.g. a route's) the constraint's data is written directly —
    half of `add_constraints`' cost is turning an expression and a right-hand side into it."""
    if extra is not None and not isinstance(extra, int):
        mdl.add_constraints(_rows(mdl, coords, *terms) + extra, sign, _grid(coords, rhs), name=name)
        return
    shape = tuple(len(c) for c in coords)
    dims = [c.name for c in coords]
    data = _terms(coords, *terms).assign(
        sign=(dims, np.full(shape, sign)),
        rhs=(dims, np.broadcast_to(np.asarray(rhs, dtype=float), shape)),
    )
    mdl.add_constraints(linopy.Constraint(data, mdl), name=name)
