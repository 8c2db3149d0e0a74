"""The dashboard's sensitivity form offers what `repm sensitivity` accepts (issue 14 part 5): the
page learns every output from GET /api/sensitivity/outputs (the command's own lists and the
indicator registry's units and labels), and a request with another step and method answers what
the CLI's --json prints."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_web_commands import cli_json, client  # noqa: F401  (a fixture, the CLI's JSON)

from repm.analyses.uncertainty.evaluate import (
    FINANCE_OUTPUTS,
    RISK_OUTPUTS,
    output_unit,
    run_indicators,
)
from repm.results.indicators import REGISTRY
from repm.web.app import create_app

TIMING = ("seconds", "seconds_per_evaluation")  # wall-clock time: differs run to run


def _untimed(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in (*TIMING, "run_id")}


def test_the_outputs_are_every_one_repm_sensitivity_accepts(client):  # noqa: F811
    res = client.get("/api/sensitivity/outputs")
    assert res.status_code == 200, res.text
    got = res.json()
    names = [o["name"] for o in got["outputs"]]
    assert {"magnet_imports", "unit_npv", "expected_unmet", "p_shortage", "cvar95_unmet"} <= set(
        names
    )
    assert names == [*FINANCE_OUTPUTS, *RISK_OUTPUTS, *run_indicators()]  # all, each once
    by = {o["name"]: o for o in got["outputs"]}
    assert by["magnet_imports"] == {"name": "magnet_imports", "unit": "t", "kind": "run",
                                    "label": REGISTRY["magnet_imports"].label, "year": True}  # fmt: skip
    assert by["unit_npv"] | {"label": ""} == {"name": "unit_npv", "unit": "crore INR",
                                              "kind": "finance", "label": "", "year": False}  # fmt: skip
    assert by["expected_unmet"]["kind"] == "risk" and by["expected_unmet"]["year"]
    assert by["cvar95_unmet"]["label"] == REGISTRY["cvar95_unmet"].label
    assert all(o["unit"] == output_unit(o["name"]) for o in got["outputs"])  # the command's units
    assert got["methods"] == ["sobol", "morris"] and set(got["steps"]) == {"monthly", "yearly"}
    assert "demand" in got["groups"] and "other" not in got["groups"]
    # the page asks for the list instead of carrying one of its own
    page = client.get("/").text
    assert "/api/sensitivity/outputs" in page and '<option value="magnet_imports"' not in page
    assert '<option value="morris">' in page and '<option value="monthly">' in page


def test_the_outputs_are_guarded_as_every_endpoint():
    with TestClient(create_app(token="s3cret-token-for-tests-0123"), base_url="http://127.0.0.1:8050") as c:  # fmt: skip
        assert c.get("/api/sensitivity/outputs").status_code == 401
        assert (
            c.get("/api/sensitivity/outputs", headers={"host": "evil.example"}).status_code == 400
        )


def test_a_monthly_morris_request_answers_the_cli_json(client):  # noqa: F811
    body = {"scenario": "india-baseline", "kind": "sensitivity", "output": "magnet_imports",
            "year": 2030, "method": "morris", "step": "monthly", "samples": 2,
            "group": "demand,risk"}  # fmt: skip
    res = client.post("/api/run", json=body)
    assert res.status_code == 200, res.text
    api = res.json()
    cli = cli_json(["sensitivity", "magnet_imports", "--year", "2030", "--method", "morris",
                    "--step", "monthly", "--samples", "2", "--group", "demand,risk", "--json"])  # fmt: skip
    assert api["run_id"] != cli["run_id"]
    assert _untimed(api) == _untimed(cli)
    assert api["method"] == "morris" and api["evaluations"] == 2 * (2 + 1)  # N·(k + 1)
    assert [r["fact"] for r in api["indices"]][0] == "demand"
    assert all({"mu_star", "mu_star_conf", "sigma"} <= set(r) for r in api["indices"])
    # the step reached the engine: the yearly engine answers other numbers
    yearly = client.post("/api/run", json=body | {"step": "yearly"}).json()
    assert yearly["distribution"] != api["distribution"]
