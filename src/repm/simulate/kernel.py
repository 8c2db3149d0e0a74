"""The engine's time loop, compiled: every step of the supply rule for one draw after another.

`run(inp, out)` walks each draw through all years and steps (months or years) and writes its
annual sums into `out`; `repm.simulate.engine.simulate` prepares the inputs and labels the outputs.
Draws are independent — nothing of one draw is ever combined with another's — so a draw's
numbers are the same whatever draws share its chunk and however many threads run; `run`
spreads blocks of draws over threads. `fastmath` stays off: every sum keeps its order and
results are reproducible bit for bit.

The rule, per step (docs/model.md):

0. routes (issue 6): overseas oxide on offer this step (each source × its country's
   availability); tolling partners that take IREL oxide first place their orders;
1. feed for domestic magnet making (capacity × ramp-up, Leontief ratios of the feed recipe):
   recycled (and retained) oxide, IREL's oxide and overseas oxide first, then imports —
   origins' usual shares of the order, less what their restrictions refuse, then spare capacity
   pro rata (ramping up after a restriction spell begins: `ramp`) — then industry working
   stock, then the strategic stockpile; units make what their scarcest feed allows; then
   tolling partners order from the IREL oxide left, and what is still left is kept (export
   retention) or exported;
2. magnets domestic output does not cover: tolled magnets arriving this step (ordered a lead
   time ago; any surplus to working stock), then imported (usual shares, then spare), then
   working stock, then the strategic stockpile (magnets embedded in imported sub-assemblies are
   only imported);
3. supply is allocated to sectors by priority tier, pro rata within a tier; the rest is unmet;
4. working stock is rebuilt from a new order and the spare capacity left over.

Once a year: end of life of the in-use cohorts, collection and recycling. Flows are booked by
element per draw × year × flow (the table `FLOWS`) from annual sums in tonnes of material, and
each draw's mass balance is checked (`_balance`) as soon as it is finished.

Book-keeping is arranged so the common case costs little, without changing the rule: imports
are split over origins only when availability changes or the year ends (each origin's part of
what was bought is fixed while availability is); a step in which every sector is served in
full adds nothing unmet, and its deliveries are booked once a year. Sums are therefore taken
in another order than NumPy's whole-array engine took them: results agree with it to ~1e-12
relative.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from repm.chain.rules import toll_factor
from repm.model import KINDS, default_definition
from repm.simulate import jit
from repm.simulate.jit import njit

# flow name, source process, target process: the definition's flow table (data/model.yaml).
# The kernel books named flows, so their indexes are frozen here as constants for numba; a
# definition must keep these flows (it may add grades, sectors and materials freely).
FLOWS: tuple[tuple[str, str, str], ...] = tuple(
    (f.name, f.source, f.target) for f in default_definition().flow_list
)
_FI = {name: i for i, (name, _, _) in enumerate(FLOWS)}
# the flows the kernel books (module-level ints: numba freezes them as constants)
OXIDE_DOMESTIC = _FI["oxide_domestic"]
OXIDE_IMPORTS = _FI["oxide_imports"]
OXIDE_STOCKPILE_RELEASE = _FI["oxide_stockpile_release"]
RECYCLED_OXIDE = _FI["recycled_oxide"]
OXIDE_TO_METAL = _FI["oxide_to_metal"]
OXIDE_EXPORTS = _FI["oxide_exports"]
METAL_LOSS = _FI["metal_loss"]
METAL_TO_ALLOY = _FI["metal_to_alloy"]
METAL_IMPORTS = _FI["metal_imports"]
METAL_STOCKPILE_RELEASE = _FI["metal_stockpile_release"]
ALLOY_LOSS = _FI["alloy_loss"]
ALLOY_TO_MAGNET = _FI["alloy_to_magnet"]
ALLOY_IMPORTS = _FI["alloy_imports"]
ALLOY_STOCKPILE_RELEASE = _FI["alloy_stockpile_release"]
SCRAP_RETURN = _FI["scrap_return"]
SCRAP_LOSS = _FI["scrap_loss"]
MAGNET_EXPORTS = _FI["magnet_exports"]
MAGNETS_DOMESTIC = _FI["magnets_domestic"]
MAGNET_IMPORTS = _FI["magnet_imports"]
MAGNET_STOCKPILE_RELEASE = _FI["magnet_stockpile_release"]
STOCK_REFILL = _FI["stock_refill"]
EMBEDDED_IMPORTS = _FI["embedded_imports"]
EOL_COLLECTED = _FI["eol_collected"]
EOL_LANDFILL = _FI["eol_landfill"]
RECYCLING_LOSS = _FI["recycling_loss"]
OXIDE_TOLLED = _FI["oxide_tolled"]
TOLLING_HEAVY_INPUTS = _FI["tolling_heavy_inputs"]
TOLLING_LOSS = _FI["tolling_loss"]
TOLLED_MAGNETS = _FI["tolled_magnets"]
TOLLED_TO_STOCK = _FI["tolled_to_stock"]
OVERSEAS_OXIDE = _FI["overseas_oxide"]
OVERSEAS_REO = _FI["overseas_reo"]
OVERSEAS_SEPARATED = _FI["overseas_separated"]
OVERSEAS_SX_LOSS = _FI["overseas_sx_loss"]

# material kinds (Inputs.group), in the definition's order
OXIDE, METAL, ALLOY, MAGNET, EMBEDDED = (
    KINDS.index(k) for k in ("oxide", "metal", "alloy", "magnet", "embedded")
)
ALL = -1

BLOCK = 16  # draws per parallel task; scratch arrays are allocated once per block
# `fastmath` off: every sum keeps its order, so results are reproducible bit for bit — and the
# same run uncompiled (`run` on a few draws); `nogil`: blocks of draws run on threads side by side
_JIT = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)
# the stages called every step: inlined where they are called (numba IR), so a stage of its own
# in the source costs no call in the hot loop
_STEP = dict(_JIT, inline="always")
PY_DRAW_STEPS = 8 * 144  # draws × steps run uncompiled when the compiled kernel is not loaded

Inputs = namedtuple(
    "Inputs",
    [
        "spy",  # steps per year (12 or 1)
        "dt",  # years per step
        "bare",  # year × sector × grade, bare-magnet demand, t/yr
        "emb",  # year × sector × grade, magnets embedded in imports, t/yr
        "dmult",  # draw (or 1) × year, demand multiplier
        "cap",  # year × feed, magnet capacity, t/yr
        "recipe",  # feed × grade × material, t per t fresh alloy
        "sep",  # year, IREL NdPr oxide separated, t/yr
        "irel_max",  # t/yr of it available to the units
        "y_am",  # yields: alloy to magnet, alloy making, oxide to metal; scrap returned
        "y_alloy",
        "y_om",
        "r_scrap",
        "share",  # origin × material, usual import shares
        "spare",  # origin × material, spare capacity, t per step
        "dense",  # True: availability from `avail`; False: from `level` × `target`
        "avail",  # draw × step × origin × material, each axis full or 1 (broadcast)
        "level",  # draw × month × event, share of exports refused
        "target",  # event × origin × material weights
        "ramp",  # draw (or 1) × month (or 1), share of spare capacity there (its ramp-up)
        "stock0",  # material, strategic stockpile at the start, t
        "fit",  # material, share of a shortfall its strategic stockpile serves (magnets < 1)
        "ws_frac",  # working stock as a multiple of one step's use
        "refill_frac",  # part of the working-stock gap ordered per step
        "tier",  # sector -> priority tier (0 first)
        "n_tiers",
        "pmf",  # sector × age, share of a cohort leaving at that age
        "sf_cum",  # sector × age, share surviving after that age
        "history",  # sector × grade × history year, inflow before the horizon, t/yr
        "collection",  # collection rate at end of life
        "recovery",  # recycling recovery
        "mc",  # material × element, kg/kg
        "gc",  # grade × element, kg/kg
        "group",  # material -> OXIDE … EMBEDDED
        "ndpr",  # material index of NdPr oxide
        "magnet",  # grade -> material index of the bare magnet
        "embedded",  # grade -> material index of the embedded magnet
        "f_ox",  # feed index: oxide route, metal route
        "f_met",
        "rec_to",  # element -> oxide material it is recycled into (-1: none)
        "oxide_per",  # material -> t oxide per t element recovered
        "upstream",  # year × flow × element: flows upstream of separation (the same every draw)
        "up_flows",  # their flow indexes
        "inflows",  # process × flow indexes into / out of each process, −1 padded
        "outflows",
        "stocked",  # process indexes of the stocks: stockpile, oxide market, use
        "in_use0",  # sector × grade, magnets in use when the horizon opens, t
        "toll_cap",  # year × route, magnets a tolling partner makes for India, t/yr
        "toll_grade",  # route -> grade
        "toll_lead",  # route -> lead time, steps
        "toll_partner",  # route -> origin index
        "toll_exposure",  # route × origin, share of returns needing that origin's licence
        "toll_first",  # route -> True: takes IREL oxide before the units
        "ox_per_mag",  # grade -> t NdPr oxide per t magnet made from oxide
        "el_per_mag",  # grade × element, t element put in per t magnet made from oxide
        "ov_oxide",  # year × source, NdPr oxide an overseas source can deliver, t/yr
        "ov_country",  # source -> origin index
        "ov_recovery",  # source -> t oxide per t NdPr oxide shipped (separation in India)
        "ov_mixed",  # source -> True: mixed oxide separated in India
        "retention",  # year, share of IREL's unused oxide kept in India
        "fresh_per_mag",  # t fresh alloy per t magnet (rules.fresh_alloy_per_magnet)
        "export_dem",  # year × grade, buyers abroad for Indian magnets, t/yr
        "strat_from",  # step from which the strategic stockpile may be drawn (the as-of date)
    ],
)

Outputs = namedtuple(
    "Outputs",
    [
        "demand",  # draw × year × sector × grade (annual sums, t)
        "production",  # draw × year × feed × grade
        "imports",  # draw × year × origin × material
        "stock_draw",  # draw × year × material
        "stockpile_level",  # draw × year × material (end of year)
        "tonne_years",  # draw × year × material
        "working",  # draw × year × material (end of year)
        "recycled",  # draw × year × material (end of year)
        "feed_used",  # draw × year × material
        "irel",  # draw × year
        "unmet",  # draw × year × sector × grade
        "unmet_bare",  # draw × year × sector × grade
        "served",  # draw × year × sector × grade
        "short_steps",  # draw × year
        "eol",  # draw × year × sector × grade
        "in_use",  # draw × year × sector × grade (end of year)
        "flows",  # draw × year × flow × element
        "stock_start",  # draw × material: strategic + working stock at the start
        "residual",  # draw × year × process × element: mass balance, t
        "tolled",  # draw × year × route, magnets returned by tolling partners
        "toll_oxide",  # draw × year, NdPr oxide sent to them
        "transit",  # draw × year × grade, tolled magnets not yet back (end of year)
        "overseas_used",  # draw × year × source, NdPr oxide used from overseas sources
        "exports",  # draw × year, IREL NdPr oxide exported
        "retained",  # draw × year, IREL NdPr oxide kept in India instead
        "magnet_exports",  # draw × year × grade, Indian magnets sold abroad
    ],
)


def outputs(dims: dict[str, int], empty=np.empty) -> Outputs:
    """Output arrays from `empty(shape)`, uninitialised: `run` zeroes each draw's part before it
    starts on it (on the thread that computes it, while it is in cache). dims: D draws, Y years,
    S sectors, G grades, F feeds, O origins, M materials, E elements, P processes, R tolling
    routes, K overseas sources."""
    z = empty
    D, Y, S, G, F, O, M, E, P, R, K = (dims[k] for k in "DYSGFOMEPRK")  # noqa: E741
    return Outputs(
        demand=z((D, Y, S, G)),
        production=z((D, Y, F, G)),
        imports=z((D, Y, O, M)),
        stock_draw=z((D, Y, M)),
        stockpile_level=z((D, Y, M)),
        tonne_years=z((D, Y, M)),
        working=z((D, Y, M)),
        recycled=z((D, Y, M)),
        feed_used=z((D, Y, M)),
        irel=z((D, Y)),
        unmet=z((D, Y, S, G)),
        unmet_bare=z((D, Y, S, G)),
        served=z((D, Y, S, G)),
        short_steps=z((D, Y)),
        eol=z((D, Y, S, G)),
        in_use=z((D, Y, S, G)),
        flows=z((D, Y, len(FLOWS), E)),
        stock_start=z((D, M)),
        residual=z((D, Y, P, E)),
        tolled=z((D, Y, R)),
        toll_oxide=z((D, Y)),
        transit=z((D, Y, G)),
        overseas_used=z((D, Y, K)),
        exports=z((D, Y)),
        retained=z((D, Y)),
        magnet_exports=z((D, Y, G)),
    )


@njit(**_JIT)
def _take(q, n_tot, s_tot):
    """Buy q of one material, at most what is offered: first from origins' nominal offers (n_tot
    in all, pro rata), then from their spare capacity (s_tot in all, pro rata). Returns the
    tonnes taken from the offers and from spare capacity."""
    from_nom = min(q, n_tot)
    return from_nom, min(q - from_nom, s_tot)


@njit(**_JIT)
def _release(rem, m, ws, strat, fit):
    """Cover `rem` t of material m from industry working stock, then the strategic stockpile —
    of what is left, the share fit[m] it serves (`rules.release_gap`); returns what they gave."""
    from_ws = min(rem, ws[m])
    from_strat = min((rem - from_ws) * fit[m], strat[m])
    ws[m] -= from_ws
    strat[m] -= from_strat
    return from_ws + from_strat


@njit(**_JIT)
def _flush(imports, d, y, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp):
    """Book by origin the tonnes bought since the availability last changed: k_nom of each
    material from origins' offers (each ships its part a_share / cs_share), k_sp from spare
    capacity (a_spare / cs_spare); then zero them."""
    for m in range(a_share.shape[1]):
        if k_nom[m] != 0.0:
            x = k_nom[m] / cs_share[m]
            for o in range(a_share.shape[0]):
                imports[d, y, o, m] += a_share[o, m] * x
            k_nom[m] = 0.0
        if k_sp[m] != 0.0:
            x = k_sp[m] / cs_spare[m]
            for o in range(a_spare.shape[0]):
                imports[d, y, o, m] += a_spare[o, m] * x
            k_sp[m] = 0.0


@njit(**_JIT)
def _tiers(supply, dk, g, frac):
    """Serve sectors tier by tier, pro rata within a tier: `supply` of grade g, `dk` tier × grade
    demand. Writes the share of demand served per tier into frac[:, g]; returns True when every
    tier is served in full."""
    remaining = supply
    full = True
    for k in range(dk.shape[0]):
        # supply and demand are sums taken in different orders: within round-off, serve in full
        if remaining >= dk[k, g] * (1 - 1e-12):
            fr = 1.0
        else:
            fr = min(1.0, remaining / dk[k, g]) if dk[k, g] > 0 else 0.0
            full = False
        frac[k, g] = fr
        remaining = max(remaining - fr * dk[k, g], 0.0)
    return full


@njit(**_JIT)
def _column_sums(a_share, a_spare, cs_share, cs_spare):
    """Sums over origins (the first axis): what is offered of each material per unit ordered,
    and spare capacity."""
    for m in range(a_share.shape[1]):
        cs_share[m] = 0.0
        cs_spare[m] = 0.0
    for o in range(a_share.shape[0]):
        for m in range(a_share.shape[1]):
            cs_share[m] += a_share[o, m]
            cs_spare[m] += a_spare[o, m]


@njit(**_JIT)
def _all_available(share, spare, a_share, a_spare, cs_share, cs_spare):
    """Every origin ships all it usually does: a_share = share, a_spare = spare."""
    for o in range(share.shape[0]):
        for m in range(share.shape[1]):
            a_share[o, m] = share[o, m]
            a_spare[o, m] = spare[o, m]
    _column_sums(a_share, a_spare, cs_share, cs_spare)


@njit(**_JIT)
def _book(flows, d, y, f, q, mc, group, which):
    """flows[d, y, f, :] += tonnes of element in q (material) of one group (ALL: every one)."""
    for m in range(q.shape[0]):
        if (which == ALL or group[m] == which) and q[m] != 0.0:
            for e in range(mc.shape[1]):
                flows[d, y, f, e] += q[m] * mc[m, e]


@njit(**_JIT)
def _toll_orders(first, yi, t, ox_left, A, p_star, toll_cap, toll_grade, toll_lead, toll_partner,
                 toll_exposure, toll_first, ox_per_mag, av, magnet, dt, pipe, ordered_g, order_y):  # fmt: skip
    """Magnets ordered this step from the tolling partners that take IREL oxide `first` (or
    from what the units left): each up to its capacity, less what restrictions stop (its
    partner's, and those of origins whose licence its returns need), up to the oxide left and
    the magnets domestic units leave to buy. Orders arrive `toll_lead` steps later. Returns
    the oxide still left."""
    for r in range(toll_cap.shape[1]):
        if toll_first[r] != first or toll_cap[yi, r] == 0.0:
            continue
        g = toll_grade[r]
        mg = magnet[g]
        factor = toll_factor(av[:, mg], toll_partner[r], toll_exposure[r])
        planned = 0.0
        for f in range(p_star.shape[0]):
            planned += p_star[f, g]
        gap = max(A[g] - planned - ordered_g[g], 0.0)
        q = min(toll_cap[yi, r] * dt * factor, gap)
        if ox_per_mag[g] > 0:
            q = min(q, ox_left / ox_per_mag[g])
        if q > 0.0:
            pipe[r, (t + toll_lead[r]) % (toll_lead[r] + 1)] += q
            ox_left -= q * ox_per_mag[g]
            ordered_g[g] += q
            order_y[g] += q
    return max(ox_left, 0.0)


def run(inp, out, threads: int | None = None) -> None:
    """Simulate every draw of `out` through all years and steps of the rule (module docstring).

    A few draws (at most PY_DRAW_STEPS draw-steps) run as plain Python when this process has not
    loaded the compiled kernel yet: the same numbers bit for bit, in less time than loading it
    (~0.4 s) and no compiler on a first run. Otherwise the compiled kernel (`nogil`) runs blocks of
    draws on `threads` threads (default: every core); each draw depends on its own inputs only,
    so the numbers are the same for any split."""
    D = out.unmet.shape[0]
    if D * out.unmet.shape[1] * inp.spy <= PY_DRAW_STEPS and not jit.is_compiled(__name__):
        try:
            with np.errstate(all="ignore"):
                _block(0, D, inp, out)
            return
        except (ZeroDivisionError, OverflowError):  # Python floats raise where NumPy's give inf
            pass
    block = compiled()._block
    if getattr(_SERIAL, "on", False):
        threads = 1
    n = min(threads or os.cpu_count() or 1, (D + BLOCK - 1) // BLOCK)
    if n <= 1:
        block(0, D, inp, out)
        return
    per = -(-D // n)
    with ThreadPoolExecutor(n, thread_name_prefix="repm-kernel") as pool:
        for f in [pool.submit(block, lo, min(D, lo + per), inp, out) for lo in range(0, D, per)]:
            f.result()


def run_sets(inps, out, per_set: int, threads: int | None = None) -> None:
    """Parameter sets on one draw axis: set p (its inputs `inps[p]`: its own chain's arrays and
    its own shocks for `per_set` draws) fills draws p × per_set … (p + 1) × per_set − 1 of `out`.
    Each set runs the same compiled `_block` as `run` on views of `out`, so a set's numbers are
    bit for bit those of a run of that set alone; sets are spread over `threads` threads."""
    P = len(inps)
    if P == 0:
        return
    views = [Outputs(*(a[p * per_set : (p + 1) * per_set] for a in out)) for p in range(P)]
    steps = per_set * out.unmet.shape[1] * inps[0].spy
    if P * steps <= PY_DRAW_STEPS and not jit.is_compiled(__name__):
        try:
            with np.errstate(all="ignore"):
                for inp, view in zip(inps, views, strict=True):
                    _block(0, per_set, inp, view)
            return
        except (ZeroDivisionError, OverflowError):
            pass
    block = compiled()._block
    if getattr(_SERIAL, "on", False):
        threads = 1
    n = min(threads or os.cpu_count() or 1, P)

    def work(lo: int, hi: int) -> None:
        for p in range(lo, hi):
            block(0, per_set, inps[p], views[p])

    if n <= 1:
        work(0, P)
        return
    per = -(-P // n)
    with ThreadPoolExecutor(n, thread_name_prefix="repm-kernel") as pool:
        for f in [pool.submit(work, lo, min(P, lo + per)) for lo in range(0, P, per)]:
            f.result()


def run_serial(inp, out) -> None:
    """`run` on the calling thread only (the same numbers: each draw on its own)."""
    run(inp, out, threads=1)


_SERIAL = threading.local()


@contextmanager
def serial():
    """Within this block, `run` on this thread uses this thread only (chunks already run side by
    side on threads of their own: `repm.analyses.risk.run_draws`)."""
    before = getattr(_SERIAL, "on", False)
    _SERIAL.on = True
    try:
        yield
    finally:
        _SERIAL.on = before


def compiled():
    """The compiled kernel (`repm.simulate.jit.compiled`: loaded from Numba's cache, or compiled once)."""
    return jit.compiled(sys.modules[__name__])


@njit(**_JIT)
def _block(lo, hi, inp, out):  # noqa: C901 - the rule is one loop, on purpose
    """Draws lo … hi − 1, one after another."""
    # every array out of the tuples once: numba then keeps no reference counts in the loops
    bare = inp.bare
    cap = inp.cap
    dmult = inp.dmult
    dt = inp.dt
    emb = inp.emb
    gc = inp.gc
    group = inp.group
    history = inp.history
    irel_max = inp.irel_max
    magnet = inp.magnet
    mc = inp.mc
    n_tiers = inp.n_tiers
    ndpr = inp.ndpr
    pmf = inp.pmf
    recipe = inp.recipe
    sep = inp.sep
    sf_cum = inp.sf_cum
    share = inp.share
    spare = inp.spare
    spy = inp.spy
    stock0 = inp.stock0
    target = inp.target
    tier = inp.tier
    ws_frac = inp.ws_frac
    fresh_per_mag = inp.fresh_per_mag
    o_demand = out.demand
    o_feed_used = out.feed_used
    o_flows = out.flows
    o_imports = out.imports
    o_in_use = out.in_use
    o_irel = out.irel
    o_production = out.production
    o_recycled = out.recycled
    o_served = out.served
    o_short_steps = out.short_steps
    o_stock_draw = out.stock_draw
    o_stock_start = out.stock_start
    o_stockpile_level = out.stockpile_level
    o_tonne_years = out.tonne_years
    o_unmet = out.unmet
    o_unmet_bare = out.unmet_bare
    o_working = out.working
    o_residual = out.residual
    inflows = inp.inflows
    outflows = inp.outflows
    stocked = inp.stocked
    in_use0 = inp.in_use0
    toll_cap = inp.toll_cap
    toll_grade = inp.toll_grade
    toll_lead = inp.toll_lead
    toll_partner = inp.toll_partner
    toll_exposure = inp.toll_exposure
    toll_first = inp.toll_first
    ox_per_mag = inp.ox_per_mag
    ov_oxide = inp.ov_oxide
    ov_country = inp.ov_country
    retention = inp.retention
    export_dem = inp.export_dem
    strat_from = inp.strat_from
    no_strat = np.zeros(inp.stock0.shape[0])  # before the as-of date: history, no stockpile drawn
    o_tolled = out.tolled
    o_toll_oxide = out.toll_oxide
    o_transit = out.transit
    o_overseas_used = out.overseas_used
    o_exports = out.exports
    o_retained = out.retained
    R = toll_cap.shape[1]
    K = ov_oxide.shape[1]
    _, Y, S, G = o_unmet.shape
    O, M = share.shape  # noqa: E741
    F = cap.shape[1]
    E = mc.shape[1]
    H = history.shape[2]
    EV = target.shape[0]
    per = 12 // spy  # months per step
    # --- once per block: what every draw shares ---
    # the feed materials each route uses (Leontief: the scarcest sets the output)
    uses = np.zeros((F, G, M), dtype=np.int64)
    n_uses = np.zeros((F, G), dtype=np.int64)
    for f in range(F):
        for g in range(G):
            for m in range(M):
                if recipe[f, g, m] > 0:
                    uses[f, g, n_uses[f, g]] = m
                    n_uses[f, g] += 1
    # end of life and survival of the cohorts sold before the horizon, by year
    hist_eol = np.zeros((Y, S, G))
    hist_use = np.zeros((Y, S, G))
    for yi in range(Y):
        for s in range(S):
            for g in range(G):
                for c in range(H):
                    age = H + yi - c
                    hist_eol[yi, s, g] += history[s, g, c] * pmf[s, age]
                    hist_use[yi, s, g] += history[s, g, c] * sf_cum[s, age]
    # --- scratch ---
    strat = np.empty(M)  # strategic stockpile, t
    ws = np.empty(M)  # industry working stock, t
    recycled_inv = np.empty(M)  # recycled oxide not yet used, t
    cohorts = np.empty((S, G, Y))  # magnets put in use per year of the horizon, t
    Db = np.empty((S, G))  # demand this step, bare and embedded channels
    De = np.empty((S, G))
    dk_b = np.empty((n_tiers, G))  # … summed per priority tier
    dk_e = np.empty((n_tiers, G))
    fr_b = np.empty((n_tiers, G))  # share served per tier
    fr_e = np.empty((n_tiers, G))
    A = np.empty(G)  # bare demand per grade
    De_sum = np.empty(G)  # embedded demand per grade
    target_g = np.empty(G)
    p_star = np.empty((F, G))  # planned output per route
    req_fg = np.empty((F, G, M))  # … and the feed it needs
    req = np.empty(M)
    feed = np.empty(M, dtype=np.int64)  # materials with req > 0
    refill_list = np.empty(M, dtype=np.int64)  # materials with a working stock to rebuild
    ratio_m = np.empty(M)
    ratio_fg = np.empty((F, G))
    cons = np.empty(M)
    need_imp = np.empty(M)
    from_rec = np.empty(M)
    sp_feed = np.zeros(M)  # tonnes bought from spare capacity this step: feed, magnets
    sp_mag = np.zeros(M)
    k_nom = np.zeros(M)  # tonnes bought from offers and from spare, not yet booked by origin
    k_sp = np.zeros(M)
    need_mag = np.zeros(M)
    P_g = np.empty(G)
    sup_bare = np.empty(G)
    sup_emb = np.empty(G)
    lv = np.empty(max(EV, 1))
    a_share = np.empty((O, M))  # availability × usual share, availability × spare
    a_spare = np.empty((O, M))
    cs_share = np.empty(M)  # their sums over origins
    cs_spare = np.empty(M)
    _all_available(share, spare, a_share, a_spare, cs_share, cs_spare)
    all_available = True  # a_share is share, a_spare is spare
    stockpiled = False  # any strategic stockpile at all (it only ever shrinks)
    for m in range(M):
        stockpiled = stockpiled or stock0[m] != 0.0
    # annual sums in tonnes of material, converted to elements at the end of each year
    feed_imp_y = np.empty(M)
    feed_rel_y = np.empty(M)
    mag_bought_y = np.empty(M)
    mag_rel_y = np.empty(M)
    refill_y = np.empty(M)
    eol_g = np.empty(G)
    el = np.empty(E)
    rec_t = np.empty(M)
    bal_stock = np.empty((Y + 1, 4, E))
    # routes: availability by origin × material (1 unless restricted), tolling pipeline
    av = np.ones((O, M))
    W = 1
    for r in range(R):
        W = max(W, toll_lead[r] + 1)
    pipe = np.zeros((max(R, 1), W))  # magnets ordered, by the step (mod W) they arrive
    ordered_g = np.zeros(G)
    arrive_g = np.zeros(G)
    order_y = np.zeros(G)  # this year: magnets ordered, used on arrival, put in stock
    toll_used_y = np.zeros(G)
    toll_stock_y = np.zeros(G)
    ov_av = np.zeros(max(K, 1))

    for d in range(lo, hi):
        o_production[d] = 0.0
        o_imports[d] = 0.0
        o_stock_draw[d] = 0.0
        o_tonne_years[d] = 0.0
        o_feed_used[d] = 0.0
        o_irel[d] = 0.0
        o_unmet[d] = 0.0
        o_unmet_bare[d] = 0.0
        o_served[d] = 0.0
        o_short_steps[d] = 0.0
        o_flows[d] = 0.0
        o_tolled[d] = 0.0
        o_toll_oxide[d] = 0.0
        o_overseas_used[d] = 0.0
        o_exports[d] = 0.0
        o_retained[d] = 0.0
        out.magnet_exports[d] = 0.0
        pipe[:] = 0.0
        av[:] = 1.0
        dm = d if dmult.shape[0] > 1 else 0
        for m in range(M):
            strat[m] = stock0[m]
            ws[m] = 0.0
            recycled_inv[m] = 0.0
        ret_inv = 0.0  # IREL NdPr oxide kept in India (export retention), t
        cohorts[:] = 0.0
        t = 0
        for yi in range(Y):
            # --- the year's demand and the units' feed plan ---
            mult = dmult[dm, yi]
            for g in range(G):
                A[g] = 0.0
                De_sum[g] = 0.0
            for s in range(S):
                for g in range(G):
                    Db[s, g] = bare[yi, s, g] * mult * dt
                    De[s, g] = emb[yi, s, g] * mult * dt
                    A[g] += Db[s, g]
                    De_sum[g] += De[s, g]
            for k in range(n_tiers):
                for g in range(G):
                    dk_b[k, g] = 0.0
                    dk_e[k, g] = 0.0
                    for s in range(S):
                        if tier[s] == k:
                            dk_b[k, g] += Db[s, g]
                            dk_e[k, g] += De[s, g]
            C = 0.0
            for f in range(F):
                C += cap[yi, f] * dt
            A_tot = 0.0
            X_tot = 0.0  # buyers abroad: served from the capacity India's buyers leave
            for g in range(G):
                A_tot += A[g]
                X_tot += export_dem[yi, g] * dt
            left = max(C - A_tot, 0.0)
            for g in range(G):
                target_g[g] = min(A[g], C * A[g] / A_tot) if A_tot > 0 else 0.0
                if X_tot > 0:
                    X_g = export_dem[yi, g] * dt
                    target_g[g] += min(X_g, left * X_g / X_tot)
            for m in range(M):
                req[m] = 0.0
            for f in range(F):
                cap_share = cap[yi, f] * dt / C if C > 0 else 0.0
                for g in range(G):
                    p_star[f, g] = target_g[g] * cap_share
                    fresh_star = p_star[f, g] * fresh_per_mag  # rules.fresh_alloy_per_magnet
                    for m in range(M):
                        req_fg[f, g, m] = fresh_star * recipe[f, g, m]
                        req[m] += req_fg[f, g, m]
            irel_avail = min(sep[yi], irel_max) * dt
            # a material nobody needs is neither bought, drawn nor refilled (stocks are ≥ 0)
            n_feed = 0
            n_refill = 0
            for m in range(M):
                ratio_m[m] = 1.0
                cons[m] = 0.0
                from_rec[m] = 0.0
                sp_feed[m] = 0.0
                if req[m] > 0:
                    feed[n_feed] = m
                    n_feed += 1
                if (req[m] > 0 or group[m] == MAGNET) and group[m] != EMBEDDED:
                    refill_list[n_refill] = m
                    n_refill += 1
            if yi == 0:  # buyers start with their usual working stock
                for m in range(M):
                    ws[m] = ws_frac * req[m]
                for g in range(G):
                    made = 0.0
                    for f in range(F):
                        made += p_star[f, g]
                    mg = magnet[g]
                    ws[mg] = ws_frac * (req[mg] + max(A[g] - made, 0.0))
                for m in range(M):
                    o_stock_start[d, m] = strat[m] + ws[m]
            for m in range(M):
                feed_imp_y[m] = 0.0
                feed_rel_y[m] = 0.0
                mag_bought_y[m] = 0.0
                mag_rel_y[m] = 0.0
                refill_y[m] = 0.0
            sep_y = 0.0
            exports_y = 0.0
            for g in range(G):
                order_y[g] = 0.0
                toll_used_y[g] = 0.0
                toll_stock_y[g] = 0.0
            n_full = 0  # steps where every sector was served in full

            for _ in range(spy):
                # --- availability × usual share and × spare, this step (a_share, a_spare) ---
                all_available = _step_availability(
                    d, yi, t, per, inp, o_imports, av, a_share, a_spare, cs_share, cs_spare,
                    k_nom, k_sp, lv, all_available,
                )  # fmt: skip

                # --- 0. routes: overseas oxide on offer; tolling that takes IREL oxide first ---
                ox_left = sep[yi] * dt  # IREL's oxide this step not yet spoken for
                ov_tot = 0.0
                for k in range(K):
                    ov_av[k] = ov_oxide[yi, k] * dt * av[ov_country[k], ndpr]
                    ov_tot += ov_av[k]
                for g in range(G):
                    ordered_g[g] = 0.0
                if R > 0:
                    ox_left = _toll_orders(True, yi, t, ox_left, A, p_star, toll_cap, toll_grade,
                                           toll_lead, toll_partner, toll_exposure, toll_first,
                                           ox_per_mag, av, magnet, dt, pipe, ordered_g, order_y)  # fmt: skip
                irel_units = min(irel_avail, ox_left)

                # --- 1. feed: domestic first, then imports, working stock, stockpile ---
                enough = True  # every feed within reach: units make their plan
                for i in range(n_feed):
                    m = feed[i]
                    dom = recycled_inv[m] + (ret_inv + irel_units + ov_tot if m == ndpr else 0.0)
                    need_imp[m] = max(req[m] - dom, 0.0)
                    offered = need_imp[m] * cs_share[m] + cs_spare[m]  # usual shares, then spare
                    within = dom + offered + ws[m] + strat[m]
                    # x ≥ req gives x / req ≥ 1 (division rounds monotonically): skip it
                    if within >= req[m]:
                        ratio_m[m] = 1.0
                    else:
                        ratio_m[m] = min(1.0, within / req[m])
                        enough = enough and ratio_m[m] == 1.0
                if enough:  # ratios all 1: feed used is the plan's (the same sum, term by term)
                    for i in range(n_feed):
                        cons[feed[i]] = req[feed[i]]
                else:
                    for i in range(n_feed):
                        cons[feed[i]] = 0.0
                    for f in range(F):
                        for g in range(G):
                            r = 0.0
                            if p_star[f, g] > 0:  # Leontief: the scarcest feed sets the output
                                r = 1.0
                                for k in range(n_uses[f, g]):
                                    r = min(r, ratio_m[uses[f, g, k]])
                                for k in range(n_uses[f, g]):
                                    m = uses[f, g, k]
                                    cons[m] += r * req_fg[f, g, m]
                            ratio_fg[f, g] = r
                for i in range(n_feed):
                    m = feed[i]
                    from_rec[m] = min(cons[m], recycled_inv[m])
                    recycled_inv[m] -= from_rec[m]
                from_ret = min(cons[ndpr] - from_rec[ndpr], ret_inv)  # retained before fresh
                ret_inv -= from_ret
                from_irel = min(cons[ndpr] - from_rec[ndpr] - from_ret, irel_units)
                from_ov = 0.0
                if K > 0 and ov_tot > 0:  # overseas sources pro rata to what each offers
                    from_ov = min(
                        max(cons[ndpr] - from_rec[ndpr] - from_ret - from_irel, 0.0), ov_tot
                    )
                    for k in range(K):
                        o_overseas_used[d, yi, k] += from_ov * (ov_av[k] / ov_tot)
                for i in range(n_feed):
                    m = feed[i]
                    used = from_rec[m] + (from_ret + from_irel + from_ov if m == ndpr else 0.0)
                    q = max(cons[m] - used, 0.0)
                    bought = 0.0
                    sp_feed[m] = 0.0
                    if q > 0:  # nothing to buy: nothing is shipped
                        nom, sp_feed[m] = _take(q, need_imp[m] * cs_share[m], cs_spare[m])
                        bought = nom + sp_feed[m]
                        k_nom[m] += nom
                        k_sp[m] += sp_feed[m]
                        feed_imp_y[m] += bought
                    release = _release(
                        q - bought, m, ws, strat if t >= strat_from else no_strat, inp.fit
                    )
                    if release != 0.0:
                        feed_rel_y[m] += release
                        o_stock_draw[d, yi, m] += release
                    o_feed_used[d, yi, m] += cons[m]
                for g in range(G):
                    P_g[g] = 0.0
                for f in range(F):
                    for g in range(G):
                        P = p_star[f, g] if enough else p_star[f, g] * ratio_fg[f, g]
                        if P != 0.0:
                            o_production[d, yi, f, g] += P
                        P_g[g] += P

                # --- 1b. tolling from the oxide the units left; then retention or export ---
                ox_left -= from_irel
                for g in range(G):
                    arrive_g[g] = 0.0
                if R > 0:
                    ox_left = _toll_orders(False, yi, t, ox_left, A, p_star, toll_cap, toll_grade,
                                           toll_lead, toll_partner, toll_exposure, toll_first,
                                           ox_per_mag, av, magnet, dt, pipe, ordered_g, order_y)  # fmt: skip
                    for r in range(R):  # what arrives this step (ordered toll_lead steps ago)
                        slot = t % (toll_lead[r] + 1)
                        arrive_g[toll_grade[r]] += pipe[r, slot]
                        o_tolled[d, yi, r] += pipe[r, slot]
                        pipe[r, slot] = 0.0
                    o_toll_oxide[d, yi] += sep[yi] * dt - from_irel - ox_left
                keep = retention[yi] * max(ox_left, 0.0)
                if keep != 0.0:
                    ret_inv += keep  # held in India for the units
                    o_retained[d, yi] += keep
                exports_y += ox_left - keep

                # --- 2. magnets: tolled returns, imports, then working stock and stockpile ---
                _magnets(d, yi, inp, out, A, P_g, arrive_g, De_sum, cs_share, cs_spare, ws,
                         strat if t >= strat_from else no_strat,
                         need_mag, sup_bare, sup_emb, sp_mag, k_nom, k_sp, mag_bought_y,
                         mag_rel_y, toll_used_y, toll_stock_y)  # fmt: skip

                # --- 3. allocation by priority tier; the rest is unmet ---
                if _allocate(d, yi, out, sup_bare, sup_emb, dk_b, dk_e, fr_b, fr_e, Db, De, tier):
                    n_full += 1  # everyone served, nothing unmet: booked at year end

                # --- 4. rebuild working stock from what origins still offer ---
                _refill(d, yi, inp, out, n_refill, refill_list, req, need_mag, ws, sp_feed, sp_mag,
                        a_spare, cs_share, cs_spare, k_nom, k_sp, refill_y)  # fmt: skip
                if stockpiled:
                    for m in range(M):
                        if strat[m] != 0.0:
                            o_tonne_years[d, yi, m] += strat[m] * dt
                o_irel[d, yi] += from_irel + from_ret  # IREL's oxide to the units, kept or fresh
                sep_step = sep[yi] * dt
                sep_y += sep_step
                t += 1

            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            # demand is the same every step of the year; what was served went into use
            for s in range(S):
                for g in range(G):
                    x = Db[s, g] + De[s, g]
                    o_demand[d, yi, s, g] = x * spy
                    o_served[d, yi, s, g] += x * n_full
                    cohorts[s, g, yi] = o_served[d, yi, s, g]
            _book_year(d, yi, inp, out, feed_imp_y, feed_rel_y, mag_bought_y, mag_rel_y,
                       refill_y, el, sep_y, exports_y, order_y, toll_used_y, toll_stock_y, pipe)  # fmt: skip
            _end_of_life_year(d, yi, inp, out, cohorts, hist_eol, hist_use, eol_g, rec_t,
                              recycled_inv, strat, ws, ret_inv)  # fmt: skip

        # --- the draw's books, checked while they are in cache ---
        stocks = (o_stockpile_level, o_working, o_recycled, o_in_use, o_transit)
        _balance(d, o_flows, inflows, outflows, stocks, o_stock_start, in_use0, mc, gc, stocked,
                 o_residual, bal_stock)  # fmt: skip


@njit(**_STEP)
def _step_availability(d, yi, t, per, inp, o_imports, av, a_share, a_spare, cs_share, cs_spare,
                       k_nom, k_sp, lv, all_available):  # fmt: skip
    """This step's availability of each origin × material (av), × usual share and × spare
    (a_share, a_spare) and their sums over origins; returns whether everything is available.
    Speed, kept apart from the rule: imports bought so far are booked by origin (`_flush`) only
    when availability changes, and an unrestricted step reuses share and spare as they are."""
    dense, avail, level, target = inp.dense, inp.avail, inp.level, inp.target
    share, spare, ramp = inp.share, inp.spare, inp.ramp
    O, M = share.shape  # noqa: E741
    EV = target.shape[0]
    # spare capacity ramps up after a restriction spell begins: this step's mean of the ramp
    rp = ramp[d if ramp.shape[0] > 1 else 0, 0]
    if ramp.shape[1] > 1:
        rp = 0.0
        for k in range(per):
            rp += ramp[d if ramp.shape[0] > 1 else 0, t * per + k]
        rp = rp / per
    if dense:
        _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
        da = d if avail.shape[0] > 1 else 0
        ta = min(t, avail.shape[1] - 1)
        for o in range(O):
            oa = o if avail.shape[2] > 1 else 0
            for m in range(M):
                x = avail[da, ta, oa, m if avail.shape[3] > 1 else 0]
                av[o, m] = x
                a_share[o, m] = x * share[o, m]
                a_spare[o, m] = x * spare[o, m] * rp
        _column_sums(a_share, a_spare, cs_share, cs_spare)
    else:
        active = False
        for e in range(EV):
            acc = 0.0
            for k in range(per):
                acc += level[d, t * per + k, e]
            lv[e] = acc / per
            if lv[e] != 0.0:
                active = True
        if active:
            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            for o in range(O):
                for m in range(M):
                    x = 1.0
                    for e in range(EV):
                        x *= 1.0 - lv[e] * target[e, o, m]
                    av[o, m] = x
                    a_share[o, m] = x * share[o, m]
                    a_spare[o, m] = x * spare[o, m] * rp
            _column_sums(a_share, a_spare, cs_share, cs_spare)
            all_available = False
        elif not all_available:  # everything available again: 1 × share is share
            _flush(o_imports, d, yi, a_share, a_spare, cs_share, cs_spare, k_nom, k_sp)
            _all_available(share, spare, a_share, a_spare, cs_share, cs_spare)
            all_available = True
            av[:] = 1.0
    return all_available


@njit(**_STEP)
def _allocate(d, yi, out, sup_bare, sup_emb, dk_b, dk_e, fr_b, fr_e, Db, De, tier):
    """Supply to sectors tier by tier, pro rata within a tier; what is left over is unmet.
    Returns True when every sector is served in full (then nothing is booked here: the year's
    end books served demand at once)."""
    o_unmet, o_unmet_bare, o_served, o_short_steps = (
        out.unmet,
        out.unmet_bare,
        out.served,
        out.short_steps,
    )
    S, G = Db.shape
    full = True
    for g in range(G):
        full &= _tiers(sup_bare[g], dk_b, g, fr_b)
        full &= _tiers(sup_emb[g], dk_e, g, fr_e)
    if full:  # x − x × 1 is 0: nothing unmet
        return True
    short_total = 0.0
    for s in range(S):
        for g in range(G):
            sb = Db[s, g] * fr_b[tier[s], g]
            se = De[s, g] * fr_e[tier[s], g]
            short = (Db[s, g] - sb) + (De[s, g] - se)
            short_total += short
            o_unmet[d, yi, s, g] += short
            o_unmet_bare[d, yi, s, g] += Db[s, g] - sb
            o_served[d, yi, s, g] += sb + se
    if short_total > 1e-9:
        o_short_steps[d, yi] += 1.0
    return False


@njit(**_STEP)
def _magnets(d, yi, inp, out, A, P_g, arrive_g, De_sum, cs_share, cs_spare, ws, strat, need_mag,
             sup_bare, sup_emb, sp_mag, k_nom, k_sp, mag_bought_y, mag_rel_y, toll_used_y,
             toll_stock_y):  # fmt: skip
    """Magnets domestic output does not cover, by grade: tolled magnets arriving (a surplus to
    working stock), then imports (usual shares, then spare), then working stock, then the
    strategic stockpile; magnets inside imported sub-assemblies are only imported. Sets the
    bare and embedded supply each grade has this step (sup_bare, sup_emb)."""
    magnet, embedded = inp.magnet, inp.embedded
    o_stock_draw = out.stock_draw
    G = A.shape[0]
    for g in range(G):
        # India's buyers first; what the units make beyond them goes to buyers abroad
        sold = min(max(P_g[g] - A[g], 0.0), inp.export_dem[yi, g] * inp.dt)
        if sold != 0.0:
            P_g[g] -= sold
            out.magnet_exports[d, yi, g] += sold
        gap = max(A[g] - P_g[g], 0.0)
        t_used = min(arrive_g[g], gap)
        if arrive_g[g] != 0.0:
            toll_used_y[g] += t_used
            toll_stock_y[g] += arrive_g[g] - t_used  # more than needed: stocked
            ws[magnet[g]] += arrive_g[g] - t_used
        need_mag[magnet[g]] = gap - t_used
        need_mag[embedded[g]] = De_sum[g]
        sup_bare[g] = P_g[g] + t_used
        sup_emb[g] = 0.0
        for j in range(2):
            m = magnet[g] if j == 0 else embedded[g]
            bought = 0.0
            sp_mag[m] = 0.0
            if need_mag[m] > 0:
                nom, sp_mag[m] = _take(need_mag[m], need_mag[m] * cs_share[m], cs_spare[m])
                bought = nom + sp_mag[m]
                k_nom[m] += nom
                k_sp[m] += sp_mag[m]
                mag_bought_y[m] += bought
            release = _release(need_mag[m] - bought, m, ws, strat, inp.fit)
            if release != 0.0:
                mag_rel_y[m] += release
                o_stock_draw[d, yi, m] += release
            if j == 0:
                sup_bare[g] += bought + release
            else:
                sup_emb[g] = bought  # embedded magnets cannot be stocked


@njit(**_STEP)
def _refill(d, yi, inp, out, n_refill, refill_list, req, need_mag, ws, sp_feed, sp_mag, a_spare,
            cs_share, cs_spare, k_nom, k_sp, refill_y):  # fmt: skip
    """Buyers rebuild working stock towards its target (months of use) by a new order: usual
    shares as restricted, then the spare capacity this step's purchases left over."""
    group, ws_frac, refill_frac = inp.group, inp.ws_frac, inp.refill_frac
    o_imports = out.imports
    O = a_spare.shape[0]  # noqa: E741
    for i in range(n_refill):
        m = refill_list[i]
        mag = need_mag[m] if group[m] == MAGNET else 0.0
        want = max(ws_frac * (req[m] + mag) - ws[m], 0.0) * refill_frac
        if want > 0:
            # a new order: usual shares (as restricted), then the spare left over
            if sp_feed[m] == 0.0 and sp_mag[m] == 0.0:  # no spare used this step
                nom, spare_part = _take(want, want * cs_share[m], cs_spare[m])
                k_sp[m] += spare_part
            else:  # each origin's spare, less its part of what was bought from it
                w1 = sp_feed[m] / cs_spare[m]
                w2 = sp_mag[m] / cs_spare[m]
                left = 0.0
                for o in range(O):
                    s0 = a_spare[o, m]
                    left += max(s0 - s0 * w1 - s0 * w2, 0.0)
                nom, spare_part = _take(want, want * cs_share[m], left)
                if spare_part != 0.0:
                    x = spare_part / left
                    for o in range(O):
                        s0 = a_spare[o, m]
                        o_imports[d, yi, o, m] += max(s0 - s0 * w1 - s0 * w2, 0.0) * x
            k_nom[m] += nom
            refill = nom + spare_part
            ws[m] += refill
            refill_y[m] += refill


@njit(**_JIT)
def _book_year(d, yi, inp, out, feed_imp_y, feed_rel_y, mag_bought_y, mag_rel_y, refill_y, el,
               sep_y, exports_y, order_y, toll_used_y, toll_stock_y, pipe):  # fmt: skip
    """The year's flows by element (out.flows[d, yi]), from the annual sums in tonnes of
    material the steps gathered: imports, releases and refills by material kind, oxide to metal
    to alloy to magnet with their losses and scrap, upstream of separation, tolling and
    overseas sources."""
    mc, group, gc, ndpr = inp.mc, inp.group, inp.gc, inp.ndpr
    y_om, y_alloy, y_am, r_scrap = inp.y_om, inp.y_alloy, inp.y_am, inp.r_scrap
    f_ox, f_met, up_flows, upstream = inp.f_ox, inp.f_met, inp.up_flows, inp.upstream
    toll_grade, el_per_mag = inp.toll_grade, inp.el_per_mag
    ov_mixed, ov_recovery = inp.ov_mixed, inp.ov_recovery
    o_flows, o_feed_used, o_production = out.flows, out.feed_used, out.production
    o_exports, o_transit, o_overseas_used = out.exports, out.transit, out.overseas_used
    E, M = mc.shape[1], mc.shape[0]
    F, G = o_production.shape[2], o_production.shape[3]
    R, K, W = inp.toll_cap.shape[1], inp.ov_oxide.shape[1], pipe.shape[1]
    # --- the year's flows by element, from annual sums in tonnes of material ---
    grp = group
    _book(o_flows, d, yi, OXIDE_IMPORTS, feed_imp_y, mc, grp, OXIDE)
    _book(o_flows, d, yi, METAL_IMPORTS, feed_imp_y, mc, grp, METAL)
    _book(o_flows, d, yi, ALLOY_IMPORTS, feed_imp_y, mc, grp, ALLOY)
    _book(o_flows, d, yi, OXIDE_STOCKPILE_RELEASE, feed_rel_y, mc, grp, OXIDE)
    _book(o_flows, d, yi, METAL_STOCKPILE_RELEASE, feed_rel_y, mc, grp, METAL)
    _book(o_flows, d, yi, ALLOY_STOCKPILE_RELEASE, feed_rel_y, mc, grp, ALLOY)
    _book(o_flows, d, yi, MAGNET_IMPORTS, mag_bought_y, mc, grp, MAGNET)
    _book(o_flows, d, yi, EMBEDDED_IMPORTS, mag_bought_y, mc, grp, EMBEDDED)
    _book(o_flows, d, yi, MAGNET_STOCKPILE_RELEASE, mag_rel_y, mc, grp, MAGNET)
    _book(o_flows, d, yi, STOCK_REFILL, refill_y, mc, grp, ALL)
    for e in range(E):
        el[e] = 0.0
        for m in range(M):
            if grp[m] == OXIDE:
                el[e] += o_feed_used[d, yi, m] * mc[m, e]
        o_flows[d, yi, OXIDE_TO_METAL, e] = el[e]
        o_flows[d, yi, METAL_LOSS, e] = el[e] * (1 - y_om)
        o_flows[d, yi, METAL_TO_ALLOY, e] = el[e] * y_om
        metal_in = el[e] * y_om
        for m in range(M):
            if grp[m] == METAL:
                metal_in += o_feed_used[d, yi, m] * mc[m, e]
        o_flows[d, yi, ALLOY_LOSS, e] = metal_in * (1 - y_alloy)
    for g in range(G):
        made = 0.0
        fresh_om = 0.0
        ret_g = 0.0
        loss_g = 0.0
        for f in range(F):
            P = o_production[d, yi, f, g]
            alloy_in = P / y_am
            ret = r_scrap * (alloy_in - P)
            if f == f_ox or f == f_met:
                fresh_om += alloy_in - ret
            ret_g += ret
            loss_g += alloy_in - P - ret
            made += P
        for e in range(E):
            o_flows[d, yi, ALLOY_TO_MAGNET, e] += (fresh_om + ret_g) * gc[g, e]
            o_flows[d, yi, SCRAP_RETURN, e] += ret_g * gc[g, e]
            o_flows[d, yi, SCRAP_LOSS, e] += loss_g * gc[g, e]
            o_flows[d, yi, MAGNETS_DOMESTIC, e] += (made - out.magnet_exports[d, yi, g]) * gc[g, e]
            o_flows[d, yi, MAGNET_EXPORTS, e] += out.magnet_exports[d, yi, g] * gc[g, e]
    for e in range(E):
        o_flows[d, yi, OXIDE_DOMESTIC, e] = sep_y * mc[ndpr, e]
        o_flows[d, yi, OXIDE_EXPORTS, e] = exports_y * mc[ndpr, e]
        for k in range(up_flows.shape[0]):
            o_flows[d, yi, up_flows[k], e] = upstream[yi, k, e]
    o_exports[d, yi] = exports_y
    if R > 0:
        for g in range(G):
            o_transit[d, yi, g] = 0.0
        for r in range(R):
            for k in range(W):
                o_transit[d, yi, toll_grade[r]] += pipe[r, k]
        for e in range(E):
            for g in range(G):
                inp_e = order_y[g] * el_per_mag[g, e]
                if mc[ndpr, e] > 0:  # Nd, Pr: IREL's oxide; Dy, Tb: the partner's
                    o_flows[d, yi, OXIDE_TOLLED, e] += inp_e
                else:
                    o_flows[d, yi, TOLLING_HEAVY_INPUTS, e] += inp_e
                o_flows[d, yi, TOLLING_LOSS, e] += inp_e - order_y[g] * gc[g, e]
                o_flows[d, yi, TOLLED_MAGNETS, e] += toll_used_y[g] * gc[g, e]
                o_flows[d, yi, TOLLED_TO_STOCK, e] += toll_stock_y[g] * gc[g, e]
    else:
        for g in range(G):
            o_transit[d, yi, g] = 0.0
    for k in range(K):
        used = o_overseas_used[d, yi, k]
        for e in range(E):
            if not ov_mixed[k]:  # separated oxide
                o_flows[d, yi, OVERSEAS_OXIDE, e] += used * mc[ndpr, e]
            else:  # mixed oxide separated in India
                shipped = used / ov_recovery[k] * mc[ndpr, e]
                o_flows[d, yi, OVERSEAS_REO, e] += shipped
                o_flows[d, yi, OVERSEAS_SEPARATED, e] += used * mc[ndpr, e]
                o_flows[d, yi, OVERSEAS_SX_LOSS, e] += shipped - used * mc[ndpr, e]


@njit(**_JIT)
def _end_of_life_year(d, yi, inp, out, cohorts, hist_eol, hist_use, eol_g, rec_t, recycled_inv,
                      strat, ws, ret_inv):  # fmt: skip
    """Once a year (slow dynamics): in-use stock and end of life of every cohort, collection and
    recycling back to oxide, and the year-end stock levels."""
    pmf, sf_cum, gc, ndpr = inp.pmf, inp.sf_cum, inp.gc, inp.ndpr
    collection, recovery, rec_to, oxide_per = (
        inp.collection,
        inp.recovery,
        inp.rec_to,
        inp.oxide_per,
    )
    o_flows, o_eol, o_in_use = out.flows, out.eol, out.in_use
    o_stockpile_level, o_working, o_recycled = out.stockpile_level, out.working, out.recycled
    S, G, E, M = cohorts.shape[0], cohorts.shape[1], gc.shape[1], strat.shape[0]
    # --- in-use stock, end of life and recycling, once a year (slow dynamics) ---
    for g in range(G):
        eol_g[g] = 0.0
    for s in range(S):
        for g in range(G):
            leaving = hist_eol[yi, s, g]
            staying = hist_use[yi, s, g]
            for c in range(yi + 1):
                age = yi - c
                leaving += cohorts[s, g, c] * pmf[s, age]
                staying += cohorts[s, g, c] * sf_cum[s, age]
            o_eol[d, yi, s, g] = leaving
            o_in_use[d, yi, s, g] = staying
            eol_g[g] += leaving
    for m in range(M):
        rec_t[m] = 0.0
    for e in range(E):
        eol_el = 0.0
        for g in range(G):
            eol_el += eol_g[g] * gc[g, e]
        collected = eol_el * collection
        recovered = collected * recovery
        o_flows[d, yi, EOL_COLLECTED, e] = collected
        o_flows[d, yi, EOL_LANDFILL, e] = eol_el - collected
        o_flows[d, yi, RECYCLING_LOSS, e] = collected - recovered
        o_flows[d, yi, RECYCLED_OXIDE, e] = recovered
        if rec_to[e] >= 0:
            rec_t[rec_to[e]] += recovered
    for m in range(M):
        recycled_inv[m] += rec_t[m] * oxide_per[m]
        o_stockpile_level[d, yi, m] = strat[m]
        o_working[d, yi, m] = ws[m]
        o_recycled[d, yi, m] = recycled_inv[m] + (ret_inv if m == ndpr else 0.0)


@njit(**_JIT)
def _balance(d, flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out, stock):
    """Mass balance of draw d, per year × process × element: inflows − outflows − Δstock.

    flows: draw × year × flow × element; inflows, outflows: process × flow indexes, −1 padded.
    stocks: (strategic stockpile, working stock, recycled and retained oxide), each draw × year ×
    material at the end of each year, magnets in use, draw × year × sector × grade, and tolled
    magnets in transit, draw × year × grade; held0 (strategic + working, by material) and in_use0
    (sector × grade) when the horizon opens, a row per draw or one for all (nothing is in
    transit then). stocked: the process indexes of the stockpile, the oxide market, use and
    tolling. Writes out[d]; `stock` is scratch, year + 1 × 4 × element."""
    strat, working, recycled, in_use, transit = stocks
    Y, P, E = out.shape[1], out.shape[2], out.shape[3]
    M = mc.shape[0]
    S, G = in_use.shape[2], in_use.shape[3]
    d0 = min(d, held0.shape[0] - 1)
    d1 = min(d, in_use0.shape[0] - 1)
    stock[:] = 0.0
    for e in range(E):
        for m in range(M):
            stock[0, 0, e] += held0[d0, m] * mc[m, e]
        for g in range(G):
            in_g = 0.0
            for s in range(S):
                in_g += in_use0[d1, s, g]
            stock[0, 2, e] += in_g * gc[g, e]
        for y in range(Y):
            for m in range(M):
                stock[y + 1, 0, e] += (strat[d, y, m] + working[d, y, m]) * mc[m, e]
                stock[y + 1, 1, e] += recycled[d, y, m] * mc[m, e]
            for s in range(S):
                for g in range(G):
                    stock[y + 1, 2, e] += in_use[d, y, s, g] * gc[g, e]
            for g in range(G):
                stock[y + 1, 3, e] += transit[d, y, g] * gc[g, e]
    for y in range(Y):
        for p in range(P):
            for e in range(E):
                out[d, y, p, e] = 0.0
            for i in range(inflows.shape[1]):
                f = inflows[p, i]
                if f < 0:
                    break
                for e in range(E):
                    out[d, y, p, e] += flows[d, y, f, e]
            for i in range(outflows.shape[1]):
                f = outflows[p, i]
                if f < 0:
                    break
                for e in range(E):
                    out[d, y, p, e] -= flows[d, y, f, e]
        for k in range(4):
            for e in range(E):
                out[d, y, stocked[k], e] -= stock[y + 1, k, e] - stock[y, k, e]


@njit(**_JIT)
def _balance_all(flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out):
    """`_balance` for every draw of a finished run (`run` checks each draw as it finishes it)."""
    stock = np.empty((flows.shape[1] + 1, 4, flows.shape[3]))
    for d in range(flows.shape[0]):
        _balance(d, flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out, stock)


def balance(flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out) -> None:
    """`_balance` for every draw of a finished run (`run` checks each draw as it finishes it)."""
    compiled()._balance_all(flows, inflows, outflows, stocks, held0, in_use0, mc, gc, stocked, out)
