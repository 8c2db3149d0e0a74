"""Unmet demand's two fans on one axis (issue 14 part 5, "where people look"): a stored `repm
uncertainty --draws N` run carries each sample's expected unmet demand over N shock draws; the
report and the dashboard draw its P5–P95 and P50 over the parameter samples on the same axis as
the risk run's shock fan, each band labelled. Without it, the shock fan's note says what to run.
Small samples: the drawn numbers are compared with what the store holds, not judged."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from repm import app as A
from repm.reports.hangs.section import figures, section_html
from repm.reports.hangs.uncertainty import read_spread, unmet_fans
from repm.reports.report import render
from repm.results.store import load_run
from repm.web.app import create_app

FACTS = "what we don't know about the facts:"
SHOCKS = "what the shocks do:"
BOTH = "both at once:"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A risk run, an uncertainty run without shock draws and then one with."""
    home = tmp_path_factory.mktemp("unmet_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("REPM_HOME", str(home))
    risk = A.risk(A.RiskRequest(draws=40, workers=1))
    plain = A.uncertainty(A.UncertaintyRequest(samples=2, step="yearly", workers=1))
    shocked = A.uncertainty(A.UncertaintyRequest(samples=3, step="monthly", draws=10, workers=1))
    yield {"home": home, "risk": risk, "plain": plain, "shocked": shocked}
    mp.undo()


@pytest.fixture
def here(store, monkeypatch):
    monkeypatch.setenv("REPM_HOME", str(store["home"]))
    return store


def _by_name(fig) -> dict:
    return {t.name: t for t in fig.data}


def _stored_band(outcome, stat: str, name: str = "expected_unmet") -> list[float]:
    df = outcome.results.indicators
    rows = df[(df["name"] == name) & (df["stat"] == stat)].sort_values("year")
    assert set(rows["unit"]) == {"t"}
    return rows["value"].tolist()


def test_unmet_demand_is_drawn_with_both_bands_on_one_axis(here):
    run = risk = load_run(here["risk"].run_id)  # its report: the latest uncertainty run's fans
    figs = figures(run)
    assert "unmet" in figs and "shocks" not in figs  # the shock fan is inside, not beside
    fig = figs["unmet"]
    t = _by_name(fig)
    shocked = here["shocked"]
    # what we don't know about the facts: the uncertainty run's P5, P50, P95 by year
    assert list(t["P5–P95 over the facts' ranges"].y) == _stored_band(shocked, "p05")
    assert list(t["facts P95"].y) == _stored_band(shocked, "p95")
    assert list(t["P50 over the facts' ranges"].y) == _stored_band(shocked, "p50")
    assert t["P5–P95 over the facts' ranges"].fill == "tonexty"
    # what the shocks do: the risk run's stored quantiles over its draws and their mean
    q = risk.data["unmet_quantiles"]
    assert list(t["5–95th percentile over the draws"].y) == list(q.sel(quantile=0.05).values)
    assert list(t["shocks 95th"].y) == list(q.sel(quantile=0.95).values)
    assert list(t["25–75th percentile over the draws"].y) == list(q.sel(quantile=0.25).values)
    assert list(t["median over the draws"].y) == list(q.sel(quantile=0.5).values)
    ind = here["risk"].results.indicators
    mean = ind[(ind["name"] == "expected_unmet") & ind["sector"].isna()].sort_values("year")
    assert list(t["mean over the draws"].y) == mean["value"].tolist()
    assert set(mean["unit"]) == {"t"}
    # one axis, in the units both runs store, each band labelled with what it is
    assert {tr.yaxis for tr in fig.data} <= {None, "y"} and "yaxis2" not in fig.layout
    assert fig.layout.yaxis.title.text == "t of magnets"
    titles = {tr.legendgrouptitle.text for tr in fig.data if tr.legendgrouptitle.text}
    assert titles == {FACTS, SHOCKS, BOTH}
    # both at once: the run's unmet demand over its samples × shock draws pooled
    assert list(t["P95 over samples × draws"].y) == _stored_band(shocked, "p95", "unmet_joint")
    assert list(t["P50 over samples × draws"].y) == _stored_band(shocked, "p50", "unmet_joint")
    assert t["P95 over samples × draws"].legendgroup == "both"
    # nor is its thorium residue drawn again as an "environment" chart of percentile lines
    assert figures(load_run(shocked.run_id)).get("environment") is None
    # the facts' own fan offers the facts' spread only: expected unmet demand, not the pool
    from repm.reports.hangs.uncertainty import parameter_fan

    fan = parameter_fan(read_spread(load_run(shocked.run_id)))
    offered = [b.label for b in fan.layout.updatemenus[0].buttons]
    assert "expected_unmet" in offered and "unmet_joint" not in offered
    assert not any(tr.name.startswith("unmet_joint") for tr in fan.data)
    assert t["P5–P95 over the facts' ranges"].legendgroup == "facts"
    assert t["5–95th percentile over the draws"].legendgroup == "shocks"
    note = fig.layout.title.subtitle.text
    assert "Its tail is 10 draws' tail: ≥ 1,000 shock draws a sample" in note  # undersampled
    assert f"uncertainty run {shocked.run_id}, 3 samples" in note and "10 shock draws" in note
    assert f"risk run {here['risk'].run_id}, 40 draws" in note
    assert "differ by the step" not in note  # both monthly
    # the report draws it, with the note saying which band is which
    text = render(run)
    assert 'id="fig-unmet"' in text and "id='unmet-note'" in text
    assert "the blue band is what we don't know about the facts" in text


def test_without_shock_draws_the_note_says_what_to_run(here):
    """An uncertainty run made without --draws: the shock fan alone, its note naming the
    command that adds unmet demand's parameter fan."""
    run = load_run(here["plain"].run_id)
    figs = figures(run)
    assert "unmet" not in figs and "shocks" in figs and "params" in figs
    note = figs["shocks"].layout.title.subtitle.text
    assert f"uncertainty run {here['plain'].run_id} was made without shock draws" in note
    assert "repm uncertainty india-baseline --draws 100" in note
    html = section_html(run, lambda fig, key: f"<div id='{key}'></div>")
    assert "<code>repm uncertainty india-baseline --draws 100</code>" in html
    assert "<div id='shocks'></div>" in html and "<div id='unmet'></div>" not in html
    assert read_spread(run).step == "yearly"
    # a yearly run beside the (monthly) shock fan says the step differs as well; without a risk
    # run the facts' fan is drawn alone and the note says so
    spread = read_spread(load_run(here["shocked"].run_id))
    yearly = unmet_fans(replace(spread, step="yearly"), load_run(here["risk"].run_id))
    assert "differ by the step too" in yearly.layout.title.subtitle.text
    alone = unmet_fans(spread, None)
    assert "No risk run is stored for the shock fan" in alone.layout.title.subtitle.text
    assert {tr.legendgroup for tr in alone.data} == {"facts", "both"}


def test_the_dashboard_draws_it_for_the_risk_run_too(here):
    """A risk run's own shock fan is drawn by its figures; the one-axis figure is kept beside
    it (only the plain duplicate is left out)."""
    with TestClient(create_app(), base_url="http://127.0.0.1:8050") as client:
        figs = client.get(f"/api/runs/{here['risk'].run_id}/figures").json()
        assert {"risk", "unmet"} <= set(figs) and "shocks" not in figs
        traces = {t["name"]: t for t in figs["unmet"]["data"]}
        assert "P50 over the facts' ranges" in traces and "median over the draws" in traces
        plain = client.get(f"/api/runs/{here['plain'].run_id}/figures").json()
        assert "shocks" in plain and "unmet" not in plain
