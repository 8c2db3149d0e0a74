"""The chain's cheaper arithmetic gives what the plain one gives, bit for bit: a driver sector's
tonnes by pint's cached factor, the growth powers in Python floats, the grade split when nothing
moves, the lifetimes of normal sectors all at once."""

from __future__ import annotations

import random

import numpy as np
import pytest

from repm.chain.demand import _base_tonnes, _power, heavy_free_split, lifetime_pmf
from repm.model.units import registry
from repm.scenario import load_scenario

UNITS = [("vehicle/yr", "kg/vehicle"), ("MW/yr", "t/MW"), ("vehicle/month", "g/vehicle"),
         ("unit/yr", "kg/unit"), ("t/yr", "dimensionless")]  # fmt: skip


def test_base_tonnes_is_pints():
    ureg = registry()
    sec = next(s for s in load_scenario("india-baseline").scenario.demand.sectors.values()
               if s.basis == "driver")  # fmt: skip
    rnd = random.Random(0)
    for activity, intensity in UNITS:
        for _ in range(50):
            a, i, adoption = rnd.uniform(0, 1e7), rnd.uniform(0, 50), rnd.uniform(0, 1)
            other = sec.model_copy(update={
                "activity": ureg.Quantity(a, activity), "intensity": ureg.Quantity(i, intensity),
                "adoption": adoption,
            })  # fmt: skip
            assert repr(_base_tonnes(other)) == repr(other.base_tonnes())


def test_base_tonnes_refusal_is_pints():
    ureg = registry()
    sec = next(s for s in load_scenario("india-baseline").scenario.demand.sectors.values()
               if s.basis == "driver")  # fmt: skip
    wrong = sec.model_copy(update={"intensity": ureg.Quantity(1.0, "kg/m")})
    with pytest.raises(ValueError, match="expected a mass per year"):
        _base_tonnes(wrong)


def test_power_is_cs_pow_and_numpys_where_python_raises():
    """`_power` is C's pow (Python's float power, math.pow) where that answers, and numpy's
    scalar power where Python raises (overflow, 0 to a negative power: inf). numpy's own scalar
    power is C's pow on most CPUs; on AVX-512 ones it takes SIMD library code that can differ
    in the last bit (1 case in 20 of small powers here), so against it only to 4 ulp."""
    import math

    rnd = random.Random(1)
    cases = [(rnd.uniform(0.01, 11), rnd.randint(-300, 300)) for _ in range(2000)]
    cases += [(0.0, -3), (0.0, 0), (1.0, 500), (11.0, 400), (0.01, -400)]
    raised = 0
    with np.errstate(all="ignore"):
        for base, exponent in cases:
            got = _power(base, exponent)
            numpy_power = float(base ** np.int64(exponent))
            try:
                c_pow = math.pow(base, exponent)
            except (OverflowError, ValueError):
                raised += 1
                assert repr(got) == repr(numpy_power), (base, exponent)
                continue
            assert repr(got) == repr(c_pow), (base, exponent)
            assert got == numpy_power or abs(got - numpy_power) <= 4 * math.ulp(got), (
                base, exponent,
            )  # fmt: skip
    assert raised >= 3  # the fallback is exercised: inf, as numpy gives it


def _split_by_loop(mix, heavy, shift):
    """heavy_free_split as first written: every grade moved, even by nothing."""
    from repm.chain.demand import next_lower_grade

    down = next_lower_grade(heavy)
    out = np.broadcast_to(mix, (len(shift),) + mix.shape).copy()
    base = out.copy()
    for upper in np.argsort(heavy, kind="stable"):
        if down[upper] >= 0:
            moved = base[:, :, upper] * shift
            out[:, :, upper] -= moved
            out[:, :, down[upper]] += moved
    return out


@pytest.mark.parametrize("shifted", [False, True])
def test_heavy_free_split_is_the_loop(shifted):
    rnd = np.random.default_rng(2)
    heavy = np.array([0.0, 0.02, 0.05])
    for mix in (rnd.dirichlet(np.ones(3), size=5), np.array([[0.5, -0.0, 0.5], [0.0, 1.0, 0.0]])):
        shift = rnd.uniform(0, 1, (7, len(mix))) if shifted else np.zeros((7, len(mix)))
        got, ref = heavy_free_split(mix, heavy, shift), _split_by_loop(mix, heavy, shift)
        assert got.tobytes() == ref.tobytes() and got.shape == ref.shape


def test_normal_lifetimes_at_once_are_lifetime_pmf():
    from repm.chain import compile_chain

    sc = load_scenario("india-baseline").scenario
    chain = compile_chain(sc)
    n_ages = chain.lifetime_pmf.sizes["age"]
    for k, name in enumerate(chain.sectors):
        lt = sc.demand.sectors[name].lifetime
        ref = lifetime_pmf(lt.mean, lt.cv, lt.distribution, n_ages)
        assert chain.lifetime_pmf.values[k].tobytes() == ref.tobytes()
