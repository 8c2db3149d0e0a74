"""A parameter sample's scenario, as the loader would read it: each drawn fact's value written in
place of its `fact:ID` reference (copying only the containers on the way), and the shares of one
whole that read a drawn fact scaled to sum to 1 (uncertainty.yaml's `compositions`). The
Evaluator validates and compiles what this writes."""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping
from typing import Any

from repm.analyses.uncertainty.ranges import Rule
from repm.model import units
from repm.model.facts import FactTable
from repm.model.units import Drawn
from repm.model.units import _fast as _FAST
from repm.scenario.fields import FACT_PREFIX


def with_presets(raw: dict) -> dict:
    """The merged scenario with each risk event's `preset` expanded as validation expands it
    (`presets.with_preset`), so that the facts a preset reads (the chance of a restriction, its
    length, severity, …) are drawn and substituted like the scenario's own. Validates to the same
    Scenario; only the containers on the way to an expanded event are new (a preset's own
    mappings are copied: the preset table is cached and shared)."""
    from repm.scenario.presets import with_preset

    risk = raw.get("risk")
    events = risk.get("events") if isinstance(risk, dict) else None
    if not isinstance(events, list) or not any(
        isinstance(e, dict) and "preset" in e for e in events
    ):
        return raw
    expanded = [
        copy.deepcopy(with_preset(e)) if isinstance(e, dict) and "preset" in e else e
        for e in events
    ]
    return {**raw, "risk": {**risk, "events": expanded}}


def fact_paths(raw: Any) -> list[tuple[tuple, str]]:
    """Every place in the raw scenario that reads a fact (`fact:ID`): its key path and the ID."""
    out: list[tuple[tuple, str]] = []

    def walk(node: Any, path: tuple) -> None:
        if isinstance(node, dict | list):
            for k, v in node.items() if isinstance(node, dict) else enumerate(node):
                walk(v, (*path, k))
        elif (fid := _reads(node)) is not None:
            out.append((path, fid))

    walk(raw, ())
    return out


def substitute(
    raw: Any,
    values: Mapping[str, float],
    table: FactTable,
    paths: list[tuple[tuple, str]] | None = None,
    plans: dict | None = None,
    drawn: bool = False,
) -> Any:
    """A copy of the raw scenario with each `fact:ID` whose ID is in `values` replaced by that
    value in the fact's unit (as the loader would write the fact's central value). `paths`:
    `fact_paths(raw)`, when the caller keeps it; `plans`: a dict the caller keeps, where the
    copying plan of each set of drawn ids is remembered. Only the mappings and lists on the way
    to a replaced value are copied; the rest is shared with `raw` (validation reads, never
    writes). `drawn`: each value as a `Drawn` (read as its text, without writing it)."""
    ids = frozenset(values)
    plan = plans.get(ids) if plans is not None else None
    if plan is None:
        plan = _plan(raw, ids, table, paths if paths is not None else fact_paths(raw))
        if plans is not None:
            plans[ids] = plan
    if plan is _WHOLE:  # the scenario is one fact reference
        fid = _reads(raw)
        value = Drawn(float(values[fid]), table.facts[fid].unit)
        return value if drawn else str(value)
    copies, leaves = plan
    made = [_shallow(raw)]
    for parent, k, original in copies:
        made.append(_shallow(original))
        made[parent][k] = made[-1]
    if drawn:
        for at, k, fid, unit in leaves:
            made[at][k] = Drawn(float(values[fid]), unit)
    else:
        for at, k, fid, unit in leaves:
            made[at][k] = f"{float(values[fid])!r} {unit}"
    return made[0]


_WHOLE = object()


def _plan(raw: Any, ids: frozenset, table: FactTable, paths: list[tuple[tuple, str]]):
    """What `substitute` copies for these drawn ids: the containers on the way to each drawn
    reference, parents first — (index of the parent's copy, key, the original) — and the
    references — (index of their container's copy, key, fact id, unit)."""
    index: dict[tuple, int] = {(): 0}
    copies: list[tuple[int, Any, Any]] = []
    leaves: list[tuple[int, Any, str, str]] = []
    for path, fid in paths:
        if fid not in ids:
            continue
        if not path:
            return _WHOLE
        node, at = raw, 0
        for depth, k in enumerate(path[:-1]):
            node = node[k]
            prefix = path[: depth + 1]
            if prefix not in index:
                copies.append((at, k, node))
                index[prefix] = len(copies)
            at = index[prefix]
        leaves.append((at, path[-1], fid, table.facts[fid].unit))
    return copies, leaves


def _shallow(node: Any) -> Any:
    return dict(node) if isinstance(node, dict) else list(node) if isinstance(node, list) else node


KNOWN_SHARES = 4096  # share texts kept (normalise's `known`): the undrawn ones, and the last drawn


def _fraction(v: Any, table: FactTable) -> float:
    from repm.model.units import to_unit

    if type(v) is Drawn:  # its text's reading (as to_unit reads the text), else the text
        got = v.read("fraction", None) if units._fast is _FAST else None
        return got[0] if got is not None else float(to_unit(str(v), "fraction"))

    if isinstance(v, str) and v.strip().startswith(FACT_PREFIX):
        return table.value(v.strip()[len(FACT_PREFIX) :].strip(), "fraction")
    return float(to_unit(v, "fraction"))


def _paths(raw: dict, pattern: str) -> list[tuple]:
    """Key paths of every mapping under a dotted pattern (`*` matches one segment)."""
    segs = pattern.split(".")
    out: list[tuple] = []

    def walk(node, i, path):
        for k in list(node):
            if fnmatch.fnmatchcase(str(k), segs[i]) and isinstance(node[k], dict):
                if i == len(segs) - 1:
                    out.append((*path, k))
                else:
                    walk(node[k], i + 1, (*path, k))

    walk(raw, 0, ())
    return out


def _reads(v: Any) -> str | None:
    if isinstance(v, str) and v.strip().startswith(FACT_PREFIX):
        return v.strip()[len(FACT_PREFIX) :].strip()
    return None


def wholes(raw: dict, rule: Rule) -> list[tuple[tuple, bool, frozenset[str]]]:
    """The shares of one whole in `raw` (rule.compositions): each mapping's key path, whether
    it is scaled only down to 1 (`at_most_one`), and the facts its shares read."""
    out = []
    for patterns, at_most in ((rule.sum_to_one, False), (rule.at_most_one, True)):
        for pattern in patterns:
            for path in _paths(raw, pattern):
                node = raw
                for k in path:
                    node = node[k]
                reads = frozenset(f for f in map(_reads, node.values()) if f is not None)
                out.append((path, at_most, reads))
    return out


def normalise(
    new: dict,
    raw: dict,
    changed: Mapping[str, float],
    rule: Rule,
    table: FactTable,
    shares: list[tuple[tuple, bool, frozenset[str]]] | None = None,
    known: dict[Any, float] | None = None,
) -> None:
    """Shares of one whole (rule.compositions) that read a drawn fact are scaled to sum to 1
    (`at_most_one`: down to 1 when they exceed it), in `new` (the substituted copy of `raw`).
    `shares`: `wholes(raw, rule)`, when the caller keeps it; `known`: a dict the caller keeps
    for the shares' values by text (with `table`: the shares a sample did not draw are the
    loaded scenario's texts, read again by every sample — ~60 % of them)."""
    if known is None:
        known = {}
    for path, at_most, reads in shares if shares is not None else wholes(raw, rule):
        if reads.isdisjoint(changed):
            continue
        parent = new
        for k in path[:-1]:
            parent = parent[k]
        vals = {}
        for k, v in parent[path[-1]].items():
            got = known.get(v) if isinstance(v, str) else None
            if got is None:
                got = _fraction(v, table)
                if isinstance(v, str):
                    if len(known) >= KNOWN_SHARES:
                        known.clear()
                    known[v] = got
            vals[k] = got
        total = sum(vals.values())
        if total <= 0 or (at_most and total <= 1) or abs(total - 1) <= 1e-9:
            continue
        parent[path[-1]] = {k: v / total for k, v in vals.items()}
