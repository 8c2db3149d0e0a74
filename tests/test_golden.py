"""Golden outputs: the `--json` of the commands a user runs most, stored and compared.

The one-model restructuring (issue 11) moves code, not meaning: these payloads must stay the
same. Numbers are compared exactly unless a case names a relative tolerance (and says why);
only the run id, which is new on every run, is left out.

Regenerate after a change that is meant to move numbers (say which in the commit):
    REPM_REGEN_GOLDEN=1 uv run pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repm.cli import app

GOLDEN = Path(__file__).parent / "golden"
PLAN_FILE = GOLDEN / "plan.yaml"  # from `repm plan --save-plan`, so `run --plan` has a fixed plan

# the engine's feed plan takes the fresh alloy per magnet from the one rule
# (rules.fresh_alloy_per_magnet: (1 − r(1 − y)) / y) instead of its own p / y × (1 − r(1 − y)):
# the same number to the last bit or two, so the engine's outputs move by ~1e-16 relative
ONE_RULE = (1e-12, "fresh alloy per magnet from rules.fresh_alloy_per_magnet (rounding order)")

# name: (argv, relative tolerance, why a tolerance)
CASES = {
    "run_baseline": (["run", "--json"], *ONE_RULE),
    "run_tolling": (["run", "india-tolling-japan", "--json"], *ONE_RULE),
    "run_plan": (["run", "--plan", str(PLAN_FILE), "--json"], *ONE_RULE),
    "risk": (["risk", "--draws", "2000", "--seed", "1", "--json"], *ONE_RULE),
    "finance": (["finance", "--json"], 0.0, ""),
    "plan": (["plan", "--scenarios", "5", "--json"], 0.0, ""),
    "stockpile": (["stockpile", "--draws", "500", "--json"], 0.0, ""),
}
VOLATILE = {"run_id"}  # new on every run
# Every case also allows 1e-12 relative for the machine: numpy's sums run on the CPU's SIMD
# lanes (AVX2 here, AVX-512 there) and add in another order, so a sum's last bit or two depends
# on the CPU the goldens were written on (finance's unit_revenue moved by 3e-16 relative on an
# AVX-512 machine). The mass balance residual is rounding noise by construction (~1e-12 t, its
# bits are the CPU's): it is held below RESIDUAL instead of to its bits.
MACHINE = 1e-12
RESIDUAL = 1e-9  # t


def invoke(argv: list[str]) -> dict:
    res = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def assert_same(got, want, rel: float, path: str = "$") -> None:
    """Structure exactly, numbers to `rel` relative (the residual below RESIDUAL); the first
    difference is named."""
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{path}: {type(got).__name__}, expected an object"
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        if want.get("name") == "mass_balance_residual":
            assert abs(got["value"]) < RESIDUAL and abs(want["value"]) < RESIDUAL, path
            got, want = {**got, "value": 0.0}, {**want, "value": 0.0}
        for k in want:
            assert_same(got[k], want[k], rel, f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: length differs"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, rel, f"{path}[{i}]")
    elif isinstance(want, float) and isinstance(got, float):
        assert math.isclose(got, want, rel_tol=rel, abs_tol=1e-300) or got == want, (
            f"{path}: {got!r} != {want!r} (rel {rel})"
        )
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


@pytest.mark.parametrize("name", list(CASES))
def test_golden(name: str) -> None:
    argv, rel, _why = CASES[name]
    rel = max(rel, MACHINE)
    got = _strip(invoke(argv))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("REPM_REGEN_GOLDEN") or not path.exists():
        path.write_text(json.dumps(got, indent=0, sort_keys=False) + "\n", encoding="utf-8")
        if not os.environ.get("REPM_REGEN_GOLDEN"):
            pytest.fail(f"{path.name} was missing and has been written; commit it and re-run")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert_same(got, want, rel)
