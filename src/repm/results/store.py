"""The run store: run folders written atomically, plus a DuckDB catalog of runs; and reading a
stored run back (`load_run`), which the report, `compare`, the dashboard and the Python API share.

A run folder is written under a temporary name and renamed into place, so a reader never sees
half a run. The catalog is opened only for one short write at a time and retried on a lock, so a
CLI run and the dashboard can share it (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import platformdirs
import xarray as xr
import yaml

from repm import __version__
from repm.errors import UserError
from repm.results.build import Results

CATALOG = "catalog.duckdb"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    command VARCHAR,
    scenario VARCHAR,
    scenario_hash VARCHAR,
    seed BIGINT,
    draws BIGINT,
    created_at TIMESTAMP,
    version VARCHAR,
    path VARCHAR,
    headline JSON
)
"""


def store_root() -> Path:
    """$REPM_HOME, else the user's data folder (never the repository)."""
    env = os.environ.get("REPM_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("repm"))


def new_run_id(scenario_hash: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{scenario_hash[:8]}-{secrets.token_hex(2)}"


def check_out_dir(out: Path | None) -> None:
    """Fail before any work if --out points at something that already exists."""
    if out is not None and out.exists():
        raise UserError(
            f"{str(out)!r} already exists; expected a new folder for the run", where="--out"
        )


def write_run(
    results: Results,
    *,
    command: str,
    scenario_raw: dict,
    scenario_hash: str,
    seed: int | None = None,
    draws: int = 1,
    out: Path | None = None,
    extra_meta: dict | None = None,
    files: dict[str, str] | None = None,
) -> tuple[str, Path]:
    """Write a run folder atomically and record it in the catalog. `files` are small text files
    stored beside the results (a plan the run simulated)."""
    run_id = new_run_id(scenario_hash)
    root = store_root()
    target = out if out is not None else root / "runs" / run_id
    check_out_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        tmp.mkdir()
        ds = results.data.copy()
        ds.attrs = {k: str(v) for k, v in ds.attrs.items()}
        ds = _label_flows(ds)
        # NetCDF3 reads a zero-length dimension as its one unlimited dimension, and a second one
        # makes the file unreadable: drop empty dimensions (no routes, no overseas sources)
        ds = ds.drop_dims([d for d, n in ds.sizes.items() if n == 0])
        ds.to_netcdf(tmp / "results.nc", engine="scipy")
        con = duckdb.connect()
        df = results.indicators  # noqa: F841  (read by DuckDB by name)
        con.execute(
            f"COPY (SELECT * FROM df) TO '{(tmp / 'indicators.parquet').as_posix()}' (FORMAT parquet)"
        )
        con.close()
        (tmp / "scenario.yaml").write_text(
            yaml.safe_dump(scenario_raw, sort_keys=False, allow_unicode=True)
        )
        meta = {
            "run_id": run_id,
            "command": command,
            "scenario": results.scenario,
            "scenario_hash": scenario_hash,
            "seed": seed,
            "draws": draws,
            "version": __version__,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            **(extra_meta or {}),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _catalog_insert(root, meta, target, headline(results))
    return run_id, target


def _label_flows(ds):
    """Store each flow's source and target process beside it, so a report draws the run's own
    network even after the engine's flow table changes."""
    if "flow" not in ds.coords or "flow_source" in ds.coords:
        return ds
    from repm.simulate.kernel import FLOWS

    ends = {name: (a, b) for name, a, b in FLOWS}
    flows = [str(f) for f in ds["flow"].values]
    return ds.assign_coords(
        flow_source=("flow", [ends[f][0] for f in flows]),
        flow_target=("flow", [ends[f][1] for f in flows]),
    )


def headline(results: Results) -> dict:
    df = results.indicators
    last = int(df["year"].max())
    out = {}
    for name in ("magnet_demand", "magnet_production_domestic", "unmet_demand", "self_sufficiency"):
        rows = df[
            (df["name"] == name) & (df["year"] == last) & df["sector"].isna() & df["origin"].isna()
        ]
        if len(rows):
            out[f"{name}_{last}"] = float(rows["value"].iloc[0])
    return out


def _connect_with_retry(
    path: Path, attempts: int = 50, wait: float = 0.1
) -> duckdb.DuckDBPyConnection:
    last: Exception | None = None
    for i in range(attempts):
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:  # another process holds the write lock
            last = exc
            time.sleep(wait * (1 + i % 5))
    raise RuntimeError(f"run store catalog {path} stayed locked: {last}")


# Threads of one process (the dashboard's workers) share one DuckDB instance per file, where two
# concurrent `CREATE TABLE IF NOT EXISTS` or inserts conflict instead of waiting: take turns.
_CATALOG_LOCK = threading.RLock()


@contextmanager
def _catalog(path: Path):
    with _CATALOG_LOCK:
        con = _connect_with_retry(path)
        try:
            con.execute(_SCHEMA)
            yield con
        finally:
            con.close()


def _catalog_insert(root: Path, meta: dict, path: Path, head: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with _catalog(root / CATALOG) as con:
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                meta["run_id"], meta["command"], meta["scenario"], meta["scenario_hash"], meta["seed"],
                meta["draws"], dt.datetime.fromisoformat(meta["created_at"]).replace(tzinfo=None),
                meta["version"], str(path.resolve()), json.dumps(head),
            ],
        )  # fmt: skip


def list_runs(limit: int = 50) -> list[dict]:
    path = store_root() / CATALOG
    if not path.exists():
        return []
    with _catalog(path) as con:
        cur = con.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", [limit])
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}-[0-9a-f]{4}$")


def find_run(run_id: str | None = None) -> tuple[str, Path]:
    """(run id, folder) of a stored run; the newest when `run_id` is None."""
    if run_id is not None and not RUN_ID.match(run_id):
        raise UserError(
            f"{run_id!r}; expected a run id like 20260101T120000-0123abcd-4f5e", where="run id"
        )
    path = store_root() / CATALOG
    row = None
    if path.exists():
        with _catalog(path) as con:
            if run_id is None:
                row = con.execute(
                    "SELECT run_id, path FROM runs ORDER BY created_at DESC LIMIT 1"
                ).fetchone()
            else:
                row = con.execute(
                    "SELECT run_id, path FROM runs WHERE run_id = ?", [run_id]
                ).fetchone()
    if row is None:
        what = "no runs yet" if run_id is None else f"no run {run_id!r}"
        raise UserError(
            f"{what} in the run store {store_root()}; expected the id of a stored run (`repm run` prints it)"
        )
    folder = Path(row[1])
    if not (folder / "meta.json").is_file():
        raise UserError(f"run folder {folder} is gone; expected a stored run", where=row[0])
    return row[0], folder


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
