"""Evaluate an output at given fact values: the scenario with those values in place of its fact
references, validated, compiled and run through the one data flow — the samples side by side on
the engine's draw axis (`simulate_sets_unlabelled`: each set's arrays, not labelled), each output
read with only what it needs (part 6: `bench/uncertainty.py` times each phase).

Outputs:
- `unit_npv`: the NPV of the scenario's first scheme unit in crore INR, as `repm finance`
  values it (yearly engine run, each grade at its price);
- any indicator of `repm run` (magnet_imports, self_sufficiency, …): its total by year, from a
  run like `repm run`'s (monthly by default).
"""

from __future__ import annotations

import gc
import pickle
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from repm.analyses.uncertainty.drawn import fact_paths, normalise, substitute, wholes, with_presets
from repm.analyses.uncertainty.inputs import Inputs
from repm.analyses.uncertainty.ranges import Rule, fact_ranges, shipped_rule
from repm.errors import UserError
from repm.model.facts import FactTable, load_facts

if TYPE_CHECKING:
    from repm.scenario.samples import SampleBlock
    from repm.simulate.block import BlockRun

FINANCE_OUTPUTS = {"unit_npv": "crore INR"}
# with the shock model on: each parameter set runs `draws` shock draws (the same draw ids, so
# the same Philox streams, for every set: the spread is the parameters', not the shocks')
RISK_OUTPUTS = {"expected_unmet": "t", "p_shortage": "fraction", "cvar95_unmet": "t"}
# parameter sets simulated side by side in one kernel call (without shocks: a block's fixed
# Python — the batched modules, the block's Scenario — spread over more sets; 64 → 128 took a
# run indicator's sample from ~0.60–0.67 to ~0.53–0.56 ms; with the rest of a sample at ~0.3 ms,
# 128 → 512 took it from 0.31–0.38 to 0.25–0.29 ms, 4,096 samples alternating, one process; a
# block of 512 holds ~60 MB of kernel inputs and outputs)
SETS_PER_CALL = 512
# draws in one kernel call at most, sets × shock draws (each draw's outputs are held until the
# call ends, ~64 KB: 64 sets × 1,000 draws held ~4 GB and ran slower for the page faults), but
# two sets at least, one for each of the kernel's threads
DRAWS_PER_CALL = 4000
# `repm uncertainty --draws`: the unmet demand of every sample's shock draws pooled (`per_draw`)
JOINT = "unmet_joint"


def run_indicators() -> dict[str, str]:
    """Indicators a deterministic run produces (name → unit): those `repm run` computes."""
    from repm.results.indicators import REGISTRY

    return {name: i.unit for name, i in REGISTRY.items() if i.command == "run"}


def output_unit(output: str) -> str:
    """The output's unit; a one-line error for an output that is not there."""
    if output in FINANCE_OUTPUTS:
        return FINANCE_OUTPUTS[output]
    if output in RISK_OUTPUTS:
        return RISK_OUTPUTS[output]
    known = run_indicators()
    if output not in known:
        raise UserError(
            f"unknown output {output!r}; expected unit_npv, {', '.join(RISK_OUTPUTS)} (with the "
            "shock model) or an indicator of `repm run` "
            f"(e.g. magnet_imports, self_sufficiency; {len(known) + 1} in all)",
            where="OUTPUT",
        )
    return known[output]


@dataclass
class Evaluator:
    """Evaluate `output` (all years) at fact values; counts evaluations and their time."""

    loaded: Any  # LoadedScenario
    output: str
    step: str = "monthly"
    draws: int = 200  # shock draws per parameter set, for the risk outputs
    seed: int = 0
    table: FactTable = field(default_factory=load_facts)
    rule: Rule = field(default_factory=shipped_rule)
    names: tuple[str, ...] | None = None  # run indicators read together: many() → (n, names, years)
    per_draw: bool = False  # a risk output's unmet demand by shock draw: many() → (n, draws, years)
    workers: int | None = None  # processes for many() (pool.py); None: as the batch warrants
    scheduler: str | None = None  # a Dask scheduler for many()'s blocks ('local': a cluster here)
    evaluations: int = 0
    text_fallbacks: int = 0  # samples the drawn-value path refused and the texts validated
    fast_samples: int = 0  # samples whose Scenario a block made without validating it (_samples)
    slow_samples: int = 0  # samples the block's fast path left to scenario_at
    eager_blocks: int = 0  # blocks whose Scenarios were each made and validated (fastpath.py)
    missed_checks: int = 0  # samples the block's checks passed and their own Scenario refused
    block_fallbacks: int = 0  # blocks the block path refused, run through a Chain each
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds by phase (`_timed`)

    def __post_init__(self) -> None:
        self.unit = output_unit(self.output)
        if self.per_draw and self.output not in RISK_OUTPUTS:
            raise ValueError(f"per_draw is for the risk outputs ({', '.join(RISK_OUTPUTS)})")
        if self.names is not None:
            self.names = tuple(self.names)
            known = run_indicators()
            for name in self.names:
                if name not in known:
                    raise UserError(
                        f"{name!r}; expected indicators of `repm run` side by side", where="OUTPUT"
                    )
        self.spreads = fact_ranges(self.table, self.loaded.scenario.uncertainty, self.rule)
        # the merged mapping with the risk presets expanded: the facts a preset reads (the chance
        # of a restriction …) are drawn too; the loaded scenario (its hash, its runs) is as read
        self.raw = with_presets(self.loaded.raw)
        self._facts_read = fact_paths(self.raw)
        self.inputs = Inputs.of((fid for _, fid in self._facts_read), self.spreads)
        self.years = [int(y) for y in self.loaded.scenario.horizon.years]
        self._wholes = wholes(self.raw, self.rule)
        self._plans: dict = {}  # substitute's copying plan by the set of drawn ids
        self._shares: dict = {}  # normalise's share values by text (one table: this Evaluator's)
        self._fast: Any = None  # fastpath.FastSamples once a block asks (False: refused)
        self._block_reads = True  # a block's runs read at once (`block_totals`) until refused
        if self.output in FINANCE_OUTPUTS:
            from repm.analyses import finance as F

            if not F.unit_specs(self.loaded.scenario):
                raise UserError(
                    "no scheme units in this scenario; expected a scenario with scheme units",
                    where="supply.units",
                )

    def scenario_at(self, values: Mapping[str, float], drawn: bool = True):
        """The scenario with these fact values (fact id → value in the fact's unit). `drawn`:
        the values as `Drawn` (read as their texts, without writing them); an invalid draw is
        then validated again as texts, so that its message is the texts' own."""
        from repm.scenario.load import validate_scenario

        raw = substitute(self.raw, values, self.table, self._facts_read, self._plans, drawn)
        normalise(raw, self.raw, values, self.rule, self.table, self._wholes,
                  self._shares)  # fmt: skip
        try:  # the lists are the loaded scenario's, checked when it was loaded
            return validate_scenario(raw, self.loaded.source, self.table, lists_checked=True)
        except Exception as exc:
            if drawn:  # the texts' own answer: their scenario, or their message
                self.text_fallbacks += 1  # counted: a bug in the drawn path must not hide here
                return self.scenario_at(values, drawn=False)
            if not isinstance(exc, UserError):
                raise
            raise UserError(
                f"a drawn scenario is invalid ({exc}); expected ranges the fields accept: "
                "narrow the facts it names in the scenario's `uncertainty:` block"
            ) from None

    def _samples(self, values: list[Mapping[str, float]]) -> tuple[SampleBlock | None, list]:
        """A block of samples (their drawn numbers by field path; None where the fast path
        refused them) and each one's Scenario, equal to `scenario_at`'s, without validating each
        (fastpath.py)."""
        from repm.analyses.uncertainty.fastpath import samples

        return samples(self, values)

    def __call__(self, values: Mapping[str, float]) -> np.ndarray:
        """The output at these fact values: a scalar for unit_npv, else one value per year
        (names × years with `names`, draws × years with `per_draw`)."""
        return self.many([values])[0]

    def many(self, values: list[Mapping[str, float]], progress=None) -> np.ndarray:
        """The output at each of several fact-value sets: shape (n,) for unit_npv, (n, years) for
        one indicator, (n, names, years) with `names`, (n, draws, years) with `per_draw`. The
        sets ride the engine's draw axis, `sets_per_call()` to a kernel call (`_block`: each
        set's scenario is validated and compiled, then all are simulated at once); large batches
        spread the blocks over processes (pool.py), the same numbers bit for bit. `progress(k)`
        after each block of k sets."""
        from repm.analyses.uncertainty.pool import run_blocks
        from repm.simulate import kernel

        values = list(values)
        spy = 1 if self._step() == "yearly" else 12
        draws = self.draws_per_set
        if len(values) * draws * len(self.years) * spy > kernel.PY_DRAW_STEPS:
            kernel.compiled()  # more than a few sets: the compiled kernel for every block
        per = self.sets_per_call()
        if not self.scheduler and values:  # a block at least for each process the batch takes
            from repm.analyses.uncertainty.pool import pool_workers

            procs = pool_workers(self.workers, len(values), len(values), self.draws_per_set)
            per = min(per, max(2, -(-len(values) // procs)))
        if values:  # as even as the blocks allow (a block of one is made sample by sample)
            per = -(-len(values) // -(-len(values) // per))
        blocks = [values[lo : lo + per] for lo in range(0, len(values), per)]
        if self.output in RISK_OUTPUTS and blocks and not self.scheduler:
            from repm.analyses.uncertainty.pool import pool_workers
            from repm.limits import check_sets

            # the calls held at once: one per process (a process's kernel threads share one)
            check_sets(min(len(blocks[0]) * draws, DRAWS_PER_CALL),
                       pool_workers(self.workers, len(values), len(blocks), draws),
                       len(self.loaded.scenario.risk.events), DRAWS_PER_CALL)  # fmt: skip
        if self.scheduler and blocks:
            parts = self._on_cluster(blocks, progress)
        else:
            parts = run_blocks(self, blocks, progress)
        return np.concatenate(parts) if parts else np.empty(0)

    @property
    def draws_per_set(self) -> int:
        """The engine's draws each set runs: its shock draws for a risk output, else one."""
        return self.draws if self.output in RISK_OUTPUTS else 1

    def sets_per_call(self) -> int:
        """Sets to a kernel call: SETS_PER_CALL, fewer when each runs shock draws (at most
        DRAWS_PER_CALL draws in all, two sets at least); one when a set's draws alone are more
        than half of that — its draws then run in pieces (`_pieces`)."""
        if self._in_pieces():
            return 1
        draws = self.draws if self.output in RISK_OUTPUTS else 1
        return max(2, min(SETS_PER_CALL, DRAWS_PER_CALL // draws))

    def _in_pieces(self) -> bool:
        """Whether a set's shock draws run in pieces (more than half a call's draws)."""
        return self.output in RISK_OUTPUTS and self.draws > DRAWS_PER_CALL // 2

    def _on_cluster(self, blocks: list, progress) -> list:
        """The blocks on a Dask scheduler: each worker builds this Evaluator again from the
        merged scenario mapping as loaded (what a block needs, pickled once per worker; the
        worker's Evaluator expands its presets as this one did) and evaluates its
        blocks; a set's numbers depend on its own fact values only, so they are the same bit for
        bit however the blocks fall."""
        from dask import delayed

        from repm.analyses.cluster import run_on

        spec = pickle.dumps(
            (self.loaded.raw, self.loaded.source, self.output, self.step, self.draws, self.seed,
             self.names, self.per_draw), protocol=pickle.HIGHEST_PROTOCOL,
        )  # fmt: skip
        parts: list = [None] * len(blocks)
        t0 = time.perf_counter()

        def take(i: int, part) -> None:
            parts[i] = part
            self.evaluations += len(blocks[i])
            if progress is not None:
                progress(len(blocks[i]))

        tasks = [delayed(_remote_block)(spec, b) for b in blocks]
        run_on(self.scheduler, tasks, take, workers=self.workers or 2,
               what="block of parameter sets")  # fmt: skip
        self.seconds += time.perf_counter() - t0
        return parts

    def _step(self) -> str:
        return "yearly" if self.output in FINANCE_OUTPUTS else self.step

    def _block(self, values: list[Mapping[str, float]]) -> np.ndarray:
        t0 = time.perf_counter()
        with gc_paused():  # the block's scenarios and chains freed (`_sets` returned) before
            res = self._sets(values)  # the collector is back on: nothing left for it to walk
        self.evaluations += len(values)
        self.seconds += time.perf_counter() - t0
        return res

    def _sets(self, values: list[Mapping[str, float]]) -> np.ndarray:
        """The output of each of a block's sets: validated, compiled, simulated, read."""
        from repm.chain import compile_chain
        from repm.chain.batched.chains import compile_block

        block, scenarios = self._timed("validate", lambda: self._samples(values))
        if block is not None and self.output not in RISK_OUTPUTS:
            run = self._block_run(block, scenarios)
            if run is not None:
                return self._timed("output", lambda: self._block_outputs(scenarios, run))
        # the chain's modules once for the block (no block: its samples were validated one
        # by one, and gathering their numbers back would cost more than compiling each)
        chains = self._timed(
            "compile",
            lambda: (
                compile_block(block, scenarios)
                if block is not None
                else [compile_chain(sc) for sc in scenarios]
            ),
        )
        return self._run(scenarios, chains)

    def _block_run(self, block: SampleBlock, scenarios: list) -> BlockRun | None:
        """The block's runs (`simulate_block`: each set's chain and run, and all side by side),
        the kernel's inputs made for all at once from the batched modules' arrays, without
        shocks; None where that raised anything —
        a sample a module refuses, or a bug — counted (`block_fallbacks`): the caller then
        runs the block through a Chain each, whose error, if any, is the loop's, in its order."""
        from repm.chain.batched.chains import block_results
        from repm.simulate.block import simulate_block

        try:
            res = self._timed("compile", lambda: block_results(block, scenarios))
            return self._timed(
                "simulate", lambda: simulate_block(block, res, scenarios, self._step())
            )
        except Exception:  # noqa: BLE001 — the loop's answer instead
            self.block_fallbacks += 1
            return None

    def _run(self, scenarios: list, chains: list) -> np.ndarray:
        """The output of each set: simulated side by side, or in pieces (`_pieces`)."""
        from repm.simulate.sets import simulate_sets_unlabelled
        from repm.simulate.shocks import sample

        step = self._step()

        def run():
            shocks = None
            if self.output in RISK_OUTPUTS:
                ids = np.arange(self.draws)
                shocks = [
                    sample(sc.risk, c, ids, self.seed)
                    for sc, c in zip(scenarios, chains, strict=True)
                ]
            # every output reads the arrays of each set's run, unlabelled (`_wide`, `_unmet`,
            # `_npv`)
            return simulate_sets_unlabelled(chains, shocks=shocks, step=step)

        if self._in_pieces():  # each set's unmet demand (draw × year) from its pieces
            unmet = self._timed(
                "simulate",
                lambda: [self._pieces(sc, c, step) for sc, c in zip(scenarios, chains, strict=True)],
            )  # fmt: skip
            res = self._timed("output", lambda: np.stack([self._from_unmet(u) for u in unmet]))
        else:
            sims = self._timed("simulate", run)
            res = self._timed("output", lambda: self._outputs(scenarios, chains, sims))
        return res

    def _block_outputs(self, scenarios, run) -> np.ndarray:
        """`_outputs` of a block's runs (`simulate.block.BlockRun`): a run's indicators read for
        every set at once where the block's reader has them (`block_totals`), else set by set."""
        from repm.results.build import block_totals

        if self.output not in FINANCE_OUTPUTS and self._block_reads:
            names = self.names or (self.output,)
            out = block_totals(run.chain, run.run, names, len(scenarios))
            if out is not None:
                return out if self.names is not None else out[:, 0]
            self._block_reads = False  # these indicators are read set by set: don't try again
        return self._outputs(scenarios, run.chains, run.sets)

    def _outputs(self, scenarios, chains, sims) -> np.ndarray:
        """The output from each set's run: (sets,) for unit_npv, (sets, names, years) with
        `names`, (sets, draws, years) with `per_draw`, else (sets, years)."""
        if self.output in FINANCE_OUTPUTS:
            sets = zip(scenarios, chains, sims, strict=True)
            return np.array([self._npv(sc, c, sim) for sc, c, sim in sets])
        if self.output in RISK_OUTPUTS:
            return np.stack([self._risk(sim) for sim in sims])
        names = self.names or (self.output,)
        sets = zip(chains, sims, strict=True)
        out = np.stack([self._wide(c, sim, names) for c, sim in sets])
        return out if self.names is not None else out[:, 0]

    def _timed(self, phase: str, fn):
        """fn(), its wall seconds added to `phases[phase]` (validate, compile, simulate: shock
        sampling and the kernel; output: the output from each set's run)."""
        t0 = time.perf_counter()
        out = fn()
        self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - t0
        return out

    def _npv(self, sc, chain, sim) -> float:
        from repm.analyses import finance as F
        from repm.results.build import Results

        # the context reads the run's variables alone (`sim`: the run unlabelled)
        ctx = F.context(sc, chain, Results(data=sim, indicators=None, scenario=sc.name))  # type: ignore[arg-type]
        return F.unit_npv(ctx, F.unit_specs(sc)[0])  # crore INR, as unit_metrics gives it

    def _pieces(self, sc, chain, step: str) -> np.ndarray:
        """One set's unmet demand, draw × year, its draws run in calls of two equal pieces side
        by side (one for each kernel thread), at most DRAWS_PER_CALL draws a call. Each draw's
        shocks are keyed by its id, so the draws are those of one call of all of them, bit for
        bit; the last piece is filled up with draws past the set's, which are dropped."""
        from repm.simulate.sets import simulate_sets_unlabelled
        from repm.simulate.shocks import sample

        calls = -(-self.draws // DRAWS_PER_CALL)
        size = -(-self.draws // (2 * calls))
        out = []
        for k in range(calls):
            pair = [np.arange(lo, lo + size) for lo in (2 * k * size, (2 * k + 1) * size)]
            sims = simulate_sets_unlabelled([chain, chain], step=step,
                                            shocks=[sample(sc.risk, chain, ids, self.seed)
                                                    for ids in pair])  # fmt: skip
            out += [_unmet(sim) for sim in sims]
        return np.concatenate(out)[: self.draws]

    def _risk(self, sim) -> np.ndarray:
        """The risk output by year over the set's shock draws, as `repm risk` computes it
        (`per_draw`: the unmet demand it is computed from, draw × year)."""
        return self._from_unmet(_unmet(sim))

    def _from_unmet(self, total: np.ndarray) -> np.ndarray:
        """The risk output from a set's unmet demand by draw × year (t)."""
        from repm.analyses.risk.reduce import UNMET_EPS, cvar

        if self.per_draw:
            return total
        if self.output == "expected_unmet":
            return total.mean(axis=0)
        if self.output == "p_shortage":
            return (total > UNMET_EPS).mean(axis=0)
        return cvar(total, 0.95)

    def _wide(self, chain, sim, names) -> np.ndarray:
        """names × years: each indicator's total by year in this set's run (`sim`: the run
        unlabelled, which `indicator_totals` labels only for the indicators that need it)."""
        from repm.results.build import indicator_totals

        got = indicator_totals(chain, sim, names)  # just these, without the indicator table
        out = np.empty((len(names), len(self.years)))
        for i, name in enumerate(names):
            if name not in got:
                raise UserError(f"{name!r} has no total by year in this scenario", where="OUTPUT")
            out[i] = got[name]
        return out


@contextmanager
def gc_paused():
    """The cyclic garbage collector off for a block of sets (validated, compiled and run; the run
    makes large arrays, not cycles): validating and compiling them makes
    ~10^5 short-lived objects (freed by their counts), and the collections those start walk the
    process's long-lived objects again and again (~20 % of the two phases; a full one, ~0.1 s,
    doubled a block's validation now and then). What is left collects after the block: a
    caller frees the block's objects first (`Evaluator._sets` returns inside), else the young
    collection the collector starts on its return walks them all (~10 ms a block of 64, ~0.15
    ms a sample)."""
    on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if on:
            gc.enable()


def _unmet(sim) -> np.ndarray:
    """A set's unmet magnet demand by draw × year (t), summed as every risk measure sums it
    (`sim`: the set's run unlabelled)."""
    from repm.analyses.risk.draws import sector_unmet

    return sector_unmet(sim).sum(axis=2)


_REMOTE: dict[bytes, Evaluator] = {}  # a Dask worker's Evaluator, by its pickled request


def _remote_block(spec: bytes, block: list) -> np.ndarray:
    """On a Dask worker: one block of sets, by an Evaluator built from `spec` once per worker."""
    ev = _REMOTE.get(spec)
    if ev is None:
        from repm.scenario.load import validate_merged

        raw, source, output, step, draws, seed, names, per_draw = pickle.loads(spec)
        loaded = validate_merged(raw, source)
        ev = Evaluator(loaded, output, step=step, draws=draws, seed=seed, names=names,
                       per_draw=per_draw, workers=1)  # fmt: skip
        _REMOTE.clear()  # one request's Evaluator at a time
        _REMOTE[spec] = ev
    return ev._block(block)


def headline() -> list[str]:
    """The indicators `repm uncertainty` reports: the run's headline table (without the mass
    balance residual, a check rather than an answer)."""
    from repm.results.indicators import TABLES

    return [n for n in TABLES["headline"] if n != "mass_balance_residual"]
