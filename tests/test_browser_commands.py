"""Browser test: the dashboard page runs stockpile, plan, sensitivity and voi and compares stored
runs (Debian's chromium through Playwright, as tests/test_browser.py; skipped where chromium is
missing)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_browser import ARTIFACTS, CHROMIUM, _watch, server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed")


def test_dashboard_runs_stockpile_and_plan_and_compares(browser, server):  # noqa: F811
    url, _home = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)

    page.check("input[name=kind][value=stockpile]")
    assert page.is_enabled("#service-level") and not page.is_enabled("#plan-scenarios")
    page.fill("#draws", "50")
    page.fill("#service-level", "0.9")
    assert "repm stockpile india-baseline --service-level 0.9 --draws 50" in page.text_content(
        "#sets"
    )
    page.click("#run")
    page.wait_for_selector("#fig-stockpile .main-svg", timeout=240_000)
    summary = page.text_content("#summary")
    assert "Stockpile:" in summary and "P(no shortage)" in summary

    page.check("input[name=kind][value=plan]")
    page.fill("#plan-scenarios", "0")
    assert "repm plan india-baseline --scenarios 0" in page.text_content("#sets")
    page.click("#run")
    page.wait_for_selector("#fig-plan .main-svg", timeout=240_000)
    assert "objective" in page.text_content("#summary")

    page.wait_for_function("document.querySelectorAll('#runs-table input[data-pick]').length === 2")
    assert page.is_disabled("#compare")
    for box in page.query_selector_all("#runs-table input[data-pick]"):
        box.check()
    page.click("#compare")
    page.wait_for_selector("#compare-table tr:nth-child(2)", timeout=60_000)
    header = page.text_content("#compare-table tr")
    assert "(stockpile)" in header and "(plan)" in header
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-commands.png"), full_page=True)
    assert errors == []
    page.close()


def test_dashboard_runs_sensitivity_and_draws_what_it_hangs_on(browser, server):  # noqa: F811
    url, _home = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    page.check("input[name=kind][value=sensitivity]")
    assert page.is_enabled("#sens-output") and not page.is_enabled("#plan-scenarios")
    page.select_option("#sens-output", "magnet_imports")
    page.fill("#sens-year", "2030")
    page.fill("#sens-samples", "2")
    page.fill("#sens-group", "demand")  # one factor: two evaluations
    assert (
        "repm sensitivity magnet_imports --year 2030 --samples 2 --seed 0 --step yearly "
        "--group demand --scenario india-baseline" in page.text_content("#sets")
    )
    page.click("#run")
    page.wait_for_selector("#fig-hangs_0 .main-svg", timeout=240_000)
    assert "magnet_imports 2030 hangs on: demand ST 1.00 ± 0.00" in page.text_content("#summary")
    assert page.text_content("#hangs-head") == "What this answer hangs on"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-hangs.png"), full_page=True)
    assert errors == []
    page.close()


def _x(page, fig: str, name: str) -> list:
    return page.evaluate(
        "([fig, name]) => { const t = document.getElementById(fig)._fullData.find((t) => t.name === name);"
        " return t.y.map((y, i) => [y, t.x[i]]); }",
        [fig, name],
    )


def _money(v: float) -> str:  # as the page and `repm voi` print crore INR
    return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"


def test_dashboard_runs_voi_and_draws_the_evppi_ranking(browser, server):  # noqa: F811
    url, _home = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    page.check("input[name=kind][value=voi]")
    assert page.is_enabled("#voi-decision") and not page.is_enabled("#plan-scenarios")
    # each decision shows its own options and its default samples as the hint
    assert page.get_attribute("#voi-samples", "placeholder") == "100"
    assert page.is_visible("#voi-unit") and not page.is_visible("#voi-draws")
    page.select_option("#voi-decision", "stockpile")
    assert page.get_attribute("#voi-samples", "placeholder") == "16"
    assert page.is_visible("#voi-draws") and not page.is_visible("#voi-unit")
    page.fill("#voi-draws", "50")
    assert "repm voi stockpile --draws 50 --seed 0 --scenario india-baseline" in page.text_content(
        "#sets"
    )
    page.select_option("#voi-decision", "plan")
    assert page.get_attribute("#voi-samples", "placeholder") == "40"
    assert page.is_visible("#voi-cvar") and not page.is_visible("#voi-draws")
    page.select_option("#voi-decision", "unit")
    page.fill("#voi-samples", "8")  # the stockpile's draws are not sent with unit
    assert "repm voi unit --samples 8 --seed 0 --scenario india-baseline" in page.text_content(
        "#sets"
    )
    page.click("#run")
    page.wait_for_selector("#fig-voi .main-svg", timeout=240_000)
    assert page.evaluate("document.getElementById('progress').value") == 1
    run_id = page.get_attribute("body", "data-shown-run")
    with urllib.request.urlopen(f"{url}/api/runs/{run_id}") as res:
        stored = json.load(res)
    meta = stored["meta"]
    assert stored["command"] == "voi" and meta["decision"] == "unit" and meta["samples"] == 8
    lo, hi = meta["evpi_interval"]
    summary = page.text_content("#summary")
    assert (
        f"EVPI {_money(meta['evpi'])} crore INR (90% bootstrap {_money(lo)}–{_money(hi)})"
        in summary
    )
    assert f"P(NPV > 0) {round(100 * meta['p_npv_positive'])}%" in summary
    assert f"from the central one in {meta['choice']['changed']} of 8 (" in page.text_content(
        "#voi-choice"
    )
    # the bars: the stored EVPPI rows worth ≥ 0.05 crore INR, the top 12, largest on top, each
    # beside its chance level (with 8 samples every row is a fact: the single-fact floor)
    evppi = sorted(
        (r["value"] for r in stored["indicators"] if r["name"] == "voi_evppi"), reverse=True
    )
    top = [v for v in evppi if v >= 0.05][:12]
    bars = _x(page, "fig-voi", "EVPPI")
    assert len(bars) == len(top) >= 1
    assert [x for _, x in reversed(bars)] == pytest.approx(top)
    chance = _x(page, "fig-voi", "chance level")
    assert [y for y, _ in chance] == [y for y, _ in bars]
    assert [x for _, x in chance] == pytest.approx([meta["noise_floor"]] * len(bars))
    flagged = {y.removeprefix("▶ ") for y, _ in bars if y.startswith("▶ ")}
    assert flagged == set(meta["research_next"]) & {y.removeprefix("▶ ") for y, _ in bars}
    assert page.locator("#fig-evppi_unit").count() == 0  # the run's ranking is drawn once
    # a flagged row and a group are marked as the CLI marks them (the page's own figure builder)
    fig = page.evaluate(
        """() => voiFigure({decision: "stockpile", unit: "crore INR", evppi: [
             {fact: "prices", kind: "group", facts: ["a", "b", "c"], value: 9, floor: 4, flag: true, grade: "80% C/assumption"},
             {fact: "demand_growth", kind: "fact", value: 3, floor: 2, flag: false, grade: "B"},
             {fact: "tiny", kind: "fact", value: 0.01, floor: 2, flag: false, grade: "C"}]})"""
    )
    evppi_trace = fig["data"][1]
    assert evppi_trace["y"] == ["demand_growth", "▶ prices (3 facts)"]
    assert evppi_trace["marker"]["color"] == ["#2ca02c", "#ff7f0e"]
    assert fig["data"][0]["x"] == [2, 4]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-voi.png"), full_page=True)
    assert errors == []
    page.close()
