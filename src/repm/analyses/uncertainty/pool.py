"""Blocks of parameter sets spread over processes (issue 14 part 6).

A parameter set's evaluation is mostly Python (its scenario validated, its chain compiled, its
output read), which one process runs on one core whatever the kernel does. A large batch is
therefore split by blocks (`Evaluator._block`: SETS_PER_CALL sets, one kernel call) over a pool
of forked processes, each running its blocks serially; a set's numbers depend on its own fact
values only, so the result is the same bit for bit however the blocks fall (tests/test_pool.py).

Forking copies the parent as it is — the Evaluator, the loaded scenario, the compiled kernel —
so a worker starts in milliseconds and nothing is pickled but the fact values and the outputs.
Forking a process that runs other threads is not safe (a lock held by one of them stays held in
the child), so a pool is used only where this process runs a single thread (the CLI, whose progress bar
redraws from this thread; not the dashboard's server) and the platform forks; elsewhere the
blocks run here, one after another. An error or a Ctrl-C cancels the queued blocks and ends the
workers at once.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from functools import partial
from typing import Any

import numpy as np

# fewer sets run in this process: a pool's start and its workers' blocks on one kernel thread
# each cost more than a second core saves on a small batch. Sets of one draw from 2,048: a unit's
# NPV (mostly Python) 1.0 ms a set in one process, 0.7 over two at 2,048 (bench/uncertainty.py);
# a run indicator's block is mostly kernel, which one process runs on both cores' threads:
# magnet_imports 0.21 ms a set in one process, 0.26 over two at 2,048, both ~0.19 at 8,192.
# Sets of shock draws each, from 256 (as measured before for those)
POOL_FROM_SETS = 256
POOL_FROM_SETS_ONE_DRAW = 2048


def pooled(sets: int, draws: int) -> bool:
    """Whether a batch of `sets` of `draws` draws each is large enough to fork for."""
    return sets >= (POOL_FROM_SETS_ONE_DRAW if draws <= 1 else POOL_FROM_SETS)


_TASK: Any = None  # the function a forked worker inherits (set just before the fork)
last_workers = 1  # processes the last batch ran on (the benchmark prints it)


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool_workers(requested: int | None, sets: int, blocks: int, draws: int = 1) -> int:
    """How many processes evaluate a batch of `sets` of `draws` shock draws each: `requested`
    (the Evaluator's `workers`), else the CPUs when the batch is large; never more than the
    blocks; 1 where forking is unsafe."""
    n = requested if requested is not None else (cpus() if pooled(sets, draws) else 1)
    n = min(n, blocks)
    if n > 1 and not can_fork():
        return 1
    return max(n, 1)


def can_fork() -> bool:
    """Whether this process may fork: the platform forks and no other thread runs (the CLI's
    progress bar redraws when advanced, from this thread: `repm.cli.render.progress`)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def run_blocks(ev, blocks: Sequence[list], progress: Callable[[int], None] | None) -> list:
    """`ev._block(b)` for each block, in order: here, or over a pool of forked processes."""
    global last_workers
    sets = sum(len(b) for b in blocks)
    workers = last_workers = pool_workers(ev.workers, sets, len(blocks), ev.draws_per_set)
    if workers <= 1:
        parts = []
        for b in blocks:
            parts.append(ev._block(b))
            if progress is not None:
                progress(len(b))
        return parts
    t0 = time.perf_counter()

    def took(i: int, got: tuple) -> None:
        for k, v in got[1].items():  # each worker's seconds: shares, not wall time
            ev.phases[k] = ev.phases.get(k, 0.0) + v
        for k, v in got[2].items():  # how its samples were validated (COUNTS)
            setattr(ev, k, getattr(ev, k) + v)
        ev.evaluations += len(blocks[i])
        if progress is not None:
            progress(len(blocks[i]))

    got = fork_map(partial(_block_in_worker, ev), blocks, workers=workers, done=took)
    ev.seconds += time.perf_counter() - t0  # wall: what the batch cost the user
    return [g[0] for g in got]


def fork_map(
    fn: Callable[[Any], Any],
    items: Sequence,
    *,
    workers: int,
    done: Callable[[int, Any], None] | None = None,
) -> list:
    """[fn(item) for item in items] over `workers` forked processes (each item's kernel calls on
    its worker's thread only), or here when workers ≤ 1 or this process may not fork
    (`can_fork`). `done(i, result)` as each item finishes, here. fn is inherited by the fork,
    not pickled: only items and results cross. An error in fn or a Ctrl-C here cancels the
    queued items and ends the workers at once."""
    global _TASK
    if workers <= 1 or len(items) <= 1 or not can_fork():
        out = []
        for i, item in enumerate(items):
            out.append(fn(item))
            if done is not None:
                done(i, out[-1])
        return out
    outer, _TASK = _TASK, fn  # a worker's own fork_map gives its task back when done
    results: list = [None] * len(items)
    ctx = multiprocessing.get_context("fork")
    # the objects this process holds now are out of the workers' garbage collections: a
    # collection in a worker writes to every object it visits, and each page written is copied
    # from the parent (copy on write): ~1.5× → ~2× the one-process speed on two cores. A caller
    # that froze its own objects keeps them frozen, and nothing more is frozen for it.
    freeze = gc.get_freeze_count() == 0
    pool = None
    try:
        if freeze:
            gc.freeze()
        pool = ProcessPoolExecutor(min(workers, len(items)), mp_context=ctx)
        futures = {pool.submit(_work, item): i for i, item in enumerate(items)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for f in finished:
                if f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
                i = futures[f]
                results[i] = f.result()
                if done is not None:
                    done(i, results[i])
    except BaseException:  # an error, Ctrl-C: stop now, not after every queued item
        if pool is not None:
            _stop(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        _TASK = outer
        if freeze:
            gc.unfreeze()
    return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued blocks and end the workers at once (leaving a `with` block would wait
    for every block still queued: minutes on a large batch after a Ctrl-C)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=5)


def _work(item: Any) -> Any:
    """In a worker: the inherited task on one item, its kernel calls on this thread only."""
    from repm.simulate import kernel

    with kernel.serial():
        return _TASK(item)


COUNTS = ("fast_samples", "slow_samples", "text_fallbacks", "block_fallbacks", "eager_blocks",
          "missed_checks")  # an Evaluator's


def _block_in_worker(ev, block: list) -> tuple[np.ndarray, dict[str, float], dict[str, int]]:
    """One block of an Evaluator's sets, the seconds its phases took and how its samples were
    validated (COUNTS), leaving the Evaluator's own counts as they were (the caller adds them
    up, `run_blocks`' `took`)."""
    saved = ev.phases, ev.evaluations, ev.seconds, {k: getattr(ev, k) for k in COUNTS}
    ev.phases = {}
    try:
        out = ev._block(block)
        return out, ev.phases, {k: getattr(ev, k) - saved[3][k] for k in COUNTS}
    finally:
        ev.phases, ev.evaluations, ev.seconds = saved[:3]
        for k, v in saved[3].items():
            setattr(ev, k, v)
