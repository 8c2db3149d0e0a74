"""`repm voi DECISION` as a function: decisions under parameter uncertainty and the value of
information (issue 14 part 4; docs/uncertainty.md).

For each parameter sample (every uncertain fact drawn, Philox-keyed by seed, sample and fact id,
as `repm uncertainty` draws them) the decision is valued and, where it is a choice of size, made
again (repm.app.decisions: unit, stockpile, plan); the net benefit of every option in every
sample gives EVPI and, by regression on each fact and topic, EVPPI
(repm.analyses.uncertainty.voi). This module holds the request, the command and the payload.

Each sample is a full validate-compile-run (a stockpile sizing is dozens of Monte Carlo runs;
a plan, an LP solved again per option), so the defaults are modest and the output says how wide
the estimate is and what a larger sample would cost.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

from repm.app.checks import check_choice, check_count, check_draws, check_groups, check_seed
from repm.app.commands import Outcome, store, table_results
from repm.app.decisions import DECIDE, MONEY, Progress
from repm.app.requests import Request, Weighed
from repm.errors import UserError, fmt_value
from repm.limits import MAX_PLAN_SCENARIOS

if TYPE_CHECKING:
    import numpy as np

DECISIONS = tuple(DECIDE)  # unit, stockpile, plan
# the defaults' cost on the 2-core machine: unit ~10 s, stockpile ~1.5–3 min, plan ~20 s (EVPI's
# 90 % bootstrap interval ±25 % of it for plan; for the stockpile wider than EVPI itself)
DEFAULT_SAMPLES = {"unit": 100, "stockpile": 16, "plan": 40}
MAX_SAMPLES = {"unit": 65_536, "stockpile": 1_000, "plan": 1_000}
# each option's cost is a Monte Carlo mean, and a sample's own best option picks up its noise,
# which biases EVPI upwards: at 16 samples, seeds 0–2, 200 draws gave 11.2, 17.3 and 0.8 crore
# INR, 800 draws 6.5, 3.1 and 0.0 (at 64 samples, seed 0: 31.3 → 18.0; docs/uncertainty.md)
DEFAULT_STOCKPILE_DRAWS = 800
MAX_MULTIPLE = 100  # --sizes: the largest multiple of the central stockpile


@dataclass(frozen=True, kw_only=True)
class VoiRequest(Weighed, Request):
    """`repm voi DECISION`: how the decision changes across parameter samples, and what knowing
    each fact before deciding is worth (EVPI, EVPPI)."""

    decision: str = "unit"
    samples: int | None = None  # default by decision (DEFAULT_SAMPLES)
    seed: int = 0
    unit: float | None = None  # unit: a hypothetical unit of this capacity (t/yr)
    service_level: float | None = None  # stockpile (default 0.95)
    draws: int | None = None  # stockpile: shock draws per evaluation (default 800)
    scenarios: int | None = None  # plan: shock scenarios in the LP (default 0)
    cvar: float | None = None  # plan: weight of CVaR in the objective (default 0)
    groups: tuple[str, ...] = ()  # extra EVPPI rows: topics, fact files, source:ID, fact ids
    # stockpile: the options are these multiples of the stockpile sized at central values (0:
    # none), valued in every sample, instead of a stockpile sized again in each (one search, not
    # one a sample: ~20× less a sample, so more samples for EVPPI)
    sizes: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_choice(self.decision, DECISIONS, "DECISION")
        if isinstance(self.groups, str):
            object.__setattr__(self, "groups", tuple(self.groups.split(",")))
        object.__setattr__(self, "groups", tuple(str(g).strip() for g in self.groups))
        check_groups(self.groups)
        d = self.decision
        own = {"unit": ("unit",), "stockpile": ("service_level", "draws", "sizes"),
               "plan": ("scenarios", "cvar")}  # fmt: skip
        for name in ("unit", "service_level", "draws", "sizes", "scenarios", "cvar"):
            if getattr(self, name) is not None and name not in own[d]:
                flag = "--" + name.replace("_", "-")
                users = [k for k, v in own.items() if name in v][0]
                raise UserError(
                    f"{fmt_value(getattr(self, name))} given for `voi {d}`; expected it only with "
                    f"`voi {users}`",
                    where=flag,
                )
        if self.samples is None:
            object.__setattr__(self, "samples", DEFAULT_SAMPLES[d])
        check_count(self.samples, "--samples", low=4, high=MAX_SAMPLES[d], what=" samples")
        check_seed(self.seed)
        if self.unit is not None and not (
            isinstance(self.unit, int | float) and math.isfinite(self.unit) and self.unit > 0
        ):
            raise UserError(f"{fmt_value(self.unit)}; expected a capacity > 0 t/yr", where="--unit")
        if d == "stockpile":
            if self.service_level is None:
                object.__setattr__(self, "service_level", 0.95)
            if not (isinstance(self.service_level, int | float) and 0 < self.service_level < 1):
                raise UserError(
                    f"{fmt_value(self.service_level)}; expected a probability strictly between "
                    "0 and 1",
                    where="--service-level",
                )
            if self.draws is None:
                object.__setattr__(self, "draws", DEFAULT_STOCKPILE_DRAWS)
            check_draws(self.draws)
            if self.sizes is not None:
                object.__setattr__(self, "sizes", check_sizes(self.sizes))
        self.check_alternatives()
        if d == "plan":
            if self.scenarios is None:
                object.__setattr__(self, "scenarios", 0)
            check_count(self.scenarios, "--scenarios", low=0, high=MAX_PLAN_SCENARIOS,
                        what=" shock scenarios")  # fmt: skip
            if self.cvar is None:
                object.__setattr__(self, "cvar", 0.0)
            if not (isinstance(self.cvar, int | float) and math.isfinite(self.cvar)
                    and self.cvar >= 0):  # fmt: skip
                raise UserError(f"{fmt_value(self.cvar)}; expected a weight ≥ 0", where="--cvar")
        super().__post_init__()

    @property
    def steps(self) -> int:
        """What `voi`'s progress counts to: each sample once (unit), or twice (stockpile, plan:
        the decision made in it, then every option valued in it)."""
        return int(self.samples) * (1 if self.decision == "unit" else 2)


def check_sizes(sizes) -> tuple[float, ...]:
    """`--sizes`: multiples (≥ 0, finite) of the stockpile sized at central values, given as
    numbers or one comma-separated text; at least two distinct, at most MAX_OPTIONS. Every
    mistake in one line."""
    from repm.app.decisions import MAX_OPTIONS

    items = sizes.split(",") if isinstance(sizes, str) else list(sizes)
    out, bad = [], []
    for item in items:
        try:
            k = float(item)
        except (TypeError, ValueError):
            k = math.nan
        if not (math.isfinite(k) and 0 <= k <= MAX_MULTIPLE):
            bad.append(str(item).strip() or "''")
        out.append(k)
    shown = ",".join(str(i).strip() for i in items)
    if bad:
        raise UserError(
            f"{', '.join(bad)} in {shown!r}; expected multiples from 0 to {MAX_MULTIPLE} of the "
            "stockpile sized at central values, comma-separated (e.g. 0,0.5,1,2; 0 is none)",
            where="--sizes",
        )
    if not 2 <= len(set(out)) <= MAX_OPTIONS:
        raise UserError(
            f"{len(set(out))} distinct multiple{'' if len(set(out)) == 1 else 's'} in "
            f"{shown!r}; expected 2 to {MAX_OPTIONS} "
            "(e.g. 0,0.5,1,2)",
            where="--sizes",
        )
    return tuple(dict.fromkeys(out))


def voi(req: VoiRequest, progress: Progress = None) -> Outcome:
    loaded = req.load()
    import numpy as np

    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.structure import Pooled

    # the Evaluator applies fact values to the scenario; its output is not used here (a run
    # indicator, so a scenario without scheme units can still value a hypothetical --unit)
    loads, alts = req.weighed(loaded)
    if req.decision == "unit" and req.unit is None:
        from repm.analyses.finance import unit_specs

        for sc in loads[1:]:  # the scenario asked for says so itself (`voi unit`'s own error)
            if sc.scenario.scheme is None or not unit_specs(sc.scenario):
                raise UserError(
                    f"{sc.name} has no scheme units; expected alternatives that each have a "
                    "unit to value, or --unit CAPACITY",
                    where="--alternative",
                )
    ev = Pooled.of(loads, alts, lambda sc: Evaluator(sc, "magnet_imports", step="yearly"))
    if not ev.inputs.drawn:
        raise UserError(
            "no uncertain fact reaches this scenario; nothing to learn", where="--scenario"
        )
    n = int(req.samples)
    u, labels, at = ev.draw(req.seed, n)
    t0 = time.perf_counter()
    decide = DECIDE[req.decision]
    got = decide(req, loaded, ev, at, progress)
    wall = time.perf_counter() - t0
    nb = got.pop("nb")
    per_draw = got.pop("per_draw", None)
    kept = got.pop("kept", None)
    if kept is not None:  # samples the decision could not be made in are left out
        u = {k: v[np.asarray(kept, dtype=int)] for k, v in u.items()}
        labels = labels[np.asarray(kept, dtype=int)]
    payload = _value(req, loaded, ev, u, nb, got, per_draw, labels)
    payload.update(seconds=wall, seconds_per_sample=wall / n)
    rows = [{"year": int(loaded.scenario.horizon.start), "name": "voi_evpi",
             "value": payload["evpi"], "unit": MONEY}]  # fmt: skip
    rows += [{"year": int(loaded.scenario.horizon.start), "name": "voi_evppi", "value": r["value"],
              "unit": MONEY, "channel": r["fact"]} for r in payload["evppi"]]  # fmt: skip
    results = table_results(loaded, rows)
    run_id, path = store(
        req, loaded, results, "voi", seed=req.seed, draws=n,
        meta={k: v for k, v in payload.items() if k not in ("evppi", "samples_detail", "run_id")},
    )  # fmt: skip
    payload["run_id"] = run_id
    return Outcome(payload, results, run_id, path, {"nb": nb}, loaded)


# --- the value of information from a net-benefit matrix ---------------------------------------


def _value(
    req: VoiRequest, loaded, ev, u: dict, nb: np.ndarray, got: dict, per_draw=None, labels=None
) -> dict:
    import numpy as np

    from repm.analyses.uncertainty import resolve_groups
    from repm.analyses.uncertainty import voi as V
    from repm.analyses.uncertainty.ranges import inverse_cdf
    from repm.analyses.uncertainty.structure import STRUCTURE

    n = nb.shape[0]
    total = V.evpi(nb)
    x = {fid: inverse_cdf(ev.spreads[fid], u[fid]) for fid in ev.inputs.drawn}
    xf = np.column_stack([x[f] for f in ev.inputs.drawn])
    floor1 = V.noise_floor(nb, xf, seed=req.seed)  # the facts shuffled against nb: none matters
    rows = []
    each = V.evppi_each(nb, xf)
    for fid, value in zip(ev.inputs.drawn, each, strict=True):
        grade = ev.table.facts[fid].grade
        rows.append({"fact": fid, "value": float(value), "unit": MONEY, "kind": "fact",
                     "grade": grade, "floor": floor1})  # fmt: skip
    from repm.app.uncertainty import factors

    _, _, members = factors(ev, SimpleNamespace(groups=(), by_fact=False))
    members.pop(STRUCTURE, None)  # valued below, from its groups of samples
    if req.groups:
        members = {**resolve_groups(req.groups, ev.inputs, ev.table, ev.rule), **members}
    for g, facts in members.items():
        if len(facts) + 2 > n // 2:
            continue  # a single index over this many facts would fit noise: not estimated
        xs = np.column_stack([x[f] for f in facts])
        grades = [ev.table.facts[f].grade for f in facts]
        weak = sum(gr in V.FLAG_GRADES for gr in grades) / len(grades)
        floor = V.noise_floor_set(nb, xs, among=len(members), seed=req.seed)  # its rows shuffled
        rows.append({"fact": g, "value": V.evppi(nb, xs), "unit": MONEY, "kind": "group",
                     "grade": f"{weak:.0%} C/assumption", "floor": floor, "facts": facts,
                     "weak_share": weak})  # fmt: skip
    skipped = [g for g, f in members.items() if len(f) + 2 > n // 2]
    structure = None
    if getattr(ev, "pooled", False):
        structure = _structure(req, ev.alternatives, labels, nb, got["choice"]["options"])
        rows.append(structure.pop("row"))
    for r in rows:
        weak = r["grade"] in V.FLAG_GRADES if r["kind"] == "fact" else r.get("weak_share", 0) > 0.5
        weak = weak or r["kind"] == "structure"  # a choice between stories: as weak as it gets
        big = total > 0 and r["value"] >= V.FLAG_SHARE * total and r["value"] > r["floor"]
        r["flag"] = bool(weak and big)
    rows.sort(key=lambda r: (-r["value"], r["fact"]))
    choice = got.pop("choice")
    # each option's expected net benefit, and how often it is a sample's own best
    choice["expected_nb"] = [float(v) for v in nb.mean(axis=0)]
    own = np.argmax(nb, axis=1)
    choice["best_share"] = [float(np.mean(own == j)) for j in range(nb.shape[1])]
    payload = {
        "command": "voi", "scenario": loaded.name, "run_id": None, "decision": req.decision,
        "samples": n, "seed": req.seed, "inputs": len(ev.inputs.drawn), "unit": MONEY,
        "evpi": total,
        "evpi_interval": list(V.evpi_interval(nb, seed=req.seed, per_draw=per_draw)),
        "evpi_interval_resamples": "parameter samples"
        + (" and shock draws" if per_draw is not None else ""),
        "evppi": rows, "noise_floor": floor1,
        "smoother": f"polynomial of degree {V.degree_for(n)} (single index for groups)",
        "choice": choice, **got,
        "groups_not_estimated": skipped,
        "research_next": [r["fact"] for r in rows if r["flag"]],
        # what the decision turns on, as the stored run keeps it for the how-sure lines: the
        # largest rows worth more to know than chance (EVPPI above its chance level)
        "above_chance": [{"fact": r["fact"], "value": r["value"], "floor": r["floor"],
                          "kind": r["kind"]} for r in rows if r["value"] > r["floor"]][:4],
        "structure": structure,
        "alternatives": None if structure is None else [
            {"name": x["name"], "weight": x["weight"]} for x in structure["scenarios"]],
    }  # fmt: skip
    return payload


def _structure(req: VoiRequest, alts, labels, nb, options: list) -> dict:
    """The choice of scenario as an input of the decision: its EVPPI from the group means (exact
    for a discrete input; its noise floor with the labels shuffled), each scenario's weight and
    samples, and the option best in expectation under each."""
    import numpy as np

    from repm.analyses.uncertainty.structure import (
        STRUCTURE,
        evppi_discrete,
        evppi_discrete_floor,
    )

    floor = evppi_discrete_floor(nb, labels, seed=req.seed)
    scen = []
    for k, (name, w) in enumerate(zip(alts.names, alts.weights, strict=True)):
        mine = labels == k
        best = int(np.argmax(nb[mine].mean(axis=0))) if mine.any() else None
        scen.append({"name": name, "weight": w, "samples": int(mine.sum()),
                     "expected_best": None if best is None else options[best]})  # fmt: skip
    row = {"fact": STRUCTURE, "value": evppi_discrete(nb, labels), "unit": MONEY,
           "kind": "structure", "grade": "alternatives", "floor": floor,
           "facts": list(alts.names)}  # fmt: skip
    return {"input": STRUCTURE, "scenarios": scen, "row": row}
