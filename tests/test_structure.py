"""Structural uncertainty (repm.analyses.uncertainty.structure): alternative scenarios weighed
like a fact. The discrete draw against its weights, the variance share and EVPPI of a discrete
input against their closed forms, the pooled evaluation against each scenario's own Evaluator
bit for bit, and `--alternative` end to end and in bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from repm.analyses.uncertainty.structure import (
    STRUCTURE,
    Alternatives,
    Pooled,
    evppi_discrete,
    evppi_discrete_floor,
    parse_alternatives,
    stratified,
    structure_uniforms,
    variance_share,
    variance_share_floor,
)
from repm.errors import UserError


def test_the_scenario_is_drawn_by_its_weights():
    alts = Alternatives.of("a", [("b", 0.25), ("c", 0.15)])
    assert alts.names == ("a", "b", "c") and np.isclose(sum(alts.weights), 1.0)
    # the inverse CDF at the edges: [0, 0.6) → a, [0.6, 0.85) → b, [0.85, 1) → c
    assert alts.index(np.array([0.0, 0.5999, 0.6, 0.8499, 0.85, 0.9999])).tolist() == [
        0, 0, 1, 1, 2, 2,
    ]  # fmt: skip
    u = structure_uniforms(7, np.arange(20_000))
    share = np.bincount(alts.index(u), minlength=3) / u.size
    assert np.allclose(share, alts.weights, atol=0.01)  # ~4 standard errors
    # a pure function of (seed, sample): the same whichever samples are asked for
    assert np.array_equal(structure_uniforms(7, np.arange(100, 110)), u[100:110])
    assert not np.array_equal(structure_uniforms(8, np.arange(10)), u[:10])


def test_variance_share_against_the_closed_form_and_the_null():
    rng = np.random.default_rng(0)
    n, p, delta, sigma = 200_000, 0.3, 2.0, 1.5
    labels = (rng.random(n) < p).astype(int)
    y = delta * labels + rng.normal(0.0, sigma, n)
    exact = p * (1 - p) * delta**2 / (p * (1 - p) * delta**2 + sigma**2)  # 0.2718
    assert abs(float(variance_share(y, labels)) - exact) < 0.01
    # an input that does not matter: ε² reads about half what the raw ratio does at n = 16
    # (the raw ratio's bias is (K − 1)/(n − 1) = 0.067; clipping at 0 keeps ε² above 0)
    got, raw = [], []
    for _ in range(1000):
        y, lab = rng.normal(size=16), rng.integers(0, 2, 16)
        if len(set(lab)) < 2:
            continue
        got.append(float(variance_share(y, lab)))
        m = y.mean()
        between = sum((lab == k).sum() * (y[lab == k].mean() - m) ** 2 for k in (0, 1))
        raw.append(between / ((y - m) ** 2).sum())
    assert np.mean(got) < 0.6 * np.mean(raw) and abs(np.mean(raw) - 1 / 15) < 0.01
    # per column, and 0 where nothing varies
    two = variance_share(np.column_stack([labels * 1.0, np.ones(n)]), labels)
    assert two.shape == (2,) and two[0] > 0.999 and two[1] == 0.0


def test_evppi_of_a_discrete_input_against_the_closed_form():
    # options: do nothing (0) or act (mu_k + noise independent of k); p = (0.5, 0.3, 0.2)
    rng = np.random.default_rng(1)
    n = 300_000
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    mu = np.array([-1.0, 0.5, 2.0])
    nb = np.column_stack([np.zeros(n), mu[labels] + rng.normal(0.0, 3.0, n)])
    # Σ_k p_k max(0, μ_k) − max(0, Σ_k p_k μ_k) = (0.15 + 0.4) − max(0, −0.5 + 0.15 + 0.4)
    exact = 0.55 - 0.05
    assert abs(evppi_discrete(nb, labels) - exact) < 0.02
    # noise-free: exact to rounding, and never above EVPI
    clean = np.column_stack([np.zeros(n), mu[labels]])
    assert evppi_discrete(clean, labels) == pytest.approx(exact, abs=1e-2)
    assert evppi_discrete(nb, labels) <= float(nb.max(axis=1).mean() - nb.mean(axis=0).max())
    # shuffled labels: the floor is small against the real value
    few = slice(0, 400)
    assert evppi_discrete_floor(nb[few], labels[few], replicates=100) < exact


@pytest.mark.parametrize(
    ("items", "says"),
    [
        (["x=1.5"], "strictly between 0 and 1"),
        (["x=0"], "strictly between 0 and 1"),
        (["x=abc"], "strictly between 0 and 1"),
        (["noequals"], "SCENARIO=WEIGHT"),
        (["x=0.3", "x=0.2"], "each scenario once"),
        (["x=0.6", "y=0.5"], "less than 1"),
    ],
)
def test_bad_alternatives_say_what_was_expected(items, says):
    with pytest.raises(UserError, match=says) as exc:
        parse_alternatives(items)
    assert exc.value.where == "--alternative"


def test_every_mistake_at_once():
    with pytest.raises(UserError) as exc:
        parse_alternatives(["x=2", "y=-1", "x=0.1"])
    msg = str(exc.value)
    assert "x=2" in msg and "y=-1" in msg and "each scenario once" in msg


def _evaluators(names, **kw):
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario import load_scenario

    return [Evaluator(load_scenario(n), "magnet_imports", step="yearly", workers=1, **kw)
            for n in names]  # fmt: skip


def test_one_scenario_pooled_is_its_evaluator_bit_for_bit():
    from repm.analyses.uncertainty import philox_uniforms

    (ev,) = _evaluators(["india-baseline"])
    pooled = Pooled([ev], Alternatives.of("india-baseline", ()))
    n = 4
    u, labels, at = pooled.draw(3, n)
    assert STRUCTURE not in u and labels.tolist() == [0] * n
    # the path every command took before alternatives: the same draws, values and outputs
    u0 = philox_uniforms(ev.inputs.drawn, 3, np.arange(n))
    values = ev.inputs.values(u0, n)
    moving = [k for k, v in values.items() if not np.all(v == ev.spreads[k].central)]
    old = [{k: float(values[k][d]) for k in moving} for d in range(n)]
    assert [dict(a) for a in at] == old
    assert np.array_equal(pooled.many(at), ev.many(old))


def test_pooled_samples_are_their_own_scenarios_runs_with_shared_draws():
    evs = _evaluators(["india-baseline", "india-official-split"])
    alts = Alternatives.of("india-baseline", [("india-official-split", 0.5)])
    pooled = Pooled(evs, alts)
    n = 6
    u, labels, at = pooled.draw(5, n)
    # stratified: 3 and 3 of 6 at even odds, which ones by the seed's uniforms
    assert labels.tolist() == alts.index(stratified(structure_uniforms(5, np.arange(n)))).tolist()
    assert np.bincount(labels).tolist() == [3, 3]
    got = pooled.many(at)
    for d in range(n):  # each sample: its scenario's Evaluator alone, bit for bit
        alone = evs[labels[d]].many([dict(at[d])])[0]
        assert np.array_equal(got[d], alone)
    # common random numbers: a fact both scenarios draw on the same range takes the same value
    # in a sample whichever scenario it runs
    single = Pooled([evs[0]], Alternatives.of("india-baseline", ()))
    _, _, base_at = single.draw(5, n)
    same = [f for f in evs[0].inputs.drawn if f in evs[1].inputs.drawn
            and evs[0].spreads[f] == evs[1].spreads[f]]  # fmt: skip
    assert len(same) > 100
    for d in range(n):
        shared = [f for f in same if f in at[d] and f in base_at[d]]
        assert shared and all(at[d][f] == base_at[d][f] for f in shared)


def test_uncertainty_and_voi_with_an_alternative_end_to_end():
    res = run_cli(["uncertainty", "--samples", "8", "--step", "yearly", "--alternative",
                   "india-official-split=0.5", "--json"])  # fmt: skip
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)
    st = p["structure"]
    assert [s["name"] for s in st["scenarios"]] == ["india-baseline", "india-official-split"]
    assert sum(s["samples"] for s in st["scenarios"]) == 8
    assert all(0.0 <= r["share"] <= 1.0 for r in st["variance_share"])
    demand = {r["year"]: r for r in st["variance_share"] if r["name"] == "magnet_demand"}
    assert set(demand[2030]["means"]) == {"india-baseline", "india-official-split"}
    # without alternatives there is no structure block
    res = run_cli(["uncertainty", "--samples", "4", "--step", "yearly", "--json"])
    assert json.loads(res.stdout)["structure"] is None

    res = run_cli(["voi", "unit", "--samples", "8", "--alternative", "india-official-split=0.5",
                   "--json"])  # fmt: skip
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)
    row = [r for r in p["evppi"] if r["kind"] == "structure"]
    assert len(row) == 1 and row[0]["fact"] == STRUCTURE and 0.0 <= row[0]["value"] <= p["evpi"]
    assert {s["expected_best"] for s in p["structure"]["scenarios"]} <= {"build", "do not build"}


@pytest.mark.parametrize(
    "args",
    [
        ["uncertainty", "--alternative", "india-official-split=1.2"],
        ["uncertainty", "--alternative", "india-baseline=0.5"],
        ["voi", "unit", "--alternative", "nonsense"],
        ["sensitivity", "unit_npv", "--alternative", "a=0.7", "--alternative", "b=0.6"],
    ],
)
def test_bad_alternative_options_give_one_line(args):
    res = run_cli(args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --alternative:"), res.stderr


def test_an_unknown_alternative_is_named():
    res = run_cli(["uncertainty", "--samples", "4", "--alternative", "no-such-scenario=0.3"])
    assert res.returncode == 2 and "no-such-scenario" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_stored_pooled_run_says_which_scenarios_its_fan_is_over(tmp_path, monkeypatch):
    from repm import app as A
    from repm.reports.hangs.uncertainty import parameter_fan, read_spread
    from repm.results.store import load_run

    monkeypatch.setenv("REPM_HOME", str(tmp_path))
    done = A.uncertainty(
        A.UncertaintyRequest(samples=4, step="yearly", alternatives=("india-official-split=0.25",))
    )
    spread = read_spread(load_run(done.run_id))
    assert spread.alternatives == (("india-baseline", 0.75), ("india-official-split", 0.25))
    label = "4 samples over india-baseline 75% / india-official-split 25%"
    assert spread.samples_label() == label
    assert label in parameter_fan(spread, None).layout.title.text


def test_stratified_draws_hold_the_weights_to_within_one_sample():
    u = structure_uniforms(0, np.arange(16))
    v = stratified(u)
    assert sorted(v.tolist()) == [(k + 0.5) / 16 for k in range(16)]
    assert np.array_equal(np.argsort(v), np.argsort(u))  # the same order: which ones, by the seed
    alts = Alternatives.of("a", [("b", 0.3)])
    for n in (4, 10, 16, 33):
        counts = np.bincount(alts.index(stratified(structure_uniforms(2, np.arange(n)))), minlength=2)
        assert abs(counts[1] - 0.3 * n) <= 1, (n, counts)


def test_the_chance_level_of_a_share_is_what_shuffled_labels_read():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 20)
    strong = np.where(labels == 1, 3.0, 0.0) + rng.normal(size=40)
    noise = rng.normal(size=40)
    y = np.column_stack([strong, noise])
    share, floor = variance_share(y, labels), variance_share_floor(y, labels, seed=1)
    assert share[0] > 0.5 > floor[0] and share[0] > floor[0]
    assert floor[1] > 0  # noise: its floor is what the estimator finds in it by chance
    # a null column tops its floor about one time in fifty
    tops = [
        float(variance_share(z, labels)) > float(variance_share_floor(z, labels, 100, seed=k))
        for k, z in enumerate(rng.normal(size=(60, 40)))
    ]
    assert sum(tops) <= 6


def test_pooled_runs_are_not_read_back_as_the_scenarios_own(tmp_path, monkeypatch):
    from repm import app as A
    from repm.reports.hangs.stored import stored_runs

    monkeypatch.setenv("REPM_HOME", str(tmp_path))
    own = A.uncertainty(A.UncertaintyRequest(samples=2, step="yearly"))
    A.uncertainty(
        A.UncertaintyRequest(samples=2, step="yearly", alternatives=("india-official-split=0.5",))
    )
    found = stored_runs("uncertainty", "india-baseline", own.loaded.hash)
    assert [s.run_id for s in found] == [own.run_id]


def test_morris_refuses_alternatives_and_voi_unit_names_the_alternative_without_units():
    res = run_cli(["sensitivity", "magnet_imports", "--year", "2030", "--method", "morris",
                   "--alternative", "india-official-split=0.5"])  # fmt: skip
    assert res.returncode == 2 and "expected --method sobol" in res.stderr, res.stderr
    res = run_cli(["voi", "unit", "--samples", "4", "--alternative", "india-no-scheme=0.5"])
    assert res.returncode == 2 and "india-no-scheme has no scheme units" in res.stderr, res.stderr
    res = run_cli(["sensitivity", "unit_npv", "--samples", "4", "--alternative",
                   "india-no-scheme=0.5"])  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: --alternative: india-no-scheme: "), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_pooled_run_without_one_unit_to_value_says_why():
    res = run_cli(["uncertainty", "--samples", "4", "--step", "yearly", "--alternative",
                   "india-no-scheme=0.3", "--json"])  # fmt: skip
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)
    assert p["unit_npv"] is None
    assert "india-no-scheme has no scheme units" in p["structure"]["unit_npv_missing"]


def test_versus_is_each_scenarios_own_run_on_the_same_draws_sample_by_sample():
    # `--versus`: every sample under both scenarios. The base's rows are its own `repm
    # uncertainty` rows bit for bit; each difference is the other scenario's own run minus the
    # base's, sample by sample, on the draws each would take alone (Philox by fact id)
    from repm.analyses.uncertainty.evaluate import headline
    from repm.app import UncertaintyRequest, uncertainty
    from repm.app.uncertainty import _stat_rows
    from repm.results.indicators import unit as unit_of

    kw = dict(scenario="india-baseline", samples=4, seed=2, step="yearly", store=False)
    paired = uncertainty(UncertaintyRequest(**kw, versus="india-official-split")).payload
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario import load_scenario

    ys = {}
    for name in ["india-baseline", "india-official-split"]:
        ev = Evaluator(load_scenario(name), headline()[0], step="yearly", workers=1,
                       names=tuple(headline()))  # fmt: skip
        single = Pooled([ev], Alternatives.of(name, ()))
        _, _, at = single.draw(2, 4)
        ys[name] = single.many(at)  # samples × names × years
    names = ev.names
    base = ys["india-baseline"]
    for i, name in enumerate(names):  # the base's own run (its Evaluator alone): its rows
        assert _stat_rows(name, unit_of(name), base[:, i], ev.years) == [
            r for r in paired["indicators"] if r["name"] == name]  # fmt: skip
    v = paired["versus"]
    assert v["scenario"] == "india-official-split"
    rows = {(r["name"], r["year"]): r for r in v["rows"]}
    d = ys["india-official-split"] - base
    for i, name in enumerate(names):
        for j, y in enumerate(ev.years):
            r = rows[(name, y)]
            assert r["p50"] == np.quantile(d[:, i, j], 0.5) and r["mean"] == d[:, i, j].mean()
            assert r["p_higher"] + r["p_lower"] <= 1.0
    # the government's split puts more of 2030's demand with the units' buyers: every sample's
    # domestic output is higher, by what the two runs give
    r = rows[("magnet_production_domestic", 2030)]
    assert r["p_higher"] == 1.0 and r["p05"] > 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--versus", "india-official-split", "--alternative", "india-no-scheme=0.5"],
         "expected one of them"),
        (["--versus", "india-baseline"], "expected another scenario"),
        (["--versus", "no-such-scenario"], "no-such-scenario"),
    ],
)
def test_bad_versus_gives_one_line(args, says):
    res = run_cli(["uncertainty", "--samples", "4", *args])
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], res.stderr


def test_versus_with_shocks_and_a_unit_is_the_other_scenarios_own_run():
    # with --draws and a unit in both: the other scenario's P50s are those of its own run, the
    # base's rows its own, and the progress reaches the CLI's total (samples × 2 with draws)
    from repm.app import UncertaintyRequest, uncertainty

    kw = dict(samples=4, seed=1, step="yearly", draws=5, store=False)
    ticks: list[float] = []
    paired = uncertainty(UncertaintyRequest(scenario="india-baseline", **kw,
                                            versus="india-buyer-incentive"), ticks.append).payload  # fmt: skip
    assert sum(ticks) == pytest.approx(4 * 2)
    base = uncertainty(UncertaintyRequest(scenario="india-baseline", **kw)).payload
    other = uncertainty(UncertaintyRequest(scenario="india-buyer-incentive", **kw)).payload
    assert paired["indicators"] == base["indicators"] and paired["inputs"] == base["inputs"]
    p50 = {(r["name"], r["year"]): r["value"] for r in other["indicators"] if r["stat"] == "p50"}
    rows = paired["versus"]["rows"]
    assert {r["name"] for r in rows} >= {"expected_unmet", "p_shortage", "self_sufficiency"}
    for r in rows:
        assert r["other_p50"] == p50[(r["name"], r["year"])], r
    u = paired["versus"]["unit_npv"]
    assert u["other_p50"] == other["unit_npv"]["p50"] and u["base_p50"] == base["unit_npv"]["p50"]
    assert u["p_positive_other"] == other["unit_npv"]["p_positive"]
