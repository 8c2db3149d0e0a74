"""Write loop variants: loop_cyc.py (cycle counters per stage) and loop_skip_<stage>.py."""
import sys
from pathlib import Path

import os
src = Path(os.environ.get("LOOP_SRC", "src/repm/simulate/loop.py")).read_text()
HERE = Path(os.environ.get("LOOP_OUT", Path(__file__).parent))

def rep(s, old, new, count=1):
    assert s.count(old) == count, (old, s.count(old))
    return s.replace(old, new)

HDR = '''
from numba import types as _nt
from numba.core import cgutils as _cg
from numba.extending import intrinsic as _intrinsic
from llvmlite import ir as _ir

_CYC = __CYC__
_SKIP = __SKIP__


@_intrinsic
def _rdtsc(typingctx):
    sig = _nt.uint64()

    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.IntType(64), [])
        fn = _cg.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


@njit(**_STAGE)
def _now():
    if _CYC:
        return _rdtsc()
    return np.uint64(0)


@njit(**_STAGE)
def _lap(tacc, k, c):
    if _CYC:
        n = _rdtsc()
        tacc[k] += n - c
        return n
    return c


@njit(**_STAGE)
def _on(k):
    return (_SKIP >> k) & 1 == 0

'''
s = src
s = rep(s, "from repm.simulate.jit import LOOP, njit\n", "from repm.simulate.jit import LOOP, njit\nfrom repm.simulate.jit import STAGE as _STAGE\n" + HDR)
s = rep(s, '    """Draws lo … hi − 1, one after another."""\n',
        '    """Draws lo … hi − 1, one after another."""\n    tacc = np.zeros(24, dtype=np.uint64)\n    cy = _now()\n')
# block setup ends where the draw loop starts
s = rep(s, "    for d in range(lo, hi):\n", "    cy = _lap(tacc, 0, cy)\n    for d in range(lo, hi):\n        if _on(1):\n            _zero_draw = True\n")
# zeroing block: indent it under `if _on(1):` -- simpler: wrap lines
zs = s.index("            _zero_draw = True\n") + len("            _zero_draw = True\n")
ze = s.index("        dm = d if dmult.shape[0] > 1 else 0\n")
block = s[zs:ze]
block = "".join("    " + l if l.strip() else l for l in block.splitlines(True))
s = s[:zs] + block + "        cy = _lap(tacc, 1, cy)\n" + s[ze:]
# year plan
s = rep(s, "        for yi in range(y0, Y):\n", "        cy = _lap(tacc, 19, cy)\n        for yi in range(y0, Y):\n")
s = rep(s, "            for k_step in range(spy):\n", "            cy = _lap(tacc, 2, cy)\n            for k_step in range(spy):\n")
s = rep(s, "                all_available = _step_availability(\n", "                if _on(3):\n                  all_available = _step_availability(\n")
s = rep(s, "                # makers who have qualified a lighter grade switch to it: demand changes\n",
        "                cy = _lap(tacc, 3, cy)\n")
s = rep(s, "                if switching and _switch(", "                if _on(4) and switching and _switch(")
s = rep(s, "                # --- 0. routes: overseas oxide on offer; tolling that takes IREL oxide first ---\n",
        "                cy = _lap(tacc, 4, cy)\n")
s = rep(s, "                if R > 0:\n                    ox_left = _toll_orders(True,",
        "                if _on(5) and R > 0:\n                    ox_left = _toll_orders(True,")
s = rep(s, "                # --- 1. feed: domestic first, then imports, working stock, stockpile ---\n",
        "                cy = _lap(tacc, 5, cy)\n                enough = True\n")
s = rep(s, "                enough = _feed_ratios(\n", "                if _on(6):\n                  enough = _feed_ratios(\n")
s = rep(s, "                ret_inv, from_ret, from_irel = _feed_draw(\n",
        "                cy = _lap(tacc, 6, cy)\n                from_ret = 0.0\n                from_irel = 0.0\n                if not _on(7):\n                    P_g[:] = 0.0\n                if _on(7):\n                  ret_inv, from_ret, from_irel = _feed_draw(\n")
s = rep(s, "                # --- 1b. tolling from the oxide the units left; then retention or export ---\n",
        "                cy = _lap(tacc, 7, cy)\n")
s = rep(s, "                if R > 0:\n                    ox_left = _toll_orders(False,",
        "                if _on(8) and R > 0:\n                    ox_left = _toll_orders(False,")
s = rep(s, "                # --- 2. magnets: tolled returns, imports, then working stock and stockpile ---\n",
        "                cy = _lap(tacc, 8, cy)\n")
s = rep(s, "                _magnets(d, yi,",
        "                cy = _lap(tacc, 18, cy)\n                if _on(9):\n                  _magnets(d, yi,")
s = rep(s, "                # --- 3. allocation by priority tier: then sectors' own stock, the stockpile ---\n                if _allocate(",
        "                cy = _lap(tacc, 9, cy)\n                if _on(10) and _allocate(")
s = rep(s, "                # --- 4. rebuild working stock from what origins still offer ---\n                _refill(",
        "                cy = _lap(tacc, 10, cy)\n                if _on(11):\n                  _refill(")
s = rep(s, "                if stockpiled:\n                    for m in range(M):\n                        if strat[m] != 0.0:",
        "                cy = _lap(tacc, 11, cy)\n                if stockpiled:\n                    for m in range(M):\n                        if strat[m] != 0.0:")
s = rep(s, "                t += 1\n", "                t += 1\n                cy = _lap(tacc, 12, cy)\n")
s = rep(s, "            _book_year(d, yi,", "            cy = _lap(tacc, 13, cy)\n            if _on(14):\n              _book_year(d, yi,")
s = rep(s, "            _end_of_life_year(d, yi,", "            cy = _lap(tacc, 14, cy)\n            if _on(15):\n              _end_of_life_year(d, yi,")
s = rep(s, "        # --- the draw's books, checked while they are in cache ---\n",
        "            cy = _lap(tacc, 15, cy)\n")
s = rep(s, "        _balance(d, o_flows,", "        if _on(16):\n          _balance(d, o_flows,")
s = s.rstrip("\n") + "\n        cy = _lap(tacc, 16, cy)\n    return tacc\n"
# hist tables: skip flag 17
s = rep(s, "    for yi in range(Y):\n        for s in range(S):\n            for g in range(G):\n                for c in range(H):",
        "    for yi in range(Y if _on(17) else 0):\n        for s in range(S):\n            for g in range(G):\n                for c in range(H):")

STAGES = {"setup": 0, "zero": 1, "plan": 2, "avail": 3, "switch": 4, "toll1": 5, "ratios": 6,
          "draw": 7, "toll2": 8, "magnets": 9, "allocate": 10, "refill": 11, "steptail": 12,
          "bookyear": 14, "eol": 15, "balance": 16, "hist": 17, "cover": 18}

def write(name, cyc, skip):
    t = s.replace("__CYC__", str(cyc)).replace("__SKIP__", str(skip))
    (HERE / f"loop_{name}.py").write_text(t)

write("cyc", True, 0)
write("flags0", False, 0)
for name in sys.argv[1:]:
    bits = 0
    for part in name.split("+"):
        bits |= 1 << STAGES[part]
    write("skip_" + name.replace("+", "_"), False, bits)
