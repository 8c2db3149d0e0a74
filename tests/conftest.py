"""Shared test fixtures: an isolated run store for every test, and a way to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "repm.cli"]


@pytest.fixture(autouse=True)
def repm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own run store; nothing reaches the user's data folder."""
    home = tmp_path / "repm_home"
    monkeypatch.setenv("REPM_HOME", str(home))
    return home


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], *, home: Path | None = None, cwd: Path | None = None) -> CliResult:
    """Run `repm ARGS` in a fresh interpreter. REPM_HOME is `home` if given, else the current
    environment's (which the autouse fixture has pointed at the test's tmp_path)."""
    env = dict(os.environ)
    if home is not None:
        env["REPM_HOME"] = str(home)
    assert env.get("REPM_HOME"), "tests must never touch the user's run store"
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        CLI + list(args),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=300,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def run_cli_many(jobs: dict[str, dict]) -> dict[str, CliResult]:
    """Run several CLI invocations at once (each is mostly interpreter start-up and imports).
    `jobs` maps a key to run_cli keyword arguments."""
    workers = max(2, (os.cpu_count() or 2) + 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run_cli, **kw) for key, kw in jobs.items()}
        return {key: fut.result() for key, fut in futures.items()}


def load_bench(name: str):
    """bench/NAME.py as a module (the benchmarks are scripts, not part of the package)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
