"""Check `demand_batched` against `demand()` bit for bit, and time both (README.md).

    uv run python bench/sample_axis/run.py [--samples 64] [--rounds 5] [--scenario india-baseline ...]
    uv run python bench/sample_axis/run.py --src [--scenario ...] [--sizes 64 256]  # src/ versions

Samples are drawn as `repm uncertainty` draws them (Pooled over the one scenario, Philox, seed
0), validated by `Evaluator.scenario_at`; gc (grade × element) comes from each sample's own
`composition()`. Then, for each S in --sizes: the loop (`demand()` on each validated scenario)
and the batched version (gather the drawn numbers into arrays, then `demand_batched`) timed in
alternation, --rounds times, medians per sample printed with their ratio and the load average.
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


def check(scs, model, years, gcs) -> tuple[int, list[str]]:
    """(outputs compared, mismatches): every output of every sample, np.array_equal."""
    from demand_batched import demand_batched, gather

    from repm.chain.demand import demand

    loop = [demand(s, model, years, g) for s, g in zip(scs, gcs, strict=True)]
    got = demand_batched(gather(scs), model, years, np.stack(gcs))
    bad, n = [], 0
    for i, ref in enumerate(loop):
        for k, v in ref.items():
            n += 1
            if k in ("sectors", "base"):
                ok = got[k] == v
            else:
                w = got[k][i]
                ok = np.shape(w) == np.shape(v) and np.array_equal(w, v)
                if ok and np.ndim(v) and w.dtype != np.asarray(v).dtype:
                    ok = False
            if not ok:
                bad.append(f"sample {i} {k}")
    return n, bad


def pow_rules(scs) -> None:
    """Where np.power and numba's pow part from Python's float ** (C pow), on this machine."""
    from demand_batched import libm_pow

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
    from demand_batched import gather

    from repm.chain.demand import demand

    B = gather(scs)
    d = scs[0].demand
    sectors = tuple(d.sectors)
    if d.channels.bare_share is None:
        return
    raw = np.stack([B.f[("demand", "channels", "bare_share", n)] for n in sectors], axis=1)
    base = d.base_year
    bd = np.stack([demand(s, model, years, g)["dem"][years.tolist().index(base)]
                   for s, g in zip(scs, gcs, strict=True)])  # fmt: skip
    ref = np.array([float(r @ x) for r, x in zip(raw, bd, strict=True)])
    seq = raw[:, 0] * bd[:, 0]
    for k in range(1, raw.shape[1]):
        seq = seq + raw[:, k] * bd[:, k]
    import ctypes
    import ctypes.util

    cfma = ctypes.CDLL(ctypes.util.find_library("m")).fma
    cfma.restype, cfma.argtypes = ctypes.c_double, [ctypes.c_double] * 3
    fma = np.zeros(len(ref))  # acc = fma(a_k, b_k, acc), k in order, from 0
    for k in range(raw.shape[1]):
        fma = np.array(
            [
                cfma(r, x, acc)
                for r, x, acc in zip(
                    raw[:, k].tolist(), bd[:, k].tolist(), fma.tolist(), strict=True
                )
            ]
        )
    print(f"  {len(ref)} dot products of {raw.shape[1]}: (a*b).sum(-1) differs in "
          f"{np.count_nonzero((raw * bd).sum(-1) != ref)}, einsum in "
          f"{np.count_nonzero(np.einsum('sk,sk->s', raw, bd) != ref)}, a sequential sum of products in "
          f"{np.count_nonzero(seq != ref)}, a sequential fma chain in {np.count_nonzero(fma != ref)}, matmul (S,1,k)@(S,k,1) in "
          f"{np.count_nonzero(np.matmul(raw[:, None, :], bd[:, :, None])[:, 0, 0] != ref)}")  # fmt: skip


def errors(scs, model, years, gcs) -> None:
    """Samples whose demand() raises: the block raises the first one's error, as the loop does."""
    from demand_batched import demand_batched, gather

    from repm.chain.demand import demand
    from repm.errors import UserError

    def with_channels(s, **kw):
        ch = s.demand.channels.model_copy(update=kw)
        return s.model_copy(update={"demand": s.demand.model_copy(update={"channels": ch})})

    scs = list(scs)
    scs[5] = with_channels(scs[5], bare_base=1e9)  # more than the base year's demand
    if scs[2].demand.channels.bare_share:  # shares giving no bare magnets (a later check)
        scs[2] = with_channels(
            scs[2], bare_share={k: 0.0 for k in scs[2].demand.channels.bare_share}
        )
    out = []
    for run in (lambda: [demand(s, model, years, g) for s, g in zip(scs, gcs, strict=True)],
                lambda: demand_batched(gather(scs), model, years, np.stack(gcs))):  # fmt: skip
        try:
            run()
            out.append(None)
        except UserError as exc:
            out.append((str(exc), exc.where))
    print(f"  errors: loop raises {out[0]}; batched the same: {out[0] == out[1]}")


def stress(scs, model, years, gcs) -> None:
    """The per-sample branches the drawn baseline never takes (water-filling the bare channel,
    the loose mix's second pass): bare_base raised to 40–99 % of each sample's base-year total."""
    import demand_batched

    from repm.chain.demand import _total_path

    out = []
    for i, s in enumerate(scs):
        d = s.demand
        tot = _total_path(d.anchors, d.growth_after_anchors, [d.base_year])[0]
        ch = d.channels.model_copy(update={"bare_base": float(tot * (0.4 + 0.59 * i / len(scs)))})
        out.append(s.model_copy(update={"demand": d.model_copy(update={"channels": ch})}))
    demand_batched.stats.clear()
    try:
        n, bad = check(out, model, years, gcs)
        print(f"  stressed bare_base: {n} outputs compared, {len(bad)} not bit for bit {bad[:4]}; "
              f"branches {demand_batched.stats}")  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        print(f"  stressed bare_base: {type(exc).__name__}: {exc}")


def timing(scs, model, years, gcs, rounds: int) -> None:
    from demand_batched import demand_batched, gather

    from repm.chain.demand import demand

    S = len(scs)
    gc3 = np.stack(gcs)
    t_loop, t_gather, t_batch = [], [], []
    for _ in range(rounds):  # alternating A/B
        t0 = time.perf_counter()
        for s, g in zip(scs, gcs, strict=True):
            demand(s, model, years, g)
        t_loop.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        B = gather(scs)
        t1 = time.perf_counter()
        demand_batched(B, model, years, gc3)
        t2 = time.perf_counter()
        t_gather.append(t1 - t0)
        t_batch.append(t2 - t1)
    m = lambda xs: statistics.median(xs) / S * 1e6  # noqa: E731  µs per sample
    print(f"  S={S:4d}: loop {m(t_loop):7.1f} µs/sample | batched {m(t_batch):6.1f} µs/sample "
          f"(+ gather from Scenarios {m(t_gather):5.1f}) | loop/batched {m(t_loop) / m(t_batch):5.1f}x, "
          f"loop/(batched+gather) {m(t_loop) / (m(t_batch) + m(t_gather)):4.1f}x  "
          f"[load {os.getloadavg()[0]:.2f}]")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", nargs="+", default=["india-baseline"])
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-time", action="store_true")
    args = ap.parse_args()
    for name in args.scenario:
        scs = samples(name, max([args.samples, *([] if args.no_time else args.sizes)]))
        model, years, gcs = inputs(scs)
        import demand_batched

        demand_batched.stats.clear()
        n, bad = check(scs[: args.samples], model, years, gcs[: args.samples])
        print(f"  per-sample branches taken in the check: {demand_batched.stats}")
        moving = sum(1 for v in __import__("demand_batched").gather(scs[:args.samples]).f.values()
                     if np.ptp(v) > 0)  # fmt: skip
        print(
            f"{name}: {args.samples} samples, {moving} drawn numbers the demand reads move; "
            f"{n} outputs compared, {len(bad)} not bit for bit {bad[:5]}"
        )
        if name == args.scenario[0]:
            pow_rules(scs)
            dot_rules(scs[: args.samples], model, years, gcs[: args.samples])
            errors(scs[: args.samples], model, years, gcs[: args.samples])
            stress(scs[: args.samples], model, years, gcs[: args.samples])
        if not args.no_time:
            for S in args.sizes:
                timing(scs[:S], model, years, gcs[:S], args.rounds)


if __name__ == "__main__" and "--basket" not in sys.argv and "--src" not in sys.argv:
    main()


def basket_check_and_time(scs, sizes, rounds: int, n_check: int) -> None:
    """basket_batched: bit for bit against basket() on each sample, then timed as demand."""
    from basket_batched import basket_batched, gather_basket

    from repm.chain import compile_chain
    from repm.chain.basket import basket
    from repm.chain.compile import chemistry_of

    model = scs[0].definition
    years = np.array(scs[0].horizon.years)
    nd = tuple(model.separated["ndpr"].elements)
    chems = [chemistry_of(s) for s in scs]
    ret = [compile_chain(s).retention.values for s in scs]

    def flat(d, i=None):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update({f"{k}.{kk}": vv for kk, vv in flat(v, i).items()})
            else:
                out[k] = v if i is None or k == "names" else v[i]
        return out

    m = n_check
    loop = [basket(s, model, c, years, nd, r) for s, c, r in zip(scs[:m], chems, ret, strict=False)]
    B, per = gather_basket(scs[:m], model, chems[:m])
    got = basket_batched(B, model, per, years, nd, np.stack(ret[:m]))
    bad, n = [], 0
    for i, ref in enumerate(loop):
        g = flat(got, i)
        for k, v in flat(ref).items():
            n += 1
            if not (np.shape(g[k]) == np.shape(v) and np.array_equal(g[k], v)):
                bad.append(f"sample {i} {k}")
    print(f"basket: {m} samples, {n} outputs compared, {len(bad)} not bit for bit {bad[:5]}")
    for S in sizes:
        sc, ch, rt = scs[:S], chems[:S], np.stack(ret[:S])
        tl, tg, tb = [], [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for s, c, r in zip(sc, ch, rt, strict=True):
                basket(s, model, c, years, nd, r)
            t1 = time.perf_counter()
            B, per = gather_basket(sc, model, ch)
            t2 = time.perf_counter()
            basket_batched(B, model, per, years, nd, rt)
            t3 = time.perf_counter()
            tl.append(t1 - t0)
            tg.append(t2 - t1)
            tb.append(t3 - t2)
        us = lambda xs, S=S: statistics.median(xs) / S * 1e6  # noqa: E731
        print(f"  S={S:4d}: loop {us(tl):7.1f} µs/sample | batched {us(tb):6.1f} µs/sample "
              f"(+ gather {us(tg):5.1f}) | loop/batched {us(tl) / us(tb):5.1f}x  "
              f"[load {os.getloadavg()[0]:.2f}]")  # fmt: skip


if __name__ == "__main__" and "--basket" in sys.argv:
    sizes = [64, 256, 1024]
    scs = samples("india-baseline", max(sizes))
    basket_check_and_time(scs, sizes, 7, 64)


def src_check_and_time(name: str, sizes, rounds: int) -> None:
    """repm.chain.batched (demand_block, history_block, basket_block) against the loop over the
    per-sample modules: bit for bit on the largest block, then µs per sample, alternating."""
    from repm.chain import compile_chain
    from repm.chain.basket import basket
    from repm.chain.batched import basket as bk
    from repm.chain.batched import demand as bd
    from repm.chain.batched.slicing import sample
    from repm.chain.compile import chemistry_of
    from repm.chain.demand import demand, history
    from repm.scenario.samples import SampleBlock

    scs = samples(name, max(sizes))
    model, years, gcs = inputs(scs)
    g3 = np.stack(gcs)
    nd = tuple(model.separated["ndpr"].elements)
    chems = [chemistry_of(s) for s in scs]
    ret = np.stack([compile_chain(s).retention.values for s in scs])
    block = SampleBlock.gather(scs)
    dm = bd.demand_block(block, model, years, g3)
    hs = bd.history_block(block, years, dm["dem"], dm["grade_split"])
    bb = bk.basket_block(block, model, chems, years, nd, ret)
    bad = 0
    for i, s in enumerate(scs):  # every array of every sample, as the loop gives it
        ref = demand(s, model, years, gcs[i])
        pairs = [(sample(dm, i, bd.SHARED, bd.SCALARS), ref),
                 (sample(hs, i, bd.HISTORY_SHARED), history(s, years, ref["dem"], ref["grade_split"])),
                 (sample(bb, i, bk.SHARED, bk.SCALARS), basket(s, model, chems[i], years, nd, ret[i]))]  # fmt: skip
        for got, want in pairs:
            for k, v in want.items():
                w = got[k]
                for a, b in zip(*(list(x.values()) if isinstance(x, dict) else [x] for x in (w, v)), strict=True):  # fmt: skip
                    bad += not (np.shape(a) == np.shape(b) and np.array_equal(a, b))
    print(f"{name}: {len(scs)} samples, demand+history+basket from src: {bad} outputs not bit for bit "
          f"[load {os.getloadavg()[0]:.2f}]")  # fmt: skip
    for S in sizes:
        sc, g, ch, rt = scs[:S], g3[:S], chems[:S], ret[:S]
        b = SampleBlock.gather(sc)
        loop = {k: [] for k in ("demand", "history", "basket")}
        batch = {k: [] for k in (*loop, "slices")}
        for _ in range(rounds):  # alternating A/B
            t = {k: 0.0 for k in loop}
            for s, gi, ci, ri in zip(sc, g, ch, rt, strict=True):
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
            d = bd.demand_block(b, model, years, g)
            t1 = time.perf_counter()
            h = bd.history_block(b, years, d["dem"], d["grade_split"])
            t2 = time.perf_counter()
            k_ = bk.basket_block(b, model, ch, years, nd, rt)
            t3 = time.perf_counter()
            for i in range(S):  # what compile_chain(s, parts=...) takes, each sample
                sample(d, i, bd.SHARED, bd.SCALARS)
                sample(h, i, bd.HISTORY_SHARED)
                sample(k_, i, bk.SHARED, bk.SCALARS)
            t4 = time.perf_counter()
            for key, v in zip(batch, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                batch[key].append(v)
        us = lambda xs, S=S: statistics.median(xs) / S * 1e6  # noqa: E731  µs per sample
        row = " | ".join(f"{k} {us(loop[k]):6.1f} → {us(batch[k]):5.1f} ({us(loop[k]) / us(batch[k]):4.1f}x)"
                         for k in loop)  # fmt: skip
        print(f"  S={S:4d} µs/sample, loop → batched: {row} | slicing {us(batch['slices']):4.1f} "
              f"[load {os.getloadavg()[0]:.2f}]")  # fmt: skip


if __name__ == "__main__" and "--src" in sys.argv:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", action="store_true")
    ap.add_argument("--scenario", nargs="+", default=["india-baseline"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    for n in a.scenario:
        src_check_and_time(n, a.sizes, a.rounds)
