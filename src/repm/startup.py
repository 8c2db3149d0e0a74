"""Imports a command does not need, kept out of its start-up (issue 11 part 8; bench/startup.py).

The installed dask is imported by two libraries on every `repm run` although a run holds no dask
array and no dask scheduler is running: xarray asks for the `dask.array` type the first time it
makes a variable (to check whether the data is a dask array), and xarray's `to_netcdf` imports
`dask.distributed` to ask whether a distributed client is the active scheduler. Together they
were about 1.3 of a warm run's 3 CPU seconds. Both questions have an answer that needs no import:

- nothing can be a dask array while `dask.array` has never been imported;
- no distributed client can be active while `distributed` has never been imported.

`xarray_asks_dask_lazily` and `no_distributed_import` give xarray those answers, and behave as
before whenever dask is in use (a dask array exists, a client may be running, another thread
may be importing). Since 84ad31b a warm run imports no dask at all (~0.25 s more): pint is
imported without asking for it (`import_pint`: pint's own dask support stays off for the
process, which repm never uses), xarray's `is_dask_collection` answers False while dask was
never imported, and `to_netcdf` asks which scheduler is active with all of dask kept out when
dask was never imported (no dask scheduler can then be in use here, whatever dask's config
names: xarray takes a thread lock and writes the same file). tests/test_startup.py checks both
ways.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_DISTRIBUTED = ("distributed", "dask.distributed")


class _DaskArrayType(type):
    """isinstance(x, DaskArray) without importing dask.array: False until it has been imported,
    then the real check."""

    def __instancecheck__(cls, obj: object) -> bool:
        module = sys.modules.get("dask.array")
        array = getattr(module, "Array", None)
        return array is not None and isinstance(obj, array)


class DaskArray(metaclass=_DaskArrayType):
    """Stands for dask.array.Array in xarray's duck-array checks (never instantiated)."""


def xarray_asks_dask_lazily() -> None:
    """Let xarray check for dask arrays without importing dask.array (~0.1–0.6 CPU s).

    xarray keeps what it learned about each duck-array library in a small cache
    (`xarray.namedarray.pycompat`), filled on first use by importing the library. This puts a
    lazy entry for dask there: its array type is `DaskArray` above, its module and version are
    looked up when read. Does nothing if xarray has already looked at dask, or if xarray's
    internals are not the ones this was written against (then xarray imports dask as before)."""
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover
        return
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    base = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or base is None or "dask" in cache:
        return
    if "dask.array" in sys.modules:  # dask arrays may exist: let xarray import as it does
        return

    class LazyDask(base):
        def __init__(self) -> None:  # the attributes xarray reads without importing
            self.type = (DaskArray,)
            self.available = True

        @property
        def module(self):
            import dask

            return dask

        @property
        def version(self):
            from packaging.version import Version

            return Version(self.module.__version__)

    cache.setdefault("dask", LazyDask())
    _dask_collections_lazily()


def _dask_collections_lazily() -> None:
    """xarray asks `dask.base.is_dask_collection(x)` of the data of every index it makes, which
    imports dask (~0.25 s) whenever it is installed: nothing is a dask collection while dask has
    never been imported, so the answer is False until then, the real check after. Does nothing
    if xarray's internals are not the ones this was written against."""
    try:
        from xarray.namedarray import utils
    except ImportError:  # pragma: no cover
        return
    real = getattr(utils, "is_dask_collection", None)
    if real is None or getattr(real, "_repm_lazy", False):
        return

    def is_dask_collection(x: object) -> bool:
        return sys.modules.get("dask") is not None and real(x)  # None: kept out

    is_dask_collection._repm_lazy = True  # type: ignore[attr-defined]
    utils.is_dask_collection = is_dask_collection


def import_pint():
    """`import pint`, without pint importing `dask.base` (~0.14 s of a warm run): pint asks
    `find_spec("dask")` once, at import, to offer `Quantity.compute()` on dask arrays, which repm
    never makes. While pint is imported here, `sys.modules["dask"]` is None, so the question
    answers None; the entry is then removed, and dask imports as usual for whoever needs it
    (`repm risk --scheduler`). Imports pint as it is when dask or pint is already imported or
    another thread runs (it might be importing dask)."""
    if "pint" in sys.modules or "dask" in sys.modules or threading.active_count() > 1:
        import pint

        return pint
    with _refused(("dask",)):
        import pint
    return pint


@contextmanager
def _refused(names: tuple[str, ...]) -> Iterator[None]:
    """Inside: importing these modules fails with ImportError (and `find_spec` answers None), the
    documented import block (a None in sys.modules); the entries are removed after."""
    for name in names:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in names:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


@contextmanager
def no_distributed_import() -> Iterator[None]:
    """Inside: `import distributed` (and `import dask`, when dask was never imported) fails with
    ImportError, as if it were not installed — but only when it has not been imported yet, this
    is the only thread (so nothing else can be importing it meanwhile) and, once dask is
    imported, no dask scheduler is configured. Otherwise nothing changes.

    For xarray's `to_netcdf`, which imports `dask.distributed` (~0.5–1.3 CPU s with everything it
    pulls in) only to ask whether a distributed client is running; without the module the answer
    is no, which is also the true answer when it has never been imported. When dask itself was
    never imported, all of dask is kept out (a scheduler named in dask's config is then not
    consulted: nothing here computes with dask, and the file written is the same); when it was,
    a scheduler named in its config keeps `distributed` importable."""
    if any(name in sys.modules for name in _DISTRIBUTED) or threading.active_count() > 1:
        yield
        return
    if "dask" not in sys.modules:
        # dask never imported here: no dask array, client or scheduler can be in use, and xarray
        # imports dask only to ask which scheduler is (none: it then takes a thread lock to
        # write, the same file): keep all of dask out (~0.25 s)
        names: tuple[str, ...] = ("dask", *_DISTRIBUTED)
    else:
        import dask.config

        if dask.config.get("scheduler", None) is not None:  # named in dask's config: dask
            yield  # looks it up as it always does
            return
        names = _DISTRIBUTED
    with _refused(names):
        yield
