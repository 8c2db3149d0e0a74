"""Resource bounds (issue 15 part 2): a Monte Carlo that would not fit in memory is refused before
it starts, a request body is limited however it is sent, and a Dask run whose workers are gone
ends with a one-line error instead of hanging."""

from __future__ import annotations

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from repm import limits
from repm.errors import UserError
from repm.web.app import MAX_BODY_BYTES, create_app


def test_a_monte_carlo_beyond_the_memory_available_is_refused_before_it_starts(
    repm_home, monkeypatch
):
    monkeypatch.setattr(limits, "available_memory", lambda: 2 * 2**30)  # 2 GiB free
    # 20 million draws keep ~8 GB of per-draw summaries: refused, one line, nothing stored
    res = run_cli(["risk", "--draws", "20000000"])
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: --draws: 20,000,000 draws in chunks of 2,000")
    assert "GiB and 2.0 GiB is free" in res.stderr and len(res.stderr.splitlines()) == 1
    assert not repm_home.exists()


def test_the_memory_estimate_grows_with_draws_chunks_and_events():
    base = limits.monte_carlo_bytes(10_000, 2_000, 4, 3)
    assert limits.monte_carlo_bytes(20_000, 2_000, 4, 3) > base  # more summaries kept
    assert limits.monte_carlo_bytes(10_000, 2_500, 4, 3) > base  # more draws in flight
    assert limits.monte_carlo_bytes(10_000, 2_000, 4, 300) > base  # more events per draw
    # the 80,000 aliased events and 100 draws: ~8.6 GiB measured
    assert limits.monte_carlo_bytes(100, 100, 1, 80_000) > 8 * 2**30


@pytest.fixture
def client():
    with TestClient(create_app(), base_url="http://127.0.0.1:8050") as c:
        yield c


def test_a_chunked_body_is_cut_off_at_the_limit_not_read_whole(repm_home):
    """`Transfer-Encoding: chunked` has no Content-Length: before, 200 MB were read into memory.
    Driven at the ASGI level, chunk by chunk, as a server delivers it (the test client would
    join the chunks into one message first)."""
    import asyncio
    import json

    chunk, chunks = 65_536, 64  # 4 MB offered
    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b" " * chunk, "more_body": read < chunks}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/run", "raw_path": b"/api/run", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1:8050"),
                                     (b"content-type", b"application/json"),
                                     (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8050), "state": {},
    }  # fmt: skip
    asyncio.run(create_app()(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"] == (
        f"request body of more than {read * chunk:,} bytes; expected at most {MAX_BODY_BYTES:,}"
    )
    assert read == MAX_BODY_BYTES // chunk + 1  # read up to the limit and no further
    assert not repm_home.exists()


def test_a_body_announcing_too_many_bytes_is_refused_unread(client):
    r = client.post("/api/scenarios/check", content=b"{}", headers={"content-length": "999999999"})
    assert r.status_code == 413 and "999999999" in r.json()["error"]


def test_an_alias_bomb_upload_is_a_400_not_a_500(client, repm_home):
    yaml_text = "extends: india-baseline\nx: &a [" + ", ".join(["0"] * 1000) + "]\n"
    yaml_text += "y: [" + ", ".join(["*a"] * 40_000) + "]\n"
    assert len(yaml_text.encode()) < 256 * 1024
    r = client.post("/api/scenarios/check", json={"yaml": yaml_text})
    assert r.status_code == 400
    assert "expands to more than 100,000 values" in r.json()["error"]
    r = client.post("/api/run", json={"yaml": yaml_text})
    assert r.status_code == 400
    assert not repm_home.exists()


def test_a_dask_scheduler_without_live_workers_ends_with_an_error(monkeypatch):
    """Before, run_draws waited for ever on a cluster whose workers were gone."""
    from distributed import LocalCluster

    from repm.analyses.risk import run_draws
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    chain = compile_chain(loaded.scenario)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(UserError, match="no chunk of draws finished in 0.5 s.*gone or stuck"):
            run_draws(chain, loaded.scenario, draws=4, seed=0, chunk_size=2,
                      scheduler=cluster.scheduler_address, timeout=0.5)  # fmt: skip


def test_a_scheduler_nobody_listens_on_is_one_line(monkeypatch):
    import socket

    from repm.analyses import cluster
    from repm.analyses.risk import draws

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline")
    with pytest.raises(UserError, match="--scheduler: cannot reach the Dask scheduler"):
        draws.run_draws(compile_chain(loaded.scenario), loaded.scenario, draws=4, seed=0,
                        chunk_size=2, scheduler=f"tcp://127.0.0.1:{port}")  # fmt: skip


def test_the_largest_scenario_allowed_still_closes_its_mass_balance(repm_home):
    """Just inside the stated bound (2e8 t of demand, a 9e8 t stockpile) the balance holds to
    1e-6 t; beyond it the scenario is refused (test_bad_input) instead of breaking it."""
    import json

    res = run_cli(["run", "--set", "demand.growth_after_anchors=0.4", "--set", "horizon.end=2060",
                   "--set", "policy.stockpile.ndpr_oxide=9e8", "--step", "yearly", "--json"])  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["indicators"]
    demand = max(r["value"] for r in rows if r["name"] == "magnet_demand" and "sector" not in r)
    residual = max(r["value"] for r in rows if r["name"] == "mass_balance_residual")
    assert demand > 1e8 and residual < 1e-6
