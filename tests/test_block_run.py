"""A block of parameter samples run without a Chain or `prepare` each (`repm.simulate.block`):
every sample's kernel inputs, made for all at once from the batched modules' arrays, are the
inputs `prepare` makes of that sample's compiled chain alone — field by field, type, dtype,
shape and bits — so its run is that run; its `SampleChain` is its Chain where it answers without
compiling; the Evaluator's numbers are those of the path through a Chain each."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import drawn_scenarios

from repm.chain.batched.chains import SampleChain, block_results
from repm.chain.compile import LABELLED, compile_chain
from repm.scenario.load import shipped_names
from repm.scenario.samples import SampleBlock
from repm.simulate import arrays
from repm.simulate.block import block_arrays, simulate_block
from repm.simulate.prepare import prepare, set_inputs, stacked_inputs, unshocked
from repm.simulate.sets import simulate_sets_unlabelled

N = 6


def _block(name: str):
    scs = drawn_scenarios(name, 12)[:N]  # the batched modules' tests' samples (cached)
    block = SampleBlock.gather(scs)
    return block, scs, block_results(block, scs)


def _bits(x) -> dict:
    """A labelled array's or Dataset's every variable: its dtype and bits (labels by value)."""
    parts = dict(x.coords.items())
    parts.update(x.data_vars.items() if hasattr(x, "data_vars") else {"": x})
    return {
        k: (v.dtype, v.values.tobytes() if v.dtype.kind in "biufc" else v.values.tolist())
        for k, v in parts.items()
    }


def _same_inputs(got, want, where: str) -> None:
    for field, a, b in zip(arrays.Inputs._fields, got, want, strict=True):
        at = f"{where}: {field}"
        assert type(a) is type(b), at  # a Python number where the kernel takes one
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, at
            assert a.flags.c_contiguous and a.flags.writeable, at  # one numba type for both
            assert np.array_equal(a, b, equal_nan=True), at
            assert a.tobytes() == b.tobytes(), at  # bits, signed zeros among them
        else:
            assert a == b or (a != a and b != b), at


@pytest.mark.parametrize("name", shipped_names())
@pytest.mark.parametrize("step", ["monthly", "yearly"])
def test_each_samples_inputs_are_its_chains(name, step):
    block, scs, res = _block(name)
    stacked, dims = stacked_inputs(block_arrays(block, res, scs), block.template.definition, step)
    for n, (s, got) in enumerate(zip(scs, set_inputs(stacked), strict=True)):
        want = prepare(compile_chain(s), step=step)
        assert dims == {**want.dims, "D": 0}
        _same_inputs(unshocked(got, dims), want.inputs, f"{name} sample {n}")


@pytest.mark.parametrize("name", ["india-baseline", "india-overseas-mines", "india-tolling-japan"])
def test_each_samples_run_is_its_chains_run(name):
    """The runs, array by array, and what the outputs read off each chain."""
    block, scs, res = _block(name)
    run = simulate_block(block, res, scs, "yearly")
    sims = run.sets
    want = simulate_sets_unlabelled([compile_chain(s) for s in scs], step="yearly")
    for n, (got, ref) in enumerate(zip(sims, want, strict=True)):
        assert got.variables.keys() == ref.variables.keys()
        for k, v in ref.variables.items():
            assert got.variables[k].dims == v.dims, (n, k)
            assert np.asarray(got.variables[k].values).tobytes() == np.asarray(v.values).tobytes()
        assert got.attrs == ref.attrs


@pytest.mark.parametrize("name", shipped_names())
def test_a_sample_chain_answers_as_its_chain(name):
    """What a SampleChain holds without compiling is the Chain's; the rest is the Chain's."""
    block, scs, res = _block(name)
    for i, s in enumerate(scs):
        lazy, chain = SampleChain(block.template, scs, res, i), compile_chain(s)
        for attr in ("name", "years", "sectors", "origins", "grades", "materials", "elements",
                     "n_years", "fresh_alloy_per_magnet", "route_names", "source_names",
                     "route_grades", "base_year", "export_premium", "oxide_per_magnet_values",
                     "export_price_values"):  # fmt: skip
            a, b = getattr(lazy, attr), getattr(chain, attr)
            assert np.array_equal(a, b) and type(a) is type(b), attr
            assert getattr(a, "dtype", None) == getattr(b, "dtype", None), attr
        assert lazy.model is chain.model and lazy.chem == chain.chem
        for attr in (*LABELLED, "incentive"):
            a, b = getattr(lazy, attr), getattr(chain, attr)
            assert a.identical(b), attr
            assert _bits(a) == _bits(b), attr  # identical() compares values, not their bits
            assert a.attrs == b.attrs and [type(x) for x in a.attrs.values()] == [
                type(x) for x in b.attrs.values()], attr  # fmt: skip
        assert lazy._chain is None  # none of that compiled it
        assert lazy.basket.identical(chain.basket)  # the rest: the whole Chain's
        assert lazy._chain is not None


def _evaluator(output: str, step: str = "monthly"):
    from repm.analyses.uncertainty.evaluate import Evaluator, headline
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    if output == "headline":  # `repm uncertainty`'s indicators side by side
        ev = Evaluator(loaded, headline()[0], step=step, names=tuple(headline()), workers=1)
    else:
        ev = Evaluator(loaded, output, step=step, workers=1)
    _, _, at = Pooled([ev], Alternatives.of("india-baseline", ())).draw(3, 8)
    return ev, [dict(a) for a in at]


def _through_chains(ev, values):
    scs = [ev.scenario_at(v) for v in values]
    chains = [compile_chain(s) for s in scs]
    return ev._outputs(scs, chains, simulate_sets_unlabelled(chains, step=ev._step()))


@pytest.mark.parametrize("output", ["magnet_imports", "unit_npv", "thorium_residue",
                                    "magnet_tolled", "headline"])  # fmt: skip
def test_the_evaluators_block_path_gives_the_chains_numbers(output):
    """Read at once (`block_totals`: a run indicator, the headline side by side), set by set
    (`magnet_tolled`: the routes' group; a unit's NPV): the path through a Chain each."""
    from repm.analyses.uncertainty.evaluate import headline

    ev, values = _evaluator(output, "yearly")
    got = ev.many(values)
    assert ev.block_fallbacks == 0 and ev.fast_samples == len(values) and ev.eager_blocks == 0
    assert ev._block_reads == (output != "magnet_tolled")  # who read it
    assert got.tobytes() == _through_chains(ev, values).tobytes()
    if output == "headline":
        assert got.shape == (len(values), len(headline()), len(ev.years))


def test_a_refused_block_runs_through_a_chain_each(monkeypatch):
    """Whatever `simulate_block` raises, the block is run again the old way (its error, if any,
    is the loop's) and counted."""
    import repm.simulate.block as B

    ev, values = _evaluator("magnet_imports", "yearly")

    def refuse(*a, **kw):
        raise ValueError("refused")

    monkeypatch.setattr(B, "simulate_block", refuse)
    got = ev.many(values)
    assert ev.block_fallbacks == 1
    assert got.tobytes() == _through_chains(ev, values).tobytes()


def test_a_set_out_of_balance_is_caught_as_a_run_alone_would_be(monkeypatch):
    """The block checks all residuals at once only to let balanced sets pass; a set whose
    residual is off fails its own check (its draw 0), the others pass theirs."""
    from repm.simulate import kernel
    from repm.simulate.balance import MassBalanceError

    block, scs, res = _block("india-baseline")
    run = kernel.run_stacked

    def leaky(stacked, out, per_set, threads=None):
        run(stacked, out, per_set, threads)
        out.residual[2, 3, 0, 0] += 50.0  # set 2, year 3: 50 t made from nothing

    monkeypatch.setattr(kernel, "run_stacked", leaky)
    with pytest.raises(MassBalanceError, match=r"draw 0, year index 3"):
        simulate_block(block, res, scs, "yearly")


@pytest.mark.parametrize(
    "name",
    ["magnet_imports", "self_sufficiency", "thorium_residue", "hhi_magnet_imports",
     "domestic_content_share", "china_content_share"],
)  # fmt: skip
def test_these_indicators_need_no_sample_chain_compiled(name):
    """The speed of the block path: these indicators read only what a SampleChain holds (a
    change to `results.build._compute` that reads more of the chain first shows here), and
    give the whole Chain's numbers."""
    from repm.results.build import indicator_totals

    scs = drawn_scenarios("india-baseline", 12)[:2]
    block = SampleBlock.gather(scs)
    run = simulate_block(block, block_results(block, scs), scs, "yearly")
    chains, sims = run.chains, run.sets
    got = indicator_totals(chains[0], sims[0], [name])[name]
    assert chains[0]._chain is None
    assert got.tobytes() == indicator_totals(compile_chain(scs[0]), sims[0], [name])[name].tobytes()


@pytest.mark.parametrize("name", shipped_names())
def test_the_blocks_scenario_gives_each_samples_policy(name):
    """The numbers read off the scenario itself (`compile.policy`), read once off the block's
    Scenario of drawn arrays (fastpath), are each sample's — the kernel inputs made of them are
    those made of each sample's Scenario, bit for bit; and some of them move."""
    from dataclasses import replace

    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario

    ev = Evaluator(load_scenario(name), "magnet_imports", step="yearly", workers=1)
    _, _, at = Pooled([ev], Alternatives.of(name, ())).draw(0, N)
    block, scs = ev._samples([dict(a) for a in at])
    assert block.scenario is not None
    res = block_results(block, scs)
    got = block_arrays(block, res, scs)
    want = block_arrays(replace(block, scenario=None), res, scs)
    for field, a, b in zip(type(got)._fields, got, want, strict=True):
        assert type(a) is type(b), field
        if isinstance(b, np.ndarray):
            assert (a.dtype, a.shape, a.flags.c_contiguous) == (
                b.dtype,
                b.shape,
                b.flags.c_contiguous,
            ), field
            assert a.tobytes() == b.tobytes(), field
    assert np.ptp(got.collection) > 0  # drawn: an array on the block's Scenario


def test_a_units_npv_compiles_no_sample_chain(monkeypatch):
    """A unit's NPV reads what a SampleChain holds (finance.context): no sample's Chain is
    compiled, and the numbers are the path through a Chain each, byte for byte."""
    import repm.chain.batched.chains as C

    compiled = []
    real = C.compile_chain
    monkeypatch.setattr(C, "compile_chain", lambda *a, **k: compiled.append(1) or real(*a, **k))
    ev, values = _evaluator("unit_npv", "yearly")
    got = ev.many(values)
    assert compiled == [] and ev.block_fallbacks == 0
    assert got.tobytes() == _through_chains(ev, values).tobytes()


@pytest.mark.parametrize("name", shipped_names())
def test_a_blocks_runs_read_at_once_are_each_runs_indicators(name):
    """`block_totals` reads every set's indicators in one pass (axes counted from the last):
    each set's are its own run's (`indicator_totals`), bit for bit, for every indicator it
    reads — the headline among them; one it does not read answers None, not a wrong number."""
    from repm.analyses.uncertainty.evaluate import headline, run_indicators
    from repm.results.build import block_totals, indicator_totals

    block, scs, res = _block(name)
    run = simulate_block(block, res, scs, "monthly")
    read = []
    for ind in run_indicators():
        got = block_totals(run.chain, run.run, [ind], len(scs))
        if got is None:
            continue
        read.append(ind)
        for n, (c, sim) in enumerate(zip(run.chains, run.sets, strict=True)):
            want = indicator_totals(c, sim, [ind])[ind]
            assert got.shape == (len(scs), 1, len(want)) and got.dtype == np.float64
            assert got[n, 0].tobytes() == want.tobytes(), (ind, n)
    assert set(headline()) <= set(read)
    assert "magnet_tolled" not in read  # the routes' group: set by set
    assert block_totals(run.chain, run.run, ["magnet_imports", "magnet_tolled"], N) is None
    both = block_totals(run.chain, run.run, ["thorium_residue", "magnet_imports"], N)
    assert np.array_equal(both[:, 1], block_totals(run.chain, run.run, ["magnet_imports"], N)[:, 0])


@pytest.mark.parametrize("name", shipped_names())
@pytest.mark.parametrize("step", ["monthly", "yearly"])
def test_the_stacked_run_is_each_sets_run(name, step):
    """`kernel.run_stacked` (each set's inputs made in compiled code) gives `run_sets`' bits on
    every output, each set on its own draws, on one thread or two."""
    from repm.simulate import kernel
    block, scs, res = _block(name)
    stacked, dims = stacked_inputs(block_arrays(block, res, scs), block.template.definition, step)
    stacked = unshocked(stacked, dims)
    want = arrays.outputs({**dims, "D": 2 * N})
    kernel.compiled()  # the compiled path, however small the run
    kernel.run_sets(set_inputs(stacked), want, 2)
    for threads in (1, 2):
        got = arrays.outputs({**dims, "D": 2 * N})
        kernel.run_stacked(stacked, got, 2, threads)
        for field, a, b in zip(arrays.Outputs._fields, got, want, strict=True):
            assert a.tobytes() == b.tobytes(), f"{threads} threads: {field}"
    assert len(kernel.compiled()._block.signatures) <= 1


def test_a_sets_compiled_inputs_are_the_numba_types_of_its_python_ones():
    """`stacked._sets` calls `_block` with each set's inputs and draws of the outputs made in
    compiled code: the Numba types `set_inputs` and `run_sets`' views have (C-contiguous rows,
    float64 and int64 numbers), or `_block` would be compiled a second time (~45 s, slower
    code); and the same values."""
    import numba

    from repm.simulate import jit, stacked

    block, scs, res = _block("india-baseline")
    st, dims = stacked_inputs(block_arrays(block, res, scs), block.template.definition, "monthly")
    st = unshocked(st, dims)
    twins = jit.compiled(stacked)
    for p, want in enumerate(set_inputs(st)):
        got = twins._set_inputs(st, p)
        _same_inputs(got, want, f"set {p}")
    (sig,) = twins._set_inputs.signatures
    assert twins._set_inputs.overloads[sig].signature.return_type == numba.typeof(want)
    out = arrays.outputs({**dims, "D": 3 * N})
    views = arrays.Outputs(*(a[3:6] for a in out))
    twins._draws(out, 3, 6)
    (sig,) = twins._draws.signatures
    assert twins._draws.overloads[sig].signature.return_type == numba.typeof(views)


def test_the_stacked_run_refuses_what_compiled_code_would_not_check():
    """`run_stacked` writes through compiled code, which does not check bounds: outputs with too
    few draws, a field with a row short, a read-only field (another Numba type: a compile of
    its own) or a per-set number of another dtype are refused before any is run."""
    from repm.simulate import kernel

    block, scs, res = _block("india-baseline")
    stacked, dims = stacked_inputs(block_arrays(block, res, scs), block.template.definition,
                                   "yearly")  # fmt: skip
    stacked = unshocked(stacked, dims)
    kernel.compiled()  # the compiled path (a small run would go through `run_sets`)
    with pytest.raises(ValueError, match="outputs of 5 draws for 6"):
        kernel.run_stacked(stacked, arrays.outputs({**dims, "D": N - 1}), 1)
    out = arrays.outputs({**dims, "D": N})
    short = stacked._replace(emb=stacked.emb[:-1])
    with pytest.raises(ValueError, match="emb: 5 rows for 6 sets"):
        kernel.run_stacked(short, out, 1)
    frozen = stacked.gc.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="gc is read-only"):
        kernel.run_stacked(stacked._replace(gc=frozen), out, 1)
    with pytest.raises(ValueError, match="y_am: float32"):
        kernel.run_stacked(stacked._replace(y_am=stacked.y_am.astype(np.float32)), out, 1)
    kernel.run_stacked(stacked, out, 1)  # as it is: runs
