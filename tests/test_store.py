"""The run store as one transaction (issue 15 part 1): a run is in the catalog and on disk, or in
neither, whatever fails or is killed during the write; what a killed writer leaves is found and
repaired by `repm runs`."""

from __future__ import annotations

import json
import os
import subprocess as sp
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import xarray as xr
from conftest import run_cli

from repm.errors import UserError
from repm.results import store
from repm.results.build import Results
from repm.results.indicators import IndicatorTable
from repm.results.store import catalog, write

# every named point of a write, in order (store.write._fault)
STEPS = ("mkdir", "results.nc", "indicators.parquet", "meta.json", "journal", "insert", "rename",
         "commit")  # fmt: skip
BEFORE_COMMIT = STEPS[:-1]


def _results() -> Results:
    rows = [{"year": 2035, "name": "magnet_demand", "value": 123.0, "unit": "t"}]
    ds = xr.Dataset({"x": ("year", [1.0])}, coords={"year": [2035]})
    return Results(data=ds, indicators=IndicatorTable(rows).frame, scenario="tiny")


def _write(**kw):
    return store.write_run(
        _results(), command="run", scenario_raw={"name": "tiny"}, scenario_hash="0123abcd" * 2,
        **kw,
    )  # fmt: skip


def _catalog_ids(home: Path) -> set[str]:
    if not (home / store.CATALOG).exists():
        return set()
    con = duckdb.connect(str(home / store.CATALOG), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}
    finally:
        con.close()


def _folders(home: Path) -> set[str]:
    runs = home / "runs"
    return {p.name for p in runs.iterdir()} if runs.is_dir() else set()


def _leftovers(home: Path) -> list[str]:
    """Anything a write leaves besides complete runs: temporary folders and journals."""
    names = [p.name for p in home.iterdir()] if home.is_dir() else []
    return sorted(n for n in names if n.startswith(".pending-")) + sorted(
        n for n in _folders(home) if n.startswith(".")
    )


def _both_or_neither(home: Path) -> None:
    """Every catalog row has its complete folder and every folder in runs/ its row."""
    ids, folders = _catalog_ids(home), _folders(home)
    assert ids == folders, (ids, folders)
    for run_id in ids:
        assert store.load_run(run_id).meta["run_id"] == run_id


def test_a_write_records_the_folder_and_its_row_and_leaves_nothing_else(repm_home):
    run_id, path = _write(seed=7)
    assert path == repm_home / "runs" / run_id
    assert _catalog_ids(repm_home) == {run_id} == _folders(repm_home)
    assert _leftovers(repm_home) == []
    assert store.load_run(run_id).meta["seed"] == 7


@pytest.mark.parametrize("step", BEFORE_COMMIT)
def test_a_failure_at_any_step_before_the_commit_leaves_no_run(step, repm_home, monkeypatch):
    """Also the case the issue found: the insert fails after the folder is complete (a seed
    DuckDB cannot store, a locked catalog). Before, the folder stayed without its row."""
    _write()  # the catalog exists and holds one run, as it would in use
    before = _catalog_ids(repm_home)

    def fail(at: str) -> None:
        if at == step:
            raise OSError(f"injected failure at {at}")

    monkeypatch.setattr(write, "_fault", fail)
    with pytest.raises((OSError, UserError), match="injected|nothing was written"):
        _write()
    assert _catalog_ids(repm_home) == before
    assert _folders(repm_home) == before
    assert _leftovers(repm_home) == []


def test_an_insert_duckdb_refuses_leaves_no_folder(repm_home, monkeypatch):
    _write()
    before = _catalog_ids(repm_home)

    def refuse(con, meta, path, head):
        raise duckdb.ConversionException("Type UINT64 with value 9223372036854775808 can't be cast")

    monkeypatch.setattr(write, "insert", refuse)
    with pytest.raises(duckdb.ConversionException):
        _write()
    assert _folders(repm_home) == before == _catalog_ids(repm_home)
    assert _leftovers(repm_home) == []


def test_a_locked_catalog_is_one_line_and_leaves_nothing(repm_home, monkeypatch):
    _write()
    before = _folders(repm_home)
    with monkeypatch.context() as m:
        m.setattr(catalog.duckdb, "connect", _locked(catalog.duckdb.connect, repm_home))
        m.setattr(catalog.time, "sleep", lambda s: None)
        with pytest.raises(UserError, match="locked by another process.*nothing was written"):
            store.write_run(_results(), command="run", scenario_raw={}, scenario_hash="f" * 16)
    assert _folders(repm_home) == before == _catalog_ids(repm_home)
    assert _leftovers(repm_home) == []


def _locked(connect, home):
    def fake(path=":memory:", *a, **kw):
        if str(path) == str(home / store.CATALOG):
            raise duckdb.IOException("Could not set lock on file: Conflicting lock is held")
        return connect(path, *a, **kw)

    return fake


def test_a_failure_after_the_commit_keeps_the_whole_run(repm_home, monkeypatch):
    def fail(at: str) -> None:
        if at == "commit":
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(write, "_fault", fail)
        with pytest.raises(KeyboardInterrupt):
            _write()
    assert len(_catalog_ids(repm_home)) == 1
    _both_or_neither(repm_home)
    assert _leftovers(repm_home) == []


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64 + 5])
def test_seeds_outside_the_stated_range_are_refused_before_writing(seed, repm_home):
    with pytest.raises(UserError, match="expected an integer seed from 0 to 2\\^63"):
        _write(seed=seed)
    assert not repm_home.exists()


# --- kills ------------------------------------------------------------------------------------

KILLER = textwrap.dedent(
    """
    import os, sys
    import xarray as xr
    from repm.results import store
    from repm.results.store import write
    from repm.results.build import Results
    from repm.results.indicators import IndicatorTable

    base, steps = sys.argv[1], sys.argv[2:]
    rows = [{"year": 2035, "name": "magnet_demand", "value": 123.0, "unit": "t"}]
    results = Results(xr.Dataset({"x": ("year", [1.0])}, coords={"year": [2035]}),
                      IndicatorTable(rows).frame, "tiny")
    results.data.to_netcdf(os.path.join(base, "warm.nc"), engine="scipy")  # import once, here
    os.remove(os.path.join(base, "warm.nc"))
    writers = {}
    for step in steps:  # one writer per step, side by side, each with its own store
        home = os.path.join(base, step)
        os.environ["REPM_HOME"] = home
        pid = os.fork()
        if pid == 0:  # the writer: killed (no cleanup, no atexit) at `step`
            write._fault = lambda at, step=step: os._exit(9) if at == step else None
            store.write_run(results, command="run", scenario_raw={}, scenario_hash="a" * 16)
            os._exit(0)
        writers[step] = pid
    for step, pid in writers.items():
        _, status = os.waitpid(pid, 0)
        print(step, os.waitstatus_to_exitcode(status), flush=True)
    """
)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """One store per step, each with a writer killed at that step (a separate process: a kill
    runs no cleanup, which is the point)."""
    base = tmp_path_factory.mktemp("killed")
    proc = sp.run([sys.executable, "-c", KILLER, str(base), *STEPS], capture_output=True,
                  text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    codes = dict(line.split() for line in proc.stdout.splitlines())
    assert codes == {s: "9" for s in STEPS}, proc.stdout  # each writer died at its step
    return base


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_never_shows_a_row_without_its_folder(step, killed, monkeypatch):
    home = killed / step
    monkeypatch.setenv("REPM_HOME", str(home))
    ids = _catalog_ids(home)
    assert ids <= _folders(home)  # a reader may miss a run, never find half of one
    assert len(ids) == (1 if step == "commit" else 0)
    for run_id in ids:
        assert store.load_run(run_id).meta["run_id"] == run_id


@pytest.mark.parametrize("step", STEPS)
def test_repm_runs_repair_leaves_every_killed_write_whole_or_gone(step, killed, tmp_path):
    home = tmp_path / "home"
    import shutil

    shutil.copytree(killed / step, home, symlinks=True)
    res = run_cli(["runs", "--repair"], home=home)
    assert res.returncode == 0, res.stderr
    os.environ["REPM_HOME"] = str(home)
    _both_or_neither(home)
    assert _leftovers(home) == []
    # the folder was complete from the rename on: it is recorded, nothing is lost
    assert len(_catalog_ids(home)) == (1 if step in ("rename", "commit") else 0)
    again = run_cli(["runs", "--json"], home=home)
    assert json.loads(again.stdout)["check"]["problems"] == 0


def test_the_next_write_cleans_up_after_a_killed_writer(killed, tmp_path, monkeypatch):
    """No command needed: the next run removes dead writers' temporary folders and records the
    folder a writer killed between rename and commit left."""
    import shutil

    for step in ("results.nc", "rename"):
        home = tmp_path / step
        shutil.copytree(killed / step, home)
        monkeypatch.setenv("REPM_HOME", str(home))
        assert _leftovers(home) != []
        run_id, _ = _write()
        assert _leftovers(home) == []
        _both_or_neither(home)
        assert len(_catalog_ids(home)) == (2 if step == "rename" else 1)


# --- repm runs --------------------------------------------------------------------------------


def test_repm_runs_finds_and_repairs_strays(repm_home):
    """What the old store left (a complete folder without its row), a row whose folder was
    deleted, a dead writer's temporary folder; a live writer's and a foreign folder are left."""
    kept, _ = _write()
    lost, lost_path = _write()
    unrecorded, _ = _write()
    con = duckdb.connect(str(repm_home / store.CATALOG))
    con.execute("DELETE FROM runs WHERE run_id = ?", [unrecorded])
    con.close()
    import shutil

    shutil.rmtree(lost_path)
    dead = repm_home / "runs" / f".{'x' * 8}.tmp-{_dead_pid()}-abcdef"
    dead.mkdir()
    live = repm_home / "runs" / f".{'y' * 8}.tmp-{os.getpid()}-abcdef"
    live.mkdir()
    (repm_home / "runs" / "notes").mkdir()

    res = run_cli(["runs", "--json"])
    check = json.loads(res.stdout)["check"]
    assert check["unrecorded"] == [unrecorded]
    assert check["missing"] == [lost]
    assert check["temporary"] == [dead.name]
    assert check["writing"] == [live.name]
    assert check["damaged"] == ["notes"]
    text = run_cli(["runs"])
    assert "1 complete run folder(s) without a catalog row" in text.stdout
    assert "`repm runs --repair`" in text.stdout

    fixed = run_cli(["runs", "--repair"])
    assert fixed.returncode == 0, fixed.stderr
    assert f"repaired: recorded {unrecorded}" in fixed.stdout
    assert _catalog_ids(repm_home) == {kept, unrecorded}
    assert not dead.exists() and live.exists() and (repm_home / "runs" / "notes").is_dir()
    recorded = store.load_run(unrecorded)
    assert recorded.meta["run_id"] == unrecorded
    row = next(r for r in store.list_runs() if r["run_id"] == unrecorded)
    assert json.loads(row["headline"]) == {"magnet_demand_2035": 123.0}
    after = json.loads(run_cli(["runs", "--json"]).stdout)["check"]
    assert after["problems"] == 1 and after["damaged"] == ["notes"]


def _dead_pid() -> int:
    proc = sp.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_seed_beyond_the_range_is_one_line_exit_2_in_every_command(repm_home):
    for args in (["risk", "--draws", "1"], ["stockpile", "--draws", "1"], ["plan"], ["finance"]):
        res = run_cli([*args, "--seed", str(2**64 + 3)])
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.startswith("error: --seed: 18446744073709551619; expected an integer")
        assert len(res.stderr.splitlines()) == 1
    assert not repm_home.exists()


def test_scenario_yaml_is_pyyamls_text():
    """scenario.yaml is `yaml.safe_dump`'s text byte for byte: libyaml's emitter writes it where
    the two agree (every shipped scenario), PyYAML's where they do not (line breaks and controls
    in a string, characters beyond the BMP, NEL, empty or long keys), and random documents of
    both kinds come out alike."""
    import datetime
    import random

    import yaml

    from repm.scenario import load_scenario
    from repm.scenario.load import shipped_names

    def pyyaml(doc):
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    for name in shipped_names():
        raw = load_scenario(name).raw
        assert write._emitted_alike(raw), name
        assert write.scenario_text(raw) == pyyaml(raw), name
    differ = ["a 😀", "NEL\x85", "tab\there", "line  \nbreak " * 9, "\u2028", "bell\x07"]
    for s in differ:
        assert not write._emitted_alike({"k": s})
    assert not write._emitted_alike({"": 1}) and not write._emitted_alike({"é" * 62: 1})
    rnd = random.Random(0)
    chars = [chr(c) for c in range(0x20, 0x7F)] + list("₹—×é€中\xa0\ufffd")
    words = ["yes", "null", "~", "1e3", "2025-01-01", "- ", ": ", " #", "'", '"', "&", "*", ""]

    def text(n: int) -> str:
        out = "".join(rnd.choice(words + chars) for _ in range(rnd.randint(0, n)))
        return out + rnd.choice(differ) if rnd.random() < 0.02 else out

    def node(depth: int):
        k = rnd.random()
        if depth > 2 or k < 0.5:
            return rnd.choice(
                [text(6), text(60), 1.5, -0.0, 7, True, None, datetime.date(2025, 1, 2), [], {}]
            )
        if k < 0.75:
            return {
                rnd.choice([text(4), "x" * rnd.randint(118, 130), 2025]): node(depth + 1)
                for _ in range(3)
            }
        return [node(depth + 1) for _ in range(3)]

    alike = 0
    for _ in range(1500):
        doc = {"name": text(4), "description": text(120), "body": node(0)}
        alike += write._emitted_alike(doc)
        assert write.scenario_text(doc) == pyyaml(doc)
    assert 300 < alike < 1200  # both emitters were exercised
