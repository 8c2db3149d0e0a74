"""Per-stage cycle breakdown of the loop (loop_cyc.py), beside the plain loop's wall time."""
import sys, time, os
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np
from loop_profile import _load_variant, _fresh
from repm.chain import compile_chain
from repm.scenario import load_scenario
from repm.simulate import kernel
from repm.simulate.engine import prepare
from repm.simulate.shocks import sample
D = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
files = sys.argv[2:] or [str(Path(__file__).parent / "loop_cyc.py")]
loaded = load_scenario("india-baseline", [])
chain = compile_chain(loaded.scenario)
prep = prepare(chain, None, sample(loaded.scenario.risk, chain, np.arange(D), 7), "monthly")
inp = prep.inputs
NAMES = ["block setup (uses, hist tables)", "per-draw zeroing", "year plan (+feed lists, inits)",
         "availability", "switch", "routes/toll 1st", "feed_ratios", "feed_draw",
         "toll 2nd + retention", "magnets", "allocate", "refill", "step tail (tonne_years, irel)",
         "year end: flush, book_demand, cohorts", "book_year", "end_of_life_year", "balance",
         "(17: unused)", "cover", "prefix: copy years + state"]
base = kernel.compiled()._block
for f in files:
    fn = _load_variant(Path(f))
    for k in range(3): sys.modules.setdefault(f"repm_loop_variant_{k}_loop_cyc", sys.modules.get("repm_loop_variant_loop_cyc"))
    out = _fresh(prep.dims)
    fn(0, D, inp, out)
    best = None
    for r in range(int(os.environ.get("REPS", 9))):
        t0 = time.thread_time(); base(0, D, inp, out); tb = time.thread_time() - t0
        t0 = time.thread_time(); acc = fn(0, D, inp, out); tc = time.thread_time() - t0
        if best is None:
            best = (tc, tb, acc.copy())
        else:  # each stage's least disturbed figure; the fastest plain and instrumented runs
            best = (min(tc, best[0]), min(tb, best[1]), np.minimum(acc, best[2]))
    tc, tb, acc = best
    tot = acc.sum()
    print(f"{f}: plain loop {tb/D*1e3:.4f} ms/draw, instrumented {tc/D*1e3:.4f} ms/draw; "
          f"{tot/D:.0f} ticks/draw (sum of per-stage minima over the runs); load {os.getloadavg()}")
    for k, n in enumerate(NAMES):
        ms = acc[k] / tot * tc / D * 1e3
        print(f"  {k:2d} {n:40s} {acc[k]/D:9.0f} ticks/draw {ms:8.4f} ms/draw {acc[k]/tot*100:5.1f} %")
