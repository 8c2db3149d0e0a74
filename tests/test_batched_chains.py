"""The chain compiled for a block of samples (`compile_block`: every batched module once, each
sample's slices into `compile_chain`) is the chain each sample compiles alone, field by field
and bit for bit; where a sample fails, the block raises what the loop over samples raises."""

from __future__ import annotations

import pytest
from conftest import drawn_scenarios
from test_batched_supply import put, same_chain

from repm.chain.batched.chains import compile_block
from repm.chain.compile import compile_chain
from repm.errors import UserError
from repm.scenario.load import shipped_names
from repm.scenario.samples import SampleBlock

N = 6


@pytest.mark.parametrize("name", shipped_names())
def test_block_chains_are_each_samples_chain(name):
    scs = drawn_scenarios(name, 12)[:N]  # the batched modules' tests' samples (cached)
    got = compile_block(SampleBlock.gather(scs), scs)
    assert len(got) == N
    for s, chain in zip(scs, got, strict=True):
        same_chain(compile_chain(s), chain)


def _raised(fn) -> tuple[str, str | None]:
    with pytest.raises(UserError) as e:
        fn()
    return str(e.value), e.value.where


def test_a_failing_block_raises_the_loops_error_in_the_loops_order():
    """Sample 1 fails in yields (after demand), sample 3 in demand: the batched demand meets
    sample 3 first, but the loop, sample by sample, stops at sample 1's yields — as the block
    does."""
    scs = list(drawn_scenarios("india-baseline", 12)[:N])
    reo = scs[1].supply.monazite.reo_fraction
    scs[1] = put(scs[1], ("supply", "yields", "cracking_reo_per_t_monazite"), reo * 1.01)
    ch = scs[3].demand.channels
    scs[3] = put(scs[3], ("demand", "channels", "bare_base"), 1e9 * (ch.bare_base or 1.0))
    block = SampleBlock.gather(scs)
    from repm.chain.batched.chains import block_parts

    assert "bare channel" in _raised(lambda: block_parts(block, scs))[0]  # demand's, sample 3's
    want = _raised(lambda: [compile_chain(s) for s in scs])
    assert "exceeds the monazite's REO content" in want[0]
    assert _raised(lambda: compile_block(block, scs)) == want


@pytest.mark.parametrize("name", shipped_names())
def test_the_fast_paths_block_compiles_each_samples_chain(name):
    """What `Evaluator._block` compiles: the block of the drawn-value path (its drawn numbers
    only; every other number the template's) through the batched modules — each sample's chain
    as `compile_chain` makes it of that sample's Scenario alone (a number the block lacks, such
    as a share scaled with a drawn one, would show here)."""
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario

    ev = Evaluator(load_scenario(name), "magnet_imports", step="yearly", workers=1)
    _, _, at = Pooled([ev], Alternatives.of(name, ())).draw(1, N)
    block, scs = ev._samples([dict(a) for a in at])
    assert block is not None and ev.slow_samples == 0
    for s, chain in zip(scs, compile_block(block, scs), strict=True):
        same_chain(compile_chain(s), chain)


def test_a_block_refuses_a_property_as_a_number():
    """`get` reads fields only: a property (made of fields a sample may draw) would be the
    template's number in every sample."""
    scs = drawn_scenarios("india-baseline", 12)[:2]
    block = SampleBlock.gather(scs)
    with pytest.raises(KeyError, match="ndpr_share_of_reo is not a field"):
        block.get(("supply", "monazite", "ndpr_share_of_reo"))
    assert block.get(("supply", "monazite", "reo_fraction")).shape == (2,)


def test_gather_refuses_samples_of_another_structure():
    """A block is one structure: a sample with another lifetime distribution (a text, not a
    number) is refused, not compiled as sample 0's structure."""
    scs = list(drawn_scenarios("india-baseline", 12)[:2])
    sector = next(iter(scs[1].demand.sectors))
    scs[1] = put(scs[1], ("demand", "sectors", sector, "lifetime", "distribution"), "weibull")
    with pytest.raises(ValueError, match="sample 1 has another structure"):
        SampleBlock.gather(scs)


def test_libm_pow_is_pythons_power_and_cs_where_python_raises():
    import math

    import numpy as np

    from repm.chain.batched.exact import libm_pow

    rng = np.random.default_rng(3)
    a, b = 1 + rng.uniform(-0.3, 0.5, 2000), rng.integers(-12, 40, 2000) + rng.uniform(0, 1, 2000)
    ref = np.array([x**y for x, y in zip(a.tolist(), b.tolist(), strict=True)])
    assert np.array_equal(libm_pow(a, b), ref)
    assert libm_pow(a[:, None], np.array([[2.0, 3.0]])).shape == (2000, 2)  # broadcast
    # `math.pow` where neither raises: negative bases to whole powers, infinities, nans, ±0
    special = [-2.5, -1.0, -0.0, 0.0, math.inf, -math.inf, math.nan, 1.0, 0.3]
    x, y = np.meshgrid(special + [-1.7], [3.0, -3.0, 2.0, 0.0, math.inf, -math.inf, math.nan])
    whole = np.isfinite(y) & (np.floor(np.nan_to_num(y)) == y)
    ok = ~((x < 0) & np.isfinite(x) & ~whole & np.isfinite(y)) & ~((x == 0) & (y < 0))  # else raises
    ref = [x_**y_ for x_, y_ in zip(x[ok].tolist(), y[ok].tolist(), strict=True)]
    assert np.array_equal(libm_pow(x[ok], y[ok]), np.array(ref), equal_nan=True)
    assert np.array_equal(np.signbit(libm_pow(x[ok], y[ok])), np.signbit(ref))
    edge = libm_pow([0.0, -8.0, 1e300], [-1.0, 1 / 3, 2.0])  # C: inf, nan, inf
    assert edge[0] == math.inf and math.isnan(edge[1]) and edge[2] == math.inf
