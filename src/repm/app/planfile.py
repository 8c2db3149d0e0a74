"""Reading a plan file (`repm plan --save-plan` writes one; `run/risk --plan` read it) as strictly
as a scenario: UTF-8, of bounded size, each key once, only known fields, every number finite and
within its range, import shares in [0, 1] summing to 1, years within the horizon, materials and
origins known. Every mistake in the file is reported at once, on one line."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import ValidationError

from repm.errors import UserError, fmt_value
from repm.scenario.yamlread import decode, read_mapping

MAX_PLAN_BYTES = 1024 * 1024  # a plan is ~1 KB
MAX_PLAN_VALUES = 10_000
# the model's flows are checked to 1e-6 t of mass balance in double precision: capacities and
# stockpiles beyond this many tonnes cannot be represented to that accuracy (issue 15 part 6)
MAX_TONNES = 1e9
SHARE_SUM_TOL = 1e-6


def read_plan_text(path: Path) -> str:
    where = str(path)
    if not path.is_file():
        raise UserError(
            "plan file not found; expected a file written by `repm plan --save-plan`", where=where
        )
    size = path.stat().st_size
    if size > MAX_PLAN_BYTES:
        raise UserError(
            f"{size:,} bytes; expected a plan file of at most {MAX_PLAN_BYTES:,} bytes", where=where
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the plan file ({exc.strerror})", where=where) from None
    return decode(data, where)


def _number(errors: list[str], where: str, v: object, *, high: float, unit: str) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        errors.append(f"{where}: {fmt_value(v)}; expected a finite number of {unit}")
        return False
    if not 0 <= v <= high:
        errors.append(f"{where}: {v:g}; expected 0 to {high:g} {unit}")
        return False
    return True


def check_plan(raw: dict, chain) -> tuple[dict, list[str]]:
    """The plan's decisions and every mistake found in them."""
    from repm.chain.plan import PlanFile

    errors: list[str] = []
    if set(raw) != {"plan"}:
        keys = ", ".join(map(repr, raw)) or "none"
        return {}, [f"top-level keys {keys}; expected the single key `plan`"]
    try:
        pf = PlanFile.model_validate(raw["plan"])
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in ("plan", *e["loc"]))
            got = e.get("input")
            shown = (
                ""
                if isinstance(got, dict) or e["type"] == "missing"
                else f" (got {fmt_value(got)})"
            )
            errors.append(f"{loc}: {e['msg']}{shown}")
        return {}, errors
    years = [int(y) for y in chain.years]
    for y, v in pf.capacity.items():
        if y not in years:
            errors.append(f"plan.capacity.{y}: year outside the horizon {years[0]}–{years[-1]}")
        _number(errors, f"plan.capacity.{y}", v, high=MAX_TONNES, unit="t/yr")
    for m, v in pf.stockpile.items():
        if m not in chain.materials or chain.model.material(m).kind == "embedded":
            allowed = [x for x in chain.materials if chain.model.material(x).kind != "embedded"]
            errors.append(
                f"plan.stockpile.{m}: unknown stockpile material; expected one of "
                f"{', '.join(allowed)}"
            )
        _number(errors, f"plan.stockpile.{m}", v, high=MAX_TONNES, unit="t")
    for m, by in pf.import_shares.items():
        if m not in chain.materials:
            errors.append(f"plan.import_shares.{m}: unknown material")
            continue
        ok = True
        for o, v in by.items():
            if o not in chain.origins:
                errors.append(
                    f"plan.import_shares.{m}.{o}: unknown origin; expected one of "
                    f"{', '.join(chain.origins)}"
                )
                ok = False
            ok &= _number(errors, f"plan.import_shares.{m}.{o}", v, high=1.0, unit="share (0–1)")
        if ok and abs(sum(by.values()) - 1) > SHARE_SUM_TOL:
            errors.append(
                f"plan.import_shares.{m}: shares sum to {sum(by.values()):.6g}; expected 1"
            )
    return {"capacity": pf.capacity, "shares": pf.import_shares, "stockpile": pf.stockpile}, errors


def load_plan(path: Path, chain):
    """Read, check and build a plan file into the engine's Plan for this chain; returns the Plan
    and the file's text (stored with the run). One line naming every mistake."""
    from repm.chain.plan import build_plan

    path = Path(path)
    text = read_plan_text(path)
    raw = read_mapping(text, str(path), expected="a plan file", limit=MAX_PLAN_VALUES)
    decisions, errors = check_plan(raw, chain)
    if errors:
        more = f" ({len(errors)} mistakes)" if len(errors) > 1 else ""
        raise UserError("; ".join(errors) + more, where=str(path))
    return build_plan(chain, **decisions), text
