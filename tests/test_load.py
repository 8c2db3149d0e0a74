"""A bounded load test of the dashboard (issue 15, Tests): a few hundred requests from two
clients on 127.0.0.1 against a real server. One client floods run jobs; the other runs one job at
a time and reads the run list. The flood is held to its share (429s), nothing is answered with a
500, the other client is served throughout, and the latencies are printed (p50/p95; not asserted:
no timed assertions)."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
import uvicorn

import repm.app as A
from repm.web.app import create_app

PER_CLIENT, WAITING, WORKERS = 2, 8, 3


GATE = threading.Event()  # the flooding client's jobs hold their workers until it is set


@pytest.fixture
def server(monkeypatch):
    """A real uvicorn server on a free port; each command a stub, so what is measured is the web
    layer and its queue, not the model. The flood's jobs (step yearly) wait for GATE."""

    def job(req, *a, **k):
        if req.step == "yearly":
            GATE.wait(120)
        return SimpleNamespace(payload={"command": "run", "scenario": "stub", "run_id": None})

    monkeypatch.setattr(A, "run", job)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(max_waiting=WAITING, per_client=PER_CLIENT, workers=WORKERS)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    GATE.clear()
    yield f"http://127.0.0.1:{port}"
    GATE.set()
    srv.should_exit = True
    thread.join(30)
    app.state.queue.close()


def _client(source: str, base: str) -> httpx.Client:
    """A client whose requests come from `source` (another loopback address: another client)."""
    return httpx.Client(base_url=base, timeout=60,
                        transport=httpx.HTTPTransport(local_address=source))  # fmt: skip


def test_the_dashboard_under_load_keeps_its_limits_and_serves_everyone(server):
    body = {"scenario": "india-baseline"}
    flood_codes: list[int] = []
    fair_codes: list[int] = []
    fair_times: list[float] = []
    read_times: list[float] = []
    lock = threading.Lock()

    def flood(_):
        with _client("127.0.0.2", server) as c:
            for _ in range(25):
                r = c.post("/api/run", json=body | {"wait": False, "step": "yearly"})
                with lock:
                    flood_codes.append(r.status_code)

    def fair():
        with _client("127.0.0.3", server) as c:
            for _ in range(40):
                t = time.perf_counter()
                r = c.post("/api/run", json=body | {"wait": True})
                fair_times.append(time.perf_counter() - t)
                fair_codes.append(r.status_code)
                t = time.perf_counter()
                assert c.get("/api/runs").status_code == 200
                read_times.append(time.perf_counter() - t)

    with ThreadPoolExecutor(9) as pool:
        floods = [pool.submit(flood, i) for i in range(8)]  # 200 run requests at once
        fair_done = pool.submit(fair)
        for f in floods:
            f.result()
        fair_done.result()  # served while the flood's jobs hold two of the three workers
        GATE.set()

    total = len(flood_codes) + len(fair_codes) + len(read_times)
    assert total == 280
    assert set(flood_codes) <= {202, 429}
    # the flood was held to its share while its jobs ran: the rest were turned away with 429
    assert flood_codes.count(202) == PER_CLIENT and flood_codes.count(429) == 200 - PER_CLIENT
    assert fair_codes == [200] * 40  # the other client was served throughout

    def pct(xs, q):
        return statistics.quantiles(xs, n=100)[q - 1] * 1000

    print(
        f"\nload: {total} requests; flood 202/429/503 = {flood_codes.count(202)}/"
        f"{flood_codes.count(429)}/{flood_codes.count(503)}; fair client run p50 "
        f"{pct(fair_times, 50):.0f} ms, p95 {pct(fair_times, 95):.0f} ms; GET /api/runs p50 "
        f"{pct(read_times, 50):.0f} ms, p95 {pct(read_times, 95):.0f} ms"
    )
