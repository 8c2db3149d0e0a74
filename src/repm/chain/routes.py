"""The route, supply-risk and ledger arrays of the Chain: tolling abroad, overseas sources, export
retention, the buyer incentive, governance risk, world concentration, burdens per tonne."""

from __future__ import annotations

import numpy as np

from repm.chain.labels import labelled, labelled_set
from repm.model import ModelDefinition
from repm.scenario.schema import Scenario


def _active(years: np.ndarray, start: float, end: float | None) -> np.ndarray:
    return (years >= start) & (years <= (end if end is not None else np.inf))


def _by_year(years: np.ndarray, items, amounts) -> np.ndarray:
    """year × item: each item's amount in the years it runs (start_year … end_year), else 0
    (every item at once: each element the same operations as item by item)."""
    if len(items) != len(amounts):
        raise ValueError("expected an amount for each item")
    if not items:  # most scenarios have no tolling routes or overseas sources
        return np.zeros((len(years), 0))
    start = np.array([x.start_year for x in items], dtype=float)
    end = np.array([x.end_year if x.end_year is not None else np.inf for x in items], dtype=float)
    active = (years[:, None] >= start[None, :]) & (years[:, None] <= end[None, :])
    return np.array(amounts, dtype=float).reshape(1, -1) * active


def _world_hhi(shares: dict[str, float]) -> float:
    """HHI of world output from the listed producers' shares (what is not listed counts as
    many small producers, adding nothing)."""
    return float(sum(v * v for v in shares.values()))


def routes(s: Scenario, model: ModelDefinition, years, ci_on, y, origins) -> dict:
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
    tolling = labelled_set(
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
        {"route": names, "origin": list(origins)},
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
    overseas = labelled_set(
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
        {"source": src},
    )
    er = r.export_retention
    retention = (
        np.where(_active(years, er.start_year, None), er.share, 0.0) if er else np.zeros(len(years))
    )
    ci = r.consumer_incentive
    incentive = labelled_set(
        {
            "per_kg": ("year", np.where(ci_on, ci.per_kg if ci else 0.0, 0.0)),
            "pass_through": ("year", np.where(ci_on, ci.pass_through if ci else 0.0, 0.0)),
        },
        yr,
        attrs={"budget": float(ci.budget) if ci is not None and ci.budget is not None else np.inf},
    )
    gov = np.array([s.trade.governance_risk.get(o, 0.0) for o in origins])
    hhi = {g: _world_hhi(s.trade.world_production.get(g, {})) for g in model.trade_groups}
    whhi = np.array([hhi[model.material_group[m]] for m in MATERIALS])
    quantities = ("energy", "water", "acid", "co2e")
    stages = model.stages
    inten = np.array(
        [[getattr(s.environment.intensity[st], q) if st in s.environment.intensity else 0.0 for q in quantities]
         for st in stages]
    )  # fmt: skip
    return {
        "tolling_capacity": labelled(cap, dims=("year", "route"), coords={**yr, "route": names}),
        "tolling": tolling,
        "overseas_oxide": labelled(ov, dims=("year", "source"), coords={**yr, "source": src}),
        "overseas": overseas,
        "retention": labelled(retention, dims=("year",), coords=yr),
        "incentive": incentive,
        "governance_risk": labelled(gov, dims=("origin",), coords={"origin": list(origins)}),
        "world_hhi": labelled(whhi, dims=("material",), coords={"material": list(MATERIALS)}),
        "env_intensity": labelled(
            inten,
            dims=("stage", "quantity"),
            coords={"stage": list(stages), "quantity": list(quantities)},
        ),
        "u3o8_fraction": float(s.environment.u3o8_fraction),
    }
