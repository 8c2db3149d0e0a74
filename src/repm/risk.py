"""Monte Carlo of supply shocks: chunks of draws through the one engine, reduced once.

Each chunk samples its own draws by index (counter-based, so a draw's path is the same in any
chunk), runs `simulate`, and keeps only per-draw annual summaries (unmet by sector, months
short, stockpile tonne-years, the stockpile gap). Chunks run on Dask — the local scheduler by
default, a `dask.distributed` cluster when an address is given — and are concatenated in draw
order before any statistic is computed, so the numbers are bit-identical however the work is cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from repm.chain import MATERIALS, Chain
from repm.engine import simulate
from repm.errors import UserError
from repm.plan import Plan
from repm.scenario.schema import Scenario
from repm.shocks import sample

UNMET_EPS = 1e-6  # t: below this a year counts as fully served (round-off)
VEHICLE_SECTORS = {"ev_car": "ev_cars_not_built", "e2w": "e2w_not_built", "e3w": "e3w_not_built"}


@dataclass(frozen=True)
class DrawSummary:
    """Per-draw annual summaries for a block of draws (draw order)."""

    draw_ids: np.ndarray
    unmet: np.ndarray  # draw × year × sector, t
    short_months: np.ndarray  # draw × year
    tonne_years: np.ndarray  # draw × year × material (strategic stockpile held)
    gap: np.ndarray  # draw × material: stockpile releases needed (t) to avoid every shortage
    max_residual: np.ndarray  # year: largest mass-balance residual over the block

    @staticmethod
    def concat(parts: list[DrawSummary]) -> DrawSummary:
        parts = sorted(parts, key=lambda p: int(p.draw_ids[0]) if len(p.draw_ids) else 0)
        return DrawSummary(
            draw_ids=np.concatenate([p.draw_ids for p in parts]),
            unmet=np.concatenate([p.unmet for p in parts]),
            short_months=np.concatenate([p.short_months for p in parts]),
            tonne_years=np.concatenate([p.tonne_years for p in parts]),
            gap=np.concatenate([p.gap for p in parts]),
            max_residual=np.max([p.max_residual for p in parts], axis=0),
        )


def run_block(
    chain: Chain, risk, seed: int, draw_ids: np.ndarray, step: str, plan: Plan | None
) -> DrawSummary:
    """One chunk. Takes the risk block, not the whole scenario, so tasks pickle cleanly to
    remote workers (the scenario holds pint quantities of repm's own unit registry)."""
    shocks = sample(risk, chain, draw_ids, seed)
    ds = simulate(chain, plan=plan, shocks=shocks, step=step).data
    spy = int(ds.attrs["steps_per_year"])
    unmet = ds.unmet.sum("grade").transpose("draw", "year", "sector").values
    # what magnet stockpiles would have had to release to avoid every bare-channel shortage: the
    # unmet bare demand by grade plus releases already made (sizing re-simulates to confirm)
    bare_unmet = np.zeros((len(draw_ids), len(MATERIALS)))
    by_grade = ds.unmet_bare.sum(["year", "sector"]).values  # draw × grade (bare channel only)
    bare_unmet[:, MATERIALS.index("magnet_n")] = by_grade[:, 0]
    bare_unmet[:, MATERIALS.index("magnet_h")] = by_grade[:, 1]
    gap = bare_unmet + ds.stockpile_draw.sum("year").values
    return DrawSummary(
        draw_ids=np.asarray(draw_ids),
        unmet=unmet,
        short_months=ds.short_steps.values * (12 / spy),
        tonne_years=ds.stockpile_tonne_years.values,
        gap=gap,
        max_residual=np.abs(ds.residual).max(["draw", "process", "element"]).values,
    )


def chunks(draws: int, chunk_size: int) -> list[np.ndarray]:
    return [np.arange(a, min(a + chunk_size, draws)) for a in range(0, draws, chunk_size)]


def run_draws(
    chain: Chain,
    scenario: Scenario,
    *,
    draws: int,
    seed: int,
    step: str = "monthly",
    chunk_size: int = 2000,
    scheduler: str | None = None,
    workers: int | None = None,
    plan: Plan | None = None,
    progress: Callable[[int], None] | None = None,
) -> DrawSummary:
    """Run `draws` draws in chunks through Dask and concatenate their summaries in draw order."""
    if draws < 1:
        raise UserError(f"{draws}; expected at least 1 draw", where="--draws")
    if draws > scenario.risk.draws_max:
        raise UserError(
            f"{draws}; expected at most risk.draws_max = {scenario.risk.draws_max:,.0f}",
            where="--draws",
        )
    if chunk_size < 1:
        raise UserError(f"{chunk_size}; expected a chunk size ≥ 1", where="--chunk")
    blocks = chunks(draws, chunk_size)
    if scheduler is None and len(blocks) == 1:
        part = run_block(chain, scenario.risk, seed, blocks[0], step, plan)
        if progress:
            progress(draws)
        return part
    import dask
    from dask import delayed

    tasks = [delayed(run_block)(chain, scenario.risk, seed, b, step, plan) for b in blocks]
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:  # pragma: no cover - distributed is a dependency
            raise RuntimeError("dask.distributed is not installed") from exc
        client = (
            Client(scheduler)
            if scheduler != "local"
            else Client(
                n_workers=workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
            )
        )
        try:
            futures = client.compute(tasks)
            parts = []
            for fut in as_completed(futures):
                part = fut.result()
                parts.append(part)
                if progress:
                    progress(len(part.draw_ids))
        finally:
            client.close()
        return DrawSummary.concat(parts)
    parts = []
    # the threaded local scheduler, a few chunks at a time so memory stays bounded
    batch = max(1, workers or 2)
    for i in range(0, len(tasks), batch):
        done = dask.compute(*tasks[i : i + batch], scheduler="threads", num_workers=batch)
        parts.extend(done)
        if progress:
            progress(sum(len(p.draw_ids) for p in done))
    return DrawSummary.concat(parts)


def cvar(x: np.ndarray, alpha: float = 0.95, axis: int = 0) -> np.ndarray:
    """Mean of the worst (1 − alpha) share of outcomes along `axis` (at least one outcome)."""
    n = x.shape[axis]
    k = max(1, int(np.ceil((1 - alpha) * n)))
    srt = np.sort(x, axis=axis)
    return np.take(srt, np.arange(n - k, n), axis=axis).mean(axis=axis)


def holding_cost(scenario: Scenario, tonne_years: np.ndarray) -> np.ndarray:
    """crore INR per draw × year: tonne-years held × price × holding rate."""
    price = np.array([scenario.economics.prices.get(m, 0.0) for m in MATERIALS])  # INR/kg
    inr = (
        (tonne_years * price[None, None, :]).sum(axis=2)
        * 1000.0
        * scenario.economics.holding_cost_rate
    )
    return inr / 1e7


def metrics(
    chain: Chain, scenario: Scenario, summary: DrawSummary, alpha: float = 0.95
) -> pd.DataFrame:
    """The risk indicator table: by year, totals and by sector."""
    years = chain.years
    rows: list[dict] = []

    def add(name, unit, values, **dims):
        for y, v in zip(years, np.asarray(values, dtype=float), strict=True):
            rows.append({"year": int(y), "name": name, "value": float(v), "unit": unit, **dims})

    total = summary.unmet.sum(axis=2)  # draw × year
    add("p_shortage", "fraction", (total > UNMET_EPS).mean(axis=0))
    add("expected_unmet", "t", total.mean(axis=0))
    add("cvar95_unmet", "t", cvar(total, alpha))
    for q in (5, 50, 95):
        add(f"unmet_p{q:02d}", "t", np.quantile(total, q / 100, axis=0, method="inverted_cdf"))
    add("months_short", "month", summary.short_months.mean(axis=0))
    add(
        "stockpile_holding_cost",
        "crore INR",
        holding_cost(scenario, summary.tonne_years).mean(axis=0),
    )
    add("mass_balance_residual", "t", summary.max_residual)
    for si, s in enumerate(chain.sectors):
        u = summary.unmet[:, :, si]
        add("p_shortage", "fraction", (u > UNMET_EPS).mean(axis=0), sector=s)
        add("expected_unmet", "t", u.mean(axis=0), sector=s)
        add("cvar95_unmet", "t", cvar(u, alpha), sector=s)
        if s in VEHICLE_SECTORS:
            kg = _kg_per_vehicle(scenario, s)
            if kg:
                add(VEHICLE_SECTORS[s], "vehicles", u.mean(axis=0) * 1000.0 / kg)
    df = pd.DataFrame(rows)
    if "sector" not in df:
        df["sector"] = None
    return df


def _kg_per_vehicle(scenario: Scenario, sector: str) -> float | None:
    sec = scenario.demand.sectors.get(sector)
    if sec is None or sec.basis != "driver" or sec.intensity is None:
        return None
    try:
        return float(sec.intensity.to("kg/vehicle").magnitude)
    except Exception:  # intensity in other units (t/MW): not a vehicle sector
        return None


def p_no_shortage(summary: DrawSummary) -> float:
    """Share of draws with no shortage in any year of the horizon."""
    return float((summary.unmet.sum(axis=(1, 2)) <= UNMET_EPS * summary.unmet.shape[1]).mean())


@dataclass(frozen=True)
class StockpileResult:
    service_level: float
    achieved: float  # share of draws with no shortage over the horizon
    stockpile: dict[str, float]  # material -> t
    holding_cost: float  # crore INR per year, mean over draws and years
    attainable: bool
    note: str


SIZED_MATERIALS = ("magnet_n", "magnet_h")


def size_stockpile(
    loaded,
    chain_builder,
    *,
    service_level: float,
    draws: int,
    seed: int,
    step: str = "monthly",
    chunk_size: int = 2000,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    iterations: int = 12,
) -> StockpileResult:
    """Least-holding-cost magnet stockpile with P(no shortage over the horizon) ≥ service level.

    Common random numbers: every candidate is simulated on the same draws (same seed). The gap
    each draw would need covered is measured once with no stockpile; candidates take the same
    quantile q of each material's gap, and q is bisected in [P, 1] — at q = P on a one-node
    system this is the closed-form answer (the P-quantile of the shortfall over a ban).
    """
    if not 0 < service_level < 1:
        raise UserError(
            f"{service_level}; expected a probability strictly between 0 and 1",
            where="--service-level",
        )

    def evaluate(stock: dict[str, float]) -> tuple[DrawSummary, Scenario, Chain]:
        sc = _scenario_with(loaded, stock)
        ch = chain_builder(sc)
        return (
            run_draws(
                ch,
                sc,
                draws=draws,
                seed=seed,
                step=step,
                chunk_size=chunk_size,
                scheduler=scheduler,
                progress=progress,
            ),
            sc,
            ch,
        )

    zero = {m: 0.0 for m in SIZED_MATERIALS}
    base, sc0, ch0 = evaluate(zero)
    p0 = p_no_shortage(base)
    cols = [MATERIALS.index(m) for m in SIZED_MATERIALS]
    gap = base.gap[:, cols]
    if p0 >= service_level:
        return StockpileResult(
            service_level,
            p0,
            zero,
            0.0,
            True,
            f"no stockpile needed: {p0:.1%} of draws have no shortage",
        )

    def candidate(q: float) -> dict[str, float]:
        return {
            m: float(np.quantile(gap[:, i], q, method="inverted_cdf"))
            for i, m in enumerate(SIZED_MATERIALS)
        }

    top, sc_top, ch_top = evaluate(candidate(1.0))
    if p_no_shortage(top) < service_level:
        return StockpileResult(
            service_level, p_no_shortage(top), candidate(1.0), float(holding_cost(sc_top, top.tonne_years).mean()), False,
            "not attainable with magnet stockpiles: the remaining shortages are in magnets embedded in imported "
            "sub-assemblies or feed, which a bare-magnet stockpile cannot cover",
        )  # fmt: skip
    lo, hi = service_level, 1.0
    best = (candidate(1.0), top, sc_top)
    lo_s, _, _ = evaluate(candidate(lo))
    if p_no_shortage(lo_s) >= service_level:
        hi, best = lo, (candidate(lo), lo_s, _scenario_with(loaded, candidate(lo)))
    else:
        for _ in range(iterations):
            mid = (lo + hi) / 2
            s_mid, sc_mid, _ = evaluate(candidate(mid))
            if p_no_shortage(s_mid) >= service_level:
                hi, best = mid, (candidate(mid), s_mid, sc_mid)
            else:
                lo = mid
    # the same quantile of every grade can overshoot (gaps are correlated): shrink the candidate
    # uniformly while the service level still holds
    stock, summ, sc = best
    lo_l, hi_l = 0.0, 1.0
    for _ in range(iterations):
        lam = (lo_l + hi_l) / 2
        trial = {m: v * lam for m, v in stock.items()}
        s_t, sc_t, _ = evaluate(trial)
        if p_no_shortage(s_t) >= service_level:
            hi_l, best = lam, (trial, s_t, sc_t)
        else:
            lo_l = lam
    stock, summ, sc = best
    return StockpileResult(
        service_level, p_no_shortage(summ), stock, float(holding_cost(sc, summ.tonne_years).mean()), True,
        f"common random numbers over {draws:,} draws (seed {seed}); quantile {hi:.4f} of each grade's gap, "
        f"scaled by {hi_l:.3f}",
    )  # fmt: skip


def _scenario_with(loaded, stock: dict[str, float]) -> Scenario:
    pol = loaded.scenario.policy.model_copy(
        update={"stockpile": {**loaded.scenario.policy.stockpile, **stock}}
    )
    return loaded.scenario.model_copy(update={"policy": pol})
