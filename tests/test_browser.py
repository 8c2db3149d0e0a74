"""Browser tests: Debian's chromium driven by Playwright. The dashboard, served by `repm serve` on a
free port: change a lever, run, and the chart changes; the HTML report renders with no console
errors. Screenshots are saved under tests/artifacts/ (git-ignored). CI installs chromium
(.ci/run); elsewhere these tests skip when it is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (`apt-get install chromium`; .ci/run does)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`repm serve` in its own process, with its own run store."""
    home = tmp_path_factory.mktemp("serve_home")
    port = _free_port()
    env = dict(os.environ, REPM_HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "repm.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/api/runs", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"repm serve exited: {proc.stdout.read()}") from None
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError("repm serve did not answer within 120 s")
    yield url, home
    proc.terminate()
    proc.wait(timeout=20)


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _trace(page, fig: str, name: str) -> list[float]:
    # _fullData holds decoded arrays (plotly JSON may ship them base64-encoded)
    return page.evaluate(
        "([fig, name]) => Array.from(document.getElementById(fig)._fullData.find(t => t.name === name).y)",
        [fig, name],
    )


def test_dashboard_lever_run_chart_changes(browser, server):
    url, home = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _watch(page)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    # an uploaded scenario is validated and its levers read; a broken one is a one-line error
    bad = ARTIFACTS.parent / "artifacts" / "broken.yaml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("extends: india-baseline\nsupply: {units: [{name: X}]}\n")
    page.set_input_files("#upload", str(bad))
    page.wait_for_selector("#status.error", timeout=30_000)
    assert "supply.units.0" in page.text_content("#status")
    assert errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    errors.clear()  # that 400 was the point; anything after it is not
    page.select_option("#scenario", "india-no-scheme")
    page.select_option("#scenario", "india-baseline")
    page.wait_for_function("document.getElementById('n-units').value === '5'", timeout=30_000)
    assert page.input_value("#n-units") == "5"  # the baseline's five scheme units

    page.click("#run")
    page.wait_for_selector("body[data-shown-run]", timeout=120_000)
    first = page.get_attribute("body", "data-shown-run")
    before = _trace(page, "fig-supply", "domestic")

    page.fill("#n-units", "2")  # build two scheme units, not five
    assert "--set supply.units.4.capacity=0" in page.text_content("#sets")
    page.click("#run")
    page.wait_for_function(
        "(id) => document.body.dataset.shownRun && document.body.dataset.shownRun !== id", arg=first,
        timeout=120_000,
    )  # fmt: skip
    after = _trace(page, "fig-supply", "domestic")
    assert len(after) == len(before) == 12
    assert after[-1] < before[-1] - 3000  # three fewer 1,200 t/yr units in 2035
    assert after[0] == pytest.approx(before[0])  # before any unit produces, nothing changes

    page.check("input[name=kind][value=risk]")
    page.fill("#draws", "150")
    page.fill("#hazard", "0.9")
    page.click("#run")
    page.wait_for_selector("#fig-risk .main-svg", timeout=120_000)
    assert page.evaluate("document.getElementById('progress').value") == 1
    assert "risk.events.0.hazard=0.9" in page.text_content("#sets")

    page.check("input[name=kind][value=finance]")
    page.fill("#sli-bid", "1500")  # the SLI bid lever moves the units' NPVs
    page.click("#run")
    page.wait_for_selector("#fig-npv .main-svg", timeout=120_000)
    assert "--set scheme.sli_bid=1500" in page.text_content("#sets")
    assert page.locator("#fig-outlay .main-svg").count() >= 1
    assert page.locator("#runs-table tr").count() == 5  # header + four runs in the store

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert errors == []
    page.close()


def test_report_renders_in_the_browser(browser, repm_home, tmp_path):
    from repm import app as A
    from repm.reports.report import load_run, write_report

    done = A.run(A.RunRequest(step="yearly"))
    path = write_report(load_run(done.run_id), tmp_path / "report.html", 2030)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors = _watch(page)
    page.goto(path.as_uri())
    n_divs = page.locator("section > div > div[id^='fig-']").count()
    assert n_divs >= 5
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_divs}", timeout=60_000
    )
    assert page.locator("#fig-sankey .sankey-link").count() > 20  # one link per flow × element
    assert page.locator("#fig-supply .trace.bars").count() >= 1
    assert page.locator("#provenance tr").count() > 50
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"))
    assert errors == []
    page.close()
