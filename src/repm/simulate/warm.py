"""Warm Numba's cache: a few risk draws of the shipped baseline through the compiled engine, so
that everything a `repm risk` compiles (the draw loop, Philox, the spells) is compiled, or
loaded, once. The resident process runs it in the background after its first command
(`repm.resident.server.warm_once`)."""

from __future__ import annotations

DRAWS = 32  # more than the kernel runs uncompiled (kernel.PY_DRAW_STEPS)


def warm(scenario: str = "india-baseline") -> None:
    """Compile (or load from the cache) the engine a risk run uses, by running DRAWS draws."""
    from repm.analyses.risk import run_draws
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    sc = load_scenario(scenario).scenario
    run_draws(compile_chain(sc), sc, draws=DRAWS, seed=0)
