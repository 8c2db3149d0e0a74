"""The smaller findings of issue 15 (part 7), each pinned: a long value is cut in the error line,
a currency is named as given, the API names its own fields, `report --out` never overwrites,
Ctrl-C is one line."""

from __future__ import annotations

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from repm.errors import MAX_MESSAGE, UserError
from repm.web.app import create_app


def test_a_200_kb_unit_string_is_cut_in_the_one_line_error():
    unit = "kg*" * 70_000 + "kg"
    res = run_cli(["validate", "india-baseline", "--set", f"supply.units.0.capacity=600 {unit}"])
    assert res.returncode == 2
    assert len(res.stderr) < MAX_MESSAGE + 300 and len(res.stderr.splitlines()) == 1
    assert "supply.units.0.capacity" in res.stderr and "..." in res.stderr


def test_any_long_message_is_capped():
    exc = UserError("x" * 50_000, where="field")
    assert len(str(exc)) < MAX_MESSAGE + 10 and str(exc).endswith("characters left out)")


def test_a_dollar_amount_is_named_as_dollars():
    res = run_cli(["validate", "india-baseline", "--set", "supply.units.0.capacity=7 USD"])
    assert res.returncode == 2
    assert "'7 USD' has units of dollar; expected something convertible to t/yr" in res.stderr


def test_api_errors_name_the_api_field_not_the_cli_option(repm_home):
    with TestClient(create_app(), base_url="http://127.0.0.1:8050") as client:
        r = client.post("/api/compare", json={"run_ids": ["20260101T120000-0123abcd-4f5e"] * 2})
        assert r.status_code == 400
        assert r.json()["error"].startswith("compare: ")
        r = client.post("/api/run", json={"scenario": "india-baseline", "kind": "risk",
                                          "draws": 10, "seed": 2**63})  # fmt: skip
        assert r.status_code == 422 and r.json()["error"].startswith("seed: ")
    e = UserError("2099; expected a year all runs cover", where="--year")
    assert e.for_api() == "year: 2099; expected a year all runs cover"
    assert UserError("x", where="--service-level").for_api() == "service_level: x"


def test_report_out_never_overwrites_a_file(tmp_path, repm_home):
    existing = tmp_path / "mine.html"
    existing.write_text("keep me")
    res = run_cli(["report", "--out", str(existing)])
    assert res.returncode == 2
    assert res.stderr.startswith("error: --out: ") and "already exists" in res.stderr
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("where", ["check_address", "serve"])
def test_ctrl_c_while_serve_starts_is_one_line(where, monkeypatch):
    import repm.web.app as web

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(web, "check_address", lambda host, port: None)
    monkeypatch.setattr(web, where, interrupted)
    res = run_cli(["serve", "--port", "8139"])
    assert res.returncode == 130
    assert res.stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in res.stderr


def test_threads_asking_for_the_unit_registry_at_once_get_one(monkeypatch):
    """Found by the load test: the dashboard loads scenarios on several threads, and two first
    calls built two pint registries ('Cannot operate with Unit and Unit of different
    registries', a 400 for a valid scenario)."""
    import threading

    from repm.model import units

    real = units._cached_registry
    barrier = threading.Barrier(2)

    def slow():
        try:
            barrier.wait(timeout=0.5)  # two builders meet here unless one waits for the other
        except threading.BrokenBarrierError:
            pass
        return real()

    monkeypatch.setattr(units, "_REGISTRY", None)
    monkeypatch.setattr(units, "_cached_registry", slow)
    got = []
    threads = [threading.Thread(target=lambda: got.append(units.registry())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 2 and got[0] is got[1]


def test_rupees_are_written_as_indian_readers_write_them():
    from repm.model.units import inr

    assert inr(60_000) == "₹60,000" and inr(99_999.4) == "₹99,999"
    assert inr(193_000) == "₹1.93 lakh" and inr(150_000) == "₹1.50 lakh"
    assert inr(1.25e8) == "₹12.5 crore" and inr(-15_000) == "₹-15,000"
