"""Time the batched composition, recipe, yields, capacity, trade, prices and routes
(repm.chain.batched) against the per-sample modules (issue 14 part 6).

    uv run python bench/sample_axis/supply_modules.py [--scenario india-baseline] [--sizes 64 256] [--rounds 7]

Samples drawn as `repm uncertainty` draws them (tests/conftest.py's drawn_scenarios), the block
gathered once (`SampleBlock.gather`, not timed: the drawn-value path hands the arrays over); each
module's inputs from other modules (gc, bare, emb, ci_on, oxide per kg) computed beforehand, per
sample for the loop and stacked for the block. The loop calls the per-sample module on each
validated scenario (composition with its `chemistry_of`, as compile_chain does); the batched
call is one per block (routes: its arrays, and `+wrap` with each sample's labelled arrays made by
`routes_sample`). Loop and block alternate, --rounds times; medians, µs per sample."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))


def setup(name: str, n: int):
    from conftest import drawn_scenarios

    from repm.chain.compile import chemistry_of
    from repm.chain.composition import composition, recipe
    from repm.chain.demand import demand
    from repm.chain.rules import fresh_alloy_per_magnet
    from repm.chain.supply import yields
    from repm.scenario.samples import SampleBlock
    from repm.scenario.schema import FEEDS

    scs = drawn_scenarios(name, n)
    model, years = scs[0].definition, np.array(scs[0].horizon.years)
    one = []
    for s in scs:
        cp = composition(s, model, chemistry_of(s))
        dm = demand(s, model, years, cp["gc"])
        y = yields(s)
        rc = recipe(s, model, cp["gc"], cp["ei"], cp["mi"], cp["f_ox"])
        opk = rc[FEEDS.index("oxide")] * fresh_alloy_per_magnet(
            y["alloy_to_magnet"], y["scrap_return"]
        )
        one.append(dict(cp=cp, dm=dm, opk=opk))
    stack = {k: np.stack([o["dm"][k] for o in one]) for k in ("bare", "emb", "ci_on")}
    stack["gc"] = np.stack([o["cp"]["gc"] for o in one])
    stack["opk"] = np.stack([o["opk"] for o in one])
    stack["f_ox"] = {p: np.array([o["cp"]["f_ox"][p] for o in one]) for p in model.separated}
    return scs, model, years, one, stack, SampleBlock.gather(scs)


def modules(scs, model, years, one, st, b):
    """name → (loop, block): callables doing each module for every sample / the block."""
    from repm.chain.batched.composition import composition_block, recipe_block
    from repm.chain.batched.prices import prices_block
    from repm.chain.batched.routes import routes_block, routes_sample
    from repm.chain.batched.supply import capacity_block, trade_block, yields_block
    from repm.chain.compile import chemistry_of
    from repm.chain.composition import composition, recipe
    from repm.chain.prices import prices
    from repm.chain.routes import routes
    from repm.chain.supply import capacity, trade, yields

    cp0 = one[0]["cp"]
    ei, mi, base = cp0["ei"], cp0["mi"], one[0]["dm"]["base"]
    origins = tuple(scs[0].trade.origins)
    pairs = list(zip(scs, one, strict=True))

    def routes_wrapped():
        res = routes_block(b, model, years, st["ci_on"], origins)
        return [routes_sample(res, i) for i in range(b.n)]

    return {
        "composition": (lambda: [composition(s, model, chemistry_of(s)) for s in scs],
                        lambda: composition_block(b, model)),
        "recipe": (lambda: [recipe(s, model, o["cp"]["gc"], ei, mi, o["cp"]["f_ox"]) for s, o in pairs],
                   lambda: recipe_block(b, model, st["gc"], ei, mi, st["f_ox"])),
        "yields": (lambda: [yields(s) for s in scs], lambda: yields_block(b)),
        "capacity": (lambda: [capacity(s, years) for s in scs], lambda: capacity_block(b, years)),
        "trade": (lambda: [trade(s, model, years, base, o["dm"]["bare"], o["dm"]["emb"],
                                 o["cp"]["gc"], ei, mi) for s, o in pairs],
                  lambda: trade_block(b, model, years, base, st["bare"], st["emb"], st["gc"], ei, mi)),
        "prices": (lambda: [prices(s, model, years, o["opk"]) for s, o in pairs],
                   lambda: prices_block(b, model, years, st["opk"])),
        "routes": (lambda: [routes(s, model, years, o["dm"]["ci_on"], s.supply.yields, origins)
                            for s, o in pairs],
                   lambda: routes_block(b, model, years, st["ci_on"], origins)),
        "routes+wrap": (None, routes_wrapped),
    }  # fmt: skip


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="india-baseline")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    for n in args.sizes:
        mods = modules(*setup(args.scenario, n))
        times = {k: ([], []) for k in mods}
        for _ in range(args.rounds):
            for k, (loop, block) in mods.items():
                if loop is not None:
                    times[k][0].append(timed(loop))
                times[k][1].append(timed(block))

        def us(xs, n=n):
            return statistics.median(xs) / n * 1e6 if xs else float("nan")

        print(f"{args.scenario}, S = {n}, µs per sample (median of {args.rounds}), "
              f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
        print(f"  {'module':12s} {'loop':>8s} {'batched':>8s} {'ratio':>7s}")
        tl = tb = 0.0
        for k, (lp, bl) in times.items():
            a, c = us(lp), us(bl)
            if k != "routes+wrap":
                tl, tb = tl + a, tb + c
            print(f"  {k:12s} {a:8.1f} {c:8.1f} {a / c:7.1f}")
        print(f"  {'all seven':12s} {tl:8.1f} {tb:8.1f} {tl / tb:7.1f}")


if __name__ == "__main__":
    main()
