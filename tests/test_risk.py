"""Risk: the counter-based sampler, shocks through the engine, chunk invariance, stockpile sizing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from scipy import stats

from repm.chain import compile_chain
from repm.engine import simulate
from repm.results import build_results
from repm.risk import metrics, p_no_shortage, run_draws, size_stockpile
from repm.scenario import load_scenario
from repm.shocks import philox4x32, sample, uniforms


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
        "policy:\n  working_stock_months: 0\n"
        "risk:\n  demand_growth_sd: 0\n  events:\n" + extra_risk
    )


def test_zero_hazard_gives_the_deterministic_baseline(tmp_path):
    loaded = load_scenario("india-baseline", ["risk.events.0.hazard=0", "risk.demand_growth_sd=0"])
    chain = compile_chain(loaded.scenario)
    summary = run_draws(chain, loaded.scenario, draws=64, seed=5, chunk_size=64)
    base = build_results(chain, simulate(chain))
    det = np.array([base.value("unmet_demand", int(y)) for y in chain.years])
    assert np.array_equal(summary.unmet.sum(axis=2), np.broadcast_to(det, (64, len(det))))
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
    h_bare_2026 = float(chain.demand_bare.sel(year=2026, grade="h").sum())
    unmet = s.unmet.sum(axis=2)
    yi = list(chain.years).index(2026)
    assert unmet[:, yi] == pytest.approx(china * h_bare_2026, rel=1e-9)
    assert unmet[:, [i for i in range(len(chain.years)) if i != yi]].max() == 0.0
    assert s.short_months[:, yi] == pytest.approx(12.0)


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
    assert np.array_equal(local.unmet, cluster.unmet)


# --- stockpile sizing against the closed form ----------------------------------------------------
ONE_NODE = (
    "extends: india-baseline\n"
    "horizon: {start: 2025, end: 2025}\n"
    "demand:\n  anchors: {2030: null}\n  channels: {localization: {2030: null, 2035: null}}\n"
    "supply:\n  units: []\n  separation: {output: {2026: null, 2027: null}}\n"
    "trade:\n  spare: null\n"
    "policy:\n  working_stock_months: 0\n"
    "risk:\n  demand_growth_sd: 0\n  events:\n"
)


@pytest.mark.parametrize("prob", [0.3, 0.03])
def test_stockpile_matches_the_closed_form(tmp_path, prob):
    P, months, lo, hi = 0.95, 6, 0.5, 1.0
    path = _write(
        tmp_path, ONE_NODE + BAN % {"year": 2025, "p": prob, "months": months, "lo": lo, "hi": hi}
    )
    loaded = load_scenario(str(path))
    chain = compile_chain(loaded.scenario)
    res = size_stockpile(
        loaded, compile_chain, service_level=P, draws=4000, seed=3, chunk_size=4000
    )
    china = (0.848 + 0.904) / 2
    monthly_h = float(chain.demand_bare.sel(year=2025, grade="h").sum()) / 12
    K = months * monthly_h * china  # shortfall over a ban of severity 1
    if prob > 1 - P:  # a ban is likelier than 1 − P: the P-quantile of the shortfall
        closed = K * stats.uniform(loc=lo, scale=hi - lo).ppf(1 - (1 - P) / prob)
        assert res.stockpile["magnet_h"] == pytest.approx(closed, rel=0.03)
        assert res.achieved >= P
    else:  # the right answer is zero
        assert res.stockpile["magnet_h"] == 0.0
    assert res.stockpile["magnet_n"] == 0.0


def test_stockpile_closes_the_shortage_it_was_sized_for(tmp_path):
    path = _write(
        tmp_path, ONE_NODE + BAN % {"year": 2025, "p": 0.5, "months": 4, "lo": 0.6, "hi": 0.9}
    )
    loaded = load_scenario(str(path))
    chain = compile_chain(loaded.scenario)
    res = size_stockpile(
        loaded, compile_chain, service_level=0.9, draws=1000, seed=1, chunk_size=1000
    )
    with_stock = load_scenario(
        str(path), [f"policy.stockpile.magnet_h={res.stockpile['magnet_h']}"]
    )
    s = run_draws(
        compile_chain(with_stock.scenario), with_stock.scenario, draws=1000, seed=1, chunk_size=1000
    )
    assert p_no_shortage(s) >= 0.9
    less = load_scenario(
        str(path), [f"policy.stockpile.magnet_h={res.stockpile['magnet_h'] * 0.9}"]
    )
    s2 = run_draws(compile_chain(less.scenario), less.scenario, draws=1000, seed=1, chunk_size=1000)
    assert p_no_shortage(s2) < 0.9  # and it is the least that does
    assert chain is not None


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
    assert avail.shape == (2, 144, len(chain.origins), 12) and price.shape == (2, 144, 12)
    from repm.chain import MATERIALS

    china = chain.origins.index("China")
    banned = [
        MATERIALS.index(m)
        for m in ("dy_oxide", "tb_oxide", "dy_metal", "tb_metal", "alloy_h", "magnet_h")
    ]
    months = slice(24, 27)  # Jan–Mar 2026
    assert (avail[:, months, china][:, :, banned] == 0).all()
    assert avail[:, months, china].sum() == 2 * 3 * (12 - len(banned))  # the rest flows
    assert (np.delete(avail, np.s_[24:27], axis=1) == 1).all()
    assert (price[:, months, MATERIALS.index("dy_oxide")] == 3).all()
    assert (np.delete(price, np.s_[24:27], axis=1) == 1).all()


def test_october_preset_reaches_magnets_from_other_origins():
    # regression: an event with third_country_share crashed (the event index was missing)
    loaded = load_scenario("india-baseline", ["risk.events.0.preset=china_october_2025"])
    chain = compile_chain(loaded.scenario)
    sh = sample(loaded.scenario.risk, chain, np.arange(4), seed=1)
    from repm.chain import MATERIALS

    t = sh.event_target[0]
    mh, dy = MATERIALS.index("magnet_h"), MATERIALS.index("dy_oxide")
    japan, china = chain.origins.index("Japan"), chain.origins.index("China")
    assert t[china, mh] == 1 and t[china, dy] == 1
    assert t[japan, mh] == pytest.approx(0.5)  # fact chinese_content_share_third_country_magnets
    assert t[japan, dy] == 0  # the content rule reaches finished products, not Japanese oxide


def test_spare_capacity_is_split_not_duplicated_across_grades():
    # regression: each grade used to get an origin's whole spare magnet capacity
    chain = compile_chain(load_scenario("india-baseline").scenario)
    magnets = float(chain.spare.sel(material=["magnet_n", "magnet_h"]).sum())
    assert magnets == pytest.approx(50 + 20 + 30 + 10 + 20)  # spare_magnet_* facts, t/yr
