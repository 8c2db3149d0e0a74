"""The indicators, each declared once (data/indicators.yaml): name, unit, label, number format, dimensions, the
command that computes it, its recipe in words and the scenario fields that feed it, and — where
the recipe is arithmetic over other indicators — that arithmetic (`check`), which the tests
evaluate against the computed values.

Calliope keeps its post-processed outputs as math-as-data and PyPSA its attributes in tables;
here one registry serves the results (units), the CLI tables (`TABLES`: which indicators a
printed table shows, in order, with labels and formats), `--json`, `explain`, `compare`, the
report and the dashboard. `IndicatorTable` is the tidy table every command returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from repm.model import default_definition

KEYS = ("sector", "origin", "material", "unit_id", "grade", "element", "channel", "stat")
COLUMNS = ("year", "name", "value", "unit", *KEYS)


@dataclass(frozen=True)
class Indicator:
    name: str
    unit: str
    label: str
    fmt: str = "{:,.0f}"
    dims: tuple[str, ...] = ()  # the keys its rows may carry beside the totals
    command: str = "run"  # the command that computes it (run, risk, plan, finance, stockpile)
    recipe: str = ""  # how it is computed, in words (`repm explain`)
    inputs: tuple[str, ...] = ()  # scenario field prefixes whose facts feed it
    check: str | None = None  # the recipe as arithmetic over other indicators (tested)

    def format(self, value: float) -> str:
        return self.fmt.format(value)


DATA = Path(__file__).resolve().parents[1] / "data" / "indicators.yaml"


@cache
def _data() -> dict:
    import yaml

    with open(DATA, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def _declared() -> list[Indicator]:
    """The indicators of data/indicators.yaml."""
    out = []
    allowed = {"unit", "label", "format", "dims", "command", "recipe", "inputs", "check"}
    for name, e in _data()["indicators"].items():
        unknown = set(e) - allowed
        if unknown or not {"unit", "label"} <= set(e):
            raise ValueError(
                f"{DATA.name}: indicators.{name}: keys {sorted(set(e))}; expected unit and label, "
                f"optionally {', '.join(sorted(allowed - {'unit', 'label'}))}"
            )
        out.append(
            Indicator(
                name, e["unit"], e["label"], fmt=e.get("format", "{:,.0f}"),
                dims=tuple(e.get("dims", ())), command=e.get("command", "run"),
                recipe=e.get("recipe", ""), inputs=tuple(e.get("inputs", ())), check=e.get("check"),
            )
        )  # fmt: skip
    return out


ENV_QUANTITIES = {"energy": "MWh", "water": "m³", "acid": "t", "co2e": "t CO2e"}
ENV_LABELS = {"energy": "Energy", "water": "Water", "acid": "Acid", "co2e": "CO2e"}


def _environment() -> list[Indicator]:
    """The environmental ledger: per quantity, each stage in India, India's total, imports and
    per tonne of magnet supplied."""
    stages = default_definition().stages
    out = []
    for q, u in ENV_QUANTITIES.items():
        for st in stages:
            out.append(Indicator(
                f"env_{q}_{st}", u, f"{ENV_LABELS[q]} {st}",
                recipe=f"the stage's output in India × its {q} per tonne",
                inputs=(f"environment.intensity.{st}.{q}",),
            ))  # fmt: skip
        out += [
            Indicator(
                f"env_{q}_domestic", u, f"{ENV_LABELS[q]} India",
                recipe=f"Σ stages in India: output × {q} per tonne",
                inputs=("environment.intensity",),
                check=" + ".join(f"env_{q}_{st}" for st in stages),
            ),
            Indicator(
                f"env_{q}_imports", u, f"{ENV_LABELS[q]} in imports",
                recipe=f"imports × cradle-to-gate {q} per tonne with India's chain coefficients "
                "(origin figures are not sourced)",
                inputs=("environment.intensity",),
            ),
            Indicator(
                f"env_{q}_per_t_magnet", f"{u}/t", f"{ENV_LABELS[q]} per t magnet", fmt="{:,.1f}",
                recipe=f"(env_{q}_domestic + env_{q}_imports) ÷ magnets supplied (domestic, "
                "tolled and imported)",
                inputs=("environment.intensity",),
                check=f"(env_{q}_domestic + env_{q}_imports) / (magnet_production_domestic "
                "+ magnet_tolled + magnet_imports)",
            ),
        ]  # fmt: skip
    return out


REGISTRY: dict[str, Indicator] = {i.name: i for i in _declared() + _environment()}

# the printed tables: which indicators, in which order
TABLES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _data()["tables"].items()}


def get(name: str) -> Indicator:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"indicator {name!r} is not declared in repm.indicators") from None


def unit(name: str) -> str:
    return get(name).unit


def table(name: str) -> tuple[Indicator, ...]:
    """The indicators a printed table shows, in order."""
    return tuple(get(n) for n in TABLES[name])


class IndicatorTable:
    """The tidy indicator table: one row per year × indicator × dimension keys, fixed columns
    (`COLUMNS`; keys absent for totals are None). Every command returns one."""

    def __init__(self, rows: list[dict] | pd.DataFrame) -> None:
        df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
        for k in COLUMNS:
            if k not in df:
                df[k] = None
        self.frame = df[list(COLUMNS)]

    @classmethod
    def from_rows(cls, rows: list[dict]) -> IndicatorTable:
        """Rows of (year, name, value, dims…); the unit comes from the registry."""
        return cls([{**r, "unit": r.get("unit") or unit(r["name"])} for r in rows])

    def totals(self) -> pd.DataFrame:
        """The rows without a dimension key."""
        df = self.frame
        return df[df[list(KEYS)].isna().all(axis=1)]

    def wide(self) -> pd.DataFrame:
        """year × name of the totals."""
        return self.totals().pivot(index="year", columns="name", values="value")

    def select(self, name: str, **dims: str) -> pd.DataFrame:
        """One indicator's rows with exactly these dimension keys (others absent)."""
        df = self.frame
        mask = df["name"] == name
        for k in KEYS:
            mask &= (df[k] == dims[k]) if k in dims else df[k].isna()
        return df[mask]

    def records(self) -> list[dict]:
        """The `--json` rows: year, name, value, unit and only the keys a row has (read from
        the columns' lists: itertuples took ~4× as long, a run's ~7 ms)."""
        df = self.frame
        keys = [(k, df[k].tolist()) for k in KEYS]
        firsts = zip(*(df[c].tolist() for c in ("year", "name", "value", "unit")), strict=True)
        out = []
        for i, (year, name, value, unit) in enumerate(firsts):
            rec = {"year": int(year), "name": name, "value": float(value), "unit": unit}
            for k, column in keys:
                if isinstance(column[i], str):
                    rec[k] = column[i]
            out.append(rec)
        return out


# --- the arithmetic every indicator shares ------------------------------------------------------


def mean_over_draws(da):
    """An engine output's mean over the draws (the baseline has one draw; yearly inputs none)."""
    return da.mean("draw") if "draw" in da.dims else da


def over_draws(var):
    """An engine output's values averaged over its draws (`mean_over_draws` in numpy, the same
    floats: the indicators read their arrays without xarray's selections and reductions). The
    axes are counted from the last (the draw axis is `-len(dims)`), so values with parameter
    sets before the dims (a block's runs side by side, `Variable`) give each set's own mean."""
    v = var.values
    if "draw" in var.dims[1:]:  # the numpy readers index the axes after it by position
        raise ValueError(f"expected draw first; got {var.dims}")
    if var.dims[:1] != ("draw",):
        return v
    axis = -len(var.dims)
    if v.shape[axis] == 1:  # one draw (a baseline run, a parameter set's): the mean's floats,
        # 0 + x (a zero's sign as numpy's sum gives it) over 1, without a reduction's cost
        return v[(..., 0) + (slice(None),) * (len(var.dims) - 1)] + 0.0
    return v.mean(axis=axis)


def ratio(a, b):
    """a / b where b > 0, else 0: a share of nothing is 0, not nan."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)
