"""A unit's cash flows under the notified rules, NPV, IRR, payback, LCOM and breakevens."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize

from repm.analyses.finance.units import Levers, UnitSpec
from repm.chain import Chain
from repm.chain.rules import base_index, ramp_share
from repm.errors import UserError
from repm.model.units import INR_PER_CRORE, KG_PER_T
from repm.results.build import Results
from repm.scenario.schema import Scenario

CRORE = INR_PER_CRORE

AS_WRITTEN = Levers()  # every lever at 1: the scenario as written


@dataclass(frozen=True)
class Context:
    """What cash flows need from the scenario and the engine's run, computed once."""

    scenario: Scenario
    years: np.ndarray  # modelled years
    utilisation: np.ndarray  # per modelled year
    grade_mix: np.ndarray  # modelled year × grade (of domestic production)
    oxide_per_kg: np.ndarray  # grade × material: kg oxide per kg magnet (oxide-fed units)
    magnet_price: np.ndarray  # modelled year × grade, INR/kg (the grade's price outside China)
    china_price: np.ndarray  # modelled year × grade, INR/kg ex-works China (before landing)
    oxide_price: np.ndarray  # modelled year × material, INR/kg, what India's makers pay
    incentive_price: np.ndarray | None = (
        None  # per modelled year: buyer support reaching makers, INR/kg
    )
    base: int = 0  # index of the base year: its oxide prices set conversion costs
    export_mix: np.ndarray | None = None  # modelled year × grade: sold abroad, share of output
    export_price: np.ndarray | None = None  # modelled year × grade, INR/kg (chain.export_price)
    export_sli_share: float = 1.0  # share of export sales the SLI is paid on (demand.exports)


def context(s: Scenario, chain: Chain, results: Results) -> Context:
    """What valuing a unit reads of a run: its `results.data.variables` alone (a Dataset's, or a
    run's unlabelled: `repm.simulate.engine.Unlabelled`)."""
    if s.economics.finance is None:
        raise UserError(
            "missing; expected the unit-economics block to value units", where="economics.finance"
        )
    # the engine's layouts, its arrays as they are (numpy: a parameter sample values a unit too;
    # `ds.variables`: no DataArray made, ~20 µs each)
    ds = results.data.variables
    # draw × year × feed × grade → year × grade
    prod = ds["production"].values.mean(axis=0).sum(axis=1)
    cap = ds["capacity"].values.sum(axis=1)  # year × feed
    total = prod.sum(axis=1)
    util = np.divide(total, cap, out=np.ones_like(total), where=cap > 0)
    mix = np.divide(prod, total[:, None], out=np.full(prod.shape, np.nan), where=total[:, None] > 0)
    # years without production: the mix of the bare channel's demand
    bare = chain.demand_bare.values.sum(axis=1)  # year × sector × grade → year × grade
    mix = np.where(np.isnan(mix), bare / bare.sum(axis=1, keepdims=True), mix)
    oxide = chain.oxide_per_magnet_values  # grade × material
    sold = ds["magnet_exports"].values.mean(axis=0)  # year × grade
    export_mix = np.divide(sold, total[:, None], out=np.zeros_like(sold), where=total[:, None] > 0)
    inc = chain.incentive.variables
    support = inc["per_kg"].values * inc["pass_through"].values  # year
    ex = s.demand.exports
    return Context(
        s, chain.years, np.clip(util, 0, 1), mix, oxide, chain.magnet_price.values,
        chain.magnet_price_china.values, chain.oxide_price.values, support, base_index(chain),
        export_mix, chain.export_price_values, float(ex.sli_share) if ex is not None else 1.0,
    )  # fmt: skip


def cash_flows(
    ctx: Context, unit: UnitSpec, lv: Levers = AS_WRITTEN, price_basis: str = "grade"
) -> pd.DataFrame:
    """A unit's cash flows by year (crore INR). price_basis: 'grade' (each grade at its price
    from oxide prices), 'china' (the same grades ex-works China, landed) or 'reference' (the
    scheme's notified reference price for every grade)."""
    flows, capex_total = _flows(ctx, unit, lv, price_basis)
    capped = flows.pop("sli_sales_capped")
    sli_t = flows.pop("sli_t")
    df = pd.DataFrame(flows)
    df.attrs["capex_total"] = capex_total
    df.attrs["sli_sales_capped"] = capped
    # t/yr the SLI is paid on (production, less the exports it is not paid on); a tuple, as
    # pandas compares attrs when frames are joined
    df.attrs["sli_t"] = tuple(sli_t.tolist())
    return df


def _flows(
    ctx: Context, unit: UnitSpec, lv: Levers, price_basis: str
) -> tuple[dict[str, np.ndarray], float]:
    """`cash_flows`' columns as arrays (money in crore INR) and the total capex (crore INR)."""
    s = ctx.scenario
    fin, sch = s.economics.finance, s.scheme
    assert fin is not None and sch is not None
    life = int(round(fin.plant_life_years))
    years = np.arange(unit.award_year, unit.first_year + life)
    n = len(years)
    hor = ctx.years
    idx = np.clip(years - hor[0], 0, len(hor) - 1)  # beyond the horizon: the last modelled year
    in_h = (years >= hor[0]) & (years <= hor[-1])

    # the chain's ramp rule, over the unit's whole life (the horizon may end before it does)
    q_t = (
        unit.capacity * ramp_share(years, unit.first_year, unit.rampup_years) * ctx.utilisation[idx]
    )
    kg = q_t * KG_PER_T
    mix = ctx.grade_mix[idx]  # year × grade of what the unit sells
    abroad = np.zeros_like(mix) if ctx.export_mix is None else ctx.export_mix[idx]
    home = mix - abroad  # sold in India, at the basis price; abroad at the grade price + premium
    export_price = (
        np.einsum("yg,yg->y", abroad, ctx.export_price[idx])
        if ctx.export_price is not None
        else 0.0
    )
    if price_basis == "reference":  # the scheme's notified reference price, every grade
        price = home.sum(axis=1) * float(sch.reference_price) * lv.price
        price = price + export_price * lv.price * lv.fx
    else:  # each grade at its price (China's: the same grade ex-works China, landed)
        by_grade = (
            ctx.magnet_price
            if price_basis == "grade"
            else ctx.china_price * fin.china_landed_markup
        )
        price = (np.einsum("yg,yg->y", home, by_grade[idx]) + export_price) * lv.price * lv.fx
    if lv.price_path is not None:
        price = price * np.where(in_h, lv.price_path[idx], 1.0)
    if ctx.incentive_price is not None:  # the part of a buyer incentive that reaches the maker
        price = price + np.where(in_h, ctx.incentive_price[idx], 0.0)
    MATERIALS = ctx.scenario.definition.material_names
    irel = np.where(np.array(MATERIALS) == "ndpr_oxide", fin.irel_oxide_price_ratio, 1.0)
    feed_p = ctx.oxide_price[idx] * irel * lv.feed * lv.fx  # year × material, INR/kg
    if lv.feed_path is not None:
        feed_p = feed_p * np.where(in_h[:, None], lv.feed_path[idx], 1.0)
    feed_per_kg = np.einsum("yg,gm,ym->y", mix, ctx.oxide_per_kg, feed_p)
    non_feed_per_kg = non_feed_opex_per_kg(s, ctx.oxide_per_kg, ctx.oxide_price[ctx.base])

    revenue = kg * price
    feed = kg * feed_per_kg
    opex = kg * non_feed_per_kg
    capex_total = (
        fin.capex_reference
        * CRORE
        * (unit.capacity / fin.capex_reference_capacity) ** fin.capex_scaling_exponent
        * lv.capex
    )
    gest = list(range(unit.award_year, unit.first_year)) or [unit.first_year]
    capex = np.where(np.isin(years, gest), capex_total / len(gest), 0.0)

    sli_window = (years >= unit.first_year) & (years < unit.first_year + sch.sli_years)
    # kg the SLI is paid on: all sold in India, `export_sli_share` of those sold abroad
    sli_kg = kg * (1.0 - abroad.sum(axis=1) * (1.0 - ctx.export_sli_share))
    sli_raw = np.where(
        sli_window & unit.scheme,
        np.minimum(unit.sli_bid * sli_kg, sch.sli_cap_share_of_sales * revenue),
        0.0,
    )
    cap_total = unit.capacity * KG_PER_T * sch.sli_years * sch.sli_cap_per_kg
    sli = np.diff(np.concatenate([[0.0], np.minimum(np.cumsum(sli_raw), cap_total)]))
    sub_cap = sch.capital_subsidy_max * CRORE * unit.capacity / sch.unit_capacity_max
    capsub_total = (
        min(sch.capital_subsidy_rate * fin.eligible_investment_share * capex_total, sub_cap)
        if unit.scheme
        else 0.0
    )
    capsub = np.where(years == unit.first_year, capsub_total, 0.0)

    dep_years = fin.depreciation_years
    dep = np.where(
        (years >= unit.first_year) & (years < unit.first_year + dep_years),
        capex_total / dep_years,
        0.0,
    )
    taxable = revenue + sli - feed - opex - dep
    tax = np.zeros(n)
    carry = 0.0
    for i in range(n):
        t = taxable[i] - carry
        if t > 0:
            tax[i] = t * fin.tax_rate
            carry = 0.0
        else:
            carry = -t
    net = revenue + sli + capsub - capex - feed - opex - tax
    money = {
        "revenue": revenue, "feed": feed, "opex": opex, "capex": capex, "sli": sli,
        "capital_subsidy": capsub, "depreciation": dep, "tax": tax, "net": net,
    }  # fmt: skip
    flows = {"year": years, "production": q_t, "price": price}
    flows.update({c: np.asarray(v, dtype=float) / CRORE for c, v in money.items()})  # crore INR
    flows["sli_t"] = sli_kg / KG_PER_T
    # the 40 %-of-sales rule paid less than the bid in some year of the SLI window
    flows["sli_sales_capped"] = bool(
        np.any(
            sli_window
            & unit.scheme
            & (sch.sli_cap_share_of_sales * revenue < unit.sli_bid * sli_kg)
        )
    )
    return flows, capex_total / CRORE


def non_feed_opex_per_kg(s: Scenario, oxide_per_kg: np.ndarray, oxide_price: np.ndarray) -> float:
    """Conversion cost (INR/kg magnet) from the rare-earth share of cost of an ordinary (no heavy
    RE) magnet at the base year's oxide prices: the 60–70 % share is quoted for N grades, and Dy
    does not raise conversion costs. One rule, used by finance and the planner. oxide_per_kg:
    grade × material, kg oxide per kg magnet; oxide_price: by material, INR/kg."""
    fin = s.economics.finance
    heavy = [m for m in s.definition.names(kind="oxide") if s.definition.material(m).heavy]
    mi = [s.definition.material_names.index(m) for m in heavy]
    light = int(np.argmin(oxide_per_kg[:, mi].sum(axis=1)))  # the grade with least Dy/Tb
    base_feed = float(oxide_per_kg[light] @ np.asarray(oxide_price))
    return base_feed * (1 - fin.re_cost_share) / fin.re_cost_share


def npv(rate: float, flows: np.ndarray) -> float:
    """Net present value, the first flow undiscounted (numpy-financial's convention)."""
    t = np.arange(len(flows))
    return float(np.sum(np.asarray(flows) / (1.0 + rate) ** t))


def irr(flows: np.ndarray) -> float | None:
    """The rate at which NPV = 0 (None if NPV does not change sign on (−99 %, 1000 %))."""
    flows = np.asarray(flows, dtype=float)
    grid = np.concatenate([np.linspace(-0.95, 1.0, 400), np.linspace(1.0, 10.0, 100)])
    vals = np.array([npv(r, flows) for r in grid])
    sign = np.where(np.sign(vals[:-1]) != np.sign(vals[1:]))[0]
    if len(sign) == 0:
        return None
    i = sign[0]
    return float(
        optimize.brentq(lambda r: npv(r, flows), grid[i], grid[i + 1], xtol=1e-14, rtol=1e-12)
    )


def discount_rate(ctx: Context, lv: Levers = AS_WRITTEN) -> float:
    """The rate a unit's cash flows are discounted at: the scenario's, times the lever."""
    return ctx.scenario.economics.finance.discount_rate * lv.discount  # type: ignore[union-attr]


def unit_npv(
    ctx: Context, unit: UnitSpec, lv: Levers = AS_WRITTEN, price_basis: str = "grade"
) -> float:
    """A unit's NPV in crore INR: `unit_metrics(…)["npv"]` without the other metrics (the IRR
    is a search over hundreds of NPVs) — what a breakeven search or a parameter sample needs."""
    return npv(discount_rate(ctx, lv), _flows(ctx, unit, lv, price_basis)[0]["net"])


def unit_metrics(
    ctx: Context, unit: UnitSpec, lv: Levers = AS_WRITTEN, price_basis: str = "grade"
) -> dict:
    df = cash_flows(ctx, unit, lv, price_basis)
    rate = discount_rate(ctx, lv)
    disc = (1 + rate) ** -np.arange(len(df))
    pv_q = float((df["production"] * KG_PER_T * disc).sum())
    pv_cost = float(((df["capex"] + df["feed"] + df["opex"]) * disc).sum()) * CRORE
    pv_sub = float(((df["sli"] + df["capital_subsidy"]) * disc).sum()) * CRORE
    cum = np.cumsum(df["net"].values)
    pay = np.where(cum >= 0)[0]
    payback = None
    if len(pay) and cum[-1] >= 0:
        # first year after which the cumulative cash flow stays non-negative
        neg = np.where(cum < 0)[0]
        k = int(neg[-1] + 1) if len(neg) else 0
        payback = float(df["year"].iloc[k] - unit.award_year) if k < len(df) else None
    return {
        "unit_id": unit.unit_id,
        "capacity": unit.capacity,
        "sli_bid": unit.sli_bid,
        "npv": npv(rate, df["net"].values),
        "irr": irr(df["net"].values),
        "payback_years": payback,
        "lcom": pv_cost / pv_q if pv_q > 0 else None,
        "subsidy_per_kg": pv_sub / pv_q if pv_q > 0 else None,
        "capex": df.attrs["capex_total"],
        "sli_total": float(df["sli"].sum()),
        "capital_subsidy": float(df["capital_subsidy"].sum()),
        "sli_cut_by_sales_cap": df.attrs["sli_sales_capped"],
        "cash_flows": df,
    }


def breakeven_sli(ctx: Context, unit: UnitSpec) -> tuple[float | None, str]:
    """The SLI bid at which NPV = 0, or a plain statement why none exists within the caps."""
    sch = ctx.scenario.scheme
    f = lambda b: unit_npv(ctx, replace(unit, sli_bid=b))  # noqa: E731
    lo, hi = f(0.0), f(sch.sli_cap_per_kg)
    price0 = first_price(ctx, unit)
    eff = min(sch.sli_cap_per_kg, sch.sli_cap_share_of_sales * price0)
    if lo >= 0:
        return 0.0, f"the unit pays without SLI (NPV at a zero bid is {lo:,.0f} crore INR)"
    if hi < 0:
        return None, (
            f"no breakeven within the caps: even at the ₹{sch.sli_cap_per_kg:,.0f}/kg cap — effectively "
            f"₹{eff:,.0f}/kg once SLI is limited to {sch.sli_cap_share_of_sales:.0%} of net sales at "
            f"₹{price0:,.0f}/kg — NPV is {hi:,.0f} crore INR"
        )
    b = optimize.brentq(f, 0.0, sch.sli_cap_per_kg, xtol=1e-6)
    return float(b), f"NPV = 0 at an SLI bid of ₹{b:,.0f}/kg"


def breakeven_price(ctx: Context, unit: UnitSpec) -> tuple[float | None, str]:
    """The magnet price (first production year, INR/kg; the whole grade-price path scaled) at
    which NPV = 0."""
    p0 = first_price(ctx, unit)
    f = lambda k: unit_npv(ctx, unit, Levers(price=k))  # noqa: E731
    if f(1e-6) > 0:
        return 0.0, "the unit pays at any price"
    if f(20.0) < 0:
        return None, "no breakeven price below 20× the grade price"
    k = optimize.brentq(f, 1e-6, 20.0, xtol=1e-9)
    return float(
        k * p0
    ), f"NPV = 0 at a magnet price of ₹{k * p0:,.0f}/kg (its grade mix sells at ₹{p0:,.0f}/kg)"


def first_price(ctx: Context, unit: UnitSpec) -> float:
    """INR/kg the unit's grade mix sells at in its first production year (grade prices)."""
    i = int(np.clip(unit.first_year - ctx.years[0], 0, len(ctx.years) - 1))
    return float(ctx.grade_mix[i] @ ctx.magnet_price[i])
