"""`write_run`: a run folder (results.nc, indicators.parquet, scenario.yaml, meta.json) written
under a temporary name, then recorded and renamed into place in one catalog transaction, with a
journal naming the folder between the rename and the commit."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from pathlib import Path

import duckdb
import yaml

from repm import __version__
from repm.errors import UserError
from repm.limits import MAX_SEED
from repm.results.build import Results
from repm.results.store.catalog import CATALOG, connect, headline, insert, store_root
from repm.results.store.repair import journal_path, recover
from repm.startup import no_distributed_import


def new_run_id(scenario_hash: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{scenario_hash[:8]}-{secrets.token_hex(2)}"


def check_out_dir(out: Path | None) -> None:
    """Fail before any work if --out points at something that already exists."""
    if out is not None and out.exists():
        raise UserError(
            f"{str(out)!r} already exists; expected a new folder for the run", where="--out"
        )


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
        (tmp / "scenario.yaml").write_text(scenario_text(scenario_raw), encoding="utf-8")
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
        _commit(root, meta, tmp, target, headline(results.indicators))
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


def scenario_text(raw: dict) -> str:
    """scenario.yaml's text: `yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)`, by
    libyaml's emitter (~4 ms, not ~20) where it writes the same bytes as PyYAML's."""
    dumper = getattr(yaml, "CSafeDumper", None)
    if dumper is None or not _emitted_alike(raw):
        dumper = yaml.SafeDumper
    return yaml.dump(raw, Dumper=dumper, sort_keys=False, allow_unicode=True)


def _emitted_alike(node, key: bool = False) -> bool:
    """Whether libyaml's emitter writes this as PyYAML's does: strings of printable characters
    of the Basic Multilingual Plane (no line breaks, tabs or controls); numbers, booleans, None
    and dates; keys non-empty and under 123 bytes. Outside that the two differ (double-quoted
    line folding, NEL and the line/paragraph separators, astral characters; an empty key, or
    one of 123+ characters or 128+ bytes, is written `? key` by one and `key:` by the other),
    and PyYAML's writes it."""
    if isinstance(node, dict):
        return all(_emitted_alike(k, True) and _emitted_alike(v) for k, v in node.items())
    if isinstance(node, list):
        return not key and all(_emitted_alike(v) for v in node)
    if not (node is None or isinstance(node, str | int | float | dt.date)):
        return False
    text = node if isinstance(node, str) else str(node)
    if key and not 0 < len(text.encode("utf-8")) < 123:
        return False
    return text.isprintable() and (not text or max(text) <= "\uffff")


def _commit(root: Path, meta: dict, tmp: Path, target: Path, head: dict) -> None:
    """Insert the row, rename the folder into place, commit; undo the rename on any failure."""
    journal = journal_path(root, meta["run_id"])
    renamed = committed = False
    try:
        entry = {"run_id": meta["run_id"], "path": str(target.resolve()), "pid": os.getpid()}
        journal.write_text(json.dumps(entry), encoding="utf-8")
        _fault("journal")
        with connect(root / CATALOG) as con:
            con.begin()
            insert(con, meta, target, head)
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


def _label_flows(ds):
    """Store each flow's source and target process beside it, so a report draws the run's own
    network even after the engine's flow table changes."""
    if "flow" not in ds.coords or "flow_source" in ds.coords:
        return ds
    from repm.simulate.arrays import FLOWS

    ends = {name: (a, b) for name, a, b in FLOWS}
    flows = [str(f) for f in ds["flow"].values]
    return ds.assign_coords(
        flow_source=("flow", [ends[f][0] for f in flows]),
        flow_target=("flow", [ends[f][1] for f in flows]),
    )
