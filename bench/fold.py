"""Benchmark: the risk run's fold of chunks (`repm.analyses.risk.reduce.Reduction`), and the cut
of its CVaR candidates against NumPy's partition, in the same run.

    uv run python bench/fold.py [--draws 1000000] [--chunk 2000] [--short 0.05] [--repeat 3]
                                [--mixed] [--old path/to/old/reduce.py]

Synthetic chunks of a 10^6-draw run's shape (12 years × 7 sectors; a share `--short` of the
year × sector values unmet, the rest exactly 0, as in most draws). Prints the CPU seconds of
folding every chunk, and of one cut of the k worst candidates (84 rows × 3k) by
`largest_in_rows` and by `np.partition` (what the fold used before 02040e7), with their ratio and
a check that both keep the same values.

`--mixed`: each year × sector row short in its own share of draws (1, 0.3, 0.05, 0.01 or 0, as a
run's rows are: 2025's short in every draw, many sectors' in few) instead of `--short` for all.
`--old FILE`: another copy of `reduce.py` (e.g. from `git archive` of an older commit) whose
`Reduction` folds the same chunks, alternating with this tree's repeat by repeat; prints both
folds' CPU, their ratio and whether every figure of the two summaries is the same, bit for bit.
Then the end of a run: the CVaR and eight quantiles by year as NumPy's expressions on the draw ×
year totals, against `DrawSummary`'s from one shared year × draw copy, alternating.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from repm.analyses.risk.reduce import Block, Reduction, cvar, largest_in_rows, tail_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--short", type=float, default=0.05, help="share of values above 0")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mixed", action="store_true", help="rows short in different shares")
    ap.add_argument("--old", type=Path, default=None, help="another reduce.py to fold beside")
    a = ap.parse_args()
    Y, S, M = 12, 7, 15
    rng = np.random.default_rng(0)
    share = rng.choice([1.0, 0.3, 0.05, 0.01, 0.0], (1, Y, S)) if a.mixed else a.short

    def chunk(lo: int) -> Block:
        n = min(a.chunk, a.draws - lo)
        u = rng.exponential(5.0, (n, Y, S)) * (rng.random((n, Y, S)) < share)
        z = np.zeros
        return Block(
            np.arange(lo, lo + n), u, z((n, Y)), z((n, Y, M)), z((n, M)), z(Y), z((n, Y, S))
        )

    blocks = [chunk(lo) for lo in range(0, a.draws, a.chunk)]
    k = tail_size(0.95, a.draws)
    cand = np.stack(
        [b.unmet.reshape(len(b.unmet), -1).T for b in blocks[: -(-3 * k // a.chunk)]], 0
    )
    rows = np.ascontiguousarray(np.concatenate(list(cand), axis=1)[:, : 3 * k])
    old = None
    if a.old is not None:
        spec = importlib.util.spec_from_file_location("reduce_old", a.old)
        old = importlib.util.module_from_spec(spec)
        sys.modules["reduce_old"] = old  # (dataclasses look their module up)
        spec.loader.exec_module(old)
    fold, ours, theirs, fold_old, same_summary = [], [], [], [], True

    def folded(cls, times):
        red = cls(a.draws, Y, S, M, lambda t: t.sum(axis=2))
        t = time.process_time()
        for b in blocks:
            red.add(b)
        out = red.result()
        times.append(time.process_time() - t)
        return out

    for r in range(a.repeat):
        if old is not None and r % 2 == 0:
            theirs_summary = folded(old.Reduction, fold_old)
        summary = folded(Reduction, fold)
        if old is not None and r % 2 == 1:
            theirs_summary = folded(old.Reduction, fold_old)
        if old is not None:
            for f in ("total", "horizon", "holding", "released", "months_short",
                      "sector_p_short", "sector_mean", "sector_cvar", "max_residual",
                      "sector_months_short"):  # fmt: skip
                x, y = getattr(summary, f), getattr(theirs_summary, f)
                same_summary &= x.shape == y.shape and x.tobytes() == y.tobytes()
        t = time.process_time()
        mine = largest_in_rows(rows, k)
        ours.append(time.process_time() - t)
        t = time.process_time()
        part = np.partition(rows, rows.shape[1] - k, axis=1)[:, rows.shape[1] - k :]
        theirs.append(time.process_time() - t)
    same = np.array_equal(np.sort(mine, axis=1), np.sort(part, axis=1))
    # the end of a run: the year's order statistics (metrics' CVaR and three quantiles, the
    # risk command's five), NumPy's expressions on the draw × year totals against the shared
    # year × draw copy (`DrawSummary.by_year`, made afresh each time), alternating
    end_old, end_new, end_same = [], [], True
    qs3, qs5 = [0.05, 0.5, 0.95], [0.05, 0.25, 0.5, 0.75, 0.95]
    for r in range(2 * a.repeat):
        fresh = copy.copy(summary)
        fresh.__dict__.pop("by_year", None)
        t = time.process_time()
        if r % 2 == 0:
            before = [cvar(summary.total, 0.95)]
            before += [np.quantile(summary.total, q, axis=0, method="inverted_cdf") for q in qs3]
            before.append(np.quantile(summary.total, qs5, axis=0))
            end_old.append(time.process_time() - t)
        else:
            after = [fresh.cvar(0.95), *fresh.quantiles(qs3, "inverted_cdf"), fresh.quantiles(qs5)]
            end_new.append(time.process_time() - t)
    end_same = all(x.tobytes() == y.tobytes() for x, y in zip(before, after, strict=True))
    what = "rows short in 0-100 % of draws" if a.mixed else f"{a.short:.0%} of values above 0"
    print(f"{a.draws:,} draws in chunks of {a.chunk:,}, {what}; fastest of {a.repeat}, CPU s")
    print(f"fold of every chunk (Reduction)         {min(fold):8.3f}")
    if old is not None:
        print(f"                      {a.old}'s  {min(fold_old):8.3f}   "
              f"(old / new {min(fold_old) / min(fold):.2f}×; every figure the same: "
              f"{same_summary})")  # fmt: skip
    print(f"the end's CVaR and 8 quantiles by year: NumPy on draw × year {min(end_old):8.3f}, "
          f"from one year × draw copy {min(end_new):8.3f} ({min(end_old) / min(end_new):.2f}×; "
          f"the same: {end_same})")  # fmt: skip
    print(f"one cut, {rows.shape[0]} rows × {rows.shape[1]:,}: largest_in_rows {min(ours):8.3f}")
    print(
        f"                          np.partition  {min(theirs):8.3f}   "
        f"({min(theirs) / min(ours):.0f}× the time; same values: {same})"
    )


if __name__ == "__main__":
    main()
