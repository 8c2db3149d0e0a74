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
