"""Monte Carlo of supply shocks: chunks of draws through the one engine, reduced once.

Each chunk samples its own draws by index (counter-based, so a draw's path is the same in any
chunk), runs `simulate`, and keeps only per-draw annual summaries (unmet by sector, months
short, stockpile tonne-years, the stockpile gap). Chunks run on Dask — the local scheduler by
default, a `dask.distributed` cluster when an address is given — and are concatenated in draw
order before any statistic is computed, so the numbers are bit-identical however the work is cut.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from repm.chain import Chain
from repm.chain.plan import Plan
from repm.chain.rules import stock_prices
from repm.errors import UserError
from repm.model.units import INR_PER_CRORE
from repm.scenario.schema import Scenario
from repm.simulate import kernel
from repm.simulate.engine import Buffers, simulate
from repm.simulate.shocks import sample

UNMET_EPS = 1e-6  # t: below this a year counts as fully served (round-off)
VEHICLE_SECTORS = {"ev_car": "ev_cars_not_built", "e2w": "e2w_not_built", "e3w": "e3w_not_built"}


@dataclass(frozen=True)
class Block:
    """One chunk's per-draw annual results (draws in order), as `run_block` returns them."""

    draw_ids: np.ndarray
    unmet: np.ndarray  # draw × year × sector, t
    short_months: np.ndarray  # draw × year
    tonne_years: np.ndarray  # draw × year × material (strategic stockpile held)
    released: np.ndarray  # draw × material: strategic stockpile released over the horizon, t
    max_residual: np.ndarray  # year: largest mass-balance residual over the block


@dataclass(frozen=True)
class DrawSummary:
    """A Monte Carlo run, reduced: per draw only what the metrics need, the rest already summed.

    Kept per draw (draw order): the total unmet demand by year (for quantiles, CVaR and
    P(shortage)), the horizon total (P(no shortage)), the holding cost by year and the stockpile
    released per material (stockpile sizing). Reduced over draws as the chunks come in, in draw
    order, with the same floating-point operations in the same order as over the whole array:
    months short, and by sector the share of draws short, the mean and the CVaR (from the worst
    draws only). So the figures are bit-identical to computing them from every draw's full
    results, and bit-identical for any chunking — while 10^6 draws need ~0.3 GB, not ~2 GB."""

    draws: int
    alpha: float  # the CVaR level the sector tails were kept for
    total: np.ndarray  # draw × year: unmet demand, all sectors, t
    horizon: np.ndarray  # draw: unmet demand over the horizon, t
    holding: np.ndarray  # draw × year: strategic stockpile holding cost, crore INR
    released: np.ndarray  # draw × material: strategic stockpile released over the horizon, t
    months_short: np.ndarray  # year: mean over draws
    sector_p_short: np.ndarray  # year × sector: share of draws with unmet demand
    sector_mean: np.ndarray  # year × sector: mean unmet demand, t
    sector_cvar: np.ndarray  # year × sector: CVaR_alpha of unmet demand, t
    max_residual: np.ndarray  # year: largest mass-balance residual over all draws


class Reduction:
    """Folds chunks (`Block`s, any arrival order) into a `DrawSummary`, in draw order.

    Sums over draws continue one sequence across chunks (the running sum is the first row of the
    next chunk's reduction): draws are added one after another in draw order — the order NumPy's
    `mean(axis=0)` over a draw × year array uses too, when there is more than one year. The
    sector CVaR keeps each year's k worst draws (k = ⌈(1 − alpha) n⌉, as `cvar`), drops the rest."""

    def __init__(
        self, draws: int, years: int, sectors: int, materials: int, hold, alpha: float = 0.95
    ) -> None:
        self.n, self.alpha, self.hold = draws, alpha, hold
        self.k = tail_size(alpha, draws)
        self.total = np.empty((draws, years))
        self.horizon = np.empty(draws)
        self.holding = np.empty((draws, years))
        self.released = np.empty((draws, materials))
        self.short_sum: np.ndarray | None = None  # year
        self.sector_sum: np.ndarray | None = None  # year × sector
        self.sector_count = np.zeros((years, sectors), dtype=np.int64)
        # candidates for each year × sector's k worst draws: a row per year × sector (so the
        # partition that keeps the k largest runs along contiguous memory), filled chunk by chunk
        # and cut back to k when full — each value is copied a bounded number of times
        self.cap = 3 * self.k
        self.worst = np.empty((years * sectors, self.cap))
        self.filled = 0
        self.max_residual = np.full(years, -np.inf)
        self.done = 0
        self.pending: dict[int, Block] = {}

    @staticmethod
    def _continue(acc: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
        if acc is None:
            return rows.sum(axis=0)
        return np.concatenate([acc[None], rows]).sum(axis=0)

    def add(self, block: Block) -> None:
        self.pending[int(block.draw_ids[0])] = block
        while self.done in self.pending:
            self._fold(self.pending.pop(self.done))

    def _fold(self, b: Block) -> None:
        lo, hi = self.done, self.done + len(b.draw_ids)
        if not np.array_equal(b.draw_ids, np.arange(lo, hi)):
            raise ValueError("chunks must cover draws 0 … n − 1 in consecutive ranges")
        u = b.unmet
        self.total[lo:hi] = u.sum(axis=2)
        self.horizon[lo:hi] = u.sum(axis=(1, 2))
        self.holding[lo:hi] = self.hold(b.tonne_years)
        self.released[lo:hi] = b.released
        self.short_sum = self._continue(self.short_sum, b.short_months)
        self.sector_sum = self._continue(self.sector_sum, u)
        self.sector_count += (u > UNMET_EPS).sum(axis=0)
        rows = u.reshape(len(u), -1).T  # year·sector × draw
        if self.filled + rows.shape[1] > self.cap:
            if self.filled > self.k:
                part = np.partition(self.worst[:, : self.filled], self.filled - self.k, axis=1)
                self.worst[:, : self.k] = part[:, self.filled - self.k :]
                self.filled = self.k
            if self.filled + rows.shape[1] > self.cap:  # a chunk larger than the buffer
                grown = np.empty((len(self.worst), self.filled + rows.shape[1]))
                grown[:, : self.filled] = self.worst[:, : self.filled]
                self.worst, self.cap = grown, grown.shape[1]
        self.worst[:, self.filled : self.filled + rows.shape[1]] = rows
        self.filled += rows.shape[1]
        self.max_residual = np.maximum(self.max_residual, b.max_residual)
        self.done = hi

    def result(self) -> DrawSummary:
        if self.done != self.n or self.pending:
            raise ValueError(f"{self.done} of {self.n} draws reduced")
        # each sector's k worst, sorted, as the (k × year) array `cvar` would take its mean of:
        # NumPy's summation order depends on the layout, so the layout is the same too
        Y, S = self.sector_count.shape
        kept = self.worst[:, : self.filled]
        if self.filled > self.k:
            kept = np.partition(kept, self.filled - self.k, axis=1)[:, self.filled - self.k :]
        worst = np.sort(kept, axis=1).reshape(Y, S, -1)  # year × sector × k, ascending
        tail = np.stack([np.ascontiguousarray(worst[:, s].T).mean(axis=0) for s in range(S)], 1)
        return DrawSummary(
            draws=self.n,
            alpha=self.alpha,
            total=self.total,
            horizon=self.horizon,
            holding=self.holding,
            released=self.released,
            months_short=self.short_sum / self.n,
            sector_p_short=self.sector_count / self.n,
            sector_mean=self.sector_sum / self.n,
            sector_cvar=tail,
            max_residual=self.max_residual,
        )


def _largest(x: np.ndarray, k: int) -> np.ndarray:
    """The k largest values along axis 0, for every other index (unordered)."""
    n = x.shape[0]
    if n <= k:
        return x
    return np.partition(x, n - k, axis=0)[n - k :]


def run_block(
    chain: Chain, risk, seed: int, draw_ids: np.ndarray, step: str, plan: Plan | None
) -> Block:
    """One chunk. Takes the risk block, not the whole scenario, so tasks pickle cleanly to
    remote workers (the scenario holds pint quantities of repm's own unit registry)."""
    shocks = sample(risk, chain, draw_ids, seed)
    buffers = _thread_buffers()
    ds = simulate(chain, plan=plan, shocks=shocks, step=step, buffers=buffers).data
    spy = int(ds.attrs["steps_per_year"])
    unmet = ds.unmet.transpose("draw", "year", "sector", "grade").values.sum(axis=3)
    res = ds.residual.transpose("draw", "year", "process", "element").values
    block = Block(  # every array its own (computed or copied): the buffers are written again
        draw_ids=np.asarray(draw_ids),
        unmet=unmet,
        short_months=ds.short_steps.transpose("draw", "year").values * (12 / spy),
        tonne_years=ds.stockpile_tonne_years.transpose("draw", "year", "material").values.copy(),
        released=ds.stockpile_draw.transpose("draw", "year", "material").values.sum(axis=1),
        max_residual=np.maximum(res.max(axis=(0, 2, 3)), -res.min(axis=(0, 2, 3))),  # max |r|
    )
    del ds, res
    buffers.release()
    return block


_LOCAL = threading.local()


def _thread_buffers() -> Buffers:
    """This thread's output arrays, lent to the engine chunk after chunk."""
    if not hasattr(_LOCAL, "buffers"):
        _LOCAL.buffers = Buffers()
    return _LOCAL.buffers


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
    alpha: float = 0.95,
) -> DrawSummary:
    """Run `draws` draws in chunks through Dask, folding each chunk's results in draw order."""
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
    if draws * chain.n_years * 12 > kernel.PY_DRAW_STEPS:
        kernel.compiled()  # more than a few draws: the compiled kernel for every chunk, however small
    red = Reduction(
        draws, chain.n_years, len(chain.sectors), len(chain.materials),
        lambda ty: holding_cost(scenario, ty), alpha,
    )  # fmt: skip

    def take(part: Block) -> None:
        red.add(part)
        if progress:
            progress(len(part.draw_ids))

    if scheduler is None and len(blocks) == 1:
        take(run_block(chain, scenario.risk, seed, blocks[0], step, plan))
        return red.result()
    if scheduler:
        try:
            from dask import delayed
            from distributed import Client, as_completed
        except ImportError as exc:  # pragma: no cover - distributed is a dependency
            raise RuntimeError("dask.distributed is not installed") from exc
        tasks = [delayed(run_block)(chain, scenario.risk, seed, b, step, plan) for b in blocks]
        client = (
            Client(scheduler)
            if scheduler != "local"
            else Client(
                n_workers=workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
            )
        )
        try:
            for fut in as_completed(client.compute(tasks)):
                take(fut.result())
        finally:
            client.close()
        return red.result()
    # chunks side by side on a pool of threads, each chunk's compiled kernel on its own thread
    # (`nogil`: the threads run at once), at most two chunks per thread in flight so memory stays
    # bounded; a thread that finishes takes the next chunk at once, whatever the others do
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    def serial_block(b: np.ndarray) -> Block:
        with kernel.serial():
            return run_block(chain, scenario.risk, seed, b, step, plan)

    nw = max(1, workers or 2)
    todo = iter(blocks)
    with ThreadPoolExecutor(nw, thread_name_prefix="repm-risk") as pool:
        running = {pool.submit(serial_block, b) for b in itertools.islice(todo, 2 * nw)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                take(f.result())
                running |= {pool.submit(serial_block, b) for b in itertools.islice(todo, 1)}
    return red.result()


def tail_size(alpha: float, n: int) -> int:
    """k = ⌈(1 − alpha) n⌉ outcomes in the tail, at least one. Rounded to 9 decimals first:
    (1 − 0.95) × 100 is 5.000000000000004 in floating point, and its ceiling would be 6."""
    return max(1, int(np.ceil(round((1 - alpha) * n, 9))))


def cvar(x: np.ndarray, alpha: float = 0.95, axis: int = 0) -> np.ndarray:
    """Mean of the worst (1 − alpha) share of outcomes along `axis` (at least one outcome)."""
    k = tail_size(alpha, x.shape[axis])
    worst = np.sort(_largest(np.moveaxis(x, axis, 0), k), axis=0)  # the tail of a full sort
    return worst.mean(axis=0)


def holding_cost(scenario: Scenario, tonne_years: np.ndarray) -> np.ndarray:
    """crore INR per draw × year: tonne-years held × price × holding rate."""
    prices = stock_prices(scenario)  # the planner's holding price too
    price = np.array([prices.get(m, 0.0) for m in scenario.definition.material_names])  # INR/kg
    inr = (
        (tonne_years * price[None, None, :]).sum(axis=2)
        * 1000.0
        * scenario.economics.holding_cost_rate
    )
    return inr / INR_PER_CRORE


def metrics(
    chain: Chain, scenario: Scenario, summary: DrawSummary, alpha: float | None = None
) -> pd.DataFrame:
    """The risk indicator table: by year, totals and by sector. The sector CVaRs are at the level
    the summary kept tails for (`run_draws(alpha=…)`); `alpha`, if given, must be that level."""
    if alpha is None:
        alpha = summary.alpha
    elif alpha != summary.alpha:
        raise ValueError(f"the summary kept sector tails for alpha {summary.alpha}, not {alpha}")
    years = chain.years
    rows: list[dict] = []

    def add(name, unit, values, **dims):
        for y, v in zip(years, np.asarray(values, dtype=float), strict=True):
            rows.append({"year": int(y), "name": name, "value": float(v), "unit": unit, **dims})

    total = summary.total  # draw × year
    add("p_shortage", "fraction", (total > UNMET_EPS).mean(axis=0))
    add("expected_unmet", "t", total.mean(axis=0))
    add("cvar95_unmet", "t", cvar(total, alpha))
    for q in (5, 50, 95):
        add(f"unmet_p{q:02d}", "t", np.quantile(total, q / 100, axis=0, method="inverted_cdf"))
    add("months_short", "month", summary.months_short)
    add("stockpile_holding_cost", "crore INR", summary.holding.mean(axis=0))
    add("mass_balance_residual", "t", summary.max_residual)
    for si, s in enumerate(chain.sectors):
        mean = summary.sector_mean[:, si]
        add("p_shortage", "fraction", summary.sector_p_short[:, si], sector=s)
        add("expected_unmet", "t", mean, sector=s)
        add("cvar95_unmet", "t", summary.sector_cvar[:, si], sector=s)
        if s in VEHICLE_SECTORS:
            kg = _kg_per_vehicle(scenario, s)
            if kg:
                add(VEHICLE_SECTORS[s], "vehicles", mean * 1000.0 / kg)
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
    return float((summary.horizon <= UNMET_EPS * summary.total.shape[1]).mean())


@dataclass(frozen=True)
class StockpileResult:
    service_level: float
    achieved: float  # share of draws with no shortage over the horizon
    stockpile: dict[str, float]  # material -> t
    holding_cost: float  # crore INR per year, mean over draws and years
    attainable: bool
    note: str


UNLIMITED = 1e9  # t: a stockpile no draw can empty, to measure what each draw would release


def sized_materials(scenario: Scenario) -> tuple[str, ...]:
    """The materials `size_stockpile` sizes: magnets, NdPr/Dy/Tb oxide and metal — those with a
    price (economics.prices), since a stockpile's holding cost is what is minimised."""
    prices = scenario.economics.prices
    return tuple(m for m in scenario.definition.names(sizable=True) if prices.get(m, 0.0) > 0)


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
    """Least-holding-cost stockpile per material (magnets, NdPr/Dy/Tb oxide and metal) with
    P(no shortage over the horizon) ≥ service level.

    Common random numbers: every candidate is simulated on the same draws (same seed). Two
    families of candidates are searched and the cheaper kept: magnets alone (they cover a
    bare-magnet shortage whatever caused it), and magnets with feed (oxide, metal: it keeps
    domestic magnet making going when feed is cut off). In each, what every draw needs from each
    material's stockpile — its gap — is measured once, by simulating with stockpiles no draw can
    empty and reading what each draw releases. Candidates take the same quantile q of every
    material's gap, and q is bisected in [P, 1] — at q = P on a one-node system this is the
    closed-form answer (the P-quantile of the shortfall over a ban). The candidate is then scaled
    down as a whole, and material by material (dearest to hold first), while the level holds.
    A heuristic, not an exact optimum: the note says which family won and what the other cost.
    """
    if not 0 < service_level < 1:
        raise UserError(
            f"{service_level}; expected a probability strictly between 0 and 1",
            where="--service-level",
        )
    sized = sized_materials(loaded.scenario)
    if not sized:
        raise UserError(
            "no stockpile material has a price; expected prices for magnets or oxides",
            where="economics.prices",
        )

    def evaluate(stock: dict[str, float]) -> tuple[DrawSummary, Scenario]:
        sc = _scenario_with(loaded, stock)
        summary = run_draws(
            chain_builder(sc), sc, draws=draws, seed=seed, step=step, chunk_size=chunk_size,
            scheduler=scheduler, progress=progress,
        )  # fmt: skip
        return summary, sc

    def cost(summary: DrawSummary) -> float:
        return float(summary.holding.mean())

    zero = {m: 0.0 for m in sized}
    base, _ = evaluate(zero)
    p0 = p_no_shortage(base)
    if p0 >= service_level:
        return StockpileResult(
            service_level, p0, zero, 0.0, True,
            f"no stockpile needed: {p0:.1%} of draws have no shortage",
        )  # fmt: skip

    def search(family: tuple[str, ...]) -> StockpileResult:
        """The least-cost candidate stocking only `family` (the others at zero)."""
        cols = [loaded.scenario.definition.material_names.index(m) for m in family]
        gap = evaluate({**zero, **{m: UNLIMITED for m in family}})[0].released[:, cols]

        def candidate(q: float) -> dict[str, float]:
            at = {m: float(np.quantile(gap[:, i], q, method="inverted_cdf")) for i, m in enumerate(family)}  # fmt: skip
            return {**zero, **at}

        top, _ = evaluate(candidate(1.0))
        if p_no_shortage(top) < service_level:
            return StockpileResult(
                service_level, p_no_shortage(top), candidate(1.0), cost(top), False,
                "not attainable with stockpiles: the remaining shortages are in magnets embedded in "
                "imported sub-assemblies, which no stockpile can cover",
            )  # fmt: skip
        lo, hi = service_level, 1.0
        best = (candidate(1.0), top)
        lo_s, _ = evaluate(candidate(lo))
        if p_no_shortage(lo_s) >= service_level:
            hi, best = lo, (candidate(lo), lo_s)
        else:
            for _ in range(iterations):
                mid = (lo + hi) / 2
                s_mid, _ = evaluate(candidate(mid))
                if p_no_shortage(s_mid) >= service_level:
                    hi, best = mid, (candidate(mid), s_mid)
                else:
                    lo = mid
        # the same quantile of every material can overshoot (gaps are correlated): shrink the
        # candidate as a whole, then each material on its own, dearest to hold first
        stock, summ, scale = shrink(*best, family)
        held = [m for m in family if stock[m] > 0]
        notes = []
        if len(held) > 1:
            price = loaded.scenario.economics.prices
            for m in sorted(held, key=lambda m: -price.get(m, 0.0)):
                stock, summ, f = shrink(stock, summ, (m,))
                if f < 1.0:
                    notes.append(f"{m} ×{f:.3f}")
        return StockpileResult(
            service_level, p_no_shortage(summ), stock, cost(summ), True,
            f"quantile {hi:.4f} of each material's gap, scaled by {scale:.3f}"
            + (f", then {', '.join(notes)}" if notes else ""),
        )  # fmt: skip

    def shrink(stock: dict[str, float], current: DrawSummary, which: tuple[str, ...]) -> tuple:
        """Scale the `which` materials of `stock` by the least factor in [0, 1] that still meets
        the service level (bisection); returns (stock, its summary, factor)."""
        lo_l, hi_l, found = 0.0, 1.0, (stock, current)
        for _ in range(iterations):
            lam = (lo_l + hi_l) / 2
            trial = {m: v * lam if m in which else v for m, v in stock.items()}
            s_t, _ = evaluate(trial)
            if p_no_shortage(s_t) >= service_level:
                hi_l, found = lam, (trial, s_t)
            else:
                lo_l = lam
        return (*found, hi_l)

    # magnets alone cover any bare-magnet shortage, whatever caused it; feed stockpiles (oxide,
    # metal) beside them keep domestic magnet making going — cheaper or dearer depending on prices
    magnets = tuple(m for m in sized if m.startswith("magnet"))
    families = [f for f in (magnets, sized) if f]
    results = [search(f) for f in dict.fromkeys(families)]
    ok = [r for r in results if r.attainable]
    if not ok:
        return max(results, key=lambda r: r.achieved)
    best = min(ok, key=lambda r: r.holding_cost)
    others = "; ".join(
        f"{'+'.join(m for m, v in r.stockpile.items() if v > 0) or 'none'} would cost {r.holding_cost:,.1f}"
        for r in ok
        if r is not best
    )
    return replace(
        best,
        note=f"common random numbers over {draws:,} draws (seed {seed}); {best.note}"
        + (f" (the least-cost family; {others} crore INR/yr)" if others else ""),
    )


def _scenario_with(loaded, stock: dict[str, float]) -> Scenario:
    pol = loaded.scenario.policy.model_copy(
        update={"stockpile": {**loaded.scenario.policy.stockpile, **stock}}
    )
    return loaded.scenario.model_copy(update={"policy": pol})
