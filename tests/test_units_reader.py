"""The quantity reader's shortcut (a number written as repr writes a float, read by float()
without the regex) reads what the regex reads, and a field's kept readings are what to_unit
answers: the same floats, the same refusals."""

from __future__ import annotations

import math
import random

import pytest

from repm.model import units
from repm.scenario import fields


def _regex_fast(text: str, unit: str, fx: float | None) -> float | None:
    """`_fast` as it was before the shortcut: every text through `_NUMBER`."""
    m = units._NUMBER.match(text)
    if not m:
        return None
    try:
        how = units._conversion(m.group(2).strip() or "dimensionless", unit, fx is not None)
    except Exception:
        return None
    if how is None:
        return None
    power, factor = how
    out = float(m.group(1).replace(",", ""))
    if power:
        out = out * (fx**power)
    if factor is not None:
        out = out * factor
    return out if math.isfinite(out) else None


ODD = [
    "5", "5.", "5.25", ".5", "-.5", "+.5", "-5", "+5", "5 t", "5. t", ".5 t", "0.5 t",
    "1e5 t", "1e+5 t", "1e-05 t", "1E5 t", "1.5e-07 t", "1e t", "1e+ t", "1e5e5 t", "1.2.3 t",
    "1_000 t", "1,234 t", "1,23,456 t", "١٢ t", "²5 t", "inf t", "nan t", "infinity t", "0x10 t",
    "5\tt", "5\t t", "5  t", " 5 t", "5 t ", "5 t\n", "5\n t", "5 t\nkg", "5 \nt", "5\xa0t",
    "5 kt/yr", "5 kg", "5 t/yr", "5 USD/kg", "7,280 crore INR", "1e999 t", "-1e999 t", "",
    " ", "t", "5 furlongs", "5 degC", "12 USD/t", "3 INR/kg", "5 fraction", "0.3 1/yr",
]  # fmt: skip
UNITS = ["t", "t/yr", "fraction", "INR/kg", "dimensionless", "1/yr", "degC", "USD/kg"]


@pytest.mark.parametrize("unit", UNITS)
def test_reader_reads_what_the_regex_reads(unit):
    rnd = random.Random(1)
    texts = ODD + [f"{rnd.uniform(-1e6, 1e6) * 10 ** rnd.randint(-12, 12)!r} t" for _ in range(300)]
    for fx in (None, 83.1):
        for text in texts + texts:  # twice: the second time by the kept unit texts
            got = units.reader(unit)(text, fx)
            want = _regex_fast(text, unit, fx)
            assert (None if got is None else repr(got[0])) == (
                None if want is None else repr(want)
            ), (text, unit, fx)
            assert units._fast(text, unit, fx) == want or (got is None and want is None)


def _outcome(fn, *args, **kw):
    try:
        return repr(fn(*args, **kw))
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"


class _Info:
    def __init__(self, fx):
        self.context = {"fx": fx}


@pytest.mark.parametrize(
    "unit, kw", [("t/yr", {"lo": 0}), ("fraction", {"lo": 0, "hi": 1}), ("year", {"integer": True})]
)
def test_kept_readings_are_to_units(unit, kw, monkeypatch):
    """A field's convert, asked twice (the second answer kept), answers what it answers with
    pint's conversions (units._fast replaced), errors included."""
    texts = ODD + ["2030 year", "2030.5 year", "0.25", "1.5", "12 USD/kg", "-3 t/yr", 0.5, -1.0,
                   float("nan"), 7, True, None]  # fmt: skip
    for fx in (None, 88.5):
        convert = fields._quantity(unit, **kw).func
        fast = [[_outcome(convert, v, _Info(fx)) for v in texts] for _ in range(2)]
        with monkeypatch.context() as m:
            m.setattr(units, "_fast", lambda *a: None)
            slow = [_outcome(fields._quantity(unit, **kw).func, v, _Info(fx)) for v in texts]
        assert fast[0] == slow and fast[1] == slow


def test_kept_fact_values_follow_the_table():
    """A fact reference's kept value is that table's and that fact's: another table, or the same
    table with the fact replaced, is read afresh."""
    import dataclasses

    from repm.model.facts import load_facts

    table = load_facts()
    fid, fact = next((k, f) for k, f in table.facts.items() if f.unit == "t/yr" and f.central > 0)
    convert = fields._quantity("t/yr", lo=0).func

    class Info:
        def __init__(self, facts):
            self.context = {"fx": 88.0, "facts": facts}

    want = units.to_unit(f"{fact.central!r} {fact.unit}", "t/yr")
    assert convert(f"fact:{fid}", Info(table)) == want
    assert convert(f" fact:{fid} ", Info(table)) == want
    assert convert(f"fact:{fid}", Info(table)) == want  # kept
    other = dataclasses.replace(
        table, facts={**table.facts, fid: fact.model_copy(update={"value": 2 * fact.central})}
    )
    assert convert(f"fact:{fid}", Info(other)) == 2 * want
    table.facts[fid], saved = other.facts[fid], table.facts[fid]
    try:
        assert convert(f"fact:{fid}", Info(table)) == 2 * want
    finally:
        table.facts[fid] = saved
    assert convert(f"fact:{fid}", Info(table)) == want
    with pytest.raises(ValueError, match="unknown fact id 'no_such_fact'"):
        convert("fact:no_such_fact", Info(table))
