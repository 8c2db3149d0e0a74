"""Finding and repairing what an interrupted write left: temporary folders of writers that are
gone, journals of writes killed between the rename and the commit, complete folders without a
catalog row, rows whose folder is gone. `recover` runs before every write; `check_store` is
`repm runs --check` (and `--repair`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from repm.results.store.catalog import CATALOG, connect, headline, insert, store_root
from repm.results.store.folder import read_indicators, read_meta

_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>[0-9]+)-[0-9a-f]{6}$")
_PENDING = re.compile(r"^\.pending-(?P<run_id>.+)\.json$")


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


def journal_path(root: Path, run_id: str) -> Path:
    """The journal a write keeps between renaming its folder into place and committing its row."""
    return root / f".pending-{run_id}.json"


def record(con, folder: Path, meta: dict) -> None:
    """Roll a complete folder forward: insert its catalog row from its own files."""
    try:
        head = headline(read_indicators(folder))
    except Exception:  # noqa: BLE001 - an unreadable table still gets its row; report shows why
        head = {}
    insert(con, meta, folder, head)


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
        meta = read_meta(path)
        if meta is not None and meta.get("run_id") == run_id:
            record(con, path, meta)
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
        with connect(root / CATALOG) as con:
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
    with connect(catalog) if use_catalog else _no_catalog() as con:
        rows = dict(con.execute("SELECT run_id, path FROM runs").fetchall()) if con else {}
        found.missing = sorted(r for r, p in rows.items() if not (Path(p) / "meta.json").is_file())
        for p in sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []:
            if p.name.startswith(".") or p.name in rows or p.name in busy | set(found.pending):
                continue
            meta = read_meta(p)
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
            record(con, folder, read_meta(folder))
            found.repaired.append(f"recorded {run_id}")
        for run_id in found.missing:
            con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
            found.repaired.append(f"dropped the row of {run_id} (its folder is gone)")
    return found


@contextmanager
def _no_catalog():
    yield None
