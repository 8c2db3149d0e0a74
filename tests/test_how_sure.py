"""`repm finance`, `repm stockpile` and `repm plan` end with how sure their answer is, from the
scenario's stored `repm voi` and `repm sensitivity` runs (repm.reports.hangs.sure), or with what
to run when none is stored. The figures printed are the stored runs' own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from repm.reports.hangs import sure
from repm.reports.hangs.stored import Stored


def _line(out: str) -> str:
    (line,) = [ln for ln in out.splitlines() if ln.startswith("how sure:")]
    return line


def test_finance_says_what_to_run_then_the_stored_runs_figures(tmp_path):
    got = run_cli(["finance"])
    assert got.returncode == 0, got.stderr
    assert "`repm voi unit` gives P(NPV > 0) for L1" in _line(got.stdout)
    assert "`repm sensitivity unit_npv` ranks" in _line(got.stdout)

    voi = run_cli(["voi", "unit", "--samples", "6", "--json"])
    assert voi.returncode == 0, voi.stderr
    v = json.loads(voi.stdout)
    line = _line(run_cli(["finance"]).stdout)
    q = v["npv"]
    assert (
        f"over 6 samples of the facts' ranges L1's NPV is P50 {q['p50']:,.0f} "
        f"(P5 {q['p05']:,.0f} – P95 {q['p95']:,.0f}) crore INR, > 0 in "
        f"{v['p_npv_positive']:.0%} (run {v['run_id']})"
    ) in line
    # another capacity's finance has no stored answer for its first unit: not borrowed
    other = run_cli(["finance", "--unit", "700"])
    assert other.returncode == 0, other.stderr
    assert "gives P(NPV > 0)" in _line(other.stdout)


def _stored(meta: dict, same: bool = True) -> Stored:
    return Stored("RUN1", Path("/nonexistent"), meta, same)


def test_stockpile_and_plan_lines_match_their_decision_and_options(monkeypatch):
    q = {"p05": 20.0, "p50": 33.0, "p95": 49.0, "mean": 34.0, "n": 4}
    runs = [
        _stored({"decision": "stockpile", "service_level": 0.9, "samples": 4,
                 "stockpile_total": {**q, "p50": 999.0}, "evpi": 1.0, "choice": {"changed": 0}}),
        _stored({"decision": "stockpile", "service_level": 0.95, "samples": 4,
                 "stockpile_total": q, "evpi": 14.2, "choice": {"changed": 2}}, same=False),
        _stored({"decision": "plan", "scenarios": 0, "cvar": 0.0, "samples": 6,
                 "capacity_last_year": {**q, "p50": 1122.0}, "evpi": 16.6,
                 "choice": {"changed": 6}}),
    ]  # fmt: skip
    monkeypatch.setattr(sure, "stored_runs", lambda command, *a: runs if command == "voi" else [])
    line = sure.stockpile_line(0.95, "india-baseline", "h")
    assert "stockpile for 95% is P50 33 (P5 20 – P95 49) t in all" in line  # not the 0.9 run
    assert "in 2 of 4" in line and "14.2 crore INR" in line and "other settings" in line
    assert "P50 1,122" in sure.plan_line(0, 0.0, "india-baseline", "h")
    # a plan under shocks or with a CVaR weight is another decision: what to run instead
    assert "`repm voi plan --scenarios 20`" in sure.plan_line(20, 0.0, "india-baseline", "h")
    assert "`repm voi plan --cvar 0.5`" in sure.plan_line(0, 0.5, "india-baseline", "h")
    assert "`repm voi stockpile --service-level 0.99`" in sure.stockpile_line(
        0.99, "india-baseline", "h"
    )
    # a `--sizes` run: the best multiple of this stockpile, not a size per sample
    none, half = {"dy_oxide": 0.0}, {"dy_oxide": 30.0}
    runs.insert(0, _stored({"decision": "stockpile", "service_level": 0.95, "samples": 64,
                            "sizes": [0.0, 0.5], "stockpile_total": None, "evpi": 3.25,
                            "sized_central": {"dy_oxide": 60.0}, "draws": 800,
                            "choice": {"changed": 5, "options": [none, half],
                                       "multiples": [0.0, 0.5], "expected_best": half}}))  # fmt: skip
    line = sure.stockpile_line(0.95, "india-baseline", "h")
    assert ("of 0×, 0.5× the 60 t stockpile sized at central values over 800 draws the best in "
            "expectation is 0.5×") in line, line
    assert "in 5 of 64" in line and "3.2 crore INR" in line
    assert "turns on" not in line  # nothing above its chance level stored: nothing named
    # the rows worth more to know than chance, as the run stored them, name what it turns on
    runs[0].meta["above_chance"] = [
        {"fact": "risk", "value": 34.04, "floor": 21.8, "kind": "group"},
        {"fact": "working_stock_refill_months", "value": 12.2, "floor": 5.8, "kind": "fact"}]
    line = sure.stockpile_line(0.95, "india-baseline", "h")
    assert line.endswith("; it turns on risk (topic) (₹34.0 crore, chance 21.8), "
                         "working_stock_refill_months (₹12.2 crore, chance 5.8)"), line


@pytest.mark.parametrize("command", ["stockpile", "plan"])
def test_stockpile_and_plan_end_with_how_sure(command):
    args = [command] + (["--draws", "50"] if command == "stockpile" else [])
    got = run_cli(args)
    assert got.returncode == 0, got.stderr
    assert f"`repm voi {command}" in _line(got.stdout)


def test_risk_says_what_to_run_then_the_stored_runs_spread_and_drivers():
    got = run_cli(["risk", "--draws", "50"])
    assert got.returncode == 0, got.stderr
    line = _line(got.stdout)
    assert "`repm uncertainty --draws 1000`" in line and "alone and with the shocks" in line
    assert "`repm sensitivity expected_unmet --year 2030 --draws 100`" in line

    unc = run_cli(["uncertainty", "--samples", "4", "--draws", "5", "--json"])
    assert unc.returncode == 0, unc.stderr
    u = json.loads(unc.stdout)
    q = {r["stat"]: r["value"] for r in u["indicators"]
         if r["name"] == "expected_unmet" and r["year"] == 2030}  # fmt: skip
    joint = {r["stat"]: r["value"] for r in u["indicators"]
             if r["name"] == "unmet_joint" and r["year"] == 2030}  # fmt: skip
    sens = run_cli(["sensitivity", "expected_unmet", "--year", "2030", "--draws", "5",
                    "--samples", "2", "--json"])  # fmt: skip
    assert sens.returncode == 0, sens.stderr
    top = json.loads(sens.stdout)["indices"][0]
    risk = run_cli(["risk", "--draws", "50", "--json"])
    here = [r["value"] for r in json.loads(risk.stdout)["indicators"]
            if r["name"] == "expected_unmet" and r["year"] == 2030 and r.get("sector") is None]  # fmt: skip
    line = _line(run_cli(["risk", "--draws", "50"]).stdout)
    assert (
        f"over 4 samples of the facts' ranges the expected unmet demand in 2030 is P50 "
        f"{q['p50']:,.1f} (P5 {q['p05']:,.1f} – P95 {q['p95']:,.1f}) t, against {here[0]:,.1f} t here"
    ) in line
    assert f"with the shocks too (5 draws a sample) its P95 is {joint['p95']:,.1f} t" in line
    assert f"in 2030 it hangs on {top['fact']} ST {top['ST']:.2f}" in line
