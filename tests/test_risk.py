"""Risk: the counter-based sampler, shocks through the engine, chunk invariance, stockpile sizing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from repm.analyses.risk import (
    UNMET_EPS,
    Block,
    Reduction,
    cvar,
    metrics,
    p_no_shortage,
    run_draws,
    size_stockpile,
)
from repm.analyses.risk.measures import breakeven_penalty, discounted
from repm.analyses.risk.reduce import largest_in_rows
from repm.chain import compile_chain
from repm.errors import UserError
from repm.results.build import build_results
from repm.scenario import load_scenario
from repm.simulate.engine import simulate
from repm.simulate.shocks import philox4x32, sample, uniforms

HEAVY = ("gbd", "uh")  # the Dy/Tb-bearing grade classes a heavy-rare-earth control reaches
HEAVY_MAGNETS = tuple(f"magnet_{g}" for g in HEAVY)


# --- the generator ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ctr", "key", "expected"),
    [  # Random123 known-answer vectors for philox4x32-10
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        (
            (0xFFFFFFFF,) * 4,
            (0xFFFFFFFF, 0xFFFFFFFF),
            (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
        ),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(ctr, key, expected):
    out = philox4x32(tuple(np.array([c]) for c in ctr), key)
    assert tuple(int(w[0]) for w in out) == expected


def _philox_reference(ctr, key):
    """Philox4x32-10 in plain Python integers (the paper's definition), for the compiled one."""
    c, k = list(ctr), list(key)
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & 0xFFFFFFFF, (p0 >> 32) ^ c[3] ^ k[1], p0 & 0xFFFFFFFF]
        k = [(k[0] + 0x9E3779B9) & 0xFFFFFFFF, (k[1] + 0xBB67AE85) & 0xFFFFFFFF]
    return tuple(c)


def test_philox_matches_the_definition_on_random_counters():
    rng = np.random.default_rng(4)
    ctr = rng.integers(0, 2**32, size=(4, 200), dtype=np.uint64)
    key = (int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32)))
    words = philox4x32(tuple(ctr), key)
    for i in range(200):
        expected = _philox_reference([int(c) for c in ctr[:, i]], key)
        assert tuple(int(w[i]) for w in words) == expected


def test_uniforms_are_the_philox_words_of_their_counter():
    seed, draws, stream = 2**33 + 5, np.array([3, 2**32 + 1]), 7
    u = uniforms(seed, draws, stream, 4)
    for di, d in enumerate(draws):
        for i in range(4):
            ctr = (i, stream, int(d) & 0xFFFFFFFF, int(d) >> 32)
            w = _philox_reference(ctr, (seed & 0xFFFFFFFF, seed >> 32))
            assert tuple(u[di, i]) == tuple((x + 0.5) / 2**32 for x in w)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    first=st.integers(0, 2**33),
    n=st.integers(1, 40),
    stream=st.integers(0, 2**32 - 1),
    p=st.floats(0.0, 1.0),
    fixed=st.integers(-1, 143),
)
def test_onsets_are_the_counters_whose_uniform_falls_below(seed, first, n, stream, p, fixed):
    """`philox.onsets` (every month's counter at once, `_philox_lanes`) picks the months whose
    word, as a uniform, is below the chance (word 0 by hazard, word 3 on a fixed date) and hands
    back words 1 and 2 of each, as `philox4x32` computes them one counter at a time."""
    from repm.simulate import philox
    from repm.simulate.shocks import _seed_key

    draws = np.arange(first, first + n, dtype=np.int64)
    pos, u1, u2 = philox.onsets(*_seed_key(seed), draws, stream, 144, p, fixed, p)
    months = np.arange(144) if fixed < 0 else np.array([fixed])
    d, t = np.repeat(np.arange(n), len(months)), np.tile(months, n)
    ctr = (t, np.full(len(t), stream), draws[d] & 0xFFFFFFFF, draws[d] >> 32)
    w = philox4x32(ctr, (seed & 0xFFFFFFFF, seed >> 32))
    u = [(x.astype(np.float64) + 0.5) / 2**32 for x in w]
    hit = (u[0] if fixed < 0 else u[3]) < p
    assert np.array_equal(pos, d[hit] * 144 + t[hit])
    assert np.array_equal(u1, u[1][hit]) and np.array_equal(u2, u[2][hit])


def test_a_draws_numbers_do_not_depend_on_its_neighbours():
    a = uniforms(42, np.arange(10), stream=3, n=5)
    b = uniforms(42, np.array([7, 2]), stream=3, n=5)
    assert np.array_equal(a[[7, 2]], b)
    assert not np.array_equal(uniforms(43, np.array([7]), 3, 5), a[[7]])
    u = uniforms(1, np.arange(2000), 0, 50).ravel()
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005  # 400k uniforms: sd of the mean ≈ 0.00046


# --- scenarios for the hand cases -------------------------------------------------------------
BAN = (
    "    - {name: ban, kind: export_restriction, origin: China, elements: heavy, include_magnets: true,\n"
    "       start_year: %(year)d, start_month: 1, probability: %(p)s,\n"
    "       duration: {mean_months: %(months)d, distribution: fixed},\n"
    "       severity_low: %(lo)s, severity_high: %(hi)s}\n"
)


def _write(tmp_path: Path, body: str, name="s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def _no_buffers(extra_risk: str) -> str:
    return (
        "extends: india-baseline\n"
        "supply:\n  units: []\n"
        "trade:\n  spare: null\n"
        "policy:\n  working_stock_months: 0\n  sector_working_stock_months: {ev_car: 0, wind: 0, industrial: 0}\n"
        # no grade switch: the hand cases count what a ban withholds (tests/test_grade_switch.py)
        "risk:\n  grade_switch: null\n  demand_growth_sd: 0\n  events:\n" + extra_risk
    )


def test_zero_hazard_gives_the_deterministic_baseline(tmp_path):
    sets = [
        "risk.events.0.hazard=0",
        "risk.demand_growth_sd=0",
        "risk.as_of=null",
        "risk.events.1.probability=0",
        "risk.events.2.probability=0",
        "risk.events.4.probability=0",  # the April regime's 2026 tail (certain, dated)
    ]  # no history either
    loaded = load_scenario("india-baseline", sets)
    chain = compile_chain(loaded.scenario)
    summary = run_draws(chain, loaded.scenario, draws=64, seed=5, chunk_size=64)
    base = build_results(chain, simulate(chain))
    det = np.array([base.value("unmet_demand", int(y)) for y in chain.years])
    assert np.array_equal(summary.total, np.broadcast_to(det, (64, len(det))))
    assert det.max() == 0.0


def test_certain_total_12_month_ban_unmet_by_hand(tmp_path):
    path = _write(
        tmp_path, _no_buffers(BAN % {"year": 2026, "p": 1.0, "months": 12, "lo": 1, "hi": 1})
    )
    loaded = load_scenario(str(path))
    chain = compile_chain(loaded.scenario)
    s = run_draws(chain, loaded.scenario, draws=3, seed=0, chunk_size=3)
    # 12 months of the banned material (Dy/Tb-grade bare magnets) from China: China's 87.6 %
    # share of the 2026 h-grade bare demand; nobody else can add supply, nothing is stocked
    china = (0.848 + 0.904) / 2
    h_bare_2026 = float(chain.demand_bare.sel(year=2026, grade=list(HEAVY)).sum())
    unmet = s.total
    yi = list(chain.years).index(2026)
    assert unmet[:, yi] == pytest.approx(china * h_bare_2026, rel=1e-9)
    assert unmet[:, [i for i in range(len(chain.years)) if i != yi]].max() == 0.0
    assert s.months_short[yi] == pytest.approx(12.0)  # the mean of three draws, each ≤ 12


# --- reproducibility ----------------------------------------------------------------------------
def test_metrics_bit_identical_for_any_chunking_and_workers():
    loaded = load_scenario("india-baseline", ["risk.events.0.hazard=0.6"])
    chain = compile_chain(loaded.scenario)
    ref = metrics(
        chain,
        loaded.scenario,
        run_draws(chain, loaded.scenario, draws=240, seed=11, chunk_size=240),
    )
    for chunk, workers in ((80, 1), (30, 2), (240 // 8, 1)):
        s = run_draws(chain, loaded.scenario, draws=240, seed=11, chunk_size=chunk, workers=workers)
        got = metrics(chain, loaded.scenario, s)
        assert np.array_equal(ref["value"].values, got["value"].values), (chunk, workers)
    assert ref.loc[ref["name"] == "expected_unmet", "value"].sum() > 0  # the case is not trivial


def test_distributed_cluster_gives_the_same_numbers():
    pytest.importorskip("distributed")
    loaded = load_scenario("india-baseline", ["risk.events.0.hazard=0.6"])
    chain = compile_chain(loaded.scenario)
    local = run_draws(chain, loaded.scenario, draws=60, seed=2, chunk_size=20)
    cluster = run_draws(
        chain, loaded.scenario, draws=60, seed=2, chunk_size=20, scheduler="local", workers=2
    )
    assert np.array_equal(local.total, cluster.total)
    ref, got = (metrics(chain, loaded.scenario, x) for x in (local, cluster))
    assert np.array_equal(ref["value"].values, got["value"].values)


def _old_cvar(x, alpha=0.95):
    """CVaR as first written: a full sort, then the mean of the worst k."""
    n = x.shape[0]
    k = max(1, int(np.ceil(round((1 - alpha) * n, 9))))
    return np.take(np.sort(x, axis=0), np.arange(n - k, n), axis=0).mean(axis=0)


def test_cvar_is_the_mean_of_the_worst_tail_bit_for_bit():
    rng = np.random.default_rng(8)
    x = np.round(rng.exponential(size=(5001, 7)) * (rng.random((5001, 7)) < 0.3), 2)  # ties, zeros
    assert np.array_equal(cvar(x), _old_cvar(x))
    assert np.array_equal(cvar(x[:3]), _old_cvar(x[:3]))  # k = 1
    assert cvar(np.arange(90.0)[:, None])[0] == 87.0  # k = ⌈4.5⌉: the mean of 85 … 89
    assert cvar(np.arange(100.0)[:, None])[0] == 97.0  # k = 5, not 6: the mean of 95 … 99


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 4),
    n=st.integers(1, 60),
    k_share=st.floats(0.01, 1.0),
    pool=st.lists(st.sampled_from([0.0, -0.0, 0.0, 0.0, 1.5, 2.0, -1.0, np.nan, 3.25]), min_size=1),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_largest_in_rows_are_the_values_partition_keeps(rows, n, k_share, pool, seed):
    """Selecting above zero first keeps exactly the values np.partition keeps (ties, zeros,
    negatives, NaN): the CVaR's tail is the same multiset, hence the same bits."""
    rng = np.random.default_rng(seed)
    x = rng.choice(np.array(pool), size=(rows, n)) + np.where(
        rng.random((rows, n)) < 0.3, rng.random((rows, n)), 0.0
    )
    k = max(1, min(n, int(round(k_share * n))))
    got = np.sort(largest_in_rows(x, k), axis=1)
    want = np.sort(np.partition(x, n - k, axis=1)[:, n - k :], axis=1)
    assert np.array_equal(got, want, equal_nan=True)


def _draw_order_mean(x):
    """The mean over axis 0, adding rows one after another in draw order."""
    return np.cumsum(x, axis=0)[-1] / x.shape[0]


@pytest.mark.parametrize("years", [1, 12, 27])
def test_reduction_equals_the_statistics_of_every_draw(years):
    """Chunks folded in any arrival order give, bit for bit, the statistics of the whole draw ×
    year × sector arrays: means add draws in draw order (as NumPy's mean over the draw axis does
    when there is more than one year; with one it sums pairwise)."""
    rng = np.random.default_rng(years)
    n, S, M = 1237, 7, 12
    unmet = rng.exponential(10, (n, years, S)) * (rng.random((n, years, S)) < 0.2)
    unmet[rng.random(n) < 0.05] = 3.0  # ties in the tail
    short = rng.integers(0, 13, (n, years)).astype(float)
    short_s = rng.integers(0, 13, (n, years, S)).astype(float)
    ty = rng.random((n, years, M)) * (rng.random((n, years, M)) < 0.5)
    rel = rng.random((n, M))
    res = rng.random((n, years))
    price = rng.random(M)

    def hold(t):
        return (t * price[None, None, :]).sum(axis=2) * 1000.0 * 0.05 / 1e7

    red = Reduction(n, years, S, M, hold)
    cuts = [0, 1, 2, 300, 301, 800, n]
    blocks = [
        Block(
            np.arange(a, b),
            unmet[a:b],
            short[a:b],
            ty[a:b],
            rel[a:b],
            res[a:b].max(axis=0),
            short_s[a:b],
        )
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    for i in rng.permutation(len(blocks)):
        red.add(blocks[i])
    s = red.result()
    assert np.array_equal(s.total, unmet.sum(axis=2))
    assert np.array_equal(s.horizon, unmet.sum(axis=(1, 2)))
    assert np.array_equal(s.holding, hold(ty))
    assert np.array_equal(s.released, rel)
    assert np.array_equal(s.months_short, _draw_order_mean(short))
    for si in range(S):
        assert np.array_equal(s.sector_months_short[:, si], _draw_order_mean(short_s[:, :, si]))
    assert np.array_equal(s.max_residual, res.max(axis=0))
    for si in range(S):
        u = unmet[:, :, si]
        assert np.array_equal(s.sector_mean[:, si], _draw_order_mean(u))
        assert np.array_equal(s.sector_p_short[:, si], (u > UNMET_EPS).mean(axis=0))
        assert np.array_equal(s.sector_cvar[:, si], _old_cvar(u))
    if years > 1:  # then NumPy's mean over draws adds them in draw order too: the same bits
        assert np.array_equal(s.months_short, short.mean(axis=0))
        assert np.array_equal(s.sector_mean, unmet.mean(axis=0))


def test_reduction_refuses_gaps_in_the_draws():
    red = Reduction(4, 1, 1, 12, lambda t: t.sum(axis=2))
    z = np.zeros
    red.add(
        Block(
            np.arange(2, 4), z((2, 1, 1)), z((2, 1)), z((2, 1, 1)), z((2, 12)), z(1), z((2, 1, 1))
        )
    )
    with pytest.raises(ValueError, match="2 of 4|0 of 4"):
        red.result()


# --- stockpile sizing against the closed form ----------------------------------------------------
ONE_NODE = (
    "extends: india-baseline\n"
    "horizon: {start: 2025, end: 2025}\n"
    "demand:\n  anchors: {2030: null}\n  channels: {localization: {2030: null, 2035: null}}\n"
    "supply:\n  units: []\n  separation: {output: {2026: null, 2027: null}}\n"
    "trade:\n  spare: null\n"
    "policy:\n  working_stock_months: 0\n  sector_working_stock_months: {ev_car: 0, wind: 0, industrial: 0}\n  magnet_stockpile_fit: %(fit)s\n"
    "risk:\n  as_of: null\n  grade_switch: null\n  demand_growth_sd: 0\n  events:\n"
)


@pytest.mark.parametrize("prob", [0.3, 0.03])
def test_stockpile_matches_the_closed_form(tmp_path, prob):
    P, months, lo, hi = 0.95, 6, 0.5, 1.0
    path = _write(
        tmp_path,
        (ONE_NODE + BAN)
        % {"fit": 1, "year": 2025, "p": prob, "months": months, "lo": lo, "hi": hi},
    )
    loaded = load_scenario(str(path))
    chain = compile_chain(loaded.scenario)
    res = size_stockpile(
        loaded, compile_chain, service_level=P, draws=4000, seed=3, chunk_size=4000
    )
    china = (0.848 + 0.904) / 2
    for g in HEAVY:  # each Dy/Tb-bearing grade: the same ban, so the same quantile
        monthly = float(chain.demand_bare.sel(year=2025, grade=g).sum()) / 12
        K = months * monthly * china  # shortfall over a ban of severity 1
        if prob > 1 - P:  # a ban is likelier than 1 − P: the P-quantile of the shortfall
            closed = K * stats.uniform(loc=lo, scale=hi - lo).ppf(1 - (1 - P) / prob)
            assert res.stockpile[f"magnet_{g}"] == pytest.approx(closed, rel=0.03)
            assert res.achieved >= P
        else:  # the right answer is zero
            assert res.stockpile[f"magnet_{g}"] == 0.0
    # nothing is made at home here, so no feed stockpile is needed
    assert set(res.stockpile) >= {"magnet_n", "ndpr_oxide", "dy_oxide", "tb_oxide"}
    assert all(v == 0.0 for m, v in res.stockpile.items() if m not in HEAVY_MAGNETS)


def test_finished_magnets_made_for_part_of_demand_cannot_close_a_ban(tmp_path):
    """Issue 13 part 6, in closed form: on one node with nothing made at home, a stockpile of
    finished magnets serves only `fit` of each shortfall, so no stockpile lifts P(no shortage)
    above P(no ban) = 1 − p. Sizing says so, and the least-cost stockpile reaching 1 − p is none."""
    prob = 0.3
    path = _write(
        tmp_path,
        (ONE_NODE + BAN) % {"fit": 0.5, "year": 2025, "p": prob, "months": 6, "lo": 0.5, "hi": 1},
    )
    loaded = load_scenario(str(path))
    res = size_stockpile(
        loaded, compile_chain, service_level=0.95, draws=2000, seed=3, chunk_size=2000
    )
    assert not res.attainable
    assert res.achieved == pytest.approx(1 - prob, abs=0.03)  # the draws with no ban
    assert all(v == 0.0 for v in res.stockpile.values())
    assert "magnet_stockpile_fit 0.5" in res.note and "is none" in res.note


def test_a_tolerance_counts_small_shortfalls_as_none(tmp_path):
    """`--tolerance T`: a year is short only when its unmet demand exceeds T t. By hand on a
    summary (the insured years from `first`), then end to end on the one-node case that no
    stockpile can close (finished magnets serve half a shortfall): with T above the largest
    year's shortfall a ban can cause, nothing needs stocking, and P(no shortage) is 1."""
    total = np.array([[0.0, 5.0, 0.0], [0.0, 0.5, 0.7], [9.0, 0.0, 0.0], [0.0, 0.0, 2e-7]])
    s = SimpleNamespace(total=total, horizon=total.sum(axis=1))
    assert p_no_shortage(s, first=1) == 0.5  # draws 2 and 3: 9 t is history; 2e-7 is round-off
    assert p_no_shortage(s, first=1, tolerance=1.0) == 0.75  # 0.5 and 0.7 t a year: none
    assert p_no_shortage(s, first=0, tolerance=1.0) == 0.5
    prob, months = 0.3, 6
    path = _write(
        tmp_path,
        (ONE_NODE + BAN)
        % {"fit": 0.5, "year": 2025, "p": prob, "months": months, "lo": 0.5, "hi": 1},
    )
    loaded = load_scenario(str(path))
    chain = compile_chain(loaded.scenario)
    china = (0.848 + 0.904) / 2
    worst = sum(  # a ban of severity 1, every heavy grade, nothing stocked
        months * float(chain.demand_bare.sel(year=2025, grade=g).sum()) / 12 * china for g in HEAVY
    )
    res = size_stockpile(
        loaded, compile_chain, service_level=0.95, draws=200, seed=3, chunk_size=200,
        tolerance=worst * 1.01,
    )  # fmt: skip
    assert res.achieved == 1.0 and res.attainable
    assert all(v == 0.0 for v in res.stockpile.values())
    with pytest.raises(UserError, match="--tolerance"):
        size_stockpile(loaded, compile_chain, service_level=0.95, draws=2, seed=0, tolerance=-1)


def test_stockpile_closes_the_shortage_it_was_sized_for(tmp_path):
    path = _write(
        tmp_path,
        (ONE_NODE + BAN) % {"fit": 1, "year": 2025, "p": 0.5, "months": 4, "lo": 0.6, "hi": 0.9},
    )
    loaded = load_scenario(str(path))
    chain = compile_chain(loaded.scenario)
    res = size_stockpile(
        loaded, compile_chain, service_level=0.9, draws=1000, seed=1, chunk_size=1000
    )
    with_stock = load_scenario(
        str(path), [f"policy.stockpile.{m}={res.stockpile[m]}" for m in HEAVY_MAGNETS]
    )
    s = run_draws(
        compile_chain(with_stock.scenario), with_stock.scenario, draws=1000, seed=1, chunk_size=1000
    )
    assert p_no_shortage(s) >= 0.9
    less = load_scenario(
        str(path), [f"policy.stockpile.{m}={res.stockpile[m] * 0.9}" for m in HEAVY_MAGNETS]
    )
    s2 = run_draws(compile_chain(less.scenario), less.scenario, draws=1000, seed=1, chunk_size=1000)
    assert p_no_shortage(s2) < 0.9  # and it is the least that does
    assert chain is not None
    # what it is worth (one year, nothing discounted): its holding cost against the unmet
    # demand it avoids, from the two runs above and one without a stockpile
    s0 = run_draws(chain, loaded.scenario, draws=1000, seed=1, chunk_size=1000)
    avoided = float(s0.total[:, 0].mean() - s.total[:, 0].mean())
    assert res.holding_pv == pytest.approx(float(s.holding[:, 0].mean()), rel=1e-12)
    assert res.unmet_avoided == pytest.approx(avoided, rel=1e-12) and avoided > 0
    inr_per_kg = res.holding_pv * 1e7 / (avoided * 1000)
    assert res.breakeven_penalty == pytest.approx(inr_per_kg, rel=1e-12)
    assert res.unmet_penalty == loaded.scenario.policy.unmet_penalty
    assert res.pays == (res.unmet_penalty >= inr_per_kg)
    assert replace(res, unmet_penalty=inr_per_kg * 1.01).pays
    assert not replace(res, unmet_penalty=inr_per_kg * 0.99).pays


def test_a_stockpile_is_valued_discounted_from_the_first_year_after_history():
    """`measures.discounted` by hand: years from `first` on, each (1 + r)^-(its distance from
    `first`); and the break-even value of a kilogram unmet, crore INR over tonnes in INR/kg."""
    s = SimpleNamespace(
        holding=np.array([[1.0, 2.0, 3.0], [5.0, 0.0, 1.1]]),
        total=np.array([[10.0, 0.0, 5.0], [0.0, 4.0, 0.0]]),
    )
    held, short = discounted(s, first=1, rate=0.1)
    assert held == pytest.approx([2 + 3 / 1.1, 0 + 1.1 / 1.1], rel=1e-15)
    assert short == pytest.approx([0 + 5 / 1.1, 4.0], rel=1e-15)
    assert breakeven_penalty(392.0, 20.3) == pytest.approx(392e7 / 20_300, rel=1e-15)
    assert breakeven_penalty(10.0, 0.0) == float("inf")


OXIDE_BAN = (
    "extends: india-baseline\n"
    "trade:\n  spare: null\n"
    "policy:\n  working_stock_months: 0\n  sector_working_stock_months: {ev_car: 0, wind: 0, industrial: 0}\n"
    "risk:\n  grade_switch: null\n  demand_growth_sd: 0\n  events:\n"
    "    - {name: ban, kind: export_restriction, origin: China, elements: heavy, include_magnets: true,\n"
    "       start_year: 2030, start_month: 1, probability: 1.0,\n"
    "       duration: {mean_months: 12, distribution: fixed}, severity_low: 1, severity_high: 1}\n"
)


def test_stockpile_of_oxides_replaces_what_a_ban_withholds(tmp_path):
    """A certain year-long Chinese ban on Dy, Tb and the magnets containing them, in a year when
    India imports no bare magnets: the domestic units need a Dy and a Tb oxide stockpile of
    exactly what China would have shipped that year — its 2030 imports in a run without shocks —
    and no magnet or NdPr stockpile (a magnet stockpile standing in for the lost output would
    cost more to hold)."""
    loaded = load_scenario(str(_write(tmp_path, OXIDE_BAN)))
    chain = compile_chain(loaded.scenario)
    res = size_stockpile(loaded, compile_chain, service_level=0.9, draws=20, seed=0, chunk_size=20)
    calm = simulate(chain).data.imports.sel(draw=0, year=2030, origin="China")
    heavy_forms = [f"{k}_{g}" for k in ("magnet", "alloy") for g in HEAVY]
    assert float(calm.sel(material=heavy_forms).sum()) < 1e-9  # (rounding of the shares)
    for m in ("dy_oxide", "tb_oxide"):
        assert float(calm.sel(material=m)) > 1.0  # the units do buy them from China
        assert res.stockpile[m] == pytest.approx(float(calm.sel(material=m)), rel=1e-6)
    assert all(res.stockpile[f"magnet_{g}"] == 0.0 for g in ("n", *HEAVY))
    assert res.stockpile["ndpr_oxide"] == 0.0
    assert res.attainable and res.achieved == 1.0 and res.holding_cost > 0
    # without the Dy stockpile the same draws fall short
    less = load_scenario(
        str(tmp_path / "s.yaml"),
        [f"policy.stockpile.dy_oxide={res.stockpile['dy_oxide'] * 0.9}",
         f"policy.stockpile.tb_oxide={res.stockpile['tb_oxide']}"],
    )  # fmt: skip
    s = run_draws(compile_chain(less.scenario), less.scenario, draws=20, seed=0, chunk_size=20)
    assert p_no_shortage(s) == 0.0


# --- the command line -----------------------------------------------------------------------------
def test_risk_json_shape(tmp_path):
    r = run_cli(["risk", "--draws", "40", "--seed", "7", "--json"])
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "risk" and obj["draws"] == 40 and obj["seed"] == 7 and obj["run_id"]
    names = {(row["name"], row.get("sector")) for row in obj["indicators"]}
    for n in (
        "p_shortage",
        "expected_unmet",
        "cvar95_unmet",
        "stockpile_holding_cost",
        "months_short",
    ):
        assert (n, None) in names
    assert ("expected_unmet", "ev_car") in names
    again = json.loads(run_cli(["risk", "--draws", "40", "--seed", "7", "--json"]).stdout)
    assert [r["value"] for r in again["indicators"]] == [r["value"] for r in obj["indicators"]]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--draws", "0"], "--draws"),
        (["--set", "risk.draws_max=10", "--draws", "11"], "draws_max"),
        (["--set", "risk.events.0.hazard=1.5"], "risk.events.0.hazard"),
        (["--set", "risk.events.0.duration.mean_months=-1"], "risk.events.0.duration.mean_months"),
        (["--set", "risk.events.0.preset=china_may_2031"], "unknown preset"),
        (["--set", "risk.events.0.origin=Atlantis"], "risk.events.0.origin"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_risk_input(args, needle, tmp_path):
    r = run_cli(["risk", *args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_sampled_arrays_for_a_certain_ban(tmp_path):
    path = _write(
        tmp_path, _no_buffers(BAN % {"year": 2026, "p": 1.0, "months": 3, "lo": 1, "hi": 1})
    )
    loaded = load_scenario(str(path), ["risk.events.0.price_multiplier.dy_oxide=3"])
    chain = compile_chain(loaded.scenario)
    avail, price = sample(loaded.scenario.risk, chain, np.arange(2), seed=9).dense(144)
    M = len(chain.materials)
    assert avail.shape == (2, 144, len(chain.origins), M) and price.shape == (2, 144, M)
    from repm.model import default_definition

    MATERIALS = default_definition().material_names

    china = chain.origins.index("China")
    banned = [
        MATERIALS.index(m)
        for m in (
            "dy_oxide",
            "tb_oxide",
            "dy_metal",
            "tb_metal",
            *HEAVY_MAGNETS,
            "alloy_gbd",
            "alloy_uh",
        )
    ]
    months = slice(24, 27)  # Jan–Mar 2026
    assert (avail[:, months, china][:, :, banned] == 0).all()
    assert avail[:, months, china].sum() == 2 * 3 * (M - len(banned))  # the rest flows
    assert (np.delete(avail, np.s_[24:27], axis=1) == 1).all()
    assert (price[:, months, MATERIALS.index("dy_oxide")] == 3).all()
    assert (np.delete(price, np.s_[24:27], axis=1) == 1).all()


def test_sampled_levels_do_not_depend_on_the_other_draws_sampled():
    loaded = load_scenario("india-baseline", ["risk.events.0.preset=china_october_2025"])
    chain = compile_chain(loaded.scenario)
    full = sample(loaded.scenario.risk, chain, np.arange(300), seed=3)
    part = sample(loaded.scenario.risk, chain, np.array([299, 4, 150]), seed=3)
    assert np.array_equal(part.event_level, full.event_level[[299, 4, 150]])
    assert np.array_equal(part.demand_multiplier, full.demand_multiplier[[299, 4, 150]])
    assert 0 < (full.event_level > 0).mean() < 1  # episodes start in some draws, not all


def test_licensing_delay_refuses_everything_then_severity(tmp_path):
    path = _write(
        tmp_path, _no_buffers(BAN % {"year": 2026, "p": 1.0, "months": 4, "lo": 0.5, "hi": 0.5})
    )
    loaded = load_scenario(str(path), ["risk.events.0.licensing_delay_months=1.5"])
    chain = compile_chain(loaded.scenario)
    level = sample(loaded.scenario.risk, chain, np.arange(3), seed=1).event_level[:, :, 0]
    expected = np.zeros(level.shape[1], dtype=np.float32)
    expected[24:26] = 1.0  # Jan, Feb 2026: months 24 and 25 are < 24 + 1.5
    expected[26:28] = 0.5  # then the severity until the 4 months are over
    assert np.array_equal(level, np.broadcast_to(expected, level.shape))


def test_october_preset_reaches_magnets_from_other_origins():
    # regression: an event with third_country_share crashed (the event index was missing)
    loaded = load_scenario("india-baseline", ["risk.events.0.preset=china_october_2025"])
    chain = compile_chain(loaded.scenario)
    sh = sample(loaded.scenario.risk, chain, np.arange(4), seed=1)
    from repm.model import default_definition

    MATERIALS = default_definition().material_names

    t = sh.event_target[0]
    mh, dy = MATERIALS.index("magnet_uh"), MATERIALS.index("dy_oxide")
    japan, china = chain.origins.index("Japan"), chain.origins.index("China")
    # the 0.1 % content rule reaches both Dy/Tb-bearing classes, not N
    assert (
        t[china, MATERIALS.index("magnet_gbd")] == 1 and t[china, MATERIALS.index("magnet_n")] == 0
    )
    assert t[china, mh] == 1 and t[china, dy] == 1
    assert t[japan, mh] == pytest.approx(0.5)  # fact chinese_content_share_third_country_magnets
    assert t[japan, dy] == 0  # the content rule reaches finished products, not Japanese oxide


def test_spare_capacity_is_split_not_duplicated_across_grades():
    # regression: each grade used to get an origin's whole spare magnet capacity
    chain = compile_chain(load_scenario("india-baseline").scenario)
    magnets = float(chain.spare.sel(material=["magnet_n", *HEAVY_MAGNETS]).sum())
    assert magnets == pytest.approx(50 + 20 + 30 + 10 + 20)  # spare_magnet_* facts, t/yr


def test_a_stockpile_changes_only_the_chains_stockpile():
    """size_stockpile evaluates candidates on the base chain with another stockpile instead of
    compiling each: that is what compiling the scenario with it gives, field by field."""
    import dataclasses

    import xarray as xr

    base = compile_chain(load_scenario("india-baseline").scenario)
    stocked = compile_chain(
        load_scenario("india-baseline", ["policy.stockpile.magnet_gbd=300"]).scenario
    )
    for f in dataclasses.fields(base):
        a, b = getattr(base, f.name), getattr(stocked, f.name)
        if f.name == "stockpile0":
            assert float(b.sel(material="magnet_gbd")) == 300.0
            continue
        if isinstance(a, xr.DataArray | xr.Dataset):
            assert a.identical(b), f.name
        elif isinstance(a, np.ndarray):
            assert np.array_equal(a, b), f.name
        elif f.name not in ("chem",):
            assert a == b, f.name


def test_the_largest_in_rows_refuses_more_than_a_row_holds():
    with pytest.raises(ValueError, match="k = 3; expected 1 to the row length 2"):
        largest_in_rows(np.array([[5.0, -1.0]]), 3)


def test_a_stockpiles_worth_counts_from_the_first_year_after_history_discounted(monkeypatch):
    """`size_stockpile`'s worth, by hand on a three-year summary: years before `first` (history)
    are left out, later ones discounted at the scenario's finance rate; the unmet demand avoided
    is against the search's own run without a stockpile."""
    from repm.analyses.risk import stockpile as S

    with_stock = SimpleNamespace(
        holding=np.array([[9.0, 2.0, 3.0], [9.0, 4.0, 1.0]]),
        total=np.array([[50.0, 1.0, 0.0], [50.0, 0.0, 2.0]]),
    )
    without = SimpleNamespace(
        holding=np.zeros((2, 3)), total=np.array([[50.0, 6.0, 4.0], [50.0, 2.0, 8.0]])
    )
    found = S.StockpileResult(0.9, 0.8, {"dy_oxide": 10.0}, 3.0, True, "", summary=with_stock)
    monkeypatch.setattr(
        S, "_least_cost_stockpile", lambda *a, **k: (found, None, without, 1)
    )
    loaded = load_scenario("india-baseline")
    r = loaded.scenario.economics.finance.discount_rate
    res = S.size_stockpile(loaded, compile_chain)
    held = np.mean([2.0 + 3.0 / (1 + r), 4.0 + 1.0 / (1 + r)])
    avoided = np.mean([5.0 + 4.0 / (1 + r), 2.0 + 6.0 / (1 + r)])
    assert res.holding_pv == pytest.approx(held, rel=1e-12)
    assert res.unmet_avoided == pytest.approx(avoided, rel=1e-12)
    assert res.breakeven_penalty == pytest.approx(held * 1e7 / (avoided * 1000), rel=1e-12)
    assert res.summary is None  # the draws are not carried out of the search
