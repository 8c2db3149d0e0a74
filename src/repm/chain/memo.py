"""What the chain's modules work out from the model definition alone — name → index tables,
masks, a material's group — kept per definition (and the chemistry, from the immutable fact
table). A parameter sample's scenario changes numbers, not the definition, and compiling it
looked the same things up again each time."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_KEPT = 16  # argument sets kept per function; more (tests make many) start afresh


def per_definition(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn(model, *args)` computed once per definition object and arguments (kept by identity:
    definitions, chemistries and fact tables are not changed once made, and holding them keeps
    their ids from being reused). What it returns is shared by every later call: read it,
    never change it."""
    kept: dict[tuple, tuple[Any, T]] = {}

    @functools.wraps(fn)
    def cached(model: Any, *args: Any) -> T:
        key = (id(model), *(id(a) for a in args))
        hit = kept.get(key)
        if (
            hit is not None
            and hit[0][0] is model
            and all(x is y for x, y in zip(hit[0][1:], args, strict=True))
        ):
            return hit[1]
        value = fn(model, *args)
        if len(kept) >= MAX_KEPT:
            kept.clear()
        kept[key] = ((model, *args), value)
        return value

    return cached
