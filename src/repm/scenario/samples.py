"""A block of parameter samples of one scenario (issue 14 part 6): the scenario's structure once
(`template`, a validated Scenario: sector names, the years paths are given at, options, units)
and each drawn number as an (S,) array under its field path. The batched chain modules
(`repm.chain.batched`) read numbers through `get`, so a number that was not drawn is the
template's, broadcast.

A field path is a tuple of attribute names, mapping keys and list indexes from the Scenario
(`("demand", "sectors", "ev_2w", "growth")`, `("demand", "anchors", 2030)`); a quantity field
(pint) holds its magnitude here, its unit being structure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

Path = tuple


def at(obj: Any, path: Path) -> Any:
    """The object at `path` in a Scenario (or any block of it)."""
    for k in path:
        obj = obj[k] if isinstance(obj, dict | list | tuple) else getattr(obj, k)
    return obj


def field_at(obj: Any, path: Path) -> Any:
    """`at`, refusing a step that is not a field: a property computed from fields (monazite's
    `ndpr_share_of_reo`) would give the template's number where a sample's differs."""
    for k in path:
        if isinstance(obj, BaseModel) and k not in type(obj).model_fields:
            raise KeyError(
                f"{type(obj).__name__}.{k} is not a field; read the fields it is made of"
            )
        obj = obj[k] if isinstance(obj, dict | list | tuple) else getattr(obj, k)
    return obj


def magnitude(x: Any) -> float:
    """A number as the batched modules read it: a quantity's magnitude, else the float."""
    return float(getattr(x, "magnitude", x))


def _walk(obj: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf of a Scenario (not a model, mapping or list) with its path, in field order."""
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), (*path, name))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, (*path, k))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, i))
    else:
        yield path, obj


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and (isinstance(x, int | float) or hasattr(x, "magnitude"))


def leaves(obj: Any, path: Path = ()) -> Iterator[tuple[Path, float]]:
    """Every number in a Scenario (floats, ints but not bools, quantities' magnitudes) with its
    path (below `path`), in field order."""
    return ((p, magnitude(x)) for p, x in _walk(obj, path) if _is_number(x))


def structure(obj: Any) -> Iterator[tuple[Path, Any]]:
    """Every leaf of a Scenario that is not a number (texts, flags, None, …) with its path: with
    the numbers' paths, what samples of one block share."""
    return ((p, x) for p, x in _walk(obj) if not _is_number(x))


@dataclass(frozen=True)
class SampleBlock:
    """S samples of one scenario: its structure (`template`) and the drawn numbers by path."""

    template: Any  # a validated Scenario: the structure every sample shares
    values: Mapping[Path, np.ndarray]  # path → (S,) float64, as the validated Scenario holds it
    n: int
    # the block's Scenario: the template with each drawn field holding the samples' values (an
    # array, or the number all share), its after-mode validators run on them (fastpath.py);
    # None: read each sample's Scenario
    scenario: Any = None

    def get(self, path: Path) -> np.ndarray:
        """(S,) float64: the samples' numbers at `path`, the template's where none was drawn."""
        got = self.values.get(path)
        if got is not None:
            return got
        return np.full(self.n, magnitude(field_at(self.template, path)))

    @classmethod
    def gather(cls, scenarios: Sequence[Any]) -> SampleBlock:
        """The block of validated scenarios that share a structure (the first one's), every
        number of theirs by path: what the drawn-value path hands over, read back from each
        sample's Scenario (tests check the batched modules against the per-sample ones so).
        A sample with another structure — other paths, texts, flags or units — is refused."""
        tmpl = scenarios[0]
        first = list(leaves(tmpl))
        paths = [p for p, _ in first]
        cols = np.empty((len(scenarios), len(paths)))
        cols[0] = [v for _, v in first]
        shape = list(structure(tmpl))
        for i, s in enumerate(scenarios[1:], start=1):
            got = list(leaves(s))
            if [p for p, _ in got] != paths or list(structure(s)) != shape:
                raise ValueError(f"sample {i} has another structure than sample 0")
            cols[i] = [v for _, v in got]
        for p in paths:  # units are structure: one per path in a block
            u = getattr(at(tmpl, p), "units", None)
            if u is not None and any(at(s, p).units != u for s in scenarios[1:]):
                raise ValueError(f"sample units differ at {p}")
        values = {p: np.ascontiguousarray(cols[:, j]) for j, p in enumerate(paths)}
        return cls(template=tmpl, values=values, n=len(scenarios))
