"""Compile a validated Scenario once into dense, labelled arrays: the Chain.

Everything the engine, the planner and finance need is here, with named dimensions: demand by
year × sector × grade and channel, capacity by year × feed route, the recipe tensor that turns
a tonne of fresh alloy into tonnes of each purchasable material, import shares and spare
capacity by origin × material (the shares by year too where a group follows a year path),
lifetime distributions by sector. One source of coefficients; each part is built by its own
module (demand, composition, supply, routes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from repm.chain.basket import FLOWS as BASKET_FLOWS
from repm.chain.basket import basket
from repm.chain.chain import Chain
from repm.chain.composition import composition, recipe
from repm.chain.demand import demand, history, next_lower_grade
from repm.chain.labels import Labels, labelled
from repm.chain.memo import per_definition
from repm.chain.prices import prices
from repm.chain.routes import routes
from repm.chain.rules import fresh_alloy_per_magnet
from repm.chain.supply import capacity, trade, yields
from repm.model.chemistry import Chemistry
from repm.model.facts import FactTable, load_facts
from repm.scenario.schema import FEEDS, Scenario

# the import shares' dims: one split for the horizon, or by year where a group follows a year path
SHARE_DIMS = {2: ("origin", "material"), 3: ("year", "origin", "material")}
# the Chain's arrays read straight off one module's result and labelled: field → (module, key
# of its result — None: the result itself —, dims). `compile_chain` labels a scenario's, a
# block's `SampleChain` (repm.chain.batched.chains) sample i's row of the block's
LABELLED = {
    "demand_total": ("demand", "dem", ("year", "sector")),
    "demand_bottom_up": ("demand", "bottom", ("year", "sector")),
    "demand_bare": ("demand", "bare", ("year", "sector", "grade")),
    "demand_embedded": ("demand", "emb", ("year", "sector", "grade")),
    "export_demand": ("demand", "exports", ("year", "grade")),
    "grade_comp": ("composition", "gc", ("grade", "element")),
    "material_comp": ("composition", "mc", ("material", "element")),
    "recipe": ("recipe", None, ("feed", "grade", "material")),
    "capacity": ("capacity", "cap", ("year", "feed")),
    "capacity_nameplate": ("capacity", "plate", ("year", "unit")),
    "capacity_effective_unit": ("capacity", "eff", ("year", "unit")),
    "separation_output": ("basket", "sep_out", ("year",)),
    "monazite_processed": ("basket", "cracked", ("year",)),
    "monazite_bound": ("basket", "bound", ("year",)),
    "coproduct_price": ("prices", "coproduct", ("year", "product")),
    "spare": ("trade", "spare", ("origin", "material")),
    "lifetime_pmf": ("history", "pmf", ("sector", "age")),
    "history_inflow": ("history", "hist", ("sector", "grade", "hist_year")),
    "oxide_price": ("prices", "oxide", ("year", "material")),
    "oxide_price_china": ("prices", "oxide_china", ("year", "material")),
    "magnet_price": ("prices", "magnet", ("year", "grade")),
    "magnet_price_china": ("prices", "magnet_china", ("year", "grade")),
}  # fmt: skip


def chain_labels(model, years, sectors, origins, units, coproducts, n_ages, hist_years) -> Labels:
    """The labels of a chain's dims (`LABELLED`'s coordinates)."""
    return Labels.of({
        "year": years, "sector": list(sectors), "grade": list(model.grade_names),
        "element": list(model.element_names), "material": list(model.material_names),
        "feed": list(FEEDS), "unit": units, "product": coproducts, "origin": list(origins),
        "age": np.arange(n_ages), "hist_year": hist_years,
    })  # fmt: skip


@per_definition
def _chemistry(facts: FactTable) -> Chemistry:
    """The fact table's stoichiometry: one object per table, so what is derived from it
    (composition's shares and oxide factors) is kept too."""
    return Chemistry.from_facts(facts)


def chemistry_of(s: Scenario) -> Chemistry:
    """The scenario's stoichiometry: the fact table's atomic weights, at the scenario's Nd:Pr
    split (supply.pr_share_of_ndpr; the table's when not set)."""
    return chemistry_at(s.supply.pr_share_of_ndpr)


def chemistry_at(share: float | None) -> Chemistry:
    """The fact table's stoichiometry at this Pr share of NdPr (None: the table's)."""
    chem = _chemistry(load_facts())
    if share is None or share == chem.pr_share:
        return chem
    return replace(chem, pr_share=float(share))


def compile_chain(s: Scenario, parts: Mapping[str, Any] | None = None) -> Chain:
    """Turn a validated scenario into arrays. Raises UserError for inconsistent combinations.
    `parts`: what some of the chain's modules return for this scenario, by module name
    (composition, demand, yields, recipe, capacity, trade, history, routes, basket, prices),
    computed elsewhere — a sample's slice of the batched modules (`repm.chain.batched`) — and
    used in place of calling them."""
    got = parts or {}

    def part(name: str, fn, *args):
        return got[name] if name in got else fn(*args)

    chem = chemistry_of(s)
    model = s.definition
    years = np.array(s.horizon.years)
    cp = part("composition", composition, s, model, chem)
    gc, ei, mi = cp["gc"], cp["ei"], cp["mi"]
    dm = part("demand", demand, s, model, years, gc)
    sectors, base, dem = dm["sectors"], dm["base"], dm["dem"]
    bare, emb, grade_split, ci_on = dm["bare"], dm["emb"], dm["grade_split"], dm["ci_on"]
    ylds = part("yields", yields, s)
    y = s.supply.yields
    recipe_ = part("recipe", recipe, s, model, gc, ei, mi, cp["f_ox"])
    ca = part("capacity", capacity, s, years)
    tr = part("trade", trade, s, model, years, base, bare, emb, gc, ei, mi)
    origins, share = tr["origins"], tr["share"]
    hs = part("history", history, s, years, dem, grade_split)

    po = policy(s, model, sectors, years)

    rt = part("routes", routes, s, model, years, ci_on, y, origins)
    bk = part("basket", basket, s, model, chem, years,
              tuple(model.separated["ndpr"].elements), rt["retention"].values)  # fmt: skip
    alloy_per_magnet = fresh_alloy_per_magnet(ylds["alloy_to_magnet"], ylds["scrap_return"])
    pr = part("prices", prices, s, model, years, recipe_[FEEDS.index("oxide")] * alloy_per_magnet)
    # each array's coordinates: its dims' labels (the basket's elements are monazite's whole
    # content, its own Labels)
    on = chain_labels(model, years, sectors, origins, ca["unit_names"], pr["coproducts"],
                      hs["n_ages"], hs["hist_years"])  # fmt: skip
    results = {"demand": dm, "composition": cp, "recipe": recipe_, "capacity": ca, "basket": bk,
               "prices": pr, "trade": tr, "history": hs}  # fmt: skip
    on_basket = Labels.of(
        {"year": years, "flow": list(BASKET_FLOWS), "element": list(model.basket_names)}
    )
    return Chain(
        **rt,
        name=s.name,
        model=model,
        years=years,
        base_year=int(base),
        sectors=sectors,
        origins=origins,
        **{
            field: labelled(results[m] if k is None else results[m][k], dims=dims, coords=on)
            for field, (m, k, dims) in LABELLED.items()
        },
        export_premium=float(dm["export_premium"]),
        future_from=po["future_from"],
        grade_down=next_lower_grade(dm["heavy"]),
        switch_share=po["switch_share"],
        switch_after_months=po["switch_after_months"],
        irel_to_units_max=po["irel_max"],
        monazite_per_t_oxide=1.0 / bk["ndpr_per_t"],
        monazite_comp=labelled(bk["monazite_comp"], dims=("element",), coords=on_basket),
        basket=labelled(
            np.stack([bk["flows"][f] for f in BASKET_FLOWS], axis=1),
            dims=("year", "flow", "element"),
            coords=on_basket,
        ),
        basket_per_oxide=labelled(bk["per_oxide"], dims=("element",), coords=on_basket),
        tsp_p2o5_fraction=s.supply.coproducts.tsp_p2o5_fraction,
        thorium_storage_cost=s.economics.thorium_storage_cost,
        yields=ylds,
        import_share=labelled(share, dims=SHARE_DIMS[share.ndim], coords=on),
        priority_tier=labelled(po["tier"], dims=("sector",), coords=on),
        stockpile0=labelled(po["stock0"], dims=("material",), coords=on),
        stockpile_fit=labelled(po["fit"], dims=("material",), coords=on),
        collection_rate=po["collection"],
        recycling_recovery=po["recovery"],
        working_stock_months=po["ws_months"],
        sector_working_stock=labelled(po["ws_sector"], dims=("sector",), coords=on),
        working_stock_refill_months=po["refill_months"],
        chem=chem,
    )


def policy(s: Scenario, model, sectors, years) -> dict[str, Any]:
    """The chain's numbers read off the scenario itself, not made by a module: priority tier by
    sector, stockpile and its fit by material, working stock (by sector, its months and refill),
    switch share by sector and its delay, IREL's cap to the units, recycling, the months of
    history (`compile_chain`'s; a block of samples reads each sample's, `simulate.block`).
    Written for a number and for a block's Scenario whose drawn fields hold arrays (one value a
    sample: a list of numbers is then (samples, items), `_items`)."""
    p, sw = s.policy, s.risk.grade_switch
    tiers = {s_: i for i, tier in enumerate(p.sector_priority) for s_ in tier}
    return {
        "irel_max": s.supply.separation.to_units_max,
        "collection": s.supply.recycling.collection_rate,
        "recovery": s.supply.recycling.recovery,
        "ws_months": p.working_stock_months,
        "refill_months": p.working_stock_refill_months,
        "future_from": s.risk.months_of_history(int(years[0]), len(years)),
        "tier": np.array([tiers.get(n, len(p.sector_priority)) for n in sectors]),
        "stock0": _items([p.stockpile.get(m, 0.0) for m in model.material_names]),
        "fit": _items(
            [p.magnet_stockpile_fit if m.kind == "magnet" else 1.0 for m in model.materials]
        ),
        "ws_sector": _items(
            [p.sector_working_stock_months.get(n, p.working_stock_months) for n in sectors]
        ),
        "switch_share": _items(
            [
                sw.share if sw is not None and (sw.sectors is None or n in sw.sectors) else 0.0
                for n in sectors
            ]
        ),  # fmt: skip
        "switch_after_months": sw.after_months if sw is not None else 0.0,
    }


def _items(values: list) -> np.ndarray:
    """A list of numbers as an array (items,); where some are arrays (a block's samples),
    (samples, items)."""
    if not any(isinstance(v, np.ndarray) for v in values):
        return np.array(values)
    return np.stack(np.broadcast_arrays(*values), axis=-1)
