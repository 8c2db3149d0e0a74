"""Named event presets (the April and October 2025 Chinese measures), as data with fact ids."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from repm.errors import UserError, fmt_value
from repm.model.facts import SAFE_LOADER


@lru_cache(maxsize=1)
def presets() -> dict[str, dict]:
    text = (resources.files("repm") / "data" / "risk_presets.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader (libyaml's: ~10× faster)


def preset(name: str) -> dict:
    table = presets()
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"unknown preset {fmt_value(name)}; expected one of {', '.join(table)}")
    return dict(table[name])


def with_preset(event: dict) -> dict:
    """An event mapping with its `preset` key replaced by the preset's fields, the event's own
    fields over them (whole values: an event's `duration` replaces the preset's). What an Event
    validates (scenario.risk) and what repm.analyses.uncertainty draws the facts of."""
    if "preset" not in event:
        return event
    return {**preset(event["preset"]), **{k: v for k, v in event.items() if k != "preset"}}


__all__ = ["preset", "presets", "with_preset", "UserError"]
