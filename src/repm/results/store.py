"""The run store: run folders written atomically, plus a DuckDB catalog of runs; and reading a
stored run back (`load_run`), which the report, `compare`, the dashboard and the Python API share.

A run folder is written under a temporary name, then recorded and renamed into place in one
catalog transaction (`write_run`): a reader never sees half a run, and a run is in the catalog
and on disk, or in neither. What a killed writer leaves (a temporary folder, a folder renamed but
not committed) is cleaned up or recorded by the next write (`recover`) and by `repm runs
--repair` (`check_store`). The catalog is opened only for one short write at a time and retried
on a lock, so a CLI run and the dashboard can share it (docs/architecture.md).
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
from repm.limits import MAX_SEED
from repm.results.build import Results
from repm.startup import no_distributed_import

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


class StoreBusy(UserError):
    """The catalog stayed locked by another process: nothing was written (exit 2, one line)."""


def _fault(step: str) -> None:
    """A named point in the write, where the fault-injection tests fail or kill the writer."""


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
    """Write a run folder and record it in the catalog, both or neither. `files` are small text
    files stored beside the results (a plan the run simulated).

    The folder is written under a temporary name; then, in one catalog transaction, the row is
    inserted, the folder renamed into place and the transaction committed. Any failure before
    the commit (an insert refused, a locked catalog, Ctrl-C) undoes the rename and removes the
    folder. Only a kill between the rename and the commit can leave a folder without its row: a
    journal file (`.pending-RUN_ID.json` in the store) names it, and the next write (or
    `repm runs --repair`) records it. A reader never sees a row without its complete folder."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserError(f"{seed}; expected an integer seed from 0 to 2^63 − 1", where="--seed")
    run_id = new_run_id(scenario_hash)
    root = store_root()
    target = out if out is not None else root / "runs" / run_id
    check_out_dir(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create {str(exc.filename or target.parent)!r} ({exc.strerror}); expected a "
            "writable folder: nothing was written",
            where="--out" if out is not None else "run store",
        ) from None
    recover(root)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        tmp.mkdir()
        _fault("mkdir")
        ds = results.data.copy()
        ds.attrs = {k: str(v) for k, v in ds.attrs.items()}
        ds = _label_flows(ds)
        # NetCDF3 reads a zero-length dimension as its one unlimited dimension, and a second one
        # makes the file unreadable: drop empty dimensions (no routes, no overseas sources)
        ds = ds.drop_dims([d for d, n in ds.sizes.items() if n == 0])
        with no_distributed_import():  # xarray would import it to ask for a client: ~1 s
            ds.to_netcdf(tmp / "results.nc", engine="scipy")
        _fault("results.nc")
        con = duckdb.connect()
        df = results.indicators  # noqa: F841  (read by DuckDB by name)
        con.execute(
            f"COPY (SELECT * FROM df) TO '{(tmp / 'indicators.parquet').as_posix()}' (FORMAT parquet)"
        )
        con.close()
        _fault("indicators.parquet")
        (tmp / "scenario.yaml").write_text(
            yaml.safe_dump(scenario_raw, sort_keys=False, allow_unicode=True), encoding="utf-8"
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
        for name, text in (files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        _fault("meta.json")
        _commit(root, meta, tmp, target, headline(results))
    except OSError as exc:  # a full disk, a read-only folder: say so in one line
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(
            f"cannot write the run folder ({exc.strerror or exc}); expected a writable folder "
            "with free space: nothing was written",
            where="--out" if out is not None else f"run store {root}",
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_id, target


def _journal(root: Path, run_id: str) -> Path:
    return root / f".pending-{run_id}.json"


def _commit(root: Path, meta: dict, tmp: Path, target: Path, head: dict) -> None:
    """Insert the row, rename the folder into place, commit; undo the rename on any failure."""
    journal = _journal(root, meta["run_id"])
    renamed = committed = False
    try:
        entry = {"run_id": meta["run_id"], "path": str(target.resolve()), "pid": os.getpid()}
        journal.write_text(json.dumps(entry), encoding="utf-8")
        _fault("journal")
        with _catalog(root / CATALOG) as con:
            con.begin()
            _insert(con, meta, target, head)
            _fault("insert")
            os.rename(tmp, target)
            renamed = True
            _fault("rename")
            con.commit()
            committed = True
            _fault("commit")
    except BaseException:
        if renamed and not committed:
            os.rename(target, tmp)  # the caller removes it
        journal.unlink(missing_ok=True)
        raise
    journal.unlink(missing_ok=True)


def _insert(con, meta: dict, path: Path, head: dict) -> None:
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
    return _headline(results.indicators)


def _headline(df: pd.DataFrame) -> dict:
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
def _catalog(path: Path):
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
    with _catalog(path) as con:
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
    with _catalog(path) as con:
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


# --- finding and repairing what an interrupted write left ------------------------------------

_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>[0-9]+)-[0-9a-f]{6}$")
_PENDING = re.compile(r"^\.pending-(?P<run_id>.+)\.json$")
RUN_FILES = ("meta.json", "results.nc", "indicators.parquet", "scenario.yaml")


# a write takes seconds; a temporary folder or journal this much older than its last change
# is stale even if its process id has been reused
STALE_AFTER_S = 3600


def _alive(pid: int, path: Path | None = None) -> bool:
    """Whether the writer with this id may still finish its write: its process exists here and
    `path` (its temporary folder or journal) changed within STALE_AFTER_S."""
    if path is not None:
        try:
            if time.time() - path.stat().st_mtime > STALE_AFTER_S:
                return False
        except OSError:
            return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: assume it is writing
    return True


def _stale_temps(folder: Path) -> tuple[list[Path], list[Path]]:
    """Temporary run folders under `folder`: (stale: their writer is gone, in progress)."""
    stale, live = [], []
    if not folder.is_dir():
        return stale, live
    for p in folder.iterdir():
        m = _TEMP.match(p.name)
        if m and p.is_dir():
            (live if _alive(int(m["pid"]), p) else stale).append(p)
    return stale, live


def _read_meta(folder: Path) -> dict | None:
    """A complete run folder's meta.json (None if the folder is not a complete run)."""
    if not all((folder / f).is_file() for f in RUN_FILES):
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("run_id", "command", "scenario", "scenario_hash", "draws", "version", "created_at")
    return meta if isinstance(meta, dict) and all(k in meta for k in keys) else None


def _record(con, folder: Path, meta: dict) -> None:
    """Roll a complete folder forward: insert its catalog row from its own files."""
    try:
        head = _headline(read_indicators(folder))
    except Exception:  # noqa: BLE001 - an unreadable table still gets its row; report shows why
        head = {}
    _insert(con, meta, folder, head)


def _resolve_journal(con, journal: Path) -> str | None:
    """Finish or drop a pending write whose writer is gone; what was done (None: left alone)."""
    try:
        entry = json.loads(journal.read_text(encoding="utf-8"))
        run_id, path, pid = entry["run_id"], Path(entry["path"]), int(entry["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)
        return f"removed unreadable journal {journal.name}"
    if _alive(pid, journal):
        return None
    done = f"dropped the unfinished write of {run_id}"
    if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
        done = f"{run_id} was recorded; removed its journal"
    else:
        meta = _read_meta(path)
        if meta is not None and meta.get("run_id") == run_id:
            _record(con, path, meta)
            done = f"recorded {run_id} (its folder was complete)"
    for p in _stale_temps(path.parent)[0]:
        if p.name.startswith(f".{path.name}.tmp-"):
            shutil.rmtree(p, ignore_errors=True)
    journal.unlink(missing_ok=True)
    return done


def recover(root: Path | None = None) -> list[str]:
    """What every write does first, cheaply: remove temporary folders whose writer is gone and
    finish the pending writes of dead writers. Returns what was done."""
    root = root or store_root()
    done = []
    for p in _stale_temps(root / "runs")[0]:
        shutil.rmtree(p, ignore_errors=True)
        done.append(f"removed temporary folder {p.name}")
    journals = [p for p in root.glob(".pending-*.json") if _PENDING.match(p.name)]
    if journals and (root / CATALOG).exists():
        with _catalog(root / CATALOG) as con:
            for j in journals:
                what = _resolve_journal(con, j)
                if what:
                    done.append(what)
    return done


@dataclass
class StoreCheck:
    """What `repm runs --check` finds (and, with repair, what it did)."""

    temporary: list[str]  # temporary folders of writers that are gone
    writing: list[str]  # temporary folders of writers still running (left alone)
    pending: list[str]  # run ids whose write stopped between the rename and the commit
    unrecorded: list[str]  # complete run folders without a catalog row
    damaged: list[str]  # folders in runs/ that are not complete runs (left alone)
    missing: list[str]  # catalog rows whose folder is gone
    repaired: list[str]

    @property
    def problems(self) -> int:
        return sum(
            len(x)
            for x in (self.temporary, self.pending, self.unrecorded, self.damaged, self.missing)
        )

    def as_dict(self) -> dict:
        return {k: list(v) for k, v in self.__dict__.items()} | {"problems": self.problems}


def check_store(repair: bool = False) -> StoreCheck:
    """Find what interrupted writes left in the store; with `repair`, record complete folders
    that have no row, drop rows whose folder is gone, remove dead writers' temporary folders and
    finish their pending writes. Folders in runs/ that are not complete runs are reported and
    never deleted; what a live writer is doing is left alone."""
    root = store_root()
    runs_dir = root / "runs"
    stale, live = _stale_temps(runs_dir)
    found = StoreCheck([p.name for p in stale], [p.name for p in live], [], [], [], [], [])
    journals = sorted(p for p in root.glob(".pending-*.json") if _PENDING.match(p.name))
    busy = set()  # run ids a live writer is committing
    for j in journals:
        run_id = _PENDING.match(j.name)["run_id"]
        try:
            pid = int(json.loads(j.read_text(encoding="utf-8"))["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            pid = -1
        if _alive(pid, j):
            busy.add(run_id)
            found.writing.append(f"{run_id} (committing)")
        else:
            found.pending.append(run_id)
    busy |= {_TEMP.match(p.name)["name"] for p in live}
    catalog = root / CATALOG
    # a check creates nothing: without a catalog there is nothing recorded (yet)
    use_catalog = catalog.exists() or (repair and runs_dir.is_dir())
    with _catalog(catalog) if use_catalog else _no_catalog() as con:
        rows = dict(con.execute("SELECT run_id, path FROM runs").fetchall()) if con else {}
        found.missing = sorted(r for r, p in rows.items() if not (Path(p) / "meta.json").is_file())
        for p in sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []:
            if p.name.startswith(".") or p.name in rows or p.name in busy | set(found.pending):
                continue
            meta = _read_meta(p)
            if p.is_dir() and meta is not None and meta.get("run_id") == p.name:
                found.unrecorded.append(p.name)
            else:
                found.damaged.append(p.name)
        if not repair:
            return found
        for p in stale:
            shutil.rmtree(p, ignore_errors=True)
            found.repaired.append(f"removed temporary folder {p.name}")
        if con is None:
            return found
        for j in journals:
            what = _resolve_journal(con, j)
            if what:
                found.repaired.append(what)
        for run_id in found.unrecorded:
            folder = runs_dir / run_id
            _record(con, folder, _read_meta(folder))
            found.repaired.append(f"recorded {run_id}")
        for run_id in found.missing:
            con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
            found.repaired.append(f"dropped the row of {run_id} (its folder is gone)")
    return found


@contextmanager
def _no_catalog():
    yield None
