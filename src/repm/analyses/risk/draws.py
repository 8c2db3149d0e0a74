"""Chunks of draws through the one engine, on threads or a Dask cluster, reduced once."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import numpy as np

from repm.analyses.cluster import STALL_TIMEOUT_S
from repm.analyses.risk.measures import holding_cost, holding_prices
from repm.analyses.risk.reduce import Block, DrawSummary, Reduction, sum_last
from repm.chain import Chain
from repm.chain.plan import Plan
from repm.errors import UserError
from repm.limits import MAX_WORKERS, check_memory
from repm.scenario.schema import Scenario
from repm.simulate import kernel
from repm.simulate.engine import Buffers, simulate_raw
from repm.simulate.prepare import Prepared, prepare
from repm.simulate.shocks import sample


def run_block(
    chain: Chain, risk, seed: int, draw_ids: np.ndarray, step: str, plan: Plan | None,
    shocks_cache: dict | None = None, like: Prepared | None = None,
) -> Block:  # fmt: skip
    """One chunk. Takes the risk block, not the whole scenario, so tasks pickle cleanly to
    remote workers (the scenario holds pint quantities of repm's own unit registry).
    `shocks_cache` (a caller's dict, keyed by the chunk's first draw and size) keeps the chunk's
    sampled shocks for the next run of the same chain, risk and seed — common random numbers
    for candidates that differ only in what the shocks do not read (a stockpile search).
    `like`: the run's draw-independent kernel inputs, prepared once (`engine.prepare`)."""
    key = (int(draw_ids[0]), len(draw_ids)) if len(draw_ids) else None
    shocks = shocks_cache.get(key) if shocks_cache is not None else None
    if shocks is None:
        shocks = sample(risk, chain, draw_ids, seed)
        if shocks_cache is not None:
            shocks_cache[key] = shocks
    buffers = _thread_buffers()
    # the kernel's arrays as they are (draw × year × …, the orders sector_unmet reads from a
    # Dataset): the chunk reads five of them and needs no labels
    prep, out, max_residual = simulate_raw(chain, plan, shocks, step, buffers, like)
    spy = prep.inputs.spy
    block = Block(  # every array its own (computed or copied): the buffers are written again
        draw_ids=np.asarray(draw_ids),
        unmet=sum_last(out.unmet),  # draw × year × sector, summed over grades
        short_months=out.short_steps * (12 / spy),
        tonne_years=out.tonne_years.copy(),
        released=out.stock_draw.sum(axis=1),
        max_residual=max_residual,  # year: max |r|
        sector_short_months=out.short_sector * (12 / spy),
    )
    del out
    buffers.release()
    return block


def sector_unmet(ds) -> np.ndarray:
    """Unmet demand by draw × year × sector (t), summed over grades as every risk measure sums
    it (the total over sectors is then `.sum(axis=2)`, as `Reduction` takes it). `ds`: a run's
    Dataset, or the run unlabelled (`engine.unlabelled`, its arrays in the engine's order)."""
    order = ("draw", "year", "sector", "grade")
    unmet = ds.variables["unmet"]  # in that order already (the engine's): the same array
    return (unmet.values if unmet.dims == order else ds.unmet.transpose(*order).values).sum(axis=3)


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
    timeout: float = STALL_TIMEOUT_S,
    shocks_cache: dict | None = None,
) -> DrawSummary:
    """Run `draws` draws in chunks through Dask, folding each chunk's results in draw order.
    On a Dask scheduler, `timeout` seconds without a chunk finished is an error (a dead worker
    would otherwise hang the run). `shocks_cache`: see `run_block` (threads only; a Dask
    scheduler's workers sample their own)."""
    if draws < 1:
        raise UserError(f"{draws}; expected at least 1 draw", where="--draws")
    if draws > scenario.risk.draws_max:
        raise UserError(
            f"{draws}; expected at most risk.draws_max = {scenario.risk.draws_max:,.0f}",
            where="--draws",
        )
    if chunk_size < 1:
        raise UserError(f"{chunk_size}; expected a chunk size ≥ 1", where="--chunk")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"{workers}; expected 1 to {MAX_WORKERS} workers", where="--workers")
    n_workers = workers or 2
    check_memory(draws, chunk_size, 2 * n_workers, len(scenario.risk.events))
    blocks = chunks(draws, chunk_size)
    if draws * chain.n_years * 12 > kernel.PY_DRAW_STEPS:
        kernel.compiled()  # more than a few draws: the compiled kernel for every chunk, however small
    price = holding_prices(chain, scenario)  # once, not once a chunk
    red = Reduction(
        draws, chain.n_years, len(chain.sectors), len(chain.materials),
        lambda ty: holding_cost(chain, scenario, ty, price), alpha,
    )  # fmt: skip

    def take(part: Block) -> None:
        red.add(part)
        if progress:
            progress(len(part.draw_ids))

    if scheduler is None and len(blocks) == 1:
        take(run_block(chain, scenario.risk, seed, blocks[0], step, plan, shocks_cache))
        return red.result()
    if scheduler:
        from dask import delayed

        from repm.analyses.cluster import run_on

        tasks = [delayed(run_block)(chain, scenario.risk, seed, b, step, plan) for b in blocks]
        run_on(scheduler, tasks, lambda _, part: take(part), workers=n_workers, timeout=timeout)
        return red.result()
    # chunks side by side on a pool of threads, each chunk's compiled kernel on its own thread
    # (`nogil`: the threads run at once), at most two chunks per thread in flight so memory stays
    # bounded; a thread that finishes takes the next chunk at once, whatever the others do
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    like = prepare(chain, plan, None, step)  # the draw-independent inputs, once for all chunks

    def serial_block(b: np.ndarray) -> Block:
        with kernel.serial():
            return run_block(chain, scenario.risk, seed, b, step, plan, shocks_cache, like)

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
