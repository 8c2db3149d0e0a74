"""The dashboard's API offers every command: stockpile and plan answer what the CLI's --json
prints, POST /api/compare what `repm compare --json` prints; and the page runs them."""

from __future__ import annotations

import json
import time

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from repm.cli import app as cli_app
from repm.web.app import create_app


@pytest.fixture
def client(repm_home):
    with TestClient(create_app(), base_url="http://127.0.0.1:8050") as c:
        yield c


def cli_json(argv: list[str]) -> dict:
    res = CliRunner().invoke(cli_app, argv, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def same(api: dict, cli: dict) -> None:
    assert api["run_id"] != cli["run_id"] and isinstance(api["run_id"], str)
    assert {k: v for k, v in api.items() if k != "run_id"} == {
        k: v for k, v in cli.items() if k != "run_id"
    }


def test_stockpile_answers_the_cli_json_and_stores_a_run(client):
    body = {"scenario": "india-baseline", "kind": "stockpile", "draws": 60, "seed": 3,
            "service_level": 0.9, "wait": False}  # fmt: skip
    job = client.post("/api/run", json=body)
    assert job.status_code == 202 and job.json()["total"] == 0  # candidates × draws: no end known
    job_id = job.json()["job_id"]
    end = time.time() + 280
    while (view := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.time() < end
        time.sleep(0.2)
    assert view["status"] == "done", view.get("error")
    assert view["done"] >= 60  # at least one candidate's draws were counted
    api = view["result"]
    same(
        api,
        cli_json(["stockpile", "--draws", "60", "--seed", "3", "--service-level", "0.9", "--json"]),
    )
    assert (api["achieved"] >= 0.9) == api["attainable"]
    stored = client.get(f"/api/runs/{api['run_id']}").json()
    assert stored["command"] == "stockpile" and stored["meta"]["stockpile"] == {
        s["material"]: s["value"] for s in api["stockpile"]
    }
    figs = client.get(f"/api/runs/{api['run_id']}/figures").json()
    bars = figs["stockpile"]["data"][0]
    assert bars["x"] == [s["material"] for s in api["stockpile"]]


def test_plan_answers_the_cli_json_and_its_report_draws_the_plan(client):
    res = client.post("/api/run", json={"scenario": "india-baseline", "kind": "plan"})
    assert res.status_code == 200, res.text
    api = res.json()
    same(api, cli_json(["plan", "--json"]))
    figs = client.get(f"/api/runs/{api['run_id']}/figures").json()
    assert "plan" in figs
    # a stockpile chart only when the plan holds one
    assert ("stockpile" in figs) == any(v > 1e-9 for v in api["plan"]["stockpile"].values())
    cap = figs["plan"]["data"][0]
    assert cap["x"][-1] == 2035 and cap["y"][-1] == pytest.approx(api["plan"]["capacity"]["2035"])


def test_compare_answers_the_cli_json(client):
    a = client.post("/api/run", json={"scenario": "india-baseline", "step": "yearly"}).json()
    b = client.post(
        "/api/run",
        json={"scenario": "india-baseline", "step": "yearly",
              "overrides": {"supply.units.0.capacity": 600}},
    ).json()  # fmt: skip
    res = client.post("/api/compare", json={"run_ids": [a["run_id"], b["run_id"]], "year": 2035})
    assert res.status_code == 200, res.text
    cli = cli_json(["compare", a["run_id"], b["run_id"], "--year", "2035", "--json"])
    assert res.json() == cli
    delta = {d["name"]: d["delta"] for d in cli["differences"]}
    assert delta["magnet_capacity_nameplate"] == pytest.approx(-600.0)


@pytest.mark.parametrize(
    "body, status, message",
    [
        (
            {"run_ids": ["20990101T000000-00000000-0000"]},
            422,
            "run_ids: List should have at least 2",
        ),
        (
            {"run_ids": ["20990101T000000-00000000-0000", "20990101T000000-00000000-0001"]},
            404,
            "no run",
        ),
        ({"run_ids": ["../etc", "x"]}, 404, "expected a run id"),
        ({"run_ids": ["a", "b"], "colour": 1}, 422, "colour: Extra inputs are not permitted"),
    ],
)
def test_compare_bad_input_is_one_line(client, body, status, message):
    res = client.post("/api/compare", json=body)
    assert res.status_code == status, res.text
    assert message in res.json()["error"] and "\n" not in res.json()["error"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"kind": "stockpile", "service_level": 1.0}, "service_level: Input should be less than 1"),
        (
            {"kind": "plan", "scenarios": -1},
            "scenarios: Input should be greater than or equal to 0",
        ),
        ({"kind": "plan", "cvar": -0.5}, "cvar: Input should be greater than or equal to 0"),
    ],
)
def test_new_kinds_bad_options_are_422(client, repm_home, body, message):
    res = client.post("/api/run", json={"scenario": "india-baseline", **body})
    assert res.status_code == 422 and message in res.json()["error"], res.text
    assert not (repm_home / "runs").exists()


def test_finance_options_answer_the_cli_json(client):
    body = {"scenario": "india-baseline", "kind": "finance", "breakeven": "price",
            "currency": "USD", "unit": 800}  # fmt: skip
    res = client.post("/api/run", json=body)
    assert res.status_code == 200, res.text
    api = res.json()
    same(
        api,
        cli_json(
            ["finance", "--breakeven", "price", "--currency", "USD", "--unit", "800", "--json"]
        ),
    )
    assert api["currency"] == "USD" and [u["capacity"] for u in api["units"]] == [800]
    assert "breakeven_price" in api["units"][0]


TIMING = ("seconds", "seconds_per_sample")  # wall-clock time of the run: differs run to run


def _finished(client, job_id: str) -> dict:
    end = time.time() + 280
    while (view := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.time() < end
        time.sleep(0.2)
    assert view["status"] == "done", view.get("error")
    return view


def test_voi_answers_the_cli_json_and_counts_its_samples(client):
    body = {"scenario": "india-baseline", "kind": "voi", "decision": "unit", "samples": 8,
            "wait": False}  # fmt: skip
    job = client.post("/api/run", json=body)
    assert job.status_code == 202 and job.json()["total"] == 8  # one tick a sample
    view = _finished(client, job.json()["job_id"])
    assert view["done"] == view["total"] == 8
    api = view["result"]
    cli = cli_json(["voi", "unit", "--samples", "8", "--json"])
    assert all(isinstance(api[k], float) and isinstance(cli[k], float) for k in TIMING)
    same(
        {k: v for k, v in api.items() if k not in TIMING},
        {k: v for k, v in cli.items() if k not in TIMING},
    )
    assert api["command"] == "voi" and api["decision"] == "unit" and api["samples"] == 8
    assert api["evppi"] and 0 <= api["p_npv_positive"] <= 1
    stored = client.get(f"/api/runs/{api['run_id']}").json()
    assert stored["command"] == "voi" and stored["meta"]["evpi"] == api["evpi"]
    spec = client.get("/openapi.json").json()
    assert "voi" in spec["components"]["schemas"]["RunRequest"]["properties"]["kind"]["enum"]
    assert "/voi --json" in spec["paths"]["/api/run"]["post"]["summary"]
    assert "/voi --json" in spec["info"]["description"]


def test_uncertainty_with_an_alternative_answers_the_cli_json(client, repm_home):
    body = {"scenario": "india-baseline", "kind": "uncertainty", "samples": 6, "step": "yearly",
            "alternatives": {"india-official-split": 0.5}}  # fmt: skip
    api = client.post("/api/run", json=body).json()
    cli = cli_json(["uncertainty", "--samples", "6", "--step", "yearly", "--alternative",
                    "india-official-split=0.5", "--json"])  # fmt: skip
    timing = ("seconds", "seconds_per_evaluation")
    same(
        {k: v for k, v in api.items() if k not in timing},
        {k: v for k, v in cli.items() if k not in timing},
    )
    assert [s["name"] for s in api["structure"]["scenarios"]] == [
        "india-baseline", "india-official-split"]  # fmt: skip
    # only shipped scenarios (a path would read the server's files); nothing stored
    bad = dict(body, alternatives={"/etc/passwd": 0.5})
    res = client.post("/api/run", json=bad)
    assert res.status_code == 422 and "expected shipped scenario names" in res.json()["error"]


def test_uncertainty_versus_answers_the_cli_json(client, repm_home):
    body = {"scenario": "india-baseline", "kind": "uncertainty", "samples": 4, "step": "yearly",
            "versus": "india-no-scheme"}  # fmt: skip
    api = client.post("/api/run", json=body).json()
    cli = cli_json(["uncertainty", "--samples", "4", "--step", "yearly", "--versus",
                    "india-no-scheme", "--json"])  # fmt: skip
    timing = ("seconds", "seconds_per_evaluation")
    same(
        {k: v for k, v in api.items() if k not in timing},
        {k: v for k, v in cli.items() if k not in timing},
    )
    assert api["versus"]["scenario"] == "india-no-scheme"
    res = client.post("/api/run", json=dict(body, versus="/etc/passwd"))
    assert res.status_code == 422 and "expected a shipped scenario name" in res.json()["error"]


@pytest.mark.parametrize(
    "decision, options", [("stockpile", {"draws": 20}), ("plan", {"scenarios": 0})]
)
def test_voi_stockpile_and_plan_count_two_ticks_a_sample(client, decision, options):
    # as `repm voi`'s bar: each sample's choice, then every option valued in it
    body = {"scenario": "india-baseline", "kind": "voi", "decision": decision, "samples": 4,
            **options, "wait": False}  # fmt: skip
    job = client.post("/api/run", json=body)
    assert job.status_code == 202 and job.json()["total"] == 8, job.text
    view = _finished(client, job.json()["job_id"])
    assert view["done"] == view["total"] == 8 and view["progress"] == 1.0
    assert view["result"]["decision"] == decision and view["result"]["samples"] == 4
    assert {k: view["result"][k] for k in options} == options  # the option reached the decision
    # the stockpile's options are Monte Carlo means: its EVPI interval resamples the draws too
    shocks = "parameter samples" + (" and shock draws" if decision == "stockpile" else "")
    assert view["result"]["evpi_interval_resamples"] == shocks
    if decision == "stockpile":  # holding none is among the options, valued in every sample
        opts = view["result"]["choice"]["options"]
        assert any(all(v == 0.0 for v in o.values()) for o in opts)
        assert any(any(v > 0 for v in o.values()) for o in opts)  # … beside what was sized


def test_voi_stockpile_sizes_reach_the_decision(client):
    # `sizes` as `--sizes`: the options are those multiples of the central stockpile
    body = {"scenario": "india-baseline", "kind": "voi", "decision": "stockpile", "samples": 4,
            "draws": 20, "sizes": [0, 1], "wait": True}  # fmt: skip
    res = client.post("/api/run", json=body)
    assert res.status_code == 200, res.text
    p = res.json()
    assert p["sizes"] == [0.0, 1.0] and p["choice"]["multiples"] == [0.0, 1.0]
    assert all(v == 0.0 for v in p["choice"]["options"][0].values())
    assert p["choice"]["options"][1] == p["sized_central"]
    bad = client.post("/api/run", json={k: v for k, v in body.items() if k != "draws"}
                      | {"decision": "unit"})  # fmt: skip
    assert bad.status_code == 400 and "sizes: [0.0, 1.0] given for `voi unit`" in bad.text, bad.text


@pytest.mark.parametrize(
    "body, status, message, argv",
    [
        ({"decision": "dance"}, 400, "decision: 'dance'; expected one of: unit, stockpile, plan",
         ["dance"]),
        ({"draws": 50}, 400, "draws: 50 given for `voi unit`; expected it only with `voi stockpile`",
         ["unit", "--draws", "50"]),
        ({"decision": "stockpile", "cvar": 0.5}, 400,
         "cvar: 0.5 given for `voi stockpile`; expected it only with `voi plan`",
         ["stockpile", "--cvar", "0.5"]),
        ({"decision": "plan", "unit": 800}, 400,
         "unit: 800.0 given for `voi plan`; expected it only with `voi unit`",
         ["plan", "--unit", "800"]),
        ({"decision": "unit", "samples": 3}, 400,
         "samples: 3; expected an integer from 4 to 65,536 samples", ["unit", "--samples", "3"]),
        ({"decision": "plan", "samples": 2000}, 400,
         "samples: 2000; expected an integer from 4 to 1,000 samples",
         ["plan", "--samples", "2000"]),
        ({"decision": "stockpile", "service_level": 1.5}, 422,
         "service_level: Input should be less than 1 (got 1.5)", None),
        ({"decision": "unit", "samples": 5000}, 422,
         "samples: Input should be less than or equal to 4096 (got 5000)", None),
    ],
)  # fmt: skip
def test_voi_bad_options_are_the_clis_one_line_errors(
    client, repm_home, body, status, message, argv
):
    res = client.post("/api/run", json={"scenario": "india-baseline", "kind": "voi", **body})
    assert res.status_code == status, res.text
    assert res.json()["error"] == message
    if argv is not None:  # the CLI's line, its option named as the API's field
        cli = run_cli(["voi", *argv])
        assert cli.returncode == 2 and cli.stdout == "", cli.stderr
        line = cli.stderr.strip()
        flag = (
            "DECISION" if "decision" in message else "--" + message.split(":")[0].replace("_", "-")
        )
        assert line == f"error: {flag}{message[message.index(':') :]}"
    assert not (repm_home / "runs").exists()
