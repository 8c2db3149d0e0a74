"""A Plan: the decisions the engine simulates — capacity, sourcing shares, stockpiles.

`default_plan` reads them from the compiled chain (the scenario as written); the optimizer
(issue 4) writes the same object, so any plan, optimized or hand-written, is tested the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

from repm.chain import Chain


@dataclass(frozen=True)
class Plan:
    capacity: xr.DataArray  # year × feed, effective magnet capacity, t/yr
    import_share: xr.DataArray  # origin × material, or year × origin × material
    stockpile: xr.DataArray  # material, t held at the start


def build_plan(
    chain: Chain,
    capacity: dict[int, float],
    shares: dict[str, dict[str, float]],
    stockpile: dict[str, float],
) -> Plan:
    """The one way a Plan is made from decisions: effective capacity by year on the oxide route
    (years not given: none), import shares by material × origin (a material given replaces its
    shares whole, from the first year after `risk.as_of`: the years of history keep the
    scenario's, as they happened; others keep the scenario's), strategic stockpile by material
    (others keep the scenario's). The planner's result and a saved plan file both come through
    here."""
    cap = chain.capacity.copy(data=np.zeros(chain.capacity.shape))
    for y in chain.years:
        cap.loc[{"year": y, "feed": "oxide"}] = capacity.get(int(y), 0.0)
    # year × origin × material: the scenario's shares, the plan's from its first planned year
    share = shares_by_year(chain).copy()
    planned = chain.years[chain.first_planned_year :]
    for m, by in shares.items():
        share.loc[{"year": planned, "material": m}] = 0.0
        for o, v in by.items():
            share.loc[{"year": planned, "material": m, "origin": o}] = v
    stock = chain.stockpile0.copy()
    for m, v in stockpile.items():
        stock.loc[{"material": m}] = v
    return Plan(capacity=cap, import_share=share, stockpile=stock)


def shares_by_year(chain: Chain) -> xr.DataArray:
    """The chain's import shares, year × origin × material: as compiled where a group follows a
    year path (`trade.share_paths`), else the one split repeated every year."""
    share = chain.import_share
    if "year" not in share.dims:
        share = share.expand_dims(year=chain.years)
    return share.transpose("year", "origin", "material")


def default_plan(chain: Chain) -> Plan:
    return Plan(
        capacity=chain.capacity, import_share=chain.import_share, stockpile=chain.stockpile0
    )


# --- plan files: what `repm plan --save-plan` writes and `run/risk --plan` read ----------------
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from pydantic import BaseModel, ConfigDict  # noqa: E402


class PlanFile(BaseModel):
    """A saved plan: effective domestic capacity by year (oxide-fed units), strategic stockpile by
    material (t at the start), and import shares by material × origin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str
    objective_crore_inr: float | None = None
    capacity: dict[int, float]
    stockpile: dict[str, float] = {}
    import_shares: dict[str, dict[str, float]] = {}


def save_plan(
    path: Path,
    *,
    scenario: str,
    objective: float,
    capacity: dict[int, float],
    stockpile: dict,
    shares: dict,
) -> None:
    doc = {
        "plan": PlanFile(
            scenario=scenario, objective_crore_inr=objective,
            capacity={int(y): float(v) for y, v in capacity.items()},
            stockpile={m: float(v) if v > 0 else 0.0 for m, v in stockpile.items()},
            import_shares={m: {o: float(v) for o, v in by.items()} for m, by in shares.items()},
        ).model_dump()
    }  # fmt: skip
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(
        "# written by `repm plan`; read by `repm run --plan` and `repm risk --plan`\n"
        + yaml.safe_dump(doc, sort_keys=False)
    )
    tmp.replace(path)


def load_plan(path: Path, chain: Chain) -> Plan:
    """Read a plan file and turn it into the engine's Plan for this chain (one-line errors,
    every mistake at once): read and checked by repm.app.planfile."""
    from repm.app.planfile import load_plan as read

    return read(path, chain)[0]
