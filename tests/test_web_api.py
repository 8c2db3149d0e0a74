"""The dashboard's JSON API (FastAPI TestClient): same JSON as the CLI, 4xx for every bad input,
jobs with progress, and runs stored safely while other runs (API or CLI) write at the same time."""

from __future__ import annotations

import inspect
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from repm.web.app import MAX_YAML_BYTES, create_app, override_args


@pytest.fixture
def client(repm_home):
    with TestClient(create_app(), base_url="http://127.0.0.1:8050") as c:
        yield c


def _wait(client: TestClient, job_id: str, timeout: float = 280) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_api_run_answers_exactly_what_the_cli_prints(client, repm_home):
    sets = {"supply.units.0.capacity": 800, "supply.units.1.award_year": 2028}
    res = client.post(
        "/api/run", json={"scenario": "india-baseline", "overrides": sets, "step": "yearly"}
    )
    assert res.status_code == 200, res.text
    api = res.json()
    cli = run_cli(
        ["run", "--step", "yearly", "--json"] + [f"--set={s}" for s in override_args(sets)]
    )
    assert cli.returncode == 0, cli.stderr
    cli_obj = json.loads(cli.stdout)
    assert api["run_id"] != cli_obj["run_id"]
    api.pop("run_id"), cli_obj.pop("run_id")
    assert api == cli_obj
    # the lever reached the engine: unit L1 at 800 t/yr → nameplate 5,803 t/yr (IREL-Vizag adds 3)
    cap = {
        r["year"]: r["value"] for r in api["indicators"] if r["name"] == "magnet_capacity_nameplate"
    }
    assert cap[2035] == pytest.approx(4 * 1200 + 800 + 3)


def test_override_args_are_set_strings():
    assert override_args({"a.b": 1.5, "c": True, "d": "7,280 crore INR", "e": None}) == [
        "a.b=1.5", "c=true", "d=7,280 crore INR", "e=null",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"scenario": "atlantis"}, 400, "no such scenario 'atlantis'"),
        (
            {"scenario": "india-baseline", "overrides": {"supply.unitz.0.capacity": 800}},
            400,
            "supply.unitz: unknown key",
        ),
        (
            {"scenario": "india-baseline", "overrides": {"supply.units.9.capacity": 800}},
            400,
            "index 9 out of range",
        ),
        (
            {"scenario": "india-baseline", "overrides": {"supply.units.0.capacity": 850}},
            400,
            "not a multiple",
        ),
        (
            {"scenario": "india-baseline", "overrides": {"scheme.sli_bid": "lots"}},
            400,
            "scheme.sli_bid",
        ),
        ({"scenario": "india-baseline", "overrides": {"a": [1, 2]}}, 422, "overrides.a"),
        (
            {"scenario": "india-baseline", "kind": "dance"},
            422,
            "kind: Input should be 'run', 'risk', 'stockpile', 'plan', 'finance', 'sensitivity', "
            "'uncertainty' or 'voi'",
        ),
        (
            {"scenario": "india-baseline", "kind": "risk", "draws": 0},
            422,
            "draws: Input should be greater than or equal to 1",
        ),
        ({"scenario": "india-baseline", "kind": "risk", "draws": 10**9}, 422, "draws"),
        ({"scenario": "india-baseline", "seed": -1}, 422, "seed"),
        (
            {"scenario": "india-baseline", "colour": "red"},
            422,
            "colour: Extra inputs are not permitted",
        ),
        ({}, 400, "expected exactly one of `scenario`"),
        ({"scenario": "india-baseline", "yaml": "name: x"}, 400, "expected exactly one of"),
        ({"yaml": "horizon: [1,\n"}, 400, "upload: malformed YAML"),
        ({"yaml": "- just a list\n"}, 400, "expected a YAML mapping"),
        (
            {"yaml": "extends: india-baseline\nname: short\nhorizon: {end: 2028}\n"},
            400,
            "upload: demand.anchors",
        ),
        (
            {"yaml": "extends: /etc/passwd\n"},
            400,
            "upload: extends: '/etc/passwd'; expected a shipped scenario name",
        ),
        ({"yaml": "x" * (MAX_YAML_BYTES + 1)}, 413, "expected at most 262,144"),
    ],
)
def test_bad_input_is_a_4xx_with_one_line_and_nothing_stored(
    client, repm_home, body, status, message
):
    res = client.post("/api/run", json=body)
    assert res.status_code == status, res.text
    err = res.json()["error"]
    assert message in err and "\n" not in err and "Traceback" not in err, err
    assert not (repm_home / "runs").exists()


def test_other_bad_requests_are_4xx(client):
    assert (
        client.post(
            "/api/run", content=b"{oops", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    big = b'{"yaml": "' + b"x" * (3 * MAX_YAML_BYTES) + b'"}'
    res = client.post("/api/run", content=big, headers={"content-type": "application/json"})
    assert res.status_code == 413 and "expected at most" in res.json()["error"]
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.get("/api/runs/../../etc/passwd").status_code == 404
    res = client.get("/api/runs/20990101T000000-00000000-0000")
    assert res.status_code == 404 and "no run" in res.json()["error"]
    assert client.get("/api/runs?limit=0").status_code == 400
    assert client.get("/api/runs?limit=x").status_code == 422
    assert client.get("/api/scenarios/atlantis").status_code == 400
    assert client.post("/api/scenarios/check", json={"yaml": "name: [\n"}).status_code == 400


def test_upload_runs_like_a_file(client):
    text = "extends: india-baseline\nname: my-upload\nsupply:\n  mining_capacity: '0 t/yr'\n"
    check = client.post("/api/scenarios/check", json={"yaml": text})
    assert check.status_code == 200 and check.json()["name"] == "my-upload"
    res = client.post("/api/run", json={"yaml": text, "step": "yearly"})
    assert res.status_code == 200, res.text
    obj = res.json()
    assert obj["scenario"] == "my-upload"
    mined = [
        r["value"]
        for r in obj["indicators"]
        if r["name"] == "monazite_processed" and "sector" not in r
    ]
    assert max(mined) == 0.0  # the upload's change reached the engine
    meta = client.get(f"/api/runs/{obj['run_id']}").json()["meta"]
    assert meta["source"] == "upload"


def test_scenario_levers(client):
    info = client.get("/api/scenarios/india-baseline").json()
    scheme_units = [u for u in info["units"] if u["scheme"]]
    assert len(scheme_units) == 5 and scheme_units[0]["capacity"] == 1200.0
    china = next(e for e in info["events"] if e["origin"] == "China")
    assert 0 < china["hazard"] <= 1 and china["duration"]["mean_months"] > 0
    assert info["scheme"]["sli_bid"] <= info["scheme"]["sli_cap_per_kg"]
    # oxides and magnets of every grade are priced (from oxide prices), so the dashboard offers
    # a stockpile of each; metals and alloys carry no price in the baseline
    priced = set(info["stockpile_priced"])
    assert {"ndpr_oxide", "dy_oxide", "magnet_n", "magnet_gbd", "magnet_uh"} <= priced
    assert "dy_metal" not in priced
    names = [s["name"] for s in client.get("/api/scenarios").json()]
    assert "india-baseline" in names and "india-no-scheme" in names


def test_two_api_runs_and_a_cli_run_at_once(client, repm_home):
    """Jobs run on the pool while the event loop answers; the store takes three writers at once."""
    risk = client.post(
        "/api/run",
        json={"scenario": "india-baseline", "kind": "risk", "draws": 120, "seed": 5, "wait": False},
    )
    run = client.post(
        "/api/run", json={"scenario": "india-no-scheme", "step": "yearly", "wait": False}
    )
    assert risk.status_code == 202 and run.status_code == 202
    with ThreadPoolExecutor(1) as pool:
        cli = pool.submit(run_cli, ["run", "--step", "yearly", "--json"])
        assert client.get("/api/runs").status_code == 200  # not blocked by the running jobs
        jobs = [_wait(client, risk.json()["job_id"]), _wait(client, run.json()["job_id"])]
        cli_res = cli.result()
    assert cli_res.returncode == 0, cli_res.stderr
    assert [j["status"] for j in jobs] == ["done", "done"], [j.get("error") for j in jobs]
    assert jobs[0]["done"] == jobs[0]["total"] == 120 and jobs[0]["progress"] == 1.0
    ids = {jobs[0]["run_id"], jobs[1]["run_id"], json.loads(cli_res.stdout)["run_id"]}
    listed = client.get("/api/runs").json()
    assert {r["run_id"] for r in listed} == ids
    assert sorted(p.name for p in (repm_home / "runs").iterdir()) == sorted(ids)  # no temp folders
    for rid in ids:
        got = client.get(f"/api/runs/{rid}")
        assert got.status_code == 200 and got.json()["indicators"]
    # the risk job's result is the risk --json object
    assert jobs[0]["result"]["command"] == "risk" and jobs[0]["result"]["draws"] == 120
    figs = client.get(f"/api/runs/{jobs[0]['run_id']}/figures").json()
    assert "risk" in figs and "sankey" not in figs


def test_sli_bid_lever_moves_unit_npv(client):
    npv = {}
    for bid in (2150, 1500):
        res = client.post("/api/run", json={"scenario": "india-baseline", "kind": "finance",
                                            "overrides": {"scheme.sli_bid": bid}})  # fmt: skip
        assert res.status_code == 200, res.text
        obj = res.json()
        assert obj["command"] == "finance" and {u["sli_bid"] for u in obj["units"]} == {bid}
        npv[bid] = obj["units"][0]["npv"]
    # SLI is capped at 40 % of sales (≈ ₹2,000/kg here): a bid of 1,500 earns less
    assert npv[1500] < npv[2150]
    figs = client.get(f"/api/runs/{obj['run_id']}/figures").json()
    assert {"npv", "outlay"} <= set(figs)
    res = client.post(
        "/api/run",
        json={
            "scenario": "india-baseline",
            "kind": "finance",
            "overrides": {"scheme.sli_bid": 9999},
        },
    )
    assert res.status_code == 400 and "sli_bid: 9999 INR/kg exceeds the cap" in res.json()["error"]


def test_run_figures_report_and_openapi(client):
    obj = client.post("/api/run", json={"scenario": "india-baseline", "step": "yearly"}).json()
    rid = obj["run_id"]
    figs = client.get(f"/api/runs/{rid}/figures?year=2029").json()
    assert {"sankey", "supply", "origins", "ndpr", "environment"} <= set(figs)
    assert "2029" in figs["sankey"]["layout"]["title"]["text"]
    assert client.get(f"/api/runs/{rid}/figures?year=1900").status_code == 400
    stored = client.get(f"/api/runs/{rid}").json()
    assert stored["indicators"] == obj["indicators"]
    page = client.get(f"/api/runs/{rid}/report")
    assert page.status_code == 200 and "Appendix: provenance" in page.text
    spec = client.get("/openapi.json").json()
    assert {"/api/run", "/api/runs", "/api/runs/{run_id}", "/api/jobs/{job_id}"} <= set(
        spec["paths"]
    )
    index = client.get("/")
    assert index.status_code == 200 and '<script src="/static/plotly.min.js">' in index.text
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000


def test_serve_binds_localhost_by_default():
    from repm.cli import serve

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"


def test_serve_refuses_a_busy_port_in_one_line():
    import socket

    from repm.errors import UserError
    from repm.web.app import check_address

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(
            UserError,
            match=rf"--port: cannot listen on 127.0.0.1:{port} \(Address already in use\)",
        ):
            check_address("127.0.0.1", port)
    with pytest.raises(UserError, match="expected a port between 1 and 65535"):
        check_address("127.0.0.1", 70000)
