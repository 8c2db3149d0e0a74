"""The refill, 8 draws in lockstep, against the scalar refill on recorded real inputs: bit for bit
lane by lane, then timed.

    uv run python bench/lockstep/record.py          # once: /work/scratch/lockstep_rec.npz
    uv run python bench/lockstep/lockstep.py [--rec FILE] [--groups N] [--reps 20] [--rounds 15]

Groups: draws 8k … 8k + 7 at one step t (a step after the years the block's draws share), i.e.
the 8 draws one lockstep block would run together, with whatever branches they take. Each group's
8 recorded calls go to the scalar stage (`scalar8.py`: `stock._refill` as compiled into the loop,
once per draw) and to the lockstep stage (`refill_drv.lanes`: `refill_ls._refill_ls`, lanes last);
every array the stage writes is compared with the recorded Python run's output (np.array_equal,
lane by lane). Timing: every group R repetitions (restore the written state, then the stage),
the same again restoring only; the drivers alternate round by round (rotating order), timed by
the wall clock (`time.thread_time` ticks in 4–10 ms steps here). The stage's time per group =
(run − restore-only) / (groups × R); printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import namedtuple
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LANE = ("req", "need_mag", "ws", "sp_feed", "sp_mag", "cs_share", "cs_spare", "k_nom", "k_sp",
        "refill_y")  # material × lane  # fmt: skip
GSL = ("wsb", "Db", "cover", "cover_t")  # grade × sector(padded) × lane
MUT = ("ws", "wsb", "want_s", "k_nom", "k_sp", "refill_y")  # written by the stage (+ imports)

Inp = namedtuple("Inp", ["group", "ws_frac", "refill_frac", "grade_of"])
Out = namedtuple("Out", ["imports"])


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def asm_stats(fn) -> str:
    """Counts of telling instructions in a compiled driver's machine code."""
    lines = fn.inspect_asm(fn.signatures[0]).splitlines()
    n = {k: sum(1 for x in lines if k in x) for k in
         ("lock", "vdivpd", "vdivsd", "zmm", "ymm", "vmaxpd", "vmaxsd", "vblendm", "vcmppd")}  # fmt: skip
    return f"{len(lines)} lines, " + ", ".join(f"{k} {v}" for k, v in n.items())


def groups(rec, n_max: int | None, W: int = 8):
    """Record indexes, group × W: draws Wk … Wk+W−1 at each step every one of them recorded."""
    d, t = rec["d"], rec["t"]
    at = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(d, t, strict=True))}
    out = []
    for k in range(int(d.max()) // W + 1):
        for tt in range(int(t.max()) + 1):
            idx = [at.get((W * k + i, tt)) for i in range(W)]
            if all(i is not None for i in idx):
                out.append(idx)
    out = np.array(out, dtype=np.int64)
    if n_max is not None and n_max < len(out):  # spread over draws and steps
        out = out[np.linspace(0, len(out) - 1, n_max).astype(np.int64)]
    return out


def build(rec, idx):
    """The scalar driver's arrays (group × 8 × …; W = 8 only) and the lockstep driver's (group ×
    … × W), W = idx.shape[1] draws a group."""
    W = idx.shape[1]
    S = int(rec["S"])
    sc = {k: np.ascontiguousarray(rec[k][idx]) for k in
          ("req", "need_mag", "ws", "wsb", "want_s", "Db", "A", "sp_feed", "sp_mag", "a_spare",
           "cs_share", "cs_spare", "k_nom", "k_sp", "refill_y", "cover", "cover_t",
           "refill_list")}  # fmt: skip
    sc["n_refill"] = np.ascontiguousarray(rec["n_refill"][idx])
    NG = len(idx)
    imports = np.ascontiguousarray(rec["imports"][idx.reshape(-1)])  # draw (j×8+i) × O × M
    O, M = imports.shape[1:]  # noqa: E741
    ln = {k: np.ascontiguousarray(np.moveaxis(sc[k], 1, -1)) for k in sc if k not in
          ("refill_list", "n_refill")}  # fmt: skip
    ln["imports"] = np.ascontiguousarray(np.moveaxis(imports.reshape(NG, W, O, M), 1, -1))
    inl = np.zeros((NG, M, W), dtype=np.bool_)
    for j in range(NG):
        for i in range(W):
            inl[j, sc["refill_list"][j, i, : sc["n_refill"][j, i]], i] = True
    ln["inl"] = inl

    def saved(arrs, imp):
        parts = [arrs[k].reshape(NG, -1) for k in MUT] + [imp.reshape(NG, -1)]
        return np.ascontiguousarray(np.concatenate(parts, axis=1))

    sc_saved = saved(sc, imports)
    ln_saved = saved(ln, ln["imports"])
    assert sc_saved.shape == ln_saved.shape
    return S, sc, imports[:, None], sc_saved, ln, ln_saved


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rec", default="/work/scratch/lockstep_rec.npz")
    ap.add_argument("--groups", type=int, default=None, help="time this many groups (default all)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--c8", action="store_true", help="also the constant-8 lanes driver")
    ap.add_argument("--asm", action="store_true", help="instruction counts of the drivers")
    ap.add_argument("--llvm", action="append", default=[],
                    help="an LLVM option set before compiling, e.g. -force-vector-interleave=1 "
                         "(use a NUMBA_CACHE_DIR of its own: the cache does not know it)")  # fmt: skip
    args = ap.parse_args(argv)

    if args.llvm:
        import llvmlite.binding as llvm

        for o in args.llvm:
            llvm.set_option("", o)
        print("LLVM options:", " ".join(args.llvm))
    sys.path.insert(0, str(HERE))
    import refill_drv
    import scalar8

    from repm.simulate import jit

    rec = dict(np.load(args.rec))
    idx = groups(rec, None)
    S, sc, sc_imp, sc_saved, ln, ln_saved = build(rec, idx)
    NG = len(idx)
    inp = Inp(rec["group"], float(rec["ws_frac"]), float(rec["refill_frac"]), rec["grade_of"])
    f_sc = jit.compiled(scalar8).scalar8
    drv = jit.compiled(refill_drv)
    lane_fns = [("lanes, spare/lane", (drv.lanes, False)), ("lanes, spare vec", (drv.lanes, True))]
    if args.c8:
        lane_fns += [("lanes8 spare vec", (drv.lanes8, True))]
    scr = np.zeros((6, 8))
    bscr = np.zeros((2, 8), dtype=np.bool_)

    def sc_call(R, run):  # the current sc, sc_imp, sc_saved (rebound for --groups)
        s, imp, sv = sc, sc_imp, sc_saved
        f_sc(R, run, inp, Out(imp), s["n_refill"], s["refill_list"], s["req"], s["need_mag"],
             s["ws"], s["wsb"], s["want_s"], s["Db"], s["A"], s["sp_feed"], s["sp_mag"],
             s["a_spare"], s["cs_share"], s["cs_spare"], s["k_nom"], s["k_sp"], s["refill_y"],
             s["cover"], s["cover_t"], sv, S)  # fmt: skip

    def ln_call(fv, R, run):
        g, sv = ln, ln_saved
        fn, vec = fv
        fn(R, run, 8, vec, inp.group, inp.grade_of, inp.ws_frac, inp.refill_frac, g["inl"], g["req"],
           g["need_mag"], g["ws"], g["wsb"], g["want_s"], g["Db"], g["A"], g["sp_feed"],
           g["sp_mag"], g["a_spare"], g["cs_share"], g["cs_spare"], g["k_nom"], g["k_sp"],
           g["refill_y"], g["cover"], g["cover_t"], g["imports"], sv, S, scr, bscr)  # fmt: skip

    # --- bit for bit: one repetition (restore, stage) of every group ---
    t0 = time.perf_counter()
    sc_call(1, True)
    for _, fn in lane_fns:
        ln_call(fn, 1, True)  # compile
    print(f"{NG} groups of 8 (draws 0 … {int(rec['d'].max())}, steps "
          f"{int(rec['t'][idx].min())} … {int(rec['t'][idx].max())}); compiled/loaded in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    flat = idx.reshape(-1)
    want_out = {k: rec[k + "_out"][flat].reshape((NG, 8) + rec[k + "_out"].shape[1:]) for k in MUT}
    want_out["imports"] = rec["imports_out"][flat].reshape((NG, 8) + rec["imports_out"].shape[1:])
    ok_all = True
    for name, fn in [("scalar", None)] + lane_fns:
        if fn is None:
            sc_call(1, True)
            got = {k: sc[k] for k in MUT}
            got["imports"] = sc_imp[:, 0].reshape(want_out["imports"].shape)
        else:
            ln_call(fn, 1, True)
            got = {k: np.moveaxis(ln[k], -1, 1) for k in MUT}
            got["imports"] = np.moveaxis(ln["imports"], -1, 1)
        res = []
        for k, w in want_out.items():
            g = got[k]
            if k in ("wsb",):  # lockstep reads/writes sectors < S; its pads must stay as given
                same = np.array_equal(g[..., :S], w[..., :S]) and np.array_equal(g[..., S:], w[..., S:])  # fmt: skip
            elif k == "want_s":  # scratch: the last bare magnet's, sectors < S
                same = np.array_equal(g[..., :S], w[..., :S])
            else:
                same = np.array_equal(g, w)
            bad = 0 if same else int(np.sum(np.any((g != w).reshape(NG * 8, -1), axis=1)))
            res.append(f"{k} {'ok' if same else f'DIFFER in {bad} lanes'}")
            ok_all &= same
        print(f"  {name:16s} vs recorded outputs: " + ", ".join(res))
    print("bit for bit:", "YES, every lane of every group" if ok_all else "NO")
    if args.asm:
        for name, fn in [("scalar8", f_sc)] + lane_fns:
            print(f"  {name:16s} asm: " + asm_stats(fn if name == "scalar8" else fn[0]))

    # branch mix of these groups
    r_in, r_want, r_spare = rec["r_in"], rec["r_want"], rec["r_spare"]
    dd, tt = rec["d"][idx], rec["t"][idx]
    rare = r_spare[dd, tt]  # NG × 8 × M
    print(f"  groups with a lane on the spare-left path: {np.mean(rare.any(axis=(1, 2))):.1%}; "
          f"lanes×materials on it: {np.mean(rare[r_in[dd, tt] == 1]):.2%}; want>0 in "
          f"{np.mean(r_want[dd, tt][r_in[dd, tt] == 1]):.1%} of listed lane×materials; groups "
          f"whose lanes' lists differ: {np.mean((r_in[dd, tt] != r_in[dd, tt][:, :1]).any(axis=(1, 2))):.1%}")  # fmt: skip

    # --- timing ---
    if args.groups is not None and args.groups < NG:
        sel = np.linspace(0, NG - 1, args.groups).astype(np.int64)
        idx = idx[sel]
        S, sc, sc_imp, sc_saved, ln, ln_saved = build(rec, idx)
        NG = len(idx)
    R = args.reps
    variants = [("scalar x8 calls", partial(sc_call, R))] + [
        (n, partial(ln_call, f, R)) for n, f in lane_fns
    ]
    for _, v in variants:  # warm
        v(True)
        v(False)
    jobs = [(n, run, v) for n, v in variants for run in (True, False)]
    tcpu = {(n, run): [] for n, run, _ in jobs}
    load0 = _load()
    for k in range(args.rounds):
        order = jobs[k % len(jobs):] + jobs[: k % len(jobs)]
        for n, run, v in order:
            c = time.perf_counter()  # thread_time ticks in 4-10 ms steps on this machine
            v(run)
            tcpu[(n, run)].append(time.perf_counter() - c)
    load1 = _load()
    per = NG * R
    print(f"\ntiming: {NG} groups x {R} reps, {args.rounds} rounds (rotating order); wall clock, one thread; "
          f"load average {load0} before, {load1} after; {os.cpu_count()} CPUs")  # fmt: skip
    base = None
    for n, _ in variants:
        run_t, cp_t = tcpu[(n, True)], tcpu[(n, False)]
        stage = [(a - b) / per * 1e9 for a, b in zip(run_t, cp_t, strict=True)]
        med = statistics.median(stage)
        mn = min(a for a in run_t) / per * 1e9 - min(cp_t) / per * 1e9
        if base is None:
            base = (med, mn, stage)
        ratios = [b / s for b, s in zip(base[2], stage, strict=True)]
        print(f"  {n:16s} ns per group of 8 (stage only): median {med:7.1f}  min-min {mn:7.1f}  "
              f"[restore only {statistics.median(cp_t) / per * 1e9:6.1f}]  scalar/this: median "
              f"of rounds {statistics.median(ratios):5.2f}x  of medians {base[0] / med:5.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
