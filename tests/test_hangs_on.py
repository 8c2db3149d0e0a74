"""What an answer hangs on (issue 14 part 5), where people look: the report's section reads the
scenario's stored sensitivity, uncertainty and voi runs (and computes a small sensitivity run when
none is stored), `repm explain` ends with the stored drivers, and the dashboard's API offers the
sensitivity and uncertainty commands and draws the bars. Small samples: numbers are compared with
what the store holds, not judged."""

from __future__ import annotations

import html as H
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from conftest import run_cli
from fastapi.testclient import TestClient

from repm import app as A
from repm.app.commands import table_results
from repm.reports.hangs.section import figures, section_html
from repm.reports.hangs.sensitivity import explain_drivers
from repm.reports.hangs.stored import stored_runs
from repm.reports.report import render
from repm.results.store import RunData, load_run, write_run
from repm.web.app import create_app

YEAR = 2030


def _tiny(run, samples):
    """What `repm report` computes, made cheap: two groups, two base samples, yearly."""
    from repm.scenario.load import validate_merged

    loaded = validate_merged(dict(run.scenario_raw), "stored run")
    return A.SensitivityRequest(
        scenario=loaded, output="magnet_imports", year=YEAR, samples=samples,
        groups=("demand", "prices"), step="yearly",
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A baseline run; its report, which computes (and stores) the small sensitivity run; an
    uncertainty run; a voi run's rows as `repm voi` stores them."""
    home = tmp_path_factory.mktemp("hangs_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("REPM_HOME", str(home))
    mp.setattr("repm.reports.hangs.section.default_request", _tiny)
    base = A.run(A.RunRequest(step="yearly"))
    report = A.report(
        A.ReportRequest(run_id=base.run_id, out=home / "r.html", sensitivity_samples=2)
    )
    sens = stored_runs("sensitivity", "india-baseline", base.loaded.hash)
    unc = A.uncertainty(A.UncertaintyRequest(samples=2, step="yearly"))
    start = int(base.loaded.scenario.horizon.start)
    rows = [{"year": start, "name": "voi_evpi", "value": 120.0, "unit": "crore INR"}] + [
        {"year": start, "name": "voi_evppi", "value": v, "unit": "crore INR", "channel": f}
        for f, v in (("finance", 80.5), ("irel_oxide_price_ratio", 75.25), ("prices", 9.0))
    ]  # fmt: skip
    voi_id, _ = write_run(
        table_results(base.loaded, rows), command="voi", scenario_raw=base.loaded.raw,
        scenario_hash=base.loaded.hash,
        extra_meta={"decision": "unit", "samples": 100, "evpi": 120.0, "noise_floor": 5.0},
    )  # fmt: skip
    yield {"home": home, "base": base, "report": report, "sens": sens[0].run_id, "unc": unc,
           "voi": voi_id}  # fmt: skip
    mp.undo()


@pytest.fixture
def here(store, monkeypatch):
    monkeypatch.setenv("REPM_HOME", str(store["home"]))
    return store


def _stored_indices(run_id: str) -> dict[str, dict[str, float]]:
    """The stored rows, read straight from the run folder's table."""
    df = load_run(run_id).indicators
    out: dict[str, dict[str, float]] = {}
    for name, fact, v in zip(df["name"], df["channel"], df["value"], strict=True):
        out.setdefault(fact, {})[name.removeprefix("sensitivity_")] = v
    return out


def _drivers(stored: dict[str, dict[str, float]]) -> str:
    """The indices as the report and explain print them: ST to two decimals, largest first; a
    factor whose ST rounds to 0.00 counted, not named."""
    top = sorted(stored, key=lambda f: -stored[f]["ST"])
    named = [f for f in top if f"{stored[f]['ST']:.2f}" != "0.00"] or top[:1]
    text = ", ".join(f"{f} ST {stored[f]['ST']:.2f} ± {stored[f]['ST_conf']:.2f}" for f in named)
    rest = len(top) - len(named)
    return text + (f"; {rest} other factor ST 0.00" if rest == 1 else "")


def test_report_computes_a_small_sensitivity_run_when_none_is_stored_and_says_so(here):
    text = here["report"].read_text()
    run = load_run(here["sens"])
    assert run.meta["command"] == "sensitivity" and run.meta["output"] == "magnet_imports"
    section = text[text.index('<section id="hangs">') :]
    assert "computed for this report with a small default" in section
    assert f"stored as run {here['sens']}" in section
    # a second report finds it stored: nothing is computed again
    again = A.report(
        A.ReportRequest(
            run_id=here["base"].run_id, out=here["home"] / "r2.html", sensitivity_samples=2
        )
    )
    assert "computed for this report" not in again.read_text()
    assert f"from the stored sensitivity run {here['sens']}" in again.read_text()
    made = stored_runs("sensitivity", "india-baseline", None)
    assert [s.meta["year"] for s in made].count(YEAR) == 1


def test_report_section_shows_the_stored_numbers(here):
    run = load_run(here["base"].run_id)
    text = render(run)
    assert "What this answer hangs on" in text and 'id="fig-hangs_0"' in text
    stored = _stored_indices(here["sens"])
    line = _drivers(stored)
    assert H.escape(f"hangs on: {line} (run {here['sens']}, 2 samples)") in text
    figs = figures(run)
    st = {t.name: dict(zip(t.y, t.x, strict=True)) for t in figs["hangs_0"].data}
    assert st["ST (total order)"] == {f: stored[f]["ST"] for f in stored}
    assert st["S1 (first order)"] == {f: stored[f]["S1"] for f in stored}
    # the parameter fan is the uncertainty run's P5/P95, beside this run's own values
    df = here["unc"].results.indicators
    imports = df[df["name"] == "magnet_imports"]
    fan = {t.name: list(t.y) for t in figs["params"].data if t.visible}
    for stat, trace in (("p05", "P5–P95 over the facts' ranges"), ("p50", "P50")):
        want = imports[imports["stat"] == stat].sort_values("year")["value"].tolist()
        assert fan[trace] == want
    assert fan[f"this run ({run.run_id})"] == [
        here["base"].results.value("magnet_imports", y) for y in range(2024, 2036)
    ]
    # the EVPPI ranking, largest first, from the voi run's rows
    assert list(figs["evppi_unit"].data[0].y) == ["prices", "irel_oxide_price_ratio", "finance"]
    evppi = text[text.index("What is worth pinning down") :]
    assert "EVPI 120.0 crore INR" in evppi and here["voi"] in evppi
    assert evppi.index("finance") < evppi.index("irel_oxide_price_ratio") < evppi.index("prices")
    # a weak-grade fact above the chance level (5.0) is flagged as the research to do next
    flagged = (
        "irel_oxide_price_ratio</td><td class='l'>assumption</td><td>75.25</td><td class='l'>▶"
    )
    assert flagged in evppi


def test_an_uncertainty_runs_own_figures_are_its_fan_not_a_path(here):
    from repm.reports.figures import build_all

    run = load_run(here["unc"].run_id)
    figs = build_all(run, YEAR)
    assert figs["supply"] is None and figs["ndpr"] is None  # four stats a year are not a path
    assert "params" in figures(run)


def test_report_section_says_what_to_run_when_nothing_is_stored(here):
    run = RunData(
        "r", Path("."), {"scenario": "nothing-stored", "command": "run"},
        pd.DataFrame(columns=["name", "year", "value", "unit"]), xr.Dataset(), {}, None,
    )  # fmt: skip
    text = section_html(run, lambda fig, key: f"<div id='{key}'></div>")
    assert "run <code>repm voi unit</code> to rank what is worth pinning down" in text
    assert "No sensitivity run of nothing-stored is stored" in text
    assert "No <code>repm uncertainty</code> run" in text


def test_explain_ends_with_the_stored_drivers(here):
    res = run_cli(["explain", "magnet_imports", str(YEAR)], home=here["home"])
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1].strip()
    stored = _stored_indices(here["sens"])
    assert last == f"what it hangs on: {_drivers(stored)} (run {here['sens']}, 2 samples)"
    # no stored run for that year: how to make one
    line = explain_drivers("magnet_imports", 2031, "india-baseline", here["base"].loaded.hash)
    assert "no stored sensitivity run of magnet_imports 2031" in line


def test_dashboard_offers_sensitivity_and_uncertainty_and_draws_the_bars(here):
    with TestClient(create_app(), base_url="http://127.0.0.1:8050") as client:
        kinds = client.get("/openapi.json").json()["components"]["schemas"]["RunRequest"]
        assert {"sensitivity", "uncertainty"} <= set(kinds["properties"]["kind"]["enum"])
        bad = client.post("/api/run", json={"scenario": "india-baseline", "kind": "sensitivity",
                                            "samples": 3})  # fmt: skip
        assert bad.status_code == 400 and "expected a power of 2" in bad.json()["error"]
        body = {"scenario": "india-baseline", "kind": "sensitivity", "output": "magnet_imports",
                "year": 2031, "samples": 2, "group": "demand", "step": "yearly"}  # fmt: skip
        res = client.post("/api/run", json=body)
        assert res.status_code == 200, res.text
        api = res.json()
        assert api["command"] == "sensitivity" and api["year"] == 2031
        assert [r["fact"] for r in api["indices"]] == ["demand"]
        # the base run's figures carry the scenario's bars: 2030 (the report's) and 2031 (new)
        figs = client.get(f"/api/runs/{here['base'].run_id}/figures").json()
        bars = {figs[k]["layout"]["title"]["text"]: figs[k]["data"][0] for k in figs
                if k.startswith("hangs_")}  # fmt: skip
        assert any("magnet_imports 2030" in t for t in bars)
        new = bars["magnet_imports 2031 [t]: what it hangs on (sobol, 2 samples)"]
        assert new["x"] == [r["ST"] for r in api["indices"]]
        assert {"params", "evppi_unit"} <= set(figs)


@pytest.mark.parametrize("n", [-1, 1, 3, 2.5])
def test_report_sensitivity_samples_must_be_zero_or_a_power_of_2(n):
    from repm.errors import UserError

    with pytest.raises(
        UserError, match=r"^--sensitivity-samples: .*; expected 0 \(none\) or a power of 2"
    ):
        A.ReportRequest(sensitivity_samples=n)


def test_a_morris_run_is_drawn_where_no_sobol_run_answers(here, monkeypatch):
    """A stored Morris screening of another year is shown with its mu* bars (the stored
    numbers); a Morris run of the year a Sobol run already answers does not replace it."""
    base = here["base"]

    def morris(year):
        return A.sensitivity(
            A.SensitivityRequest(
                scenario=base.loaded, output="magnet_imports", year=year, method="morris",
                samples=2, groups=("demand", "prices"), step="yearly",
            )
        )  # fmt: skip

    screened = morris(YEAR - 2)
    morris(YEAR)  # the stored Sobol run of YEAR stays the answer for YEAR
    figs = figures(load_run(base.run_id))
    bars = {
        fig.layout.title.text.split(" [")[0]: {t.name: dict(zip(t.y, t.x, strict=True)) for t in fig.data}
        for key, fig in figs.items()
        if key.startswith("hangs_")
    }  # fmt: skip
    assert set(bars[f"magnet_imports {YEAR}"]) == {"ST (total order)", "S1 (first order)"}
    stored = _stored_indices(screened.run_id)
    assert bars[f"magnet_imports {YEAR - 2}"]["mu*"] == {f: stored[f]["mu_star"] for f in stored}
    text = render(load_run(base.run_id))
    assert f"from the stored sensitivity run {screened.run_id} (morris" in text
