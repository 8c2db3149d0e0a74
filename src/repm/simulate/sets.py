"""Parameter sets on the engine's draw axis (issue 14 part 2).

Each parameter set is a chain compiled from the scenario with its own fact values (and, with
shocks, its own draws of them): set p's draws are p × K … (p + 1) × K − 1 of one kernel run, so
thousands of sets are simulated by one call, spread over threads, with no Python loop in the
time loop. A set's inputs broadcast where they do not vary (each set's kernel inputs are its
own arrays; nothing is copied per draw), and a set's numbers are bit for bit those of
`simulate` on that set alone (tests/test_sets.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repm.chain import Chain
from repm.chain.plan import Plan
from repm.simulate import arrays, kernel
from repm.simulate.engine import SimOutput, Unlabelled, unlabelled, wrap
from repm.simulate.prepare import Prepared, prepare
from repm.simulate.shocks import Shocks


def simulate_sets(
    chains: Sequence[Chain],
    plans: Sequence[Plan | None] | None = None,
    shocks: Sequence[Shocks | None] | None = None,
    step: str = "monthly",
    threads: int | None = None,
) -> list[SimOutput]:
    """Simulate parameter sets side by side: chain p under plan p and shocks p (each set the
    same number of draws). Returns one SimOutput per set, as `simulate` would."""
    return _each(wrap, run_sets(chains, plans, shocks, step, threads))


def simulate_sets_unlabelled(
    chains: Sequence[Chain],
    plans: Sequence[Plan | None] | None = None,
    shocks: Sequence[Shocks | None] | None = None,
    step: str = "monthly",
    threads: int | None = None,
) -> list[Unlabelled]:
    """`simulate_sets` without the labels: each set's arrays, mass balance checked
    (`engine.unlabelled`; its `dataset()` is the set's SimOutput's Dataset), for readers of a
    few arrays (a parameter sample's indicator)."""
    return _each(unlabelled, run_sets(chains, plans, shocks, step, threads))


def _each(fn, run: tuple[tuple, list[Prepared]]) -> list:
    """fn(set's prepared inputs, its draws of the kernel's outputs) for each set of `run`."""
    raw, preps = run
    K = preps[0].dims["D"]
    return [fn(prep, _rows(raw, p * K, (p + 1) * K)) for p, prep in enumerate(preps)]


def run_sets(
    chains: Sequence[Chain],
    plans: Sequence[Plan | None] | None = None,
    shocks: Sequence[Shocks | None] | None = None,
    step: str = "monthly",
    threads: int | None = None,
) -> tuple[tuple, list[Prepared]]:
    """The kernel's raw outputs for every set on one draw axis (sets × draws per set), and each
    set's prepared inputs; `simulate_sets` labels them."""
    P = len(chains)
    if P == 0:
        raise ValueError("no parameter sets to simulate")
    plans = list(plans) if plans is not None else [None] * P
    shocks = list(shocks) if shocks is not None else [None] * P
    if not len(plans) == len(shocks) == P:
        raise ValueError(f"{P} chains, {len(plans)} plans, {len(shocks)} shocks; expected one each")
    preps = [prepare(c, pl, sh, step) for c, pl, sh in zip(chains, plans, shocks, strict=True)]
    first = preps[0].dims
    for p, prep in enumerate(preps[1:], start=1):
        if prep.dims != first:
            diff = {k: (first[k], v) for k, v in prep.dims.items() if first.get(k) != v}
            raise ValueError(
                f"parameter set {p} has other dimensions than set 0 {diff}; expected sets of "
                "one structure (the same sectors, grades, origins, routes and draws)"
            )
    K = first["D"]
    out = arrays.outputs({**first, "D": P * K})
    kernel.run_sets([p.inputs for p in preps], out, K, threads)
    return out, preps


def _rows(out: tuple, lo: int, hi: int) -> tuple:
    """Draws lo … hi − 1 of the kernel's outputs (views)."""
    return arrays.Outputs(*(np.asarray(a)[lo:hi] for a in out))
