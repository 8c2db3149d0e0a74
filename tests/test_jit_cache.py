"""The compiled engine's cache notices an edit in any module it calls into, not only its own.

Numba stamps a cached function with its own file only: a stage inlined from another module and
then edited would be loaded stale. `repm.simulate.jit` stamps a module with its source and the
stamps of the modules whose marked functions it calls."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

STAGE = """
from repm.simulate.jit import njit, STAGE

@njit(**STAGE)
def stage(x):
    return x + {add}
"""
CALLER = """
from repm.simulate.jit import njit, KERNEL
from stagemod import stage

@njit(**KERNEL)
def outer(x):
    return stage(x) * 10.0
"""
RUN = """
import sys, callermod
from repm.simulate import jit
print(jit.compiled(sys.modules["callermod"]).outer(1.0))
"""


def _run(tmp: Path) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "cache"), "PYTHONPATH": str(tmp)}
    proc = subprocess.run(
        [sys.executable, "-c", RUN], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def test_an_edit_in_an_inlined_stage_reaches_the_cached_caller(tmp_path: Path) -> None:
    (tmp_path / "callermod.py").write_text(textwrap.dedent(CALLER))
    (tmp_path / "stagemod.py").write_text(STAGE.format(add=1.0))
    assert _run(tmp_path) == "20.0"  # compiled and cached: (1 + 1) × 10
    assert _run(tmp_path) == "20.0"  # loaded from the cache
    (tmp_path / "stagemod.py").write_text(STAGE.format(add=2.0))  # the caller's file unchanged
    assert _run(tmp_path) == "30.0"  # not the stale 20.0 Numba's own stamp would serve


def test_the_stamp_follows_the_sources(tmp_path: Path, monkeypatch) -> None:
    import importlib

    from repm.simulate import jit

    (tmp_path / "stamp_a.py").write_text("x = 1\n")
    (tmp_path / "stamp_b.py").write_text("y = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    a, b = importlib.import_module("stamp_a"), importlib.import_module("stamp_b")
    monkeypatch.setitem(jit._STAMPS, "stamp_a", jit.source_stamp(a, set()))
    before = jit.source_stamp(b, {"stamp_a"})
    assert before == jit.source_stamp(b, {"stamp_a"})  # deterministic
    assert before != jit.source_stamp(b, set())  # the dependency counts
    (tmp_path / "stamp_a.py").write_text("x = 3\n")
    monkeypatch.setitem(jit._STAMPS, "stamp_a", jit.source_stamp(a, set()))
    assert jit.source_stamp(b, {"stamp_a"}) != before


FIELDS = """
from collections import namedtuple
P = namedtuple("P", {order!r})
"""
READER = """
from repm.simulate.jit import njit, KERNEL
from fieldsmod import P
{stamp}

@njit(**KERNEL)
def first(p):
    return p.a
"""
RUN_READER = """
import fieldsmod, readmod
from repm.simulate import jit
print(jit.compiled(readmod).first(fieldsmod.P(a=1.0, b=2.0)))
"""


def test_a_field_order_in_the_stamp_reaches_the_cached_reader(tmp_path: Path) -> None:
    """Numba's cache key holds a namedtuple's field types, not their names: a reader compiled
    when `a` came first, served from the cache after `a` and `b` (one type) are swapped, would
    read `b`. A module's `STAMP` (the loop's: `arrays.Inputs`' and `Outputs`' fields) is part of
    its cache stamp, so the swap compiles it again."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", RUN_READER], env=env, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip

    (tmp_path / "readmod.py").write_text(READER.format(stamp="STAMP = repr(P._fields)"))
    (tmp_path / "fieldsmod.py").write_text(FIELDS.format(order=["a", "b"]))
    assert run() == "1.0"  # compiled and cached
    (tmp_path / "fieldsmod.py").write_text(FIELDS.format(order=["b", "a"]))  # reader unchanged
    assert run() == "1.0"  # not b's 2.0 from the stale positions


def test_the_loop_stamps_its_inputs_fields():
    from repm.simulate import arrays, jit, loop

    assert loop.STAMP == repr((arrays.Inputs._fields, arrays.Outputs._fields))
    before = jit.source_stamp(loop, set())
    loop.STAMP, saved = loop.STAMP + " ", loop.STAMP
    try:
        assert jit.source_stamp(loop, set()) != before
    finally:
        loop.STAMP = saved


def test_the_stamp_holds_the_compile_options(monkeypatch):
    """A marked function's options (fastmath, inlining …) are in its module's stamp: Numba's
    cache key does not hold them all, and a cached function compiled with others would be
    served."""
    from repm.simulate import jit, loop

    before = jit.source_stamp(loop, set())
    fn = jit._MARKED[loop.__name__]["_block"]
    monkeypatch.setattr(fn, "__jit_options__", {**fn.__jit_options__, "fastmath": True})
    assert jit.source_stamp(loop, set()) != before
