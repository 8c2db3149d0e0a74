"""The uncertain inputs of one scenario and how a draw of them becomes fact values.

A scenario reads facts (its `fact:` references). Closed over lineage formulas, these come down
to the facts that have a draw of their own: the *inputs*. A draw is one uniform in (0, 1) per
input; `Inputs.values` maps a block of draws to the value of every fact the scenario reads,
computing derived facts from their parents' values (they move with them, never on their own).

Draws are designed for the engine's draw axis (issue 14 part 2): `philox_uniforms(ids, seed,
draws)` gives input i of draw d from the Philox stream keyed by (seed, draw d, the fact id's
CRC-32), so a draw's values do not depend on which other facts are drawn, on the order of the
inputs, or on how the draws are chunked.
"""

from __future__ import annotations

import fnmatch
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from repm.analyses.uncertainty.ranges import Rule, Spread, inverse_cdf, lineage_value
from repm.errors import UserError
from repm.model.facts import FactTable

PARAMETER_STREAM = 0x50415241  # "PARA": the Philox stream of parameter draws (shocks use others)


@dataclass(frozen=True)
class Inputs:
    """The facts a scenario reads (`used`) and those with a draw of their own (`drawn`)."""

    spreads: dict[str, Spread]
    used: tuple[str, ...]
    drawn: tuple[str, ...]

    @classmethod
    def of(cls, used: Iterable[str], spreads: dict[str, Spread]) -> Inputs:
        used = tuple(sorted(set(used)))
        drawn: set[str] = set()
        seen: set[str] = set()

        def walk(fid: str) -> None:
            if fid in seen:
                return
            seen.add(fid)
            s = spreads[fid]
            if s.drawn:
                drawn.add(fid)
            for p in s.parents if s.dist == "lineage" else ():
                walk(p)

        for fid in used:
            walk(fid)
        return cls(spreads, used, tuple(sorted(drawn)))

    def values(self, u: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """Each used fact's values (n of them) at the uniforms `u` (input id → n uniforms; an
        input not in `u` is held at its central value)."""
        memo: dict[str, np.ndarray] = {}
        central = {k: s.central for k, s in self.spreads.items()}

        def value(fid: str) -> np.ndarray:
            if fid in memo:
                return memo[fid]
            s = self.spreads[fid]
            if s.dist == "lineage":
                env = {p: value(p) for p in s.parents}
                env["own"] = inverse_cdf(s, u[fid]) if fid in u else np.full(n, s.central)
                v = np.clip(
                    np.broadcast_to(
                        np.asarray(lineage_value(s, env, central), dtype=float),
                        (n,),
                    ),
                    *s.bounds,
                )
            elif fid in u:
                v = inverse_cdf(s, u[fid])
            else:
                v = np.full(n, s.central)
            memo[fid] = v
            return v

        return {fid: value(fid) for fid in self.used}


def philox_uniforms(ids: Iterable[str], seed: int, draws: np.ndarray) -> dict[str, np.ndarray]:
    """Uniforms in (0, 1) for each input id and draw: counter (CRC-32 of the id, the parameter
    stream, draw low word, draw high word), key the seed's two words — a pure function of
    (seed, draw, fact id)."""
    from repm.simulate import philox

    d = np.ascontiguousarray(draws, dtype=np.int64).ravel().astype(np.uint64)
    mask = np.uint64(0xFFFFFFFF)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF)
    out: dict[str, np.ndarray] = {}
    for fid in ids:
        c0 = np.full(d.size, zlib.crc32(fid.encode()), dtype=np.uint64)
        c1 = np.full(d.size, PARAMETER_STREAM, dtype=np.uint64)
        words = np.empty((d.size, 4), dtype=np.uint64)
        philox.philox_array(c0, c1, d & mask, (d >> np.uint64(32)) & mask, k0, k1, words)
        out[fid] = (words[:, 0].astype(np.float64) + 0.5) / 2.0**32
    return out


# --- groups ------------------------------------------------------------------------------------


def resolve_groups(
    names: Iterable[str], inputs: Inputs, table: FactTable, rule: Rule
) -> dict[str, list[str]]:
    """Each `--group` name → the inputs it covers, in the order given. A name is one of the
    rule's named groups (prices, yields, …), a fact file (finance, india_demand, …), `source:ID`
    or a fact id. A derived fact's parents count for it: `prices` covers the facts a price is
    computed from. An input in two groups belongs to the first; a group that covers no input of
    this scenario is an error."""
    files = {f.removesuffix(".yaml") for f in table.origin_file.values()}
    taken: set[str] = set()
    out: dict[str, list[str]] = {}
    bad, empty = [], []
    for name in names:
        if name in rule.groups:
            members = {
                i for i in table.facts if any(fnmatch.fnmatchcase(i, p) for p in rule.groups[name])
            }
        elif name in files:
            members = {i for i, f in table.origin_file.items() if f.removesuffix(".yaml") == name}
        elif name.startswith("source:") and name[7:] in table.sources:
            members = {i for i, f in table.facts.items() if name[7:] in f.sources}
        elif name in table.facts:
            members = {name}
        else:
            bad.append(name)
            continue
        members = _with_lineage(members, inputs)
        covered = [i for i in inputs.drawn if i in members and i not in taken]
        if not covered:
            empty.append(name)
            continue
        taken.update(covered)
        out[name] = covered
    if bad:
        choices = ", ".join(sorted(rule.groups)) + ", a fact file (" + ", ".join(sorted(files))
        raise UserError(
            f"unknown group {', '.join(map(repr, bad))}; expected one of {choices}), "
            "source:ID or a fact id",
            where="--group",
        )
    if empty:
        raise UserError(
            f"{', '.join(map(repr, empty))} covers no uncertain fact this scenario reads; "
            "expected a group with at least one drawn fact (`repm facts --uncertainty`)",
            where="--group",
        )
    return out


def _with_lineage(members: set[str], inputs: Inputs) -> set[str]:
    """Members plus, for a member computed by a lineage formula, the inputs it is computed from."""
    out = set(members)
    stack = [m for m in members if m in inputs.spreads]
    while stack:
        s = inputs.spreads[stack.pop()]
        if s.dist == "lineage":
            for p in s.parents:
                if p not in out:
                    out.add(p)
                    stack.append(p)
    return out
