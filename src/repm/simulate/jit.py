"""Compile on demand: functions marked `@njit(...)` stay plain Python until their compiled twins
are asked for, so a process that does not need them never imports Numba.

`compiled(module)` compiles (or loads from Numba's cache) every marked function of a module, in a
namespace of their own where each refers to the others' compiled twins; the module's own names
stay the Python functions. Numba's cache is keyed by the function's name and line and by a stamp
of the sources: the module's own and those of every module whose marked functions it calls
(`source_stamp`). Numba alone stamps only the function's own file, so a stage inlined from another
module and then edited would be served stale from the cache. Before compiling what the cache does not hold, one line
goes to stderr ("compiling the engine once for this machine …"), so a first run does not look hung;
a cached load prints nothing.

The Python functions compute what the compiled ones do, bit for bit, as long as they keep to
float64 arithmetic on array elements in a fixed order (no NumPy reductions, no `fastmath`): the
engine runs a handful of draws uncompiled (`repm.simulate.kernel.run`), which is faster than loading the
compiled kernel, and a first `repm run` needs no compiler at all.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path

# module name -> {function name: Python function}, in definition order
_MARKED: dict[str, dict[str, Callable]] = {}
_COMPILED: dict[str, types.SimpleNamespace] = {}
_STAMPS: dict[str, str] = {}  # module name -> source_stamp, for the cache locator
_NOTICED = False
_LISTENING = False
_LOCK = threading.RLock()
# options of the compiled engine. `fastmath` off: every sum keeps its order, so results are
# reproducible bit for bit — and the same run uncompiled; `nogil`: blocks of draws on threads
KERNEL = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)
# a stage called every step: inlined where it is called (Numba IR), so a stage of its own in the
# source costs no call in the hot loop
STAGE = dict(KERNEL, inline="always")
# the draw loop: KERNEL, compiled by `repm.simulate.pipeline` (copy propagation after inlining,
# and the inputs' arrays read once: the arrays handed to, and read by, inlined stages take no
# reference counts; ~2x and then ~1.1x faster, the same bits)
LOOP = dict(KERNEL, copy_propagate=True)
# the compiling notice's estimate: the kernel and Philox together, CPU seconds measured on a
# 2-core machine (bench/startup.py)
ESTIMATE_S = 45


def njit(**options) -> Callable[[Callable], Callable]:
    """Mark a function for compilation with these `numba.njit` options; returns it unchanged."""

    def mark(fn: Callable) -> Callable:
        _MARKED.setdefault(fn.__module__, {})[fn.__name__] = fn
        fn.__jit_options__ = options  # type: ignore[attr-defined]
        return fn

    return mark


def is_compiled(module_name: str) -> bool:
    """Whether this process already asked for the module's compiled twins."""
    return module_name in _COMPILED


class _Notice:
    """Prints the compiling notice when Numba starts compiling one of repm's functions (not when
    it loads one from its cache: that fires no compile event), once per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def on_start(self, event) -> None:
        global _NOTICED
        fn = getattr(event.data.get("dispatcher"), "py_func", None)
        module = getattr(fn, "__module__", "")
        with self.lock:
            if _NOTICED or module not in _MARKED:
                return
            _NOTICED = True
        print(
            f"repm: compiling the engine once for this machine (about {ESTIMATE_S} s; later "
            "runs load it from the cache) …",
            file=sys.stderr,
            flush=True,
        )

    def on_end(self, event) -> None:
        pass


def _listen() -> None:
    """Register the notice with Numba's event system (once)."""
    global _LISTENING
    if not _LISTENING:
        from numba.core import event

        listener = type("RepmNotice", (_Notice, event.Listener), {})()
        event.register("numba:compile", listener)
        _LISTENING = True


def source_stamp(module: types.ModuleType, deps: set[str]) -> str:
    """sha256 of the module's source (and of `GENERATED`, the source of functions it makes at
    import, and `STAMP`, what else its compiled code depends on, if any), of its marked
    functions' compile options, and of the stamps of the modules in `deps` (those whose marked
    functions it calls, already prepared): any edit along the way changes it."""
    h = hashlib.sha256(Path(inspect.getfile(module)).read_bytes())
    h.update(getattr(module, "GENERATED", "").encode())
    h.update(getattr(module, "STAMP", "").encode())
    # the options each marked function is compiled with (`KERNEL`, `LOOP` … live in this file,
    # which no module's source holds; Numba's cache key does not hold them all, e.g. fastmath)
    marked = _MARKED.get(module.__name__, {})
    h.update(repr(sorted((f, sorted(fn.__jit_options__.items())) for f, fn in marked.items())).encode())
    for dep in sorted(deps):
        h.update(f"{dep}:{_STAMPS[dep]}".encode())
    return h.hexdigest()


def _register_locator() -> None:
    """Put `_SourcesLocator` first among Numba's cache locators (once)."""
    from numba.core import caching

    classes = caching.CacheImpl._locator_classes
    if not any(getattr(c, "__name__", "") == "SourcesLocator" for c in classes):
        classes.insert(0, _locator_class(caching))


def _locator_class(caching):
    class SourcesLocator(caching._CacheLocator):
        """Numba's own locator for the place, `source_stamp` for the freshness (repm's marked
        modules only; any other function is left to Numba's locators)."""

        def __init__(self, inner, stamp: str) -> None:
            self._inner, self._stamp = inner, stamp

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return self._stamp

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            stamp = _STAMPS.get(py_func.__module__)
            if stamp is None:
                return None
            for other in caching.CacheImpl._locator_classes:
                inner = None if other is cls else other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, stamp)
            return None

    return SourcesLocator


def _prepare(module: types.ModuleType) -> types.SimpleNamespace:
    """The module's compiled twins: Numba dispatchers, compiled when first called."""
    name = module.__name__
    if name not in _COMPILED:
        import numba

        _register_locator()
        scope = dict(vars(module))  # the module's constants, compiled twins for marked names
        deps: set[str] = set()
        for k, v in list(scope.items()):  # marked functions imported from another module
            owner = getattr(v, "__module__", None)
            if hasattr(v, "__jit_options__") and owner != name and owner in sys.modules:
                scope[k] = getattr(_prepare(sys.modules[owner]), v.__name__)
                deps.add(owner)
        _STAMPS[name] = source_stamp(module, deps)
        if any(f.__jit_options__.get("copy_propagate") for f in _MARKED.get(name, {}).values()):
            from repm.simulate import pipeline  # the pipeline is part of what the cache holds

            h = hashlib.sha256(_STAMPS[name].encode())
            h.update(Path(inspect.getfile(pipeline)).read_bytes())
            _STAMPS[name] = h.hexdigest()
        twins = {}
        for fname, fn in _MARKED.get(name, {}).items():
            twin = types.FunctionType(fn.__code__, scope, fname, fn.__defaults__, fn.__closure__)
            twin.__qualname__, twin.__module__, twin.__doc__ = fn.__qualname__, name, fn.__doc__
            options = dict(fn.__jit_options__)
            if options.pop("copy_propagate", False):
                from repm.simulate.pipeline import LoopCompiler

                options["pipeline_class"] = LoopCompiler
            twins[fname] = numba.njit(**options)(twin)
        scope.update(twins)
        _COMPILED[name] = types.SimpleNamespace(**twins)
    return _COMPILED[name]


def compiled(module: types.ModuleType) -> types.SimpleNamespace:
    """The compiled twins of `module`'s marked functions (compiled, or loaded from Numba's cache,
    when first called). The first compilation in a process prints one line on stderr."""
    with _LOCK:
        _listen()
        return _prepare(module)


def compiled_call(module_name: str, name: str) -> Callable:
    """A module-level name for the compiled twin of `module_name`'s marked function `name`
    (compiled, or loaded from the cache, on the first call): `philox.onsets = compiled_call(
    __name__, "_onsets")`."""

    def call(*args):
        return getattr(compiled(sys.modules[module_name]), name)(*args)

    call.__name__ = call.__qualname__ = name.lstrip("_")
    return call
