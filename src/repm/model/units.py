"""One pint registry for repm: tonnes, years, and Indian money words (crore, lakh).

Money has two base dimensions (INR and USD) on purpose: the exchange rate is a scenario
fact, not a constant, so USD amounts are converted to INR by the scenario loader with the
scenario's FX, never silently by the registry.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable

from repm.errors import UserError, fmt_value
from repm.startup import import_pint

pint = import_pint()  # without dask (repm.startup)

INR_PER_CRORE = 1e7
KG_PER_T = 1000.0
CRORE_PER_T_AT = KG_PER_T / INR_PER_CRORE  # INR/kg × t → crore INR

LAKH = 1e5


def inr(value: float) -> str:
    """Rupees as Indian readers write them: below a lakh in full (₹60,000), then in lakh
    (₹1.93 lakh), from a crore in crore (₹12.5 crore)."""
    v = float(value)
    if abs(v) < LAKH:
        return f"₹{v:,.0f}"
    if abs(v) < INR_PER_CRORE:
        return f"₹{v / LAKH:,.2f} lakh"
    return f"₹{v / INR_PER_CRORE:,.3g} crore"


_DEFINITIONS = f"""
INR = [currency_inr] = rupee
USD = [currency_usd] = dollar
CNY = [currency_cny] = yuan
crore = {INR_PER_CRORE:g}
lakh = 1e5
fraction = 1
vehicle = 1
unit = 1
"""


_REGISTRY: pint.UnitRegistry | None = None
_REGISTRY_LOCK = threading.Lock()


def registry() -> pint.UnitRegistry:
    """The one registry, made once even when threads ask at the same time (the dashboard loads
    scenarios on several): quantities of two registries cannot be compared."""
    global _REGISTRY
    if _REGISTRY is None:
        with _REGISTRY_LOCK:
            if _REGISTRY is None:
                ureg = _cached_registry()
                for line in _DEFINITIONS.strip().splitlines():
                    ureg.define(line)
                _REGISTRY = ureg
    return _REGISTRY


def _cached_registry() -> pint.UnitRegistry:
    """pint's registry with its parsed definitions kept in repm's cache folder (~0.3 s → ~0.03
    s); parsed afresh if that folder cannot be used or holds a file another process is still
    writing (the folder is then emptied, and refilled by a later run)."""
    import shutil

    from repm.model.facts import cache_dir

    folder = cache_dir() / f"pint-{pint.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=folder)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


_NUMBER = re.compile(r"^\s*([-+]?(?:\d{1,3}(?:,\d{2,3})+|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(.*)$")


@functools.lru_cache(maxsize=2048)
def _units(text: str) -> pint.Unit:
    """A unit text parsed once (pint's parser is a third of a scenario's validation time; a
    scenario writes the same few dozen units hundreds of times)."""
    return registry().parse_units(text)


def parse_quantity(text: str) -> pint.Quantity:
    """Parse '7,280 crore INR', '600 t/yr', '1.2 kg', '89.2 INR/USD' into a pint Quantity.

    Thousands separators (Indian or Western grouping) are accepted in the number.
    """
    ureg = registry()
    m = _NUMBER.match(text)
    if not m:
        raise ValueError(
            f"expected a number with an optional unit, like '600 t/yr'; got {fmt_value(text)}"
        )
    number = float(m.group(1).replace(",", ""))
    unit_text = m.group(2).strip() or "dimensionless"
    try:
        unit = _units(unit_text)
    except Exception as exc:  # pint raises several types for bad units
        raise ValueError(f"unknown unit {fmt_value(unit_text)} in {fmt_value(text)}") from exc
    return ureg.Quantity(number, unit)


def to_unit(value: object, unit: str, *, fx_inr_per_usd: float | None = None) -> float:
    """Convert a number or quantity string to a float in `unit` (plain numbers, also written as a
    string without a unit, are taken as `unit`).

    USD amounts become INR only through the scenario's FX, passed in explicitly.
    """
    if type(value) is Drawn:
        value = str(value)
    if isinstance(value, str):
        if (out := _fast(value, unit, fx_inr_per_usd)) is not None:
            return out  # finite
        ureg = registry()
        q = given = parse_quantity(value)
        target = _units(unit)
        if fx_inr_per_usd is not None and "[currency_usd]" not in target.dimensionality:
            q = _usd_to_inr(q, fx_inr_per_usd)
        if q.units == ureg.dimensionless:  # a bare number in a string (YAML reads 1e-6 as one)
            out = float(q.magnitude)
        else:
            try:
                out = float(q.to(target).magnitude)
            except pint.DimensionalityError as exc:
                raise ValueError(
                    f"{fmt_value(value)} has units of {_units_text(given)}; expected something "
                    f"convertible to {unit}"
                ) from exc
    elif type(value) is float:
        out = value
    elif isinstance(value, bool):
        raise ValueError(f"expected a number in {unit}; got {fmt_value(value)}")
    elif isinstance(value, int | float):
        out = float(value)
    else:
        raise ValueError(f"expected a number or a quantity like '1 {unit}'; got {fmt_value(value)}")
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number; got {fmt_value(value)}")
    return out


def _fast(text: str, unit: str, fx: float | None) -> float | None:
    """`to_unit` of a quantity text by its unit text's cached conversion (`_conversion`): the
    same float operations pint performs, without building quantities (a scenario converts
    hundreds of values per validation). None where pint must answer: a text pint would refuse,
    an offset unit, a number that is not finite."""
    got = reader(unit)(text, fx)
    return None if got is None else got[0]


_SIGNS = ("+", "-")
_UNREAD = object()
UNIT_TEXTS = 1024  # unit texts kept per target unit (`reader`)


@functools.lru_cache(maxsize=256)
def reader(unit: str) -> Callable[[str, float | None], tuple[float, int] | None]:
    """`_fast` to `unit` as a function of (text, fx) that also says which USD power it swapped
    for INR at fx (0: the answer is the same at any FX); it keeps each unit text's conversion.

    A number written as repr writes a float (ASCII digits with at most one point, not first,
    then an optional 'e' and exponent) before the text's first space, or all of the text, is read
    by float() without `_NUMBER`: `_NUMBER` reads the same number from it (float() reads no other
    form of those characters) and the same unit text after it (its `.` matches all of that but a
    newline)."""
    hows: tuple[dict, dict] = ({}, {})  # without, with FX: unit text as written → _conversion

    def read(text: str, fx: float | None) -> tuple[float, int] | None:
        number, _, rest = text.partition(" ")
        mantissa, e, exponent = number.partition("e")
        if (
            number.isascii()
            and mantissa.replace(".", "", 1).isdigit()
            and mantissa[:1] != "."
            and (not e or (exponent[1:] if exponent[:1] in _SIGNS else exponent).isdigit())
            and "\n" not in rest
        ):
            out = float(number)
        else:
            m = _NUMBER.match(text)
            if not m:
                return None
            out, rest = float(m.group(1).replace(",", "")), m.group(2)
        return scaled(out, rest, fx)

    def scaled(out: float, rest: str, fx: float | None) -> tuple[float, int] | None:
        """`read` of a text whose number is `out` and unit text `rest` (a `Drawn` value's)."""
        kept = hows[fx is not None]
        how = kept.get(rest, _UNREAD)
        if how is _UNREAD:
            try:
                how = _conversion(rest.strip() or "dimensionless", unit, fx is not None)
            except Exception:  # pint refuses it: the slow path says why
                return None
            if len(kept) >= UNIT_TEXTS:
                kept.clear()
            kept[rest] = how
        if how is None:
            return None
        power, factor = how
        if power:  # USD → INR at the scenario's rate, as _usd_to_inr: × (fx INR/USD) ** power
            out = out * (fx**power)  # type: ignore[operator]
        if factor is not None:
            out = out * factor
        return (out, power) if math.isfinite(out) else None

    read.scaled = scaled  # type: ignore[attr-defined]
    return read


class Drawn:
    """A drawn fact value where a scenario's raw mapping would hold its text `f"{value!r}
    {unit}"` (repm.analyses.uncertainty): read as that text is read, without writing it (a
    float's repr and its parse back were ~20 % of validating a parameter sample). What does not
    read it directly reads `str()` of it: the text itself."""

    __slots__ = ("unit", "value")

    def __init__(self, value: float, unit: str) -> None:
        self.value, self.unit = value, unit

    def __str__(self) -> str:
        return f"{self.value!r} {self.unit}"

    __repr__ = __str__

    def read(self, unit: str, fx: float | None) -> tuple[float, int] | None:
        """`reader(unit)` of the text: the same float operations (`float(repr(x)) == x`)."""
        return reader(unit).scaled(self.value, self.unit, fx)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4096)
def _conversion(text: str, unit: str, with_fx: bool) -> tuple[float, float | None] | None:
    """How `to_unit` converts a number written in unit text `text` to `unit` (with or without a
    scenario's FX): (the USD power swapped for INR, 0 for none; the factor pint's `to` multiplies
    by, None when the quantity is dimensionless and taken as it is). Computed once per pair by
    pint itself; None for offset units (not a factor)."""
    ureg = registry()
    src, target = _units(text), _units(unit)
    power = 0
    q = ureg.Quantity(1.0, src)
    if with_fx and "[currency_usd]" not in target.dimensionality:
        power = q.dimensionality.get("[currency_usd]", 0)
        if power:
            q = q * (ureg.Quantity(1.0, "INR/USD") ** power)
    if q.units == ureg.dimensionless:
        return power, None
    factor = ureg.convert(1.0, q.units, target)  # 1.0 × pint's factor (1.0 for the same units)
    if (
        ureg.convert(0.0, q.units, target) != 0.0
        or ureg.convert(2.0, q.units, target) != 2.0 * factor
    ):
        return None  # an offset unit (°C): pint converts it otherwise
    return power, factor


def _usd_to_inr(q: pint.Quantity, fx: float) -> pint.Quantity:
    ureg = registry()
    dims = q.dimensionality
    power = dims.get("[currency_usd]", 0)
    if power == 0:
        return q
    # multiply by (fx INR/USD)^power to swap the currency dimension
    return q * (ureg.Quantity(fx, "INR/USD") ** power)


def check_unit(unit: str, *, where: str) -> None:
    try:
        registry().parse_units(unit)
    except Exception as exc:
        raise UserError(
            f"unknown unit {unit!r}; expected a pint unit such as 't/yr'", where=where
        ) from exc


def _units_text(q: pint.Quantity) -> str:
    text = f"{q.units:~}"
    return text or "dimensionless (a plain number)"
