"""Browser test: the dashboard page runs stockpile, plan, sensitivity (its form offering every
output, step and method of `repm sensitivity`; a Morris answer drawn), uncertainty (unmet demand's
parameter fan on the shock fan's axis; tests/test_hangs_unmet.py checks it beside a risk run's)
and voi and compares stored runs (Debian's chromium through Playwright, as tests/test_browser.py;
skipped where chromium is missing)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from test_browser import ARTIFACTS, CHROMIUM, _watch, server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed")


def _open(browser, url: str, height: int = 1000):
    """The dashboard in a new page, ready; with the list its console errors collect in."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    errors = _watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    return page, errors


def test_dashboard_runs_stockpile_and_plan_and_compares(browser, server):  # noqa: F811
    url, _home = server
    page, errors = _open(browser, url)

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
    assert "Worth it?" in summary and "lakh" in summary  # 90 % is not attainable: one is held
    assert "the scenario values it at ₹36,000:" in summary  # below a lakh, in full

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
    page, errors = _open(browser, url)
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
    page, errors = _open(browser, url)
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
    page.fill("#voi-sizes", "0,0.5,1")  # the options as multiples: sent as the CLI's --sizes
    assert "repm voi stockpile --draws 50 --sizes 0,0.5,1 --seed 0" in page.text_content("#sets")
    page.fill("#voi-sizes", "")
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


def _get(url: str) -> dict:
    with urllib.request.urlopen(url) as res:
        return json.load(res)


def _drawn(page, fig: str, name: str) -> dict:
    """A drawn trace's points and axis, as plotly holds them (arrays decoded)."""
    return page.evaluate(
        "([fig, name]) => { const t = document.getElementById(fig)._fullData.find((t) => t.name === name);"
        " return t && {x: Array.from(t.x), y: Array.from(t.y), yaxis: t.yaxis, xaxis: t.xaxis}; }",
        [fig, name],
    )


def test_the_form_offers_every_output_and_draws_morris_and_unmet_demands_fan(browser, server):  # noqa: F811
    url, _home = server
    page, errors = _open(browser, url, height=1100)
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
    bars = _drawn(page, "fig-hangs_0", "mu*")
    assert dict(zip(bars["y"], bars["x"], strict=True)) == pytest.approx(mu)
    assert _drawn(page, "fig-hangs_0", "ST (total order)") is None
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

    def stored(stat, name="expected_unmet"):
        got = [r for r in unc["indicators"] if r["name"] == name and r.get("stat") == stat]
        return [r["value"] for r in sorted(got, key=lambda r: r["year"])]

    facts = _drawn(page, "fig-unmet", "P5–P95 over the facts' ranges")
    median = _drawn(page, "fig-unmet", "P50 over the facts' ranges")
    assert facts["y"] == pytest.approx(stored("p05"))
    assert median["y"] == pytest.approx(stored("p50"))
    assert {facts["yaxis"], median["yaxis"]} == {"y"}
    both = _drawn(page, "fig-unmet", "P95 over samples × draws")  # facts and shocks at once
    assert both["y"] == pytest.approx(stored("p95", "unmet_joint"))
    said = re.search(r"facts and shocks together: P95 ([\d,]+) t", page.text_content("#unc-joint"))
    assert float(said.group(1).replace(",", "")) == round(max(stored("p95", "unmet_joint")))
    assert "what we don't know about the facts" in page.text_content("#fig-unmet .legend")
    assert "No risk run is stored for the shock fan" in page.text_content("#fig-unmet")

    # another scenario weighed with it: the CLI line, the body, the answer's note
    shown = page.get_attribute("body", "data-shown-run")
    page.uncheck("#unc-shocks")
    page.select_option("#sens-step", "yearly")
    page.select_option("#alt-scenario", "india-official-split")
    page.fill("#alt-weight", "0.5")
    assert "--alternative india-official-split=0.5" in page.text_content("#sets")
    page.click("#run")
    page.wait_for_function(
        "(id) => document.body.dataset.shownRun && document.body.dataset.shownRun !== id",
        arg=shown, timeout=240_000,
    )  # fmt: skip
    pooled = _get(f"{url}/api/runs/{page.get_attribute('body', 'data-shown-run')}")
    names = [a["name"] for a in pooled["meta"]["alternatives"]]
    assert names == ["india-baseline", "india-official-split"]
    note = page.text_content("#unc-structure")
    assert "Scenario drawn per sample: india-baseline 50% (1 sample)" in note
    assert "the choice explains" in note  # up to …, or nothing above its chance level
    # … or run on the same samples and compared (`--versus`), not weighed
    shown = page.get_attribute("body", "data-shown-run")
    page.check("#alt-versus")
    assert "--versus india-official-split" in page.text_content("#sets")
    assert "--alternative" not in page.text_content("#sets")
    page.click("#run")
    page.wait_for_function(
        "(id) => document.body.dataset.shownRun && document.body.dataset.shownRun !== id",
        arg=shown, timeout=240_000,
    )  # fmt: skip
    paired = _get(f"{url}/api/runs/{page.get_attribute('body', 'data-shown-run')}")
    assert paired["meta"]["versus"]["scenario"] == "india-official-split"
    assert "india-official-split − india-baseline on the same samples" in page.text_content(
        "#unc-versus")  # fmt: skip
    page.uncheck("#alt-versus")
    page.select_option("#alt-scenario", "")  # back to none: nothing weighed
    assert "--alternative" not in page.text_content("#sets")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-morris-unmet.png"), full_page=True)
    assert errors == []
    page.close()
