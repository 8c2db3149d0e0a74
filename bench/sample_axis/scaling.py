"""Fixed cost per block and cost per sample of the batched demand and basket
(`repm.chain.batched`), timed alone (warm caches, no loop in between): median ms per block at
S = 1 … 1024, and the per-sample cost.

    uv run python bench/sample_axis/scaling.py [--sizes 1 16 64 256 1024]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from run import inputs, samples

    from repm.chain import compile_chain
    from repm.chain.batched.basket import basket_block
    from repm.chain.batched.demand import demand_block
    from repm.chain.compile import chemistry_of
    from repm.scenario.samples import SampleBlock

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256, 1024])
    sizes = ap.parse_args().sizes
    scs = samples("india-baseline", max(sizes))
    model, years, gcs = inputs(scs)
    nd = tuple(model.separated["ndpr"].elements)
    chems = [chemistry_of(s) for s in scs]
    ret = np.stack([compile_chain(s).retention.values for s in scs])
    g3 = np.stack(gcs)
    print(
        f"load {os.getloadavg()[0]:.2f}; median of 30 calls (S=1024: 10), ms per block, µs per sample"
    )
    for S in sizes:
        b = SampleBlock.gather(scs[:S])
        row = []
        for name, fn in (
            ("demand", lambda: demand_block(b, model, years, g3[:S])),  # noqa: B023
            ("basket", lambda: basket_block(b, model, chems[:S], years, nd, ret[:S])),  # noqa: B023
        ):
            fn()
            ts = []
            for _ in range(30 if S < 1024 else 10):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            ms = statistics.median(ts) * 1e3
            row.append(f"{name} {ms:6.2f} ms ({ms / S * 1e3:7.1f} µs/sample)")
        print(f"  S={S:4d}: " + " | ".join(row))


if __name__ == "__main__":
    main()
