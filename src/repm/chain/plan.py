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
    import_share: xr.DataArray  # origin × material
    stockpile: xr.DataArray  # material, t held at the start


def build_plan(
    chain: Chain,
    capacity: dict[int, float],
    shares: dict[str, dict[str, float]],
    stockpile: dict[str, float],
) -> Plan:
    """The one way a Plan is made from decisions: effective capacity by year on the oxide route
    (years not given: none), import shares by material × origin (a material given replaces its
    shares whole; others keep the scenario's), strategic stockpile by material (others keep
    the scenario's). The planner's result and a saved plan file both come through here."""
    cap = chain.capacity.copy(data=np.zeros(chain.capacity.shape))
    for y in chain.years:
        cap.loc[{"year": y, "feed": "oxide"}] = capacity.get(int(y), 0.0)
    share = chain.import_share.copy()
    for m, by in shares.items():
        share.loc[{"material": m}] = 0.0
        for o, v in by.items():
            share.loc[{"material": m, "origin": o}] = v
    stock = chain.stockpile0.copy()
    for m, v in stockpile.items():
        stock.loc[{"material": m}] = v
    return Plan(capacity=cap, import_share=share, stockpile=stock)


def default_plan(chain: Chain) -> Plan:
    return Plan(
        capacity=chain.capacity, import_share=chain.import_share, stockpile=chain.stockpile0
    )


# --- plan files: what `repm plan --save-plan` writes and `run/risk --plan` read ----------------
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from pydantic import BaseModel, ConfigDict, ValidationError  # noqa: E402

from repm.errors import UserError  # noqa: E402


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
    """Read a plan file and turn it into the engine's Plan for this chain (one-line errors)."""
    where = str(path)
    if not path.is_file():
        raise UserError(
            "plan file not found; expected a file written by `repm plan --save-plan`", where=where
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        raise UserError("malformed YAML; expected a plan file", where=where) from None
    if not isinstance(raw, dict) or set(raw) != {"plan"}:
        raise UserError("expected a single top-level key `plan`", where=where)
    try:
        pf = PlanFile.model_validate(raw["plan"])
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise UserError(f"plan.{loc}: {e['msg']}", where=where) from None
    years = [int(y) for y in chain.years]
    for y, v in pf.capacity.items():
        if y not in years:
            raise UserError(
                f"plan.capacity.{y}: year outside the horizon {years[0]}–{years[-1]}", where=where
            )
        if not np.isfinite(v) or v < 0:
            raise UserError(
                f"plan.capacity.{y}: {v}; expected a non-negative number of t/yr", where=where
            )
    MATERIALS = chain.materials
    for m, v in pf.stockpile.items():
        if m not in MATERIALS or chain.model.material(m).kind == "embedded":
            raise UserError(f"plan.stockpile.{m}: unknown stockpile material", where=where)
        if v < 0:
            raise UserError(f"plan.stockpile.{m}: {v}; expected ≥ 0 t", where=where)
    for m, by in pf.import_shares.items():
        if m not in MATERIALS:
            raise UserError(f"plan.import_shares.{m}: unknown material", where=where)
        if abs(sum(by.values()) - 1) > 1e-6:
            raise UserError(
                f"plan.import_shares.{m}: shares sum to {sum(by.values()):.6g}; expected 1",
                where=where,
            )
        for o in by:
            if o not in chain.origins:
                raise UserError(f"plan.import_shares.{m}.{o}: unknown origin", where=where)
    return build_plan(chain, pf.capacity, pf.import_shares, pf.stockpile)
