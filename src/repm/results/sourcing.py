"""Indicators of where India's supply comes from: the routes (tolling, overseas sources, export
retention, the buyer incentive), whose rare earths India's magnets carry (domestic and Chinese
content), and how concentrated and risky the sources are (HHI, GeoPolRisk)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from repm.chain import Chain
from repm.model.units import CRORE_PER_T_AT
from repm.results.indicators import mean_over_draws, over_draws, ratio


def hhi(volumes: np.ndarray, axis: int = -1) -> np.ndarray:
    """Herfindahl–Hirschman index of supply shares along `axis` (1 = one source, 1/n = n equal
    sources); 0 where nothing is supplied."""
    v = np.asarray(volumes, dtype=float)
    total = v.sum(axis=axis, keepdims=True)
    shares = np.divide(v, total, out=np.zeros_like(v), where=total > 0)
    return (shares**2).sum(axis=axis)


def routes(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray) -> None:
    """Tolling, overseas sources, export retention and the buyer incentive: tonnes and costs."""
    tolled = mean_over_draws(ds.tolled)  # year × route
    add("magnet_tolled", tolled.sum("route").values)
    add("ndpr_oxide_tolled", ds.variables["toll_oxide"].values.mean(axis=0))
    add("tolling_in_transit", mean_over_draws(ds.tolling_transit).sum("grade").values)
    fee = chain.tolling["fee"]
    add("tolling_fee_cost", (tolled * fee).sum("route").values * CRORE_PER_T_AT)
    partners = chain.tolling["partner"].values
    for o in sorted(set(int(p) for p in partners)):
        routes = [r for r, p in zip(chain.tolling.route.values, partners, strict=True) if p == o]
        add("magnet_tolled", tolled.sel(route=routes).sum("route").values, origin=chain.origins[o])
    used = mean_over_draws(ds.overseas_used)  # year × source, t NdPr oxide
    ov = chain.overseas
    add("ndpr_oxide_overseas", used.sum("source").values)
    add(
        "ndpr_oxide_domestic_feed",
        chain.separation_output.values + chain.overseas_oxide.sum("source").values,
    )
    product = used * ov["product_per_oxide"]  # t of what is bought (oxide, or mixed REO)
    stake = np.array(
        [[c if y == s - 1 else 0.0 for c, s in zip(ov["stake_cost"].values, ov["start_year"].values, strict=True)]
         for y in chain.years]
    ).reshape(len(chain.years), -1).sum(axis=1)  # fmt: skip
    add("overseas_cost", (product * ov["price"]).sum("source").values * CRORE_PER_T_AT + stake)
    for o in sorted(set(int(c) for c in ov["country"].values)):
        srcs = [k for k, c in zip(ov.source.values, ov["country"].values, strict=True) if c == o]
        add(
            "ndpr_oxide_overseas",
            used.sel(source=srcs).sum("source").values,
            origin=chain.origins[o],
        )
    add("ndpr_oxide_exports", ds.variables["oxide_exports"].values.mean(axis=0))
    add("ndpr_oxide_retained", ds.variables["oxide_retained"].values.mean(axis=0))
    inc = chain.incentive
    cost = inc["per_kg"].values * prod * CRORE_PER_T_AT  # paid on every Indian magnet bought
    budget = inc.attrs["budget"]
    paid_before = np.concatenate([[0.0], np.cumsum(cost)[:-1]])
    add("consumer_incentive_cost", np.clip(budget - paid_before, 0.0, cost))


def content_shares(chain: Chain, ds, add, by: np.ndarray) -> None:
    """Whose rare earths India's magnets carry: the domestic content (mined and separated in
    India), China's share of each import channel, and China's share of all the content.
    (numpy on the arrays' known layouts — a parameter sample reads these; each selection is
    made C-ordered, as xarray's are, so every sum adds in xarray's order, bit for bit.)
    `ds`: the run's Dataset, or anything with its `variables` (a run unlabelled, a block's runs
    side by side); `by`: the imports' mean over draws, year × origin × material."""
    model = chain.model
    col = {e: i for i, e in enumerate(chain.elements)}
    mi = {m: i for i, m in enumerate(chain.materials)}

    def pick(a: np.ndarray, idx: list[int]) -> np.ndarray:  # the last axis at idx, C-ordered
        return np.ascontiguousarray(a[..., idx])

    re_idx = [col[e] for e, v in model.elements.items() if v.group != "actinide"]
    # axes count from the last: a block's runs side by side give each set's (`_compute`)
    gc = pick(chain.grade_comp.values, re_idx).sum(axis=-1)  # grade: kg RE per kg magnet
    mc = pick(chain.material_comp.values, re_idx).sum(axis=-1)  # material: kg RE per kg
    demand = (ds.variables["demand_bare"].values + ds.variables["demand_embedded"].values).sum(
        axis=-2
    )  # year × grade
    content = (demand * gc[..., None, :]).sum(axis=-1)  # t RE in the magnets India uses
    # NdPr oxide the units used that IREL separated (fresh or kept home): recycled and
    # imported oxide, stockpile and working-stock draws and overseas sources are not mined here
    used = over_draws(ds.variables["feed_used"])[..., mi["ndpr_oxide"]]
    dom_share = np.minimum(ratio(over_draws(ds.variables["irel_to_units"]), used), 1.0)
    prod_g = over_draws(ds.variables["production"]).sum(axis=-2) - over_draws(
        ds.variables["magnet_exports"]
    )  # year × grade, kept
    ndpr_gc = pick(chain.grade_comp.values, [col["Nd"], col["Pr"]]).sum(axis=-1)
    tolled = over_draws(ds.variables["tolled"])  # year × route
    route_grade = chain.route_grades
    tolled_g = [
        pick(tolled, np.flatnonzero(route_grade == gi).tolist()).sum(axis=-1)
        for gi in range(len(chain.grades))
    ]
    tolled_ndpr = sum(ndpr_gc[..., gi, None] * t for gi, t in enumerate(tolled_g))
    domestic = (prod_g * ndpr_gc[..., None, :]).sum(axis=-1) * dom_share + tolled_ndpr
    add("domestic_content_share", ratio(domestic, content))
    # China's share of each channel, and of all the rare-earth content India uses
    if "China" not in chain.origins:
        return
    china = by[..., chain.origins.index("China"), :]  # year × material
    channels = {
        "bare": list(model.names(kind="magnet")),
        "embedded": list(model.names(kind="embedded")),
    }
    for ch, mats in channels.items():
        idx = [mi[m] for m in mats]
        # (xarray's selection of materials keeps the material axis outermost in memory, as
        # numpy's by[..., idx] does: the two-axis sum adds in that order)
        add("import_share_china", ratio(pick(china, idx).sum(axis=-1),
                                            by[..., idx].sum(axis=(-2, -1))), channel=ch)  # fmt: skip
    for mat in model.names(kind="oxide"):
        add("import_share_china", ratio(china[..., mi[mat]], by[..., mi[mat]].sum(axis=-1)),
            material=mat)  # fmt: skip
    # feed from China (oxide, metal, alloy) makes the units' whole output: the part that made
    # magnets sold abroad (demand.exports) is not in what India uses (a factor 1 without them)
    made = over_draws(ds.variables["production"]).sum(axis=(-2, -1))  # year
    kept = 1.0 - ratio(over_draws(ds.variables["magnet_exports"]).sum(axis=-1), made)
    feeds = [mi[m] for k in ("oxide", "metal", "alloy") for m in model.names(kind=k)]
    china = china.copy()
    china[..., feeds] *= kept[..., None]
    from_china = (china * mc[..., None, :]).sum(axis=-1)  # t RE, as magnets or as oxide
    add("china_content_share", np.minimum(ratio(from_china, content), 1.0))


def geopolrisk(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray, by: np.ndarray) -> None:
    """GeoPolRisk-style score per supply: HHI of world output × Σ origin governance risk ×
    origin's share of India's supply (domestic output counts as supply with no import risk).
    `by`: the imports' mean over draws, year × origin × material (numpy's selections and sums
    are the labelled arrays', bit for bit, as the ledger's)."""
    model = chain.model
    mi = {m: i for i, m in enumerate(chain.materials)}
    gov = chain.governance_risk.values  # by origin: the chain's origins, as the imports'
    world = chain.world_hhi
    world_at = world.get_index("material")
    heavy_oxides = [m.name for m in model.materials if m.kind == "oxide" and m.heavy]
    groups = {
        "geopolrisk_magnets": ([*model.names(kind="magnet"), *model.names(kind="embedded")],
                               prod + over_draws(ds.variables["tolled"]).sum(axis=1)),
        "geopolrisk_ndpr_oxide": (["ndpr_oxide"], ds.variables["irel_to_units"].values.mean(axis=0)
                                  + over_draws(ds.variables["overseas_used"]).sum(axis=1)),
        "geopolrisk_heavy": (heavy_oxides, np.zeros(len(chain.years))),
    }  # fmt: skip
    for name, (mats, domestic) in groups.items():
        by_origin = by[..., [mi[m] for m in mats]].sum(axis=2)  # year × origin
        total = by_origin.sum(axis=1) + domestic
        weighted = (by_origin * gov).sum(axis=1)
        hhi_world = float(world.values[world_at.get_loc(mats[0])])
        add(name, hhi_world * ratio(weighted, total))
