"""repm — plan and stress-test India's sintered NdFeB magnet supply chain.

The Python API (docs/api.md), loaded on first use so `import repm` stays fast:

    import repm
    r = repm.run("india-baseline")          # also: risk, stockpile, plan, finance, sensitivity, uncertainty, voi
    r.indicators.head()                     # pandas: year, name, value, unit, dimensions
    r.dataset                               # xarray Dataset
    print(repm.explain("magnet_demand", 2030))

The package reads in data-flow order (docs/architecture.md): model → scenario → chain →
simulate → analyses → results → app → cli, web, reports. No submodule shares a name with an
API function, so `repm.risk` is always the command.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = ("load", "run", "risk", "stockpile", "plan", "finance", "explain", "compare", "report",
        "runs", "open_run", "sensitivity", "uncertainty", "voi", "Result")  # fmt: skip
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'repm' has no attribute {name!r}")
    from repm import api

    return getattr(api, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
