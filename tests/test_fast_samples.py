"""A block's Scenarios made without validating each (analyses/uncertainty/fastpath.py) are those
`scenario_at` validates, float for float, and its SampleBlock holds the numbers they hold; a
sample the fast path cannot vouch for goes through `scenario_at` (its Scenario, or its error)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import same_bits

from repm.analyses.uncertainty import fastpath as FP
from repm.analyses.uncertainty.evaluate import Evaluator
from repm.errors import UserError
from repm.scenario import load_scenario
from repm.scenario.load import shipped_names
from repm.scenario.samples import SampleBlock, at, leaves


def _ev(name: str, overrides=()) -> Evaluator:
    return Evaluator(load_scenario(name, list(overrides)), "magnet_imports", step="yearly",
                     workers=1)  # fmt: skip


def _draws(ev: Evaluator, n: int, seed: int = 0) -> list[dict[str, float]]:
    """n samples of the scenario's facts from their ranges (numpy's uniforms, not the Philox
    stream's: the compiled engine is not needed here)."""
    rng = np.random.default_rng(seed)
    drawn = ev.inputs.values({f: rng.uniform(1e-6, 1 - 1e-6, n) for f in ev.inputs.drawn}, n)
    return [{k: float(v[d]) for k, v in drawn.items()} for d in range(n)]


def _bits(sc) -> list:
    return [(p, np.float64(x).tobytes()) for p, x in leaves(sc)]


def _check(ev: Evaluator, values: list[dict]) -> tuple[SampleBlock, list]:
    """The fast path's block and Scenarios against scenario_at's, sample by sample."""
    slow = [ev.scenario_at(v) for v in values]
    block, fast = ev._samples(values)
    for a, b in zip(fast, slow, strict=True):
        assert a == b and a.model_dump() == b.model_dump()
        assert _bits(a) == _bits(b)
        assert (
            a._definition is b._definition
            and a.__pydantic_fields_set__ == b.__pydantic_fields_set__
        )
    plan = ev._fast.plans.get(frozenset(values[0])) if ev._fast else None
    for p, _, _ in plan.free if plan else ():  # pint quantities made as pint makes them
        for a, b in zip(fast, slow, strict=True):
            assert type(at(a, p)) is type(at(b, p)) and vars(at(a, p)) == vars(at(b, p))
    ref = SampleBlock.gather(slow)
    assert block.n == len(values)
    for p, arr in block.values.items():
        assert arr.shape == (len(values),) and same_bits(arr, ref.values[p]), p
    return block, fast


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_scenario(name):
    """16 drawn samples: the same Scenarios, and the block holds every drawn path's numbers."""
    ev = _ev(name)
    values = _draws(ev, 16, seed=3)
    block, _ = _check(ev, values)
    assert (ev.fast_samples, ev.slow_samples) == (16, 0)
    reached = {FP.field_of(block.template, p)[0] for p, f in ev._facts_read if f in values[0]}
    assert reached <= set(block.values) and len(reached) > 200
    assert sum(np.ptp(block.values[p]) > 0 for p in reached) > 150  # they move
    assert block.template == ev.loaded.scenario


def _whole(ev: Evaluator, raw_path: tuple) -> list[str]:
    node = ev.raw
    for k in raw_path:
        node = node[k]
    return [v.removeprefix("fact:") for v in node.values() if isinstance(v, str)]


def test_share_groups_scaled_below_and_above_one():
    """Shares of one whole drawn to totals < 1 and > 1: scaled to 1 as drawn.normalise scales
    them (an `at_most_one` group only down), the same floats."""
    ev = _ev("india-baseline")
    values = _draws(ev, 4, seed=5)
    mix = _whole(ev, ("demand", "sectors", "ev_car", "grade_mix"))
    world = _whole(ev, ("trade", "world_production", "magnet"))
    for v, scale in zip(values, (0.5, 1.6, 0.5, 1.6), strict=True):
        v.update({f: v[f] * scale for f in mix})
    for v, share in zip(values, (0.05, 0.05, 0.5, 0.5), strict=True):
        v.update(dict.fromkeys(world, share))
    block, fast = _check(ev, values)
    p = ("demand", "sectors", "ev_car", "grade_mix")
    for s in fast:  # scaled to sum to 1 both ways
        assert abs(sum(at(s, p).values()) - 1) < 1e-12
    w = ("trade", "world_production", "magnet")
    totals = [sum(at(s, w).values()) for s in fast]
    assert totals[0] < 1 and totals[1] < 1 and abs(totals[2] - 1) < 1e-12  # only down to 1
    assert ev.slow_samples == 0


def test_a_whole_number_field_and_its_rounding():
    """A whole-number field (Year) drawn within 1e-9 of a year is rounded as the field does."""
    ev = _ev("india-baseline")
    values = _draws(ev, 3, seed=7)
    start = ev.table.facts["horizon_start"].central
    for v, d in zip(values, (0.0, 1e-11, -1e-11), strict=True):
        v["horizon_start"] = start + d
    block, _ = _check(ev, values)
    assert same_bits(block.values[("horizon", "start")], np.full(3, float(start)))
    assert ev.slow_samples == 0


def test_usd_read_at_each_samples_fx():
    """fx drawn: a USD text no fact reaches, and the uncertainty block's USD range, are read at
    each sample's fx as validation reads them."""
    ev = _ev("india-baseline", ['economics.magnet_cost.other_materials="10 USD/kg"',
                                'uncertainty.unmet_penalty.low="1 USD/kg"',
                                'uncertainty.unmet_penalty.high="900 USD/kg"',
                                "uncertainty.unmet_penalty.dist=uniform"])  # fmt: skip
    values = _draws(ev, 6, seed=9)
    block, fast = _check(ev, values)
    path = ("economics", "magnet_cost", "other_materials")
    assert len(set(block.values[path].tolist())) == 6  # moved with fx
    lows = {s.uncertainty["unmet_penalty"].low for s in fast}
    assert len(lows) == 6 and ("uncertainty", "unmet_penalty", "low") in block.values
    assert ev.eager_blocks == 0 and block.scenario is not None  # the block's Scenario, each fx
    assert ev._fast.plans[frozenset(values[0])].by_fx and ev.slow_samples == 0


def _errors(ev: Evaluator, values: list[dict]) -> str:
    with pytest.raises(UserError) as err:
        ev.scenario_at(values[0])
    return str(err.value)


@pytest.mark.parametrize(
    ("fact", "value", "field"),
    [("eol_collection_rate", 1.5, "supply.recycling.collection_rate"),  # above its bound
     ("grade_uh_dy_content", 0.3, "supply.grades.uh"),  # an after-validator (RE content)
     ("ev_car_sales_fy25", -5.0, "demand.sectors.ev_car.activity"),  # a negative quantity
     ("fx_inr_per_usd", float("nan"), "economics.fx_inr_per_usd"),  # not finite
     ("horizon_start", 2025.5, "horizon.start"),  # not a whole number
     ("sx_recovery", 0.0, "sx_recovery"),  # a model check on the block's arrays (Yields)
     ("india_magnet_demand_2030", 0.0, "demand.anchors")],  # a field check on them (anchors)
)  # fmt: skip
def test_an_invalid_sample_fails_as_scenario_at_does(fact, value, field):
    """A bad sample among good ones: the block raises scenario_at's UserError for it, and so does
    Evaluator.many; the good samples before it were made on the fast path."""
    ev = _ev("india-baseline")
    values = _draws(ev, 4, seed=1)
    if fact not in values[0]:
        for v in values:
            v[fact] = ev.table.facts[fact].central
    values[2][fact] = values[3][fact] = value
    with pytest.raises(UserError) as want:
        ev.scenario_at(values[2])
    assert field in str(want.value)
    with pytest.raises(UserError) as got:
        ev._samples(values)
    assert str(got.value) == str(want.value)
    assert ev.slow_samples == 1 and ev.fast_samples == 0  # it raised at the first bad one
    # flagged on the block's arrays, not each sample validated (a horizon moved is structure)
    assert ev.eager_blocks == (fact == "horizon_start")
    with pytest.raises(UserError) as got:
        ev.many(values)
    assert str(got.value) == str(want.value)


def test_a_slow_sample_in_a_fast_block(monkeypatch):
    """A sample flagged for the slow path (here forced) gets scenario_at's Scenario, and its
    numbers in the block."""
    ev = _ev("india-exports")
    values = _draws(ev, 5, seed=2)
    real = FP.Plan.values

    def flag(self, vals):
        X, V, bad, fx = real(self, vals)
        bad[[1, 4]] = True
        return X, V, bad, fx

    monkeypatch.setattr(FP.Plan, "values", flag)
    _check(ev, values)
    assert (ev.fast_samples, ev.slow_samples) == (3, 2)


def test_samples_of_other_facts_take_the_slow_path():
    """Samples that do not draw the same facts are not one block's: each through scenario_at,
    and no block."""
    ev = _ev("india-low-dy")
    values = _draws(ev, 3, seed=4)
    del values[1]["eol_collection_rate"]
    slow = [ev.scenario_at(v) for v in values]
    block, fast = ev._samples(values)
    assert fast == slow and (ev.fast_samples, ev.slow_samples) == (0, 3) and block is None


def test_unsupported_fields_are_refused():
    """A path to a field that is not a quantity, or not there, is refused (the slow path)."""
    ev = _ev("india-baseline")
    tmpl = ev.loaded.scenario
    assert FP.field_of(tmpl, ("supply", "yields", "sx_recovery"))[1].spec[0] == "fraction"
    assert FP.field_of(tmpl, ("demand", "sectors", "e2w", "activity"))[1] is not None
    for path in [("name",), ("supply", "nope"), ("trade", "origins", 0)]:
        with pytest.raises(FP.Unsupported):
            FP.field_of(tmpl, path)


def test_a_refused_plan_validates_every_sample(monkeypatch):
    """A scenario the fast path refuses (here: every plan) is validated sample by sample: the
    same Scenarios, and no block."""
    ev = _ev("india-baseline")
    values = _draws(ev, 3, seed=6)

    def refuse(*a, **k):
        raise FP.Unsupported("refused")

    monkeypatch.setattr(FP.Plan, "__init__", refuse)
    slow = [ev.scenario_at(v) for v in values]
    block, fast = ev._samples(values)
    assert fast == slow and (ev.fast_samples, ev.slow_samples) == (0, 3) and block is None
    assert ev._fast.plans == {frozenset(values[0]): None}


def _wild(ev: Evaluator, n: int, seed: int) -> list[dict]:
    """n samples, each with 6 of its drawn values scaled by a factor in [0, 3]: many break a
    bound or a check. Years are kept (a block's samples share their years: structure)."""
    rng = np.random.default_rng(seed)
    out = _draws(ev, n, seed)
    keys = [k for k in out[0] if ev.table.facts[k].unit.strip() != "year"]
    for v in out:
        for k in rng.choice(keys, 6, replace=False):
            v[k] *= rng.uniform(0, 3)
    return out


@pytest.mark.parametrize("name", shipped_names())
def test_the_blocks_checks_flag_the_samples_validation_refuses(name):
    """The after-mode checks run once on the block's arrays (`Plan.block_scenario`,
    repm.scenario.checks) flag exactly the samples whose own Scenario a validator refuses
    (`Plan.scenarios`: None), over samples drawn wild enough that many are refused."""
    ev = _ev(name)
    values = _wild(ev, 200, seed=11)
    FP._plan_of(ev, values)
    plan = ev._fast.plans[frozenset(values[0])]
    X, V, bad, fx = plan.values(values)
    got = plan.block_scenario(X, V, fx)
    assert got is not None  # every shipped scenario's checks read the block's arrays
    made, flagged, uncs = got
    assert (uncs is not None) == plan.unc  # fx drawn with an uncertainty block: read at each fx
    refused = np.array([s is None for s in plan.scenarios(X, V, bad, fx)])
    assert (bad | flagged).tolist() == refused.tolist()
    assert bad.sum() >= 10 and (flagged & ~bad).sum() >= 3  # within bounds, refused by a check


def test_a_blocks_scenarios_are_made_only_when_read(monkeypatch):
    """Run indicators the batched modules give — `repm uncertainty`'s headline among them — make
    no sample's Scenario (the block's, with its checks, speaks for all); one that reads a
    compiled Chain (monazite's basket), or a unit's NPV, makes each."""
    from repm.analyses.uncertainty.evaluate import headline

    made = []
    real = FP.Plan.one
    monkeypatch.setattr(FP.Plan, "one", lambda self, *a: made.append(a[3]) or real(self, *a))
    base = load_scenario("india-baseline")
    values = _draws(_ev("india-baseline"), 6, seed=12)
    for output, names, want in (("magnet_imports", None, []),
                                ("magnet_imports", headline(), []),
                                ("reo_mined", None, list(range(6))),
                                ("unit_npv", None, list(range(6)))):  # fmt: skip
        made.clear()
        ev = Evaluator(base, output, step="yearly", workers=1, names=names)
        ev.many(values)
        assert sorted(made) == want, output
        assert (ev.eager_blocks, ev.slow_samples, ev.block_fallbacks, ev.missed_checks) == (
            0, 0, 0, 0)  # fmt: skip


@pytest.mark.parametrize(
    "name", ["india-baseline", "india-overseas-mines", "india-buyer-incentive", "india-2025-replay"]
)
def test_a_drawn_year_is_checked_on_the_blocks_arrays(name):
    """Each drawn year (a unit's award, an event's start, a route's start or end …) moved
    across a block's samples, a few beyond the horizon: the block's checks (`first_year`, the
    events' and routes' years) flag exactly the samples each one's validators refuse, without
    validating each."""
    ev = _ev(name)
    base = _draws(ev, 12, seed=13)
    years = [k for k in base[0] if ev.table.facts[k].unit.strip() == "year"
             and not k.startswith("horizon_")]  # fmt: skip
    assert years
    FP._plan_of(ev, base)
    plan = ev._fast.plans[frozenset(base[0])]
    refused_any = 0
    for fact in years:
        values = [dict(v) for v in base]
        for v, shift in zip(values, (0, 1, -1, 2, 5, -3, 20, -20, 40, -40, 60, 0), strict=True):
            v[fact] = ev.table.facts[fact].central + shift
        X, V, bad, fx = plan.values(values)
        got = plan.block_scenario(X, V, fx)
        assert got is not None, fact  # the checks read the years as arrays
        refused = [s is None for s in plan.scenarios(X, V, bad, fx)]
        assert (bad | got[1]).tolist() == refused, fact
        refused_any += sum(refused)
    assert refused_any > 0
