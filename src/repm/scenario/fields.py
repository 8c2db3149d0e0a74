"""The scenario's field types: quantities with units (converted once, with pint), fact
references ('fact:scheme_outlay'), and the strict, frozen base of every block."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from repm.model import ModelDefinition, default_definition, units
from repm.model.facts import Fact, FactTable
from repm.model.units import (
    Drawn,
    parse_quantity,
    pint,  # as repm imports it (repm.startup.import_pint)
    registry,
    to_unit,
)
from repm.model.units import _fast as _FAST

FACT_PREFIX = "fact:"


def definition_of(info: ValidationInfo | None) -> ModelDefinition:
    """The model definition a scenario is validated against (the context's, else the shipped)."""
    d = (info.context or {}).get("definition") if info is not None else None
    return d or default_definition()


def _one_of(value: str, allowed, what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def refuse_renamed(data: Any, renamed: dict[str, str]) -> Any:
    """A `mode="before"` check: a key the scenario format no longer has is a one-line error
    naming what replaced it (`renamed`: old key → its replacement, with a word of why)."""
    if isinstance(data, dict):
        for old, new in renamed.items():
            if old in data:
                raise ValueError(f"{old} is replaced by {new}; rename or move the key")
    return data


def _resolve_fact(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and FACT_PREFIX in value and value.strip().startswith(FACT_PREFIX):
        fid = value.strip()[len(FACT_PREFIX) :].strip()
        facts = (info.context or {}).get("facts")
        if facts is None or fid not in facts:
            raise ValueError(f"unknown fact id {fid!r}; expected an id listed by `repm facts`")
        fact = facts.get(fid)
        return f"{fact.central!r} {fact.unit}"
    return value


# readings kept per field type (`_quantity`): a parameter sample's scenario writes most of its
# texts as the samples before it; its drawn values, each read once, fill the store in a few
# dozen samples, and it is then emptied
KNOWN_TEXTS = 1024


def _quantity(
    unit: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False
):
    read = units.reader(unit)
    known: dict[str, float] = {}  # quantity text → its value here (texts read alike at any FX)
    of_fact: dict[str, tuple] = {}  # 'fact:ID' → (table, ID, fact, value)

    def checked(out: float) -> float:
        if lo is not None and out < lo:
            raise ValueError(f"expected a value ≥ {lo:g} {unit}; got {out:g}")
        if hi is not None and out > hi:
            raise ValueError(f"expected a value ≤ {hi:g} {unit}; got {out:g}")
        if integer:
            if abs(out - round(out)) > 1e-9:
                raise ValueError(f"expected a whole number; got {out:g}")
            return float(round(out))
        return out

    def convert(value: Any, info: ValidationInfo) -> float:
        """`to_unit`'s answer, checked, with the common cases first (a scenario converts a few
        hundred values per validation): a text read before; a finite float; a quantity text read
        by `units.reader`. Texts are kept only while `units._fast` is the fast path (tests
        replace it to have pint answer)."""
        if type(value) is Drawn:  # its text's reading, else its text (read as any text)
            fx = (info.context or {}).get("fx")
            got = value.read(unit, fx) if units._fast is _FAST else None
            if got is not None:
                return checked(got[0])
            value = str(value)
        fast = type(value) is str and units._fast is _FAST
        if fast and (out := known.get(value)) is not None:
            return out
        ctx = info.context or {}
        fx = ctx.get("fx")
        if type(value) is float and math.isfinite(value):
            return checked(value)
        if not fast:
            return checked(to_unit(_resolve_fact(value, info), unit, fx_inr_per_usd=fx))
        if FACT_PREFIX in value:
            return fact_value(value, info, ctx.get("facts"), fx)
        got = read(value, fx)
        if got is None:  # pint answers, or says what is wrong
            return checked(to_unit(value, unit, fx_inr_per_usd=fx))
        out = checked(got[0])
        if got[1] == 0:
            if len(known) >= KNOWN_TEXTS:
                known.clear()
            known[value] = out
        return out

    def fact_value(value: str, info: ValidationInfo, facts: Any, fx: float | None) -> float:
        """A fact reference's value, kept per table and fact (a fact is immutable)."""
        kept = of_fact.get(value)
        if kept is not None and kept[0] is facts and facts.facts.get(kept[1]) is kept[2]:
            return kept[3]
        text = _resolve_fact(value, info)
        got = read(text, fx)
        if got is None:
            return checked(to_unit(text, unit, fx_inr_per_usd=fx))
        out = checked(got[0])
        if got[1] == 0 and text is not value and type(facts) is FactTable:
            fid = value.strip()[len(FACT_PREFIX) :].strip()
            fact: Fact = facts.facts[fid]
            _keep(of_fact, value, (facts, fid, fact, out))
        return out

    # the field type's parameters, for code that converts many samples' values at once
    # (repm.analyses.uncertainty.fastpath)
    convert.spec = (unit, lo, hi, integer)  # type: ignore[attr-defined]
    return BeforeValidator(convert)


def _keep(store: dict, key: str, value: Any) -> None:
    if len(store) >= KNOWN_TEXTS:
        store.clear()
    store[key] = value


def _free_quantity(value: Any, info: ValidationInfo) -> pint.Quantity:
    value = _resolve_fact(str(value) if type(value) is Drawn else value, info)
    ureg = registry()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a quantity like '1.5 kg/vehicle'; got {value!r}")
    q = (
        ureg.Quantity(float(value), "dimensionless")
        if not isinstance(value, str)
        else parse_quantity(value)
    )
    if not math.isfinite(q.magnitude) or q.magnitude < 0:
        raise ValueError(f"expected a finite, non-negative quantity; got {value!r}")
    return q


Tonnes = Annotated[float, _quantity("t", lo=0)]
TonnesPerYear = Annotated[float, _quantity("t/yr", lo=0)]
Fraction = Annotated[float, _quantity("fraction", lo=0, hi=1)]
Rate = Annotated[float, _quantity("1/yr", lo=-0.99, hi=10)]
Year = Annotated[float, _quantity("year", lo=1900, hi=2200, integer=True)]
Years = Annotated[float, _quantity("year", lo=0, hi=200)]
PositiveYears = Annotated[float, _quantity("year", lo=0.1, hi=200)]
Months = Annotated[float, _quantity("month", lo=0, hi=1200)]
PositiveMonths = Annotated[float, _quantity("month", lo=0.01, hi=1200)]
Multiplier = Annotated[float, _quantity("dimensionless", lo=0, hi=1000)]
GrowthSD = Annotated[float, _quantity("1/yr", lo=0, hi=1)]
KgPerKg = Annotated[float, _quantity("kg/kg", lo=0, hi=1)]
CroreINR = Annotated[float, _quantity("crore INR", lo=0)]
INRPerKg = Annotated[float, _quantity("INR/kg", lo=0)]
FX = Annotated[float, _quantity("INR/USD", lo=1e-6)]
FreeQuantity = Annotated[Any, BeforeValidator(_free_quantity)]


class Block(BaseModel):
    """Base for every scenario block: strict, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


PATH_REACH = 50
"""Years a path's point or a unit's start may lie outside the horizon; further is a typo."""


def path_years_mistakes(path: dict, start: int, end: int, what: str) -> list[str]:
    """The one rule for a path given by year (localisation, exports, output, prices): its points
    may lie outside the horizon — read linearly between points, flat beyond (`interp_path`), a
    point past the end still shapes the years before it — but not more than PATH_REACH years."""
    lo, hi = start - PATH_REACH, end + PATH_REACH
    return [
        f"{what}: year {y} is more than {PATH_REACH} years outside the horizon {start}–{end}; "
        f"expected {lo}–{hi}"
        for y in path
        if not lo <= y <= hi
    ]
