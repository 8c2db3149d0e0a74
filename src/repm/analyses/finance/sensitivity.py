"""How a unit's NPV moves: a tornado over its main inputs and Monte Carlo price paths."""

from __future__ import annotations

import numpy as np
import pandas as pd

from repm.analyses.finance.cashflow import Context, unit_npv
from repm.analyses.finance.units import Levers, UnitSpec
from repm.chain import Chain
from repm.chain.rules import annual_mean

SENSITIVITY = (
    ("price", "magnet price"),
    ("capex", "capex"),
    ("feed", "feed prices"),
    ("fx", "INR/USD rate"),
    ("discount", "discount rate"),
)


def tornado(ctx: Context, unit: UnitSpec, swing: float = 0.2) -> pd.DataFrame:
    """One-at-a-time ±swing on each lever; rows sorted by the NPV range."""
    base = unit_npv(ctx, unit)
    rows = []
    for key, label in SENSITIVITY:
        lo = unit_npv(ctx, unit, Levers(**{key: 1 - swing}))
        hi = unit_npv(ctx, unit, Levers(**{key: 1 + swing}))
        rows.append(
            {
                "lever": label,
                "low": 1 - swing,
                "high": 1 + swing,
                "npv_low": lo,
                "npv_high": hi,
                "npv_base": base,
            }
        )
    df = pd.DataFrame(rows)
    df["range"] = (df["npv_high"] - df["npv_low"]).abs()
    return df.sort_values("range", ascending=False).reset_index(drop=True)


def montecarlo(ctx: Context, chain: Chain, unit: UnitSpec, draws: int, seed: int) -> dict:
    """NPV percentiles over price paths from the risk sampler's price multipliers."""
    from repm.simulate.shocks import sample

    sh = sample(ctx.scenario.risk, chain, np.arange(draws), seed)
    Y = len(ctx.years)
    # annual mean price multiplier per draw × year × material
    mult = annual_mean(sh.prices_at, Y)
    mags = [chain.materials.index(chain.model.form("magnet", g)) for g in chain.grades]
    values = []
    for d in range(draws):
        rev = np.einsum("yg,yg->y", ctx.grade_mix, mult[d][:, mags])  # revenue-weighted by grade
        values.append(unit_npv(ctx, unit, Levers(price_path=rev, feed_path=mult[d])))
    v = np.array(values)
    return {
        "draws": draws,
        "seed": seed,
        "p05": float(np.quantile(v, 0.05)),
        "p50": float(np.quantile(v, 0.5)),
        "p95": float(np.quantile(v, 0.95)),
        "mean": float(v.mean()),
    }
