"""Scheme finance: a unit's cash flows under the notified rules, and what the treasury pays.

Everything is read from the scenario (`scheme` rules, `economics.finance`) and the engine's run
(how much the units actually sell, year by year). Money is INR inside and crore INR in reports.

Cash flow of a unit, per year from award to the end of its life:
    revenue + SLI + capital subsidy − capex − feed − non-feed opex − tax
- capex: ₹1,000 crore × (capacity / 1,200 t)^exponent, spread over the gestation years;
- production: the unit's ramped capacity × the year's utilisation of all domestic units in the
  engine's run (demand- and feed-limited); after the horizon, the last year's utilisation;
- feed: the recipe (t of NdPr, Dy, Tb oxide per t of magnet, same coefficients as the engine) ×
  feed prices; non-feed opex = feed cost at base prices × (1 − s) / s, with s the rare-earth share
  of production cost;
- SLI: for `sli_years` from first production, min(bid × kg sold, 40 % of net sales), and in total
  at most capacity × sli_years × the per-kg cap;
- capital subsidy: 15 % of eligible investment, at most ₹150 crore × capacity / 1,200 t, paid in
  the first production year, not taxed;
- tax: on revenue + SLI − feed − opex − straight-line depreciation, losses carried forward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize

from repm.chain import Chain
from repm.errors import UserError
from repm.results import Results
from repm.rules import annual_mean, interp_path, ramp_share
from repm.scenario.schema import Scenario
from repm.units import INR_PER_CRORE, KG_PER_T

CRORE = INR_PER_CRORE


@dataclass(frozen=True)
class UnitSpec:
    unit_id: str
    capacity: float  # t/yr
    award_year: int
    first_year: int
    rampup_years: float
    sli_bid: float  # INR/kg
    scheme: bool = True


@dataclass(frozen=True)
class Levers:
    """Multipliers for sensitivity and Monte Carlo (1 = as in the scenario)."""

    price: float = 1.0
    capex: float = 1.0
    feed: float = 1.0
    fx: float = 1.0
    discount: float = 1.0
    price_path: np.ndarray | None = None  # per modelled year, revenue multiplier
    feed_path: np.ndarray | None = None  # per modelled year × material, feed price multiplier


def unit_specs(s: Scenario) -> list[UnitSpec]:
    if s.scheme is None:
        raise UserError(
            "this scenario has no `scheme` block; expected the scheme's rules to value units",
            where="scheme",
        )
    out = []
    for u in s.supply.units:
        if not u.scheme:
            continue
        award = int(
            u.award_year if u.award_year is not None else u.first_year - s.scheme.gestation_years
        )
        out.append(
            UnitSpec(
                u.name,
                u.capacity,
                award,
                u.first_year,
                u.rampup_years,
                u.sli_bid if u.sli_bid is not None else s.scheme.sli_bid,
            )
        )
    return out


def hypothetical_unit(s: Scenario, capacity: float, sli_bid: float | None = None) -> UnitSpec:
    """A unit of the given size on the scenario's scheme timing (the first scheme unit's, or the
    scheme's gestation from the horizon start)."""
    if s.scheme is None:
        raise UserError(
            "this scenario has no `scheme` block; expected scheme rules", where="scheme"
        )
    sch = s.scheme
    if not sch.unit_capacity_min - 1e-9 <= capacity <= sch.unit_capacity_max + 1e-9:
        raise UserError(
            f"{capacity:g} t/yr; expected {sch.unit_capacity_min:g}–{sch.unit_capacity_max:g} t/yr under the scheme",
            where="--unit",
        )
    if (
        sch.unit_capacity_step > 0
        and abs(capacity / sch.unit_capacity_step - round(capacity / sch.unit_capacity_step)) > 1e-9
    ):
        raise UserError(
            f"{capacity:g} t/yr; expected a multiple of {sch.unit_capacity_step:g} t/yr",
            where="--unit",
        )
    ref = next((u for u in s.supply.units if u.scheme), None)
    award = (
        int(ref.award_year)
        if ref is not None and ref.award_year is not None
        else int(s.horizon.start)
    )
    first = ref.first_year if ref is not None else int(award + sch.gestation_years)
    ramp = ref.rampup_years if ref is not None else 1.0
    bid = sch.sli_bid if sli_bid is None else sli_bid
    return UnitSpec(f"unit-{capacity:g}t", capacity, award, first, ramp, bid)


def check_bid(s: Scenario, bid: float) -> float:
    cap = s.scheme.sli_cap_per_kg  # type: ignore[union-attr]
    if bid < 0 or bid > cap + 1e-9:
        raise UserError(
            f"{bid:g} INR/kg; expected 0–{cap:g} INR/kg (the scheme's cap)", where="--sli-bid"
        )
    return bid


@dataclass(frozen=True)
class Context:
    """What cash flows need from the scenario and the engine's run, computed once."""

    scenario: Scenario
    years: np.ndarray  # modelled years
    utilisation: np.ndarray  # per modelled year
    grade_mix: np.ndarray  # modelled year × grade (of domestic production)
    oxide_per_kg: np.ndarray  # grade × material: kg oxide per kg magnet (oxide-fed units)
    incentive_price: np.ndarray | None = (
        None  # per modelled year: buyer support reaching makers, INR/kg
    )


def context(s: Scenario, chain: Chain, results: Results) -> Context:
    if s.economics.finance is None:
        raise UserError(
            "missing; expected the unit-economics block to value units", where="economics.finance"
        )
    ds = results.data
    prod = ds.production.mean("draw").sum("feed")  # year × grade
    cap = ds.capacity.sum("feed").values
    total = prod.sum("grade").values
    util = np.divide(total, cap, out=np.ones_like(total), where=cap > 0)
    mix = np.divide(
        prod.values, total[:, None], out=np.full(prod.shape, np.nan), where=total[:, None] > 0
    )
    # years without production: the mix of the bare channel's demand
    bare = chain.demand_bare.sum("sector").values
    mix = np.where(np.isnan(mix), bare / bare.sum(axis=1, keepdims=True), mix)
    oxide = chain.oxide_per_magnet.values  # grade × material
    support = (chain.incentive["per_kg"] * chain.incentive["pass_through"]).values
    return Context(s, chain.years, np.clip(util, 0, 1), mix, oxide, support)


def cash_flows(
    ctx: Context, unit: UnitSpec, lv: Levers = Levers(), price_basis: str = "reference"
) -> pd.DataFrame:
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
    price_pts = (
        fin.magnet_price
        if price_basis == "reference"
        else {y: v * fin.china_landed_markup for y, v in fin.china_price.items()}
    )
    price = interp_path(price_pts, years) * lv.price * (lv.fx if price_basis == "china" else 1.0)
    if lv.price_path is not None:
        price = price * np.where(in_h, lv.price_path[idx], 1.0)
    if ctx.incentive_price is not None:  # the part of a buyer incentive that reaches the maker
        price = price + np.where(in_h, ctx.incentive_price[idx], 0.0)
    MATERIALS = ctx.scenario.definition.material_names
    feed_p = (
        np.array([fin.feed_prices.get(m, 0.0) for m in MATERIALS]) * lv.feed * lv.fx
    )  # INR/kg (USD-priced)
    feed_p = feed_p * np.where(np.array(MATERIALS) == "ndpr_oxide", fin.irel_oxide_price_ratio, 1.0)
    per_kg_feed_grade = ctx.oxide_per_kg * feed_p[None, :]  # grade × material INR per kg magnet
    if lv.feed_path is not None:
        fmult = np.where(in_h[:, None], lv.feed_path[idx], 1.0)  # year × material
        feed_per_kg = np.einsum("yg,gm,ym->y", ctx.grade_mix[idx], per_kg_feed_grade, fmult)
    else:
        feed_per_kg = np.einsum("yg,gm->y", ctx.grade_mix[idx], per_kg_feed_grade)
    non_feed_per_kg = non_feed_opex_per_kg(s, ctx.oxide_per_kg)

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
    sli_raw = np.where(
        sli_window & unit.scheme,
        np.minimum(unit.sli_bid * kg, sch.sli_cap_share_of_sales * revenue),
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
    df = pd.DataFrame(
        {
            "year": years, "production": q_t, "price": price, "revenue": revenue, "feed": feed, "opex": opex,
            "capex": capex, "sli": sli, "capital_subsidy": capsub, "depreciation": dep, "tax": tax, "net": net,
        }
    )  # fmt: skip
    for c in (
        "revenue",
        "feed",
        "opex",
        "capex",
        "sli",
        "capital_subsidy",
        "depreciation",
        "tax",
        "net",
    ):
        df[c] = df[c] / CRORE  # crore INR
    df.attrs["capex_total"] = capex_total / CRORE
    return df


def non_feed_opex_per_kg(s: Scenario, oxide_per_kg: np.ndarray) -> float:
    """Conversion cost (INR/kg magnet) from the rare-earth share of cost of an ordinary (no heavy
    RE) magnet at base feed prices: the 60–70 % share is quoted for N grades, and Dy does not
    raise conversion costs. One rule, used by finance and the planner. oxide_per_kg: grade ×
    material, kg oxide per kg magnet."""
    fin = s.economics.finance
    model = s.definition
    light = next(g for g in model.grade_names if g not in model.heavy_grades)
    base_feed = float(
        oxide_per_kg[model.grade_names.index(light)]
        @ np.array([fin.feed_prices.get(m, 0.0) for m in model.material_names])
    )
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


def unit_metrics(
    ctx: Context, unit: UnitSpec, lv: Levers = Levers(), price_basis: str = "reference"
) -> dict:
    fin = ctx.scenario.economics.finance
    df = cash_flows(ctx, unit, lv, price_basis)
    rate = fin.discount_rate * lv.discount
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
        "sli_cut_by_sales_cap": bool(
            (
                df["sli"].values + 1e-12
                < unit.sli_bid * df["production"].values * KG_PER_T / CRORE - 1e-9
            ).any()
        ),
        "cash_flows": df,
    }


def breakeven_sli(ctx: Context, unit: UnitSpec) -> tuple[float | None, str]:
    """The SLI bid at which NPV = 0, or a plain statement why none exists within the caps."""
    sch = ctx.scenario.scheme
    f = lambda b: unit_metrics(ctx, replace(unit, sli_bid=b))["npv"]  # noqa: E731
    lo, hi = f(0.0), f(sch.sli_cap_per_kg)
    price0 = float(
        interp_path(ctx.scenario.economics.finance.magnet_price, np.array([unit.first_year]))[0]
    )
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
    """The magnet price (first production year, INR/kg) at which NPV = 0."""
    fin = ctx.scenario.economics.finance
    p0 = float(interp_path(fin.magnet_price, np.array([unit.first_year]))[0])
    f = lambda k: unit_metrics(ctx, unit, Levers(price=k))["npv"]  # noqa: E731
    if f(1e-6) > 0:
        return 0.0, "the unit pays at any price"
    if f(20.0) < 0:
        return None, "no breakeven price below 20× the reference price"
    k = optimize.brentq(f, 1e-6, 20.0, xtol=1e-9)
    return float(
        k * p0
    ), f"NPV = 0 at a magnet price of ₹{k * p0:,.0f}/kg (reference ₹{p0:,.0f}/kg)"


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


SENSITIVITY = (
    ("price", "magnet price"),
    ("capex", "capex"),
    ("feed", "feed prices"),
    ("fx", "INR/USD rate"),
    ("discount", "discount rate"),
)


def tornado(ctx: Context, unit: UnitSpec, swing: float = 0.2) -> pd.DataFrame:
    """One-at-a-time ±swing on each lever; rows sorted by the NPV range."""
    base = unit_metrics(ctx, unit)["npv"]
    rows = []
    for key, label in SENSITIVITY:
        lo = unit_metrics(ctx, unit, Levers(**{key: 1 - swing}))["npv"]
        hi = unit_metrics(ctx, unit, Levers(**{key: 1 + swing}))["npv"]
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
    from repm.shocks import sample

    sh = sample(ctx.scenario.risk, chain, np.arange(draws), seed)
    Y = len(ctx.years)
    # annual mean price multiplier per draw × year × material
    mult = annual_mean(sh.prices_at, Y)
    mags = [chain.materials.index(chain.model.form("magnet", g)) for g in chain.grades]
    values = []
    for d in range(draws):
        rev = np.einsum("yg,yg->y", ctx.grade_mix, mult[d][:, mags])  # revenue-weighted by grade
        values.append(unit_metrics(ctx, unit, Levers(price_path=rev, feed_path=mult[d]))["npv"])
    v = np.array(values)
    return {
        "draws": draws,
        "seed": seed,
        "p05": float(np.quantile(v, 0.05)),
        "p50": float(np.quantile(v, 0.5)),
        "p95": float(np.quantile(v, 0.95)),
        "mean": float(v.mean()),
    }
