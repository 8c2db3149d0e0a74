"""Finding a scenario's stored sensitivity, uncertainty, risk and voi runs (same settings first,
then newest) and reading their indicator rows, defensively: a damaged run is skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repm.results.store import RunData, find_runs, read_indicators

OTHER = " · other settings than this run's"  # a figure from a run of the scenario's other settings


@dataclass(frozen=True)
class Stored:
    """A stored run found for a scenario: its id, folder, metadata and whether its settings are
    the asking run's (same scenario hash) or only its scenario name."""

    run_id: str
    path: Path
    meta: dict
    same_settings: bool


def _meta(path: Path) -> dict | None:
    try:
        meta = json.loads((Path(path) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def stored_runs(command: str, scenario: str | None, scenario_hash: str | None) -> list[Stored]:
    """The stored runs of `command` for the scenario: same settings first, then newest first.
    A run that weighed other scenarios with it (`--alternative`) is not one of its runs: its
    samples ran those scenarios too (meta `alternatives`)."""
    if not scenario:
        return []
    try:
        rows = find_runs(command, scenario)
    except Exception:  # noqa: BLE001 - a busy or damaged catalog: show nothing rather than fail
        return []
    found = []
    for r in rows:
        meta = _meta(r["path"])
        if meta is not None and not meta.get("alternatives"):
            found.append(
                Stored(r["run_id"], Path(r["path"]), meta, r["scenario_hash"] == scenario_hash)
            )
    return sorted(found, key=lambda s: not s.same_settings)  # stable: newest first within


def indicators(stored: Stored | RunData) -> pd.DataFrame | None:
    if isinstance(stored, RunData):
        return stored.indicators
    try:
        return read_indicators(stored.path)
    except Exception:  # noqa: BLE001 - an unreadable table: skip the run
        return None


def as_int(v) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def as_float(v) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def latest_risk(run: RunData):
    """The run itself if it is a risk run, else the newest stored risk run of the scenario."""
    if run.meta.get("command") == "risk":
        return run
    from repm.results.store import load_run

    for s in stored_runs("risk", run.meta.get("scenario"), run.meta.get("scenario_hash")):
        try:
            return load_run(s.run_id)
        except Exception:  # noqa: BLE001 - a damaged run: try the next
            continue
    return None
