"""Lockstep with more lanes: W = 8, 16, 32 draws a group (the same recorded calls), the lockstep
refill (lane count a runtime value, spare-left path lane by lane) against the scalar refill
called once per draw; ns per draw, alternating. Whether the lanes' loops cost a fixed overhead
per loop (then wider groups amortise it) or per lane.

    uv run python bench/lockstep/wide.py [--rounds 9] [--reps 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rec", default="/work/scratch/lockstep_rec.npz")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--widths", default="8,16,32")
    ap.add_argument("--c32", action="store_true", help="also W = 32 as a constant lane count")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import lockstep as LS
    import refill_drv
    import scalar8

    from repm.simulate import jit

    rec = dict(np.load(args.rec))
    inp = LS.Inp(rec["group"], float(rec["ws_frac"]), float(rec["refill_frac"]), rec["grade_of"])
    f_sc = jit.compiled(scalar8).scalar8
    lanes = jit.compiled(refill_drv).lanes
    lanes32 = jit.compiled(refill_drv).lanes32
    R = args.reps
    idx8 = LS.groups(rec, None, 8)
    S, sc, sc_imp, sc_saved, _, _ = LS.build(rec, idx8)

    def sc_call(run):
        f_sc(R, run, inp, LS.Out(sc_imp), sc["n_refill"], sc["refill_list"], sc["req"],
             sc["need_mag"], sc["ws"], sc["wsb"], sc["want_s"], sc["Db"], sc["A"], sc["sp_feed"],
             sc["sp_mag"], sc["a_spare"], sc["cs_share"], sc["cs_spare"], sc["k_nom"], sc["k_sp"],
             sc["refill_y"], sc["cover"], sc["cover_t"], sc_saved, S)  # fmt: skip

    def ln_call(W, g, sv, scr, bscr, run, fn=None):
        (fn or lanes)(R, run, W, False, inp.group, inp.grade_of, inp.ws_frac, inp.refill_frac, g["inl"],
              g["req"], g["need_mag"], g["ws"], g["wsb"], g["want_s"], g["Db"], g["A"],
              g["sp_feed"], g["sp_mag"], g["a_spare"], g["cs_share"], g["cs_spare"], g["k_nom"],
              g["k_sp"], g["refill_y"], g["cover"], g["cover_t"], g["imports"], sv, S, scr, bscr)  # fmt: skip

    jobs = [("scalar", len(idx8) * 8, sc_call)]
    for W in (int(x) for x in args.widths.split(",")):
        idx = LS.groups(rec, None, W)
        _, _, _, _, g, sv = LS.build(rec, idx)
        scr, bscr = np.zeros((6, W)), np.zeros((2, W), dtype=np.bool_)
        call = partial(ln_call, W, g, sv, scr, bscr)
        def check(call, g=g, idx=idx, W=W):
            """One repetition of every group, then every written array against the record."""
            nonlocal R
            R0, R = R, 1
            call(True)
            R = R0
            flat = idx.reshape(-1)
            n = len(idx)

            def rec_out(k):
                x = rec[k + "_out"][flat]
                return x.reshape((n, W) + x.shape[1:])

            ok = all(
                np.array_equal(np.moveaxis(g[k], -1, 1)[..., :S], rec_out(k)[..., :S])
                if k in ("wsb", "want_s")
                else np.array_equal(np.moveaxis(g[k], -1, 1), rec_out(k))
                for k in LS.MUT
            )
            return ok and np.array_equal(np.moveaxis(g["imports"], -1, 1), rec_out("imports"))

        ok = check(call)
        print(f"W={W}: {len(idx)} groups, outputs bit for bit: {'yes' if ok else 'NO'}")
        jobs.append((f"lockstep W={W}", len(idx) * W, call))
        if W == 32 and args.c32:  # the same, the lane count the constant 32
            c32 = partial(ln_call, W, g, sv, scr, bscr, fn=lanes32)
            jobs.append(("lockstep W=32c", len(idx) * W, lambda run, c=c32: c(run)))
            print(f"W=32, constant: outputs bit for bit: {'yes' if check(c32) else 'NO'}")
    for _, _, v in jobs:
        v(True)
        v(False)
    times = {(n, run): [] for n, _, _ in jobs for run in (True, False)}
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for k in range(args.rounds):
        order = jobs[k % len(jobs):] + jobs[: k % len(jobs)]
        for n, _, v in order:
            for run in (True, False):
                c = time.perf_counter()
                v(run)
                times[(n, run)].append(time.perf_counter() - c)
    load1 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.rounds} rounds x {R} reps; load {load0} before, {load1} after")
    base = None
    for n, draws, _ in jobs:
        st = [(a - b) / (draws * R) * 1e9 for a, b in zip(times[(n, True)], times[(n, False)], strict=True)]  # fmt: skip
        med = statistics.median(st)
        base = base or med
        print(f"  {n:14s} ns per draw-call (stage only): median {med:6.1f}  scalar/this {base / med:5.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
