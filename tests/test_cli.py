"""The `repm` command line, run as a user would: `python -m repm.cli ARGS`, in this interpreter
(conftest.run_cli) except where a fresh interpreter is the point."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import xarray as xr
import yaml
from conftest import run_cli

from repm.model import default_definition
from repm.model.facts import load_facts
from repm.results.store import list_runs

SECTORS = default_definition().sectors

YEARS = list(range(2024, 2036))
HEADLINE = (
    "magnet_demand", "magnet_production_domestic", "magnet_imports", "magnet_capacity",
    "unmet_demand", "self_sufficiency", "import_share_china", "ndpr_oxide_required",
    "ndpr_oxide_domestic", "monazite_processed", "thorium_residue", "mass_balance_residual",
)  # fmt: skip
DIMS = ("sector", "origin", "material", "unit_id", "grade", "element", "channel")


def _one_json_object(stdout: str) -> dict:
    obj, end = json.JSONDecoder().raw_decode(stdout)
    assert stdout[end:].strip() == "", "more than one JSON object on stdout"
    assert isinstance(obj, dict)
    return obj


def _totals(payload: dict) -> dict[tuple[str, int], float]:
    out: dict[tuple[str, int], float] = {}
    for row in payload["indicators"]:
        if not any(k in row for k in DIMS):
            key = (row["name"], row["year"])
            assert key not in out, f"duplicate total row {key}"
            out[key] = row["value"]
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The CLI runs several tests read, one after another in this interpreter."""
    base = tmp_path_factory.mktemp("cli")
    my = base / "my.yaml"
    my.write_text("extends: india-baseline\n")
    jobs = {
        "baseline": dict(args=["run", "--json"], home=base / "home-baseline"),
        "my": dict(
            args=["run", str(my), "--set", "demand.growth_after_anchors=0.08", "--json"],
            home=base / "home-my",
        ),
        "facts": dict(args=["facts"], home=base / "home-facts"),
        "conflicts": dict(args=["facts", "--conflicts"], home=base / "home-conflicts"),
        "explain": dict(args=["explain", "magnet_demand", "2030"], home=base / "home-explain"),
        "scenarios": dict(args=["scenarios"], home=base / "home-scenarios"),
        "validate": dict(args=["validate", str(my)], home=base / "home-validate"),
    }
    return {k: (run_cli(**job), job["home"]) for k, job in jobs.items()}


def test_run_json_prints_one_object_in_the_shared_shape(runs):
    res, _ = runs["baseline"]
    assert res.returncode == 0, res.stderr
    payload = _one_json_object(res.stdout)
    assert {"command", "scenario", "run_id", "indicators"} <= set(payload)
    assert payload["command"] == "run"
    assert payload["scenario"] == "india-baseline"
    for row in payload["indicators"]:
        assert {"year", "name", "value", "unit"} <= set(row)
        assert set(row) - {"year", "name", "value", "unit"} <= set(DIMS)


def test_run_json_has_every_headline_total_for_every_year(runs):
    payload = _one_json_object(runs["baseline"][0].stdout)
    totals = _totals(payload)
    missing = [(n, y) for n in HEADLINE for y in YEARS if (n, y) not in totals]
    assert missing == []
    assert totals[("magnet_demand", 2025)] == pytest.approx(4010, rel=1e-9)
    assert totals[("magnet_demand", 2030)] == pytest.approx(8220, rel=1e-9)
    assert max(totals[("mass_balance_residual", y)] for y in YEARS) < 1e-6


def test_run_json_has_magnet_demand_by_sector(runs):
    payload = _one_json_object(runs["baseline"][0].stdout)
    totals = _totals(payload)
    by_sector = {
        (r["sector"], r["year"]): r["value"]
        for r in payload["indicators"]
        if r["name"] == "magnet_demand" and "sector" in r
    }
    assert set(by_sector) == {(s, y) for s in SECTORS for y in YEARS}
    for y in YEARS:
        assert sum(by_sector[(s, y)] for s in SECTORS) == pytest.approx(
            totals[("magnet_demand", y)], rel=1e-9
        )


def test_run_writes_a_run_folder_and_a_catalog_row(runs, monkeypatch):
    res, home = runs["baseline"]
    run_id = _one_json_object(res.stdout)["run_id"]
    folder = home / "runs" / run_id
    for name in ("results.nc", "indicators.parquet", "scenario.yaml", "meta.json"):
        assert (folder / name).is_file(), name
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["run_id"] == run_id and meta["command"] == "run" and meta["step"] == "monthly"
    assert yaml.safe_load((folder / "scenario.yaml").read_text())["name"] == "india-baseline"
    n_rows = (
        duckdb.connect()
        .execute(f"SELECT count(*) FROM '{(folder / 'indicators.parquet').as_posix()}'")
        .fetchone()[0]
    )
    assert n_rows == len(_one_json_object(res.stdout)["indicators"])
    with xr.open_dataset(folder / "results.nc", engine="scipy") as ds:
        assert float(abs(ds["residual"]).max()) < 1e-6
    # no temporary folders left behind
    assert [p.name for p in (home / "runs").iterdir()] == [run_id]

    monkeypatch.setenv("REPM_HOME", str(home))
    rows = list_runs()
    assert [r["run_id"] for r in rows] == [run_id]
    assert rows[0]["command"] == "run" and rows[0]["scenario"] == "india-baseline"
    assert json.loads(rows[0]["headline"])["magnet_demand_2035"] == pytest.approx(
        8220 * 1.1**5, rel=1e-9
    )


def test_run_file_extending_baseline_with_set(runs):
    res, _ = runs["my"]
    assert res.returncode == 0, res.stderr
    payload = _one_json_object(res.stdout)
    assert payload["scenario"] == "my"
    totals = _totals(payload)
    assert totals[("magnet_demand", 2030)] == pytest.approx(8220, rel=1e-9)
    # 8,220 × 1.08 = 8,877.6 (the baseline's 10 %/yr would give 9,042)
    assert totals[("magnet_demand", 2031)] == pytest.approx(8220 * 1.08, rel=1e-9)
    assert totals[("magnet_demand", 2035)] == pytest.approx(8220 * 1.08**5, rel=1e-9)


def test_facts_lists_the_table(runs):
    res, home = runs["facts"]
    assert res.returncode == 0, res.stderr
    n = len(load_facts().facts)
    assert f"repm facts ({n} of {n})" in res.stdout
    assert "scheme_outlay" in res.stdout and "india_magnet_demand_2025" in res.stdout
    assert not home.exists()  # reading facts writes nothing


def test_facts_conflicts_shows_the_disagreements(runs):
    res, _ = runs["conflicts"]
    assert res.returncode == 0, res.stderr
    for text in ("7,350", "7,280", "53,748", "540", "7,000", "4,010", "conflict: scheme_outlay"):
        assert text in res.stdout, text


def test_explain_magnet_demand_2030(runs):
    res, _ = runs["explain"]
    assert res.returncode == 0, res.stderr
    assert "magnet_demand 2030 = 8,220" in res.stdout
    title = load_facts().sources["swarajya_2025_10_09"].title  # cited by india_magnet_demand_2030
    assert title in res.stdout
    assert "india_magnet_demand_2030" in res.stdout


def test_scenarios_lists_both_shipped(runs):
    res, _ = runs["scenarios"]
    assert res.returncode == 0, res.stderr
    assert "india-baseline" in res.stdout and "india-no-scheme" in res.stdout


def test_validate_good_file(runs):
    res, home = runs["validate"]
    assert res.returncode == 0, res.stderr
    assert "valid" in res.stdout
    assert res.stderr == ""
    assert not home.exists()  # validating writes nothing


def test_run_out_dir_is_the_run_folder(tmp_path, repm_home):
    out = tmp_path / "my-run"
    res = run_cli(["run", "india-no-scheme", "--step", "yearly", "--out", str(out)])
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} == {
        "results.nc",
        "indicators.parquet",
        "scenario.yaml",
        "meta.json",
    }
    assert json.loads((out / "meta.json").read_text())["step"] == "yearly"
    rows = list_runs()  # REPM_HOME from the autouse fixture, shared with the command
    assert len(rows) == 1 and Path(rows[0]["path"]) == out
    assert not (repm_home / "runs").exists()


@pytest.mark.parametrize(
    ("args", "status"),
    [(["run", "--no-such-option"], 2), (["facts", "--conflicts"], 0)],
    ids=["usage-error", "table"],
)
def test_a_fresh_interpreter_prints_what_run_cli_in_this_one_does(args, status, tmp_path):
    """run_cli runs the CLI in the test's interpreter; a real `python -m repm.cli` process gives the
    same exit status and the same text on stdout and stderr (a usage error names the program and
    exits 2; a table keeps its width when stdout is not a terminal)."""
    here = run_cli(args, home=tmp_path / "a")
    real = run_cli(args, home=tmp_path / "b", subprocess=True)
    assert real.returncode == status and (real.stdout or real.stderr)
    assert (here.returncode, here.stdout, here.stderr) == (
        real.returncode,
        real.stdout,
        real.stderr,
    )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
