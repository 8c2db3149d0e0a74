"""`repm sensitivity` and `repm uncertainty` as functions: a request in, an Outcome out (the
`--json` object, results, the stored run). docs/uncertainty.md.

Each parameter sample is applied as fact values to the scenario, which is validated, compiled
and run (repm.analyses.uncertainty.evaluate): one evaluation per sample, measured and reported
(`seconds_per_evaluation`). Issue 14 part 2 moves the samples onto the engine's draw axis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from repm.app.commands import Outcome, store, table_results
from repm.app.requests import SensitivityRequest, UncertaintyRequest
from repm.errors import UserError

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[int], None] | None
STATS = ("p05", "p50", "p95", "mean")
OTHER = "other"  # the default grouping's last group: every drawn fact no named group covers


def factors(
    ev, req: SensitivityRequest
) -> tuple[list[str], list[str] | None, dict[str, list[str]]]:
    """(input ids, their group labels or None, group → members) for a request: by default one
    group per named topic (prices, yields, demand, …) and `other`; `--group` names the groups
    (the rest held at their central values); `--by-fact`: each fact its own factor."""
    from repm.analyses.uncertainty import resolve_groups

    inputs = ev.inputs
    if req.groups:
        members = resolve_groups(req.groups, inputs, ev.table, ev.rule)
    else:
        members = {}
        named = [g for g in ev.rule.groups]
        taken: set[str] = set()
        for g in named:
            try:
                got = resolve_groups([g], inputs, ev.table, ev.rule)[g]
            except UserError:
                continue
            got = [i for i in got if i not in taken]
            if got:
                members[g] = got
                taken.update(got)
        rest = [i for i in inputs.drawn if i not in taken]
        if rest:
            members[OTHER] = rest
    if getattr(ev, "pooled", False):  # the choice of scenario: a factor of its own
        from repm.analyses.uncertainty.structure import STRUCTURE

        members[STRUCTURE] = [STRUCTURE]
    ids = [i for m in members.values() for i in m]
    if req.by_fact:
        return ids, None, {i: [i] for i in ids}
    groups = [g for g, m in members.items() for _ in m]
    return ids, groups, members


def _model(ev, ids: list[str], year_index: int | None, progress: Progress):
    """X (n × k uniforms) → the output at each row (the year's value for an indicator)."""

    def model(X: np.ndarray) -> np.ndarray:
        ys = ev.many(ev.at({fid: X[:, j] for j, fid in enumerate(ids)}, X.shape[0]), progress)
        return ys if year_index is None else ys[:, year_index]

    return model


def sensitivity(req: SensitivityRequest, progress: Progress = None) -> Outcome:
    loaded = req.load()
    import numpy as np

    from repm.analyses.uncertainty import sensitivity as S
    from repm.analyses.uncertainty.evaluate import FINANCE_OUTPUTS, Evaluator
    from repm.analyses.uncertainty.structure import STRUCTURE, Pooled

    step = "yearly" if req.output in FINANCE_OUTPUTS else req.step
    loads, alts = req.weighed(loaded)
    if req.method == "morris" and len(loads) > 1:
        raise UserError(
            "morris with alternatives; expected --method sobol: Morris reads each input on four "
            "levels, which cannot hold the scenarios' weights",
            where="--alternative",
        )
    ev = Pooled.of(loads, alts, lambda sc: Evaluator(
        sc, req.output, step=step, draws=req.draws, seed=req.seed, workers=req.workers,
        scheduler=req.scheduler))  # fmt: skip
    years = ev.years
    if req.output in FINANCE_OUTPUTS:
        if req.year is not None:
            raise UserError(
                f"{req.year}; expected no --year for {req.output} (a unit's NPV over its life)",
                where="--year",
            )
        year_index = None
    else:
        if req.year is None:
            raise UserError(
                f"missing; expected --year YEAR ({years[0]}–{years[-1]}) for {req.output}, an "
                "indicator by year",
                where="--year",
            )
        if req.year not in years:
            raise UserError(
                f"{req.year}; expected a year of the horizon {years[0]}–{years[-1]}", where="--year"
            )
        year_index = years.index(req.year)
    ids, groups, members = factors(ev, req)
    if not ids:
        raise UserError("no uncertain fact reaches this scenario; nothing to rank", where="OUTPUT")
    t0 = time.perf_counter()
    run = S.sobol if req.method == "sobol" else S.morris
    res = run(_model(ev, ids, year_index, progress), ids, req.samples, seed=req.seed, groups=groups)
    wall = time.perf_counter() - t0
    y = res.y
    summary = {
        "mean": float(y.mean()), "p05": float(np.quantile(y, 0.05)),
        "p50": float(np.quantile(y, 0.5)), "p95": float(np.quantile(y, 0.95)),
    }  # fmt: skip
    indices = []
    for r in res.factors:
        row = dict(r)
        if r["fact"] == STRUCTURE:
            row["facts"] = list(alts.names)
        elif len(members.get(r["fact"], [r["fact"]])) > 1 or r["fact"] in (
            ev.rule.groups | {OTHER: ()}
        ):
            row["facts"] = members[r["fact"]]
        indices.append(row)
    payload = {
        "command": "sensitivity", "scenario": loaded.name, "run_id": None,
        "output": req.output, "unit": ev.unit, "year": req.year, "method": req.method,
        "samples": req.samples, "seed": req.seed, "evaluations": res.evaluations,
        "seconds_per_evaluation": ev.seconds / max(ev.evaluations, 1), "seconds": wall,
        "factors": len(indices), "inputs": len([i for i in ids if i != STRUCTURE]),
        "alternatives": [{"name": a, "weight": w} for a, w in zip(alts.names, alts.weights,
                                                                 strict=True)] if ev.pooled else None,
        "distribution": summary, "indices": indices, "warnings": res.warnings,
    }  # fmt: skip
    rows = _index_rows(req, indices, years)
    results = table_results(loaded, rows)
    run_id, path = store(
        req, loaded, results, "sensitivity", seed=req.seed, draws=res.evaluations,
        meta={k: v for k, v in payload.items() if k not in ("indices", "run_id")},
    )  # fmt: skip
    payload["run_id"] = run_id
    tables = {"members": members}
    return Outcome(payload, results, run_id, path, tables, loaded)


def _index_rows(req: SensitivityRequest, indices: list[dict], years: list[int]) -> list[dict]:
    """The indices as indicator rows for the run store: name sensitivity_S1 (…_ST, …_mu_star …),
    the factor (a fact or a group) in the `channel` key, the year asked (or the first)."""
    year = req.year if req.year is not None else years[0]
    keys = ("S1", "S1_conf", "ST", "ST_conf") if req.method == "sobol" else (
        "mu_star", "mu_star_conf", "sigma")  # fmt: skip
    return [
        {"year": int(year), "name": f"sensitivity_{k}", "value": float(r[k]), "unit": "1",
         "channel": r["fact"]}
        for r in indices for k in keys
    ]  # fmt: skip


def _stat_rows(name: str, unit: str, values, years: list[int]) -> list[dict]:
    """P5, P50, P95 and the mean over the first axis of values (… × year), as indicator rows."""
    import numpy as np

    q = np.quantile(values, (0.05, 0.5, 0.95), axis=0)  # one partition for the three
    stats = {"p05": q[0], "p50": q[1], "p95": q[2], "mean": values.mean(axis=0)}
    return [
        {"year": int(y), "name": name, "value": float(stats[s][j]), "unit": unit, "stat": s}
        for j, y in enumerate(years) for s in STATS
    ]  # fmt: skip


def uncertainty(req: UncertaintyRequest, progress: Progress = None) -> Outcome:
    """Draw every uncertain fact `samples` times (Philox, keyed by seed, draw and fact id) and
    report P5/P50/P95 and the mean of the headline indicators (and each scheme unit's NPV); with
    `draws` > 0, also of the expected unmet demand by year over `draws` shock draws a sample
    (the same draws for every sample, as `repm sensitivity expected_unmet`), and of the unmet
    demand over samples and draws together (`unmet_joint`: what we don't know about the facts
    and what the shocks do, at once) and each sample's chance of a shortage (`p_shortage`; its
    mean over the samples is the chance over samples and draws together)."""
    loaded = req.load()
    import numpy as np

    from repm.analyses.finance import unit_specs
    from repm.analyses.uncertainty.evaluate import JOINT, Evaluator, headline
    from repm.analyses.uncertainty.structure import Pooled

    names = headline()
    versus = req.versus is not None  # every sample under both scenarios, compared sample by sample
    loads, alts = req.paired(loaded) if versus else req.weighed(loaded)

    def pooled(output: str, **kw) -> Pooled:
        return Pooled.of(loads, alts, lambda sc: Evaluator(
            sc, output, workers=req.workers, scheduler=req.scheduler, **kw),
            flag="--versus" if versus else "--alternative")  # fmt: skip

    ev = pooled(names[0], step=req.step, names=tuple(names))
    firsts = [
        unit_specs(sc.scenario)[0] if sc.scenario.scheme is not None and unit_specs(sc.scenario)
        else None
        for sc in loads
    ]  # fmt: skip
    # pooled, every scenario's first unit must be the same unit for one NPV to describe them
    same = {(u.unit_id, u.capacity) for u in firsts if u is not None}
    with_npv = None not in firsts and len(same) == 1
    fin = pooled("unit_npv") if with_npv else None
    if versus and fin is None and firsts[0] is not None:  # the base's NPV as its own run has it
        from repm.analyses.uncertainty.structure import Alternatives

        fin = Pooled.of(loads[:1], Alternatives.of(loaded.name, ()), lambda sc: Evaluator(
            sc, "unit_npv", workers=req.workers, scheduler=req.scheduler))  # fmt: skip
    n = req.samples
    if req.draws > 0:  # before any work: the pooled unmet demand must fit
        from repm.limits import check_pooled

        check_pooled(n, req.draws, len(ev.years), arrays=3 if versus else 2)
    if versus:  # the same fact values under each scenario: the base's are its own run's
        u, _, _ = ev.draw(req.seed, n)
        labels = np.zeros(n, dtype=np.int64)
        at, at_v = ev.at(u, n, scenario=0), ev.at(u, n, scenario=1)
    else:
        _, labels, at = ev.draw(req.seed, n)
    t0 = time.perf_counter()
    # the samples side by side on the engine's draw axis, a block of sets to a kernel call
    # progress: a sample counts once its headline indicators (and its unit's NPV) are done
    runs = (2 if versus else 1) + (fin is not None) + (versus and with_npv)
    share = None if progress is None else (lambda k: progress(k / runs))
    risk_share = None if progress is None else (lambda k: progress(k / (2 if versus else 1)))
    Y = ev.many(at, share)  # samples × names × years
    npv = fin.many(at, share) if fin is not None else np.empty(n)
    if versus:
        Yv = ev.many(at_v, share)
        npv_v = fin.many(at_v, share) if with_npv else None
    risk = None
    if req.draws > 0:
        risk = pooled("expected_unmet", step=req.step, draws=req.draws, seed=req.seed,
                      per_draw=True)  # fmt: skip
        from repm.analyses.risk.reduce import UNMET_EPS

        def by_sample(at_, keep: bool = True):  # each sample's expected unmet, P(shortage)
            by_draw = risk.many(at_, risk_share)  # sample × shock draw × year, t unmet
            # --versus: the other scenario's draws are let go at once, so that no more than two
            # sample × draw × year arrays are held at a time (check_pooled's budget)
            return by_draw if keep else None, by_draw.mean(axis=1), (by_draw > UNMET_EPS).mean(1)

        # over its draws, as `repm risk` takes them (their means over the samples are the
        # pool's), and the unmet demand over samples and draws together (JOINT)
        by_draw, E, short = by_sample(at)
        joint = by_draw.reshape(-1, by_draw.shape[2])
        Y = np.concatenate([Y, E[:, None, :], short[:, None, :]], axis=1)
        if versus:
            _, Ev, short_v = by_sample(at_v, keep=False)
            Yv = np.concatenate([Yv, Ev[:, None, :], short_v[:, None, :]], axis=1)
        names = [*names, "expected_unmet", "p_shortage"]
    wall = time.perf_counter() - t0
    names_y = list(names)  # the indicators along Y's second axis
    from repm.results.indicators import unit as unit_of

    rows = []
    for i, name in enumerate(names):
        rows += _stat_rows(name, unit_of(name), Y[:, i], ev.years)
    if risk is not None:
        rows += _stat_rows(JOINT, unit_of(JOINT), joint, ev.years)
        names = [*names, JOINT]
    npv_stats = None
    if fin is not None:
        spec = unit_specs(loaded.scenario)[0]
        npv_stats = {
            "unit_id": spec.unit_id, "p05": float(np.quantile(npv, 0.05)),
            "p50": float(np.quantile(npv, 0.5)), "p95": float(np.quantile(npv, 0.95)),
            "mean": float(npv.mean()), "p_positive": float((npv > 0).mean()), "unit": "crore INR",
        }  # fmt: skip
        for s in STATS:
            rows.append({"year": int(spec.award_year), "name": "unit_npv", "value": npv_stats[s],
                         "unit": "crore INR", "stat": s, "unit_id": spec.unit_id})  # fmt: skip
    structure = paired = None
    if versus:
        paired = _paired(loads[1].name, names_y, Y, Yv, ev.years, npv if fin is not None else None,
                         npv_v)  # fmt: skip
        if not with_npv and (firsts[0] is not None or firsts[1] is not None):
            paired["unit_npv_missing"] = f"no unit NPV compared: {loads[1].name} " + (
                "has no scheme units" if firsts[1] is None
                else "has another first unit" if firsts[0] is not None
                else f"has scheme units and {loaded.name} has none"
            )
    elif ev.pooled:
        structure = _structure(alts, labels, names_y, Y, ev.years,
                               npv if fin is not None else None, req.seed)  # fmt: skip
        if fin is None and firsts[0] is not None:
            no = [sc.name for sc, u in zip(loads, firsts, strict=True) if u is None]
            why = (f"{', '.join(no)} has no scheme units" if no else "the scenarios' first "
                   "scheme units differ (" + ", ".join(f"{sc.name} {u.unit_id} {u.capacity:,.0f} "
                   "t/yr" for sc, u in zip(loads, firsts, strict=True)) + ")")  # fmt: skip
            structure["unit_npv_missing"] = (
                f"no unit NPV: {why}, so the pooled samples have no one unit to value"
            )
    evaluations = sum(e.evaluations for e in (ev, fin, risk) if e is not None)
    seconds = sum(e.seconds for e in (ev, fin, risk) if e is not None)
    # the scenario's own uncertain facts (with --versus, the pool also draws the other's)
    inputs = len((ev.evaluators[0] if versus else ev).inputs.drawn)
    results = table_results(loaded, rows)
    run_id, path = store(
        req, loaded, results, "uncertainty", seed=req.seed, draws=n,
        meta={"samples": n, "inputs": inputs, "step": req.step,
              "shock_draws": req.draws, "alternatives": structure and structure["scenarios"],
              "versus": paired},
    )  # fmt: skip
    payload = {
        "command": "uncertainty", "scenario": loaded.name, "run_id": run_id, "samples": n,
        "seed": req.seed, "step": req.step, "draws": req.draws, "inputs": inputs,
        "evaluations": evaluations, "seconds_per_evaluation": seconds / max(evaluations, 1),
        "seconds": wall, "indicators": rows, "unit_npv": npv_stats, "structure": structure,
        "versus": paired,
    }  # fmt: skip
    return Outcome(payload, results, run_id, path, {"names": names}, loaded)


def _paired(other: str, names: list[str], Y, Yv, years: list[int], npv, npv_v) -> dict:
    """`--versus`: per indicator and year the difference other − base sample by sample (the same
    fact values under both), its P5/P50/P95 and mean, and the share of samples in which the
    other scenario's answer is higher or lower (a difference within 1e-9 of the value, summation
    noise, counts as neither)."""
    import numpy as np

    def stats(a, b) -> dict:
        d = b - a
        tol = 1e-9 * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
        return {
            "base_p50": float(np.quantile(a, 0.5)), "other_p50": float(np.quantile(b, 0.5)),
            **{s: float(np.quantile(d, q)) for s, q in (("p05", 0.05), ("p50", 0.5),
                                                          ("p95", 0.95))},
            "mean": float(d.mean()), "p_higher": float(np.mean(d > tol)),
            "p_lower": float(np.mean(d < -tol)),
        }  # fmt: skip

    rows = [{"name": name, "year": int(y), **stats(Y[:, i, j], Yv[:, i, j])}
            for i, name in enumerate(names) for j, y in enumerate(years)]  # fmt: skip
    out = {"scenario": other, "rows": rows, "unit_npv": None}
    if npv is not None and npv_v is not None:
        out["unit_npv"] = {**stats(npv, npv_v), "p_positive_base": float((npv > 0).mean()),
                           "p_positive_other": float((npv_v > 0).mean())}  # fmt: skip
    return out


def _structure(alts, labels, names: list[str], Y, years: list[int], npv, seed: int) -> dict:
    """What the choice of scenario does to each answer: each scenario's weight and samples, and
    per indicator and year the share of the variance over the samples it explains
    (Var(E[Y | scenario]) / Var(Y), ε²), its chance level (`floor`: the share shuffled labels
    read, exceeded by chance about one time in fifty) and the mean under each scenario."""
    from repm.analyses.uncertainty.structure import (
        STRUCTURE,
        variance_share,
        variance_share_floor,
    )

    share = variance_share(Y, labels)  # names × years
    floor = variance_share_floor(Y, labels, seed=seed)
    means = {k: Y[labels == k].mean(axis=0) if (labels == k).any() else None
             for k in range(len(alts.names))}  # fmt: skip
    rows = [
        {"name": name, "year": int(y), "share": float(share[i, j]), "floor": float(floor[i, j]),
         "means": {alts.names[k]: None if m is None else float(m[i, j]) for k, m in means.items()}}
        for i, name in enumerate(names) for j, y in enumerate(years)
    ]  # fmt: skip
    out = {
        "input": STRUCTURE,
        "scenarios": [{"name": a, "weight": w, "samples": int((labels == k).sum())}
                      for k, (a, w) in enumerate(zip(alts.names, alts.weights, strict=True))],
        "variance_share": rows,
    }  # fmt: skip
    if npv is not None:
        out["unit_npv"] = {
            "share": float(variance_share(npv, labels)),
            "floor": float(variance_share_floor(npv, labels, seed=seed)),
            "means": {a: float(npv[labels == k].mean()) if (labels == k).any() else None
                      for k, a in enumerate(alts.names)},
            "p_positive": {a: float((npv[labels == k] > 0).mean()) if (labels == k).any()
                           else None for k, a in enumerate(alts.names)},
        }  # fmt: skip
    return out
