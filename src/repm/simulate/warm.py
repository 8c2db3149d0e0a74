"""Warm Numba's cache: a few risk draws of the shipped baseline through the compiled engine, so
that everything a `repm risk` compiles (the draw loop, Philox, the spells) is compiled, or
loaded, once — and the loop over a block of parameter sets `repm uncertainty`, `sensitivity`
and `voi` run (`repm.simulate.stacked`). The resident process runs it in the background after
its first command (`repm.resident.server.warm_once`)."""

from __future__ import annotations

DRAWS = 32  # more than the kernel runs uncompiled (kernel.PY_DRAW_STEPS)


def warm(scenario: str = "india-baseline") -> None:
    """Compile (or load from the cache) the engine a risk run uses, by running DRAWS draws, then
    the block loop, by running the scenario as a block of one parameter set."""
    from repm.analyses.risk import run_draws
    from repm.chain import compile_chain
    from repm.chain.plan import default_plan
    from repm.scenario import load_scenario
    from repm.simulate import arrays, kernel
    from repm.simulate.prepare import chain_arrays, stacked_inputs, unshocked

    sc = load_scenario(scenario).scenario
    chain = compile_chain(sc)
    run_draws(chain, sc, draws=DRAWS, seed=0)  # the draw loop loaded: the block loop compiled
    stacked, dims = stacked_inputs(chain_arrays(chain, default_plan(chain)), chain.model, "monthly")
    kernel.run_stacked(unshocked(stacked, dims), arrays.outputs({**dims, "D": 1}), 1)
