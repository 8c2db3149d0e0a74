"""Benchmark: repm's vectorised engine against a SimPy discrete-event model of the same rules.

    uv run python bench/risk.py [--draws 200] [--big-draws 5000] [--seed 0] [--ban]

The India baseline is reduced to its import-only core (no domestic magnet units, no recycling;
written as a small scenario that `extends: india-baseline`), where the engine's monthly rule is:

1. demand by sector × grade in two channels, bare magnets and magnets embedded in imports;
2. each origin ships its usual share of India's order, less what its restriction refuses;
   what is still missing is bought from all origins' spare capacity, pro rata;
3. supply is allocated to sectors tier by tier (defence first), pro rata within a tier; a
   sector's bare magnets still missing come out of its own working stock, then the strategic
   stockpile (tier by tier); the rest is unmet (embedded magnets cannot be stocked);
4. each sector's buyers rebuild their own working stock towards their months of coming use
   (forward cover: months of the window in next year count at next year's demand)
   (`sector_working_stock_months`, else `working_stock_months`), a 1/`working_stock_refill_months`
   part of the gap each month, from origins' usual shares of one new order and the spare
   capacity left over this month, shared by each sector's gap; a month a grade flows in full,
   buyers above their target use that part of the excess instead of buying.

`simpy_unmet` writes those rules again as a modeller would in SimPy — one environment per draw,
one process ticking monthly, origins as objects, inventories as `simpy.Container`s, per-material
dicts — and is fed the very same pre-sampled shocks (`repm.simulate.shocks.sample`, called once). The
script checks both give the same unmet demand per draw × year × sector × grade (and the same
year-end working stock and stockpile), then times both and extrapolates to 10^6 draws × 144
months. Exit status 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy
import yaml

from repm.analyses.risk import run_draws
from repm.chain import Chain, compile_chain
from repm.model import default_definition
from repm.scenario import LoadedScenario, deep_merge, load_scenario
from repm.simulate.engine import simulate
from repm.simulate.shocks import Shocks, sample

GRADES, MATERIALS = default_definition().grade_names, default_definition().material_names

MONTHS_PER_YEAR = 12
DT = 1.0 / MONTHS_PER_YEAR
MAGNET = {g: f"magnet_{g}" for g in GRADES}  # bare magnets, by grade
EMBEDDED = {g: f"embedded_{g}" for g in GRADES}  # magnets inside imported sub-assemblies
TRADED = tuple(MAGNET.values()) + tuple(EMBEDDED.values())
RTOL, ATOL = 1e-9, 1e-6

# the reduced chain: imports only (no domestic magnet units, no recycling)
REDUCED = {
    "extends": "india-baseline",
    "name": "bench-import-only",
    "supply": {"units": [], "recycling": {"collection_rate": 0}},
}
# a certain, total, year-long Chinese ban on heavy rare earths and magnets containing them
BAN_EVENT = {
    "name": "ban",
    "kind": "export_restriction",
    "origin": "China",
    "elements": "heavy",
    "include_magnets": True,
    "start_year": 2026,
    "duration": {"mean_months": 12, "distribution": "fixed"},
    "severity_low": 1,
    "severity_high": 1,
}


def reduced_scenario(
    extra: dict | None = None, overrides: list[str] | None = None
) -> LoadedScenario:
    """The baseline reduced to its import-only core, plus `extra` (deep-merged, lists replace)
    and `--set`-style `overrides`; loaded through repm's own scenario loader."""
    doc = deep_merge(REDUCED, extra or {})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{doc['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return load_scenario(str(path), overrides or [])


# ------------------------------------------------------------------------------------------------
# The SimPy model
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """An exporting country: its usual share of India's imports and its spare capacity."""

    name: str
    share: dict[str, float]  # material -> share of India's imports of it
    spare: dict[str, float]  # material -> spare export capacity for India, t/month

    def usual_offer(self, material: str, order: float, allowed: float) -> float:
        """What it ships of an order placed in the usual shares, under its restriction."""
        return allowed * self.share.get(material, 0.0) * order

    def spare_offer(self, material: str, allowed: float) -> float:
        return allowed * self.spare.get(material, 0.0)


@dataclass(frozen=True)
class ModelConfig:
    """Plain-Python inputs of the SimPy model, read off the compiled chain."""

    years: list[int]
    sectors: list[str]
    tiers: list[list[str]]  # sectors served together, first tier first
    bare: list[dict[tuple[str, str], float]]  # per year: (sector, grade) -> t/yr
    embedded: list[dict[tuple[str, str], float]]
    origins: list[Origin]
    working_stock_months: dict[str, float]  # sector -> months of its bare magnets it holds
    refill_months: float
    stockpile: dict[str, float]  # bare-magnet material -> t at the start
    stockpile_fit: dict[str, float]  # bare-magnet material -> share of a shortfall it serves
    spare_ramp_months: float = 0.0  # spare capacity ramps up over this long in a restriction spell
    switch_share: dict[str, float] | None = None  # sector -> share of a grade switched down
    switch_after: float = 0.0  # months of restriction without a break before makers switch
    lighter: dict[str, str] | None = None  # grade -> the grade one class down (lower Dy+Tb)


def model_config(chain: Chain, spare_ramp_months: float = 0.0) -> ModelConfig:
    """Read the SimPy model's inputs off a compiled chain; only the import-only chain is modelled."""
    if np.any(chain.capacity.values > 0) or chain.collection_rate > 0:
        raise ValueError(
            "the SimPy model covers the import-only chain: expected no magnet capacity and "
            "collection_rate 0 (build it with reduced_scenario())"
        )
    sectors = list(chain.sectors)
    tier_of = {s: int(k) for s, k in zip(sectors, chain.priority_tier.values, strict=True)}
    tiers = [[s for s in sectors if tier_of[s] == k] for k in sorted(set(tier_of.values()))]

    def by_year(da) -> list[dict[tuple[str, str], float]]:
        return [
            {(s, g): float(da.sel(year=y, sector=s, grade=g)) for s in sectors for g in GRADES}
            for y in chain.years
        ]

    origins = [
        Origin(
            name=o,
            share={m: float(chain.import_share.sel(origin=o, material=m)) for m in TRADED},
            spare={m: float(chain.spare.sel(origin=o, material=m)) * DT for m in TRADED},
        )
        for o in chain.origins
    ]
    return ModelConfig(
        years=[int(y) for y in chain.years],
        sectors=sectors,
        tiers=tiers,
        bare=by_year(chain.demand_bare),
        embedded=by_year(chain.demand_embedded),
        origins=origins,
        working_stock_months={s: float(chain.sector_working_stock.sel(sector=s)) for s in sectors},
        refill_months=float(chain.working_stock_refill_months),
        stockpile={m: float(chain.stockpile0.sel(material=m)) for m in MAGNET.values()},
        stockpile_fit={m: float(chain.stockpile_fit.sel(material=m)) for m in MAGNET.values()},
        spare_ramp_months=float(spare_ramp_months),
        switch_share={s: float(x) for s, x in zip(sectors, chain.switch_share, strict=True)},
        switch_after=float(chain.switch_after_months),
        lighter=lighter_grades(chain),
    )


def lighter_grades(chain: Chain) -> dict[str, str]:
    """Each grade's next lighter class: the grade with the next lower Dy + Tb content (kg/kg),
    worked out here from the grade compositions (the lightest has none)."""
    heavy = {
        g: float(
            chain.grade_comp.sel(grade=g, element="Dy")
            + chain.grade_comp.sel(grade=g, element="Tb")
        )
        for g in GRADES
    }
    out = {}
    for g in GRADES:
        below = [h for h in GRADES if heavy[h] < heavy[g]]
        if below:
            out[g] = max(below, key=lambda h: heavy[h])
    return out


def ramp(allowed: list[dict], months: float) -> list[float]:
    """Share of spare capacity there each month: 1 outside restriction spells (months where some
    origin lets less than all of something through); in a spell, the mean over the month of
    min(1, s / months), s the months since the spell began. (repm counts export restrictions
    only, not `kind: outage` events; every event this bench runs is a restriction.)"""
    out, k = [], -1
    for month in allowed:
        active = any(v < 1.0 for per_origin in month.values() for v in per_origin.values())
        k = k + 1 if active else -1
        lo, hi, R = float(k), k + 1.0, float(months)
        if not active or R <= 0 or lo >= R:
            out.append(1.0)
        elif hi <= R:
            out.append((lo + hi) / 2.0 / R)
        else:  # the ramp completes inside this month
            out.append((R * R - lo * lo) / (2.0 * R) + (hi - R))
    return out


class MagnetMarket:
    """One Monte Carlo draw of India's magnet market as a SimPy model.

    `allowed[t][origin][material]` is the share of its usual exports an origin lets through in
    month t; `demand_mult[y]` scales the year's demand.
    """

    def __init__(self, env: simpy.Environment, cfg: ModelConfig, allowed, demand_mult) -> None:
        self.env, self.cfg = env, cfg
        self.allowed, self.demand_mult = allowed, demand_mult
        self.ramp = ramp(allowed, cfg.spare_ramp_months)
        self.working = {  # each sector's buyers hold their own
            (s, m): simpy.Container(env) for s in cfg.sectors for m in MAGNET.values()
        }
        self.switched: set[str] = set()  # grades makers have moved off
        self.restricted_months = dict.fromkeys(GRADES, 0.0)
        self.strategic = {
            m: simpy.Container(env, init=cfg.stockpile.get(m, 0.0)) for m in MAGNET.values()
        }
        n_years = len(cfg.years)
        self.unmet = [{k: 0.0 for k in cfg.bare[0]} for _ in range(n_years)]
        self.working_end = [dict.fromkeys(MAGNET.values(), 0.0) for _ in range(n_years)]
        self.strategic_end = [dict.fromkeys(MAGNET.values(), 0.0) for _ in range(n_years)]
        self.process = env.process(self.run())

    # -- trade -----------------------------------------------------------------------------------
    def order(self, material: str, qty: float, allowed: dict, spare: dict[str, float]):
        """Place an order of qty t in the usual shares; origins ship what they allow, the rest
        is bought from `spare` (origin -> t) pro rata. Returns (t bought, spare used by origin)."""
        shipped = sum(
            o.usual_offer(material, qty, allowed[o.name][material]) for o in self.cfg.origins
        )
        from_usual = min(qty, shipped)
        spare_total = sum(spare.values())
        from_spare = min(qty - from_usual, spare_total)
        used = {
            o: (s * from_spare / spare_total if spare_total > 0 else 0.0) for o, s in spare.items()
        }
        return from_usual + from_spare, used

    # -- allocation ------------------------------------------------------------------------------
    def allocate(self, supply: float, demand: dict[str, float]) -> dict[str, float]:
        """Serve sectors tier by tier, pro rata within a tier."""
        served = {}
        for tier in self.cfg.tiers:
            want = sum(demand[s] for s in tier)
            frac = min(1.0, supply / want) if want > 0 else 0.0
            for s in tier:
                served[s] = demand[s] * frac
            supply = max(supply - frac * want, 0.0)
        return served

    # -- makers' grade switch --------------------------------------------------------------------
    def switch(self, allowed: dict) -> bool:
        """Count each grade's months of restriction (some origin letting less than all of its
        bare magnets through); makers switch off a grade, for good, in a restricted month after
        `switch_after` months of it without a break. True when a grade switched this month."""
        cfg, changed = self.cfg, False
        for g in cfg.lighter or {}:
            if g in self.switched:
                continue
            restricted = any(allowed[o.name][MAGNET[g]] < 1.0 for o in cfg.origins)
            if not restricted:
                self.restricted_months[g] = 0.0
            elif self.restricted_months[g] >= cfg.switch_after:
                self.switched.add(g)
                changed = True
            else:
                self.restricted_months[g] += 1.0
        return changed and any(v > 0 for v in (cfg.switch_share or {}).values())

    def switched_demand(self, year_bare: dict, mult: float) -> dict:
        """This month's bare demand (t), with each switched grade's share moved one class
        lighter in the switching sectors (from the grade's own demand: nothing cascades)."""
        cfg = self.cfg
        base = {k: v * mult * DT for k, v in year_bare.items()}
        out = dict(base)
        for g in self.switched:
            lo = cfg.lighter[g]
            for s in cfg.sectors:
                moved = base[s, g] * (cfg.switch_share or {}).get(s, 0.0)
                out[s, g] -= moved
                out[s, lo] += moved
        return out

    def cover(self, s, g, yi, month):
        """Months of sector s's current use its buyers hold of grade g (forward cover): the
        months of its window that reach into next year count at next year's bare demand."""
        cfg = self.cfg
        w = cfg.working_stock_months[s]
        rest = MONTHS_PER_YEAR - 1 - month  # months left in this year after this one
        into = w - rest
        if into <= 0 or yi + 1 >= len(cfg.years) or cfg.bare[yi][s, g] <= 0:
            return w
        return rest + into * (cfg.bare[yi + 1][s, g] / cfg.bare[yi][s, g])

    def target(self, s, g, yi, month, use, mult):
        """Tonnes of grade g sector s's buyers hold: `cover` months of their current use `use`,
        or, for a grade they buy no loose magnets of this year but will next year, the months of
        their window in next year at next year's use (at this year's demand multiplier)."""
        cfg = self.cfg
        rest = MONTHS_PER_YEAR - 1 - month
        into = cfg.working_stock_months[s] - rest
        if into > 0 and yi + 1 < len(cfg.years) and cfg.bare[yi][s, g] <= 0:
            # `use` here is only what a grade switch moved in: this year's months of it
            return rest * use + into * cfg.bare[yi + 1][s, g] * mult * DT
        return self.cover(s, g, yi, month) * use

    # -- the monthly process ---------------------------------------------------------------------
    def run(self):
        cfg, env = self.cfg, self.env
        ws_months = cfg.working_stock_months  # sector -> months
        refill_frac = min(1.0, 1.0 / cfg.refill_months)
        for yi in range(len(cfg.years)):
            mult = self.demand_mult[yi]
            bare = self.switched_demand(cfg.bare[yi], mult)  # t/month
            emb = {k: v * mult * DT for k, v in cfg.embedded[yi].items()}
            need_emb = {g: sum(emb[s, g] for s in cfg.sectors) for g in GRADES}
            if yi == 0:  # buyers start with their usual working stock
                for (s, g), q in bare.items():
                    if ws_months[s] * q > 0:
                        yield self.working[s, MAGNET[g]].put(ws_months[s] * q)
            for month in range(MONTHS_PER_YEAR):
                allowed = self.allowed[int(env.now)]
                r = self.ramp[int(env.now)]
                if self.switch(allowed):  # makers moved to a lighter grade: this month's demand
                    bare = self.switched_demand(cfg.bare[yi], mult)
                need_bare = {g: sum(bare[s, g] for s in cfg.sectors) for g in GRADES}
                spare = {
                    m: {o.name: o.spare_offer(m, allowed[o.name][m]) * r for o in cfg.origins}
                    for m in TRADED
                }
                spare_used = {}
                supply = {}
                from_excess = {}
                for g in GRADES:
                    m = MAGNET[g]
                    # a grade nobody restricts: buyers above their target use part of the excess
                    used = 0.0
                    if all(allowed[o.name][m] >= 1.0 for o in cfg.origins):
                        for s in cfg.sectors:
                            x = min(
                                (
                                    self.working[s, m].level
                                    - self.target(s, g, yi, month, bare[s, g], mult)
                                )
                                * refill_frac,
                                bare[s, g],
                            )
                            if x > 0:
                                yield self.working[s, m].get(x)
                                used += x
                    from_excess[m] = used
                # imports: usual shares first, then other origins' spare capacity
                for g in GRADES:
                    for material, need in (
                        (MAGNET[g], need_bare[g] - from_excess[MAGNET[g]]),
                        (EMBEDDED[g], need_emb[g]),
                    ):
                        supply[material], spare_used[material] = self.order(
                            material, need, allowed, spare[material]
                        )
                # allocation by sector priority; a sector's bare shortfall comes out of its own
                # working stock, then the strategic stockpile (finished magnets serve only the
                # share of the shortfall they were made for), tier by tier; the rest is unmet
                unmet = self.unmet[yi]
                for g in GRADES:
                    m = MAGNET[g]
                    served_b = self.allocate(
                        supply[m] + from_excess[m], {s: bare[s, g] for s in cfg.sectors}
                    )
                    served_e = self.allocate(
                        supply[EMBEDDED[g]], {s: emb[s, g] for s in cfg.sectors}
                    )
                    left = {}
                    for s in cfg.sectors:
                        short = bare[s, g] - served_b[s]
                        own = min(short, self.working[s, m].level)
                        if own > 0:
                            yield self.working[s, m].get(own)
                        left[s] = short - own
                    fit = self.cfg.stockpile_fit[m]
                    from_strat = min(sum(left.values()) * fit, self.strategic[m].level)
                    if from_strat > 0:
                        yield self.strategic[m].get(from_strat)
                    from_stock = self.allocate(from_strat, left)
                    for s in cfg.sectors:
                        unmet[s, g] += (left[s] - from_stock[s]) + (emb[s, g] - served_e[s])
                # each sector rebuilds its working stock: one order, shared by their gaps
                for g in GRADES:
                    m = MAGNET[g]
                    gaps = {
                        s: max(
                            self.target(s, g, yi, month, bare[s, g], mult)
                            - self.working[s, m].level,
                            0.0,
                        )
                        * refill_frac
                        for s in cfg.sectors
                    }
                    want = sum(gaps.values())
                    left = {o: max(spare[m][o] - spare_used[m][o], 0.0) for o in spare[m]}
                    got, _ = self.order(m, want, allowed, left)
                    if got > 0:
                        for s in cfg.sectors:
                            if gaps[s] > 0:
                                yield self.working[s, m].put(got * gaps[s] / want)
                yield env.timeout(1)
            for m in MAGNET.values():
                self.working_end[yi][m] = sum(self.working[s, m].level for s in cfg.sectors)
                self.strategic_end[yi][m] = self.strategic[m].level


@dataclass(frozen=True)
class ModelResult:
    unmet: np.ndarray  # draw × year × sector × grade, t
    working_stock: np.ndarray  # draw × year × grade: bare-magnet working stock at year end, t
    stockpile: np.ndarray  # draw × year × grade: strategic stockpile at year end, t


def shock_inputs(shocks: Shocks, chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """The pre-sampled shocks as plain arrays: availability draw × month × origin × material,
    demand multiplier draw × year."""
    D, O, M = shocks.draws, len(chain.origins), len(MATERIALS)  # noqa: E741
    T = chain.n_years * MONTHS_PER_YEAR
    avail = np.stack(
        [np.broadcast_to(shocks.at(t, MONTHS_PER_YEAR), (D, O, M)) for t in range(T)], axis=1
    )
    mult = np.stack([shocks.demand(y) for y in range(chain.n_years)], axis=1)
    return avail, mult


def simpy_unmet(cfg: ModelConfig, availability: np.ndarray, demand_mult: np.ndarray) -> ModelResult:
    """Run the SimPy model, one environment per draw. availability: draw × month × origin ×
    material (repm's MATERIALS order); demand_mult: draw × year."""
    cols = [MATERIALS.index(m) for m in TRADED]
    names = [o.name for o in cfg.origins]
    D, Y, S = availability.shape[0], len(cfg.years), len(cfg.sectors)
    unmet = np.zeros((D, Y, S, len(GRADES)))
    ws = np.zeros((D, Y, len(GRADES)))
    strat = np.zeros((D, Y, len(GRADES)))
    for d in range(D):
        allowed = [
            {o: dict(zip(TRADED, row, strict=True)) for o, row in zip(names, month, strict=True)}
            for month in availability[d][:, :, cols].tolist()
        ]
        env = simpy.Environment()
        market = MagnetMarket(env, cfg, allowed, demand_mult[d].tolist())
        env.run()
        for yi in range(Y):
            for si, s in enumerate(cfg.sectors):
                for gi, g in enumerate(GRADES):
                    unmet[d, yi, si, gi] = market.unmet[yi][s, g]
            for gi, g in enumerate(GRADES):
                ws[d, yi, gi] = market.working_end[yi][MAGNET[g]]
                strat[d, yi, gi] = market.strategic_end[yi][MAGNET[g]]
    return ModelResult(unmet=unmet, working_stock=ws, stockpile=strat)


# ------------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------------


def engine_result(ds) -> ModelResult:
    """The same quantities out of a repm `simulate` Dataset."""
    mats = [MAGNET[g] for g in GRADES]

    def magnets(da):
        return da.sel(material=mats).transpose("draw", "year", "material").values

    return ModelResult(
        unmet=ds.unmet.transpose("draw", "year", "sector", "grade").values,
        working_stock=magnets(ds.working_stock),
        stockpile=magnets(ds.stockpile_level),
    )


def mismatches(chain: Chain, repm: ModelResult, sim: ModelResult, limit: int = 10) -> list[str]:
    """Where the two disagree beyond rtol 1e-9, atol 1e-6 (empty when they agree)."""
    out: list[str] = []
    checks = (
        ("unmet", repm.unmet, sim.unmet, ("draw", "year", "sector", "grade")),
        ("working_stock", repm.working_stock, sim.working_stock, ("draw", "year", "grade")),
        ("stockpile", repm.stockpile, sim.stockpile, ("draw", "year", "grade")),
    )
    labels = {"year": chain.years, "sector": chain.sectors, "grade": GRADES}
    for name, a, b, dims in checks:
        if np.allclose(a, b, rtol=RTOL, atol=ATOL):
            continue
        bad = np.argwhere(~np.isclose(a, b, rtol=RTOL, atol=ATOL))
        out.append(f"{name}: {len(bad)} of {a.size} values differ")
        for idx in bad[:limit]:
            where = ", ".join(
                f"{dim}={labels[dim][i] if dim in labels else i}"
                for dim, i in zip(dims, idx, strict=True)
            )
            out.append(f"  {where}: repm {a[tuple(idx)]:.9g} t, SimPy {b[tuple(idx)]:.9g} t")
    return out


# ------------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------------


def _fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=200, help="draws for the SimPy comparison (200)")
    p.add_argument("--big-draws", type=int, default=5000, help="draws for repm's run_draws (5000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, default=2000, help="run_draws chunk size (2000)")
    p.add_argument("--workers", type=int, default=2, help="run_draws threads (2)")
    p.add_argument("--repeat", type=int, default=3, help="repm timings: best of N (3)")
    p.add_argument("--ban", action="store_true", help="risk = one certain 12-month Chinese ban")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="scenario override on top of the reduced chain (repeatable)",
    )  # fmt: skip
    args = p.parse_args(argv)
    if args.draws < 1 or args.big_draws < 0 or args.chunk < 1 or args.workers < 1:
        p.error(
            "expected --draws ≥ 1, --big-draws ≥ 0 (0 skips the large run), --chunk, --workers ≥ 1"
        )

    extra = {"risk": {"events": [BAN_EVENT]}} if args.ban else {}
    loaded = reduced_scenario(extra, args.overrides)
    chain = compile_chain(loaded.scenario)
    cfg = model_config(chain, loaded.scenario.risk.spare_ramp_months)
    D, Y = args.draws, chain.n_years
    T = Y * MONTHS_PER_YEAR
    draw_ids = np.arange(D)

    t0 = time.perf_counter()
    shocks = sample(loaded.scenario.risk, chain, draw_ids, args.seed)
    t_sample = time.perf_counter() - t0
    avail, mult = shock_inputs(shocks, chain)

    simulate(chain, shocks=sample(loaded.scenario.risk, chain, draw_ids[:2], args.seed))  # warm-up
    t_repm = np.inf
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        ds = simulate(chain, shocks=shocks).data
        t_repm = min(t_repm, time.perf_counter() - t0)

    t0 = time.perf_counter()
    sim = simpy_unmet(cfg, avail, mult)
    t_simpy = time.perf_counter() - t0

    rep = engine_result(ds)
    bad = mismatches(chain, rep, sim)
    total = rep.unmet.sum(axis=(2, 3))  # draw × year
    risk_desc = "one certain 12-month Chinese ban from 2026" if args.ban else "baseline risk model"
    print(
        f"scenario {loaded.name} (india-baseline, import-only: no magnet units, no recycling), "
        f"{risk_desc}; seed {args.seed}, {D} draws × {T} months"
    )
    print(
        f"agreement on unmet by draw × year × sector × grade (and year-end stocks), rtol {RTOL:g}, "
        f"atol {ATOL:g}: max |repm − SimPy| = {np.abs(rep.unmet - sim.unmet).max():.2e} t; "
        f"draw-years with a shortage {int((total > 1e-6).sum())} of {total.size}; "
        f"mean unmet {total.sum(axis=1).mean():,.1f} t per draw over the horizon"
    )
    if bad:
        print("MISMATCH between repm and the SimPy model:", file=sys.stderr)
        print("\n".join(bad), file=sys.stderr)
        return 1
    print("agreement: OK")

    rows = [("SimPy, 1 env per draw", D, t_simpy), ("repm simulate, same draws", D, t_repm)]
    big_ok = True
    if args.big_draws:
        t0 = time.perf_counter()
        summary = run_draws(
            chain, loaded.scenario, draws=args.big_draws, seed=args.seed,
            chunk_size=args.chunk, workers=args.workers,
        )  # fmt: skip
        t_big = time.perf_counter() - t0
        rows.append(
            (f"repm run_draws, chunks {args.chunk:,} ×{args.workers}", args.big_draws, t_big)
        )
        # run_draws samples each draw by its index: its first draws are the ones compared above
        n = min(D, args.big_draws)
        big_ok = np.allclose(
            summary.total[:n], rep.unmet.sum(axis=(2, 3))[:n], rtol=RTOL, atol=ATOL
        )  # run_draws keeps each draw's total by year (sectors are reduced as chunks arrive)

    rate_simpy = D * T / t_simpy
    target = 1_000_000 * T
    head = (
        f"{'':34} {'draws':>7} {'seconds':>8} {'draw-months/s':>14} {'÷ SimPy':>8} "
        f"{'10^6 draws × ' + str(T) + ' months':>24}"
    )
    print()
    print(head)
    print("-" * len(head))
    for label, n_draws, secs in rows:
        rate = n_draws * T / secs
        print(
            f"{label:34} {n_draws:>7,} {secs:>8.2f} {rate:>14,.0f} {rate / rate_simpy:>7.1f}× "
            f"{_fmt_duration(target / rate):>24}"
        )
    print("-" * len(head))
    print(
        f"rates are draw-months per second of wall time; ÷ SimPy is repm's rate over SimPy's. "
        f"Shock sampling ({D} draws: {t_sample:.2f} s) is outside the SimPy and simulate "
        f"timings and inside run_draws."
    )
    if not big_ok:
        print("MISMATCH: run_draws' first draws differ from simulate's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
