"""Record the refill's (`stock._refill`) inputs and outputs from real draws of the India
baseline, and the branch flags of the other stages, step by step.

    uv run python bench/lockstep/record.py [--draws 512] [--full 128] [--seed 7]
                                           [--out /work/scratch/lockstep_rec.npz]

The draw loop (`repm.simulate.loop._block`) runs uncompiled (plain Python: the same numbers bit for
bit as the compiled loop, `repm.simulate.jit`), draws 0 … N − 1 in one block, with the stages it
calls wrapped in its module's namespace:

- `_refill`, for draws < --full: a copy of every array it reads or writes, before and after
  (its slice of `out.imports[d, yi]` too), with d, t and yi;
- per (draw, step), for every draw: the step restricted (`_step_availability` returned False), a
  grade switch (`_switch`), the feed within reach (`_feed_ratios`), everyone served in full
  (`_allocate`), buyers' stock touched by `_magnets` (`_use_excess` or a tolled surplus), and the
  refill's branches per material (in the list, want > 0, the spare-left path).

Draw 0 runs the years every draw of the block shares (`prefix`); the others start after them, so
only the steps after those years are grouped 8 draws at a time (`lockstep.py`).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

REFILL_ARRAYS = ("req", "need_mag", "ws", "wsb", "want_s", "Db", "A", "sp_feed", "sp_mag",
                 "a_spare", "cs_share", "cs_spare", "k_nom", "k_sp", "refill_y", "cover",
                 "cover_t")  # fmt: skip
MUTATED = ("ws", "wsb", "want_s", "k_nom", "k_sp", "refill_y")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=512)
    ap.add_argument("--full", type=int, default=128)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="/work/scratch/lockstep_rec.npz")
    args = ap.parse_args(argv)

    from repm.chain import compile_chain
    from repm.scenario import load_scenario
    from repm.simulate import arrays, loop
    from repm.simulate.arrays import MAGNET
    from repm.simulate.engine import prepare
    from repm.simulate.shocks import sample

    D = args.draws
    loaded = load_scenario("india-baseline", [])
    chain = compile_chain(loaded.scenario)
    shocks = sample(loaded.scenario.risk, chain, np.arange(D), args.seed)
    prep = prepare(chain, None, shocks, "monthly")
    inp = prep.inputs
    out = arrays.outputs(prep.dims, lambda s: np.full(s, np.nan))
    spy = inp.spy
    T = inp.bare.shape[0] * spy
    M = inp.group.shape[0]
    G = inp.magnet.shape[0]

    cur = {"d": -1, "t": -1}
    # per (draw, step) flags; -1: the step was not run by this draw (shared years)
    restricted = np.full((D, T), -1, np.int8)
    switched = np.full((D, T), -1, np.int8)
    enough = np.full((D, T), -1, np.int8)
    full = np.full((D, T), -1, np.int8)
    mag_touch = np.full((D, T, G), -1, np.int8)
    r_in = np.full((D, T, M), -1, np.int8)  # in refill_list
    r_want = np.full((D, T, M), -1, np.int8)  # want > 0 (ordered)
    r_spare = np.full((D, T, M), -1, np.int8)  # … by the spare-left path
    recs: dict[str, list] = {k: [] for k in REFILL_ARRAYS}
    recs.update({k + "_out": [] for k in MUTATED})
    recs.update(imports=[], imports_out=[], refill_list=[], n_refill=[], d=[], t=[], yi=[])

    orig = {n: getattr(loop, n) for n in ("_step_availability", "_switch", "_feed_ratios",
                                           "_allocate", "_magnets", "_refill")}  # fmt: skip

    def w_avail(d, yi, t, *a):
        cur["d"], cur["t"] = d, t
        r = orig["_step_availability"](d, yi, t, *a)
        restricted[d, t] = not r
        return r

    def w_switch(sw_step, d, t, sw_on):
        r = orig["_switch"](sw_step, d, t, sw_on)
        switched[d, t] = r
        return r

    def w_feed(*a):
        r = orig["_feed_ratios"](*a)
        enough[cur["d"], cur["t"]] = r
        return r

    def w_alloc(*a):
        r = orig["_allocate"](*a)
        full[cur["d"], cur["t"]] = r
        return r

    def w_mag(*a):
        wsb = a[13]
        before = wsb.copy()
        orig["_magnets"](*a)
        for g in range(G):
            mag_touch[cur["d"], cur["t"], g] = not np.array_equal(before[g], wsb[g])

    def w_refill(d, yi, inp_, out_, n_refill, refill_list, req, need_mag, ws, wsb, want_s, Db, A,
                 sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y, cover,
                 cover_t, S):  # fmt: skip
        t = cur["t"]
        vals = dict(req=req, need_mag=need_mag, ws=ws, wsb=wsb, want_s=want_s, Db=Db, A=A,
                    sp_feed=sp_feed, sp_mag=sp_mag, a_spare=a_spare, cs_share=cs_share,
                    cs_spare=cs_spare, k_nom=k_nom, k_sp=k_sp, refill_y=refill_y, cover=cover,
                    cover_t=cover_t)  # fmt: skip
        # the refill's branches, per material, from its inputs (the same expressions)
        for m in range(M):
            r_in[d, t, m] = 0
        for i in range(n_refill):
            m = refill_list[i]
            r_in[d, t, m] = 1
            g = inp_.grade_of[m]
            if inp_.group[m] == MAGNET:
                want = 0.0
                a = A[g]
                for s in range(S):
                    if a > 0:
                        held = (cover[g, s] * need_mag[m] * Db[g, s] + cover_t[g, s] * need_mag[m]) / a
                        want += max(held - wsb[g, s], 0.0) * inp_.refill_frac
                    else:
                        want += max(cover_t[g, s] - wsb[g, s], 0.0) * inp_.refill_frac
            else:
                want = max(inp_.ws_frac * req[m] - ws[m], 0.0) * inp_.refill_frac
            r_want[d, t, m] = want > 0
            r_spare[d, t, m] = want > 0 and not (sp_feed[m] == 0.0 and sp_mag[m] == 0.0)
        keep = d < args.full
        if keep:
            for k, v in vals.items():
                recs[k].append(np.array(v, copy=True))
            recs["imports"].append(out_.imports[d, yi].copy())
            recs["refill_list"].append(refill_list.copy())
            recs["n_refill"].append(n_refill)
            recs["d"].append(d)
            recs["t"].append(t)
            recs["yi"].append(yi)
        orig["_refill"](d, yi, inp_, out_, n_refill, refill_list, req, need_mag, ws, wsb, want_s,
                        Db, A, sp_feed, sp_mag, a_spare, cs_share, cs_spare, k_nom, k_sp,
                        refill_y, cover, cover_t, S)  # fmt: skip
        if keep:
            for k in MUTATED:
                recs[k + "_out"].append(np.array(vals[k], copy=True))
            recs["imports_out"].append(out_.imports[d, yi].copy())

    loop._step_availability = w_avail
    loop._switch = w_switch
    loop._feed_ratios = w_feed
    loop._allocate = w_alloc
    loop._magnets = w_mag
    loop._refill = w_refill
    t0 = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            loop._block(0, D, inp, out)
    finally:
        for n, f in orig.items():
            setattr(loop, n, f)
    print(f"{D} draws uncompiled, instrumented: {time.perf_counter() - t0:.1f} s; "
          f"{len(recs['d'])} refill calls recorded")  # fmt: skip

    # the same draws compiled (plain loop): the recorded Python run must match it bit for bit
    from repm.simulate import kernel

    out2 = arrays.outputs(prep.dims, lambda s: np.full(s, np.nan))
    kernel.compiled()._block(0, D, inp, out2)
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(out, out2, strict=True))
    print(f"uncompiled instrumented run vs compiled loop: {'identical' if same else 'DIFFER'}")

    save = {k: np.array(v) for k, v in recs.items()}
    save.update(restricted=restricted, switched=switched, enough=enough, full=full,
                mag_touch=mag_touch, r_in=r_in, r_want=r_want, r_spare=r_spare,
                group=inp.group, grade_of=inp.grade_of, ws_frac=inp.ws_frac,
                refill_frac=inp.refill_frac, S=inp.bare.shape[1], spy=spy)  # fmt: skip
    np.savez(args.out, **save)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
