"""The compiled month-by-month loops of the risk model (`simulate/spells.py`) equal their
definitions written over the whole draw axis in NumPy (as `shocks.spare_ramp` and
`shocks.switch_steps` first computed them), bit for bit, on random restriction patterns."""

from __future__ import annotations

import numpy as np
import pytest

from repm.simulate.shocks import ramp_factor, spare_ramp
from repm.simulate.spells import switch_steps_loop


def _ramp_reference(active: np.ndarray, months: float) -> np.ndarray:
    k = np.zeros(active.shape)  # months since the spell began
    for t in range(1, active.shape[1]):
        k[:, t] = np.where(active[:, t - 1], k[:, t - 1] + 1.0, 0.0)
    return np.where(active, ramp_factor(k, months), 1.0)


def _switch_reference(restricted: np.ndarray, after: float, per: float) -> np.ndarray:
    D, S, G = restricted.shape
    step = np.full((D, G), -1, dtype=np.int64)
    months = np.zeros((D, G))
    for t in range(S):
        r = restricted[:, t]
        step[r & (months >= after) & (step < 0)] = t
        months = np.where(r, months + per, 0.0)
    return step


@pytest.mark.parametrize("R", [0.5, 1.0, 2.5, 5.0, 9.0])
def test_the_spare_ramp_loop_is_its_definition(R):
    rng = np.random.default_rng(int(R * 10))
    # spells of random lengths: runs of active months
    level = (rng.random((300, 144, 2)) < 0.3).astype(np.float32) * (rng.random((300, 1, 2)) < 0.8)
    level = np.maximum(level, np.roll(level, 1, axis=1))  # longer spells
    got = spare_ramp(level, R)
    want = _ramp_reference((level != 0).any(axis=2), R)
    assert np.array_equal(got, want)
    assert (got < 1).any() and (got == 1).any()


@pytest.mark.parametrize(("after", "per"), [(0.0, 1.0), (2.0, 1.0), (4.3, 1.0), (6.0, 12.0)])
def test_the_switch_steps_loop_is_its_definition(after, per):
    rng = np.random.default_rng(7)
    restricted = rng.random((200, 144 if per == 1 else 12, 3)) < 0.6
    restricted[:20] = False  # some draws never restricted: never switched
    step = np.empty((200, 3), dtype=np.int64)
    switch_steps_loop(np.ascontiguousarray(restricted), after, per, step)
    want = _switch_reference(restricted, after, per)
    assert np.array_equal(step, want)
    assert (want >= 0).any() and (want[:20] == -1).all()
