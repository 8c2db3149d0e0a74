"""Benchmark: the risk run's fold of chunks (`repm.analyses.risk.reduce.Reduction`), and the cut
of its CVaR candidates against NumPy's partition, in the same run.

    uv run python bench/fold.py [--draws 1000000] [--chunk 2000] [--short 0.05] [--repeat 3]

Synthetic chunks of a 10^6-draw run's shape (12 years × 7 sectors; a share `--short` of the
year × sector values unmet, the rest exactly 0, as in most draws). Prints the CPU seconds of
folding every chunk, and of one cut of the k worst candidates (84 rows × 3k) by
`largest_in_rows` and by `np.partition` (what the fold used before 02040e7), with their ratio and
a check that both keep the same values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from repm.analyses.risk.reduce import Block, Reduction, largest_in_rows, tail_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--short", type=float, default=0.05, help="share of values above 0")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    Y, S, M = 12, 7, 15
    rng = np.random.default_rng(0)

    def chunk(lo: int) -> Block:
        n = min(a.chunk, a.draws - lo)
        u = rng.exponential(5.0, (n, Y, S)) * (rng.random((n, Y, S)) < a.short)
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
    fold, ours, theirs = [], [], []
    for _ in range(a.repeat):
        red = Reduction(a.draws, Y, S, M, lambda t: t.sum(axis=2))
        t = time.process_time()
        for b in blocks:
            red.add(b)
        red.result()
        fold.append(time.process_time() - t)
        t = time.process_time()
        mine = largest_in_rows(rows, k)
        ours.append(time.process_time() - t)
        t = time.process_time()
        part = np.partition(rows, rows.shape[1] - k, axis=1)[:, rows.shape[1] - k :]
        theirs.append(time.process_time() - t)
    same = np.array_equal(np.sort(mine, axis=1), np.sort(part, axis=1))
    print(f"{a.draws:,} draws in chunks of {a.chunk:,}, {a.short:.0%} of values above 0; "
          f"fastest of {a.repeat}, CPU s")  # fmt: skip
    print(f"fold of every chunk (Reduction)         {min(fold):8.3f}")
    print(f"one cut, {rows.shape[0]} rows × {rows.shape[1]:,}: largest_in_rows {min(ours):8.3f}")
    print(
        f"                          np.partition  {min(theirs):8.3f}   "
        f"({min(theirs) / min(ours):.0f}× the time; same values: {same})"
    )


if __name__ == "__main__":
    main()
