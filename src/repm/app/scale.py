"""What the model can represent: the mass balance is checked to 1e-6 t on every draw, and double
precision holds that only for flows up to about 1e9 t (16 significant digits). A stockpile of
10^15 t or demand grown 10-fold a year for 60 years broke the balance (residuals of 0.018 t up
to 10^43 t, reported as a bug). Such a scenario is refused before it runs, naming the field."""

from __future__ import annotations

import numpy as np

from repm.errors import UserError

MAX_TONNES = 1e9  # a year's flow or a stock, t (world NdFeB output is ~3e5 t/yr)

# the chain's arrays in tonnes, with the scenario fields they come from
TONNE_ARRAYS = (
    ("demand_total", "demand", "demand"),
    ("capacity_nameplate", "supply.units", "capacity"),
    ("separation_output", "supply.separation.output", "oxide output"),
    ("spare", "trade.spare", "spare supply"),
    ("stockpile0", "policy.stockpile", "stockpile"),
    ("history_inflow", "demand", "inflow before the horizon"),
    ("tolling_capacity", "routes.tolling", "tolling capacity"),
)


def check_scale(chain) -> None:
    """Refuse a compiled scenario whose flows or stocks the mass balance cannot hold."""
    for attr, field, what in TONNE_ARRAYS:
        arr = getattr(chain, attr, None)
        if arr is None or not hasattr(arr, "values"):
            continue
        values = np.asarray(arr.values, dtype=float)
        if values.size == 0:
            continue
        bad = ~np.isfinite(values) | (np.abs(values) > MAX_TONNES)
        if not bad.any():
            continue
        at = np.unravel_index(
            int(np.argmax(np.where(bad, np.abs(np.nan_to_num(values, nan=np.inf)), -1))),
            values.shape,
        )
        labels = ", ".join(
            f"{d} {arr[d].values[i]}" for d, i in zip(arr.dims, at, strict=True) if d in arr.coords
        )
        if arr.dims == ("material",):  # one field per material: name it
            field = f"{field}.{arr['material'].values[at[0]]}"
        raise UserError(
            f"{what} reaches {values[at]:.3g} t ({labels}); expected at most {MAX_TONNES:.0e} t: "
            "the mass balance is checked to 1e-6 t, which double precision cannot hold beyond that",
            where=field,
        )
