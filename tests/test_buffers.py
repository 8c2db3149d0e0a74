"""The engine's output buffers are lent explicitly: reused only after the caller releases them."""

from __future__ import annotations

import numpy as np

from repm.simulate.engine import Buffers


def test_an_array_is_lent_again_only_after_release() -> None:
    b = Buffers()
    first = b.empty((3, 4))
    second = b.empty((3, 4))
    assert first is not second  # both still lent
    b.release()
    again = {id(b.empty((3, 4))), id(b.empty((3, 4)))}
    assert again == {id(first), id(second)}
    assert b.empty((2, 2)).shape == (2, 2)  # another shape: a new array


def test_chunks_on_one_thread_reuse_buffers_without_changing_numbers() -> None:
    """A risk chunk's summary owns its arrays: running the next chunk in the same buffers
    leaves the first chunk's numbers as they were."""
    from repm.analyses.risk import run_block
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    loaded = load_scenario("india-baseline", ["risk.events.0.hazard=0.9"])
    chain = compile_chain(loaded.scenario)
    ids = np.arange(12)
    a = run_block(chain, loaded.scenario.risk, 5, ids, "yearly", None)
    kept = {k: np.array(getattr(a, k), copy=True) for k in ("unmet", "tonne_years", "released")}
    b = run_block(chain, loaded.scenario.risk, 5, ids + 12, "yearly", None)
    for k, v in kept.items():
        assert np.array_equal(getattr(a, k), v), k
    assert not np.array_equal(a.unmet, b.unmet)
