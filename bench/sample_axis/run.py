"""Check the batched demand, history and basket (`repm.chain.batched`) against the per-sample
modules bit for bit on drawn samples, time both, and print the numpy rules they lean on
(README.md).

    uv run python bench/sample_axis/run.py [--scenario india-baseline ...] [--sizes 64 256] [--rounds 7]

Samples are drawn as `repm uncertainty` draws them (Pooled over the one scenario, Philox, seed
0), validated by `Evaluator.scenario_at`; gc (grade × element) comes from each sample's own
`composition()`, retention from its own `compile_chain`. The block is `SampleBlock.gather` of
the validated scenarios. Every output of every sample is compared (keys, dtype, shape, bits;
Python numbers by type and value) on the largest size; then, for each S in --sizes, the loop
(`demand`, `history`, `basket` on each validated scenario) and the block (`demand_block`,
`history_block`, `basket_block`, then `slicing.sample` of each sample as `compile_chain(s,
parts=...)` takes it) are timed in alternation, --rounds times, medians in µs per sample with
their ratio and the load average. The errors and the branches drawn samples never take (the
bare channel's water-filling, the loose mix's passes, each bound of the basket) are checked in
tests/test_batched_demand.py and test_batched_basket.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def samples(name: str, n: int, seed: int = 0):
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario

    ev = Evaluator(load_scenario(name), "magnet_imports", step="yearly", workers=1)
    pooled = Pooled([ev], Alternatives.of(name, ()))
    _, _, at = pooled.draw(seed, n)
    return [ev.scenario_at(dict(a)) for a in at]


def inputs(scs):
    from repm.chain.compile import chemistry_of
    from repm.chain.composition import composition

    model = scs[0].definition
    years = np.array(scs[0].horizon.years)
    gcs = [composition(s, model, chemistry_of(s))["gc"] for s in scs]
    return model, years, gcs


def compare(got, want, where: str = "") -> tuple[int, list[str]]:
    """(outputs compared, the ones not bit for bit): the same keys, arrays of the same dtype and
    shape with the same bits (signed zeros too, NaN where NaN), numbers of the same type and
    value, nested dicts alike."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return 1, [f"{where} (keys)"]
        n, bad = 0, []
        for k, v in want.items():
            m, b = compare(got[k], v, f"{where}.{k}" if where else str(k))
            n, bad = n + m, bad + b
        return n, bad
    if isinstance(want, np.ndarray):
        ok = isinstance(got, np.ndarray) and (got.dtype, got.shape) == (want.dtype, want.shape)
        if ok and want.dtype.kind == "f":
            nan = np.isnan(want)
            ok = np.array_equal(nan, np.isnan(got)) and np.array_equal(
                got[~nan].view(np.uint64), want[~nan].view(np.uint64)
            )
        elif ok:
            ok = np.array_equal(got, want)
    else:
        ok = type(got) is type(want) and got == want
    return 1, [] if ok else [where]


def check(name, scs, model, years, gcs, chems, ret) -> None:
    """Every output of every sample: the block's slice against the per-sample module's result."""
    from repm.chain.basket import basket
    from repm.chain.batched import basket as bk
    from repm.chain.batched import demand as bd
    from repm.chain.batched.slicing import sample
    from repm.chain.demand import demand, history
    from repm.scenario.samples import SampleBlock

    nd = tuple(model.separated["ndpr"].elements)
    block = SampleBlock.gather(scs)
    dm = bd.demand_block(block, model, years, np.stack(gcs))
    hs = bd.history_block(block, years, dm["dem"], dm["grade_split"])
    bb = bk.basket_block(block, model, chems, years, nd, ret)
    n, bad = 0, []
    for i, s in enumerate(scs):
        ref = demand(s, model, years, gcs[i])
        for what, got, want in (
            ("demand", sample(dm, i, bd.SHARED, bd.SCALARS), ref),
            ("history", sample(hs, i, bd.HISTORY_SHARED),
             history(s, years, ref["dem"], ref["grade_split"])),
            ("basket", sample(bb, i, bk.SHARED, bk.SCALARS),
             basket(s, model, chems[i], years, nd, ret[i])),
        ):  # fmt: skip
            m, b = compare(got, want, f"sample {i} {what}")
            n, bad = n + m, bad + b
    moving = [p for p, v in block.values.items() if np.ptp(v) > 0]
    print(f"{name}: {len(scs)} samples, {len(moving)} numbers move "
          f"({sum(p[0] == 'demand' for p in moving)} under demand); demand+history+basket: "
          f"{n} outputs compared, {len(bad)} not bit for bit {bad[:5]} "
          f"[load {os.getloadavg()[0]:.2f}]")  # fmt: skip


def pow_rules() -> None:
    """Where np.power and numba's pow part from Python's float ** (C pow), on this machine."""
    from repm.chain.batched.exact import libm_pow

    rng = np.random.default_rng(1)
    a = 1 + rng.uniform(-0.3, 0.5, 1_000_000)
    b = rng.integers(-12, 40, a.size).astype(float)
    ref = np.array([x**y for x, y in zip(a.tolist(), b.tolist(), strict=True)])
    print(f"  pow, 10^6 (1+g, n) pairs: np.power differs from Python's ** in "
          f"{np.count_nonzero(np.power(a, b) != ref)}, numba (libm) pow in "
          f"{np.count_nonzero(libm_pow(a, b) != ref)}; np.float64 scalar ** in "
          f"{sum(float(np.float64(x) ** np.float64(y)) != r for x, y, r in zip(a[:20000], b[:20000], ref[:20000], strict=True))}"
          " of the first 20,000")  # fmt: skip
    sq = a[:100000]
    print(
        f"  x ** 2 as array ** 2 (numpy: x*x) vs Python's pow(x, 2.0): "
        f"{np.count_nonzero(sq**2 != np.array([x**2.0 for x in sq.tolist()]))} of 10^5 differ"
    )


def dot_rules(scs, model, years, gcs) -> None:
    """raw @ base_dem (BLAS ddot per sample) vs element-wise products summed, batched."""
    import ctypes
    import ctypes.util

    from repm.chain.batched.exact import rowdot
    from repm.chain.demand import demand
    from repm.scenario.samples import SampleBlock

    d = scs[0].demand
    if d.channels.bare_share is None:
        return
    block = SampleBlock.gather(scs)
    raw = np.stack([block.get(("demand", "channels", "bare_share", n)) for n in d.sectors], axis=1)
    b = years.tolist().index(d.base_year)
    bd = np.stack([demand(s, model, years, g)["dem"][b] for s, g in zip(scs, gcs, strict=True)])
    ref = np.array([float(r @ x) for r, x in zip(raw, bd, strict=True)])
    seq = raw[:, 0] * bd[:, 0]
    for k in range(1, raw.shape[1]):
        seq = seq + raw[:, k] * bd[:, k]
    cfma = ctypes.CDLL(ctypes.util.find_library("m")).fma
    cfma.restype, cfma.argtypes = ctypes.c_double, [ctypes.c_double] * 3
    fma = np.zeros(len(ref))  # acc = fma(a_k, b_k, acc), k in order, from 0
    for k in range(raw.shape[1]):
        fma = np.array([cfma(r, x, acc) for r, x, acc in
                        zip(raw[:, k].tolist(), bd[:, k].tolist(), fma.tolist(), strict=True)])  # fmt: skip
    print(f"  {len(ref)} dot products of {raw.shape[1]}: (a*b).sum(-1) differs in "
          f"{np.count_nonzero((raw * bd).sum(-1) != ref)}, einsum in "
          f"{np.count_nonzero(np.einsum('sk,sk->s', raw, bd) != ref)}, a sequential sum of products in "
          f"{np.count_nonzero(seq != ref)}, a sequential fma chain in {np.count_nonzero(fma != ref)}, "
          f"rowdot (matmul (S,1,k)@(S,k,1)) in {np.count_nonzero(rowdot(raw, bd) != ref)}")  # fmt: skip


def timing(scs, model, years, gcs, chems, ret, rounds: int) -> None:
    """The loop and the block, alternating, `rounds` times: medians in µs per sample."""
    from repm.chain.basket import basket
    from repm.chain.batched import basket as bk
    from repm.chain.batched import demand as bd
    from repm.chain.batched.slicing import sample
    from repm.chain.demand import demand, history
    from repm.scenario.samples import SampleBlock

    S, g3 = len(scs), np.stack(gcs)
    nd = tuple(model.separated["ndpr"].elements)
    b = SampleBlock.gather(scs)
    loop = {k: [] for k in ("demand", "history", "basket")}
    batch = {k: [] for k in (*loop, "slices")}
    for _ in range(rounds):  # alternating A/B
        t = dict.fromkeys(loop, 0.0)
        for s, gi, ci, ri in zip(scs, g3, chems, ret, strict=True):
            t0 = time.perf_counter()
            r = demand(s, model, years, gi)
            t1 = time.perf_counter()
            history(s, years, r["dem"], r["grade_split"])
            t2 = time.perf_counter()
            basket(s, model, ci, years, nd, ri)
            t3 = time.perf_counter()
            t["demand"] += t1 - t0
            t["history"] += t2 - t1
            t["basket"] += t3 - t2
        for k, v in t.items():
            loop[k].append(v)
        t0 = time.perf_counter()
        d = bd.demand_block(b, model, years, g3)
        t1 = time.perf_counter()
        h = bd.history_block(b, years, d["dem"], d["grade_split"])
        t2 = time.perf_counter()
        k_ = bk.basket_block(b, model, chems, years, nd, ret)
        t3 = time.perf_counter()
        for i in range(S):  # what compile_chain(s, parts=...) takes, each sample
            sample(d, i, bd.SHARED, bd.SCALARS)
            sample(h, i, bd.HISTORY_SHARED)
            sample(k_, i, bk.SHARED, bk.SCALARS)
        t4 = time.perf_counter()
        for key, v in zip(batch, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            batch[key].append(v)
    us = lambda xs: statistics.median(xs) / S * 1e6  # noqa: E731  µs per sample
    row = " | ".join(f"{k} {us(loop[k]):6.1f} → {us(batch[k]):5.1f} ({us(loop[k]) / us(batch[k]):4.1f}x)"
                     for k in loop)  # fmt: skip
    print(f"  S={S:4d} µs/sample, loop → batched: {row} | slicing {us(batch['slices']):4.1f} "
          f"[load {os.getloadavg()[0]:.2f}]")  # fmt: skip


def main() -> None:
    from repm.chain import compile_chain
    from repm.chain.compile import chemistry_of

    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", nargs="+", default=["india-baseline"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-time", action="store_true")
    # the only mode now; accepted so that `run.py --src` (docs/uncertainty.md) still runs
    ap.add_argument("--src", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    for name in args.scenario:
        scs = samples(name, max(args.sizes))
        model, years, gcs = inputs(scs)
        chems = [chemistry_of(s) for s in scs]
        ret = np.stack([compile_chain(s).retention.values for s in scs])
        check(name, scs, model, years, gcs, chems, ret)
        if name == args.scenario[0]:
            pow_rules()
            dot_rules(scs[:64], model, years, gcs[:64])
        if not args.no_time:
            for S in args.sizes:
                timing(scs[:S], model, years, gcs[:S], chems[:S], ret[:S], args.rounds)


if __name__ == "__main__":
    main()
