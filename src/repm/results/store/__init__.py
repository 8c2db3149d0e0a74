"""The run store: run folders written atomically, plus a DuckDB catalog of runs; and reading a
stored run back (`load_run`), which the report, `compare`, the dashboard and the Python API share.

A run folder is written under a temporary name, then recorded and renamed into place in one
catalog transaction (`write_run`): a reader never sees half a run, and a run is in the catalog
and on disk, or in neither. What a killed writer leaves (a temporary folder, a folder renamed but
not committed) is cleaned up or recorded by the next write (`recover`) and by `repm runs
--repair` (`check_store`). The catalog is opened only for one short write at a time and retried
on a lock, so a CLI run and the dashboard can share it (docs/architecture.md).

In data-flow order:

    catalog.py  where the store is, the DuckDB catalog (one short connection at a time, retried
                on a lock), a run's row and headline, finding runs
    write.py    `write_run`: a run folder written under a temporary name, recorded and renamed
                into place in one transaction
    folder.py   reading a run folder back: `RunData`, `load_run`, its indicator table
    repair.py   what an interrupted write left: `recover` (every write, cheaply) and
                `check_store` (`repm runs --check/--repair`)

The names below are the store's interface; callers import them from `repm.results.store`.
"""

from repm.results.store.catalog import (
    CATALOG,
    StoreBusy,
    find_run,
    find_runs,
    list_runs,
    store_root,
)
from repm.results.store.folder import RunData, load_run, read_indicators
from repm.results.store.repair import StoreCheck, check_store, recover
from repm.results.store.write import check_out_dir, write_run

__all__ = [
    "CATALOG", "RunData", "StoreBusy", "StoreCheck", "check_out_dir", "check_store", "find_run",
    "find_runs", "list_runs", "load_run", "read_indicators", "recover", "store_root", "write_run",
]  # fmt: skip
