"""The scenario's `uncertainty:` block: per-fact overrides of the shipped uncertainty rule
(repm.analyses.uncertainty.ranges, data/uncertainty.yaml; docs/uncertainty.md).

    uncertainty:
      magnet_conversion_cost_n: {low: 15, high: 21}          # in the fact's unit
      price_ndpr_oxide_ex_china_2025: {low: "50 USD/kg", high: "90 USD/kg", dist: uniform}
      finance_discount_rate: {rel: 0.25}                      # central ± 25 %
      fx_inr_per_usd: {fixed: true}                           # not drawn

Keys are fact ids (`repm facts`). Every mistake of the block is reported at once, on one line.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ValidationError, ValidationInfo

from repm.model.units import to_unit
from repm.scenario.fields import Block

DISTRIBUTIONS = ("triangular", "uniform", "loguniform")


class FactSpread(Block):
    """One fact's range: low and high (quantities; plain numbers are in the fact's unit), or
    rel (a relative half-width), or fixed. dist: triangular (default, mode at the central value),
    uniform or loguniform."""

    low: float | str | None = None
    high: float | str | None = None
    rel: float | None = None
    dist: Literal["triangular", "uniform", "loguniform"] | None = None
    fixed: bool = False


def _number(value: Any, unit: str, fx: float | None) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number or a quantity in {unit}; got {value!r}")
    out = to_unit(value, unit, fx_inr_per_usd=fx)
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number; got {value!r}")
    return float(out)


def _check_one(fid: str, spec: FactSpread, facts, fx: float | None) -> tuple[FactSpread, list[str]]:
    """The entry with low/high converted to the fact's unit, and its mistakes."""
    where = fid  # the loader prefixes the block's name
    if facts is None or fid not in facts:
        return spec, [f"{where}: unknown fact id {fid!r}; expected an id listed by `repm facts`"]
    fact = facts.get(fid)
    c = fact.central
    has_range = spec.low is not None or spec.high is not None
    if spec.fixed:
        if has_range or spec.rel is not None or spec.dist is not None:
            return spec, [f"{where}: fixed: true takes nothing else; expected fixed alone"]
        return spec, []
    if spec.rel is not None and has_range:
        return spec, [f"{where}: both rel and low/high given; expected one of them"]
    if spec.rel is not None:
        if not (math.isfinite(spec.rel) and 0 < spec.rel <= 10):
            return spec, [f"{where}.rel: {spec.rel!r}; expected a relative half-width in (0, 10]"]
        if spec.dist == "loguniform" and spec.rel >= 1:
            return spec, [f"{where}.rel: {spec.rel:g} with loguniform; expected rel < 1 (low > 0)"]
        return spec, []
    if spec.low is None or spec.high is None:
        missing = "low" if spec.low is None else "high"
        return spec, [f"{where}.{missing}: missing; expected low and high, or rel, or fixed: true"]
    errors, lo, hi = [], None, None
    for name in ("low", "high"):
        try:
            v = _number(getattr(spec, name), fact.unit, fx)
        except ValueError as exc:
            errors.append(f"{where}.{name}: {str(exc).removeprefix('Value error, ')}")
            continue
        lo, hi = (v, hi) if name == "low" else (lo, v)
    if errors:
        return spec, errors
    assert lo is not None and hi is not None
    if lo > hi:
        return spec, [f"{where}: low {lo:g} > high {hi:g} {fact.unit}; expected low ≤ high"]
    dist = spec.dist or "triangular"
    if dist == "triangular" and not lo <= c <= hi:
        return spec, [
            f"{where}: {lo:g}–{hi:g} {fact.unit} leaves out the value the model uses ({c:g}); "
            "expected a range around it (or dist: uniform)"
        ]
    if dist == "loguniform" and lo <= 0:
        return spec, [f"{where}.low: {lo:g} with loguniform; expected low > 0"]
    return spec.model_copy(update={"low": lo, "high": hi}), []


def _item(fid: str, raw: Any) -> tuple[FactSpread | None, list[str]]:
    """One entry as a FactSpread, or its mistakes (unknown keys, wrong types), each named."""
    try:
        return FactSpread.model_validate(raw), []
    except ValidationError as exc:
        errs = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in (fid, *e["loc"]))
            if e["type"] == "extra_forbidden":
                errs.append(f"{loc}: unknown key; expected low, high, rel, dist or fixed")
            elif e["type"] == "model_type":
                errs.append(f"{loc}: expected a mapping like {{low: …, high: …}}; got {raw!r}")
            else:
                errs.append(f"{loc}: {e['msg']} (got {e.get('input')!r})")
        return None, errs


def _check(value: dict[str, Any], info: ValidationInfo) -> dict[str, FactSpread]:
    ctx = info.context or {}
    facts, fx = ctx.get("facts"), ctx.get("fx")
    out, errors = {}, []
    for fid, raw in value.items():
        spec, errs = _item(str(fid), raw)
        if spec is not None:
            out[fid], errs = _check_one(str(fid), spec, facts, fx)
        errors += errs
    if errors:
        raise ValueError("; ".join(errors))
    return out


Uncertainty = Annotated[dict[str, Any], AfterValidator(_check)]
