"""Browser test: the dashboard page runs stockpile and plan and compares stored runs (Debian's
chromium through Playwright, as tests/test_browser.py; skipped where chromium is missing)."""

from __future__ import annotations

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
