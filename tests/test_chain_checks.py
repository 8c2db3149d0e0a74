"""Each check of the chain's modules is one rule (repm.chain.demand, .supply, .basket,
.composition), called by the per-sample module and by its batched counterpart: on a scenario's
number moved to just either side of a check's threshold (adjacent floats, found through the
per-sample `compile_chain` by bisection, so no threshold is restated here), the batched modules
(`block_parts`, which raises where a batched module refuses) give the per-sample verdict and the
per-sample error, sample by sample and for a block; and each rule answers a block's array as it
answers each sample's number."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from test_batched_supply import put

import repm.chain.basket as basket_module
from repm.chain.basket import balance_error, unbalanced
from repm.chain.batched.chains import block_parts, compile_block
from repm.chain.compile import compile_chain
from repm.chain.composition import composition_rule
from repm.chain.demand import (
    _total_path,
    bare_exceeds_demand,
    no_bare_magnets,
    nothing_to_calibrate,
    over_full,
    residual_negative,
)
from repm.chain.supply import recovery_exceeds_content
from repm.errors import MassBalanceError, UserError
from repm.scenario import load_scenario
from repm.scenario.samples import SampleBlock

CH, SEC = ("demand", "channels"), ("demand", "sectors")
TOLERANCE_T = basket_module.TOLERANCE_T  # the shipped one (a test below moves it)


@functools.lru_cache(maxsize=1)
def base():
    return load_scenario("india-baseline").scenario


def outcome(fn) -> tuple | None:
    """None where fn returns, else the error: its type, message and field."""
    try:
        fn()
    except (UserError, MassBalanceError) as exc:
        return type(exc), str(exc), getattr(exc, "where", None)
    return None


def loop(scs) -> tuple | None:
    """The per-sample path: each sample's chain compiled alone, in turn."""
    return outcome(lambda: [compile_chain(s) for s in scs])


def batched(scs) -> tuple | None:
    """The batched modules on the block of scs, without `compile_block`'s fallback to the loop."""
    return outcome(lambda: block_parts(SampleBlock.gather(scs), scs))


# float ↔ an integer in the floats' order: bisection over adjacent floats in ≤ 64 steps
def _key(x: float) -> int:
    i = int(np.float64(x).view(np.int64))
    return i if i >= 0 else -(i & 0x7FFF_FFFF_FFFF_FFFF)


def _float(k: int) -> float:
    bits = k if k >= 0 else (-k) | -0x8000_0000_0000_0000
    return float(np.int64(bits).view(np.float64))


def edge(refused, ok: float, bad: float) -> tuple[float, float]:
    """Adjacent floats (lo, hi) between ok and bad: the per-sample path takes lo, refuses hi."""
    assert not refused(ok) and refused(bad)
    a, b = _key(ok), _key(bad)
    while abs(b - a) > 1:
        mid = (a + b) // 2
        if refused(_float(mid)):
            b = mid
        else:
            a = mid
    return _float(a), _float(b)


def base_total(s) -> float:
    d = s.demand
    return float(_total_path(d.anchors, d.growth_after_anchors, [d.base_year])[0])


def _every_growth(s, x):
    for n in s.demand.sectors:
        s = put(s, (*SEC, n, "growth"), x)
    return s


def _one_share(s, sector: str):
    """Bare shares: `sector` 1, the others 0."""
    return put(
        s, (*CH, "bare_share"), {k: float(k == sector) for k in s.demand.channels.bare_share}
    )


def _big_basket(s):
    """Flows so large that rounding leaves the mass balance well off zero (tests/test_batched_basket)."""
    s = put(s, ("supply", "monazite", "processed"), {y: 1e15 for y in s.supply.monazite.processed})
    s = put(s, ("supply", "mining_capacity"), 1e20)
    return put(s, ("supply", "cracking_capacity"), 1e20)


# check → (the scenario with its number at x, a number it takes, one it refuses, the message)
CASES = {
    "recovery": (
        lambda s, x: put(s, ("supply", "yields", "cracking_reo_per_t_monazite"), x),
        lambda s: s.supply.monazite.reo_fraction,
        lambda s: s.supply.monazite.reo_fraction * 1.01,
        "exceeds the monazite's REO content",
    ),
    "bare_base": (  # no sector shares: the level alone (no water-filling)
        lambda s, x: put(put(s, (*CH, "bare_share"), None), (*CH, "bare_base"), x),
        lambda s: 0.5 * base_total(s),
        lambda s: 1.01 * base_total(s),
        "expected the bare channel to be part of demand",
    ),
    "residual": (
        lambda s, x: put(s, (*SEC, "electronics", "share"), x),
        lambda s: s.demand.sectors["electronics"].share,
        lambda s: 5.0,
        "residual base-year demand",
    ),
    "calibration": (
        _every_growth,
        lambda s: -0.5,
        lambda s: -1.0,
        "sectors add up to zero demand",
    ),
    "no_bare": (  # one sector's share at x, none for the others, no bare channel to scale to
        lambda s, x: put(
            put(_one_share(s, "ev_car"), (*CH, "bare_share", "ev_car"), x), (*CH, "bare_base"), 0.0
        ),
        lambda s: 1.0,
        lambda s: -1.0,
        "the sector shares give no bare magnets",
    ),
    "water_fill": (  # only electronics buys bare: past its demand, water-filling runs out
        lambda s, x: put(_one_share(s, "electronics"), (*CH, "bare_base"), x),
        lambda s: 1.0,
        lambda s: 0.9 * base_total(s),
        "is more than the sectors with a bare share buy",
    ),
}


@pytest.mark.filterwarnings("ignore:divide by zero")  # growth −1: the loop's 0 ** −1 (→ inf)
@pytest.mark.parametrize("check", list(CASES))
def test_either_side_of_each_threshold_both_paths_agree(check):
    make, ok, bad, message = CASES[check]
    s = base()

    def refused(x):
        got = loop([make(s, x)])
        return got is not None and message in got[1]

    lo, hi = edge(refused, ok(s), bad(s))
    assert np.nextafter(lo, hi) == hi  # just either side
    at_lo, at_hi = make(s, lo), make(s, hi)
    assert loop([at_lo]) is None and batched([at_lo]) is None
    want = loop([at_hi])
    assert message in want[1]
    assert batched([at_hi]) == want  # the per-sample verdict and message
    block = [at_lo, at_hi, at_lo, at_hi]
    assert batched(block) == loop(block) == want
    assert outcome(lambda: compile_block(SampleBlock.gather(block), block)) == want
    assert batched([at_lo, at_lo]) is None


def test_either_side_of_the_mass_balance_tolerance_both_paths_agree(monkeypatch):
    """The tolerance moved to just either side of a sample's worst imbalance: the batched
    basket reads the same tolerance (the module's, at call time) and raises the same error."""
    s = _big_basket(base())

    def refused(tol):
        monkeypatch.setattr(basket_module, "TOLERANCE_T", tol)
        got = loop([s])
        return got is not None and got[0] is MassBalanceError

    lo, hi = edge(refused, 1e300, 0.0)
    assert np.nextafter(lo, hi) == hi and lo > TOLERANCE_T > 0  # refused as shipped
    monkeypatch.setattr(basket_module, "TOLERANCE_T", lo)
    assert loop([s]) is None and batched([s, s]) is None
    monkeypatch.setattr(basket_module, "TOLERANCE_T", hi)
    want = loop([s])
    assert want[0] is MassBalanceError and "does not balance for" in want[1]
    assert batched([s]) == want and batched([base(), s, base()]) == want


@pytest.mark.parametrize("kind", ["missing_share", "units"])
def test_structural_checks_refuse_as_each_sample(kind):
    """Checks of structure (a sector without a bare share, units that are no mass a year): the
    same error through both paths, a good sample before it or not."""
    s = base()
    if kind == "missing_share":
        shares = {k: v for k, v in s.demand.channels.bare_share.items() if k != "wind"}
        bad, message = put(s, (*CH, "bare_share"), shares), "no bare share for sector 'wind'"
    else:
        wind = s.demand.sectors["wind"]
        m = type(wind.activity)(wind.activity.magnitude, "m")
        bad, message = put(s, (*SEC, "wind", "activity"), m), "demand.sectors.wind"
    want = loop([bad])
    assert want is not None and message in want[1]
    assert batched([bad]) == want and batched([bad, bad]) == want


def test_composition_rule():
    assert composition_rule(["Dy"]) == "one" and composition_rule(["Pr", "Nd"]) == "ndpr"
    with pytest.raises(UserError) as e:
        composition_rule(["Dy", "Tb"])
    assert str(e.value) == "model: no composition rule for a product of Dy+Tb"


def _mask_is_each(rule, *columns) -> None:
    """rule on (S,) arrays is rule on each sample's numbers."""
    got = rule(*(np.asarray(c, dtype=float) for c in columns))
    each = [bool(rule(*xs)) for xs in zip(*columns, strict=True)]
    assert got.shape == (len(each),) and got.tolist() == each, rule.__name__
    assert any(each) and not all(each), rule.__name__  # both verdicts among the samples


def test_each_rule_answers_a_block_as_each_sample():
    """Around each threshold (the numbers either side, found as the rules answer them), a rule
    gives a block's mask element for element as it answers each sample's numbers."""
    t, c = 1234.5, 0.56
    up = [np.nextafter(t + 1e-9, -np.inf), t + 1e-9, np.nextafter(t + 1e-9, np.inf)]
    _mask_is_each(bare_exceeds_demand, up, [t] * 3)
    rc = [np.nextafter(c + 1e-12, -np.inf), c + 1e-12, np.nextafter(c + 1e-12, np.inf)]
    _mask_is_each(recovery_exceeds_content, rc, [c] * 3)
    _mask_is_each(residual_negative, [-5e-324, 0.0, 5e-324])
    _mask_is_each(no_bare_magnets, [-5e-324, 0.0, 5e-324])
    _mask_is_each(over_full, [1.0, 1 + 1e-12, np.nextafter(1 + 1e-12, 2)])
    # the year axis reduced, the sample axis kept (… × year × 1)
    sums = np.array([[[1.0], [2.0]], [[1.0], [0.0]], [[-5e-324], [1.0]], [[5e-324], [3.0]]])
    assert nothing_to_calibrate(sums).tolist() == [bool(nothing_to_calibrate(x)) for x in sums]
    assert nothing_to_calibrate(sums).tolist() == [False, True, True, False]
    tol = TOLERANCE_T
    worst = np.array([[0.0, tol], [0.0, np.nextafter(tol, 1)], [tol * 3, 0.0]])
    assert unbalanced(worst).tolist() == [bool(unbalanced(w)) for w in worst] == [False, True, True]
    names = ("La", "Ce")
    assert str(balance_error("cracking", names, worst[2])) == (
        f"basket: cracking does not balance for La ({tol * 3:.3g} t/yr)"
    )
