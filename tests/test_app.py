"""The application layer (repm.app): requests are checked when made, every command stores a run,
the CLI only renders what a command returned (in-process, through typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repm import app as A
from repm.cli import app as cli_app
from repm.errors import UserError
from repm.results.store import list_runs, load_run


def cli(argv: list[str]):
    res = CliRunner().invoke(cli_app, argv, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: A.RunRequest(step="daily"), "--step: 'daily'; expected one of: monthly, yearly"),
        (lambda: A.RiskRequest(draws=0), "--draws: 0; expected at least 1 draw"),
        (lambda: A.RiskRequest(seed=-1), "--seed: -1; expected an integer seed from 0 to 2^63 − 1"),
        (lambda: A.RiskRequest(chunk=0), "--chunk: 0; expected at least 1 draw per chunk"),
        (lambda: A.StockpileRequest(service_level=0), "--service-level: 0; expected a probability"),
        (lambda: A.PlanRequest(scenarios=-2), "--scenarios: -2; expected 0"),
        (lambda: A.PlanRequest(cvar=-1.0), "--cvar: -1.0; expected a weight ≥ 0"),
        (lambda: A.PlanRequest(cvar_alpha=1.0), "--cvar-alpha: 1.0; expected a level"),
        (
            lambda: A.PlanRequest(save_plan=Path("/no/such/dir/p.yaml")),
            "--save-plan: '/no/such/dir/p.yaml'",
        ),
        (
            lambda: A.FinanceRequest(breakeven="npv"),
            "--breakeven: 'npv'; expected one of: sli, price",
        ),
        (lambda: A.FinanceRequest(currency="EUR"), "--currency: 'EUR'; expected one of: INR, USD"),
        (lambda: A.FinanceRequest(montecarlo=-1), "--montecarlo: -1; expected 0 or more draws"),
        (lambda: A.CompareRequest(run_ids=["x"]), "compare: 1 run given; expected two or more"),
        (
            lambda: A.RunRequest(sets={"a": float("nan")}),
            "overrides.a: nan; expected a finite number",
        ),
    ],
)
def test_requests_are_checked_when_made(make, message):
    with pytest.raises(UserError) as exc:
        make()
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_requests_hold_overrides_as_set_strings():
    req = A.RunRequest(sets={"supply.units.0.capacity": 800, "scheme.enabled": False, "x": None})
    assert req.sets == ("supply.units.0.capacity=800", "scheme.enabled=false", "x=null")
    assert A.RunRequest(sets=["a=1"]).sets == ("a=1",)


def test_every_command_stores_a_run(repm_home, tmp_path):
    """run, risk, stockpile, plan and finance each leave a run in the catalog; --out is the
    folder for every one of them."""
    outs = {c: tmp_path / c for c in ("run", "risk", "stockpile", "plan", "finance")}
    argv = {
        "run": ["run", "--step", "yearly"],
        "risk": ["risk", "--draws", "40"],
        "stockpile": ["stockpile", "--draws", "40"],
        "plan": ["plan"],
        "finance": ["finance"],
    }
    ids = {}
    for command, args in argv.items():
        obj = json.loads(cli([*args, "--json", "--out", str(outs[command])]).stdout)
        assert obj["command"] == command and isinstance(obj["run_id"], str)
        ids[command] = obj["run_id"]
        meta = json.loads((outs[command] / "meta.json").read_text())
        assert meta["run_id"] == obj["run_id"] and meta["command"] == command
    listed = {r["run_id"]: r["command"] for r in list_runs()}
    assert listed == {v: k for k, v in ids.items()}
    assert load_run(ids["finance"]).meta["units"]  # the figures' unit table is stored


def test_out_that_exists_is_refused_before_any_work(repm_home, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    for argv in (["stockpile", "--draws", "10"], ["plan"], ["finance"]):
        res = CliRunner().invoke(cli_app, [*argv, "--out", str(taken)])
        assert isinstance(res.exception, UserError) and "--out" in str(res.exception)
    assert not (repm_home / "runs").exists() and list(taken.iterdir()) == []


def test_stockpile_message_reads_the_horizon_from_the_scenario(repm_home):
    res = cli(["stockpile", "--draws", "40", "--set", "horizon.start=2025"])
    # from the horizon's first year after the risk model's as-of date (2025-12): 2026
    assert "P(no shortage 2026–2035)" in res.stdout
    assert "run " in res.stdout.splitlines()[-1]  # where it was stored


def test_outcome_carries_payload_results_and_tables(repm_home):
    done = A.plan(A.PlanRequest())
    assert done.command == "plan" and done.payload["run_id"] == done.run_id
    assert done.tables["plan"].objective == done.payload["objective"]
    assert set(done.results.indicators["name"]) == {
        "magnet_capacity", "capacity_added", "expected_unmet", "capacity_value",
    }  # fmt: skip
    stored = load_run(done.run_id)
    assert stored.plan["capacity"] == {
        int(k): v for k, v in done.payload["plan"]["capacity"].items()
    }


def test_a_stockpile_that_avoids_nothing_is_worth_strict_json():
    """`repm stockpile --json`'s `worth`: where the stockpile avoids no unmet demand its
    break-even value of a kilogram short is infinite, written as null (JSON has no infinity)."""
    import json

    from repm.analyses.risk.stockpile import StockpileResult
    from repm.app.commands import _worth
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    res = StockpileResult(0.95, 0.5, {"dy_oxide": 5.0}, 1.0, False, "", holding_pv=6.0,
                          unmet_avoided=0.0, unmet_penalty=6e4)  # fmt: skip
    w = _worth(res, loaded)
    assert w["breakeven_penalty"] is None and w["pays"] is False
    json.dumps(w, allow_nan=False)  # raises on inf or nan
    held = StockpileResult(0.95, 0.5, {"dy_oxide": 5.0}, 1.0, False, "", holding_pv=6.0,
                           unmet_avoided=2.0, breakeven_penalty=30_000.0, unmet_penalty=6e4)  # fmt: skip
    assert _worth(held, loaded)["breakeven_penalty"] == 30_000.0 and _worth(held, loaded)["pays"]
    none = StockpileResult(0.95, 0.5, {"dy_oxide": 0.0}, 0.0, True, "")
    assert _worth(none, loaded) is None
