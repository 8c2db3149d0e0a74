"""A chain, plan and shocks as the compiled kernel takes them (`prepare`): plain arrays in the
kernel's layout (`repm.simulate.arrays.Inputs`) and the output sizes, the index arrays read from
the model definition built once per definition (`_layout`). `repm.simulate.engine` runs the
kernel on them and labels what it returns; docs/architecture.md has the data flow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from repm.chain import HISTORY_YEARS, Chain
from repm.chain.basket import engine_upstream
from repm.chain.plan import Plan, default_plan
from repm.model import KINDS, ModelDefinition
from repm.scenario.schema import FEEDS
from repm.simulate import arrays
from repm.simulate.arrays import FLOWS, _f64
from repm.simulate.balance import _process_flows
from repm.simulate.shocks import Shocks, no_shocks, switch_steps

STEPS_PER_YEAR = {"monthly": 12, "yearly": 1}
FLOW_INDEX = {name: i for i, (name, _, _) in enumerate(FLOWS)}


def _switch_steps(shocks: Shocks, chain: Chain, spy: int, G: int) -> np.ndarray:
    """draw (or 1) × grade: the step makers switch off each grade (`shocks.switch_steps`)."""
    steps = switch_steps(shocks, chain, spy)
    return np.full((1, G), -1, dtype=np.int64) if steps is None else steps


def _levels_and_switch(shocks: Shocks, chain: Chain, spy: int, G: int, empty):
    """(the levels as float64, the switch steps) of a risk sample's float32 levels at monthly
    steps: the copy written into `empty(shape)` (a risk chunk's buffers, not a fresh array a
    chunk), the steps in one compiled pass over the levels (`spells.switch_from_levels`) — the
    same arrays as `_availability`'s level and `_switch_steps`. None where this does not apply
    (dense availability, no events or more than 63, levels of another type, yearly steps):
    those paths, as before."""
    level = shocks.event_level
    if (
        shocks.availability is not None or level is None or level.ndim != 3
        or not 0 < level.shape[2] <= 63 or level.dtype != np.float32
        or not level.flags.c_contiguous or spy != 12 or shocks.event_target is None
    ):  # fmt: skip
        return None
    D, T, E = level.shape
    out = empty((D, T, E))
    np.copyto(out, level)  # float32 to float64: exact
    down = np.asarray(chain.grade_down)
    if not (np.any(np.asarray(chain.switch_share) > 0) and np.any(down >= 0)):  # `switch_steps`
        return out, np.full((1, G), -1, dtype=np.int64)
    from repm.simulate.spells import switch_from_levels

    model = chain.model
    cols = [model.material_names.index(model.form("magnet", g)) for g in model.grade_names]
    reach = (shocks.event_target[:, :, cols] > 0).any(axis=1)  # event × grade
    bits = (reach.astype(np.int64) << np.arange(E, dtype=np.int64)[:, None]).sum(axis=0)
    step = np.empty((D, len(cols)), dtype=np.int64)
    switch_from_levels(level, bits, float(chain.switch_after_months), chain.n_years * spy, step)
    step[:, down < 0] = -1  # nothing lighter to switch to
    return out, step


def _availability(shocks: Shocks, O: int, M: int):  # noqa: E741
    """(dense, avail, level, target) for the kernel, without multiplying anything out."""
    none3 = np.zeros((1, 1, 0))
    if shocks.availability is not None:
        avail = _f64(shocks.availability)
        if avail.ndim != 4 or avail.shape[2] not in (1, O) or avail.shape[3] not in (1, M):
            raise ValueError(
                f"availability of shape {avail.shape}: expected draw × step × origin ({O}) × "
                f"material ({M}), each axis full or 1"
            )
        return True, avail, none3, np.zeros((0, O, M))
    ones = np.ones((1, 1, 1, 1))
    if shocks.event_level is None or shocks.event_level.shape[2] == 0:
        return False, ones, none3, np.zeros((0, O, M))
    target = _f64(shocks.event_target)
    return False, ones, _f64(shocks.event_level), target.reshape(len(target), O, M)


@dataclass(frozen=True)
class Prepared:
    """A chain, plan and shocks as the kernel takes them: its inputs and output sizes."""

    chain: Chain
    shocks: Shocks
    step: str
    inputs: tuple  # arrays.Inputs
    dims: dict[str, int]  # arrays.outputs' sizes: D draws, Y years, …
    plan: Plan | None = None  # the plan the inputs were made from


@dataclass(frozen=True)
class _Layout:
    """What `prepare` and `wrap` read from the model definition alone: material indexes and the
    kernel's index arrays. The same for every chain of one definition, so built once per
    definition (`_layout`) rather than once per parameter set; `prepare` hands each run its own
    copies of the arrays."""

    ndpr: int  # NdPr oxide's index
    oxides: tuple[int, ...]  # the oxide materials' indexes
    nd: int  # Nd's and Pr's element indexes
    pr: int
    group: np.ndarray  # material → its kind's index in KINDS
    magnet: np.ndarray  # grade → its bare magnet
    embedded: np.ndarray  # grade → its magnet in sub-assemblies
    grade_of: np.ndarray  # material → a bare magnet's grade (−1: not a bare magnet)
    rec_to: np.ndarray  # element → the oxide it is recycled into (−1: none)
    inflows: np.ndarray  # the mass balance's processes (`_process_flows`)
    outflows: np.ndarray
    stocked: np.ndarray
    every_flow_balanced: bool  # every flow enters some process's residual


_LAYOUTS: dict[int, tuple[ModelDefinition, _Layout]] = {}  # id → (the definition, its layout)


def _layout(model: ModelDefinition) -> _Layout:
    """The definition's `_Layout`, built on first use. Keyed by the object (a definition is a
    frozen model but holds dicts, so it does not hash): the entry keeps it alive, so its id is
    not reused while the entry stands. Scenarios almost always share the shipped definition."""
    known = _LAYOUTS.get(id(model))
    if known is not None and known[0] is model:
        return known[1]
    if model.flow_names != tuple(f for f, _, _ in FLOWS):
        raise ValueError(
            "the model definition's flows differ from the engine's flow table (repm.simulate.arrays.FLOWS)"
        )
    GRADES, MATERIALS, ELEMENTS = model.grade_names, model.material_names, model.element_names
    mi = {m: i for i, m in enumerate(MATERIALS)}
    grade_of = np.full(len(MATERIALS), -1, dtype=np.int64)
    for gi, g in enumerate(GRADES):
        grade_of[mi[model.form("magnet", g)]] = gi
    inflows, outflows, stocked = _process_flows(model, [f for f, _, _ in FLOWS])
    layout = _Layout(
        ndpr=mi["ndpr_oxide"], oxides=tuple(mi[m] for m in model.names(kind="oxide")),
        nd=ELEMENTS.index("Nd"), pr=ELEMENTS.index("Pr"),
        group=np.array([KINDS.index(m.kind) for m in model.materials], dtype=np.int64),
        magnet=np.array([mi[model.form("magnet", g)] for g in GRADES], dtype=np.int64),
        embedded=np.array([mi[model.form("embedded", g)] for g in GRADES], dtype=np.int64),
        grade_of=grade_of,
        rec_to=np.array(
            [mi.get(model.recycled_into.get(e, ""), -1) for e in ELEMENTS], dtype=np.int64
        ),
        inflows=inflows, outflows=outflows, stocked=stocked,
        every_flow_balanced=bool(
            np.isin(np.arange(len(FLOWS)), np.concatenate([inflows, outflows], axis=None)).all()
        ),
    )  # fmt: skip
    if len(_LAYOUTS) >= 64:  # a few definitions at most; a test making many starts afresh
        _LAYOUTS.clear()
    _LAYOUTS[id(model)] = (model, layout)
    return layout


def _in_order(da: xr.DataArray, *dims: str) -> np.ndarray:
    """`da.transpose(*dims).values`, without xarray's transpose (~0.1 ms) when `da` is already
    in that order (the same array either way)."""
    return da.values if da.dims == dims else da.transpose(*dims).values


def _shares_by_year(share: xr.DataArray, years: np.ndarray) -> np.ndarray:
    """The kernel's import shares, year (or 1: the same every year) × origin × material."""
    if "year" in share.dims:
        if not np.array_equal(share["year"].values, years):  # the kernel reads them unchecked
            raise ValueError(
                f"a plan's import shares for years {share['year'].values.tolist()}; expected the "
                f"chain's {years.tolist()}"
            )
        return _in_order(share, "year", "origin", "material")
    return _in_order(share, "origin", "material")[None]


def prepare(
    chain: Chain,
    plan: Plan | None = None,
    shocks: Shocks | None = None,
    step: str = "monthly",
    like: Prepared | None = None,
    empty=None,
) -> Prepared:
    """Turn the chain, plan and shocks into the kernel's plain arrays (no simulation).

    like: a `prepare` of the same chain, plan and step (any shocks), whose draw-independent
    arrays are taken as they are, not made again (~4 ms a risk chunk): a risk run prepares them
    once for all its chunks. Shared, not copied: the kernel writes none of its inputs
    (tests/test_engine.py). empty: makes the float64 copy of a risk sample's levels (a chunk's
    `Buffers.empty`; default `np.empty`)."""
    shocks = shocks or no_shocks(chain)
    if like is None:
        like = _prepare_chain(chain, plan or default_plan(chain), step)
    elif like.chain is not chain or like.step != step or (plan or like.plan) is not like.plan:
        raise ValueError("`like` was prepared for another chain, plan or step")
    inp, spy = like.inputs, like.inputs.spy
    O, M, G = like.dims["O"], like.dims["M"], like.dims["G"]  # noqa: E741
    dmult = (
        np.ones((1, like.dims["Y"]))
        if shocks.demand_multiplier is None
        else shocks.demand_multiplier[:, : like.dims["Y"]]
    )
    fused = _levels_and_switch(shocks, chain, spy, G, empty or np.empty)
    if fused is None:
        dense, avail, level, target = _availability(shocks, O, M)
        sw_step = _switch_steps(shocks, chain, spy, G)
    else:
        level, sw_step = fused
        dense, avail, target = False, np.ones((1, 1, 1, 1)), _f64(shocks.event_target)
        target = target.reshape(len(target), O, M)
    inp = inp._replace(
        dmult=_f64(dmult), dense=dense, avail=avail, level=level, target=target,
        ramp=np.ones((1, 1)) if shocks.spare_ramp is None else _f64(shocks.spare_ramp),
        sw_step=sw_step,
    )  # fmt: skip
    return replace(like, shocks=shocks, inputs=inp, dims=dict(like.dims, D=shocks.draws))


def _prepare_chain(chain: Chain, plan: Plan, step: str) -> Prepared:
    """`prepare`'s draw-independent arrays: the shocks' (demand multiplier, availability,
    spare ramp, switch steps) are placeholders until `prepare` puts a run's own in."""
    model = chain.model
    lay = _layout(model)  # also checks the definition's flows against the engine's
    GRADES, MATERIALS, ELEMENTS = model.grade_names, model.material_names, model.element_names
    spy = STEPS_PER_YEAR[step]
    dt = 1.0 / spy
    Y = chain.n_years
    S, G, E, M = len(chain.sectors), len(GRADES), len(ELEMENTS), len(MATERIALS)
    O, F = len(chain.origins), len(FEEDS)  # noqa: E741
    ndpr = lay.ndpr
    H = HISTORY_YEARS

    bare = chain.demand_bare.values
    emb = chain.demand_embedded.values
    gc = chain.grade_comp.values
    mc = chain.material_comp.values
    cap = _in_order(plan.capacity, "year", "feed")
    sep = chain.separation_output.values
    y_am = chain.yields["alloy_to_magnet"]
    y_alloy = chain.yields["alloy_making"]
    y_om = chain.yields["oxide_to_metal"]
    r_scrap = chain.yields["scrap_return"]
    pmf = chain.lifetime_pmf.values
    sf_cum = 1.0 - np.cumsum(pmf, axis=1)  # survival after each whole age
    tier = chain.priority_tier.values.astype(np.int64)
    oxide_per = np.zeros(M)
    for i in lay.oxides:
        oxide_per[i] = 1.0 / mc[i].sum()
    stock0 = np.broadcast_to(plan.stockpile.values, (M,)).astype(float).copy()
    stock0[lay.embedded] = 0.0  # magnets inside sub-assemblies cannot be stockpiled
    # upstream of separation (draw-independent): the engine's elements' rows of the basket;
    # the kernel books domestic NdPr oxide itself (the same sep × composition)
    ndpr_comp = {e: mc[ndpr, i] for i, e in enumerate(ELEMENTS) if mc[ndpr, i] > 0}
    upstream = engine_upstream(
        chain.basket.values, tuple(chain.basket.get_index("flow").tolist()), model.basket_names,
        ELEMENTS, ndpr_comp, sep,
    )  # fmt: skip
    hist = chain.history_inflow.values
    in_use0 = np.einsum("sgc,sc->sg", hist, sf_cum[:, H - 1 - np.arange(H)])[None]
    # routes: a tolling partner's magnets are made from oxide like a domestic oxide-fed unit's
    # (`chain.oxide_per_magnet_values`' NdPr oxide column)
    recipe = chain.recipe.values
    ox_per_mag = chain.oxide_per_magnet_values[:, ndpr]
    el_per_mag = gc * chain.fresh_alloy_per_magnet / (y_alloy * y_om)
    # the route Datasets' arrays as xarray Variables: a Dataset's `ds[name]` builds a DataArray
    # with its coordinates (~20 µs each)
    tl, tlv = chain.tolling, chain.tolling.variables
    lead = np.rint(tlv["lead_months"].values / (12 / spy)).astype(np.int64)
    ov, ovv = chain.overseas, chain.overseas.variables
    ov_mixed = ovv["mixed"].values.astype(np.bool_)
    ov_recovery = np.where(ov_mixed, chain.yields["sx_recovery"], 1.0).astype(float)

    inp = arrays.Inputs(
        spy=spy, dt=dt, bare=_f64(bare), emb=_f64(emb), dmult=None, cap=_f64(cap),
        recipe=_f64(recipe), sep=_f64(sep), irel_max=float(chain.irel_to_units_max),
        y_am=float(y_am), y_alloy=float(y_alloy), y_om=float(y_om), r_scrap=float(r_scrap),
        share=_f64(_shares_by_year(plan.import_share, chain.years)),
        spare=_f64(chain.spare.values * dt),
        dense=None, avail=None, level=None, target=None, ramp=None,  # the shocks': `prepare`
        stock0=stock0, fit=_f64(chain.stockpile_fit.values), ws_frac=float(chain.working_stock_months / 12.0 / dt),
        refill_frac=float(min(1.0, dt * 12.0 / chain.working_stock_refill_months)),
        tier=tier, n_tiers=int(tier.max()) + 1, pmf=_f64(pmf), sf_cum=_f64(sf_cum),
        history=_f64(chain.history_inflow.values), collection=float(chain.collection_rate),
        recovery=float(chain.recycling_recovery), mc=_f64(mc), gc=_f64(gc),
        group=lay.group.copy(), ndpr=ndpr, magnet=lay.magnet.copy(), embedded=lay.embedded.copy(),
        f_ox=FEEDS.index("oxide"), f_met=FEEDS.index("metal"), rec_to=lay.rec_to.copy(),
        oxide_per=oxide_per,
        upstream=_f64(np.stack(list(upstream.values()), axis=1)),
        up_flows=np.array([FLOW_INDEX[f] for f in upstream], dtype=np.int64),
        # the processes of the mass balance, and the stocks they hold
        inflows=lay.inflows.copy(), outflows=lay.outflows.copy(), stocked=lay.stocked.copy(),
        in_use0=_f64(in_use0),
        toll_cap=_f64(chain.tolling_capacity.values.reshape(Y, -1)),
        toll_grade=tlv["grade"].values.astype(np.int64), toll_lead=lead,
        toll_partner=tlv["partner"].values.astype(np.int64),
        toll_exposure=_f64(tlv["exposure"].values.reshape(-1, O)),
        toll_first=tlv["first"].values.astype(np.bool_),
        ox_per_mag=_f64(ox_per_mag), el_per_mag=_f64(el_per_mag),
        ov_oxide=_f64(chain.overseas_oxide.values.reshape(Y, -1)),
        ov_country=ovv["country"].values.astype(np.int64), ov_recovery=_f64(ov_recovery),
        ov_mixed=ov_mixed, retention=_f64(chain.retention.values),
        fresh_per_mag=float(chain.fresh_alloy_per_magnet),
        export_dem=_f64(chain.export_demand.values),
        strat_from=int(-(-chain.future_from // (12 // spy))),  # first step wholly after as_of
        down=np.ascontiguousarray(chain.grade_down, dtype=np.int64),
        sw_share=_f64(chain.switch_share), sw_step=None,
        ws_sector=_f64(chain.sector_working_stock.values / 12.0 / dt), grade_of=lay.grade_of.copy(),
    )  # fmt: skip
    dims = dict(
        D=0,
        Y=Y,
        S=S,
        G=G,
        F=F,
        O=O,
        M=M,
        E=E,
        P=len(model.processes),
        R=tl.sizes["route"],
        K=ov.sizes["source"],
    )
    return Prepared(chain, None, step, inp, dims, plan)
