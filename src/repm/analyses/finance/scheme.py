"""What the treasury pays: the scheme outlay by year against its cap, and the routes' costs."""

from __future__ import annotations

import pandas as pd

from repm.analyses.finance.cashflow import Context, cash_flows
from repm.analyses.finance.units import UnitSpec
from repm.results.build import Results


def outlay(ctx: Context, units: list[UnitSpec]) -> pd.DataFrame:
    """Treasury outlay by year (crore INR): SLI and capital subsidy over all scheme units."""
    frames = []
    for u in units:
        df = cash_flows(ctx, u)[["year", "sli", "capital_subsidy"]]
        df.attrs = {}
        frames.append(df)
    allf = pd.concat(frames).groupby("year", as_index=False).sum()
    allf["total"] = allf["sli"] + allf["capital_subsidy"]
    return allf[allf["total"] > 0].reset_index(drop=True)


ROUTE_COSTS = (
    ("tolling_fee_cost", "tolling fees"),
    ("overseas_cost", "overseas sources"),
    ("consumer_incentive_cost", "buyer support"),
)


def route_costs(results: Results) -> pd.DataFrame:
    """What the routes cost by year (crore INR), beside the scheme: tolling fees and overseas
    purchases (paid by whoever takes them), the buyer incentive (paid by the treasury). Only
    columns and years with something in them."""
    wide = results.wide_totals()
    cols = [name for name, _ in ROUTE_COSTS if name in wide and (wide[name] != 0).any()]
    out = wide[cols].reset_index()
    out.columns.name = None
    return out[(out[cols] != 0).any(axis=1)].reset_index(drop=True) if cols else out.iloc[0:0]


SEPARATION = (
    ("ndpr_oxide_revenue", "NdPr oxide"),
    ("coproduct_revenue", "co-products"),
    ("thorium_storage_cost", "thorium storage"),
)


def separation_side(results: Results) -> pd.DataFrame:
    """IREL's separation by year (crore INR): NdPr oxide and co-products at market prices, the
    thorium residue's storage, and what is left (before operating costs, which no source gives)."""
    wide = results.wide_totals()
    cols = [name for name, _ in SEPARATION if name in wide]
    out = wide[cols].reset_index()
    out.columns.name = None
    out["margin_before_opex"] = (
        out.get("ndpr_oxide_revenue", 0) + out.get("coproduct_revenue", 0)
        - out.get("thorium_storage_cost", 0)
    )  # fmt: skip
    return out


def outlay_check(ctx: Context, out: pd.DataFrame) -> dict:
    sch = ctx.scenario.scheme
    total, sli, cap = (
        float(out["total"].sum()),
        float(out["sli"].sum()),
        float(out["capital_subsidy"].sum()),
    )
    return {
        "total": total, "sli": sli, "capital_subsidy": cap,
        "outlay_cap": sch.outlay, "sli_cap": sch.sli_outlay, "capital_subsidy_cap": sch.capital_subsidy_outlay,
        "breach": total > sch.outlay + 1e-6 or sli > sch.sli_outlay + 1e-6 or cap > sch.capital_subsidy_outlay + 1e-6,
    }  # fmt: skip
