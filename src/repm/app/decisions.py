"""The decisions `repm voi` values in every parameter sample, each as its options and their net
benefit (the matrix repm.app.voi turns into EVPI and EVPPI):

- `unit`: build (or bid) the scheme's first unit, or `--unit CAPACITY`, or not: NB = the unit's
  NPV (as `repm finance` values it) or 0. Also P(NPV > 0) and the breakeven price per sample.
- `stockpile`: the stockpile `repm stockpile` sizes for the service level, sized again in each
  sample; options are those stockpiles (and the one sized at central values), each valued in
  every sample as −(holding cost + unmet demand × policy.unmet_penalty), discounted.
- `plan`: the planner's build-out (`repm plan`), chosen again in each sample; options are those
  build-outs, each valued in every sample as −(the planner's least cost with the build-out fixed).

Each takes the request, the loaded scenario, the Evaluator (which applies fact values to the
scenario) and the samples' fact values, and returns {"nb": samples × options, "choice": …, and
what the payload reports about the decision}.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING

from repm.errors import UserError

if TYPE_CHECKING:
    from repm.app.voi import VoiRequest

Progress = Callable[[int], None] | None
MONEY = "crore INR"
SETS = 16  # unit: samples simulated side by side in one kernel call
MAX_OPTIONS = 12  # stockpile, plan: options valued in every sample (the central one + 11)
PER_DRAW_BYTES = 1024**3  # stockpile: each draw's cost, samples × options × draws, at most
KEPT_LP_BYTES = 2 * 1024**3  # plan: samples' LPs kept in memory between choosing and valuing


def thin(options: list, size, most: int = MAX_OPTIONS) -> list:
    """At most `most` options, each valued in every sample: the central one and, of the
    others, evenly spaced by size (the samples' own choices span what could be chosen)."""
    if len(options) <= most:
        return options
    rest = sorted(options[1:], key=size)
    pick = sorted({round(i * (len(rest) - 1) / (most - 2)) for i in range(most - 1)})
    return [options[0], *(rest[i] for i in pick)]


def count_changed(paths: list, central, tol: float) -> tuple[int, float]:
    """How many samples chose a decision differing from the central one by more than tol."""
    import numpy as np

    c = np.asarray(central, dtype=float)
    k = sum(1 for p in paths if np.max(np.abs(np.asarray(p, dtype=float) - c)) > tol)
    return k, k / len(paths)


def quantiles(v) -> dict:
    import numpy as np

    v = np.asarray([x for x in v if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return {"p05": None, "p50": None, "p95": None, "mean": None, "n": 0}
    return {"p05": float(np.quantile(v, 0.05)), "p50": float(np.quantile(v, 0.5)),
            "p95": float(np.quantile(v, 0.95)), "mean": float(v.mean()), "n": int(v.size)}  # fmt: skip


# --- unit: build it or not --------------------------------------------------------------------


def unit_decision(req: VoiRequest, loaded, ev, at: list[dict], progress: Progress) -> dict:
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
        return npv, breakeven(at_price, npv) * p, p

    def block(scs: list, tags: list[int] | None = None) -> list[tuple[float, float, float]]:
        """Validated scenarios → (NPV, breakeven price, price) each; simulated side by side on
        the engine's draw axis (simulate_sets; those of one scenario together, `tags`: the
        alternatives' chains may differ in shape), valued one by one."""
        tags = tags or [0] * len(scs)
        out: list = [None] * len(scs)
        for k in dict.fromkeys(tags):
            idx = [i for i, t in enumerate(tags) if t == k]
            chains = [compile_chain(scs[i]) for i in idx]
            sims = simulate_sets(chains, step="yearly")
            for i, c, s in zip(idx, chains, sims, strict=True):
                out[i] = value(scs[i], c, s)
        return out

    central_sc = ev.scenario_at({})
    un = spec(central_sc)
    ((npv0, be0, p0),) = block([central_sc])
    npv = np.empty(len(at))
    be: list[float] = []
    price: list[float] = []
    for lo in range(0, len(at), SETS):
        vs = at[lo : lo + SETS]
        part = block([ev.scenario_at(v) for v in vs], [getattr(v, "scenario", 0) for v in vs])
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
        "npv_central": npv0, "npv": quantiles(npv), "p_npv_positive": float((npv > 0).mean()),
        "breakeven_price_central": be0 if np.isfinite(be0) else None, "price_central": p0,
        "breakeven_price": quantiles(be), "price": quantiles(price),
        "breakeven_none": int(sum(not np.isfinite(b) for b in be)),
        "breakeven_over_price": quantiles([b / p for b, p in zip(be, price, strict=True)]), "price_unit": "INR/kg",
    }  # fmt: skip


def breakeven(f, at_one: float) -> float:
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


def stockpile_decision(req: VoiRequest, loaded, ev, at: list[dict], progress: Progress) -> dict:
    from dataclasses import replace

    import numpy as np

    from repm.analyses.risk import run_draws, size_stockpile
    from repm.analyses.risk.measures import discounted
    from repm.analyses.uncertainty.pool import cpus, fork_map
    from repm.chain import compile_chain
    from repm.model.units import CRORE_PER_T_AT

    def sized(sc) -> dict[str, float]:
        res = size_stockpile(
            SimpleNamespace(scenario=sc), compile_chain, service_level=req.service_level,
            draws=req.draws, seed=req.seed,
        )  # fmt: skip
        return res.stockpile, res.attainable

    scs = [ev.scenario_at({})] + [ev.scenario_at(v) for v in at]
    # each sample's search and valuation is its own: the samples go to both cores (forked
    # processes, pool.fork_map), the same numbers as one after another
    workers = cpus()

    def tick(i: int, _) -> None:
        if progress is not None and i > 0:
            progress(1)

    if req.sizes is not None:  # one search, at central values; its multiples are the options
        stock0, att0 = sized(scs[0])
        stocks, attainable = [stock0], [att0]
        if progress is not None:
            progress(len(scs) - 1)  # the choice is not made again in each sample
    else:
        # items cross to the workers pickled: indices, not scenarios (their pint quantities
        # belong to repm's own unit registry)
        got = fork_map(lambda i: sized(scs[i]), range(len(scs)), workers=workers, done=tick)
        stocks, attainable = [g[0] for g in got], [g[1] for g in got]
    materials = list(stocks[0])
    vec = [tuple(round(s.get(m, 0.0), 1) for m in materials) for s in stocks]
    if req.sizes is not None:
        multiples = {tuple(round(k * x, 1) for x in vec[0]): k for k in reversed(req.sizes)}
        options = list(dict.fromkeys(tuple(round(k * x, 1) for x in vec[0]) for k in req.sizes))
        multiples = [multiples[o] for o in options]  # each option's first multiple
        if len(options) < 2:  # a stockpile of none (or of ~0.1 t) has no distinct multiples
            raise UserError(
                f"{','.join(f'{k:g}' for k in req.sizes)} are all the same stockpile: the one "
                f"sized at central values for {req.service_level:.0%} is "
                f"{sum(vec[0]):,.1f} t; expected multiples of a stockpile that is not none "
                "(another --service-level), or no --sizes",
                where="--sizes",
            )
    else:
        distinct = len(dict.fromkeys(vec))
        options = thin(list(dict.fromkeys(vec)), sum)  # the central one first, duplicates once
        # holding none is a choice too: a service level is a target, and at the scenario's
        # value of a kilogram short a stockpile may cost more than the shortages it avoids
        sized_options = len(options)
        none = tuple(0.0 for _ in materials)
        if none not in options:
            options.append(none)
    rate = scs[0].economics.finance.discount_rate if scs[0].economics.finance else 0.0

    def cost(sc, chain, opt) -> tuple[float, np.ndarray]:
        """The option's expected cost, and each shock draw's (their mean, summed otherwise)."""
        stock0 = chain.stockpile0.copy(
            data=[dict(zip(materials, opt, strict=True)).get(m, 0.0) for m in chain.materials]
        )
        summ = run_draws(replace(chain, stockpile0=stock0), sc, draws=req.draws, seed=req.seed)
        held, short = discounted(summ, chain.first_future_year, rate)
        each = held + short * (sc.policy.unmet_penalty * CRORE_PER_T_AT)
        return float(held.mean()) + float(short.mean()) * sc.policy.unmet_penalty * CRORE_PER_T_AT, each

    # each draw's cost is kept for the EVPI interval while it fits; beyond, the interval
    # resamples the parameter samples only (the payload says which)
    keep = (len(scs) - 1) * len(options) * req.draws * 8 <= PER_DRAW_BYTES

    def valued(i: int) -> tuple[list[float], np.ndarray | None]:
        sc = scs[i]
        chain = compile_chain(sc)
        costs = [cost(sc, chain, opt) for opt in options]
        each = -np.stack([e for _, e in costs]) if keep else None  # options × draws
        return [-c for c, _ in costs], each

    def tock(i: int, _) -> None:
        if progress is not None:
            progress(1)

    if req.sizes is not None:  # valued at central values too: which option is best there
        each = fork_map(valued, range(len(scs)), workers=workers, done=tick)
        return _at_sizes(req, options, multiples, materials, vec[0], attainable[0], keep, rate,
                         each)  # fmt: skip
    got = fork_map(valued, range(1, len(scs)), workers=workers, done=tock)
    nb = np.array([g[0] for g in got], dtype=float)
    per_draw = np.stack([g[1] for g in got]) if keep else None  # samples × options × draws
    totals = [sum(s.values()) for s in stocks[1:]]
    central = vec[0]
    tol = max(0.1 * max(sum(central), 1.0), 10.0)
    k, share = count_changed(vec[1:], central, tol)
    best = int(np.argmax(nb.mean(axis=0)))
    return {
        "nb": nb,
        "per_draw": per_draw,
        "choice": {
            "options": [dict(zip(materials, o, strict=True)) for o in options],
            "at_central": dict(zip(materials, central, strict=True)),
            "expected_best": dict(zip(materials, options[best], strict=True)),
            "changed": k, "share_changed": share, "distinct": distinct,
            "sized_options": sized_options,  # the stockpiles sized among the options (+ none)
            "changed_means": f"a material's stockpile differs by more than {tol:,.0f} t",
        },
        "service_level": req.service_level, "draws": req.draws,
        "stockpile_total": quantiles(totals), "stockpile_unit": "t",
        "by_material": {m: quantiles([s[m] for s in stocks[1:]]) for m in materials},
        "not_attainable": int(sum(not a for a in attainable[1:])),
        "attainable_central": bool(attainable[0]),
        "net_benefit": "−(holding cost + unmet demand × policy.unmet_penalty), 2026 on, "
        f"discounted at {rate:.0%}, mean over {req.draws} shock draws",
    }  # fmt: skip


def _at_sizes(req, options, multiples, materials, base, att0, keep, rate, got) -> dict:
    """`voi stockpile --sizes`: the options are multiples of the stockpile sized at central
    values, each valued in every sample (`got`: central values first); which is best at central
    values and in expectation, and how often a sample's own best is another."""
    import numpy as np

    nb0, nb = np.array(got[0][0]), np.array([g[0] for g in got[1:]], dtype=float)
    per_draw = np.stack([g[1] for g in got[1:]]) if keep else None
    central, best = int(np.argmax(nb0)), int(np.argmax(nb.mean(axis=0)))
    changed = int(np.sum(np.argmax(nb, axis=1) != central))
    as_dict = [dict(zip(materials, o, strict=True)) for o in options]
    return {
        "nb": nb,
        "per_draw": per_draw,
        "choice": {
            "options": as_dict, "multiples": multiples,
            "at_central": as_dict[central], "expected_best": as_dict[best],
            "changed": changed, "share_changed": changed / len(nb), "distinct": len(options),
            "sized_options": len(options),
            "changed_means": "the sample's own best option is another than the one best at "
            "central values",
        },
        "service_level": req.service_level, "draws": req.draws, "sizes": list(req.sizes),
        "sized_central": dict(zip(materials, base, strict=True)),  # the stockpile the ×1 is
        "net_central": [float(v) for v in nb0],
        "stockpile_total": None, "stockpile_unit": "t", "by_material": None,
        "not_attainable": None, "attainable_central": bool(att0),
        "net_benefit": "−(holding cost + unmet demand × policy.unmet_penalty), 2026 on, "
        f"discounted at {rate:.0%}, mean over {req.draws} shock draws",
    }  # fmt: skip


# --- plan: how much capacity to build ---------------------------------------------------------


def plan_decision(req: VoiRequest, loaded, ev, at: list[dict], progress: Progress) -> dict:
    import numpy as np

    from repm.analyses.optimize.fixed import FixedBuild
    from repm.analyses.optimize.model import build_model
    from repm.analyses.optimize.solve import optimize, scenario_inputs
    from repm.chain import compile_chain

    def lp(sc) -> FixedBuild:
        """The sample's planning LP in HiGHS (the model `repm plan` solves), kept to be solved
        again with each option's build-out fixed."""
        chain = compile_chain(sc)
        avail, pm, spare_avail, switched = scenario_inputs(sc, chain, req.scenarios, req.seed)
        mdl, _ = build_model(
            sc, chain, avail, pm, spare_avail=spare_avail, switched=switched, cvar_weight=req.cvar
        )
        return FixedBuild.of(mdl)

    central_sc = ev.scenario_at({})
    objective0, build0 = lp(central_sc).free()
    if build0 is None:  # not solvable at central values: `repm plan`'s own error says why
        optimize(central_sc, compile_chain(central_sc), scenarios=req.scenarios, seed=req.seed,
                 cvar_weight=req.cvar)  # fmt: skip
        raise UserError("the planner cannot solve this scenario at central values")
    years = [int(y) for y in central_sc.horizon.years]
    builds = [tuple(round(float(v), 1) for v in build0)]
    objectives = [objective0]
    # each sample's LP is kept for the options while they fit in KEPT_LP_BYTES (with many shock
    # scenarios an LP is tens of MB); beyond, it is built again when the options are valued
    models: list = []
    kept: list[int] = []
    held = 0
    for i, v in enumerate(at):
        got = lp(ev.scenario_at(v))
        objective, build = got.free()
        if build is None:
            if progress is not None:
                progress(2)  # a sample the planner cannot solve is left out (counted)
            continue
        builds.append(tuple(round(float(b), 1) for b in build))
        objectives.append(objective)
        held += got.nbytes
        models.append(got if held <= KEPT_LP_BYTES else None)
        kept.append(i)
        if progress is not None:
            progress(1)
    if len(kept) < 2:
        raise UserError(
            f"the planner solved {len(kept)} of {len(at)} samples; expected at least 2",
            where="--samples",
        )
    distinct = len(dict.fromkeys(builds))
    options = thin(list(dict.fromkeys(builds)), sum)
    nb = np.empty((len(models), len(options)))
    for d, got in enumerate(models):
        got = got if got is not None else lp(ev.scenario_at(at[kept[d]]))
        nb[d] = [-got.at(opt) for opt in options]
        models[d] = None  # valued: its LP is let go
        if progress is not None:
            progress(1)
    bad = ~np.all(np.isfinite(nb), axis=0)
    if bad.any():  # a build-out infeasible in some sample is not an option
        nb = nb[:, ~bad]
        options = [o for o, b in zip(options, bad, strict=True) if not b]
    central = builds[0]
    cap = [np.cumsum(b) for b in builds]
    k, share = count_changed([c for c in cap[1:]], cap[0], max(0.05 * float(cap[0][-1]), 50.0))
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
        "capacity_last_year": quantiles([float(c[-1]) for c in cap[1:]]),
        "capacity_central_last_year": float(cap[0][-1]), "capacity_unit": "t/yr added",
        "objective": quantiles(objectives[1:]), "objective_central": objectives[0],
        "net_benefit": "−(the planner's least discounted cost with the build-out fixed)",
    }  # fmt: skip


DECIDE = {"unit": unit_decision, "stockpile": stockpile_decision, "plan": plan_decision}
