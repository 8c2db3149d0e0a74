"""`repm.chain.routes.routes` for a block of parameter samples: the arrays behind its labelled
ones, with a leading sample axis (`routes_block`), and one sample's labelled arrays made from
them (`routes_sample`), what `routes()` returns for it. Names, indexes and flags (route and
source names, grades, partners, countries, the product kind) are structure: ROUTES_SHARED."""

from __future__ import annotations

import numpy as np

from repm.chain.batched.exact import py_sum
from repm.chain.labels import labelled, labelled_set
from repm.model import ModelDefinition
from repm.scenario.samples import SampleBlock

QUANTITIES = ("energy", "water", "acid", "co2e")
ROUTES_SHARED = (
    "years", "origins", "materials", "stages", "routes", "tolling_grade", "tolling_partner",
    "tolling_first", "sources", "overseas_country", "overseas_mixed",
)  # fmt: skip


def _by_year(b: SampleBlock, years, where: str, items, amounts) -> np.ndarray:
    """`routes._by_year` for each sample: (S, year, item); items' start and end years may be
    drawn (an end not set: none)."""
    if not items:
        return np.zeros((b.n, len(years), 0))
    p = ("routes", where)
    start = np.stack([b.get((*p, k, "start_year")) for k in range(len(items))], axis=1)
    end = np.stack(
        [b.get((*p, k, "end_year")) if x.end_year is not None else np.full(b.n, np.inf)
         for k, x in enumerate(items)], axis=1,
    )  # fmt: skip
    col = years[None, :, None]
    active = (col >= start[:, None, :]) & (col <= end[:, None, :])
    return np.stack(amounts, axis=1)[:, None, :] * active


def _items(b: SampleBlock, where: str, field: str, n: int) -> np.ndarray:
    """(S, item): each item's `field` of routes.`where`."""
    if not n:
        return np.zeros((b.n, 0))
    return np.stack([b.get(("routes", where, k, field)) for k in range(n)], axis=1)


def routes_block(b: SampleBlock, model: ModelDefinition, years, ci_on, origins) -> dict:
    """The arrays of `routes()` for each sample, (S, …); ci_on: (S, year) from demand. (The
    per-sample call's `y`, the scenario's yields, is the block's.)"""
    s, r, S = b.template, b.template.routes, b.n
    origins = tuple(origins)
    tol, ovs = r.tolling, r.overseas
    exposure = np.zeros((S, len(tol), len(origins)))
    for i, t in enumerate(tol):
        for o in t.exposed_to:
            exposure[:, i, origins.index(o)] = b.get(("routes", "tolling", i, "exposed_to", o))
    capacity = [b.get(("routes", "tolling", i, "capacity")) for i in range(len(tol))]
    sx = b.get(("supply", "yields", "sx_recovery"))
    # t of NdPr oxide per t of product: separated oxide 1; mixed REO separated in India
    per_t = [
        np.ones(S) if m.product == "ndpr_oxide"
        else b.get(("routes", "overseas", k, "ndpr_share_of_reo")) * sx
        for k, m in enumerate(ovs)
    ]  # fmt: skip
    ox_per_t = np.stack(per_t, axis=1) if ovs else np.zeros((S, 0))
    tonnes = [b.get(("routes", "overseas", k, "tonnes")) * per_t[k] for k in range(len(ovs))]
    er, ci = r.export_retention, r.consumer_incentive
    if er is not None:
        on = years[None, :] >= b.get(("routes", "export_retention", "start_year"))[:, None]
        on = on & (years[None, :] <= np.inf)
        retention = np.where(on, b.get(("routes", "export_retention", "share"))[:, None], 0.0)
    else:
        retention = np.zeros((S, len(years)))
    c = ("routes", "consumer_incentive")
    per_kg = b.get((*c, "per_kg"))[:, None] if ci is not None else 0.0
    passed = b.get((*c, "pass_through"))[:, None] if ci is not None else 0.0
    budget = b.get((*c, "budget")) if ci is not None and ci.budget is not None else None
    gov = np.zeros((S, len(origins)))
    for j, o in enumerate(origins):
        if o in s.trade.governance_risk:
            gov[:, j] = b.get(("trade", "governance_risk", o))
    hhi = {}
    for g in model.trade_groups:  # routes._world_hhi: Python's sum of the squares
        wp = s.trade.world_production.get(g, {})
        sq = [v * v for v in (b.get(("trade", "world_production", g, c)) for c in wp)]
        hhi[g] = py_sum(sq) if sq else np.zeros(S)
    inten = np.zeros((S, len(model.stages), len(QUANTITIES)))
    for i, st in enumerate(model.stages):
        if st in s.environment.intensity:
            for j, q in enumerate(QUANTITIES):
                inten[:, i, j] = b.get(("environment", "intensity", st, q))
    return dict(
        years=years, origins=origins, materials=list(model.material_names),
        stages=list(model.stages), routes=[t.name for t in tol],
        tolling_grade=np.array([model.grade_names.index(t.grade) for t in tol], dtype=np.int64),
        tolling_partner=np.array([origins.index(t.partner) for t in tol], dtype=np.int64),
        tolling_first=np.array([t.oxide_priority == "first" for t in tol], dtype=bool),
        sources=[m.name for m in ovs],
        overseas_country=np.array([origins.index(m.country) for m in ovs], dtype=np.int64),
        overseas_mixed=np.array([m.product == "mixed_reo" for m in ovs], dtype=bool),
        tolling_capacity=_by_year(b, years, "tolling", tol, capacity),
        tolling_lead_months=_items(b, "tolling", "lead_time_months", len(tol)),
        tolling_fee=_items(b, "tolling", "fee", len(tol)),
        tolling_exposure=exposure,
        overseas_oxide=_by_year(b, years, "overseas", ovs, tonnes),
        overseas_product_per_oxide=np.divide(
            1.0, ox_per_t, out=np.zeros_like(ox_per_t), where=ox_per_t > 0
        ),
        overseas_price=_items(b, "overseas", "price", len(ovs)),
        overseas_stake_cost=_items(b, "overseas", "stake_cost", len(ovs)),
        overseas_start_year=_items(b, "overseas", "start_year", len(ovs)),
        retention=retention,
        incentive_per_kg=np.where(ci_on, per_kg, 0.0),
        incentive_pass_through=np.where(ci_on, passed, 0.0),
        incentive_budget=np.full(S, np.inf) if budget is None else budget,
        governance_risk=gov,
        world_hhi=np.stack([hhi[model.material_group[m]] for m in model.material_names], 1),
        env_intensity=inten,
        u3o8_fraction=b.get(("environment", "u3o8_fraction")),
    )  # fmt: skip


def incentive_set(x: dict):
    """The buyer incentive's Dataset of one sample's routes arrays (`routes()`'s `incentive`)."""
    return labelled_set(
        {
            "per_kg": ("year", x["incentive_per_kg"]),
            "pass_through": ("year", x["incentive_pass_through"]),
        },
        {"year": x["years"]},
        attrs={"budget": x["incentive_budget"].item()},
    )


def routes_sample(res: dict, i: int) -> dict:
    """Sample i's `routes()`: its rows of `routes_block`'s arrays, labelled as routes() labels
    them."""
    x = {k: v if k in ROUTES_SHARED else np.ascontiguousarray(v[i]) for k, v in res.items()}
    years, origins, names, src = x["years"], x["origins"], x["routes"], x["sources"]
    yr = {"year": years}
    tolling = labelled_set(
        {
            "grade": ("route", x["tolling_grade"]),
            "lead_months": ("route", x["tolling_lead_months"]),
            "partner": ("route", x["tolling_partner"]),
            "first": ("route", x["tolling_first"]),
            "fee": ("route", x["tolling_fee"]),
            "exposure": (("route", "origin"), x["tolling_exposure"]),
        },
        {"route": names, "origin": list(origins)},
    )
    overseas = labelled_set(
        {
            "country": ("source", x["overseas_country"]),
            "mixed": ("source", x["overseas_mixed"]),
            "product_per_oxide": ("source", x["overseas_product_per_oxide"]),
            "price": ("source", x["overseas_price"]),
            "stake_cost": ("source", x["overseas_stake_cost"]),
            "start_year": ("source", x["overseas_start_year"]),
        },
        {"source": src},
    )
    incentive = incentive_set(x)
    stage_q = {"stage": x["stages"], "quantity": list(QUANTITIES)}
    return {
        "tolling_capacity": labelled(
            x["tolling_capacity"], dims=("year", "route"), coords={**yr, "route": names}
        ),
        "tolling": tolling,
        "overseas_oxide": labelled(
            x["overseas_oxide"], dims=("year", "source"), coords={**yr, "source": src}
        ),
        "overseas": overseas,
        "retention": labelled(x["retention"], dims=("year",), coords=yr),
        "incentive": incentive,
        "governance_risk": labelled(
            x["governance_risk"], dims=("origin",), coords={"origin": list(origins)}
        ),
        "world_hhi": labelled(
            x["world_hhi"], dims=("material",), coords={"material": x["materials"]}
        ),
        "env_intensity": labelled(x["env_intensity"], dims=("stage", "quantity"), coords=stage_q),
        "u3o8_fraction": x["u3o8_fraction"].item(),
    }
