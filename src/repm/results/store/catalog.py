"""Where the store is and its DuckDB catalog: one row per run (command, scenario, seed, draws,
path, headline), opened for one short statement at a time and retried while another process
holds the lock; finding runs by id, command and scenario."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import platformdirs

from repm.errors import UserError
from repm.limits import MAX_SEED

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


class StoreBusy(UserError):
    """The catalog stayed locked by another process: nothing was written (exit 2, one line)."""


def insert(con, meta: dict, path: Path, head: dict) -> None:
    """A run's catalog row, from its meta.json, its folder and its headline."""
    seed = meta.get("seed")
    if not (isinstance(seed, int) and 0 <= seed <= MAX_SEED):
        seed = None  # a stray written before seeds were bounded: meta.json keeps the value
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            meta["run_id"], meta["command"], meta["scenario"], meta["scenario_hash"], seed,
            meta["draws"], dt.datetime.fromisoformat(meta["created_at"]).replace(tzinfo=None),
            meta["version"], str(path.resolve()), json.dumps(head),
        ],
    )  # fmt: skip


def headline(df: pd.DataFrame) -> dict:
    """The numbers a catalog row carries: the last year's demand, domestic production, unmet
    demand and self-sufficiency (totals) of an indicator table."""
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
    raise StoreBusy(
        f"the catalog stayed locked by another process ({str(last).splitlines()[0][:120]}); "
        "expected it free within a few seconds: nothing was written, try again",
        where=f"run store {path}",
    )


# Threads of one process (the dashboard's workers) share one DuckDB instance per file, where two
# concurrent `CREATE TABLE IF NOT EXISTS` or inserts conflict instead of waiting: take turns.
_CATALOG_LOCK = threading.RLock()


@contextmanager
def connect(path: Path):
    with _CATALOG_LOCK:
        con = _connect_with_retry(path)
        try:
            con.execute(_SCHEMA)
            yield con
        finally:
            con.close()


def list_runs(limit: int = 50) -> list[dict]:
    path = store_root() / CATALOG
    if not path.exists():
        return []
    with connect(path) as con:
        cur = con.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", [limit])
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def find_runs(command: str, scenario: str | None = None, limit: int = 200) -> list[dict]:
    """Stored runs of one command (and scenario name), newest first: run_id, scenario,
    scenario_hash, created_at, path. Nothing is created when the store has no catalog."""
    path = store_root() / CATALOG
    if not path.exists():
        return []
    sql = "SELECT run_id, scenario, scenario_hash, created_at, path FROM runs WHERE command = ?"
    args: list = [command]
    if scenario is not None:
        sql += " AND scenario = ?"
        args.append(scenario)
    with connect(path) as con:
        cur = con.execute(sql + " ORDER BY created_at DESC, run_id DESC LIMIT ?", [*args, limit])
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
        with connect(path) as con:
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
