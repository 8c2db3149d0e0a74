"""A Plan: the decisions the engine simulates — capacity, sourcing shares, stockpiles.

`default_plan` reads them from the compiled chain (the scenario as written); the optimizer
(issue 4) writes the same object, so any plan, optimized or hand-written, is tested the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

from repm.chain import Chain


@dataclass(frozen=True)
class Plan:
    capacity: xr.DataArray  # year × feed, effective magnet capacity, t/yr
    import_share: xr.DataArray  # origin × material
    stockpile: xr.DataArray  # material, t held at the start


def default_plan(chain: Chain) -> Plan:
    return Plan(
        capacity=chain.capacity, import_share=chain.import_share, stockpile=chain.stockpile0
    )
