"""The batched demand and history (repm.chain.batched.demand) against the per-sample modules:
every output of every sample bit for bit (dtype, shape, Python types of scalars), on drawn
samples of every shipped scenario and on inputs stressed into the rare branches and errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import drawn_scenarios, same_bits

from repm.chain.batched.demand import (
    HISTORY_SHARED,
    SHARED,
    demand_block,
    history_block,
    python_sum,
)
from repm.chain.batched.slicing import sample
from repm.chain.compile import chemistry_of
from repm.chain.composition import composition
from repm.chain.demand import _bare_base_shares, _loose_by_grade, _total_path, demand, history
from repm.errors import UserError
from repm.scenario.load import shipped_names
from repm.scenario.samples import SampleBlock

N = 12


def same_result(got: dict, ref: dict, where: str = "") -> None:
    """A sample's result as the per-sample module's: the same keys, arrays of the same dtype and
    shape bit for bit, numbers of the same Python type and value, nested dicts alike."""
    assert set(got) == set(ref), where
    for k, v in ref.items():
        g, at = got[k], f"{where}{k}"
        if isinstance(v, dict):
            same_result(g, v, f"{at}.")
        elif isinstance(v, np.ndarray):
            assert isinstance(g, np.ndarray) and (g.dtype, g.shape) == (v.dtype, v.shape), at
            assert same_bits(g, v) if v.dtype.kind == "f" else np.array_equal(g, v), at
        else:
            assert type(g) is type(v) and g == v, at


@functools.lru_cache(maxsize=16)
def inputs(name: str):
    """A scenario's drawn samples, its definition, years and each sample's grade composition."""
    scs = drawn_scenarios(name, N)
    model = scs[0].definition
    gc = np.stack([composition(s, model, chemistry_of(s))["gc"] for s in scs])
    return scs, model, np.array(scs[0].horizon.years), gc


def check_block(scs, model, years, gc) -> dict:
    """Both ways on every sample, compared; the block's demand returned."""
    b = SampleBlock.gather(scs)
    dm = demand_block(b, model, years, gc)
    hs = history_block(b, years, dm["dem"], dm["grade_split"])
    for i, s in enumerate(scs):
        ref = demand(s, model, years, gc[i])
        same_result(sample(dm, i, SHARED), ref, f"sample {i} ")
        got = sample(hs, i, HISTORY_SHARED)
        same_result(got, history(s, years, ref["dem"], ref["grade_split"]), f"sample {i} ")
    return dm


@pytest.mark.parametrize("name", shipped_names())
def test_drawn_samples_bit_for_bit(name):
    scs, model, years, gc = inputs(name)
    dm = check_block(scs, model, years, gc)
    S, Y, sec = N, len(years), len(scs[0].demand.sectors)
    assert dm["dem"].shape == (S, Y, sec) and dm["bare"].shape == (S, Y, sec, len(gc[0]))
    assert dm["export_premium"].shape == (S,) and dm["ci_on"].dtype == bool
    assert len({dm["dem"][i].tobytes() for i in range(S)}) == S  # the samples do differ


def with_demand(s, **kw):
    return s.model_copy(update={"demand": s.demand.model_copy(update=kw)})


def with_channels(s, **kw):
    return with_demand(s, channels=s.demand.channels.model_copy(update=kw))


def test_water_filling_and_the_loose_mix_passes():
    """bare_base at 40–99 % of each sample's base-year total: sectors' scaled shares pass 100 %
    (water-filling, per sample) and the loose mix takes its first and second passes."""
    scs, model, years, gc = inputs("india-baseline")
    out = []
    for i, s in enumerate(scs):
        d = s.demand
        tot = _total_path(d.anchors, d.growth_after_anchors, [d.base_year])[0]
        out.append(with_channels(s, bare_base=float(tot * (0.4 + 0.59 * i / N))))
    check_block(out, model, years, gc)
    filled = passes1 = passes2 = 0
    for i, s in enumerate(out):  # the branches, as the per-sample code takes them
        d, ch = s.demand, s.demand.channels
        ref = demand(s, model, years, gc[i])
        sectors = tuple(d.sectors)
        base_dem = ref["dem"][years.tolist().index(d.base_year)]
        raw = np.array([ch.bare_share[n] for n in sectors])
        filled += (raw * (ch.bare_base / float(raw @ base_dem))).max() > 1 + 1e-12
        tot = _total_path(d.anchors, d.growth_after_anchors, [d.base_year])[0]
        beta = _bare_base_shares(d, sectors, tot, base_dem)
        for k, n in enumerate(sectors):
            if n in ch.bare_grade_mix:
                mix = np.array([d.sectors[n].grade_mix.get(g, 0.0) for g in model.grade_names])
                want = np.array([ch.bare_grade_mix[n].get(g, 0.0) for g in model.grade_names])
                loose = _loose_by_grade(mix, beta[k], list(want))
                passes1 += not np.array_equal(loose, np.minimum(beta[k] * want, mix))
                passes2 += bool((loose[want <= 0] > 0).any())  # only the second pass fills these
    assert filled >= 2 and passes1 >= 2 and passes2 >= 1, (filled, passes1, passes2)


def test_heavy_free_shift_in_some_samples_only():
    """A block where some samples shift no mass (the loop returns early for them) and the others
    move each grade's by their own drawn order of heavy content."""
    scs, model, years, gc = inputs("india-low-dy")
    out = []
    for i, s in enumerate(scs):
        hs = s.demand.heavy_free_shift
        if i % 3 == 0:
            hs = hs.model_copy(update={"share": {y: 0.0 for y in hs.share}})
        out.append(with_demand(s, heavy_free_shift=hs))
    gc = gc.copy()
    gc[1] = gc[1][::-1]  # another order of grades by heavy content in one sample
    dm = check_block(out, model, years, gc)
    moved = [
        not np.array_equal(dm["grade_split"][i, :1], dm["grade_split"][i, -1:]) for i in (0, 1)
    ]
    assert moved == [False, True]


def test_lifetimes_other_than_normal():
    """Lognormal and Weibull lifetimes: scipy.stats per sample, as the loop."""
    scs, model, years, gc = inputs("india-baseline")
    out = []
    for s in scs[:4]:  # scipy.stats is slow: a few samples
        secs = dict(s.demand.sectors)
        for n, dist in (("ev_car", "lognormal"), ("wind", "weibull")):
            lt = secs[n].lifetime.model_copy(update={"distribution": dist})
            secs[n] = secs[n].model_copy(update={"lifetime": lt})
        out.append(with_demand(s, sectors=secs))
    check_block(out, model, years, gc[:4])


def first_error(scs, model, years, gc):
    """The error a loop over the samples stops at: (type, message, where)."""
    for i, s in enumerate(scs):
        try:
            demand(s, model, years, gc[i])
        except UserError as exc:
            return type(exc), str(exc), exc.where
    raise AssertionError("no sample fails")


def block_error(scs, model, years, gc):
    with pytest.raises(UserError) as got:
        demand_block(SampleBlock.gather(scs), model, years, gc)
    return type(got.value), str(got.value), got.value.where


def _sector(s, name, **kw):
    secs = dict(s.demand.sectors)
    secs[name] = secs[name].model_copy(update=kw)
    return with_demand(s, sectors=secs)


def _bad(kind, s):
    """Sample s made invalid in one of demand()'s checks."""
    ch = s.demand.channels
    if kind == "bare_base":  # more than the base year's demand
        return with_channels(s, bare_base=1e9)
    if kind == "no_bare":  # shares giving no bare magnets
        return with_channels(s, bare_share={k: 0.0 for k in ch.bare_share})
    if kind == "residual":  # the share sectors take more than the total
        return _sector(s, "electronics", share=5.0)
    if kind == "zero":  # every sector's demand gone after the base year
        for n in s.demand.sectors:
            s = _sector(s, n, growth=-1.0)
        return s
    if kind == "overflow":  # water-filling runs out of sectors with a share
        d = s.demand
        tot = _total_path(d.anchors, d.growth_after_anchors, [d.base_year])[0]
        only = {k: (1.0 if k == "electronics" else 0.0) for k in ch.bare_share}
        return with_channels(s, bare_share=only, bare_base=float(tot * 0.9))
    raise ValueError(kind)


@pytest.mark.filterwarnings("ignore:divide by zero")  # the loop's 0 ** -1 (→ inf), "zero"
@pytest.mark.parametrize(
    "bad",
    [
        {5: "bare_base", 2: "no_bare"},
        {5: "bare_base"},
        {7: "bare_base", 3: "residual"},
        {4: "overflow", 9: "no_bare"},
        {1: "zero", 6: "residual"},
        {6: "residual", 8: "zero"},
    ],
)
def test_errors_are_the_first_failing_samples(bad):
    scs, model, years, gc = inputs("india-baseline")
    scs = [_bad(bad[i], s) if i in bad else s for i, s in enumerate(scs)]
    want = first_error(scs, model, years, gc)
    assert block_error(scs, model, years, gc) == want
    assert MESSAGES[bad[min(bad)]] in want[1]  # the lowest bad sample's own check


MESSAGES = {"bare_base": "expected the bare channel to be part of demand", "no_bare":
            "give no bare magnets", "residual": "residual base-year demand", "overflow":
            "is more than the sectors with a bare share buy", "zero": "add up to zero"}  # fmt: skip


def test_units_pint_refuses_fail_as_each_sample():
    """A driver sector whose activity × intensity is no mass a year: pint per sample (no factor
    for the units), the block failing with the first sample's message."""
    scs, model, years, gc = inputs("india-baseline")
    Q = type(scs[0].demand.sectors["wind"].activity)
    out = [_sector(s, "wind", activity=Q(s.demand.sectors["wind"].activity.magnitude, "m"))
           for s in scs]  # fmt: skip
    assert block_error(out, model, years, gc) == first_error(out, model, years, gc)


def test_python_sum_of_floats_and_numpy_scalars():
    """The residual's sum: Python floats (driver sectors) and numpy scalars (share sectors) in
    the order the sectors come, as this interpreter's sum() adds them (compensated from 3.12)."""
    rng = np.random.default_rng(3)
    cols = [rng.uniform(-1, 1, 400) * 10.0 ** rng.integers(-8, 9, 400) for _ in range(6)]
    for exact in ([True] * 6, [True, True, False, True, False, True], [False, True] * 3):
        want = [
            sum(float(c[i]) if e else np.float64(c[i]) for c, e in zip(cols, exact, strict=True))
            for i in range(400)
        ]
        assert same_bits(python_sum(cols, exact), np.array(want, dtype=float))


def _variant(kind: str, s):
    """Scenario s with another structure (the same in every sample of a block)."""
    d, ch = s.demand, s.demand.channels
    if kind == "drivers":  # bottom-up demand, no calibration to the anchors
        return with_demand(s, calibration="drivers")
    if kind == "no_shares":  # every sector bare_base ÷ demand
        return with_channels(s, bare_share=None)
    if kind == "no_loose_mix":  # bare magnets in each sector's own mix
        return with_channels(s, bare_grade_mix=None)
    if kind == "one_path":  # every sector on the channel's one localisation path
        loc = {2025: ch.localization[2025], 2031: 0.5 * ch.localization[2025] + 0.4}
        return with_channels(s, localization_by_sector={}, localization=loc)
    if kind == "three_anchors":
        a = d.anchors
        return with_demand(s, anchors={**a, 2033: a[2030] * (1.4 + a[2025] / a[2030] / 10)})
    if kind == "one_anchor":  # back-cast and forward at growth_after_anchors
        return with_demand(s, anchors={2030: d.anchors[2030]})
    if kind == "path_at_base":  # an observation at the base year overrides the activity there
        w = d.sectors["wind"]
        first = next(iter(w.activity_path.values()))
        path = {2025: w.activity * 1.1, **w.activity_path, 2029: first * 1.3}
        return _sector(s, "wind", activity_path=path)
    if kind == "shift_all":  # the heavy-free shift in every sector
        return with_demand(
            s, heavy_free_shift=d.heavy_free_shift.model_copy(update={"sectors": None})
        )
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind",
    ["drivers", "no_shares", "no_loose_mix", "one_path", "three_anchors", "one_anchor",
     "path_at_base", "shift_all"],
)  # fmt: skip
def test_other_structures(kind):
    scs, model, years, gc = inputs("india-low-dy" if kind == "shift_all" else "india-baseline")
    check_block([_variant(kind, s) for s in scs], model, years, gc)


@pytest.mark.parametrize("earlier", [None, 0, 3])
def test_a_sector_without_a_bare_share_fails_every_sample(earlier):
    """Structure: every sample fails there — but a sample that failed an earlier check fails
    with that, and the block with the lowest sample's."""
    scs, model, years, gc = inputs("india-baseline")
    out = [with_channels(s, bare_share={k: v for k, v in s.demand.channels.bare_share.items()
                                        if k != "wind"}) for s in scs]  # fmt: skip
    if earlier is not None:
        out[earlier] = _bad("residual", out[earlier])
    want = first_error(out, model, years, gc)
    assert block_error(out, model, years, gc) == want
    assert ("residual" in want[1]) == (earlier == 0)
