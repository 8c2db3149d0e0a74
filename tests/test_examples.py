"""The scripts in examples/ run as they are (CI runs this, so the examples cannot rot)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples():
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path, repm_home, capsys):
    assert path.read_text().startswith("# %%"), "examples are percent-cell scripts"
    runpy.run_path(str(path), run_name="__main__")
    assert "Traceback" not in capsys.readouterr().err
    assert (repm_home / "runs").is_dir()  # it used the test's run store, not the user's
