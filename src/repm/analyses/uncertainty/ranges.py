"""Every fact's uncertainty: a range and a distribution, from its sources where they give one,
else from its grade (data/uncertainty.yaml; docs/uncertainty.md).

`fact_ranges(table)` answers for every numeric fact. A fact is either

- exact (a date, a rule as notified, a statutory rate, a constant): never drawn;
- drawn: a triangular (or, by override, uniform or log-uniform) distribution on [low, high]
  with its mode at the central value the model uses;
- derived by a recorded formula (`lineage`): computed from its parents' draws, so it moves
  with them and is never drawn independently (`own` in a formula is its own residual draw).

`Spread` describes one fact; `inverse_cdf` maps uniforms in (0, 1) to values.
"""

from __future__ import annotations

import ast
import fnmatch
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from repm.model.facts import SAFE_LOADER, Fact, FactTable, load_facts

DISTRIBUTIONS = ("triangular", "uniform", "loguniform")
FORMULA_TOLERANCE = 0.02  # a lineage formula must reproduce the fact's central value within 2 %


@dataclass(frozen=True)
class Spread:
    """One fact's uncertainty. `basis` says where the range comes from, in words."""

    fact_id: str
    central: float
    low: float
    high: float
    dist: str  # triangular | uniform | loguniform | exact | lineage
    basis: str
    formula: str | None = None  # lineage: the formula over parents
    parents: tuple[str, ...] = ()  # lineage: the facts the formula reads (not `own`)
    own: Spread | None = None  # lineage: the fact's own draw, when the formula reads `own`
    bounds: tuple[float, float] = (-math.inf, math.inf)  # lineage: what the value may be

    @property
    def drawn(self) -> bool:
        """Has a draw of its own (a lineage formula reading `own` draws that)."""
        if self.dist == "lineage":
            return self.own is not None and self.own.drawn
        return self.dist != "exact" and self.high > self.low

    def shown(self) -> str:
        if self.dist == "exact":
            return "exact"
        if self.dist == "lineage":
            return f"{_g(self.low)}–{_g(self.high)} (from lineage)"
        return f"{_g(self.low)}–{_g(self.high)}" + (
            "" if self.dist == "triangular" else f" {self.dist}"
        )

    def as_json(self) -> dict:
        d = {"low": self.low, "high": self.high, "dist": self.dist, "basis": self.basis}
        if self.formula is not None:
            d["formula"] = self.formula
        return d


def _g(x: float) -> str:
    return f"{x:,.4g}"


@dataclass(frozen=True)
class Rule:
    """The shipped rule (data/uncertainty.yaml)."""

    half_width: dict[str, float]
    conflict_factor: float
    fraction_units: tuple[str, ...]
    dates_reason: str
    exact_ids: dict[str, str]  # fnmatch pattern -> reason
    lineage: dict[str, str]
    sum_to_one: tuple[str, ...]
    at_most_one: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def shipped_rule() -> Rule:
    text = (resources.files("repm") / "data" / "uncertainty.yaml").read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - the safe loader
    ex = raw["exact"]
    comp = raw["compositions"]
    return Rule(
        half_width={k: float(v) for k, v in raw["grade_half_width"].items()},
        conflict_factor=float(raw["conflict_factor"]),
        fraction_units=tuple(raw["fraction_units"]),
        dates_reason=str(ex["dates"]),
        exact_ids={str(k): str(v) for k, v in ex["ids"].items()},
        lineage={str(k): str(v) for k, v in raw["lineage"].items()},
        sum_to_one=tuple(comp["sum_to_one"]),
        at_most_one=tuple(comp["at_most_one"]),
        groups={k: tuple(v) for k, v in raw["groups"].items()},
    )


# --- formulas: arithmetic over fact ids, parsed once, evaluated on arrays ----------------------

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}  # fmt: skip


@lru_cache(maxsize=1024)
def _parse(formula: str) -> ast.expr:
    """The formula's expression tree, checked to be arithmetic (kept per text: every Evaluator
    bounds each lineage fact by evaluating its formula at its parents' corners, ~1,600 times;
    the tree is read, never changed)."""
    tree = ast.parse(formula, mode="eval").body
    for node in ast.walk(tree):
        ok = isinstance(
            node,
            ast.BinOp | ast.UnaryOp | ast.Name | ast.Constant | ast.Call | ast.Load
            | ast.operator | ast.unaryop,
        )  # fmt: skip
        if not ok:
            raise ValueError(f"formula {formula!r}: {type(node).__name__} is not arithmetic")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id == "base" and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
        ):  # fmt: skip
            raise ValueError(f"formula {formula!r}: only base(fact_id) may be called")
    return tree


def _names(formula: str) -> set[str]:
    """Fact ids (and `own`) a formula reads as draws (not inside base())."""
    tree = _parse(formula)
    inside_base = {id(n.args[0]) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {
        n.id for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id != "base" and id(n) not in inside_base
    }  # fmt: skip


def _base_names(formula: str) -> set[str]:
    tree = _parse(formula)
    return {n.args[0].id for n in ast.walk(tree) if isinstance(n, ast.Call)}


def evaluate_formula(formula: str, values: Mapping[str, Any], central: Mapping[str, float]):
    """The formula with `values` for fact ids (and `own`), `central` inside base()."""

    def ev(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Call):
            return central[node.args[0].id]
        raise ValueError(f"formula {formula!r}: cannot evaluate {type(node).__name__}")

    return ev(_parse(formula))


def lineage_value(s: Spread, env: Mapping[str, Any], central: Mapping[str, float]):
    """A lineage fact's value when its parents (and `own`) take the values in `env`: the fact's
    own value moved as its formula moves (central × formula(env) / formula(centrals)), so the
    parents at their central values give the fact's value exactly; a formula that is 0 there
    gives its value directly."""
    f = evaluate_formula(s.formula or "", env, central)
    f0 = float(evaluate_formula(s.formula or "", {**central, "own": s.central}, central))
    return f if f0 == 0 else s.central * (f / f0)


# --- the rule ----------------------------------------------------------------------------------


def is_date(f: Fact) -> bool:
    """A calendar year (unit year, value ≥ 1900) or a calendar month (a dimensionless `_month`)."""
    if f.unit == "year" and f.central >= 1900:
        return True
    return f.unit == "dimensionless" and re.search(r"_month(_\d{4})?$", f.id) is not None


def _exact_reason(f: Fact, rule: Rule) -> str | None:
    for pattern, reason in rule.exact_ids.items():
        if fnmatch.fnmatchcase(f.id, pattern):
            return reason
    if is_date(f) and (f.low is None or f.high is None):
        return rule.dates_reason
    return None


def _clip(f: Fact, lo: float, hi: float, rule: Rule) -> tuple[float, float]:
    if f.unit in rule.fraction_units and f.central <= 1.0:
        # a share; a ratio in the same unit above 1 (kg of alloy per kg of magnet) is not
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    if f.central >= 0:
        lo = max(lo, 0.0) if lo < 0 <= f.central else lo
    return lo, hi


def _conflict_span(f: Fact, table: FactTable, rule: Rule) -> tuple[float, float, list[str]] | None:
    if not f.conflict or not f.baseline:
        return None
    c = f.central
    vals, used = [], []
    for m in table.conflicts()[f.conflict]:
        if m.id == f.id or m.unit != f.unit:
            continue
        ends = [v for v in (m.value, m.low, m.high) if v is not None]
        if c > 0 and all(c / rule.conflict_factor <= v <= c * rule.conflict_factor for v in ends):
            vals += ends
            used.append(m.id)
    if not vals:
        return None
    return min(vals), max(vals), used


def _own_spread(f: Fact, rule: Rule) -> Spread:
    """The fact's own range: its sources' low/high where they give one, else the grade rule."""
    c = f.central
    if f.low is not None and f.high is not None:
        lo, hi = min(c, float(f.low)), max(c, float(f.high))
        basis = "sources' range"
    else:
        w = rule.half_width[f.grade]
        lo, hi = c - abs(c) * w, c + abs(c) * w
        basis = f"grade {f.grade} rule (±{w:.0%})"
    lo, hi = _clip(f, lo, hi, rule)
    return Spread(f.id, c, lo, hi, "triangular", basis)


def fact_ranges(
    table: FactTable | None = None,
    overrides: Mapping[str, Any] | None = None,
    rule: Rule | None = None,
) -> dict[str, Spread]:
    """Every fact's Spread. `overrides`: the scenario's `uncertainty:` entries (fact id →
    repm.scenario.uncertainty.FactSpread, already in the fact's unit)."""
    table = table or load_facts()
    rule = rule or shipped_rule()
    overrides = overrides or {}
    out: dict[str, Spread] = {}
    for f in table.facts.values():
        out[f.id] = _spread(f, table, rule, overrides.get(f.id))
    _bound_lineage(out, table)
    return out


def _spread(f: Fact, table: FactTable, rule: Rule, ov) -> Spread:
    c = f.central
    if ov is not None:
        if ov.fixed:
            return Spread(f.id, c, c, c, "exact", "scenario: fixed")
        if ov.rel is not None:
            lo, hi = _clip(f, c - abs(c) * ov.rel, c + abs(c) * ov.rel, rule)
            basis = f"scenario: ±{ov.rel:.0%}"
        else:
            lo, hi = float(ov.low), float(ov.high)
            basis = f"scenario: {_g(lo)}–{_g(hi)}"
        return Spread(f.id, c, lo, hi, ov.dist or "triangular", basis)
    reason = _exact_reason(f, rule)
    if reason is not None:
        return Spread(f.id, c, c, c, "exact", reason)
    if f.grade == "derived" and f.id in rule.lineage:
        formula = rule.lineage[f.id]
        names = _names(formula)
        own = None
        if "own" in names:  # the spread the parents do not explain: the fact's own range
            own = _own_spread(f, rule) if f.low is not None else Spread(f.id, c, c, c, "exact", "")
        bounds = _clip(f, -math.inf, math.inf, rule)
        return Spread(
            f.id, c, c, c, "lineage", f"lineage: {formula}", formula,
            tuple(sorted(names - {"own"})), own, bounds,
        )  # fmt: skip
    s = _own_spread(f, rule)
    span = _conflict_span(f, table, rule)
    if span is not None:
        lo, hi = _clip(f, min(s.low, span[0]), max(s.high, span[1]), rule)
        s = Spread(
            f.id, c, lo, hi, "triangular", f"{s.basis} ∪ conflict group ({', '.join(span[2])})"
        )
    return s


def _bound_lineage(spreads: dict[str, Spread], table: FactTable) -> None:
    """A lineage fact's shown range: its formula at the corners of its parents' ranges (and its
    own draw's); exact when nothing it reads is drawn."""
    central = {k: s.central for k, s in spreads.items()}

    def corners(fid: str, depth: int = 0) -> tuple[float, float]:
        s = spreads[fid]
        if s.dist != "lineage" or depth > 20:
            return s.low, s.high
        names = [*s.parents, *(["own"] if s.own is not None else [])]
        ends = {
            n: corners(n, depth + 1) if n != "own" else (s.own.low, s.own.high)  # type: ignore[union-attr]
            for n in names
        }
        vals = []
        for k in range(2 ** len(names)) if len(names) <= 10 else [0, 2 ** len(names) - 1]:
            v = {n: ends[n][(k >> i) & 1] for i, n in enumerate(names)}
            vals.append(float(lineage_value(s, v, central)))
        return float(np.clip(min(vals), *s.bounds)), float(np.clip(max(vals), *s.bounds))

    for fid, s in list(spreads.items()):
        if s.dist == "lineage":
            lo, hi = np.clip(sorted(corners(fid)), *s.bounds)
            spreads[fid] = Spread(
                s.fact_id, s.central, float(lo), float(hi), "lineage", s.basis, s.formula,
                s.parents, s.own, s.bounds,
            )  # fmt: skip


def check_lineage(table: FactTable | None = None, rule: Rule | None = None) -> list[str]:
    """Problems with the shipped lineage formulas: unknown ids, facts that are not derived, or a
    formula that does not give the fact's central value (within FORMULA_TOLERANCE)."""
    table = table or load_facts()
    rule = rule or shipped_rule()
    central = {k: f.central for k, f in table.facts.items()}
    problems = []
    for fid, formula in rule.lineage.items():
        if fid not in table:
            problems.append(f"lineage.{fid}: unknown fact")
            continue
        if table.facts[fid].grade != "derived":
            problems.append(f"lineage.{fid}: grade {table.facts[fid].grade}, not derived")
        try:
            names = (_names(formula) | _base_names(formula)) - {"own"}
        except (SyntaxError, ValueError) as exc:
            problems.append(f"lineage.{fid}: {exc}")
            continue
        unknown = sorted(n for n in names if n not in table)
        if unknown:
            problems.append(f"lineage.{fid}: unknown fact ids {unknown}")
            continue
        v = float(evaluate_formula(formula, {**central, "own": central[fid]}, central))
        c = central[fid]
        if not math.isclose(v, c, rel_tol=FORMULA_TOLERANCE, abs_tol=1e-12):
            problems.append(f"lineage.{fid}: formula gives {v:.6g}, the fact says {c:.6g}")
    return problems


# --- distributions -----------------------------------------------------------------------------


def inverse_cdf(s: Spread, u: np.ndarray) -> np.ndarray:
    """Values of a drawn fact at uniforms u in (0, 1) (its central value where exact)."""
    u = np.asarray(u, dtype=float)
    if s.dist == "lineage":
        return inverse_cdf(s.own, u) if s.own is not None else np.full(u.shape, s.central)
    a, c, b = s.low, s.central, s.high
    if not s.drawn or b <= a:
        return np.full(u.shape, c)
    if s.dist == "uniform":
        return a + u * (b - a)
    if s.dist == "loguniform":
        return a * (b / a) ** u
    c = min(max(c, a), b)  # triangular (also a lineage fact's own draw)
    fc = (c - a) / (b - a)
    left = a + np.sqrt(u * (b - a) * (c - a))
    right = b - np.sqrt((1 - u) * (b - a) * (b - c))
    return np.where(u < fc, left, right)
