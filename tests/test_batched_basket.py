"""The batched basket (repm.chain.batched.basket) against the per-sample module, bit for bit on
drawn samples of every shipped scenario and stressed into each bound and the mass-balance error
(the Chain compiled from a block's slices: tests/test_batched_chains.py)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import drawn_scenarios
from test_batched_demand import N, inputs, same_result

from repm.chain import compile_chain
from repm.chain.basket import basket
from repm.chain.batched import basket as bk
from repm.chain.batched import demand as bd
from repm.chain.batched.slicing import sample
from repm.chain.compile import chemistry_of
from repm.errors import MassBalanceError
from repm.scenario.load import shipped_names
from repm.scenario.samples import SampleBlock


@functools.lru_cache(maxsize=16)
def chains(name: str) -> tuple:
    """Each drawn sample's Chain, compiled the per-sample way (the retention basket reads)."""
    return tuple(compile_chain(s) for s in drawn_scenarios(name, N))


def check_block(scs, retention) -> dict:
    model, years = scs[0].definition, np.array(scs[0].horizon.years)
    nd = tuple(model.separated["ndpr"].elements)
    chems = [chemistry_of(s) for s in scs]
    got = bk.basket_block(SampleBlock.gather(scs), model, chems, years, nd, retention)
    for i, s in enumerate(scs):
        ref = basket(s, model, chems[i], years, nd, retention[i])
        same_result(sample(got, i, bk.SHARED), ref, f"sample {i} ")
    return got


def retention(name: str) -> np.ndarray:
    return np.stack([c.retention.values for c in chains(name)])


@pytest.mark.parametrize("name", shipped_names())
def test_drawn_samples_bit_for_bit(name):
    scs = drawn_scenarios(name, N)
    got = check_block(scs, retention(name))
    assert got["flows"]["extraction"].shape == (N, len(scs[0].horizon.years), len(got["names"]))
    assert len({got["ndpr_per_t"][i] for i in range(N)}) == N  # the samples do differ


def _supply(s, **kw):
    return s.model_copy(update={"supply": s.supply.model_copy(update=kw)})


def test_every_bound_and_the_market_cap():
    """Samples bound by mining, cracking, the co-product market (one with the capped element
    absent: no limit), the path and the NdPr plan; chloride exports cut by retention."""
    scs = drawn_scenarios("india-baseline", N)
    out = []
    for i, s in enumerate(scs):
        sp = s.supply
        mz = sp.monazite
        co = sp.coproducts.model_copy(update={"market_cap": {"La": 50.0 + 400 * i}})
        kw = {"coproducts": co}
        if i % 4 == 1:
            kw["mining_capacity"] = 300.0 + i
        elif i % 4 == 2:
            kw["cracking_capacity"] = 200.0 + i
        elif i % 4 == 3:  # a plan more than the path can give
            out_ = {y: v * 40 for y, v in sp.separation.output.items()}
            kw["separation"] = sp.separation.model_copy(update={"output": out_})
        if i == 4:  # no La in the REO: the cap limits nothing
            kw["monazite"] = mz.model_copy(
                update={"re_distribution": {**mz.re_distribution, "La": 0.0}}
            )
        out.append(_supply(s, **kw))
    ret = retention("india-baseline").copy()
    ret[::2] = np.linspace(0, 1, ret.shape[1])  # some years hold all, some none
    got = check_block(out, ret)
    bound = set(got["bound"].ravel().tolist())
    assert {"mining", "cracking", "market", "path", "ndpr plan"} <= bound, bound
    assert np.isinf(got["limits"]["market"][4]).all()


def test_mass_balance_error_is_the_first_failing_samples():
    scs = list(drawn_scenarios("india-baseline", N))
    for i in (7, 3):  # flows so large their rounding leaves more than the tolerance
        mz = scs[i].supply.monazite
        big = mz.model_copy(update={"processed": {y: 1e15 for y in mz.processed}})
        scs[i] = _supply(scs[i], monazite=big, mining_capacity=1e20, cracking_capacity=1e20)
    model, years = scs[0].definition, np.array(scs[0].horizon.years)
    nd = tuple(model.separated["ndpr"].elements)
    ret = retention("india-baseline")
    with pytest.raises(MassBalanceError) as want:
        for i, s in enumerate(scs):
            basket(s, model, chemistry_of(s), years, nd, ret[i])
    chems = [chemistry_of(s) for s in scs]
    with pytest.raises(MassBalanceError) as got:
        bk.basket_block(SampleBlock.gather(scs), model, chems, years, nd, ret)
    assert str(got.value) == str(want.value)
    with pytest.raises(MassBalanceError):  # the one that failed first: sample 3
        basket(scs[3], model, chems[3], years, nd, ret[3])


class Recording(SampleBlock):
    """A block noting every path read: each must be a number of the Scenario (a leaf), not a
    property — `get` would give the template's number for every sample there."""

    read: set = set()

    def get(self, path):
        Recording.read.add(path)
        return super().get(path)


@pytest.mark.parametrize("name", shipped_names())
def test_every_number_read_is_a_field(name):
    scs, model, years, gc = inputs(name)
    b = SampleBlock.gather(scs)
    rec = Recording(template=b.template, values=b.values, n=b.n)
    Recording.read = set()
    dm = bd.demand_block(rec, model, years, gc)
    bd.history_block(rec, years, dm["dem"], dm["grade_split"])
    nd = tuple(model.separated["ndpr"].elements)
    bk.basket_block(rec, model, [chemistry_of(s) for s in scs], years, nd, retention(name))
    assert Recording.read and Recording.read <= set(b.values), Recording.read - set(b.values)
