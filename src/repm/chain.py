"""Compile a validated Scenario once into dense, labelled arrays: the Chain.

Everything the engine (and later the planner) needs is here, with named dimensions: demand by
year × sector × grade and channel, capacity by year × feed route, the recipe tensor that turns
a tonne of fresh alloy into tonnes of each purchasable material, import shares and spare
capacity by origin × material, lifetime distributions by sector. One source of coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import optimize, special, stats

from repm.chemistry import Chemistry
from repm.errors import UserError
from repm.facts import load_facts
from repm.model import ModelDefinition
from repm.rules import fresh_alloy_per_magnet, interp_path, ramp_share
from repm.scenario.schema import FEEDS, Scenario

HISTORY_YEARS = 30  # cohorts before the horizon, to seed in-use stocks and end-of-life flows


@dataclass(frozen=True)
class Chain:
    """The compiled supply chain. Arrays are xarray; `.values` feed the engine's hot loop."""

    name: str
    model: ModelDefinition  # what the chain is made of: grades, materials, elements, flows
    years: np.ndarray
    base_year: int  # the demand's first anchor year: growth shocks compound from it
    sectors: tuple[str, ...]
    origins: tuple[str, ...]
    demand_total: xr.DataArray  # year × sector, t/yr
    demand_bottom_up: xr.DataArray  # year × sector, t/yr, before calibration
    demand_bare: xr.DataArray  # year × sector × grade, t/yr
    demand_embedded: xr.DataArray  # year × sector × grade, t/yr
    grade_comp: xr.DataArray  # grade × element, kg/kg finished magnet
    material_comp: xr.DataArray  # material × element, kg/kg
    recipe: xr.DataArray  # feed × grade × material: t material per t fresh alloy
    capacity: xr.DataArray  # year × feed, effective (ramped) magnet capacity, t/yr
    capacity_nameplate: xr.DataArray  # year × unit, t/yr
    capacity_effective_unit: xr.DataArray  # year × unit, t/yr
    separation_output: xr.DataArray  # year, t NdPr oxide/yr
    irel_to_units_max: float  # t/yr
    monazite_per_t_oxide: float  # t monazite per t NdPr oxide separated
    monazite_comp: xr.DataArray  # element, kg/kg monazite
    concentrate_per_t_monazite: float  # t NdPr oxide (in REO) recovered by cracking per t monazite
    yields: dict[str, float]
    import_share: xr.DataArray  # origin × material
    spare: xr.DataArray  # origin × material, t/yr
    lifetime_pmf: xr.DataArray  # sector × age, share of a cohort leaving at that age
    history_inflow: xr.DataArray  # sector × grade × hist_year, t/yr before the horizon
    priority_tier: xr.DataArray  # sector -> tier index (0 first)
    stockpile0: xr.DataArray  # material, t
    collection_rate: float
    recycling_recovery: float
    working_stock_months: float
    working_stock_refill_months: float
    chem: Chemistry
    # routes (issue 6): tolling abroad, overseas sources, export retention, buyer support
    tolling_capacity: xr.DataArray  # year × route, magnets a partner makes for India, t/yr
    tolling: xr.Dataset  # per route: grade, lead_months, partner, first, fee (INR/kg); exposure
    overseas_oxide: (
        xr.DataArray
    )  # year × source, NdPr oxide it can deliver (after separation), t/yr
    overseas: xr.Dataset  # per source: country, product tonnes per t oxide, price, stake_cost
    retention: xr.DataArray  # year, share of IREL's unused oxide kept in India
    incentive: xr.Dataset  # year: per_kg (INR/kg), pass_through; attrs: budget (crore INR)
    governance_risk: xr.DataArray  # origin, 0 … 1
    world_hhi: xr.DataArray  # material, HHI of world output of its group
    env_intensity: xr.DataArray  # stage × quantity, per t of the stage's output
    u3o8_fraction: float

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def grades(self) -> tuple[str, ...]:
        return self.model.grade_names

    @property
    def materials(self) -> tuple[str, ...]:
        return self.model.material_names

    @property
    def elements(self) -> tuple[str, ...]:
        return self.model.element_names

    @property
    def fresh_alloy_per_magnet(self) -> float:
        """t of fresh alloy per t of finished magnet: 1 / alloy→magnet yield, less the machining
        scrap re-melted into alloy."""
        return fresh_alloy_per_magnet(self.yields["alloy_to_magnet"], self.yields["scrap_return"])

    @property
    def oxide_per_magnet(self) -> xr.DataArray:
        """grade × material: t per t of magnet made from oxide (the oxide route's recipe)."""
        return self.recipe.sel(feed="oxide", drop=True) * self.fresh_alloy_per_magnet


def _total_path(anchors: dict[int, float], growth_after: float, years: np.ndarray) -> np.ndarray:
    """Demand total: geometric between anchors, back-cast before the first with the first
    interval's growth, and `growth_after` after the last anchor."""
    ay = sorted(anchors)
    out = np.empty(len(years))
    first_growth = (
        (anchors[ay[1]] / anchors[ay[0]]) ** (1 / (ay[1] - ay[0])) - 1
        if len(ay) > 1
        else growth_after
    )
    for i, y in enumerate(years):
        if y <= ay[0]:
            out[i] = anchors[ay[0]] * (1 + first_growth) ** (y - ay[0])
        elif y >= ay[-1]:
            out[i] = anchors[ay[-1]] * (1 + growth_after) ** (y - ay[-1])
        else:
            k = max(j for j in range(len(ay)) if ay[j] <= y)
            y0, y1 = ay[k], ay[k + 1]
            g = (anchors[y1] / anchors[y0]) ** (1 / (y1 - y0))
            out[i] = anchors[y0] * g ** (y - y0)
    return out


def lifetime_pmf(mean: float, cv: float, distribution: str, n_ages: int) -> np.ndarray:
    """Share of a cohort reaching end of life at each whole age 0..n_ages-1 (scipy.stats)."""
    sd = mean * cv
    if distribution == "normal":
        dist = stats.norm(loc=mean, scale=sd)
    elif distribution == "lognormal":
        sigma = np.sqrt(np.log(1 + cv**2))
        dist = stats.lognorm(s=sigma, scale=mean / np.sqrt(1 + cv**2))
    else:  # weibull: solve the shape k for the coefficient of variation

        def cv_of(k: float) -> float:
            g1, g2 = special.gamma(1 + 1 / k), special.gamma(1 + 2 / k)
            return np.sqrt(g2 / g1**2 - 1) - cv

        k = optimize.brentq(cv_of, 0.05, 100.0)
        dist = stats.weibull_min(c=k, scale=mean / special.gamma(1 + 1 / k))
    edges = np.concatenate([[-np.inf], np.arange(n_ages) + 0.5])
    cdf = dist.cdf(edges)
    return np.diff(cdf)  # age 0 takes everything up to 0.5 (and any mass below zero)


def compile_chain(s: Scenario) -> Chain:
    """Turn a validated scenario into arrays. Raises UserError for inconsistent combinations."""
    facts = load_facts()
    chem = Chemistry.from_facts(facts)
    model = s.definition
    GRADES, MATERIALS, ELEMENTS = model.grade_names, model.material_names, model.element_names
    years = np.array(s.horizon.years)
    d = s.demand
    sectors = tuple(d.sectors)
    base = d.base_year
    total = _total_path(d.anchors, d.growth_after_anchors, years)
    base_total = _total_path(d.anchors, d.growth_after_anchors, np.array([base]))[0]

    base_t: dict[str, float] = {}
    for name, sec in d.sectors.items():
        if sec.basis == "driver":
            try:
                base_t[name] = sec.base_tonnes()
            except ValueError as exc:
                raise UserError(str(exc), where=f"demand.sectors.{name}") from None
        elif sec.basis == "share":
            base_t[name] = sec.share * base_total  # type: ignore[operator]
    residual = [n for n, sec in d.sectors.items() if sec.basis == "residual"]
    if residual:
        rest = base_total - sum(base_t.values())
        if rest < 0:
            raise UserError(
                f"residual base-year demand is {rest:,.0f} t: the other sectors ({sum(base_t.values()):,.0f} t) "
                f"exceed the {base} total of {base_total:,.0f} t; expected them to leave a non-negative rest",
                where=f"demand.sectors.{residual[0]}",
            )
        base_t[residual[0]] = rest
    bottom = np.array(
        [[base_t[n] * (1 + d.sectors[n].growth) ** (y - base) for n in sectors] for y in years]
    )
    if d.calibration == "anchored":
        sums = bottom.sum(axis=1, keepdims=True)
        if np.any(sums <= 0):
            raise UserError(
                "sectors add up to zero demand; expected some demand to calibrate",
                where="demand.sectors",
            )
        dem = total[:, None] * bottom / sums
    else:
        dem = bottom

    if d.channels.bare_base > base_total + 1e-9:
        raise UserError(
            f"{d.channels.bare_base:,.0f} t/yr exceeds the {base} demand of {base_total:,.0f} t/yr; "
            "expected the bare channel to be part of demand",
            where="demand.channels.bare_base",
        )
    beta = d.channels.bare_base / base_total
    loc = interp_path(d.channels.localization, years)
    bare_share = beta + (1 - beta) * loc  # year
    grade_split = np.array(
        [list(d.sectors[n].mix(model).values()) for n in sectors]
    )  # sector × grade
    ci = s.routes.consumer_incentive
    ci_on = (
        (years >= ci.start_year) & (years <= ci.end_year)
        if ci is not None
        else np.zeros(len(years), bool)
    )
    if ci is not None:  # buyers supported to buy Indian magnets bring sub-assembly imports home
        bare_share = np.where(
            ci_on, bare_share + ci.localization_shift * (1 - bare_share), bare_share
        )
    bare = dem[:, :, None] * bare_share[:, None, None] * grade_split[None]
    emb = dem[:, :, None] * (1 - bare_share)[:, None, None] * grade_split[None]

    # composition: a grade's content of each separated product (kg/kg), split into its elements
    ei = {e: i for i, e in enumerate(ELEMENTS)}
    gc = np.zeros((len(GRADES), len(ELEMENTS)))
    for gi, g in enumerate(GRADES):
        gr = s.supply.grades[g]
        for p, sep in model.separated.items():
            for e, share in _element_shares(chem, sep.elements).items():
                gc[gi, ei[e]] = getattr(gr, p) * share if len(sep.elements) > 1 else getattr(gr, p)
    mc = np.zeros((len(MATERIALS), len(ELEMENTS)))
    mi = {m: i for i, m in enumerate(MATERIALS)}
    f_ox = {p: _oxide_per_metal(chem, sep.elements) for p, sep in model.separated.items()}
    for p, sep in model.separated.items():
        for e, share in _element_shares(chem, sep.elements).items():
            mc[mi[f"{p}_oxide"], ei[e]] = share / f_ox[p]
            mc[mi[f"{p}_metal"], ei[e]] = share
    for gi, g in enumerate(GRADES):
        for kind in model.grade_forms:
            mc[mi[model.form(kind, g)]] = gc[gi]

    y = s.supply.yields
    ylds = {
        "cracking_reo_per_t_monazite": y.cracking_reo_per_t_monazite,
        "sx_recovery": y.sx_recovery,
        "oxide_to_metal": y.oxide_to_metal,
        "alloy_making": y.alloy_making,
        "alloy_to_magnet": y.alloy_to_magnet,
        "scrap_return": y.scrap_return,
    }
    mz = s.supply.monazite
    if y.cracking_reo_per_t_monazite > mz.reo_fraction + 1e-12:
        raise UserError(
            f"{y.cracking_reo_per_t_monazite:g} t REO per t monazite exceeds the monazite's REO content "
            f"{mz.reo_fraction:g}; expected recovery ≤ content",
            where="supply.yields.cracking_reo_per_t_monazite",
        )

    # recipe: t of material per t of fresh alloy, by feed route and grade
    recipe = np.zeros((len(FEEDS), len(GRADES), len(MATERIALS)))
    products = list(model.separated)
    for gi, g in enumerate(GRADES):
        content = [_content(gc[gi], ei, model.separated[p].elements) for p in products]
        metal = np.array(content) / y.alloy_making
        recipe[FEEDS.index("alloy"), gi, mi[model.form("alloy", g)]] = 1.0
        recipe[FEEDS.index("metal"), gi, [mi[f"{p}_metal"] for p in products]] = metal
        recipe[FEEDS.index("oxide"), gi, [mi[f"{p}_oxide"] for p in products]] = (
            metal / y.oxide_to_metal * np.array([f_ox[p] for p in products])
        )

    # capacity
    units = s.supply.units
    unit_names = [u.name for u in units]
    plate = np.zeros((len(years), len(units)))
    eff = np.zeros_like(plate)
    for ui, u in enumerate(units):
        plate[:, ui] = np.where(years >= u.first_year, u.capacity, 0.0)
        eff[:, ui] = u.capacity * ramp_share(years, u.first_year, u.rampup_years)
    cap = np.zeros((len(years), len(FEEDS)))
    for ui, u in enumerate(units):
        cap[:, FEEDS.index(u.feed)] += eff[:, ui]

    # domestic separation, limited by capacity and by monazite the mines and crackers can supply
    conc_per_t = y.cracking_reo_per_t_monazite * mz.ndpr_share_of_reo
    oxide_per_t_monazite = conc_per_t * y.sx_recovery
    sep = s.supply.separation
    path = interp_path(sep.output, years)
    feed_limit = min(s.supply.mining_capacity, s.supply.cracking_capacity) * oxide_per_t_monazite
    sep_out = np.minimum(np.minimum(path, sep.capacity), feed_limit)
    th_frac = chem.mass_fraction({"Th": 1, "O": 2}, "Th")
    monazite_comp = mz.reo_fraction * mz.ndpr_share_of_reo * mc[mi["ndpr_oxide"]]
    monazite_comp[ei["Th"]] = mz.tho2_fraction * th_frac

    # trade
    origins = tuple(s.trade.origins)
    share = np.zeros((len(origins), len(MATERIALS)))
    spare = np.zeros_like(share)
    # an origin's spare capacity is for its material group as a whole: split it over the group's
    # materials (by base-year grade mix for alloys and magnets, by Dy:Tb content for heavy rare
    # earths) so that two grades never both get the full amount
    b = list(years).index(base) if base in years else 0
    grade_w = {
        "bare": bare[b].sum(axis=0) / max(bare[b].sum(), 1e-12),
        "emb": emb[b].sum(axis=0) / max(emb[b].sum(), 1e-12),
    }
    # separated products sharing a group (Dy and Tb: 'heavy') split it by their content, summed
    # over grade classes
    content = {p: _content(gc.sum(axis=0), ei, sep.elements) for p, sep in model.separated.items()}

    def spare_weight(mat) -> float:
        if mat.grade is not None:
            w = grade_w["emb" if mat.kind == "embedded" else "bare"]
            return float(w[GRADES.index(mat.grade)])
        peers = [
            p for p in model.separated if f"{p}_{mat.kind}" in mi
            and model.material_group[f"{p}_{mat.kind}"] == mat.trade_group
        ]  # fmt: skip
        if len(peers) == 1:
            return 1.0
        total = sum(content[p] for p in peers)
        weights = [content[p] / total if total > 0 else 1.0 / len(peers) for p in peers]
        weights[-1] = 1 - sum(weights[:-1])  # the shares add up to exactly 1
        return weights[peers.index(mat.name.removesuffix(f"_{mat.kind}"))]

    for mat in model.materials:
        m, group = mat.name, mat.trade_group
        for o, v in s.trade.shares[group].items():
            share[origins.index(o), mi[m]] = v
        for o, v in s.trade.spare.get(group, {}).items():
            spare[origins.index(o), mi[m]] = v * spare_weight(mat)

    # lifetimes and history
    n_ages = HISTORY_YEARS + len(years) + 1
    pmf = np.array(
        [
            lifetime_pmf(
                d.sectors[n].lifetime.mean,
                d.sectors[n].lifetime.cv,
                d.sectors[n].lifetime.distribution,
                n_ages,
            )
            for n in sectors
        ]
    )
    hist_years = np.arange(years[0] - HISTORY_YEARS, years[0])
    start_dem = dem[0][:, None] * grade_split  # sector × grade in the first year
    hist = (
        start_dem[:, :, None]
        * (1 + d.growth_before_horizon) ** (hist_years - years[0])[None, None, :]
    )

    tiers = {s_: i for i, tier in enumerate(s.policy.sector_priority) for s_ in tier}
    tier = np.array([tiers.get(n, len(s.policy.sector_priority)) for n in sectors])
    stock0 = np.array([s.policy.stockpile.get(m, 0.0) for m in MATERIALS])

    routes = _routes(s, model, years, ci_on, y, oxide_per_t_monazite, conc_per_t, origins)
    yr = {"year": years}
    return Chain(
        **routes,
        name=s.name,
        model=model,
        years=years,
        base_year=int(base),
        sectors=sectors,
        origins=origins,
        demand_total=xr.DataArray(
            dem, dims=("year", "sector"), coords={**yr, "sector": list(sectors)}
        ),
        demand_bottom_up=xr.DataArray(
            bottom, dims=("year", "sector"), coords={**yr, "sector": list(sectors)}
        ),
        demand_bare=xr.DataArray(
            bare,
            dims=("year", "sector", "grade"),
            coords={**yr, "sector": list(sectors), "grade": list(GRADES)},
        ),
        demand_embedded=xr.DataArray(
            emb,
            dims=("year", "sector", "grade"),
            coords={**yr, "sector": list(sectors), "grade": list(GRADES)},
        ),
        grade_comp=xr.DataArray(
            gc, dims=("grade", "element"), coords={"grade": list(GRADES), "element": list(ELEMENTS)}
        ),
        material_comp=xr.DataArray(
            mc,
            dims=("material", "element"),
            coords={"material": list(MATERIALS), "element": list(ELEMENTS)},
        ),
        recipe=xr.DataArray(
            recipe,
            dims=("feed", "grade", "material"),
            coords={"feed": list(FEEDS), "grade": list(GRADES), "material": list(MATERIALS)},
        ),
        capacity=xr.DataArray(cap, dims=("year", "feed"), coords={**yr, "feed": list(FEEDS)}),
        capacity_nameplate=xr.DataArray(
            plate, dims=("year", "unit"), coords={**yr, "unit": unit_names}
        ),
        capacity_effective_unit=xr.DataArray(
            eff, dims=("year", "unit"), coords={**yr, "unit": unit_names}
        ),
        separation_output=xr.DataArray(sep_out, dims=("year",), coords=yr),
        irel_to_units_max=sep.to_units_max,
        monazite_per_t_oxide=1.0 / oxide_per_t_monazite,
        monazite_comp=xr.DataArray(
            monazite_comp, dims=("element",), coords={"element": list(ELEMENTS)}
        ),
        concentrate_per_t_monazite=conc_per_t,
        yields=ylds,
        import_share=xr.DataArray(
            share,
            dims=("origin", "material"),
            coords={"origin": list(origins), "material": list(MATERIALS)},
        ),
        spare=xr.DataArray(
            spare,
            dims=("origin", "material"),
            coords={"origin": list(origins), "material": list(MATERIALS)},
        ),
        lifetime_pmf=xr.DataArray(
            pmf, dims=("sector", "age"), coords={"sector": list(sectors), "age": np.arange(n_ages)}
        ),
        history_inflow=xr.DataArray(
            hist,
            dims=("sector", "grade", "hist_year"),
            coords={"sector": list(sectors), "grade": list(GRADES), "hist_year": hist_years},
        ),
        priority_tier=xr.DataArray(tier, dims=("sector",), coords={"sector": list(sectors)}),
        stockpile0=xr.DataArray(stock0, dims=("material",), coords={"material": list(MATERIALS)}),
        collection_rate=s.supply.recycling.collection_rate,
        recycling_recovery=s.supply.recycling.recovery,
        working_stock_months=s.policy.working_stock_months,
        working_stock_refill_months=s.policy.working_stock_refill_months,
        chem=chem,
    )


def _active(years: np.ndarray, start: float, end: float | None) -> np.ndarray:
    return (years >= start) & (years <= (end if end is not None else np.inf))


def _by_year(years: np.ndarray, items, amounts) -> np.ndarray:
    """year × item: each item's amount in the years it runs (start_year … end_year), else 0."""
    out = np.zeros((len(years), len(items)))
    for k, (x, amount) in enumerate(zip(items, amounts, strict=True)):
        out[:, k] = amount * _active(years, x.start_year, x.end_year)
    return out


def _world_hhi(shares: dict[str, float]) -> float:
    """HHI of world output from the listed producers' shares (what is not listed counts as
    many small producers, adding nothing)."""
    return float(sum(v * v for v in shares.values()))


def _element_shares(chem: Chemistry, elements) -> dict[str, float]:
    """Each element's share by mass of a separated product (NdPr at the model's Nd:Pr split)."""
    if len(elements) == 1:
        return {elements[0]: 1.0}
    if set(elements) == {"Nd", "Pr"}:
        return chem.ndpr_split()
    raise UserError(f"no composition rule for a product of {'+'.join(elements)}", where="model")


def _oxide_per_metal(chem: Chemistry, elements) -> float:
    """kg of the product's oxide per kg of its metal."""
    if set(elements) == {"Nd", "Pr"}:
        return chem.ndpr_oxide_per_metal
    return chem.oxide_per_metal(elements[0])


def _content(row: np.ndarray, ei: dict[str, int], elements) -> float:
    """kg of a separated product per kg, from its elements' contents (summed in element order)."""
    total = 0.0
    for e in sorted(elements, key=ei.__getitem__):
        total = total + row[ei[e]]
    return float(total)


def _routes(
    s: Scenario, model: ModelDefinition, years, ci_on, y, oxide_per_t_monazite, conc_per_t, origins
) -> dict:
    """The route, supply-risk and ledger arrays of the Chain."""
    GRADES, MATERIALS = model.grade_names, model.material_names
    r = s.routes
    yr = {"year": years}
    names = [t.name for t in r.tolling]
    cap = _by_year(years, r.tolling, [t.capacity for t in r.tolling])
    exposure = np.zeros((len(names), len(origins)))
    for i, t in enumerate(r.tolling):
        for o, v in t.exposed_to.items():
            exposure[i, origins.index(o)] = v
    tolling = xr.Dataset(
        {
            "grade": (
                "route",
                np.array([GRADES.index(t.grade) for t in r.tolling], dtype=np.int64),
            ),
            "lead_months": (
                "route",
                np.array([t.lead_time_months for t in r.tolling], dtype=float),
            ),
            "partner": (
                "route",
                np.array([origins.index(t.partner) for t in r.tolling], dtype=np.int64),
            ),
            "first": (
                "route",
                np.array([t.oxide_priority == "first" for t in r.tolling], dtype=bool),
            ),
            "fee": ("route", np.array([t.fee for t in r.tolling], dtype=float)),
            "exposure": (("route", "origin"), exposure),
        },
        coords={"route": names, "origin": list(origins)},
    )
    src = [m.name for m in r.overseas]
    # t of NdPr oxide per t of product: separated oxide 1; mixed REO separated in India
    ox_per_t = np.array(
        [
            1.0 if m.product == "ndpr_oxide" else m.ndpr_share_of_reo * y.sx_recovery
            for m in r.overseas
        ]
    )
    ov = _by_year(years, r.overseas, [m.tonnes * ox_per_t[k] for k, m in enumerate(r.overseas)])
    overseas = xr.Dataset(
        {
            "country": (
                "source",
                np.array([origins.index(m.country) for m in r.overseas], dtype=np.int64),
            ),
            "mixed": (
                "source",
                np.array([m.product == "mixed_reo" for m in r.overseas], dtype=bool),
            ),
            "product_per_oxide": (
                "source",
                np.divide(1.0, ox_per_t, out=np.zeros_like(ox_per_t), where=ox_per_t > 0),
            ),
            "price": ("source", np.array([m.price for m in r.overseas], dtype=float)),
            "stake_cost": ("source", np.array([m.stake_cost for m in r.overseas], dtype=float)),
            "start_year": ("source", np.array([m.start_year for m in r.overseas], dtype=float)),
        },
        coords={"source": src},
    )
    er = r.export_retention
    retention = (
        np.where(_active(years, er.start_year, None), er.share, 0.0) if er else np.zeros(len(years))
    )
    ci = r.consumer_incentive
    incentive = xr.Dataset(
        {
            "per_kg": ("year", np.where(ci_on, ci.per_kg if ci else 0.0, 0.0)),
            "pass_through": ("year", np.where(ci_on, ci.pass_through if ci else 0.0, 0.0)),
        },
        coords=yr,
        attrs={"budget": float(ci.budget) if ci is not None and ci.budget is not None else np.inf},
    )
    gov = np.array([s.trade.governance_risk.get(o, 0.0) for o in origins])
    whhi = np.array(
        [_world_hhi(s.trade.world_production.get(model.material_group[m], {})) for m in MATERIALS]
    )
    quantities = ("energy", "water", "acid", "co2e")
    stages = model.stages
    inten = np.array(
        [[getattr(s.environment.intensity[st], q) if st in s.environment.intensity else 0.0 for q in quantities]
         for st in stages]
    )  # fmt: skip
    return {
        "tolling_capacity": xr.DataArray(
            cap, dims=("year", "route"), coords={**yr, "route": names}
        ),
        "tolling": tolling,
        "overseas_oxide": xr.DataArray(ov, dims=("year", "source"), coords={**yr, "source": src}),
        "overseas": overseas,
        "retention": xr.DataArray(retention, dims=("year",), coords=yr),
        "incentive": incentive,
        "governance_risk": xr.DataArray(gov, dims=("origin",), coords={"origin": list(origins)}),
        "world_hhi": xr.DataArray(whhi, dims=("material",), coords={"material": list(MATERIALS)}),
        "env_intensity": xr.DataArray(
            inten,
            dims=("stage", "quantity"),
            coords={"stage": list(stages), "quantity": list(quantities)},
        ),
        "u3o8_fraction": float(s.environment.u3o8_fraction),
    }
