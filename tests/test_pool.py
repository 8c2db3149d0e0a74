"""Blocks of parameter sets over forked processes (repm.analyses.uncertainty.pool): the same
numbers bit for bit as one process, in order; a user's error in a worker reaches the caller;
the pool is used only where it pays and forking is safe (the CLI's bar starts no thread)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from repm.analyses.uncertainty import pool


def test_workers_follow_the_batch_and_the_request(monkeypatch):
    monkeypatch.setattr(pool, "can_fork", lambda: True)
    monkeypatch.setattr(pool, "cpus", lambda: 4)
    one = pool.POOL_FROM_SETS_ONE_DRAW
    assert pool.pool_workers(None, one - 1, 10) == 1  # small: here
    assert pool.pool_workers(None, one, 10) == 4  # large: every CPU
    assert pool.pool_workers(None, one, 3) == 3  # never more than the blocks
    assert pool.pool_workers(None, pool.POOL_FROM_SETS, 10, draws=50) == 4  # shock draws each
    assert pool.pool_workers(None, pool.POOL_FROM_SETS - 1, 10, draws=50) == 1
    assert pool.pool_workers(2, 10, 5) == 2  # asked for
    assert pool.pool_workers(1, 10_000, 200) == 1
    monkeypatch.setattr(pool, "can_fork", lambda: False)
    assert pool.pool_workers(2, 10_000, 200) == 1  # threads running: no fork


def test_no_fork_while_other_threads_run():
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not pool.can_fork()
    finally:
        stop.set()
        t.join()


# A clean process, as the CLI's: a forked pytest worker would copy the test session.
_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import numpy as np
    from repm.cli import render
    from repm.analyses.uncertainty import evaluate, philox_uniforms, pool
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.errors import UserError
    from repm.scenario import load_scenario

    evaluate.SETS_PER_CALL = 4  # small blocks: several, quickly
    loaded = load_scenario("india-baseline")
    out = {}
    for output, kw in (("magnet_imports", {"step": "yearly"}),
                       ("expected_unmet", {"step": "yearly", "draws": 3, "per_draw": True})):
        ev = Evaluator(loaded, output, **kw)
        n = 11  # three blocks, the last short
        u = philox_uniforms(ev.inputs.drawn, 3, np.arange(n))
        values = ev.inputs.values(u, n)
        at = [{k: float(v[d]) for k, v in values.items()} for d in range(n)]
        ev.workers = 1
        here = ev.many(at)
        ev.workers, seen = 2, []
        # beside the CLI's progress bar, drawn as on a terminal: it starts no thread of its own
        sys.stderr.isatty = lambda: True
        bar, advance = render.progress(len(at), "evaluations")
        with bar:
            threads = threading.active_count()
            pooled = ev.many(at, progress=lambda k: (seen.append(k), advance(k)))
        out[output] = {
            "equal": bool(np.array_equal(here, pooled)), "workers": pool.last_workers,
            "progress": sum(seen), "n": n, "evaluations": ev.evaluations,
            "differ": bool(not np.all(here == here[0])), "threads": threads,
            "shape": list(pooled.shape),
        }
    # an Evaluator's counts come back from its workers: every block made sample by sample here
    from repm.analyses.uncertainty import fastpath
    fastpath.Plan.block_scenario = lambda self, *a: None
    counts = []
    for workers in (1, 2):
        ev = Evaluator(loaded, "magnet_imports", step="yearly", workers=workers)
        ev.many(at)
        counts.append([getattr(ev, k) for k in pool.COUNTS])
    out["counts"] = counts
    # fork_map: a closure over what does not pickle (the validated scenario), items and
    # results crossing; in order, each reported once, in other processes
    import os
    sc = loaded.scenario
    task = lambda i: (i, float(sc.supply.yields.sx_recovery) * i, os.getpid())
    seen = []
    pool._TASK = "outer"  # a fork_map inside a worker gives the worker's task back
    got = pool.fork_map(task, list(range(7)), workers=2, done=lambda i, r: seen.append((i, r)))
    out["fork_map"] = {
        "equal": [g[:2] for g in got] == [task(i)[:2] for i in range(7)],
        "seen": sorted(i for i, _ in seen), "elsewhere": all(g[2] != os.getpid() for g in got),
        "paired": all(r[:2] == task(i)[:2] for i, r in seen), "task_back": pool._TASK == "outer",
    }
    pool._TASK = None
    ev = Evaluator(loaded, "magnet_imports", step="yearly", workers=2)
    bad = [{}] * 4 + [{"working_stock_months": -5.0}]
    try:
        ev.many(bad)
        out["error"] = None
    except UserError as exc:
        out["error"] = str(exc)
    out["error_workers"] = pool.last_workers
    print(json.dumps(out))
    """
)


def test_pool_gives_one_processs_numbers_bit_for_bit():
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["magnet_imports"]["shape"] == [11, 12]
    assert out["expected_unmet"]["shape"] == [11, 3, 12]  # per_draw: sets × shock draws × years
    for output in ("magnet_imports", "expected_unmet"):
        got = out[output]
        assert got["workers"] == 2, output  # the pool ran
        assert got["threads"] == 1, output  # the bar drawn, and no thread beside this one
        assert got["equal"], output
        assert got["differ"], output  # the samples are not all one
        assert got["progress"] == got["n"], output
        assert got["evaluations"] == 2 * got["n"], output
    one, two = out["counts"]  # fast, slow, text fallbacks, block fallbacks, eager blocks, missed
    assert one == two and one[0] == 11 and one[4] == 3
    assert out["error"] is not None and "working_stock_months" in out["error"]
    assert out["error_workers"] == 2  # raised in a worker, reached the caller
    fm = out["fork_map"]
    assert fm["equal"] and fm["seen"] == list(range(7)) and fm["elsewhere"]
    assert fm["paired"] and fm["task_back"]


def test_a_block_here_leaves_the_evaluators_counts_to_the_caller():
    """`run_blocks` counts each block's sets and phases once (`took`), whether the block ran in a
    worker or, should forking be refused, here."""
    from types import SimpleNamespace

    def block(b):
        ev.evaluations += len(b)
        ev.phases["validate"] = ev.phases.get("validate", 0.0) + 1.0
        ev.fast_samples += len(b) - 1
        ev.slow_samples += 1
        return sum(b)

    counts = {"fast_samples": 7, "slow_samples": 0, "text_fallbacks": 1, "block_fallbacks": 2,
              "eager_blocks": 0, "missed_checks": 0}
    ev = SimpleNamespace(phases={"validate": 5.0}, evaluations=3, seconds=2.0, _block=block,
                         **counts)  # fmt: skip
    got = pool._block_in_worker(ev, [1, 2])
    assert got == (
        3,
        {"validate": 1.0},
        {"fast_samples": 1, "slow_samples": 1, "text_fallbacks": 0, "block_fallbacks": 0,
         "eager_blocks": 0, "missed_checks": 0},
    )  # fmt: skip
    assert (ev.phases, ev.evaluations, ev.seconds) == ({"validate": 5.0}, 3, 2.0)
    assert {k: getattr(ev, k) for k in counts} == counts


def test_workers_out_of_range_are_one_line_errors():
    import pytest

    from repm.app import SensitivityRequest, UncertaintyRequest
    from repm.errors import UserError

    for make in (UncertaintyRequest, SensitivityRequest):
        with pytest.raises(UserError, match=r"--workers: 0; expected an integer from 1 to 64"):
            make(scenario="india-baseline", workers=0)
        assert make(scenario="india-baseline", workers=2).workers == 2


def test_samples_on_a_dask_cluster_are_one_processs_numbers(monkeypatch):
    """`repm sensitivity/uncertainty --scheduler`: each Dask worker builds the Evaluator again
    from the merged scenario and evaluates whole blocks; the numbers are the same bit for bit,
    each block counted once. One cluster of two worker processes for both outputs, reached by its
    address (`--scheduler tcp://…`): 'local' starts a cluster per call (~10 s of two workers'
    start-up and imports each time; tests/test_risk.py runs the draws on one)."""
    import numpy as np
    import pytest

    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from repm.analyses.uncertainty import evaluate, philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.scenario import load_scenario

    monkeypatch.setattr(evaluate, "SETS_PER_CALL", 4)  # three blocks, the last short
    loaded = load_scenario("india-baseline", ["demand.growth_after_anchors=0.09"])  # --set kept
    ev = Evaluator(loaded, "magnet_imports", step="yearly", workers=1)
    n = 10
    values = ev.inputs.values(philox_uniforms(ev.inputs.drawn, 3, np.arange(n)), n)
    at = [{k: float(v[d]) for k, v in values.items()} for d in range(n)]
    here = ev.many(at)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        far = Evaluator(loaded, "magnet_imports", step="yearly", scheduler=address, workers=2)
        seen: list[int] = []
        there = far.many(at, progress=seen.append)
        assert np.array_equal(here, there)
        assert not np.all(here == here[0])
        assert sum(seen) == far.evaluations == n
        plain = Evaluator(load_scenario("india-baseline"), "magnet_imports", step="yearly",
                          workers=1)  # fmt: skip
        assert not np.array_equal(plain.many(at[:4]), here[:4])  # the --set reached the workers
        # unmet demand by shock draw (`repm uncertainty --draws`' pool): the workers' too
        kw = {"step": "yearly", "draws": 3, "per_draw": True}
        here = Evaluator(loaded, "expected_unmet", workers=1, **kw).many(at[:6])
        there = Evaluator(loaded, "expected_unmet", scheduler=address, workers=2, **kw).many(at[:6])
        assert here.shape == (6, 3, 12) and np.array_equal(here, there)


def test_a_bad_scheduler_is_a_one_line_error():
    from conftest import run_cli

    got = run_cli(["sensitivity", "unit_npv", "--samples", "2", "--scheduler", "nowhere"])
    assert got.returncode == 2
    assert "--scheduler: 'nowhere'; expected 'local' or a Dask scheduler address" in got.stderr


_FREEZE = textwrap.dedent(
    """
    import gc, json
    from repm.analyses.uncertainty import pool
    assert pool.can_fork()
    inside = pool.fork_map(lambda _: gc.get_freeze_count(), [0, 1], workers=2)
    after = gc.get_freeze_count()
    try:  # an error in a worker: the parent is unfrozen all the same
        pool.fork_map(lambda _: 1 / 0, [0, 1], workers=2)
    except ZeroDivisionError:
        pass
    after_error = gc.get_freeze_count()
    gc.freeze()  # a caller's own freeze: kept as it is, nothing more frozen for it
    mine = gc.get_freeze_count()
    extra = [[] for _ in range(100)]  # objects made after it (gc-tracked)
    pool.fork_map(lambda _: 0, [0, 1], workers=2)
    now = gc.get_freeze_count()  # frozen objects may be freed meanwhile, none added
    print(json.dumps({"inside": inside, "after": after, "after_error": after_error,
                      "kept": 0 < now <= mine}))
    """
)


def test_workers_leave_the_parents_objects_out_of_their_collections():
    """In a worker the objects forked from the parent are frozen (out of its garbage
    collections, which would copy every page they visit); the parent is unfrozen again after."""
    out = subprocess.run([sys.executable, "-c", _FREEZE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert all(n > 10_000 for n in got["inside"]) and got["after"] == 0, got
    assert got["after_error"] == 0 and got["kept"], got
