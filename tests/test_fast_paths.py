"""The fast paths of a parameter sample (issue 14 part 6) give what the slow ones give, bit for
bit: a unit conversion by its cached factor against pint's, a chain whose labels are reused
against one labelled afresh."""

from __future__ import annotations

import dataclasses
import random

import pytest
import xarray as xr

import repm.chain.compile as compile_module
import repm.chain.routes as routes_module
from repm.chain import compile_chain
from repm.model import units
from repm.model.facts import load_facts
from repm.scenario import load_scenario
from repm.scenario.load import shipped_names

TARGETS = ["t", "t/yr", "fraction", "1/yr", "year", "month", "dimensionless", "kg/kg",
           "crore INR", "INR/kg", "INR/USD", "USD/kg", "INR", "kg/vehicle"]  # fmt: skip


def _pint(text: str, unit: str, fx: float | None, monkeypatch) -> object:
    with monkeypatch.context() as m:
        m.setattr(units, "_fast", lambda *a: None)
        try:
            return units.to_unit(text, unit, fx_inr_per_usd=fx)
        except ValueError as exc:
            return type(exc)


def test_cached_conversion_is_pints(monkeypatch):
    rnd = random.Random(0)
    written = sorted({f.unit for f in load_facts().facts.values()} | {"", "lakh INR", "kt/yr"})
    checked = 0
    for src in written:
        for unit in TARGETS:
            for fx in (None, 83.1, 88.123456789):
                for v in [rnd.uniform(-1e4, 1e4) for _ in range(3)] + [1.0, 0.0, 1e-9, 7280.0]:
                    text = f"{v!r} {src}".strip()
                    fast = units._fast(text, unit, fx)
                    slow = _pint(text, unit, fx, monkeypatch)
                    if fast is None:  # pint answers (a refusal, here)
                        assert not isinstance(slow, float), (text, unit, fx)
                        continue
                    checked += 1
                    assert isinstance(slow, float) and repr(fast) == repr(slow), (text, unit, fx)
    assert checked > 1000


@pytest.mark.parametrize(
    "text, unit, expected",
    [("7,280 crore INR", "INR", 7.28e10), ("0.5", "fraction", 0.5), ("12 USD/kg", "INR/kg", 996.0)],
)
def test_cached_conversion_values(text, unit, expected):
    assert units.to_unit(text, unit, fx_inr_per_usd=83.0) == expected


@pytest.mark.parametrize("text", ["12 kg", "nan t", "1e999 t", "3 furlongs"])
def test_refusals_still_come_from_pint(text):
    with pytest.raises(ValueError):
        units.to_unit(text, "t/yr")


def _plain(data, dims, coords):
    return xr.DataArray(data, dims=dims, coords=coords)


def _plain_set(variables, coords, attrs=None):
    return xr.Dataset(dict(variables), coords=dict(coords), attrs=dict(attrs or {}))


@pytest.mark.parametrize("name", shipped_names())
def test_reused_labels_make_the_same_chain(name, monkeypatch):
    sc = load_scenario(name).scenario
    first, again = compile_chain(sc), compile_chain(sc)  # the second reuses the first's labels
    with monkeypatch.context() as m:
        m.setattr(compile_module, "labelled", _plain)
        m.setattr(routes_module, "labelled", _plain)
        m.setattr(routes_module, "labelled_set", _plain_set)
        ref = compile_chain(sc)
    for f in dataclasses.fields(ref):
        a = getattr(ref, f.name)
        if isinstance(a, xr.DataArray | xr.Dataset):
            for b in (getattr(first, f.name), getattr(again, f.name)):
                xr.testing.assert_identical(a, b)
                for k in a.coords:
                    assert a.coords[k].dtype == b.coords[k].dtype, (f.name, k)
                    assert type(a.indexes[k]) is type(b.indexes[k]), (f.name, k)
                    assert a.indexes[k].dtype == b.indexes[k].dtype, (f.name, k)
