"""`repm voi DECISION` as a function: decisions under parameter uncertainty and the value of
information (issue 14 part 4; docs/uncertainty.md).

For each parameter sample (every uncertain fact drawn, Philox-keyed by seed, sample and fact id,
as `repm uncertainty` draws them) the decision is valued and, where it is a choice of size, made
again; the net benefit of every option in every sample gives EVPI and, by regression on each fact
and topic, EVPPI (repm.analyses.uncertainty.voi):

- `unit`: build (or bid) the scheme's first unit, or `--unit CAPACITY`, or not: NB = the unit's
  NPV (as `repm finance` values it) or 0. Also P(NPV > 0) and the breakeven price per sample.
- `stockpile`: the stockpile `repm stockpile` sizes for the service level, sized again in each
  sample; options are those stockpiles (and the one sized at central values), each valued in
  every sample as −(holding cost + unmet demand × policy.unmet_penalty), discounted.
- `plan`: the planner's build-out (`repm plan`), chosen again in each sample; options are those
  build-outs, each valued in every sample as −(the planner's least cost with the build-out fixed).

Each sample is a full validate-compile-run (a stockpile sizing is dozens of Monte Carlo runs):
slow today, so the defaults are small and the output says how wide the estimate is. Issue 14
part 2 puts the samples on the engine's draw axis.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

from repm.app.commands import Outcome, store, table_results
from repm.app.requests import Request, check_choice, check_count, check_draws, check_seed
from repm.errors import UserError, fmt_value
from repm.limits import MAX_PLAN_SCENARIOS

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[int], None] | None
DECISIONS = ("unit", "stockpile", "plan")
DEFAULT_SAMPLES = {"unit": 100, "stockpile": 8, "plan": 10}
MAX_SAMPLES = {"unit": 65_536, "stockpile": 1_000, "plan": 1_000}
DEFAULT_STOCKPILE_DRAWS = 200
MONEY = "crore INR"
SETS = 16  # unit: samples simulated side by side in one kernel call
MAX_OPTIONS = 12  # stockpile, plan: options valued in every sample (the central one + 11)


@dataclass(frozen=True, kw_only=True)
class VoiRequest(Request):
    """`repm voi DECISION`: how the decision changes across parameter samples, and what knowing
    each fact before deciding is worth (EVPI, EVPPI)."""

    decision: str = "unit"
    samples: int | None = None  # default by decision (DEFAULT_SAMPLES)
    seed: int = 0
    unit: float | None = None  # unit: a hypothetical unit of this capacity (t/yr)
    service_level: float | None = None  # stockpile (default 0.95)
    draws: int | None = None  # stockpile: shock draws per evaluation (default 200)
    scenarios: int | None = None  # plan: shock scenarios in the LP (default 0)
    cvar: float | None = None  # plan: weight of CVaR in the objective (default 0)
    groups: tuple[str, ...] = ()  # extra EVPPI rows: topics, fact files, source:ID, fact ids

    def __post_init__(self) -> None:
        check_choice(self.decision, DECISIONS, "DECISION")
        if isinstance(self.groups, str):
            object.__setattr__(self, "groups", tuple(self.groups.split(",")))
        object.__setattr__(self, "groups", tuple(str(g).strip() for g in self.groups))
        if any(not g for g in self.groups) or len(set(self.groups)) != len(self.groups):
            raise UserError(
                f"{','.join(self.groups)!r}; expected distinct, non-empty group names separated "
                "by commas",
                where="--group",
            )
        d = self.decision
        own = {"unit": ("unit",), "stockpile": ("service_level", "draws"),
               "plan": ("scenarios", "cvar")}  # fmt: skip
        for name in ("unit", "service_level", "draws", "scenarios", "cvar"):
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


def voi(req: VoiRequest, progress: Progress = None) -> Outcome:
    loaded = req.load()
    import numpy as np

    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator

    # the Evaluator applies fact values to the scenario; its output is not used here (a run
    # indicator, so a scenario without scheme units can still value a hypothetical --unit)
    ev = Evaluator(loaded, "magnet_imports", step="yearly")
    if not ev.inputs.drawn:
        raise UserError(
            "no uncertain fact reaches this scenario; nothing to learn", where="DECISION"
        )
    n = int(req.samples)
    u = philox_uniforms(ev.inputs.drawn, req.seed, np.arange(n))
    values = ev.inputs.values(u, n)
    moving = [k for k, v in values.items() if not np.all(v == ev.spreads[k].central)]
    at = [{k: float(values[k][d]) for k in moving} for d in range(n)]
    t0 = time.perf_counter()
    decide = {"unit": _unit, "stockpile": _stockpile, "plan": _plan}[req.decision]
    got = decide(req, loaded, ev, at, progress)
    wall = time.perf_counter() - t0
    nb = got.pop("nb")
    kept = got.pop("kept", None)
    if kept is not None:  # samples the decision could not be made in are left out
        u = {k: v[np.asarray(kept, dtype=int)] for k, v in u.items()}
    payload = _value(req, loaded, ev, u, nb, got)
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


def _value(req: VoiRequest, loaded, ev, u: dict, nb: np.ndarray, got: dict) -> dict:
    import numpy as np

    from repm.analyses.uncertainty import resolve_groups
    from repm.analyses.uncertainty import voi as V
    from repm.analyses.uncertainty.ranges import inverse_cdf

    n = nb.shape[0]
    total = V.evpi(nb)
    x = {fid: inverse_cdf(ev.spreads[fid], u[fid]) for fid in ev.inputs.drawn}
    floor1 = V.noise_floor(nb, 1, among=len(ev.inputs.drawn), seed=req.seed)
    rows = []
    each = V.evppi_each(nb, np.column_stack([x[f] for f in ev.inputs.drawn]))
    for fid, value in zip(ev.inputs.drawn, each, strict=True):
        grade = ev.table.facts[fid].grade
        rows.append({"fact": fid, "value": float(value), "unit": MONEY, "kind": "fact",
                     "grade": grade, "floor": floor1})  # fmt: skip
    from repm.app.uncertainty import factors

    _, _, members = factors(ev, SimpleNamespace(groups=(), by_fact=False))
    if req.groups:
        members = {**resolve_groups(req.groups, ev.inputs, ev.table, ev.rule), **members}
    for g, facts in members.items():
        if len(facts) + 2 > n // 2:
            continue  # a single index over this many facts would fit noise: not estimated
        xs = np.column_stack([x[f] for f in facts])
        grades = [ev.table.facts[f].grade for f in facts]
        weak = sum(gr in V.FLAG_GRADES for gr in grades) / len(grades)
        rows.append({"fact": g, "value": V.evppi(nb, xs), "unit": MONEY, "kind": "group",
                     "grade": f"{weak:.0%} C/assumption", "floor": V.noise_floor(
                         nb, len(facts), among=len(members), seed=req.seed), "facts": facts, "weak_share": weak})  # fmt: skip
    skipped = [g for g, f in members.items() if len(f) + 2 > n // 2]
    for r in rows:
        weak = r["grade"] in V.FLAG_GRADES if r["kind"] == "fact" else r.get("weak_share", 0) > 0.5
        big = total > 0 and r["value"] >= V.FLAG_SHARE * total and r["value"] > r["floor"]
        r["flag"] = bool(weak and big)
    rows.sort(key=lambda r: (-r["value"], r["fact"]))
    choice = got.pop("choice")
    payload = {
        "command": "voi", "scenario": loaded.name, "run_id": None, "decision": req.decision,
        "samples": n, "seed": req.seed, "inputs": len(ev.inputs.drawn), "unit": MONEY,
        "evpi": total, "evpi_interval": list(V.evpi_interval(nb, seed=req.seed)),
        "evppi": rows, "noise_floor": floor1,
        "smoother": f"polynomial of degree {V.degree_for(n)} (single index for groups)",
        "choice": choice, **got,
        "groups_not_estimated": skipped,
        "research_next": [r["fact"] for r in rows if r["flag"]],
    }  # fmt: skip
    return payload


def _thin(options: list, size, most: int = MAX_OPTIONS) -> list:
    """At most `most` options, each valued in every sample: the central one and, of the
    others, evenly spaced by size (the samples' own choices span what could be chosen)."""
    if len(options) <= most:
        return options
    rest = sorted(options[1:], key=size)
    pick = sorted({round(i * (len(rest) - 1) / (most - 2)) for i in range(most - 1)})
    return [options[0], *(rest[i] for i in pick)]


def _changed(paths: list, central, tol: float) -> tuple[int, float]:
    """How many samples chose a decision differing from the central one by more than tol."""
    import numpy as np

    c = np.asarray(central, dtype=float)
    k = sum(1 for p in paths if np.max(np.abs(np.asarray(p, dtype=float) - c)) > tol)
    return k, k / len(paths)


def _quantiles(v) -> dict:
    import numpy as np

    v = np.asarray([x for x in v if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return {"p05": None, "p50": None, "p95": None, "mean": None, "n": 0}
    return {"p05": float(np.quantile(v, 0.05)), "p50": float(np.quantile(v, 0.5)),
            "p95": float(np.quantile(v, 0.95)), "mean": float(v.mean()), "n": int(v.size)}  # fmt: skip


# --- unit: build it or not --------------------------------------------------------------------


def _unit(req: VoiRequest, loaded, ev, at: list[dict], progress: Progress) -> dict:
    import numpy as np

    from repm.analyses import finance as F
    from repm.analyses.finance.units import Levers
    from repm.chain import compile_chain
    from repm.results.build import Results
    from repm.simulate.sets import simulate_sets

    def spec(sc):
        if req.unit is not None:
            return F.hypothetical_unit(sc, req.unit)
        units = F.unit_specs(sc)
        if not units:
            raise UserError(
                "no scheme units in this scenario; expected --unit CAPACITY", where="supply.units"
            )
        return units[0]

    def value(sc, chain, sim) -> tuple[float, float, float]:
        ctx = F.context(sc, chain, Results(data=sim.data, indicators=None, scenario=sc.name))  # type: ignore[arg-type]
        un = spec(sc)
        rate = sc.economics.finance.discount_rate  # type: ignore[union-attr]

        def at_price(k: float) -> float:  # unit_metrics' NPV without its IRR search
            return F.npv(rate, F.cash_flows(ctx, un, Levers(price=k))["net"].values)

        p = F.first_price(ctx, un)
        npv = at_price(1.0)
        return npv, _breakeven(at_price, npv) * p, p

    def block(scs: list) -> list[tuple[float, float, float]]:
        """Validated scenarios → (NPV, breakeven price, price) each; simulated side by side on
        the engine's draw axis (simulate_sets), valued one by one."""
        chains = [compile_chain(sc) for sc in scs]
        sims = simulate_sets(chains, step="yearly")
        return [value(sc, c, s) for sc, c, s in zip(scs, chains, sims, strict=True)]

    central_sc = ev.scenario_at({})
    un = spec(central_sc)
    ((npv0, be0, p0),) = block([central_sc])
    npv = np.empty(len(at))
    be: list[float] = []
    price: list[float] = []
    for lo in range(0, len(at), SETS):
        part = block([ev.scenario_at(v) for v in at[lo : lo + SETS]])
        for i, (v, b, p) in enumerate(part):
            npv[lo + i] = v
            be.append(b)
            price.append(p)
        if progress is not None:
            progress(len(part))
    nb = np.column_stack([npv, np.zeros_like(npv)])
    build_central = npv0 > 0
    build_bayes = bool(npv.mean() > 0)
    changed = int(np.sum((npv > 0) != build_central))
    return {
        "nb": nb,
        "choice": {
            "options": ["build", "do not build"],
            "at_central": "build" if build_central else "do not build",
            "expected_best": "build" if build_bayes else "do not build",
            "changed": changed, "share_changed": changed / len(at),
        },
        "unit_id": un.unit_id, "capacity": un.capacity,
        "npv_central": npv0, "npv": _quantiles(npv), "p_npv_positive": float((npv > 0).mean()),
        "breakeven_price_central": be0 if np.isfinite(be0) else None, "price_central": p0,
        "breakeven_price": _quantiles(be), "price": _quantiles(price),
        "breakeven_none": int(sum(not np.isfinite(b) for b in be)),
        "breakeven_over_price": _quantiles([b / p for b, p in zip(be, price, strict=True)]), "price_unit": "INR/kg",
    }  # fmt: skip


def _breakeven(f, at_one: float) -> float:
    """The price multiplier k with NPV(k) = 0 (NPV rises with k), bracketed as
    finance.breakeven_price brackets it: 0 if the unit pays at any price, nan if not below 20×
    the grade price; `at_one` = NPV(1), known already."""
    from scipy import optimize

    if at_one >= 0:
        if f(1e-6) > 0:
            return 0.0
        return float(optimize.brentq(f, 1e-6, 1.0, rtol=1e-6, xtol=1e-6))
    if f(20.0) < 0:
        return math.nan
    return float(optimize.brentq(f, 1.0, 20.0, rtol=1e-6, xtol=1e-6))


# --- stockpile: how much to hold --------------------------------------------------------------


def _stockpile(req: VoiRequest, loaded, ev, at: list[dict], progress: Progress) -> dict:
    from dataclasses import replace

    import numpy as np

    from repm.analyses.risk import run_draws, size_stockpile
    from repm.chain import compile_chain
    from repm.model.units import CRORE_PER_T_AT

    def sized(sc) -> dict[str, float]:
        res = size_stockpile(
            SimpleNamespace(scenario=sc), compile_chain, service_level=req.service_level,
            draws=req.draws, seed=req.seed,
        )  # fmt: skip
        return res.stockpile, res.attainable

    scs = [ev.scenario_at({})] + [ev.scenario_at(v) for v in at]
    stocks, attainable = [], []
    for i, sc in enumerate(scs):
        s, ok = sized(sc)
        stocks.append(s)
        attainable.append(ok)
        if progress is not None and i > 0:
            progress(1)
    materials = list(stocks[0])
    vec = [tuple(round(s.get(m, 0.0), 1) for m in materials) for s in stocks]
    distinct = len(dict.fromkeys(vec))
    options = _thin(list(dict.fromkeys(vec)), sum)  # the central one first, duplicates once
    rate = scs[0].economics.finance.discount_rate if scs[0].economics.finance else 0.0

    def cost(sc, chain, opt) -> float:
        stock0 = chain.stockpile0.copy(
            data=[dict(zip(materials, opt, strict=True)).get(m, 0.0) for m in chain.materials]
        )
        summ = run_draws(replace(chain, stockpile0=stock0), sc, draws=req.draws, seed=req.seed)
        first = chain.future_from // 12
        disc = (1 + rate) ** -np.arange(summ.total.shape[1] - first)
        holding = float((summ.holding[:, first:].mean(axis=0) * disc).sum())
        unmet = float((summ.total[:, first:].mean(axis=0) * disc).sum())
        return holding + unmet * sc.policy.unmet_penalty * CRORE_PER_T_AT

    nb = np.empty((len(at), len(options)))
    for d, sc in enumerate(scs[1:]):
        chain = compile_chain(sc)
        for j, opt in enumerate(options):
            nb[d, j] = -cost(sc, chain, opt)
        if progress is not None:
            progress(1)
    totals = [sum(s.values()) for s in stocks[1:]]
    central = vec[0]
    tol = max(0.1 * max(sum(central), 1.0), 10.0)
    k, share = _changed(vec[1:], central, tol)
    best = int(np.argmax(nb.mean(axis=0)))
    return {
        "nb": nb,
        "choice": {
            "options": [dict(zip(materials, o, strict=True)) for o in options],
            "at_central": dict(zip(materials, central, strict=True)),
            "expected_best": dict(zip(materials, options[best], strict=True)),
            "changed": k, "share_changed": share, "distinct": distinct,
            "changed_means": f"a material's stockpile differs by more than {tol:,.0f} t",
        },
        "service_level": req.service_level, "draws": req.draws,
        "stockpile_total": _quantiles(totals), "stockpile_unit": "t",
        "by_material": {m: _quantiles([s[m] for s in stocks[1:]]) for m in materials},
        "not_attainable": int(sum(not a for a in attainable[1:])),
        "attainable_central": bool(attainable[0]),
        "net_benefit": "−(holding cost + unmet demand × policy.unmet_penalty), 2026 on, "
        f"discounted at {rate:.0%}, mean over {req.draws} shock draws",
    }  # fmt: skip


# --- plan: how much capacity to build ---------------------------------------------------------


def _plan(req: VoiRequest, loaded, ev, at: list[dict], progress: Progress) -> dict:
    import numpy as np

    from repm.analyses.optimize.model import build_model
    from repm.analyses.optimize.solve import optimize, scenario_inputs, solve
    from repm.chain import compile_chain

    scs = [ev.scenario_at({})] + [ev.scenario_at(v) for v in at]
    builds, objectives, models, kept = [], [], [], []
    for i, sc in enumerate(scs):
        chain = compile_chain(sc)
        try:
            res = optimize(sc, chain, scenarios=req.scenarios, seed=req.seed, cvar_weight=req.cvar)
        except UserError:
            if i == 0:
                raise
            if progress is not None:
                progress(2)  # a sample the planner cannot solve is left out (counted)
            continue
        if i == 0:
            years = [int(y) for y in res.build.index]
        builds.append(tuple(round(float(v), 1) for v in res.build.values))
        objectives.append(res.objective)
        if i > 0:
            models.append((sc, chain))
            kept.append(i - 1)
            if progress is not None:
                progress(1)
    if len(kept) < 2:
        raise UserError(
            f"the planner solved {len(kept)} of {len(at)} samples; expected at least 2",
            where="--samples",
        )
    distinct = len(dict.fromkeys(builds))
    options = _thin(list(dict.fromkeys(builds)), sum)

    def fixed_cost(sc, chain, opts) -> list[float]:
        avail, pm = scenario_inputs(sc, chain, req.scenarios, req.seed)
        mdl, _ = build_model(sc, chain, avail, pm, cvar_weight=req.cvar)
        var = mdl.variables["build"]
        upper = var.upper.values.copy()
        out = []
        for opt in opts:
            b = np.minimum(np.asarray(opt, dtype=float), upper)
            var.lower = var.lower.copy(data=np.zeros_like(b))  # never lower > upper between
            var.upper = var.upper.copy(data=b)
            var.lower = var.lower.copy(data=b)
            cond = solve(mdl)
            out.append(float(mdl.objective.value) if cond == "optimal" else math.nan)
        return out

    nb = np.empty((len(models), len(options)))
    for d, (sc, chain) in enumerate(models):
        nb[d] = [-c for c in fixed_cost(sc, chain, options)]
        if progress is not None:
            progress(1)
    bad = ~np.all(np.isfinite(nb), axis=0)
    if bad.any():  # a build-out infeasible in some sample is not an option
        nb = nb[:, ~bad]
        options = [o for o, b in zip(options, bad, strict=True) if not b]
    central = builds[0]
    cap = [np.cumsum(b) for b in builds]
    k, share = _changed([c for c in cap[1:]], cap[0], max(0.05 * float(cap[0][-1]), 50.0))
    best = int(np.argmax(nb.mean(axis=0)))
    return {
        "nb": nb,
        "choice": {
            "options": [dict(zip(years, np.cumsum(o).tolist(), strict=True)) for o in options],
            "at_central": dict(zip(years, np.cumsum(central).tolist(), strict=True)),
            "expected_best": dict(zip(years, np.cumsum(options[best]).tolist(), strict=True)),
            "changed": k, "share_changed": share, "distinct": distinct,
            "changed_means": "new capacity in some year differs by more than "
            f"{max(0.05 * float(cap[0][-1]), 50.0):,.0f} t/yr",
        },
        "kept": kept, "samples_failed": len(at) - len(kept),
        "scenarios": req.scenarios, "cvar": req.cvar,
        "capacity_last_year": _quantiles([float(c[-1]) for c in cap[1:]]),
        "capacity_central_last_year": float(cap[0][-1]), "capacity_unit": "t/yr added",
        "objective": _quantiles(objectives[1:]), "objective_central": objectives[0],
        "net_benefit": "−(the planner's least discounted cost with the build-out fixed)",
    }  # fmt: skip
