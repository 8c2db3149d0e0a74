"""repm — plan and stress-test India's sintered NdFeB magnet supply chain.

The Python API (docs/api.md), loaded on first use so `import repm` stays fast:

    import repm
    r = repm.run("india-baseline")          # also: risk, stockpile, plan, finance
    r.indicators.head()                     # pandas: year, name, value, unit, dimensions
    r.dataset                               # xarray Dataset
    print(repm.explain("magnet_demand", 2030))

`repm.risk`, `repm.plan`, `repm.finance`, `repm.explain`, `repm.compare` and `repm.report` are
also the names of modules of this package; those modules are made callable, so `repm.risk(...)` runs the command whether or
not the module has been imported, and `from repm.risk import run_draws` works as before.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

_API = ("load", "run", "risk", "stockpile", "plan", "finance", "explain", "compare", "report",
        "runs", "open_run", "Result")  # fmt: skip
__all__ = ["__version__", *_API]


class _CommandModule(types.ModuleType):
    """A submodule that shares its name with an API function, and runs it when called."""

    def __call__(self, *args, **kwargs):
        from repm import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        # the import system sets `repm.risk` to the module when it is imported: keep it callable
        if name in _API and type(value) is types.ModuleType:
            value.__class__ = _CommandModule
        super().__setattr__(name, value)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'repm' has no attribute {name!r}")
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"repm.{name}") is not None:
        return importlib.import_module(f"repm.{name}")  # made callable on import (above)
    from repm import api

    return getattr(api, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


sys.modules[__name__].__class__ = _Package
