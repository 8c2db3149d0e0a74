"""Reading scenarios: shipped names or files, `extends:` merging, `--set` overrides, validation.

Merge rules (docs/scenarios.md): mappings deep-merge, a list in the child replaces the parent's
whole, `null` removes a key. `--set a.b.0.c=VALUE` parses VALUE as a YAML scalar.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from repm.errors import UserError, fmt_value
from repm.model.facts import SAFE_LOADER, FactTable, load_facts
from repm.model.units import to_unit
from repm.scenario.schema import FACT_PREFIX, Scenario
from repm.scenario.yamlread import decode, read_mapping

MAX_EXTENDS_DEPTH = 10
# a scenario's lists are short (8 origins, 6 units, a few events); each item of some lists (risk
# events) costs memory in every draw, so a list of thousands is refused before any work
MAX_LIST_ITEMS = 100


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario plus what it was made from."""

    scenario: Scenario
    raw: dict[str, Any]  # merged, overridden, before unit conversion
    source: str  # shipped name or file path
    provenance: dict[str, str] = field(default_factory=dict)  # field path -> fact id

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def hash(self) -> str:
        text = json.dumps(self.raw, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def shipped_dir():
    return resources.files("repm") / "data" / "scenarios"


def shipped_names() -> list[str]:
    return sorted(p.name[:-5] for p in shipped_dir().iterdir() if p.name.endswith(".yaml"))


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    return read_mapping(text, where, expected="a YAML mapping")


def _locate(ref: str, base_dir: Path | None) -> tuple[str, str, Path | None]:
    """Return (text, label, directory) for a scenario given by shipped name or file path."""
    candidates = [Path(ref)]
    if base_dir is not None and not Path(ref).is_absolute():
        candidates.insert(0, base_dir / ref)
    for p in candidates:
        if p.suffix in (".yaml", ".yml") or p.exists():
            if p.is_file():
                try:
                    data = p.read_bytes()
                except OSError as exc:
                    raise UserError(f"cannot read file: {exc.strerror}", where=str(p)) from None
                return decode(data, str(p)), str(p), p.parent
    if ref in shipped_names():
        f = shipped_dir() / f"{ref}.yaml"
        return f.read_text(encoding="utf-8"), ref, None
    if Path(ref).suffix in (".yaml", ".yml") or "/" in ref:
        raise UserError("file not found; expected a readable scenario YAML file", where=ref)
    raise UserError(
        f"no such scenario {ref!r}; expected a YAML file path or one of: {', '.join(shipped_names())}"
    )


def deep_merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_merged(ref: str, base_dir: Path | None, chain: tuple[str, ...]) -> tuple[dict, str]:
    text, label, folder = _locate(ref, base_dir)
    if label in chain:
        raise UserError(
            f"`extends` loops back to {label!r}; expected a chain without cycles", where=chain[-1]
        )
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise UserError(f"`extends` nests deeper than {MAX_EXTENDS_DEPTH}", where=label)
    data = _read_yaml(text, label)
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        data.setdefault("name", Path(label).stem if folder is not None else label)
        return data, label
    if not isinstance(parent_ref, str):
        raise UserError(
            f"extends: expected a scenario name or file path; got {fmt_value(parent_ref)}",
            where=label,
        )
    parent, _ = _load_merged(parent_ref, folder, chain + (label,))
    merged = deep_merge(parent, data)
    if "name" not in data:
        merged["name"] = Path(label).stem if folder is not None else label
    return merged, label


def parse_set(expr: str) -> tuple[list[str], Any]:
    if "=" not in expr:
        raise UserError(
            f"--set {expr!r}: expected PATH=VALUE, e.g. demand.growth_after_anchors=0.08"
        )
    path, _, value_text = expr.partition("=")
    path = path.strip()
    if not path or any(not seg for seg in path.split(".")):
        raise UserError(f"--set {expr!r}: expected a dotted field path before '='")
    try:
        value = yaml.load(value_text, Loader=SAFE_LOADER) if value_text.strip() else None  # noqa: S506
    except yaml.YAMLError:
        raise UserError(f"--set {expr!r}: value is not a YAML scalar") from None
    if isinstance(value, dict | list):
        raise UserError(f"--set {expr!r}: expected a scalar value; got a {type(value).__name__}")
    return path.split("."), value


def apply_set(data: dict[str, Any], expr: str) -> None:
    """Apply one `--set path=value` in place; list items by index, year keys as integers."""
    segments, value = parse_set(expr)
    node: Any = data
    walked: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        where = ".".join(walked) or "<top>"
        if isinstance(node, list):
            if not seg.lstrip("-").isdigit():
                raise UserError(
                    f"--set {'.'.join(segments)}: {where} is a list; expected an index, got {seg!r}"
                )
            idx = int(seg)
            if not -len(node) <= idx < len(node):
                raise UserError(
                    f"--set {'.'.join(segments)}: index {idx} out of range; {where} has {len(node)} items"
                )
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            key: Any = seg
            if seg.isdigit() and int(seg) in node:
                key = int(seg)
            elif seg.isdigit() and all(isinstance(k, int) for k in node) and node:
                key = int(seg)
            if last:
                if value is None:
                    node.pop(key, None)  # null removes a key, as in `extends`
                else:
                    node[key] = value
            else:
                if key not in node or node[key] is None:
                    node[key] = {}
                node = node[key]
        else:
            raise UserError(
                f"--set {'.'.join(segments)}: {where} is a value, not a block; unknown path"
            )
        walked.append(seg)


def _check_lists(data: Any, prefix: str = "") -> None:
    """Every list of the merged scenario within MAX_LIST_ITEMS (after aliases and `extends`)."""
    if isinstance(data, dict):
        for k, v in data.items():
            _check_lists(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, list):
        if len(data) > MAX_LIST_ITEMS:
            raise UserError(
                f"a list of {len(data):,} items; expected at most {MAX_LIST_ITEMS}",
                where=prefix or "<top>",
            )
        for i, v in enumerate(data):
            _check_lists(v, f"{prefix}.{i}")


def _provenance(data: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_provenance(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.update(_provenance(v, f"{prefix}.{i}"))
    elif isinstance(data, str) and data.strip().startswith(FACT_PREFIX):
        out[prefix] = data.strip()[len(FACT_PREFIX) :].strip()
    return out


MAX_ERRORS_SHOWN = 10


def _format_validation(exc: ValidationError, raw: dict[str, Any]) -> str:
    """Every mistake pydantic found, one per field (a union's alternatives report the same field
    several times: the first is kept), joined on one line."""
    lines: list[str] = []
    seen: set[tuple] = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        if loc in seen:
            continue
        seen.add(loc)
        lines.append(_format_error(err))
    shown = "; ".join(lines[:MAX_ERRORS_SHOWN])
    if len(lines) > 1:
        more = len(lines) - MAX_ERRORS_SHOWN
        shown += f" ({len(lines)} mistakes" + (f", {more} more not shown)" if more > 0 else ")")
    return shown


def _format_error(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "<top>"
    msg = err["msg"].removeprefix("Value error, ")
    head, sep, rest = msg.partition(": ")
    if loc != "<top>" and sep and re.fullmatch(r"\w+(\.\w+)+", head):
        loc, msg = f"{loc}.{head}", rest  # a block's check names the sub-path: join it to the path
    if err["type"] == "extra_forbidden":
        msg = "unknown key; check the spelling against the schema (`repm scenarios --schema`)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    value = err.get("input")
    shown = (
        ""
        if err["type"] in ("missing",) or isinstance(value, dict) or "got " in msg
        else f" (got {fmt_value(value)})"
    )
    if not err["loc"]:  # a cross-field check: its message already names the field path
        return f"{msg}"
    return f"{loc}: {msg}{shown}"


def load_scenario(
    ref: str,
    overrides: list[str] | None = None,
    facts: FactTable | None = None,
    definition=None,
) -> LoadedScenario:
    """Load, merge, override and validate a scenario against a model definition (default: the
    shipped one, `repm.model`). Raises UserError with a one-line message."""
    facts = facts or load_facts()
    merged, label = _load_merged(ref, None, ())
    for expr in overrides or []:
        apply_set(merged, expr)
    return validate_merged(merged, label, facts, definition)


def validate_merged(
    merged: dict[str, Any], label: str, facts: FactTable | None = None, definition=None
) -> LoadedScenario:
    """Validate a merged scenario mapping (what `extends` and `--set` made): `load_scenario`'s
    last step. Raises UserError with a one-line message."""
    scenario = validate_scenario(merged, label, facts, definition)
    return LoadedScenario(
        scenario=scenario, raw=merged, source=label, provenance=_provenance(merged)
    )


def validate_scenario(
    merged: dict[str, Any],
    label: str,
    facts: FactTable | None = None,
    definition=None,
    lists_checked: bool = False,
) -> Scenario:
    """The Scenario of a merged mapping, as `validate_merged` checks it, without what it was made
    from: a scenario with some fact references replaced by values (repm.analyses.uncertainty,
    once per parameter sample). `lists_checked`: the mapping's lists are those of a scenario
    already validated (their lengths are not checked again). Raises UserError with a one-line
    message."""
    facts = facts or load_facts()
    try:
        if not lists_checked:
            _check_lists(merged)
    except UserError as exc:
        raise UserError(str(exc), where=label) from None
    try:
        scenario = Scenario.model_validate(
            merged,
            context={"facts": facts, "fx": scenario_fx(merged, facts), "definition": definition},
        )
    except ValidationError as exc:
        raise UserError(_format_validation(exc, merged), where=label) from None
    return scenario


def scenario_fx(merged: dict[str, Any], facts: FactTable) -> float | None:
    """The exchange rate (INR/USD) a merged mapping's USD amounts are converted at: its
    `economics.fx_inr_per_usd` read before the rest; None when it is missing or unreadable
    (validation then reports it with its path)."""
    try:
        econ = merged.get("economics") or {}
        fx_raw = econ.get("fx_inr_per_usd") if isinstance(econ, dict) else None
        if isinstance(fx_raw, str) and fx_raw.strip().startswith(FACT_PREFIX):
            return facts.get(fx_raw.strip()[len(FACT_PREFIX) :].strip()).central
        if fx_raw is not None:
            return to_unit(fx_raw, "INR/USD")
    except (ValueError, UserError):
        pass
    return None
