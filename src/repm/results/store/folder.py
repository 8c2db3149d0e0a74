"""A stored run folder read back once (`RunData`, `load_run`): what the report, `compare`, the
dashboard and the Python API read; and whether a folder is a complete run (`read_meta`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import xarray as xr
import yaml

from repm.errors import UserError
from repm.results.store.catalog import find_run

RUN_FILES = ("meta.json", "results.nc", "indicators.parquet", "scenario.yaml")


def read_indicators(folder: Path):
    """A run folder's indicator table as a DataFrame (DuckDB reads the Parquet file)."""
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT * FROM '{(folder / 'indicators.parquet').as_posix()}'").df()
    finally:
        con.close()


@dataclass(frozen=True)
class RunData:
    """What a run folder holds, read once."""

    run_id: str
    path: Path
    meta: dict
    indicators: pd.DataFrame
    data: xr.Dataset
    scenario_raw: dict
    plan: dict | None  # the plan file a `--plan` run simulated (or a `repm plan` run made)

    @property
    def years(self) -> list[int]:
        if "year" in self.data.coords:
            return [int(y) for y in self.data["year"].values]
        return sorted(int(y) for y in self.indicators["year"].unique())


def load_run(run_id: str | None = None) -> RunData:
    """Read a stored run (the newest when run_id is None)."""
    run_id, folder = find_run(run_id)
    meta = json.loads((folder / "meta.json").read_text())
    try:
        with xr.open_dataset(folder / "results.nc", engine="scipy") as ds:
            data = ds.load()
    except Exception as exc:  # a damaged or foreign file: say which, without a traceback
        raise UserError(
            f"cannot read results.nc ({type(exc).__name__}); expected a run folder written by repm",
            where=str(folder),
        ) from None
    raw = yaml.safe_load((folder / "scenario.yaml").read_text()) or {}
    plan_file = folder / "plan.yaml"
    plan = (
        (yaml.safe_load(plan_file.read_text()) or {}).get("plan") if plan_file.is_file() else None
    )
    return RunData(run_id, folder, meta, read_indicators(folder), data, raw, plan)


def read_meta(folder: Path) -> dict | None:
    """A complete run folder's meta.json (None if the folder is not a complete run)."""
    if not all((folder / f).is_file() for f in RUN_FILES):
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("run_id", "command", "scenario", "scenario_hash", "draws", "version", "created_at")
    return meta if isinstance(meta, dict) and all(k in meta for k in keys) else None
