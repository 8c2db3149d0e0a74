"""The batched composition, recipe, yields, capacity, trade, prices and routes modules
(repm.chain.batched) against the per-sample ones, bit for bit: drawn samples of every shipped
scenario, stressed inputs for the branches the drawn ones never take, the errors (a whole Chain
compiled from a block's slices: tests/test_batched_chains.py)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import drawn_scenarios, same_bits

from repm.chain.batched.composition import (
    COMPOSITION_SHARED,
    RECIPE_SHARED,
    composition_block,
    recipe_block,
)
from repm.chain.batched.prices import PRICES_SHARED, prices_block
from repm.chain.batched.routes import ROUTES_SHARED, routes_block, routes_sample
from repm.chain.batched.slicing import sample
from repm.chain.batched.supply import (
    CAPACITY_SHARED,
    TRADE_SHARED,
    YIELDS_SHARED,
    capacity_block,
    trade_block,
    yields_block,
)
from repm.chain.compile import chemistry_of
from repm.chain.composition import composition, recipe
from repm.chain.demand import demand
from repm.chain.prices import prices
from repm.chain.routes import routes
from repm.chain.rules import fresh_alloy_per_magnet
from repm.chain.supply import capacity, trade, yields
from repm.errors import UserError
from repm.scenario.load import shipped_names
from repm.scenario.samples import SampleBlock
from repm.scenario.schema import FEEDS

N = 12


def same(a, b, where: str = "") -> None:
    """a (per-sample) and b (a slice of the batched) alike: arrays bit for bit with dtype and
    shape, numbers of the same Python type and bits, dicts key by key in order, the rest ==."""
    import xarray as xr

    if isinstance(a, xr.DataArray | xr.Dataset):
        same_labelled(a, b, where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert same_bits(a, b) if a.dtype.kind == "f" else np.array_equal(a, b), where
    elif isinstance(a, float):
        assert type(b) is type(a) and same_bits(a, b), where
    else:
        assert type(a) is type(b) and a == b, where


def per_sample(s) -> dict:
    """Each module's per-sample result for one scenario, as compile_chain calls them."""
    model, years = s.definition, np.array(s.horizon.years)
    cp = composition(s, model, chemistry_of(s))
    dm = demand(s, model, years, cp["gc"])
    ylds = yields(s)
    rc = recipe(s, model, cp["gc"], cp["ei"], cp["mi"], cp["f_ox"])
    apm = fresh_alloy_per_magnet(ylds["alloy_to_magnet"], ylds["scrap_return"])
    return dict(
        composition=cp, demand=dm, yields=ylds, recipe=rc, capacity=capacity(s, years),
        trade=trade(s, model, years, dm["base"], dm["bare"], dm["emb"], cp["gc"], cp["ei"],
                    cp["mi"]),
        prices=prices(s, model, years, rc[FEEDS.index("oxide")] * apm),
        routes=routes(s, model, years, dm["ci_on"], s.supply.yields, tuple(s.trade.origins)),
    )  # fmt: skip


def batched(scs) -> dict:
    """Each batched module's result for the block of `scs` (demand's, which another module
    batches, stacked from the per-sample one)."""
    b = SampleBlock.gather(scs)
    model, years = b.template.definition, np.array(b.template.horizon.years)
    cp = composition_block(b, model)
    dms = [demand(s, model, years, g) for s, g in zip(scs, cp["gc"], strict=True)]
    bare, emb = np.stack([d["bare"] for d in dms]), np.stack([d["emb"] for d in dms])
    ylds = yields_block(b)
    rc = recipe_block(b, model, cp["gc"], cp["ei"], cp["mi"], cp["f_ox"])
    apm = fresh_alloy_per_magnet(ylds["alloy_to_magnet"], ylds["scrap_return"])
    return dict(
        composition=cp, yields=ylds, recipe=rc, capacity=capacity_block(b, years),
        trade=trade_block(b, model, years, dms[0]["base"], bare, emb, cp["gc"], cp["ei"],
                          cp["mi"]),
        prices=prices_block(b, model, years, rc[:, FEEDS.index("oxide")] * apm[:, None, None]),
        routes=routes_block(b, model, years, np.stack([d["ci_on"] for d in dms]),
                            b.template.trade.origins),
    )  # fmt: skip


SHARED = dict(composition=COMPOSITION_SHARED, yields=YIELDS_SHARED, recipe=RECIPE_SHARED,
              capacity=CAPACITY_SHARED, trade=TRADE_SHARED, prices=PRICES_SHARED,
              routes=ROUTES_SHARED)  # fmt: skip


def slice_of(name: str, got, i: int):
    if name == "routes":  # labelled arrays
        return routes_sample(got, i)
    return sample(got, i, SHARED[name])


@functools.lru_cache
def drawn(name: str) -> tuple:
    return drawn_scenarios(name, N)


@functools.lru_cache
def drawn_block(name: str) -> dict:
    return batched(drawn(name))


def check_block(scs, got=None) -> None:
    got = got or batched(scs)
    for i, s in enumerate(scs):
        ref = per_sample(s)
        for name in SHARED:
            same(ref[name], slice_of(name, got[name], i), f"sample {i} {name}")


@pytest.mark.parametrize("name", shipped_names())
def test_drawn_samples_bit_for_bit(name):
    check_block(drawn(name), drawn_block(name))


def put(obj, path: tuple, value):
    """A copy of a Scenario (or a block of it) with `value` at `path` (not validated again: the
    modules read it as they would a validated one)."""
    if not path:
        return value
    k, rest = path[0], path[1:]
    if isinstance(obj, dict | list):
        new = dict(obj) if isinstance(obj, dict) else list(obj)
        new[k] = put(obj[k] if isinstance(obj, list) or k in obj else None, rest, value)
        return new
    return obj.model_copy(update={k: put(getattr(obj, k), rest, value)})


def test_stressed_branches_bit_for_bit():
    """What the drawn samples never take: Tb for Dy on in some samples and off (share 0) in
    others, the fact table's Nd:Pr split (none set), the base year's own grade mix for spare
    alloys (no spare_grade_mix), units that start at award + a fractional gestation, one-point
    and out-of-horizon price paths, no co-product prices; no units at all; a spare grade mix without a grade."""
    from repm.scenario.supply import TbForDy

    scs = []
    for i, s in enumerate(drawn("india-baseline")):
        s = put(s, ("supply", "tb_for_dy"), TbForDy(share=[0.0, 0.3, 1.0][i % 3], ratio=0.6 + i))
        s = put(s, ("supply", "pr_share_of_ndpr"), None)
        s = put(s, ("trade", "spare_grade_mix"), None)
        s = put(s, ("supply", "units", 0, "gestation_years"), 0.5 + 0.37 * i)
        s = put(s, ("supply", "units", 1, "rampup_years"), 0.1 + 0.9 * i)
        s = put(s, ("economics", "oxide_prices", "dy_oxide"), {2031: 100.0 + i})
        s = put(s, ("economics", "china_oxide_prices", "tb_oxide"), {1990: 5.0, 2090: 7.5 + i})
        scs.append(put(s, ("economics", "coproduct_prices"), {}))
    check_block(scs)
    check_block([put(s, ("supply", "units"), []) for s in drawn("india-no-scheme")])
    mix = [put(s, ("trade", "spare_grade_mix"), {"n": 0.4 + i / 100, "gbd": 0.6 - i / 100})
           for i, s in enumerate(drawn("india-exports"))]  # fmt: skip
    check_block(mix)


def test_trade_stressed_mixes_bit_for_bit():
    """trade on stressed inputs: bare and emb of mixed magnitudes (the whole sum pairwise, the
    sum over sectors in order), all zero or tiny in some samples (`max(sum, 1e-12)`), no heavy
    rare earth in some (the even split of a group's spare when its content is 0)."""
    scs = [put(s, ("trade", "spare_grade_mix"), None) for s in drawn("india-baseline")]
    b = SampleBlock.gather(scs)
    model, years = b.template.definition, np.array(b.template.horizon.years)
    cp = composition_block(b, model)
    rng = np.random.default_rng(7)
    base = int(scs[0].demand.base_year)
    dm = demand(scs[0], model, years, cp["gc"][0])
    shape = (N, *dm["bare"].shape)
    bare = rng.lognormal(0, 6, shape) * (rng.random(shape) < 0.8)
    emb = rng.lognormal(0, 6, shape)
    bare[1], emb[2], bare[3], emb[3] = 0.0, 0.0, 1e-15, 1e-300
    gc = cp["gc"].copy()
    gc[4:7, :, [model.element_names.index("Dy"), model.element_names.index("Tb")]] = 0.0
    ei, mi = cp["ei"], cp["mi"]
    got = trade_block(b, model, years, base, bare, emb, gc, ei, mi)
    for i, s in enumerate(scs):
        ref = trade(s, model, years, base, bare[i], emb[i], gc[i], ei, mi)
        same(ref, sample(got, i, TRADE_SHARED), f"sample {i}")
    assert np.isfinite(got["spare"]).all()


def test_yields_error_is_the_lowest_failing_samples():
    """Two samples recover more REO than the monazite holds: the block raises the lower one's
    error, the same message and field as its own call."""
    scs = list(drawn("india-baseline"))
    for i in (7, 3):
        reo = scs[i].supply.monazite.reo_fraction
        scs[i] = put(scs[i], ("supply", "yields", "cracking_reo_per_t_monazite"), reo * 1.01)
    with pytest.raises(UserError) as want:
        yields(scs[3])
    with pytest.raises(UserError) as got:
        yields_block(SampleBlock.gather(scs))
    assert str(got.value) == str(want.value) and got.value.where == want.value.where
    assert "exceeds the monazite's REO content" in str(got.value)
    # at the limit (+1e-12 allowed) is no error, in both
    scs[3] = put(scs[3], ("supply", "yields", "cracking_reo_per_t_monazite"),
                 scs[3].supply.monazite.reo_fraction + 1e-13)  # fmt: skip
    scs[7] = scs[3]
    yields(scs[3])
    with pytest.raises(UserError) as later:
        yields_block(SampleBlock.gather(scs[:7] + [put(scs[7], (
            "supply", "yields", "cracking_reo_per_t_monazite"), 1.0)] + scs[8:]))  # fmt: skip
    assert "1 t REO per t monazite" in str(later.value)


def same_labelled(x, y, where: str) -> None:
    """Labelled arrays alike: type, dims, labels, attrs, each variable's values bit for bit."""
    assert type(y) is type(x) and dict(x.sizes) == dict(y.sizes), where
    assert list(x.coords) == list(y.coords) and all(x[c].equals(y[c]) for c in x.coords), where
    names = list(x.data_vars) if hasattr(x, "data_vars") else [None]
    assert names == (list(y.data_vars) if hasattr(y, "data_vars") else [None]), where
    for k in names:
        u, v = (x[k], y[k]) if k else (x, y)
        assert u.dims == v.dims, where
        same(u.values, v.values, f"{where}.{k}")
    same(dict(x.attrs), dict(y.attrs), f"{where}.attrs")


def same_chain(a, b) -> None:
    """Two Chains alike on every field: labelled arrays' values bit for bit (with dims and
    labels), datasets variable by variable (and attrs), the rest as `same`."""
    import dataclasses

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("model", "chem"):
            assert x is y or x == y, f.name
        else:
            same(x, y, f.name)


def test_routes_stressed_bit_for_bit():
    """routes on what the shipped samples leave out: end years and start years per sample, a
    mixed-REO source with no NdPr in some samples (product per oxide 0), no export retention or
    a drawn start, a group without world production, a stage without burdens, exposure to other
    origins' licences, a buyer incentive without a budget."""
    ovs, tol = [], []
    for i, s in enumerate(drawn("india-overseas-mines")):
        s = put(s, ("routes", "overseas", 0, "end_year"), 2028.0 + i)
        s = put(s, ("routes", "overseas", 1, "start_year"), 2026.0 + i % 4)
        s = put(s, ("routes", "overseas", 1, "ndpr_share_of_reo"), [0.0, 0.3][i % 2])
        s = put(s, ("routes", "export_retention", "start_year"), 2025.0 + i)
        s = put(s, ("trade", "world_production", "heavy"), {})
        env = {k: v for k, v in s.environment.intensity.items() if k != "metal"}
        ovs.append(put(s, ("environment", "intensity"), env))
    for i, s in enumerate(drawn("india-tolling-japan")):
        s = put(s, ("routes", "export_retention"), None)
        s = put(s, ("routes", "tolling", 0, "end_year"), 2030.0 + i)
        tol.append(put(s, ("routes", "tolling", 0, "exposed_to"), {"China": 0.05 * i, "EU": 0.5}))
    inc = [put(s, ("routes", "consumer_incentive", "budget"), None)
           for s in drawn("india-buyer-incentive")]  # fmt: skip
    for scs in (ovs, tol, inc):
        got = batched(scs)["routes"]
        for i, s in enumerate(scs):
            same(per_sample(s)["routes"], routes_sample(got, i), f"sample {i}")
    assert {float(r) for r in got["incentive_budget"]} == {np.inf}


def test_composition_error_is_the_per_sample_one():
    """A separated product with no composition rule (Dy+Tb here): the block raises what each
    sample's composition() raises."""
    from types import SimpleNamespace

    class Odd:  # the shipped definition with 'dy' made of Dy and Tb
        def __init__(self, model):
            self._model = model
            self.separated = {**model.separated, "dy": SimpleNamespace(elements=["Dy", "Tb"])}

        def __getattr__(self, name):
            return getattr(self._model, name)

    scs = drawn("india-baseline")
    odd = Odd(scs[0].definition)
    with pytest.raises(UserError) as want:
        composition(scs[0], odd, chemistry_of(scs[0]))
    with pytest.raises(UserError) as got:
        composition_block(SampleBlock.gather(scs), odd)
    assert str(got.value) == str(want.value) == "model: no composition rule for a product of Dy+Tb"
