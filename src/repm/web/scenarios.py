"""Scenarios as the dashboard takes them: a shipped name or uploaded YAML, loaded and validated
exactly as the CLI does, and the lever values the page starts from."""

from __future__ import annotations

import tempfile
from pathlib import Path

from repm.errors import UserError, fmt_value
from repm.web.models import MAX_YAML_BYTES


def load(req_scenario: str | None, yaml_text: str | None, sets: list[str]):
    """Load and validate a scenario exactly as the CLI does (uploads go through a temp file)."""
    from repm.scenario import load_scenario

    if (req_scenario is None) == (yaml_text is None):
        raise UserError("expected exactly one of `scenario` (a shipped name) or `yaml` (text)")
    if yaml_text is None:
        from repm.scenario import shipped_names

        if req_scenario not in shipped_names():
            raise UserError(
                f"no such scenario {req_scenario!r}; expected one of: {', '.join(shipped_names())}",
                where="scenario",
            )
        return load_scenario(req_scenario, sets)
    size = len(yaml_text.encode())
    if size > MAX_YAML_BYTES:
        raise TooLarge(size)
    _check_extends(yaml_text)
    with tempfile.TemporaryDirectory(prefix="repm-upload-") as tmp:
        path = Path(tmp) / "upload.yaml"
        path.write_text(yaml_text, encoding="utf-8")
        try:
            loaded = load_scenario(str(path), sets)
        except UserError as exc:  # name the upload, not the temporary file
            raise UserError(str(exc).replace(str(path), "upload")) from None
    import dataclasses

    return dataclasses.replace(loaded, source="upload")


def _check_extends(text: str) -> None:
    """An upload may extend a shipped scenario, never a path on the server."""
    import yaml

    from repm.scenario import shipped_names

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return  # load_scenario reports it with line and column
    parent = data.get("extends") if isinstance(data, dict) else None
    if parent is not None and parent not in shipped_names():
        raise UserError(
            f"{fmt_value(parent)}; expected a shipped scenario name ({', '.join(shipped_names())})",
            where="upload: extends",
        )


class TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(f"scenario YAML is {size:,} bytes; expected at most {MAX_YAML_BYTES:,}")


def levers(loaded) -> dict:
    """What the page's levers start from: the scenario's units, events, stockpile and SLI bid."""
    sc = loaded.scenario
    units = [
        {"index": i, "name": u.name, "capacity": u.capacity, "first_year": u.first_year,
         "award_year": None if u.award_year is None else int(u.award_year), "scheme": u.scheme}
        for i, u in enumerate(sc.supply.units)
    ]  # fmt: skip
    events = [
        {"index": i, "name": e.name, "origin": e.origin, "kind": e.kind, "hazard": e.hazard,
         "duration": {"mean_months": e.duration.mean_months, "cv": e.duration.cv,
                      "distribution": e.duration.distribution}}
        for i, e in enumerate(sc.risk.events)
    ]  # fmt: skip
    stock = [m.name for m in sc.definition.materials if m.kind != "embedded"]
    s = sc.scheme
    return {
        "name": loaded.name, "description": sc.description, "horizon": sc.horizon.years,
        "units": units, "events": events,
        "stockpile": {m: sc.policy.stockpile.get(m, 0.0) for m in stock},
        # oxides and magnets are priced from the oxide prices (rules.stock_prices); others if set
        "stockpile_priced": sorted(
            set(sc.economics.prices)
            | {m.name for m in sc.definition.materials if m.kind in ("oxide", "magnet")}
        ),
        "scheme": None if s is None else {
            "sli_bid": s.sli_bid, "sli_cap_per_kg": s.sli_cap_per_kg, "unit_capacity_min": s.unit_capacity_min,
            "unit_capacity_max": s.unit_capacity_max, "unit_capacity_step": s.unit_capacity_step,
        },
    }  # fmt: skip
