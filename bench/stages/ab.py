"""Interleaved A/B of loop variants under load: many short rounds (B draws each), the kernels in
rotating order, and each variant's ratio to the package's loop taken round by round (adjacent
in time), reported as the median and a trimmed mean. Steadier than comparing minima when
another job comes and goes; outputs compared bit for bit first.

    R=60 B=250 uv run python bench/stages/ab.py bench/_variants/NAME/loop.py [...]
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402
from loop_profile import _compare, _fresh, _load_variant  # noqa: E402

from repm.chain import compile_chain  # noqa: E402
from repm.scenario import load_scenario  # noqa: E402
from repm.simulate import kernel  # noqa: E402
from repm.simulate.engine import prepare  # noqa: E402
from repm.simulate.shocks import sample  # noqa: E402

D = int(os.environ.get("D", 2000))
B = int(os.environ.get("B", 250))
R = int(os.environ.get("R", 40))
loaded = load_scenario("india-baseline", [])
chain = compile_chain(loaded.scenario)
prep = prepare(chain, None, sample(loaded.scenario.risk, chain, np.arange(D), 7), "monthly")
inp = prep.inputs
ks = [("repm.simulate.loop", kernel.compiled()._block)]
ks += [(p, _load_variant(Path(p))) for p in sys.argv[1:]]
outs = []
for _, f in ks:
    o = _fresh(prep.dims)
    f(0, D, inp, o)
    outs.append(o)
for (n, _), o in zip(ks[1:], outs[1:], strict=True):
    print(n, _compare(outs[0], o))
t: dict[str, list[float]] = {n: [] for n, _ in ks}
load0 = os.getloadavg()
for r in range(R):
    lo = (r * B) % D
    for n, f in ks[r % len(ks):] + ks[: r % len(ks)]:
        c = time.thread_time()
        f(lo, lo + B, inp, outs[0])
        t[n].append((time.thread_time() - c) / B * 1e3)
print(f"load average {load0} before, {os.getloadavg()} after; {R} rounds of {B} draws")
ref = ks[0][0]
for n, _ in ks:
    rat = sorted(a / b for a, b in zip(t[n], t[ref], strict=True))
    k = len(rat) // 5
    print(f"{n:36s} CPU ms/draw min {min(t[n]):.4f} median {statistics.median(t[n]):.4f}; "
          f"ratio to the loop: median {statistics.median(rat):.3f}, "
          f"trimmed mean {statistics.mean(rat[k:-k] if k else rat):.3f}")  # fmt: skip
