"""The normal CDF of lifetimes, remembered on disk so a warm run need not import scipy.special:
the values are scipy's bit for bit, whether computed, read back or answered by scipy directly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from repm.chain import demand


def test_cached_values_are_scipys(tmp_path, monkeypatch):
    from scipy.special import ndtr

    monkeypatch.setenv("REPM_CACHE_DIR", str(tmp_path))
    z = (np.arange(40) + 0.5 - 13.7) / 4.1
    monkeypatch.delitem(sys.modules, "scipy.special")  # as in a fresh process: the disk first
    first = demand.ndtr(z)
    assert len(list((tmp_path / "ndtr").glob("*.npy"))) == 1
    monkeypatch.delitem(sys.modules, "scipy.special", raising=False)
    again = demand.ndtr(z)  # read back
    assert first.tobytes() == again.tobytes() == ndtr(z).tobytes()
    import scipy.special  # noqa: F401 - imported again

    other = demand.ndtr(z * 2)  # scipy imported now: answered directly, nothing written
    assert other.tobytes() == ndtr(z * 2).tobytes()
    assert len(list((tmp_path / "ndtr").glob("*.npy"))) == 1


def test_the_cache_keeps_a_few_files_and_refuses_a_bad_one(tmp_path, monkeypatch):
    from scipy.special import ndtr

    monkeypatch.setenv("REPM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(demand, "NDTR_FILES", 3)
    zs = [np.linspace(-3, 3, 7) + k for k in range(5)]
    for z in zs:
        monkeypatch.delitem(sys.modules, "scipy.special", raising=False)
        demand.ndtr(z)
    files = list((tmp_path / "ndtr").glob("*.npy"))
    assert len(files) == 3
    for f in files:  # a file of another shape is not an answer
        np.save(f, np.zeros(2))
    monkeypatch.delitem(sys.modules, "scipy.special", raising=False)
    assert demand.ndtr(zs[-1]).tobytes() == ndtr(zs[-1]).tobytes()
    assert not list((tmp_path / "ndtr").glob(".*.tmp"))


def test_a_warm_run_does_not_import_scipy_special(tmp_path):
    """`repm run` twice in fresh processes sharing a cache: the first imports scipy.special for
    the lifetimes' CDF, the second reads it from the cache and never imports it."""
    import os

    env = {**os.environ, "REPM_CACHE_DIR": str(tmp_path / "cache"), "REPM_HOME": str(tmp_path)}
    cmd = [sys.executable, "-X", "importtime", "-m", "repm.cli", "run", "--json"]
    imported = []
    for _ in range(2):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        imported.append(any(line.endswith("| scipy.special") for line in done.stderr.splitlines()))
    assert imported == [True, False]
