"""Browser test: the dashboard's "Facts' uncertainty" form offers every output, step and method of
`repm sensitivity` and draws a Morris answer; an uncertainty run with shock draws draws unmet
demand's parameter fan on the shock fan's axis (tests/test_hangs_unmet.py checks it beside a risk
run's fan). Debian's chromium through Playwright, as tests/test_browser.py; skipped where chromium
is missing."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_browser import ARTIFACTS, CHROMIUM, _watch, server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url) as res:
        return json.load(res)


def _trace(page, fig: str, name: str) -> dict:
    """A drawn trace's points and axis, as plotly holds them (arrays decoded)."""
    return page.evaluate(
        "([fig, name]) => { const t = document.getElementById(fig)._fullData.find((t) => t.name === name);"
        " return t && {x: Array.from(t.x), y: Array.from(t.y), yaxis: t.yaxis, xaxis: t.xaxis}; }",
        [fig, name],
    )


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors = _watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    return page, errors


def test_the_form_offers_every_output_and_draws_morris_and_unmet_demands_fan(browser, server):  # noqa: F811
    url, _home = server
    page, errors = _open(browser, url)
    page.check("input[name=kind][value=sensitivity]")
    offered = page.eval_on_selector_all("#sens-output option", "os => os.map((o) => o.value)")
    assert offered == [o["name"] for o in _get(f"{url}/api/sensitivity/outputs")["outputs"]]
    assert {"unit_npv", "magnet_imports", "expected_unmet", "cvar95_unmet"} <= set(offered)
    # unit_npv (the default): no year, and the yearly engine whatever the step
    assert page.input_value("#sens-output") == "unit_npv"
    assert page.is_disabled("#sens-year") and page.is_disabled("#sens-step")
    assert "repm sensitivity unit_npv --samples 8 --seed 0 --scenario" in page.text_content("#sets")
    # a risk output takes the Draws as its shock draws
    page.select_option("#sens-output", "cvar95_unmet")
    page.fill("#draws", "40")
    assert (
        "repm sensitivity cvar95_unmet --year 2030 --samples 8 --seed 0 --step yearly --draws 40"
        in page.text_content("#sets")
    )
    assert "40 shock draws each" in page.text_content("#sens-hint")
    page.select_option("#sens-output", "magnet_imports")
    page.select_option("#sens-method", "morris")
    page.select_option("#sens-step", "monthly")
    page.fill("#sens-samples", "2")
    page.fill("#sens-group", "demand,risk")
    assert (
        "repm sensitivity magnet_imports --year 2030 --method morris --samples 2 --seed 0 "
        "--step monthly --group demand,risk --scenario india-baseline"
    ) in page.text_content("#sets")
    hint = page.text_content("#sens-hint")
    assert "Morris: 2 trajectories" in hint and "2 factors, 6 evaluations" in hint
    page.click("#run")
    page.wait_for_selector("#fig-hangs_0 .main-svg", timeout=240_000)
    run_id = page.get_attribute("body", "data-shown-run")
    stored = _get(f"{url}/api/runs/{run_id}")
    assert stored["meta"]["method"] == "morris" and stored["meta"]["evaluations"] == 6
    mu = {
        r["channel"]: r["value"] for r in stored["indicators"] if r["name"] == "sensitivity_mu_star"
    }
    conf = {r["channel"]: r["value"] for r in stored["indicators"]
            if r["name"] == "sensitivity_mu_star_conf"}  # fmt: skip
    top = max(mu, key=mu.get)
    summary = page.text_content("#summary")
    sig = page.evaluate(
        "(v) => Number(v).toLocaleString('en-IN', {maximumSignificantDigits: 3})", mu[top]
    )
    assert f"magnet_imports 2030 hangs on: {top} mu* {sig} ± " in summary
    assert "morris, 6 evaluations" in summary and "Morris screening" in summary
    assert "ST" not in summary.split("Morris screening")[0]  # no Sobol index is made up
    bars = _trace(page, "fig-hangs_0", "mu*")
    assert dict(zip(bars["y"], bars["x"], strict=True)) == pytest.approx(mu)
    assert _trace(page, "fig-hangs_0", "ST (total order)") is None
    title = page.evaluate("document.getElementById('fig-hangs_0').layout.title.text")
    assert title == "magnet_imports 2030 [t]: what it hangs on (morris, 2 trajectories)"
    assert conf  # the half-widths are stored beside mu*

    # how uncertain, with unmet demand: its parameter fan on the shock fan's axis (no risk run of
    # this scenario is stored here, so the figure's note says what draws the shock fan)
    page.check("input[name=kind][value=uncertainty]")
    page.fill("#sens-samples", "2")
    assert page.is_enabled("#unc-shocks") and page.is_enabled("#sens-step")
    assert page.is_disabled("#sens-method") and page.is_disabled("#sens-output")
    assert "--draws" not in page.text_content("#sets")
    assert 'tick "unmet demand too"' in page.text_content("#sens-hint")
    page.check("#unc-shocks")
    assert (
        "repm uncertainty india-baseline --samples 2 --seed 0 --step monthly --draws 40"
        in page.text_content("#sets")
    )
    page.click("#run")
    page.wait_for_function(
        "(id) => document.body.dataset.shownRun && document.body.dataset.shownRun !== id",
        arg=run_id, timeout=240_000,
    )  # fmt: skip
    page.wait_for_selector("#fig-unmet .main-svg", timeout=60_000)
    unc = _get(f"{url}/api/runs/{page.get_attribute('body', 'data-shown-run')}")
    assert unc["meta"]["shock_draws"] == 40 and unc["meta"]["step"] == "monthly"

    def stored(stat):
        got = [
            r for r in unc["indicators"] if r["name"] == "expected_unmet" and r.get("stat") == stat
        ]
        return [r["value"] for r in sorted(got, key=lambda r: r["year"])]

    facts = _trace(page, "fig-unmet", "P5–P95 over the facts' ranges")
    median = _trace(page, "fig-unmet", "P50 over the facts' ranges")
    assert facts["y"] == pytest.approx(stored("p05"))
    assert median["y"] == pytest.approx(stored("p50"))
    assert {facts["yaxis"], median["yaxis"]} == {"y"}
    assert "what we don't know about the facts" in page.text_content("#fig-unmet .legend")
    assert "No risk run is stored for the shock fan" in page.text_content("#fig-unmet")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-morris-unmet.png"), full_page=True)
    assert errors == []
    page.close()
