"""Shocks: per-draw availability of each origin × material, and price multipliers.

The risk model (issue 3) samples these with a counter-based generator keyed by (seed, draw);
here is the container and the no-shock case the baseline uses (one draw, everything available).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repm.chain import Chain


@dataclass(frozen=True)
class Shocks:
    """availability: draw × step × origin × material in [0, 1] (broadcastable on the last two)."""

    availability: np.ndarray
    price_multiplier: np.ndarray | None = None

    @property
    def draws(self) -> int:
        return self.availability.shape[0]

    def at(self, step: int) -> np.ndarray:
        return self.availability[:, min(step, self.availability.shape[1] - 1)]


def no_shocks(chain: Chain, draws: int = 1) -> Shocks:
    """Everything available, every step: shape (draws, 1, 1, 1) broadcasts over the rest."""
    return Shocks(availability=np.ones((draws, 1, 1, 1)))
