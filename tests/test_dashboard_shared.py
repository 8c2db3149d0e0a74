"""The dashboard shared with a team (issue 15 part 5): a Host allow-list, a token beyond loopback,
a bounded queue shared fairly (429 for one client over its share, 503 when full), jobs kept until
they finish, no server paths in answers."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

import repm.app as A
from repm.web import app as web
from repm.web.guard import FairQueue, QueueFull

LOCAL = "http://127.0.0.1:8050"
TOKEN = "s3cret-token-for-tests-0123"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8050", "10.0.0.9:8050"])
def test_a_foreign_host_header_is_refused(host):
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1."""
    with TestClient(web.create_app(), base_url=LOCAL) as client:
        r = client.get("/api/scenarios", headers={"host": host})
        assert r.status_code == 400
        assert r.json()["error"].startswith(f"Host {host!r} is not served here")
        for ok in ("127.0.0.1:8050", "localhost:8050", "[::1]:8050", "localhost"):
            assert client.get("/api/runs", headers={"host": ok}).status_code == 200, ok


def test_with_a_token_every_request_must_carry_it():
    app = web.create_app(token=TOKEN)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/runs").status_code == 401
        assert client.get("/").status_code == 401
        assert client.get("/api/runs", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert (
            client.get("/api/runs", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        )
        page = client.get(f"/?token={TOKEN}")  # the URL `repm serve` prints
        assert page.status_code == 200 and "repm_token" in page.headers["set-cookie"]
        assert "HttpOnly" in page.headers["set-cookie"]
        assert client.get("/api/runs").status_code == 200  # the page's requests: by the cookie


def test_beyond_loopback_a_token_is_required_and_hosts_name_this_machine():
    import socket

    allowed, token = web.access("127.0.0.1")
    assert token is None and allowed == {"localhost", "127.0.0.1", "::1"}
    allowed, token = web.access("0.0.0.0", allow=("dash.team.example",))
    assert token is not None and len(token) >= 24
    assert {"127.0.0.1", socket.gethostname().lower(), "dash.team.example"} <= allowed
    assert "evil.example" not in allowed
    assert web.access("0.0.0.0", token=TOKEN)[1] == TOKEN


def test_serve_on_every_interface_says_so_and_prints_the_token(monkeypatch):
    seen = {}
    monkeypatch.setattr(web, "check_address", lambda host, port: None)
    monkeypatch.setattr(web, "serve", lambda host, port, **kw: seen.update(kw, host=host))
    res = run_cli(["serve", "--host", "0.0.0.0", "--port", "8140"])
    assert res.returncode == 0, res.stderr
    assert "listening on every network interface" in res.stdout
    assert f"/?token={seen['token']}" in res.stdout and seen["host"] == "0.0.0.0"
    short = run_cli(["serve", "--token", "abc"])
    assert short.returncode == 2 and "--token: 3 characters" in short.stderr


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_takes_clients_in_turn_and_bounds_them():
    gate, order, done = threading.Event(), [], threading.Semaphore(0)

    def job(name, wait=False):
        def run():
            if wait:
                gate.wait(30)
            order.append(name)
            done.release()

        return run

    q = FairQueue(workers=1, max_waiting=4, per_client=3)
    q.submit("a", job("a1", wait=True))  # holds the one worker
    while q.waiting_count():  # until the worker has taken it
        threading.Event().wait(0.01)
    q.submit("a", job("a2"))
    q.submit("a", job("a3"))
    with pytest.raises(QueueFull) as over:
        q.submit("a", job("a4"))
    assert over.value.status == 429 and "at most 3" in str(over.value)
    q.submit("b", job("b1"))
    q.submit("c", job("c1"))
    with pytest.raises(QueueFull) as full:
        q.submit("d", job("d1"))
    assert full.value.status == 503 and "4 jobs are waiting" in str(full.value)
    gate.set()
    for _ in range(5):
        assert done.acquire(timeout=30)
    # b and c did not wait behind all of a's jobs
    assert order == ["a1", "a2", "b1", "c1", "a3"]
    q.close()


@pytest.fixture
def blocking(monkeypatch):
    """`repm.app.run` replaced by a job that waits for the test's word, then answers."""
    gate = threading.Event()

    def run(req):
        gate.wait(60)
        return SimpleNamespace(payload={"command": "run", "scenario": "x", "run_id": None})

    monkeypatch.setattr(A, "run", run)
    yield gate
    gate.set()


def _until_running(client, job_id: str) -> None:
    """Wait until the worker has taken the job off the queue (it then blocks on the test's word):
    until then it still counts as waiting, and a second job would find the queue full."""
    end = time.monotonic() + 30
    while client.get(f"/api/jobs/{job_id}").json()["status"] != "running":
        assert time.monotonic() < end, "the worker never took the job"
        time.sleep(0.01)


def test_the_api_answers_429_and_503_in_one_line(blocking):
    app = web.create_app(max_waiting=1, per_client=2, workers=1)
    body = {"scenario": "india-baseline", "wait": False}
    with TestClient(app, base_url=LOCAL) as client:
        first = client.post("/api/run", json=body)
        assert first.status_code == 202
        _until_running(client, first.json()["job_id"])  # the one worker has taken it
        assert client.post("/api/run", json=body).status_code == 202  # waiting
        r = client.post("/api/run", json=body)
        assert r.status_code == 429 and "at most 2 at a time" in r.json()["error"]
        assert r.headers["retry-after"]
        other = TestClient(app, base_url=LOCAL, client=("10.1.2.3", 5000))
        r = other.post("/api/run", json=body)
        assert r.status_code == 503 and "1 jobs are waiting" in r.json()["error"]
        blocking.set()


def test_a_running_job_is_kept_however_many_finish(blocking, monkeypatch):
    """Before, the 200 oldest records were pruned whatever their status: a running job's status
    URL could answer 404."""
    monkeypatch.setattr(web, "JOBS_KEPT", 1)
    app = web.create_app(workers=2, per_client=10)
    with TestClient(app, base_url=LOCAL) as client:
        slow = client.post("/api/run", json={"scenario": "india-baseline", "wait": False}).json()
        for _ in range(3):
            r = client.post("/api/run", json={"scenario": "india-baseline", "kind": "finance",
                                              "wait": True, "unit": 0.5})  # fmt: skip
            assert r.status_code == 400  # quick, and finished
        assert client.get(f"/api/jobs/{slow['job_id']}").json()["status"] == "running"
        blocking.set()


def test_answers_carry_no_server_paths(tmp_path, repm_home):
    scenario = tmp_path / "private" / "mine.yaml"
    scenario.parent.mkdir()
    scenario.write_text("extends: india-baseline\n")
    res = run_cli(["run", str(scenario), "--step", "yearly", "--json"])
    assert res.returncode == 0, res.stderr
    run_id = json.loads(res.stdout)["run_id"]
    with TestClient(web.create_app(), base_url=LOCAL) as client:
        got = client.get(f"/api/runs/{run_id}")
        assert got.status_code == 200
        assert got.json()["meta"]["source"] == "mine.yaml"
        missing = client.get("/api/runs/20990101T000000-00000000-0000")
        assert missing.status_code == 404 and "<run store>" in missing.text
        for text in (got.text, missing.text, client.get("/api/runs").text):
            assert str(tmp_path) not in text and str(repm_home) not in text
