"""The draw loop's Numba pipeline: Numba's own nopython pipeline plus copy propagation after
type inference (`jit.LOOP`), and the inputs' arrays read once (`HoistArgAttrs`).

A stage inlined into the loop (`jit.STAGE`) gets its parameters as copies of the caller's
variables (`param = arg`), and Numba takes a reference count on every array copied that way
(an atomic increment, and the decrement when the copy dies): ~100 arrays handed to the stages of
every step, ~200 atomic calls a step, which the reference-count pruning pass cannot remove
across the stages' loops. Copy propagation makes the stage use the caller's variable itself and
drops the copy, and its counts with it. Nothing else changes: the same operations in the same
order, the same numbers bit for bit (bench/loop_profile.py compares every output array).
The same holds for the arrays a stage reads from the loop's input and output tuples
(`inp.tier`, `out.unmet`): each read is a new variable with its own reference count, every
step; `HoistArgAttrs` reads each once, at the loop's entry (perf put ~10 % of the loop's time
in the atomic increments and decrements before it, ~1.4 % after).
A later edit to the loop must keep that check: run bench/loop_profile.py with the loop compiled
without this pass as a --variant (or the tests' golden outputs).

Imported only when the loop is compiled (it imports Numba).
"""

from __future__ import annotations

from numba.core import ir, ir_utils, types
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.typed_passes import NopythonTypeInference


@register_pass(mutates_CFG=False, analysis_only=False)
class CopyPropagate(FunctionPass):
    """Replace each copy `b = a` by `a` where both are defined once in the whole function (an
    argument counts as defined once when nothing assigns it) and `a` is not a phi node's target,
    then drop the copy. In SSA form that needs no flow analysis: `a`'s definition dominates
    `b = a`, which dominates every use of `b`, so wherever `b` is used `a` holds the same value
    (a phi's target is left alone: once the phis become copies at the ends of the blocks before
    them, it no longer would)."""

    _name = "repm_copy_propagate"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state) -> bool:
        blocks, typemap = state.func_ir.blocks, state.typemap
        defs: dict[str, int] = {}
        phis: set[str] = set()  # a phi's target changes on every edge into its block
        for block in blocks.values():
            for stmt in block.body:
                if isinstance(stmt, ir.Assign):
                    defs[stmt.target.name] = defs.get(stmt.target.name, 0) + 1
                    if isinstance(stmt.value, ir.Expr) and stmt.value.op == "phi":
                        phis.add(stmt.target.name)
        args = set(state.func_ir.arg_names)
        copies: dict[str, ir.Var] = {}
        for block in blocks.values():
            for stmt in block.body:
                if not (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Var)):
                    continue
                b, a = stmt.target.name, stmt.value.name
                once = (defs.get(a) == 1 and a not in phis) or (a in args and a not in defs)
                if defs.get(b) == 1 and b not in args and once and a != b:
                    if typemap[b] == typemap[a]:
                        copies[b] = stmt.value
        if not copies:
            return False
        for b in list(copies):  # chains: c = b, b = a gives c -> a
            v, seen = copies[b], {b}
            while v.name in copies and v.name not in seen:
                seen.add(v.name)
                v = copies[v.name]
            copies[b] = v
        for block in blocks.values():
            body = []
            for stmt in block.body:
                if isinstance(stmt, ir.Assign) and stmt.target.name in copies:
                    continue
                ir_utils.replace_vars_stmt(stmt, copies)
                body.append(stmt)
            block.body = body
        state.func_ir._definitions = ir_utils.build_definitions(blocks)
        return True


@register_pass(mutates_CFG=False, analysis_only=False)
class HoistArgAttrs(FunctionPass):
    """Every `getattr(arg, name)` of an argument never assigned (the loop's `inp` and `out`
    tuples, as the inlined stages read them: `inp.tier`) read once, at the function's entry,
    and every tuple unpacked where it was built (`a, b, c, d = x.a, x.b, x.c, x.d`) read from
    its items: what each stage reads is the same array, without the reference counts (an
    atomic increment and decrement each) that Numba takes for a new variable. Runs after
    `CopyPropagate` (so the stages' `inp` is the loop's) and runs it again after. The same
    operations on the same values: nothing computed changes."""

    _name = "repm_hoist_arg_attrs"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state) -> bool:
        blocks, typemap = state.func_ir.blocks, state.typemap
        args = set(state.func_ir.arg_names)
        defs: dict[str, int] = {}
        value_of: dict[str, ir.Assign] = {}
        for block in blocks.values():
            for stmt in block.body:
                if isinstance(stmt, ir.Assign):
                    defs[stmt.target.name] = defs.get(stmt.target.name, 0) + 1
                    value_of[stmt.target.name] = stmt
        # arguments never assigned again, and immutable (tuples: the loop's `inp` and `out`), so
        # an attribute read once at the entry is the same value at every later read
        fixed = {
            a for a in args
            if defs.get(a, 0) <= 1 and isinstance(typemap.get(a), types.BaseTuple)
        }  # fmt: skip

        def sole(name: str, op: str):
            """The expression `name` is assigned, when it is assigned once and is an `op`."""
            got = value_of.get(name)
            if defs.get(name) != 1 or got is None:
                return None
            e = got.value
            return e if isinstance(e, ir.Expr) and e.op == op else None

        entry = blocks[min(blocks)]
        # where the arguments have been read into variables: after the last `arg(...)`
        at = 0
        for i, stmt in enumerate(entry.body):
            if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Arg):
                at = i + 1
        hoisted: dict[tuple[str, str], ir.Var] = {}
        new: list[ir.Assign] = []
        changed = False
        for block in blocks.values():
            for stmt in block.body:
                if not isinstance(stmt, ir.Assign) or not isinstance(stmt.value, ir.Expr):
                    continue
                ex = stmt.value
                if ex.op == "getattr" and ex.value.name in fixed:
                    key = (ex.value.name, ex.attr)
                    if key not in hoisted:
                        var = ir.Var(entry.scope, f"$hoist.{key[0]}.{key[1]}", stmt.loc)
                        typemap[var.name] = typemap[stmt.target.name]
                        new.append(ir.Assign(ir.Expr.getattr(ex.value, ex.attr, stmt.loc), var,
                                             stmt.loc))  # fmt: skip
                        hoisted[key] = var
                    stmt.value = hoisted[key]
                    changed = True
                elif ex.op == "static_getitem" and isinstance(ex.index, int):
                    # x = static_getitem(exhaust_iter(build_tuple(items)), i) -> x = items[i]
                    uv = sole(ex.value.name, "exhaust_iter")
                    tv = sole(uv.value.name, "build_tuple") if uv is not None else None
                    if tv is None:
                        continue
                    item = tv.items[ex.index]
                    if defs.get(item.name) == 1 and typemap[item.name] == typemap[stmt.target.name]:
                        stmt.value = item
                        changed = True
        entry.body[at:at] = new
        if not changed:
            return False
        state.func_ir._definitions = ir_utils.build_definitions(blocks)
        CopyPropagate().run_pass(state)
        # tuples built only to be unpacked, now read by nobody: dropped (no side effects)
        while True:
            uses = {}
            for block in blocks.values():
                for stmt in block.body:
                    for v in stmt.list_vars():
                        if not (isinstance(stmt, ir.Assign) and v.name == stmt.target.name):
                            uses[v.name] = uses.get(v.name, 0) + 1
            dropped = False
            for block in blocks.values():
                body = []
                for stmt in block.body:
                    if (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr)
                            and stmt.value.op in ("build_tuple", "exhaust_iter", "getattr")
                            and not uses.get(stmt.target.name)):  # fmt: skip
                        dropped = True
                        continue
                    body.append(stmt)
                block.body = body
            if not dropped:
                break
        state.func_ir._definitions = ir_utils.build_definitions(blocks)
        return True


class LoopCompiler(CompilerBase):
    """Numba's nopython pipeline with `CopyPropagate` right after type inference (inlining
    comes before it, and Numba's SSA form leaves most variables defined once), then
    `HoistArgAttrs`. Not Numba's own `ir_utils.copy_propagate`: on this loop it gave wrong
    results (it does not kill a copy whose source is reassigned later in the same block;
    bench/loop_profile.py and the golden tests caught it)."""

    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(CopyPropagate, NopythonTypeInference)
        pm.add_pass_after(HoistArgAttrs, CopyPropagate)
        pm.finalize()
        return [pm]
