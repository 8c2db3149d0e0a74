"""The HTML report and compare: figures read the stored run faithfully, the file is self-contained,
provenance lists the facts behind the run, and bad input is one line."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
import yaml

from repm import app as A
from repm.model.facts import load_facts
from repm.reports import figures as F
from repm.reports.compare import compare_table, payload
from repm.reports.report import load_run, provenance_rows, render, write_report

YEAR = 2030


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report_home")


@pytest.fixture(scope="module")
def stored(home):
    """A baseline run, a run with fewer units and a plan, and a small risk run, in one store."""
    mp = pytest.MonkeyPatch()
    mp.setenv("REPM_HOME", str(home))
    plan = home / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "plan": {
                    "scenario": "india-baseline",
                    "capacity": {y: 100.0 * (y - 2023) for y in range(2024, 2036)},
                    "stockpile": {"magnet_uh": 50.0},
                }
            }  # fmt: skip
        )
    )
    base = A.run(A.RunRequest(step="yearly"))
    sets = ["supply.units.3.capacity=0", "supply.units.3.scheme=false"]
    fewer = A.run(A.RunRequest(sets=sets, step="yearly", plan_file=plan))
    risk = A.risk(A.RiskRequest(draws=60, seed=3, chunk=30))
    yield {"base": base, "plan": fewer, "risk": risk, "plan_file": plan}
    mp.undo()


@pytest.fixture
def in_store(home, monkeypatch):
    monkeypatch.setenv("REPM_HOME", str(home))
    return home


def test_sankey_links_carry_the_stored_flows(stored, in_store):
    run = load_run(stored["base"].run_id)
    fig = F.sankey(run, YEAR)
    s = fig.data[0]
    nodes = list(s.node.label)
    links = {
        (nodes[a], nodes[b], lab): v
        for a, b, lab, v in zip(
            s.link.source, s.link.target, s.link.label, s.link.value, strict=True
        )
    }
    # all thorium leaves cracking as residue: the link equals the run's thorium_residue indicator
    th = links[("cracking", "residue", "cracking_residue · Th")]
    assert th == pytest.approx(stored["base"].results.value("thorium_residue", YEAR), rel=1e-12)
    # and every link is one (flow, element) value of the stored dataset for that year
    with xr.open_dataset(run.path / "results.nc", engine="scipy") as ds:
        nd = float(ds["flows"].sel(year=YEAR, flow="embedded_imports", element="Nd").mean("draw"))
    assert links[("imports", "use", "embedded_imports · Nd")] == pytest.approx(nd, rel=1e-12)
    assert all(v > 0 for v in s.link.value)


def test_supply_and_ndpr_figures_plot_the_indicators(stored, in_store):
    run = load_run(stored["plan"].run_id)
    res = stored["plan"].results
    traces = {t.name: t for t in F.supply(run).data}
    assert list(traces["domestic"].y) == pytest.approx(
        [res.value("magnet_production_domestic", y) for y in range(2024, 2036)], rel=1e-12
    )
    assert list(traces["demand"].y) == pytest.approx(
        [res.value("magnet_demand", y) for y in range(2024, 2036)], rel=1e-12
    )
    ndpr = {t.name: t for t in F.ndpr(run).data}
    assert list(ndpr["domestic separation output (IREL)"].y) == pytest.approx(
        [res.value("ndpr_oxide_domestic", y) for y in range(2024, 2036)], rel=1e-12
    )
    origins = {t.name: t for t in F.imports_by_origin(run).data}
    assert list(origins["China"].y) == pytest.approx(
        [res.value("magnet_imports", y, origin="China") for y in range(2024, 2036)], rel=1e-12
    )


def test_basket_figure_stacks_every_destination_up_to_the_reo_mined(stored, in_store):
    """Monazite's basket: NdPr, co-products sold and held, chloride exported and held, and the
    losses of separation and cracking add up, year by year, to the REO mined."""
    run = load_run(stored["base"].run_id)
    res = stored["base"].results
    traces = {t.name: t for t in F.basket(run).data}
    years = range(2024, 2036)
    bars = [t for n, t in traces.items() if n != "REO mined"]
    stacked = [sum(float(t.y[i]) for t in bars) for i in range(len(years))]
    mined = [res.value("reo_mined", y) for y in years]
    assert list(traces["REO mined"].y) == pytest.approx(mined, rel=1e-12)
    assert stacked == pytest.approx(mined, rel=1e-9)
    assert list(traces["mixed chloride exported"].y) == pytest.approx(
        [res.value("chloride_exports", y) for y in years], rel=1e-12
    )
    assert traces["mixed chloride exported"].y[-1] == 0.0  # none after the 2025 suspension


def test_plan_run_stores_its_plan_and_the_report_draws_it(stored, in_store):
    run = load_run(stored["plan"].run_id)
    assert (run.path / "plan.yaml").read_text() == stored["plan_file"].read_text()
    fig = F.plan_capacity(run)
    assert list(fig.data[0].y) == [100.0 * (y - 2023) for y in range(2024, 2036)]
    assert "magnet_uh 50 t" in fig.layout.title.text
    # the simulated capacity is the plan's, not the scenario's units
    assert stored["plan"].results.value("magnet_capacity", 2030) == pytest.approx(700.0)
    assert F.plan_capacity(load_run(stored["base"].run_id)) is None  # no plan: no plan chart
    # the plan's 50 t of Dy/Tb-grade magnets are held all along (no shocks draw on them)
    held = {t.name: list(t.y) for t in F.stockpile(run).data}
    assert set(held) == {"magnet_uh"} and held["magnet_uh"] == pytest.approx([50.0] * 12)
    assert F.stockpile(load_run(stored["base"].run_id)) is None  # nothing held: no chart


def test_risk_fan_is_the_stored_quantiles(stored, in_store):
    run = load_run(stored["risk"].run_id)
    fig = F.risk_fan(run)
    by_name = {t.name: t for t in fig.data if t.name}
    q = run.data["unmet_quantiles"]
    assert list(by_name["median"].y) == pytest.approx(list(q.sel(quantile=0.5).values))
    assert list(by_name["5–95th percentile"].y) == pytest.approx(list(q.sel(quantile=0.05).values))
    assert F.sankey(run, YEAR) is None and F.supply(run) is None  # a risk run stores no flows
    html = render(run)
    assert "Supply risk: unmet demand fan" in html and "Not in this risk run" in html


def test_environment_renders_any_env_indicator_by_unit():
    """A new env_* indicator in a new unit shows up without a code change."""
    rows = [
        {"year": y, "name": n, "value": v * (y - 2023), "unit": u, "sector": None, "origin": None, "material": None}
        for y in (2024, 2025)
        for n, v, u in (("env_brand_new", 2.0, "kg Hg"), ("thorium_residue", 5.0, "t"), ("magnet_demand", 9.0, "t"))
    ]  # fmt: skip
    run = F.RunData("r", Path("."), {}, pd.DataFrame(rows), xr.Dataset(), {}, None)
    fig = F.environment(run)
    names = {t.name: t for t in fig.data}
    assert set(names) == {"env_brand_new", "thorium_residue"}  # magnet_demand is not environmental
    assert list(names["env_brand_new"].y) == [2.0, 4.0]
    units = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert units == ["t", "kg Hg"]  # thorium's unit first, then the others
    assert names["thorium_residue"].visible and not names["env_brand_new"].visible


def test_finance_figures_show_npv_and_the_outlay_cap():
    rows = [{"year": y, "name": "scheme_outlay", "value": 100.0, "unit": "crore INR", "unit_id": None}
            for y in (2027, 2028, 2029)]  # fmt: skip
    meta = {"draws": 1, "units": [{"unit_id": "L1", "npv": -50.0, "unit": "crore INR"},
                                  {"unit_id": "L2", "npv": 20.0, "unit": "crore INR"}],
            "outlay_check": {"total": 300.0, "outlay_cap": 7280.0}}  # fmt: skip
    run = F.RunData("r", Path("."), meta, pd.DataFrame(rows), xr.Dataset(), {}, None)
    npv = F.unit_npv(run).data[0]
    assert list(npv.x) == ["L1", "L2"] and list(npv.y) == [-50.0, 20.0]
    out = F.scheme_outlay(run)
    assert list(out.data[1].y) == [100.0, 200.0, 300.0]  # cumulative
    assert out.layout.shapes[0].y0 == pytest.approx(7280.0)  # the cap line


def test_report_is_self_contained_and_lists_provenance(stored, in_store, tmp_path):
    run = load_run()  # newest: the risk run
    assert run.run_id == stored["risk"].run_id
    base = load_run(stored["base"].run_id)
    path = write_report(base, tmp_path / "r.html", YEAR)
    html = path.read_text()
    # plotly.js is inlined: no script is fetched (a CDN build would be <script src="https://...">)
    assert all("src=" not in t for t in re.findall(r"<script\b[^>]*>", html))
    assert html.count("Plotly.newPlot") >= 5
    for key in ("sankey", "supply", "origins", "ndpr", "environment"):
        assert f"id='{key}'" in html, key
    rows = provenance_rows(base.scenario_raw, load_facts())
    used = {r["fact"] for r in rows}
    raw_refs = {
        v.split(":", 1)[1].strip()
        for v in _leaves(base.scenario_raw)
        if isinstance(v, str) and v.startswith("fact:")
    }
    assert raw_refs <= used  # every fact the scenario references
    assert {"china_restriction_hazard", "aw_nd"} <= used  # via the risk preset and stoichiometry
    for fid in ("india_magnet_demand_2025", "aw_th"):
        assert f">{fid}<" in html
    facts = load_facts()
    derived = next(r for r in rows if r["depth"] == 0 and facts.get(r["fact"]).derived_from)
    parent = facts.get(derived["fact"]).derived_from[0]
    assert any(r["fact"] == parent and r["depth"] >= 1 for r in rows)  # lineage is listed


def _leaves(data):
    if isinstance(data, dict):
        for v in data.values():
            yield from _leaves(v)
    elif isinstance(data, list):
        for v in data:
            yield from _leaves(v)
    else:
        yield data


def test_compare_table_differences(stored, in_store):
    a, b = load_run(stored["base"].run_id), load_run(stored["plan"].run_id)
    year, table = compare_table([a, b], 2032)
    dom = table.loc[("magnet_production_domestic", "t")]
    ra, rb = stored["base"].results, stored["plan"].results
    assert dom[a.run_id] == pytest.approx(ra.value("magnet_production_domestic", 2032))
    assert dom[f"Δ {b.run_id}"] == pytest.approx(
        rb.value("magnet_production_domestic", 2032) - ra.value("magnet_production_domestic", 2032)
    )
    obj = payload([a, b], year, table)
    assert {"command", "scenario", "run_id", "indicators"} <= set(obj)
    d = next(x for x in obj["differences"] if x["name"] == "magnet_production_domestic")
    assert d["delta"] == pytest.approx(dom[f"Δ {b.run_id}"])


def _repm(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """Run the CLI's entry point in this process (a subprocess costs seconds of imports)."""
    from repm.cli import main

    monkeypatch.setattr(sys, "argv", ["repm", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_report_and_compare_cli(stored, in_store, tmp_path, capsys, monkeypatch):
    ids = [stored["base"].run_id, stored["plan"].run_id]
    # --sensitivity-samples 0: no sensitivity run is computed and stored (the newest run stays
    # the risk run)
    a_html = str(tmp_path / "a.html")
    args = ["report", ids[0], "--out", a_html, "--year", "2028", "--sensitivity-samples", "0"]
    code, out, err = _repm(args, capsys, monkeypatch)
    assert code == 0, err
    assert out.strip() == str((tmp_path / "a.html").resolve())
    assert "Element flows in 2028" in (tmp_path / "a.html").read_text()
    code, out, err = _repm(
        ["compare", *ids, "--json", "--html", str(tmp_path / "c.html")], capsys, monkeypatch
    )
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)["runs"]] == ids
    assert "Plotly.newPlot" in (tmp_path / "c.html").read_text()
    monkeypatch.chdir(tmp_path)
    code, out, err = _repm(["report", "--sensitivity-samples", "0"], capsys, monkeypatch)  # newest
    assert code == 0, err
    assert Path(out.strip()) == (tmp_path / f"report-{stored['risk'].run_id}.html").resolve()
    assert Path(out.strip()).is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["report", "RUN0", "--year", "1990"],
            "--year: 1990; expected a year in the run's horizon 2024–2035",
        ),
        (["report", "not-an-id"], "run id: 'not-an-id'; expected a run id like"),
        (["compare", "RUN0"], "expected two or more run ids"),
        (
            ["compare", "RUN0", "20990101T000000-00000000-0000"],
            "no run '20990101T000000-00000000-0000'",
        ),
        (
            ["compare", "RUN0", "RUN1", "--year", "2099"],
            "--year: 2099; expected a year all runs cover",
        ),
    ],
)
def test_report_and_compare_bad_input_is_one_line(
    stored, in_store, capsys, monkeypatch, args, message
):
    ids = {"RUN0": stored["base"].run_id, "RUN1": stored["risk"].run_id}
    args = [ids.get(a, a) for a in args]
    code, out, err = _repm(args, capsys, monkeypatch)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and out == ""


def test_report_with_no_runs_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REPM_HOME", str(tmp_path / "empty"))
    code, _, err = _repm(["report"], capsys, monkeypatch)
    assert code == 2 and "no runs yet" in err
    assert not (tmp_path / "empty").exists()  # nothing written, not even a store


def test_plan_command_stores_a_run_whose_report_draws_the_plan(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REPM_HOME", str(tmp_path / "home"))
    code, out, err = _repm(["plan", "--json"], capsys, monkeypatch)
    assert code == 0, err
    obj = json.loads(out)
    run = load_run(obj["run_id"])
    assert run.meta["command"] == "plan"
    cap = {int(y): v for y, v in obj["plan"]["capacity"].items()}
    assert {int(y): v for y, v in run.plan["capacity"].items()} == pytest.approx(cap)
    fig = F.plan_capacity(run)
    assert list(fig.data[0].y) == pytest.approx([cap[y] for y in sorted(cap)])
    assert "Plan" in render(run)


def test_a_sized_stockpiles_chart_says_what_it_is_worth():
    """The report's stockpile chart of a `repm stockpile` run carries its worth in the title:
    the break-even value of a kilogram short beside the scenario's; none where it avoids none."""
    from types import SimpleNamespace

    import xarray as xr

    ds = xr.Dataset({"stockpile_size": ("material", [61.9, 6.2])},
                    coords={"material": ["dy_oxide", "tb_oxide"]})  # fmt: skip
    worth = {"breakeven_penalty": 193_000.0, "unmet_penalty": 36_000.0}  # the baseline's
    title = F.stockpile(SimpleNamespace(data=ds, meta={"worth": worth})).layout.title.text
    assert "≥ ₹1.93 lakh" in title and "(valued at ₹36,000)" in title
    none = F.stockpile(SimpleNamespace(data=ds, meta={"worth": dict(worth, breakeven_penalty=None)}))
    assert "avoids no unmet demand" in none.layout.title.text
    assert F.stockpile(SimpleNamespace(data=ds, meta={})).layout.title.text.endswith("to hold")
