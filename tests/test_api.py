"""The Python API (`import repm`): fast to import, and the same numbers as the CLI's --json."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

import repm
from repm.cli import app
from repm.errors import UserError


def cli_json(argv: list[str]) -> dict:
    res = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def records(df: pd.DataFrame) -> list[dict]:
    """An indicator table as the --json rows: dimension keys only where set."""
    out = []
    for row in df.to_dict("records"):
        rec = {"year": int(row["year"]), "name": row["name"], "value": float(row["value"]),
               "unit": row["unit"]}  # fmt: skip
        rec |= {k: v for k, v in row.items() if k not in rec and isinstance(v, str)}
        out.append(rec)
    return out


def without_run_id(obj: dict) -> dict:
    """The object as --json prints it (integer keys become strings), without the run id."""
    return {k: v for k, v in json.loads(json.dumps(obj, default=float)).items() if k != "run_id"}


def test_import_repm_is_light():
    code = "import sys, repm; print(sorted(m for m in ('numpy', 'xarray', 'pandas', 'typer') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_indicators_are_the_cli_json(repm_home):
    r = repm.run("india-baseline", step="yearly")
    cli = cli_json(["run", "--step", "yearly", "--json"])
    assert records(r.indicators) == cli["indicators"]
    assert without_run_id(r.payload) == without_run_id(cli)
    # the calibration anchors and the dataset behind the table
    assert r.value("magnet_demand", 2030) == pytest.approx(8220.0, rel=1e-12)
    assert r.totals().loc[2025, "magnet_demand"] == pytest.approx(4010.0, rel=1e-12)
    assert list(r.dataset["year"].values) == list(range(2024, 2036))
    assert r.run_id is not None and (r.path / "meta.json").is_file()
    stored = repm.open_run(r.run_id)
    assert records(stored.indicators) == cli["indicators"]


def test_overrides_reach_the_engine_and_store_false_writes_nothing(repm_home):
    r = repm.run(overrides={"supply.units.0.capacity": 800}, step="yearly", store=False)
    assert r.run_id is None and r.path is None
    assert r.value("magnet_capacity_nameplate", 2035) == pytest.approx(4 * 1200 + 800 + 3)
    assert not (repm_home / "runs").exists()
    loaded = repm.load("india-baseline", ["supply.units.0.capacity=800"])
    again = repm.run(loaded, step="yearly", store=False)
    assert records(again.indicators) == records(r.indicators)


def test_risk_is_the_cli_json(repm_home):
    r = repm.risk(draws=80, seed=4, chunk=40)
    cli = cli_json(["risk", "--draws", "80", "--seed", "4", "--json"])
    assert without_run_id(r.payload) == without_run_id(cli)
    assert records(r.indicators) == cli["indicators"]
    q = r.dataset["unmet_quantiles"]
    assert q.sizes == {"quantile": 5, "year": 12}
    assert (q.diff("quantile") >= 0).all()


def test_stockpile_stores_a_run_with_the_sized_stockpile(repm_home):
    r = repm.stockpile(draws=60, seed=2)
    cli = cli_json(["stockpile", "--draws", "60", "--seed", "2", "--json"])
    assert isinstance(cli["run_id"], str) and cli["run_id"] != r.run_id
    assert without_run_id(r.payload) == without_run_id(cli)
    sized = {s["material"]: s["value"] for s in cli["stockpile"]}
    stored = repm.open_run(r.run_id)
    assert stored.command == "stockpile"
    assert {
        str(m): float(v) for m, v in stored.dataset["stockpile_size"].to_series().items()
    } == sized
    assert stored.details["meta"]["achieved"] == r.payload["achieved"]
    # the baseline's finished magnets serve half their grade: 95 % is out of reach, and it says so
    assert (r.payload["achieved"] >= 0.95) == r.payload["attainable"]


def test_plan_and_finance_are_the_cli_json(repm_home, tmp_path):
    p = repm.plan(save_plan=tmp_path / "plan.yaml")
    cli = cli_json(["plan", "--json"])
    assert without_run_id(p.payload) == without_run_id(cli)
    assert records(p.indicators) == cli["indicators"]
    cap = p.dataset["magnet_capacity"].to_series()
    assert {int(y): float(v) for y, v in cap.items()} == {
        int(y): v for y, v in cli["plan"]["capacity"].items()
    }
    # the saved plan runs: its capacity is what the run sees
    run = repm.run(plan=tmp_path / "plan.yaml", step="yearly", store=False)
    assert run.value("magnet_demand", 2030) == pytest.approx(8220.0, rel=1e-12)

    f = repm.finance()
    cli = cli_json(["finance", "--json"])
    assert without_run_id(f.payload) == without_run_id(cli)
    assert records(f.indicators) == cli["indicators"]
    assert [u["npv"] for u in f.payload["units"]] == [u["npv"] for u in cli["units"]]
    # the cash flows as labelled arrays: year × unit, as in the indicator rows
    net = f.dataset["unit_net"]
    assert net.dims == ("year", "unit_id") and net.attrs["unit"] == "crore INR"
    row = next(r for r in cli["indicators"] if r["name"] == "unit_net" and r["unit_id"] == "L1")
    assert float(net.sel(year=row["year"], unit_id="L1")) == row["value"]


def test_explain_is_the_cli_text():
    lines = repm.explain("magnet_demand", 2030).lines
    res = CliRunner().invoke(app, ["explain", "magnet_demand", "2030"], catch_exceptions=False)
    assert lines[0].startswith("magnet_demand 2030 = 8,220 t")
    assert res.stdout.splitlines()[: len(lines)] == lines


def test_the_api_names_are_the_commands_even_after_the_modules_load(repm_home):
    from repm import api
    from repm.analyses import finance as F
    from repm.analyses.risk import run_draws

    assert callable(run_draws) and callable(F.unit_specs)
    for name in ("risk", "plan", "finance", "explain", "compare", "report"):
        assert getattr(repm, name) is getattr(api, name)
    assert {"run", "risk", "stockpile", "plan", "finance", "explain", "load"} <= set(dir(repm))


def test_mistakes_are_one_line_user_errors_and_nothing_is_written(repm_home, tmp_path):
    with pytest.raises(UserError, match=r"^--step: 'weekly'; expected one of: monthly, yearly$"):
        repm.run(step="weekly")
    with pytest.raises(UserError, match=r"^--draws: 0; expected at least 1 draw$"):
        repm.risk(draws=0)
    with pytest.raises(UserError, match="--service-level: 1.5; expected a probability"):
        repm.stockpile(service_level=1.5)
    with pytest.raises(UserError, match="supply.unitz: unknown key"):
        repm.run(overrides={"supply.unitz.0.capacity": 800})
    (tmp_path / "taken").mkdir()
    with pytest.raises(UserError, match="--out: .* already exists"):
        repm.finance(out=tmp_path / "taken")
    assert not (repm_home / "runs").exists()


def test_compare_and_report_read_stored_runs(repm_home, tmp_path):
    a = repm.run(step="yearly")
    b = repm.run(overrides={"supply.units.0.capacity": 600}, step="yearly")
    done = repm.compare(a.run_id, b.run_id, year=2035)
    cli = cli_json(["compare", a.run_id, b.run_id, "--year", "2035", "--json"])
    assert done.payload == cli
    assert done.table.loc[("magnet_capacity_nameplate", "t/yr"), f"Δ {b.run_id}"] == -600.0
    path = repm.report(b.run_id, tmp_path / "b.html")
    assert path.read_text(encoding="utf-8").count("Appendix: provenance") >= 1
