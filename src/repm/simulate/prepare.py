"""A chain, plan and shocks as the compiled kernel takes them (`prepare`): plain arrays in the
kernel's layout (`repm.simulate.arrays.Inputs`) and the output sizes, the index arrays read from
the model definition built once per definition (`_layout`). `repm.simulate.engine` runs the
kernel on them and labels what it returns; docs/architecture.md has the data flow.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import xarray as xr

from repm.chain import HISTORY_YEARS, Chain
from repm.chain.basket import FLOWS as BASKET_FLOWS
from repm.chain.basket import engine_upstream
from repm.chain.plan import Plan, default_plan
from repm.chain.rules import fresh_alloy_per_magnet
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
    copies of the arrays (a block's sets share one: the kernel writes none of its inputs)."""

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
    if like is None:
        like = _prepare_chain(chain, plan or default_plan(chain), step)
    elif like.chain is not chain or like.step != step or (plan or like.plan) is not like.plan:
        raise ValueError("`like` was prepared for another chain, plan or step")
    if shocks is None:
        return replace(like, shocks=no_shocks(chain), inputs=unshocked(like.inputs, like.dims),
                       dims=dict(like.dims, D=1))  # fmt: skip
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


def unshocked(inp: tuple, dims: dict) -> tuple:
    """The kernel's inputs of one draw without shocks (`no_shocks`: everything available every
    step, demand as planned, no grade switch)."""
    O, M, G, Y = dims["O"], dims["M"], dims["G"], dims["Y"]  # noqa: E741
    return inp._replace(
        dmult=np.ones((1, Y)), dense=True, avail=np.ones((1, 1, 1, 1)), level=np.zeros((1, 1, 0)),
        target=np.zeros((0, O, M)), ramp=np.ones((1, 1)), sw_step=np.full((1, G), -1, np.int64),
    )  # fmt: skip


def _prepare_chain(chain: Chain, plan: Plan, step: str) -> Prepared:
    """`prepare`'s draw-independent arrays: the shocks' (demand multiplier, availability,
    spare ramp, switch steps) are placeholders until `prepare` puts a run's own in. The chain's
    arrays as one set of `stacked_inputs` (the rule a block of parameter sets runs too)."""
    stacked, dims = stacked_inputs(chain_arrays(chain, plan), chain.model, step)
    return Prepared(chain, None, step, set_inputs(stacked)[0], dims, plan)


class ChainArrays(NamedTuple):
    """What the kernel's inputs are made of, for sets of one structure stacked on a leading set
    axis (a chain alone: a set axis of 1): each set's numbers as its Chain and plan hold them —
    `chain_arrays` reads them off a Chain; a block of parameter samples has them from the
    batched chain modules (`repm.simulate.block`)."""

    bare: np.ndarray  # set × year × sector × grade, t/yr
    emb: np.ndarray  # set × year × sector × grade, t/yr
    export_dem: np.ndarray  # set × year × grade, t/yr
    gc: np.ndarray  # set × grade × element
    mc: np.ndarray  # set × material × element
    recipe: np.ndarray  # set × feed × grade × material
    cap: np.ndarray  # set × year × feed: the plan's capacity
    share: np.ndarray  # set × (year or 1) × origin × material: the plan's import shares
    stock0: np.ndarray  # set × material: the plan's stockpile
    spare: np.ndarray  # set × origin × material, t/yr
    sep: np.ndarray  # set × year
    irel_max: np.ndarray  # set
    y_am: np.ndarray  # set: the yields
    y_alloy: np.ndarray
    y_om: np.ndarray
    r_scrap: np.ndarray
    sx_recovery: np.ndarray
    basket: np.ndarray  # set × year × basket flow × basket element
    pmf: np.ndarray  # set × sector × age
    hist: np.ndarray  # set × sector × grade × hist_year
    tier: np.ndarray  # set × sector
    fit: np.ndarray  # set × material
    ws_months: np.ndarray  # set
    refill_months: np.ndarray  # set
    ws_sector_months: np.ndarray  # set × sector
    collection: np.ndarray  # set
    recovery: np.ndarray  # set
    retention: np.ndarray  # set × year
    future_from: np.ndarray  # set
    down: np.ndarray  # set × grade
    sw_share: np.ndarray  # set × sector
    toll_cap: np.ndarray  # set × year × route
    toll_grade: np.ndarray  # set × route
    toll_lead_months: np.ndarray  # set × route
    toll_partner: np.ndarray  # set × route
    toll_first: np.ndarray  # set × route
    toll_exposure: np.ndarray  # set × route × origin
    ov_oxide: np.ndarray  # set × year × source
    ov_country: np.ndarray  # set × source
    ov_mixed: np.ndarray  # set × source


def chain_arrays(chain: Chain, plan: Plan) -> ChainArrays:
    """A chain's and plan's `ChainArrays`, as one set."""
    tlv, ovv = chain.tolling.variables, chain.overseas.variables
    Y, y = chain.n_years, chain.yields
    one = lambda v: np.asarray(v)[None]  # noqa: E731
    return ChainArrays(
        bare=one(chain.demand_bare.values), emb=one(chain.demand_embedded.values),
        export_dem=one(chain.export_demand.values), gc=one(chain.grade_comp.values),
        mc=one(chain.material_comp.values), recipe=one(chain.recipe.values),
        cap=one(_in_order(plan.capacity, "year", "feed")),
        share=one(_shares_by_year(plan.import_share, chain.years)),
        stock0=one(np.broadcast_to(plan.stockpile.values, (len(chain.materials),))),
        spare=one(chain.spare.values), sep=one(chain.separation_output.values),
        irel_max=one(chain.irel_to_units_max), y_am=one(y["alloy_to_magnet"]),
        y_alloy=one(y["alloy_making"]), y_om=one(y["oxide_to_metal"]),
        r_scrap=one(y["scrap_return"]), sx_recovery=one(y["sx_recovery"]),
        basket=one(chain.basket.values), pmf=one(chain.lifetime_pmf.values),
        hist=one(chain.history_inflow.values), tier=one(chain.priority_tier.values),
        fit=one(chain.stockpile_fit.values), ws_months=one(chain.working_stock_months),
        refill_months=one(chain.working_stock_refill_months),
        ws_sector_months=one(chain.sector_working_stock.values),
        collection=one(chain.collection_rate), recovery=one(chain.recycling_recovery),
        retention=one(chain.retention.values), future_from=one(chain.future_from),
        down=one(chain.grade_down), sw_share=one(chain.switch_share),
        toll_cap=one(chain.tolling_capacity.values.reshape(Y, -1)),
        toll_grade=one(tlv["grade"].values), toll_lead_months=one(tlv["lead_months"].values),
        toll_partner=one(tlv["partner"].values), toll_first=one(tlv["first"].values),
        toll_exposure=one(tlv["exposure"].values.reshape(-1, len(chain.origins))),
        ov_oxide=one(chain.overseas_oxide.values.reshape(Y, -1)),
        ov_country=one(ovv["country"].values), ov_mixed=one(ovv["mixed"].values),
    )  # fmt: skip


# Inputs the same for every set of one definition and step (the layout's index arrays, the
# step); the shocks' are None here (`prepare` puts a run's own in)
_SHARED = frozenset({
    "spy", "dt", "group", "ndpr", "magnet", "embedded", "f_ox", "f_met", "rec_to", "up_flows",
    "inflows", "outflows", "stocked", "grade_of",
    "dmult", "dense", "avail", "level", "target", "ramp", "sw_step",
})  # fmt: skip
# a number per set (the kernel takes it as a Python number, as a Chain alone gives it)
_SCALARS = frozenset({
    "irel_max", "y_am", "y_alloy", "y_om", "r_scrap", "ws_frac", "refill_frac", "n_tiers",
    "collection", "recovery", "fresh_per_mag", "strat_from",
})  # fmt: skip


def stacked_inputs(a: ChainArrays, model: ModelDefinition, step: str) -> tuple[tuple, dict]:
    """The kernel's inputs of every set of `a` (`arrays.Inputs`, each field stacked on the set
    axis but `_SHARED`'s), and the output sizes (D: 0 draws). Elementwise or row by row, so a
    set's numbers are the same however many sets are stacked with it (tests/test_block_run.py);
    `set_inputs` gives one set's."""
    lay = _layout(model)  # also checks the definition's flows against the engine's
    GRADES, MATERIALS, ELEMENTS = model.grade_names, model.material_names, model.element_names
    spy = STEPS_PER_YEAR[step]
    dt = 1.0 / spy
    N, Y, S = a.bare.shape[:3]
    G, E, M, F = len(GRADES), len(ELEMENTS), len(MATERIALS), len(FEEDS)
    O, R, K = a.spare.shape[1], a.toll_cap.shape[2], a.ov_oxide.shape[2]  # noqa: E741
    ndpr, H = lay.ndpr, HISTORY_YEARS
    i64 = lambda v: np.ascontiguousarray(v, dtype=np.int64)  # noqa: E731
    col = lambda v: np.asarray(v, dtype=float)[:, None]  # noqa: E731 - a number per set, broadcast

    mc, gc = _f64(a.mc), _f64(a.gc)
    pmf = _f64(a.pmf)
    sf_cum = 1.0 - np.cumsum(pmf, axis=2)  # survival after each whole age
    tier = i64(a.tier)
    oxide_per = np.zeros((N, M))
    for i in lay.oxides:
        oxide_per[:, i] = 1.0 / mc[:, i].sum(axis=1)
    stock0 = np.array(a.stock0, dtype=float)
    stock0[:, lay.embedded] = 0.0  # magnets inside sub-assemblies cannot be stockpiled
    # upstream of separation (draw-independent): the engine's elements' rows of the basket;
    # the kernel books domestic NdPr oxide itself (the same sep × composition)
    on = mc[:, ndpr] > 0
    if not (on == on[0]).all():
        raise ValueError("sets whose NdPr oxide holds other elements; expected one structure")
    ndpr_comp = {e: mc[:, ndpr, i] for i, e in enumerate(ELEMENTS) if on[0, i]}
    upstream = engine_upstream(_f64(a.basket), BASKET_FLOWS, model.basket_names,
                               ELEMENTS, ndpr_comp, _f64(a.sep))  # fmt: skip
    hist = _f64(a.hist)
    # in use when the horizon opens: set by set (an einsum's order of adding may follow shapes)
    ages = H - 1 - np.arange(H)
    in_use0 = np.stack(
        [np.einsum("sgc,sc->sg", hist[n], sf_cum[n][:, ages])[None] for n in range(N)]
    )
    # routes: a tolling partner's magnets are made from oxide like a domestic oxide-fed unit's
    # (`Chain.oxide_per_magnet_values`' NdPr oxide column)
    fresh = fresh_alloy_per_magnet(np.asarray(a.y_am, float), np.asarray(a.r_scrap, float))
    ox_per_mag = a.recipe[:, FEEDS.index("oxide"), :, ndpr] * col(fresh)
    el_per_mag = gc * col(fresh)[:, :, None] / (col(a.y_alloy) * col(a.y_om))[:, :, None]
    mixed = np.asarray(a.ov_mixed, dtype=np.bool_)
    future = np.asarray(a.future_from, dtype=np.int64)

    inp = arrays.Inputs(
        spy=spy, dt=dt, bare=_f64(a.bare), emb=_f64(a.emb), dmult=None, cap=_f64(a.cap),
        recipe=_f64(a.recipe), sep=_f64(a.sep), irel_max=np.asarray(a.irel_max, float),
        y_am=np.asarray(a.y_am, float), y_alloy=np.asarray(a.y_alloy, float),
        y_om=np.asarray(a.y_om, float), r_scrap=np.asarray(a.r_scrap, float),
        share=_f64(a.share), spare=_f64(a.spare * dt),
        dense=None, avail=None, level=None, target=None, ramp=None,  # the shocks': `prepare`
        stock0=stock0, fit=_f64(a.fit), ws_frac=np.asarray(a.ws_months, float) / 12.0 / dt,
        refill_frac=np.minimum(1.0, dt * 12.0 / np.asarray(a.refill_months, float)),
        tier=tier, n_tiers=tier.max(axis=1) + 1, pmf=pmf, sf_cum=sf_cum, history=hist,
        collection=np.asarray(a.collection, float), recovery=np.asarray(a.recovery, float),
        mc=mc, gc=gc, group=lay.group.copy(), ndpr=ndpr, magnet=lay.magnet.copy(),
        embedded=lay.embedded.copy(), f_ox=FEEDS.index("oxide"), f_met=FEEDS.index("metal"),
        rec_to=lay.rec_to.copy(), oxide_per=oxide_per,
        upstream=_f64(np.stack(list(upstream.values()), axis=2)),
        up_flows=np.array([FLOW_INDEX[f] for f in upstream], dtype=np.int64),
        # the processes of the mass balance, and the stocks they hold
        inflows=lay.inflows.copy(), outflows=lay.outflows.copy(), stocked=lay.stocked.copy(),
        in_use0=_f64(in_use0), toll_cap=_f64(a.toll_cap), toll_grade=i64(a.toll_grade),
        toll_lead=i64(np.rint(np.asarray(a.toll_lead_months) / (12 / spy))),
        toll_partner=i64(a.toll_partner), toll_exposure=_f64(a.toll_exposure),
        toll_first=np.ascontiguousarray(a.toll_first, dtype=np.bool_),
        ox_per_mag=_f64(ox_per_mag), el_per_mag=_f64(el_per_mag), ov_oxide=_f64(a.ov_oxide),
        ov_country=i64(a.ov_country), ov_mixed=np.ascontiguousarray(mixed),
        ov_recovery=_f64(np.where(mixed, col(a.sx_recovery), 1.0)),
        retention=_f64(a.retention), fresh_per_mag=fresh, export_dem=_f64(a.export_dem),
        strat_from=-(-future // (12 // spy)),  # first step wholly after as_of
        down=i64(a.down), sw_share=_f64(a.sw_share), sw_step=None,
        ws_sector=_f64(np.asarray(a.ws_sector_months, float) / 12.0 / dt),
        grade_of=lay.grade_of.copy(),
    )  # fmt: skip
    dims = dict(D=0, Y=Y, S=S, G=G, F=F, O=O, M=M, E=E, P=len(model.processes), R=R, K=K)
    return inp, dims


# each field of a set's inputs: 0 the stack's (shared), 1 a number, 2 the set's row
_MODES = tuple(
    0 if f in _SHARED else 1 if f in _SCALARS else 2 for f in arrays.Inputs._fields
)  # fmt: skip


def set_inputs(stacked: tuple) -> list[tuple]:
    """Each set's kernel inputs of `stacked_inputs`: its rows (views, C-contiguous), a Python
    number where the kernel takes one, the shared fields as they are. (The columns split once
    each — an array's rows, its numbers `tolist` — rather than each set indexing every field.)"""
    n = len(stacked.bare)
    columns = [
        itertools.repeat(v, n) if m == 0 else list(v) if m == 2 else v.tolist()
        for m, v in zip(_MODES, stacked, strict=True)
    ]
    return [arrays.Inputs._make(row) for row in zip(*columns, strict=True)]


