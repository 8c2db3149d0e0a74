"""The fast paths of a parameter sample (issue 14 part 6) give what the slow ones give, bit for
bit: a unit conversion by its cached factor against pint's, a chain whose labels are reused
against one labelled afresh."""

from __future__ import annotations

import dataclasses
import random

import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import repm.chain.compile as compile_module
import repm.chain.routes as routes_module
from repm.chain import compile_chain
from repm.chain.labels import Labels
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
    if isinstance(coords, Labels):  # the labels of `dims`, in their order
        coords = {name: coords.coords[name] for name in dims}
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


def test_unit_npv_is_unit_metrics_npv():
    from repm.analyses import finance as F
    from repm.results.build import Results
    from repm.simulate.engine import simulate

    sc = load_scenario("india-baseline").scenario
    chain = compile_chain(sc)
    sim = simulate(chain, step="yearly")
    ctx = F.context(sc, chain, Results(data=sim.data, indicators=None, scenario=sc.name))  # type: ignore[arg-type]
    for unit in F.unit_specs(sc)[:2]:
        for lv in (F.Levers(), F.Levers(price=0.8, discount=1.3)):
            assert F.unit_npv(ctx, unit, lv) == F.unit_metrics(ctx, unit, lv)["npv"]


@pytest.mark.parametrize("output", ["unit_npv", "expected_unmet", "magnet_imports"])
def test_drawn_samples_fast_equals_slow(output, monkeypatch):
    """Several drawn samples evaluated with the fast paths and with the slow ones (pint's
    conversions, labels built afresh, the NPV from unit_metrics): the same numbers, bit for bit."""
    import numpy as np

    from repm.analyses import finance as F
    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator

    loaded = load_scenario("india-baseline")
    ev = Evaluator(loaded, output, draws=8, step="yearly")
    n = 3
    drawn = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 7, np.arange(n)), n)
    at = [{k: float(v[d]) for k, v in drawn.items()} for d in range(n)]
    fast = ev.many(at)
    assert set(ev.phases) == {"validate", "compile", "simulate", "output"}
    with monkeypatch.context() as m:
        m.setattr(units, "_fast", lambda *a: None)
        m.setattr(compile_module, "labelled", _plain)
        m.setattr(routes_module, "labelled", _plain)
        m.setattr(routes_module, "labelled_set", _plain_set)
        m.setattr(F, "unit_npv", lambda ctx, unit: F.unit_metrics(ctx, unit)["npv"])
        slow = Evaluator(loaded, output, draws=8, step="yearly").many(at)
    assert fast.shape == slow.shape and fast.tobytes() == slow.tobytes()
    assert len(np.unique(fast.reshape(n, -1), axis=0)) == n  # the samples differ


def test_one_indicator_is_the_full_tables():
    """build_results(…, only=[name]) gives each run indicator's totals as the full table does,
    bit for bit, and no row of another indicator; several names at once too."""
    import numpy as np

    from repm.analyses.uncertainty.evaluate import headline, run_indicators
    from repm.results.build import build_results
    from repm.simulate.engine import simulate

    chain = compile_chain(load_scenario("india-tolling-japan").scenario)
    sim = simulate(chain, step="yearly")
    full = build_results(chain, sim).wide_totals()
    names = [n for n in run_indicators() if n in full.columns]
    assert len(names) > 90
    for group in [[n] for n in names] + [headline()]:
        part = build_results(chain, sim, only=group)
        assert set(part.indicators["name"]) == set(group)
        wide = part.wide_totals()
        for n in group:
            assert np.asarray(wide[n]).tobytes() == np.asarray(full[n]).tobytes(), n


def test_substitute_by_paths():
    """substitute (a copy, then the drawn facts at their paths) gives what a walk of the whole
    scenario gives, and leaves the loaded scenario as it was."""
    import copy

    import numpy as np

    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.drawn import fact_paths, substitute
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario.fields import FACT_PREFIX

    loaded = load_scenario("india-baseline")
    ev = Evaluator(loaded, "magnet_imports")
    table = load_facts()

    def walk(raw, values):
        if isinstance(raw, dict):
            return {k: walk(v, values) for k, v in raw.items()}
        if isinstance(raw, list):
            return [walk(v, values) for v in raw]
        if isinstance(raw, str) and raw.strip().startswith(FACT_PREFIX):
            fid = raw.strip()[len(FACT_PREFIX) :].strip()
            if fid in values:
                return f"{float(values[fid])!r} {table.facts[fid].unit}"
        return raw

    before = copy.deepcopy(loaded.raw)
    drawn = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 3, np.arange(2)), 2)
    paths = fact_paths(loaded.raw)
    assert len(paths) == len(loaded.provenance)
    for d in range(2):
        at = {k: float(v[d]) for k, v in drawn.items()}
        new = substitute(loaded.raw, at, table, paths)
        assert new == walk(loaded.raw, at) == substitute(loaded.raw, at, table)
        assert new != loaded.raw
        ev.scenario_at(at)  # shares rescaled (normalise) in the copy, not in the loaded mapping
    assert loaded.raw == before
    assert substitute("fact:fx_inr_per_usd", {"fx_inr_per_usd": 90.0}, table) == "90.0 INR/USD"


def test_a_drawn_value_a_field_refuses_is_one_line(monkeypatch):
    """A sample whose value a field refuses (a collection rate of 150 %) is the one-line error it
    was before the fast paths: the field's path, the value and the bound, then what to do."""
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.errors import UserError

    ev = Evaluator(load_scenario("india-baseline"), "magnet_imports")
    messages = []
    for fast in (True, False):
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(units, "_fast", lambda *a: None)
            with pytest.raises(UserError) as err:
                ev.scenario_at({"eol_collection_rate": 1.5})
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    msg = messages[0]
    assert "\n" not in msg
    assert msg.startswith("a drawn scenario is invalid (india-baseline: ")
    assert "supply.recycling.collection_rate" in msg and "expected a value ≤ 1" in msg
    assert "uncertainty:` block" in msg


def test_imports_over_draws_in_numpy_is_xarrays_mean():
    """The indicators read the imports' mean over draws in numpy (`over_draws`), and the
    magnets by origin from it; the groups that select by name read xarray's: the same floats,
    bit for bit, over shock draws too."""
    import numpy as np

    from repm.results.indicators import mean_over_draws, over_draws
    from repm.simulate.engine import simulate
    from repm.simulate.shocks import sample

    loaded = load_scenario("india-baseline")
    chain = compile_chain(loaded.scenario)
    data = simulate(chain, shocks=sample(loaded.scenario.risk, chain, np.arange(64), 1)).data
    for name in ("imports", "unmet", "production"):
        numpy_mean = over_draws(data.variables[name])
        assert numpy_mean.tobytes() == mean_over_draws(data[name]).values.tobytes(), name
        assert np.ptp(data[name].values, axis=0).max() > 0, name  # the draws differ
    # magnets imported by origin: numpy's selection and sum are xarray's isel-then-sum
    by = over_draws(data.variables["imports"])
    idx = [chain.materials.index(m) for m in (*chain.model.names(kind="magnet"),
                                              *chain.model.names(kind="embedded"))]  # fmt: skip
    labelled = mean_over_draws(data["imports"]).isel(material=idx).sum("material")
    assert np.ascontiguousarray(by[..., idx]).sum(axis=2).tobytes() == labelled.values.tobytes()


def test_labels_give_the_arrays_coords_give():
    """`labelled` with Labels (a dimension's labels kept, each key made once) makes the array
    `labelled` with the same labels as coords makes, and `xr.DataArray` makes: first (the
    constructor) and again (the coordinates reused); `Labels.of` gives one object per labels."""
    import numpy as np

    from repm.chain.labels import labelled

    years = np.arange(2031, 2043)
    on = {"year": years, "sector": ["a", "b"], "grade": ["n", "uh", "x"]}
    assert Labels.of(on) is Labels.of(dict(on))
    data = np.arange(12 * 2 * 3, dtype=float).reshape(12, 2, 3)
    for dims in (("year", "sector", "grade"), ("sector", "year"), ("grade",)):
        shape = tuple(len(on[d]) for d in dims)
        x = data.ravel()[: int(np.prod(shape))].reshape(shape)
        ref = xr.DataArray(x, dims=dims, coords={d: on[d] for d in dims})
        for _ in range(2):
            got = labelled(x, dims, Labels.of(on))
            xr.testing.assert_identical(got, ref)
            xr.testing.assert_identical(labelled(x, dims, {d: on[d] for d in dims}), got)
            assert got.values is x
    with pytest.raises(ValueError):  # a wrong shape: the constructor's error
        labelled(data[:, :1], ("year", "sector", "grade"), Labels.of(on))


@pytest.mark.parametrize("name", ["india-baseline", "india-tolling-japan"])
def test_export_price_values_are_the_labelled_rule(name):
    """`Chain.export_price_values` (what a sample's NPV reads) and `export_price` (labelled)
    are the grade's price × (1 + premium) as xarray's arithmetic makes it, bit for bit."""
    chain = compile_chain(load_scenario(name).scenario)
    ref = chain.magnet_price * (1 + chain.export_premium)
    xr.testing.assert_identical(chain.export_price, ref)
    assert chain.export_price_values.tobytes() == ref.values.tobytes()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=24, max_size=24),
    st.booleans(),
)
def test_one_draws_mean_is_its_values(xs, stacked):
    """`over_draws` of one draw takes no mean (a reduction over an outer axis costs ~10× an
    add): its floats are the mean's bit for bit — signed zeros, infinities, nans, subnormals —
    alone and with parameter sets before the dims (a block's runs side by side)."""
    import numpy as np

    from repm.results.indicators import over_draws
    from repm.simulate.engine import Variable

    v = np.array(xs, dtype=float).reshape((2, 1, 3, 2, 2) if stacked else (1, 6, 2, 2))
    got = over_draws(Variable(("draw", "year", "origin", "material"), v))
    want = v.mean(axis=-4)
    assert got.shape == want.shape
    assert got.tobytes() == want.tobytes()
