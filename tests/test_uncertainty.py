"""Input uncertainty and global sensitivity (issue 14 parts 1 and 3; docs/uncertainty.md).

Each test checks something that would be false if the code were wrong: Sobol indices against
their closed forms (Ishigami through the SALib wrapper; a linear toy through repm's own path of
ranges, lineage and draws), the grade rule by hand, a derived fact moving with its parent by
hand, bad `uncertainty:` input and bad options refused in one line, and a small end-to-end run
whose top driver is argued by hand."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from conftest import run_cli

from repm.analyses.uncertainty import (
    Inputs,
    Spread,
    check_lineage,
    fact_ranges,
    philox_uniforms,
    shipped_rule,
)
from repm.analyses.uncertainty.sensitivity import morris, sobol
from repm.model.facts import build_table, load_facts

# --- SALib wrapper against closed forms --------------------------------------------------------


def _ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    x = -math.pi + 2 * math.pi * X  # uniforms → [-π, π]
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def _ishigami_exact(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    p4, p8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + b * p4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * p8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_sobol_indices_of_ishigami_match_the_closed_form():
    res = sobol(_ishigami, ["x1", "x2", "x3"], 1024, seed=1)
    s1, st = _ishigami_exact()  # S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    by = {r["fact"]: r for r in res.factors}
    for i, name in enumerate(["x1", "x2", "x3"]):
        r = by[name]
        assert abs(r["S1"] - s1[i]) <= max(r["S1_conf"], 0.02), (name, r, s1[i])
        assert abs(r["ST"] - st[i]) <= max(r["ST_conf"], 0.02), (name, r, st[i])
    assert [r["fact"] for r in res.factors] == ["x1", "x2", "x3"]  # sorted by ST
    assert res.evaluations == 1024 * 5  # N (k + 2)


def test_sobol_confidence_intervals_follow_the_seed_only():
    """Seed 0 too: SALib seeds its bootstrap only for a truthy seed, so seed 0's intervals came
    from numpy's global state (another in every process) until repm derived a non-zero one."""
    runs = []
    for state in (1, 2):
        np.random.seed(state)  # what a process's global state happens to be
        res = sobol(_ishigami, ["x1", "x2", "x3"], 64, seed=0)
        runs.append([(r["S1_conf"], r["ST_conf"]) for r in res.factors])
    assert runs[0] == runs[1]
    other = sobol(_ishigami, ["x1", "x2", "x3"], 64, seed=1)
    assert [(r["S1_conf"], r["ST_conf"]) for r in other.factors] != runs[0]


def test_morris_ranks_a_linear_function_by_its_slopes():
    # y = 10 x1 + 1 x2 + 0 x3 on uniforms: elementary effects are exactly the slopes × Δ
    res = morris(lambda X: 10 * X[:, 0] + X[:, 1], ["x1", "x2", "x3"], 20, seed=0)
    by = {r["fact"]: r for r in res.factors}
    assert by["x1"]["mu_star"] == pytest.approx(10.0)
    assert by["x2"]["mu_star"] == pytest.approx(1.0)
    assert by["x3"]["mu_star"] == 0.0 and by["x1"]["sigma"] == pytest.approx(0.0, abs=1e-9)


def _toy_spreads() -> dict[str, Spread]:
    """a ~ U(0, 1), b ~ U(0, 2), c exact, d = 2·a by lineage (never drawn on its own)."""
    d = Spread("d", 1.0, 0.0, 2.0, "lineage", "lineage: 2 * a", "2 * a", ("a",))
    return {
        "a": Spread("a", 0.5, 0.0, 1.0, "uniform", "hand"),
        "b": Spread("b", 1.0, 0.0, 2.0, "uniform", "hand"),
        "c": Spread("c", 3.0, 3.0, 3.0, "exact", "hand"),
        "d": d,
    }


def test_sobol_through_repms_path_on_a_linear_toy_matches_the_closed_form():
    # y = d + 3 b + c with d = 2 a: Var = 4·(1/12) + 9·(4/12) = 40/12 → S_a = 0.1, S_b = 0.9
    inputs = Inputs.of(["b", "c", "d"], _toy_spreads())
    assert inputs.drawn == ("a", "b")  # d follows a; c is exact

    def model(X):
        v = inputs.values({fid: X[:, j] for j, fid in enumerate(inputs.drawn)}, X.shape[0])
        return v["d"] + 3 * v["b"] + v["c"]

    res = sobol(model, list(inputs.drawn), 1024, seed=3)
    by = {r["fact"]: r for r in res.factors}
    for name, exact in (("a", 0.1), ("b", 0.9)):
        assert abs(by[name]["S1"] - exact) <= max(by[name]["S1_conf"], 0.01)
        assert abs(by[name]["ST"] - exact) <= max(by[name]["ST_conf"], 0.01)
    assert not res.warnings  # 0.9 vs 0.1 at 1,024 samples: the order is established


def test_groups_add_up_and_overlapping_intervals_warn():
    # two identical factors cannot be ranked: the warning says so
    res = sobol(lambda X: X[:, 0] + X[:, 1], ["x1", "x2"], 64, seed=0)
    assert res.warnings and "too wide to rank" in res.warnings[0]
    # y = x1 + x2 + 2 x3: the group {x1, x2} has (1 + 1) / (1 + 1 + 4) of the variance
    g = sobol(
        lambda X: X[:, 0] + X[:, 1] + 2 * X[:, 2], ["x1", "x2", "x3"], 512, seed=0,
        groups=["g", "g", "h"],
    )  # fmt: skip
    by = {r["fact"]: r for r in g.factors}
    assert by["g"]["ST"] == pytest.approx(1 / 3, abs=max(by["g"]["ST_conf"], 0.02))
    assert by["h"]["ST"] == pytest.approx(2 / 3, abs=max(by["h"]["ST_conf"], 0.02))
    one = sobol(lambda X: X[:, 0] + X[:, 1], ["x1", "x2"], 8, groups=["g", "g"])
    assert one.factors == [{"fact": "g", "S1": 1.0, "S1_conf": 0.0, "ST": 1.0, "ST_conf": 0.0}]


# --- part 1: the rule, by hand -----------------------------------------------------------------

SOURCES = textwrap.dedent(
    """
    sources:
      - {id: s1, title: "A report", publisher: "Someone", date: "2025", kind: press}
    """
)


def _table(facts: str):
    return build_table([("00.yaml", SOURCES), ("t.yaml", "facts:\n" + textwrap.dedent(facts))])


def test_grade_rule_by_hand():
    t = _table(
        """\
        - {id: fa, value: 100, unit: t, sources: [s1], grade: A, note: n}
        - {id: fb, value: 100, unit: t, sources: [s1], grade: B, note: n}
        - {id: fc, value: 100, unit: t, sources: [s1], grade: C, note: n}
        - {id: fs, value: 100, unit: t, grade: assumption, note: n}
        - {id: fr, value: 100, low: 90, high: 130, unit: t, grade: assumption, note: n}
        - {id: ff, value: 0.9, unit: fraction, grade: assumption, note: n}
        - {id: fy, value: 2026, unit: year, grade: assumption, note: n}
        - {id: g1, value: 100, unit: t, sources: [s1], grade: A, note: n, conflict: g, baseline: true}
        - {id: g2, value: 140, unit: t, sources: [s1], grade: B, note: n, conflict: g}
        - {id: g3, value: 1000, unit: t, sources: [s1], grade: B, note: n, conflict: g}
        """
    )
    r = fact_ranges(t)
    ends = {k: (s.low, s.high) for k, s in r.items()}
    assert ends["fa"] == pytest.approx((95, 105))  # A ±5 %
    assert ends["fb"] == pytest.approx((85, 115))  # B ±15 %
    assert ends["fc"] == pytest.approx((70, 130))  # C ±30 %
    assert ends["fs"] == pytest.approx((50, 150))  # assumption ±50 %
    assert ends["fr"] == (90, 130)  # the sources' range, not the grade rule
    assert ends["ff"] == pytest.approx((0.45, 1.0))  # a fraction is clipped at 1
    assert r["fy"].dist == "exact" and not r["fy"].drawn  # a date
    # the conflict group widens A's ±5 % to take in 140 (same unit, within ×2), not 1,000
    assert ends["g1"] == pytest.approx((95, 140)) and "g2" in r["g1"].basis
    assert all(s.dist == "triangular" for k, s in r.items() if k not in ("fy",))


def test_shipped_rule_exact_facts_and_lineage_formulas_reproduce_their_values():
    r = fact_ranges()
    assert r["scheme_sli_cap_per_kg"].dist == "exact"  # a notified rule
    assert r["horizon_start"].dist == "exact"
    assert r["aw_nd"].dist == "exact"
    assert check_lineage() == []  # every formula gives its fact's value within 2 %
    assert set(shipped_rule().lineage) <= set(load_facts().facts)


def test_a_derived_fact_moves_with_its_parent_by_hand():
    t, r = load_facts(), fact_ranges()
    used = ["grade_n_ndpr_content", "e2w_magnet_kg"]
    inputs = Inputs.of(used, r)
    assert "grade_n_ndpr_content" not in inputs.drawn and "grade_n_tre_content" in inputs.drawn
    assert "e2w_motor_cost" in inputs.drawn and "e2w_magnet_kg" not in inputs.drawn
    # parents at their highest (u = 1): Nd+Pr = TRE − Dy − Tb, kg per e-2W = motor × share / price
    v = inputs.values(
        {"grade_n_tre_content": np.array([1.0]), "e2w_motor_cost": np.array([1.0])}, 1
    )
    tre_hi = r["grade_n_tre_content"].high  # 0.32 (the sources' 0.29–0.32)
    dy, tb = t.value("grade_n_dy_content"), t.value("grade_n_tb_content")
    ndpr = t.value("grade_n_ndpr_content")
    assert v["grade_n_ndpr_content"][0] == pytest.approx(
        ndpr * (tre_hi - dy - tb) / (0.305 - dy - tb)
    )
    assert v["grade_n_ndpr_content"][0] == pytest.approx(0.32)
    assert v["e2w_magnet_kg"][0] == pytest.approx(15_000 * 0.3 / 5_000)  # motor cost at ₹15,000
    # every parent at its central value: the derived facts' own values, exactly
    c = inputs.values({}, 1)
    assert c["grade_n_ndpr_content"][0] == ndpr and c["e2w_magnet_kg"][0] == t.value(
        "e2w_magnet_kg"
    )


def test_parameter_draws_depend_on_seed_draw_and_fact_only():
    a = philox_uniforms(["x", "y"], 7, np.arange(10))
    b = philox_uniforms(["y"], 7, np.arange(4, 10))  # other ids, other chunk
    assert np.array_equal(a["y"][4:], b["y"])
    assert not np.array_equal(a["x"], a["y"])
    assert np.all((a["x"] > 0) & (a["x"] < 1))
    assert not np.array_equal(a["x"], philox_uniforms(["x"], 8, np.arange(10))["x"])


# --- bad input ---------------------------------------------------------------------------------


def test_bad_uncertainty_block_is_refused_in_one_line_with_every_mistake(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        textwrap.dedent(
            """\
            extends: india-baseline
            uncertainty:
              no_such_fact: {low: 1, high: 2}
              magnet_conversion_cost_n: {low: 30, high: 20}
              finance_discount_rate: {rel: -0.5}
              fx_inr_per_usd: {low: "80 INR/USD"}
              capex_india_dae_1200t: {low: 1100, high: 1200}
              price_tb_oxide_cif_europe_benchmark_2025_07: {low: 2000, high: 4000, spread: 1}
            """
        )
    )
    res = run_cli(["validate", str(f)])
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    msg = res.stderr
    for part in (
        "no_such_fact: unknown fact id",
        "magnet_conversion_cost_n: low 30 > high 20",
        "finance_discount_rate.rel: -0.5; expected a relative half-width",
        "fx_inr_per_usd.high: missing",
        "capex_india_dae_1200t: 1100–1200 crore INR leaves out the value the model uses (1000)",
        "price_tb_oxide_cif_europe_benchmark_2025_07.spread: unknown key",
    ):
        assert part in msg, (part, msg)


def test_good_uncertainty_block_overrides_the_rule():
    from repm.scenario.load import load_scenario

    loaded = load_scenario(
        "india-baseline",
        ["uncertainty.fx_inr_per_usd.fixed=true", "uncertainty.magnet_conversion_cost_n.low=15 USD/kg",
         "uncertainty.magnet_conversion_cost_n.high=21", "uncertainty.capex_india_dae_1200t.rel=0.3",
         "uncertainty.capex_india_dae_1200t.dist=uniform"],
    )  # fmt: skip
    r = fact_ranges(overrides=loaded.scenario.uncertainty)
    assert r["fx_inr_per_usd"].dist == "exact"
    assert (r["magnet_conversion_cost_n"].low, r["magnet_conversion_cost_n"].high) == (15, 21)
    assert (r["capex_india_dae_1200t"].low, r["capex_india_dae_1200t"].high) == pytest.approx(
        (700, 1300)
    )
    assert r["capex_india_dae_1200t"].dist == "uniform"


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["sensitivity", "unit_npv", "--samples", "0"], "--samples"),
        (["sensitivity", "unit_npv", "--samples", "100"], "power of 2"),
        (["sensitivity", "no_such_output"], "unknown output"),
        (["sensitivity", "unit_npv", "--group", "prices,nope"], "unknown group 'nope'"),
        (["sensitivity", "magnet_imports"], "--year"),
        (["sensitivity", "unit_npv", "--method", "fast"], "--method"),
        (["uncertainty", "--samples", "-3"], "--samples"),
        (["uncertainty", "--draws", "-1"], "--draws"),
    ],
)
def test_bad_options_are_one_line_errors(args, where):
    res = run_cli(args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert where in res.stderr


# --- end to end --------------------------------------------------------------------------------


def test_sensitivity_of_unit_npv_end_to_end_top_driver_by_hand():
    """32 evaluations (8 base samples × (2 + 2)). By hand: the GBD conversion margin (US$15–26
    per kg) is revenue on the ~60 % of the unit's output that is GBD grade, a ~US$6.6/kg span;
    the other materials (US$1–3/kg) are a US$2/kg span on all of it — variance ~(6.6/2)² ≈ 11×,
    so the margin carries ~90 % of the NPV's variance (one at a time: ±113 vs ±43 crore INR)."""
    res = run_cli(
        ["sensitivity", "unit_npv", "--samples", "8", "--group",
         "magnet_conversion_cost_gbd,magnet_other_materials_cost", "--json"]
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)
    assert p["command"] == "sensitivity" and p["output"] == "unit_npv" and p["year"] is None
    assert p["method"] == "sobol" and p["samples"] == 8 and p["evaluations"] == 32
    top, second = p["indices"]
    assert top["fact"] == "magnet_conversion_cost_gbd"
    assert set(top) >= {"fact", "S1", "S1_conf", "ST", "ST_conf"}
    assert top["ST"] > 0.7 and second["ST"] < 0.3
    assert p["distribution"]["p05"] < -121.8 < p["distribution"]["p95"]  # brackets the baseline
    assert p["seconds_per_evaluation"] > 0


def test_uncertainty_with_shock_draws_adds_expected_unmet_by_hand():
    """`repm uncertainty --draws K` adds the expected unmet demand by year over K shock draws a
    sample: its P5/P50/P95/mean are those of each sample's E(unmet) computed on its own
    (`Evaluator`, the path `repm sensitivity expected_unmet` takes); 2025's restriction (history)
    is short in every sample, 2024 in none."""
    import numpy as np

    from repm import app as A
    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    n, k = 4, 3
    seen: list[float] = []
    done = A.uncertainty(
        A.UncertaintyRequest(scenario=loaded, samples=n, draws=k, step="yearly"), seen.append
    )
    assert sum(seen) == 2 * n  # the CLI's bar: samples × 2 with shock draws, NPVs counted in
    p = done.payload
    assert p["draws"] == k and "expected_unmet" in done.tables["names"]
    rows = {
        (r["year"], r["stat"]): r["value"] for r in p["indicators"] if r["name"] == "expected_unmet"
    }
    ev = Evaluator(loaded, "expected_unmet", step="yearly", draws=k, seed=0)
    u = philox_uniforms(ev.inputs.drawn, 0, np.arange(n))
    values = ev.inputs.values(u, n)
    moving = [f for f, v in values.items() if not np.all(v == ev.spreads[f].central)]
    each = ev.many([{f: float(values[f][d]) for f in moving} for d in range(n)])  # n × years
    years = ev.years
    for j, y in enumerate(years):
        assert rows[(y, "p50")] == float(np.quantile(each[:, j], 0.5))
        assert rows[(y, "p05")] == float(np.quantile(each[:, j], 0.05))
        assert rows[(y, "mean")] == float(each[:, j].mean())
    y25 = years.index(2025)
    assert each[:, y25].min() > 1.0  # the 2025 restriction, in every sample
    assert rows[(2024, "p95")] == 0.0  # nothing happened in 2024


def test_unmet_over_facts_and_shocks_together_by_hand():
    """`unmet_joint` pools every sample's shock draws: its rows are the percentiles of the unmet
    demand of each (sample, draw), each computed by a separate run (the sample's scenario, its
    own chain, the K shock draws `repm risk` samples); its mean is the mean of the samples'
    expected unmet demand, its P95 above theirs where the shocks spread it. Each sample's chance
    of a shortage (`p_shortage`) comes from the same draws."""
    import numpy as np

    from repm import app as A
    from repm.analyses.risk.draws import sector_unmet
    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.chain import compile_chain
    from repm.scenario import load_scenario
    from repm.simulate.engine import simulate
    from repm.simulate.shocks import sample

    loaded = load_scenario("india-baseline")
    n, k = 3, 8
    p = A.uncertainty(
        A.UncertaintyRequest(scenario=loaded, samples=n, draws=k, step="yearly", seed=5)
    ).payload
    rows = {(r["name"], r["year"], r["stat"]): r["value"] for r in p["indicators"]}
    ev = Evaluator(loaded, "expected_unmet", step="yearly", draws=k, seed=5)
    values = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 5, np.arange(n)), n)
    moving = [f for f, v in values.items() if not np.all(v == ev.spreads[f].central)]
    assert {"china_restriction_hazard", "april_2025_severity_low"} <= set(moving)  # presets' facts
    pooled = []
    for d in range(n):
        sc = ev.scenario_at({f: float(values[f][d]) for f in moving})
        future = next(e for e in sc.risk.events if e.name == "china_april_2025")
        assert future.hazard == float(values["china_restriction_hazard"][d])
        chain = compile_chain(sc)
        sim = simulate(chain, shocks=sample(sc.risk, chain, np.arange(k), 5), step="yearly")
        pooled.append(sector_unmet(sim.data).sum(axis=2))  # draw × year
    joint = np.concatenate(pooled)  # (sample, draw) × year
    assert joint.shape == (n * k, len(ev.years))
    for j, y in enumerate(ev.years):
        for stat, q in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
            assert rows[("unmet_joint", y, stat)] == float(np.quantile(joint[:, j], q)), (y, stat)
        assert rows[("unmet_joint", y, "mean")] == pytest.approx(
            rows[("expected_unmet", y, "mean")], rel=1e-12, abs=1e-12
        )
    # each sample's chance of a shortage over its draws (as `repm risk` counts one): its
    # percentiles over the samples, and its mean, the share of (sample, draw) pairs short
    from repm.analyses.risk.reduce import UNMET_EPS

    short = np.stack([(d > UNMET_EPS).mean(axis=0) for d in pooled])  # sample × year
    for j, y in enumerate(ev.years):
        for stat, q in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
            assert rows[("p_shortage", y, stat)] == float(np.quantile(short[:, j], q)), (y, stat)
        assert rows[("p_shortage", y, "mean")] == pytest.approx((joint[:, j] > UNMET_EPS).mean())
    assert max(rows[("p_shortage", y, "mean")] for y in ev.years) > 0
    spread = [
        y for y in ev.years if rows[("unmet_joint", y, "p95")] > rows[("expected_unmet", y, "p95")]
    ]
    assert spread  # the shocks widen the facts' fan in some year


def test_the_table_shows_each_indicator_a_row_over_evenly_spaced_years():
    """`repm uncertainty`'s table: an indicator a row (label and unit), at most five years
    (first and last among them, evenly spaced), each cell P50 over (P5–P95) as --json gives
    them; the caption says every year is in --json."""
    import json

    from repm.cli.uncertainty import shown_years

    assert shown_years(list(range(2024, 2036))) == [2024, 2027, 2030, 2032, 2035]
    assert shown_years([2024, 2025, 2026]) == [2024, 2025, 2026]
    assert shown_years(list(range(2000, 2101)), 3) == [2000, 2050, 2100]
    args = ["uncertainty", "--samples", "4", "--step", "yearly", "--workers", "1"]
    text = run_cli(args).stdout
    p = json.loads(run_cli([*args, "--json"]).stdout)
    rows = {(r["name"], r["year"], r["stat"]): r["value"] for r in p["indicators"]}
    assert "Demand [t]" in text and "China content [fraction]" in text
    assert "5 of 12 years; --json: every year" in text
    line = next(ln for ln in text.splitlines() if "Demand [t]" in ln)
    cells = [c.strip() for c in line.strip("│ ").split("│")][1:]
    assert cells == [
        f"{rows[('magnet_demand', y, 'p50')]:,.0f}" for y in (2024, 2027, 2030, 2032, 2035)
    ]
    below = text.splitlines()[text.splitlines().index(line) + 1]
    assert (
        f"({rows[('magnet_demand', 2035, 'p05')]:,.0f}–{rows[('magnet_demand', 2035, 'p95')]:,.0f})"
        in below
    )


def test_pooled_unmet_demand_that_would_not_fit_is_refused_before_any_work(monkeypatch):
    """`--draws` keeps samples × draws × years of unmet demand for its percentiles: a run
    whose pool would not fit the memory available is a one-line error naming --draws, before
    anything is evaluated."""
    from repm import app as A
    from repm import limits
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.errors import UserError

    evaluated: list[int] = []
    monkeypatch.setattr(Evaluator, "many", lambda self, at, *a: evaluated.append(len(at)))
    monkeypatch.setattr(limits, "available_memory", lambda: 10 * 2**20)  # 10 MiB free
    with pytest.raises(UserError, match=r"64 samples × 2,000 shock draws × 12 years") as exc:
        A.uncertainty(A.UncertaintyRequest(samples=64, draws=2000, step="yearly"))
    assert exc.value.where == "--draws" and "expected fewer --samples or --draws" in str(exc.value)
    assert evaluated == []
    # 2 × 64 × 2,000 × 12 × 8 bytes ≈ 23 MiB: enough memory, no refusal
    monkeypatch.setattr(limits, "available_memory", lambda: 40 * 2**20)
    limits.check_pooled(64, 2000, 12)


def test_the_sectors_own_working_stocks_are_in_the_risk_group():
    # the default grouping (`repm sensitivity` without --group): named groups in order, first
    # match wins; the per-sector stocks must land in `risk`, not in `demand` (wind_*) or `other`
    from types import SimpleNamespace

    from repm.app.uncertainty import factors

    table, rule = load_facts(), shipped_rule()
    stocks = [
        "working_stock_months",
        "ev_car_working_stock_months",
        "wind_working_stock_months",
        "industrial_working_stock_months",
    ]
    ev = SimpleNamespace(
        inputs=Inputs.of(stocks, fact_ranges(table, None, rule)), table=table, rule=rule
    )
    _, _, members = factors(ev, SimpleNamespace(groups=None, by_fact=False))
    assert members == {"risk": sorted(stocks)}
