"""Fuzzing (issue 15, Tests): scenario documents and dashboard API bodies drawn by hypothesis.
Whatever comes in, the answer is a success or a user's error — exit 2 / a 4xx with one line —
never a traceback or a 500. Derandomized: the same examples every run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml
from conftest import run_cli
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import repm.app as A
from repm.app.requests import Request
from repm.errors import UserError
from repm.web.app import create_app

FIELDS = (
    "name", "description", "horizon.start", "horizon.end", "demand.anchors.2025",
    "demand.anchors", "demand.growth_after_anchors", "supply.units.0.capacity",
    "supply.units.0.award_year", "supply.units", "supply.yields.sx_recovery",
    "trade.shares.heavy.China", "trade.origins", "policy.stockpile.ndpr_oxide", "policy",
    "risk.events", "risk.events.0.preset", "risk.draws_max", "economics.fx_inr_per_usd",
    "scheme.outlay", "routes.tolling", "routes", "bogus",
)  # fmt: skip
ODD = ("600 t/yr", "7 USD", "600 kg", "fact:scheme_outlay", "fact:nope", "[/x]", "[bold]",
       "\x1b[31mred", "1e400", "2025", "-0", "china_april_2025", "india-baseline", "", "∞")  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=20),
    st.sampled_from(ODD),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(1990, 2100)), inner, max_size=4),
    ),
    max_leaves=8,
)
documents = st.dictionaries(st.sampled_from(FIELDS), values, max_size=4)
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


def _nest(flat: dict) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        *head, last = path.split(".")
        for key in head:
            nxt = node.get(key)
            if not isinstance(nxt, dict):
                nxt = node[key] = {}
            node = nxt
        node[last] = value
    return out


def _outcome(text: str, folder) -> None:
    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        Request(scenario=str(path)).load()
    except UserError as exc:
        assert str(exc)  # a message, reported in one line by the CLI
    # anything else (TypeError, KeyError, MemoryError, …) fails the test: it would be exit 1


@FUZZ
@given(doc=documents)
def test_a_drawn_scenario_document_loads_or_is_a_user_error(doc, tmp_path):
    _outcome("extends: india-baseline\n" + yaml.safe_dump(_nest(doc), allow_unicode=True), tmp_path)


@FUZZ
@given(text=st.text(max_size=200))
def test_drawn_text_as_a_scenario_file_loads_or_is_a_user_error(text, tmp_path):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # a surrogate cannot be written as UTF-8 text: not a file a user can have
    _outcome(text, tmp_path)


def test_a_few_drawn_documents_through_the_real_cli_exit_0_or_2(tmp_path):
    """The in-process checks above stand for `repm validate`: a sample through the CLI too."""
    docs = [{"name": "[/x]"}, {"demand": {"anchors": {"2025": "x"}}}, {"risk": {"events": [{}]}},
            {"supply": {"units": [{"capacity": float("nan")}]}}, {"horizon": {"end": 2**70}}]  # fmt: skip
    for i, doc in enumerate(docs):
        path = tmp_path / f"d{i}.yaml"
        path.write_text("extends: india-baseline\n" + yaml.safe_dump(doc))
        res = run_cli(["validate", str(path)])
        assert res.returncode in (0, 2), res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.splitlines()) <= 1


# --- API bodies --------------------------------------------------------------------------------

bodies = st.dictionaries(
    st.sampled_from(
        (
            "scenario",
            "yaml",
            "overrides",
            "kind",
            "draws",
            "seed",
            "step",
            "service_level",
            "scenarios",
            "cvar",
            "cvar_alpha",
            "unit",
            "breakeven",
            "price",
            "currency",
            "montecarlo",
            "wait",
            "units",
            "bogus",
        )
    ),  # fmt: skip
    st.one_of(
        values,
        st.sampled_from(
            [
                "india-baseline",
                "run",
                "risk",
                "plan",
                "finance",
                "stockpile",
                "extends: india-baseline\nname: '[/x]'\n",
                "extends: /etc/passwd\n",
            ]
        ),  # fmt: skip
        st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=3),
    ),
    max_size=6,
)


@pytest.fixture(scope="module")
def api():
    """The API with each command replaced by a stub that answers at once: what is fuzzed is
    everything up to the command (parsing, validation, loading the scenario, the queue)."""
    done = SimpleNamespace(payload={"command": "stub", "scenario": "x", "run_id": None})
    mp = pytest.MonkeyPatch()
    for name in ("run", "risk", "stockpile", "plan", "finance"):
        mp.setattr(A, name, lambda *a, **k: done)
    with TestClient(create_app(per_client=1000, max_waiting=1000),
                    base_url="http://127.0.0.1:8050") as client:  # fmt: skip
        yield client
    mp.undo()


@FUZZ
@given(body=bodies)
def test_a_drawn_api_body_is_answered_never_with_a_500(body, api):
    # NaN and Infinity as JSON literals too: Python's json module (the server's) accepts them
    r = api.post("/api/run", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code in (200, 202, 400, 413, 422), r.text
    if r.status_code >= 400:
        error = r.json()["error"]
        assert isinstance(error, str) and "\n" not in error and "Traceback" not in error


@FUZZ
@given(doc=documents)
def test_a_drawn_upload_is_checked_never_with_a_500(doc, api):
    text = "extends: india-baseline\n" + yaml.safe_dump(_nest(doc), allow_unicode=True)
    r = api.post("/api/scenarios/check", json={"yaml": text})
    assert r.status_code in (200, 400, 413, 422), r.text
