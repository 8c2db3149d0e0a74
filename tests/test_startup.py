"""Start-up (issue 11 part 8): the uncompiled kernel gives the compiled kernel's numbers bit for
bit, so a few draws may run without loading the compiler; the compiling notice; the compiled
fact table cache."""

from __future__ import annotations

import types

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.scenario import load_scenario
from repm.simulate import arrays, engine, jit, kernel, loop
from repm.simulate.shocks import sample


def _both(monkeypatch, name: str, draws: int = 0, step: str = "monthly"):
    """The kernel's outputs for a scenario, once as plain Python and once compiled."""
    got = {}

    def python_then_compiled(inp, out, threads=None):
        kernel._block(0, out.unmet.shape[0], inp, out)  # the plain Python function
        got["py"] = [a.copy() for a in out]
        kernel.compiled()._block(0, out.unmet.shape[0], inp, out)
        got["nb"] = [a.copy() for a in out]

    monkeypatch.setattr(kernel, "run", python_then_compiled)
    loaded = load_scenario(name, [])
    chain = compile_chain(loaded.scenario)
    shocks = sample(loaded.scenario.risk, chain, np.arange(draws), 3) if draws else None
    engine.simulate(chain, shocks=shocks, step=step)
    return got["py"], got["nb"]


@pytest.mark.parametrize(
    "name, draws, step",
    [
        ("india-baseline", 0, "monthly"),
        ("india-baseline", 0, "yearly"),
        ("india-tolling-japan", 0, "monthly"),
        ("india-overseas-mines", 0, "monthly"),
        ("india-baseline", 6, "monthly"),  # restriction episodes, demand shifts
    ],
)
def test_uncompiled_kernel_is_bit_identical(monkeypatch, name, draws, step):
    py, nb = _both(monkeypatch, name, draws, step)
    for field, a, b in zip(arrays.Outputs._fields, py, nb, strict=True):
        assert a.tobytes() == b.tobytes(), f"{field} differs between Python and compiled kernel"


def test_few_draws_run_uncompiled_and_many_compiled(monkeypatch):
    calls = []
    monkeypatch.setattr(jit, "is_compiled", lambda name: False)
    monkeypatch.setattr(kernel, "compiled", lambda: calls.append(1) or jit.compiled(loop))
    chain = compile_chain(load_scenario("india-baseline", []).scenario)
    engine.simulate(chain)
    assert calls == []  # one draw: plain Python
    loaded = load_scenario("india-baseline", [])
    engine.simulate(chain, shocks=sample(loaded.scenario.risk, chain, np.arange(40), 0))
    assert calls  # 40 draws: compiled


def test_compiling_notice_once_on_stderr(monkeypatch, capsys):
    """Numba's compile event for one of repm's functions prints the notice, once per process;
    a compile of someone else's function prints nothing (a load from the cache fires no event)."""
    monkeypatch.setattr(jit, "_NOTICED", False)
    notice = jit._Notice()

    def compiling(fn):
        return types.SimpleNamespace(data={"dispatcher": types.SimpleNamespace(py_func=fn)})

    notice.on_start(compiling(np.diff))
    assert capsys.readouterr().err == ""
    notice.on_start(compiling(kernel._block))
    notice.on_start(compiling(kernel._block))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("compiling the engine once for this machine") == 1
    assert len(captured.err.splitlines()) == 1


def test_fact_table_cache_is_keyed_by_content(tmp_path, monkeypatch):
    from repm.model import facts

    monkeypatch.setenv("REPM_CACHE_DIR", str(tmp_path / "cache"))
    files = list(facts._data_files())
    first = facts.cached_table(files)
    cached = list((tmp_path / "cache").glob("facts-*.pickle"))
    assert len(cached) == 1
    again = facts.cached_table(files)  # from the pickle
    assert again.facts == first.facts and again.sources == first.sources
    cached[0].write_bytes(b"not a pickle")  # a damaged file is rebuilt
    assert facts.cached_table(files).facts == first.facts
    changed = files[:-1] + [(files[-1][0], files[-1][1] + "\n# edited\n")]
    facts.cached_table(changed)
    assert len(list((tmp_path / "cache").glob("facts-*.pickle"))) == 2


# --- imports a plain run does not need (repm.startup) -----------------------------------------

_FRESH_RUN = r"""
import json, sys
from pathlib import Path
import numpy as np

from repm.app import RunRequest, run

a = run(RunRequest())
kept_out = {m: m in sys.modules for m in ("dask", "dask.base", "dask.array", "distributed")}
from repm.model.units import pint, registry
pint_works = registry().Quantity(2500, "kg").to("t").magnitude == 2.5 and "pint" in sys.modules

import xarray as xr
import dask
import dask.array as da
import distributed  # as if a client might be running: xarray's own path, unchanged
from packaging.version import Version
from xarray.namedarray import pycompat

from repm.results.store import write_run

b = write_run(a.results, command="run", scenario_raw=a.loaded.raw, scenario_hash=a.loaded.hash)[1]
lazy = xr.DataArray(da.ones(4, chunks=2))
print(json.dumps({
    "kept_out": kept_out,
    "pint_works": pint_works,
    "distributed_now": "distributed" in sys.modules,
    "same_file": (a.path / "results.nc").read_bytes() == (b / "results.nc").read_bytes(),
    "dask_array_seen": lazy.chunks == ((2, 2),) and not isinstance(lazy.data, np.ndarray),
    "numpy_not_dask": not isinstance(np.ones(2), pycompat.array_type("dask")),
    "dask_version": pycompat.mod_version("dask") == Version(dask.__version__),
}))
"""


def test_a_run_imports_no_dask_and_writes_the_same_file(tmp_path):
    """In a fresh process (what is imported is the point): `repm run` leaves dask unimported
    (pint's, xarray's and to_netcdf's questions answered without it) and pint working; its
    results.nc is byte for byte the file xarray writes once dask and `distributed` are imported;
    xarray still sees dask arrays made afterwards, as dask arrays."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, REPM_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_RUN], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got == {
        "kept_out": {"dask": False, "dask.base": False, "dask.array": False, "distributed": False},
        "pint_works": True,
        "distributed_now": True,  # the second write went xarray's own way
        "same_file": True,
        "dask_array_seen": True,
        "numpy_not_dask": True,
        "dask_version": True,
    }


def test_distributed_is_not_kept_out_while_another_thread_runs():
    """Another thread might be importing it (the dashboard's workers): then nothing changes."""
    import sys
    import threading

    from repm.startup import no_distributed_import

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with no_distributed_import():
            assert sys.modules.get("distributed", 0) is not None
    finally:
        stop.set()
        other.join()
