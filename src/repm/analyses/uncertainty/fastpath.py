"""A block of parameter samples' Scenarios without validating each (issue 14 part 6): the
scenario validated once (the template), each drawn number converted for all samples at once
(`SampleBlock`: field path → (S,) array), then ONE Scenario for the block — the template with
each drawn leaf holding its samples' array — whose after-mode validators run once, their checks
on the arrays (`repm.scenario.checks.flagged`: the samples a check refuses are recorded). Each
sample's own Scenario is made from the template (the drawn leaves replaced along their paths as
`model_copy` would, the after-mode validators of every model copied run again) only when
something reads it (`Scenarios`). Equal, float for float, to what `Evaluator.scenario_at`
validates; a sample this path cannot vouch for (a value out of its field's bounds or not finite,
a check that refuses it, a fact value set that differs from the block's) goes through
`scenario_at`, which returns its Scenario or raises its own message; a block whose validators do
not all read arrays (a condition asking an array for its truth) makes and validates each
sample's Scenario at once instead (`Plan.scenarios`).

What a drawn value goes through, as validation does it (fields.py, units.py, drawn.py):
- `_quantity(unit, lo, hi, integer)` fields (their `spec`) read a `Drawn` as
  `reader(unit).scaled`: × fx**power (USD → INR at the sample's fx: Python's pow on each
  sample's fx), × pint's factor; not finite → an error; then the bounds and `integer`.
- FreeQuantity fields (`_free_quantity`): a pint Quantity of the value in the fact's unit.
- `normalise`: shares of one whole read as fractions, summed (Python's `sum`: `py_sum`) and
  divided by the total where drawn.normalise scales them (masks for its branches); a scaled
  share is then a plain float to its field (bounds only).
- fx drawn: every undrawn leaf whose reading depends on fx (a USD text or fact) is read again at
  each sample's fx, and the `uncertainty:` block (its ranges are read at fx) is checked again.

Audit of the validators in repm/scenario/*.py (model_validator, field_validator, Annotated):
- before-mode, none re-run: `_renamed` of Sector, Demand, Monazite, Yields and Finance
  (`refuse_renamed`) reads keys only; `Event._preset` expands a risk preset, which the
  Evaluator's raw mapping has expanded already (`with_presets`); `Risk._month` reads `as_of`, a
  text no fact reaches. A before- or wrap-mode validator on a field a drawn value reaches is
  refused (`Unsupported`: the block takes the slow path).
- after-mode, re-run on each copied model (copying.py): field validators of the fields copied
  (none reads `info.data`, so a field not copied keeps the template's validated value), then
  model validators. Each is a check, a re-ordering of a mapping (anchors, price paths,
  re_distribution) or activity_path's conversion to the activity's units: the same answer on a
  validated value. One raising flags its sample for the slow path.
- `Uncertainty`'s AfterValidator reads the ranges at fx: re-run per sample when fx is drawn.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from repm.analyses.uncertainty.copying import Info, Unsupported, after_of, compile_copier, field_of
from repm.analyses.uncertainty.drawn import _fraction, _reads
from repm.chain.batched.exact import py_sum
from repm.model import units
from repm.model.units import Drawn, _conversion
from repm.model.units import _fast as _FAST
from repm.scenario import fields as F
from repm.scenario.checks import collected
from repm.scenario.load import scenario_fx, validate_scenario
from repm.scenario.samples import SampleBlock, at, leaves, magnitude


class Plan:
    """How one set of drawn fact ids becomes a block: built once per set of ids (structure)."""

    def __init__(self, ev, template: BaseModel, ids: frozenset, fx0: float | None) -> None:
        self.ev, self.template, self.table = ev, template, ev.table
        self.fids = sorted({fid for _, fid in ev._facts_read if fid in ids})
        if not self.fids:
            raise Unsupported("no drawn fact")
        row = {fid: i for i, fid in enumerate(self.fids)}
        fx_ref = _reads((ev.raw.get("economics") or {}).get("fx_inr_per_usd"))
        self.fx = (row[fx_ref], self.table.facts[fx_ref].unit) if fx_ref in ids else None
        self.fx0 = fx0
        if self.fx is not None and fx0 is None:
            raise Unsupported("economics.fx_inr_per_usd is drawn but unread")
        with_fx = fx0 is not None
        self.paths: list[tuple] = []  # a row of the values matrix each
        self.spec: list[tuple] = []  # (lo, hi, integer) of each row's field
        self.drawn: list[tuple] = []  # (row, fid row, power, factor)
        self.free: list[tuple] = []  # (path, fid row, unit) of FreeQuantity fields
        self.refs: dict[tuple, int] = {}  # raw path → its row
        for raw_path, fid in ev._facts_read:
            if fid not in ids:
                continue
            path, func = field_of(template, raw_path)
            unit = self.table.facts[fid].unit
            if func is F._free_quantity:
                self.free.append((path, row[fid], _free_unit(unit)))
                continue
            try:
                how = _conversion(unit.strip() or "dimensionless", func.spec[0], with_fx)
            except Exception:
                how = None
            if how is None:
                raise Unsupported(f"{raw_path}: {unit} is converted by pint")
            self.refs[raw_path] = self._row(path, func)
            self.drawn.append((self.refs[raw_path], row[fid], *how))
        self.by_fx = self._by_fx() if self.fx is not None else []
        self.wholes = [self._whole(p, at_most) for p, at_most, reads in ev._wholes
                       if not reads.isdisjoint(ids)]  # fmt: skip
        self.unc = self.fx is not None and bool(template.uncertainty)
        self.build = self._tree()
        self._makers: list | None = None  # FreeQuantities' (`one`)
        self._unc: Any = None  # the uncertainty block's AfterValidator (`uncertainty_at`)

    def _row(self, path: tuple, func) -> int:
        _, lo, hi, integer = func.spec
        self.paths.append(path)
        self.spec.append((-math.inf if lo is None else lo, math.inf if hi is None else hi, integer))
        return len(self.paths) - 1

    def _by_fx(self) -> list[tuple]:
        """Undrawn quantity texts and facts whose reading depends on fx: (row, reader, text)."""
        out = []
        fx0 = self.fx0

        def walk(node: Any, raw_path: tuple) -> None:
            if isinstance(node, dict | list):
                for k, v in node.items() if isinstance(node, dict) else enumerate(node):
                    walk(v, (*raw_path, k))
                return
            if not isinstance(node, str) or raw_path in self.refs:
                return
            try:
                path, func = field_of(self.template, raw_path)
            except Unsupported:
                return
            if func is F._free_quantity:
                return
            text, read = self._text(node), units.reader(func.spec[0])
            got = read(text, fx0)
            if got is None:  # pint reads it: unless fx leaves it alike, refused
                same = units.to_unit(text, func.spec[0], fx_inr_per_usd=fx0) == units.to_unit(
                    text, func.spec[0], fx_inr_per_usd=2 * fx0
                )
                if not same:
                    raise Unsupported(f"{raw_path}: read by pint at a drawn fx")
            elif got[1]:  # a USD power swapped at fx
                self.refs[raw_path] = self._row(path, func)
                out.append((self.refs[raw_path], read, text))

        walk(self.ev.raw, ())
        return out

    def _text(self, value: str) -> str:
        fid = _reads(value)
        if fid is None:
            return value
        fact = self.table.facts[fid]
        return f"{fact.central!r} {fact.unit}"

    def _whole(self, raw_path: tuple, at_most: bool) -> tuple:
        """A share group: each share's (row, fid row or None, reading factor, constant)."""
        node = self.ev.raw
        for k in raw_path:
            node = node[k]
        members = []
        for k, v in node.items():
            fid = _reads(v)
            if (*raw_path, k) in self.refs and fid is not None and fid in self.fids:
                r = self.refs[(*raw_path, k)]
                fact_unit = self.table.facts[fid].unit
                how = _conversion(fact_unit.strip() or "dimensionless", "fraction", False)
                if how is None:
                    raise Unsupported(f"{raw_path}: {fact_unit} as a fraction")
                members.append((r, self.fids.index(fid), how[1], None))
                continue
            path, func = field_of(self.template, (*raw_path, k))
            if func is F._free_quantity:
                raise Unsupported(f"{raw_path}: a share is a free quantity")
            r = self.refs.get((*raw_path, k))
            if r is None:
                r = self.refs[(*raw_path, k)] = self._row(path, func)
            members.append((r, None, None, _fraction(v, self.table)))
        return at_most, members

    def _tree(self):
        """The copying plan (`compile_copier`): each slot of a sample's row (the values
        matrix's rows, the FreeQuantities, the uncertainty block) at its field path."""
        trie: dict = {}
        slots = [*self.paths, *(p for p, _, _ in self.free)]
        if self.unc:
            slots.append(("uncertainty",))
        for i, path in enumerate(slots):
            node = trie
            for k in path[:-1]:
                node = node.setdefault(k, {})
            node[path[-1]] = i
        return compile_copier(self.template, trie)

    def values(self, values: list[Mapping[str, float]]) -> tuple:
        """The drawn values (fact row × sample), the values matrix (row × sample) as the
        samples' Scenarios hold them, whether each sample needs the slow path, and each sample's
        fx (None: unread)."""
        n = len(values)
        get = operator.itemgetter(*self.fids)
        X = np.array([get(v) for v in values], dtype=float).reshape(n, len(self.fids)).T
        bad = np.zeros(n, dtype=bool)
        fx = [self.fx0] * n
        if self.fx is not None:  # as validate_scenario reads it before the rest
            r, unit = self.fx
            econ = [{"economics": {"fx_inr_per_usd": Drawn(x, unit)}} for x in X[r].tolist()]
            fx = [scenario_fx(e, self.table) for e in econ]
            bad |= np.array([f is None for f in fx])
        V = np.array([magnitude(at(self.template, p)) for p in self.paths])[:, None].repeat(n, 1)
        pows: dict = {}
        for r, x, power, factor in self.drawn:
            out = X[x]
            if power:  # × fx ** power, Python's pow on each sample's fx
                if power not in pows:
                    pows[power] = np.array([math.nan if f is None else f**power for f in fx])
                out = out * pows[power]
            V[r] = out * factor if factor is not None else out
        for r, read, text in self.by_fx:
            got = [read(text, f) for f in fx]
            V[r] = [math.nan if g is None else g[0] for g in got]
        for at_most, members in self.wholes:
            self._normalise(V, X, at_most, members, bad)
        lo, hi, integer = (np.array(c) for c in zip(*self.spec, strict=True)) if self.spec else (
            np.empty(0), np.empty(0), np.empty(0, bool))  # fmt: skip
        bad |= (~np.isfinite(V) | (V < lo[:, None]) | (V > hi[:, None])).any(axis=0)
        if integer.any():
            whole = np.rint(V[integer]) + 0.0  # float(round(x)): half to even, +0 for -0
            bad |= (np.abs(V[integer] - whole) > 1e-9).any(axis=0)
            V[integer] = whole
        for _, x, _ in self.free:
            bad |= ~np.isfinite(X[x]) | (X[x] < 0)
        return X, V, bad, fx

    @staticmethod
    def _normalise(V, X, at_most: bool, members: list, bad: np.ndarray) -> None:
        """drawn.normalise on every sample: the shares read as fractions, scaled by their sum
        where it is positive, not 1 (within 1e-9) and, `at_most`, above 1."""
        n = V.shape[1]
        reads = []
        for _, x, factor, const in members:
            if x is None:
                reads.append(np.full(n, const))
                continue
            got = X[x] * factor if factor is not None else X[x]
            bad |= ~np.isfinite(got)  # not read as a text: pint refuses it, normalise raises
            reads.append(got)
        total = py_sum(reads)
        keep = (total <= 0) | (np.abs(total - 1) <= 1e-9)
        if at_most:
            keep |= total <= 1
        if keep.all():
            return
        for (r, _, _, _), got in zip(members, reads, strict=True):
            V[r] = np.where(keep, V[r], got / total)

    def scenarios(self, X: np.ndarray, V: np.ndarray, bad: np.ndarray, fx: list) -> list:
        """Each good sample's Scenario (None for the others, and for a validator that raised)."""
        rows = V.T.tolist()
        X_free = [_quantities(X[c].tolist(), u) for _, c, u in self.free]
        out: list = []
        for i, row in enumerate(rows):
            if bad[i]:
                out.append(None)
                continue
            ctx = {"facts": self.table, "fx": fx[i], "definition": None}
            row.extend(q[i] for q in X_free)
            try:
                if self.unc:
                    row.append(self.uncertainty_at(fx[i]))
                out.append(self.build(row, Info(ctx)))
            except Exception:  # the slow path says what is wrong
                out.append(None)
        return out

    def uncertainty_at(self, fx: float | None) -> dict:
        """The `uncertainty:` block validated at this fx (its ranges in USD read at it)."""
        if self._unc is None:
            self._unc = after_of(type(self.template).model_fields["uncertainty"])
        raw = self.ev.raw.get("uncertainty") or {}
        return self._unc(dict(raw), Info({"facts": self.table, "fx": fx, "definition": None},
                                         "uncertainty"))  # fmt: skip

    def block_scenario(self, X: np.ndarray, V: np.ndarray, fx: list) -> tuple | None:
        """The block's Scenario — the template with each drawn field holding its samples'
        values (an array; the number where every sample has the same bits), its after-mode
        validators run once, their checks on the arrays (`repm.scenario.checks`) — the samples
        a check flags, and, where fx is drawn and the scenario has an `uncertainty:` block, that
        block as each sample reads it (else None; the block's Scenario holds the template's: no
        other validator reads it). None where a validator asked an array for its truth (a check
        not written for arrays: each sample is then made and validated, `scenarios`), or for a
        block of one."""
        n = V.shape[1]
        if n < 2:
            return None
        uncs: list | None = None
        bad = np.zeros(n, dtype=bool)
        if self.unc:
            uncs = []
            for i, f in enumerate(fx):
                try:
                    uncs.append(self.uncertainty_at(f))
                except Exception:  # noqa: BLE001 — the sample's own validation says what
                    uncs.append(None)
                    bad[i] = True
        row: list = _shared(V)
        Q = units.registry().Quantity
        free = _shared(X[[c for _, c, _ in self.free]]) if self.free else []
        for (_, _, unit), x in zip(self.free, free, strict=True):
            row.append(_quantities([x], unit)[0] if np.ndim(x) == 0 else Q(x, unit))
        if self.unc:
            row.append(self.template.uncertainty)
        ctx = {"facts": self.table, "definition": None,
               "fx": self.fx0 if self.fx is None else np.array(fx, dtype=float)}  # fmt: skip
        try:
            with collected() as masks:
                made = self.build(row, Info(ctx))
            for m in masks:
                bad |= np.broadcast_to(m, (n,))
        except Exception:  # noqa: BLE001 — each sample made and validated instead
            return None
        return made, bad, uncs

    def one(self, X: np.ndarray, V: np.ndarray, fx: list, i: int, unc: dict | None = None):
        """Sample i's Scenario (`scenarios`' for one sample; `unc`: its `uncertainty:` block as
        validated at its fx, when the block's Scenario made it)."""
        if self._makers is None:
            self._makers = [_maker(u, 1.0) for _, _, u in self.free]
        row = V[:, i].tolist()
        row.extend(
            make(X[c, i].item()) for (_, c, _), make in zip(self.free, self._makers, strict=True)
        )
        if self.unc:
            row.append(unc if unc is not None else self.uncertainty_at(fx[i]))
        return self.build(row, Info({"facts": self.table, "fx": fx[i], "definition": None}))


def _shared(M: np.ndarray) -> list:
    """Each row's samples' values (row × sample): the number where all have the same bits, else
    a copy of the row."""
    bits = M.view(np.uint64)
    same = (bits == bits[:, :1]).all(axis=1).tolist()
    first = M[:, 0].tolist()
    return [first[r] if same[r] else M[r].copy() for r in range(len(M))]


class Scenarios(Sequence):
    """A block's Scenarios, each made from its row when first read (`Plan.one`): a block run
    reads its numbers off the block (`SampleBlock`), and a sample's Scenario only to compile its
    Chain (finance, an indicator no batched module gives) — or where the block is refused. A
    sample whose Scenario raises here (a check the block's missed) is `scenario_at`'s."""

    def __init__(self, ev, plan: Plan, X, V, fx: list, values: list, uncs: list | None) -> None:
        self._ev, self._plan, self._X, self._V, self._fx = ev, plan, X, V, fx
        self._values, self._made, self._uncs = values, [None] * len(values), uncs

    def __len__(self) -> int:
        return len(self._made)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        s = self._made[i]
        if s is None:
            try:
                unc = self._uncs[i] if self._uncs is not None else None
                s = self._plan.one(self._X, self._V, self._fx, i, unc)
            except Exception:  # noqa: BLE001 — its own answer, or its message
                self._ev.missed_checks += 1  # a check the block's arrays missed (tests: none)
                s = self._ev.scenario_at(self._values[i])
            self._made[i] = s
        return s

    def __setitem__(self, i: int, s) -> None:
        self._made[i] = s


def _quantities(xs: list[float], unit) -> list:
    """`ureg.Quantity(x, unit)` of each float x, as pint makes it (`_maker`)."""
    if not xs:
        return []
    make = _maker(unit, xs[0])
    return [make(x) for x in xs]


def _maker(unit, probe: float):
    """A function making `ureg.Quantity(x, unit)` of a float x, its instance made directly as
    pint makes it for a float (its magnitude and units container: ~20× faster, and a block makes
    one per sample and drawn FreeQuantity); pint's own where it would make anything else (what
    it makes of `probe` tells)."""
    Q = units.registry().Quantity
    made = Q(probe, unit)
    if vars(made).keys() != {"_magnitude", "_units"} or made._magnitude is not probe:
        return lambda x: Q(x, unit)
    cls, container, new = type(made), made._units, object.__new__

    def make(x: float):
        q = new(cls)
        q.__dict__.update(_magnitude=x, _units=container)
        return q

    return make


def _free_unit(unit: str):
    """The unit a FreeQuantity of a drawn value in `unit` has (parse_quantity of its text)."""
    return units.parse_quantity(f"1.0 {unit}").units


class FastSamples:
    """An Evaluator's fast path: the template once, a Plan per set of drawn fact ids."""

    def __init__(self, ev) -> None:
        self.ev = ev
        self.plans: dict[frozenset, Plan | None] = {}
        self.template = validate_scenario(ev.raw, ev.loaded.source, ev.table, lists_checked=True)
        if self.template != ev.loaded.scenario:
            raise Unsupported("the expanded mapping validates to another scenario")
        self.fx0 = scenario_fx(ev.raw, ev.table)

    def plan(self, ids: frozenset) -> Plan | None:
        if ids not in self.plans:
            try:
                self.plans[ids] = Plan(self.ev, self.template, ids, self.fx0)
            except Exception:  # Unsupported, or a case not foreseen: scenario_at is always right
                self.plans[ids] = None
        return self.plans[ids]


def samples(ev, values: list[Mapping[str, float]]) -> tuple[SampleBlock | None, list]:
    """The block of these samples and each one's Scenario, equal to `ev.scenario_at(v)`; the
    samples the fast path cannot vouch for go through `scenario_at` (counted: `slow_samples`).
    No block (None) where the fast path refused the samples (`Unsupported`, other facts drawn in
    one block, pint answering for the units): each was validated on its own, and its numbers
    would be gathered back from its Scenario (~2 ms a sample), which a caller of the per-sample
    path does not need."""
    n = len(values)
    plan = _plan_of(ev, values)
    if plan is None:
        return _slow(ev, values, list(range(n)), [None] * n, None)
    X, V, bad, fx = plan.values(values)
    got = plan.block_scenario(X, V, fx)
    if got is None:  # each sample made and its validators run (a check not written for arrays)
        ev.eager_blocks += 1
        scs = plan.scenarios(X, V, bad, fx)
        slow, made, uncs = [i for i, s in enumerate(scs) if s is None], None, None
    else:
        made, flagged, uncs = got
        scs = Scenarios(ev, plan, X, V, fx, values, uncs)
        slow = np.flatnonzero(bad | flagged).tolist()
    # copies: a sample's Scenario, made later from V, keeps its numbers whatever reads these
    vals = {p: V[r].copy() for r, p in enumerate(plan.paths)}
    return _slow(ev, values, slow, scs, (plan, vals, made, uncs))


def _plan_of(ev, values: list[Mapping[str, float]]) -> Plan | None:
    if not values or units._fast is not _FAST:  # tests that have pint answer: validate all
        return None
    if ev._fast is None:
        try:
            ev._fast = FastSamples(ev)
        except Exception:  # as a plan's: every sample through scenario_at (counted)
            ev._fast = False
    if ev._fast is False:
        return None
    keys = values[0].keys()
    if any(v.keys() != keys for v in values[1:]):
        return None
    return ev._fast.plan(frozenset(keys))


def _slow(ev, values, slow: list[int], scs: list, fast) -> tuple[SampleBlock | None, list]:
    """The slow samples through `scenario_at` in order (the first invalid one raises, as the
    loop of scenario_at did), and the block: the fast numbers, the slow samples' read back."""
    for i in slow:
        ev.slow_samples += 1
        scs[i] = ev.scenario_at(values[i])
    ev.fast_samples += len(values) - len(slow)
    if fast is None:
        return None, scs
    plan, vals, made, uncs = fast
    for i in slow:
        for p, arr in vals.items():
            arr[i] = magnitude(at(scs[i], p))
    back = [p for p, _, _ in plan.free]
    slow_set = set(slow)
    if plan.unc:  # each sample's uncertainty block, as its Scenario holds it (re-read at its fx)
        unc_paths = [p for p, _ in leaves(plan.template.uncertainty, ("uncertainty",))]
        if made is None:
            back += unc_paths
        for p in unc_paths if made is not None else ():
            vals[p] = np.array([magnitude(at(scs[i], p)) if i in slow_set else magnitude(at(u, p[1:]))
                                for i, u in enumerate(uncs)])  # fmt: skip
    for p in back:  # converted by a validator (activity_path) or re-read: as the Scenarios hold
        if made is None:
            vals[p] = np.array([magnitude(at(s, p)) for s in scs])
            continue
        x = at(made, p)
        vals[p] = np.full(len(scs), np.nan)
        vals[p][:] = getattr(x, "magnitude", x)
        for i in slow:
            vals[p][i] = magnitude(at(scs[i], p))
    # the block's Scenario speaks for every sample only where none was made otherwise
    return SampleBlock(template=plan.template, values=vals, n=len(scs),
                       scenario=made if not slow else None), scs  # fmt: skip
