"""A parameter sample's drawn values handed to validation as `Drawn` (not written as texts and read
back) give the scenario and chain the texts give, bit for bit; a bad draw still fails with the
texts' own message; the garbage collector is back on after a block."""

from __future__ import annotations

import dataclasses
import gc
import math

import numpy as np
import pytest
import xarray as xr

from repm.analyses.uncertainty import philox_uniforms
from repm.analyses.uncertainty.evaluate import Evaluator
from repm.chain import compile_chain
from repm.errors import UserError
from repm.model import units
from repm.model.facts import load_facts
from repm.model.units import Drawn
from repm.scenario import load_scenario


def _samples(ev: Evaluator, n: int, seed: int) -> list[dict[str, float]]:
    drawn = ev.inputs.values(philox_uniforms(ev.inputs.drawn, seed, np.arange(n)), n)
    return [{k: float(v[d]) for k, v in drawn.items()} for d in range(n)]


def _same(a, b, where: str) -> None:
    if isinstance(a, xr.DataArray | xr.Dataset):
        xr.testing.assert_identical(a, b)
        va, vb = (x.to_dataset(name="_") if isinstance(x, xr.DataArray) else x for x in (a, b))
        for k, v in va.variables.items():  # identical compares values; bit for bit, dtype too
            w = vb[k]
            assert v.dtype == w.dtype and v.values.tobytes() == w.values.tobytes(), (where, k)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b, where


@pytest.mark.parametrize("name", ["india-baseline", "india-2025-replay"])
def test_drawn_values_give_the_texts_scenario_and_chain(name):
    """Each sample's scenario (FX drawn too, presets expanded) and compiled chain are those of its
    values written as texts: the fields' values, their dump, every chain array's bytes."""
    ev = Evaluator(load_scenario(name), "magnet_imports")
    assert "fx_inr_per_usd" in ev.inputs.drawn  # USD amounts read at a drawn FX
    for at in _samples(ev, 4, seed=11):
        fast, slow = ev.scenario_at(at), ev.scenario_at(at, drawn=False)
        assert fast == slow and fast.model_dump() == slow.model_dump()
        a, b = compile_chain(fast), compile_chain(slow)
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f.name)
    assert ev.text_fallbacks == 0  # valid samples never need the texts: the drawn path works


def test_a_drawn_value_is_read_as_its_text():
    """Drawn.read is the reader's answer for its text, at and without an FX, for every unit the
    facts are written in, and for values the text path refuses (None both)."""
    rnd = np.random.default_rng(5)
    written = sorted({f.unit for f in load_facts().facts.values()} | {""})
    values = [*rnd.normal(0, 1e3, 6), *rnd.uniform(0, 1, 6), 1e-12, -0.0, 1e300,
              math.inf, math.nan]  # fmt: skip
    for src in written:
        for unit in ("t/yr", "fraction", "INR/kg", "crore INR", "year", "dimensionless"):
            read = units.reader(unit)
            for x in values:
                d = Drawn(float(x), src)
                for fx in (None, 88.123456789):
                    want, got = read(str(d), fx), d.read(unit, fx)
                    assert (want is None and got is None) or want == got, (src, unit, x, fx)
    assert str(Drawn(0.1, "t/yr")) == "0.1 t/yr"
    assert units.to_unit(Drawn(2.5, "kg"), "t") == units.to_unit("2.5 kg", "t")


@pytest.mark.parametrize(
    ("values", "field"),
    [({"eol_collection_rate": 1.5}, "supply.recycling.collection_rate"),
     ({"fx_inr_per_usd": -3.0}, "economics.fx_inr_per_usd")],
)  # fmt: skip
def test_a_bad_draw_fails_as_its_texts_do(values, field):
    """A value a field refuses: the same one-line message with Drawn values as with texts."""
    ev = Evaluator(load_scenario("india-baseline"), "magnet_imports")
    messages = []
    for drawn in (True, False):
        with pytest.raises(UserError) as err:
            ev.scenario_at(values, drawn=drawn)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("a drawn scenario is invalid (") and field in messages[0]
    with pytest.raises(UserError, match=field.replace(".", r"\.")):
        ev.many([values])
    assert gc.isenabled()  # back on after the block that failed


def test_the_collector_is_off_for_a_block_only():
    ev = Evaluator(load_scenario("india-baseline"), "magnet_imports", step="yearly")
    seen = []
    at = ev._samples  # a block's samples are made at once (fastpath.py)
    ev._samples = lambda values: (seen.append(gc.isenabled()), at(values))[1]  # type: ignore[method-assign]
    ev.many(_samples(ev, 2, seed=1))
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:  # a caller that turned it off keeps it off
        ev.many(_samples(ev, 1, seed=2))
        assert not gc.isenabled()
    finally:
        gc.enable()
