"""How often W draws in lockstep (8 unless --width) would disagree on the loop's branches: from
the flags `record.py` wrote per (draw, step), draws Wk … Wk + W − 1 at each step after the
shared years.

    uv run python bench/lockstep/divergence.py [--rec /work/scratch/lockstep_rec.npz]

For each flag: the share of draw-steps where it holds, and of W-draw group-steps where all lanes
agree it does not (the common path only), all agree it does, and they are mixed (a lockstep
stage must run both sides, or fall back lane by lane)."""

import argparse

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rec", default="/work/scratch/lockstep_rec.npz")
    ap.add_argument("--width", type=int, default=8, help="draws a group (lanes)")
    args = ap.parse_args(argv)
    W = args.width
    r = np.load(args.rec)
    D, T = r["restricted"].shape
    D8 = D // W * W
    t0 = int(np.argmax((r["restricted"][1:] >= 0).all(axis=0)))  # first step every draw runs
    flags = {
        "restricted step (availability < 1 somewhere)": r["restricted"],
        "shortage (_allocate: not everyone served)": 1 - r["full"],
        "feed not within reach (_feed_ratios)": 1 - r["enough"],
        "grade switch this step": r["switched"],
        "buyers' stock touched in _magnets (any grade)": r["mag_touch"].max(axis=2),
        "refill: spare-left path (any material)": r["r_spare"].max(axis=2),
        "refill: a material ordered by some lanes only": None,
    }
    print(f"{D8} draws, steps {t0} … {T - 1} ({(D8 // W) * (T - t0)} group-steps of {W} draws)")
    print(f"{'flag':50s} {'draw-steps':>10s} {'groups: none':>13s} {'all':>6s} {'mixed':>6s}")
    for name, f in flags.items():
        if f is None:
            w = r["r_want"][:D8, t0:]  # D × T × M
            inl = r["r_in"][:D8, t0:]
            g = w.reshape(D8 // W, W, T - t0, -1)
            mixed = (g.min(axis=1) != g.max(axis=1)) & (inl.reshape(D8 // W, W, T - t0, -1).max(axis=1) == 1)  # fmt: skip
            print(f"{name:50s} {'':>10s} {'':>13s} {'':>6s} {np.mean(mixed.any(axis=2)):6.1%}")
            continue
        f = f[:D8, t0:].astype(np.int64)
        g = f.reshape(D8 // W, W, T - t0)
        any_ = g.max(axis=1)
        all_ = g.min(axis=1)
        print(f"{name:50s} {np.mean(f):10.1%} {np.mean(any_ == 0):13.1%} "
              f"{np.mean(all_ == 1):6.1%} {np.mean((any_ == 1) & (all_ == 0)):6.1%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
