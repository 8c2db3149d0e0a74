"""The one simulation engine: a short time loop of array expressions over all draws at once.

Each step (a month or a year) follows DESIGN.md's supply rule: domestic production first
(capacity × ramp-up, limited by feed), then imports in the plan's origin shares; a restricted
origin's share is made up by other origins up to their spare capacity; then strategic
stockpiles; what remains is unmet demand, allocated to sectors by priority. Flows are booked
by element (Nd, Pr, Dy, Tb, Th) between named processes so every run can check mass balance.
The deterministic baseline is one draw with no shocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from repm.chain import GRADES, HISTORY_YEARS, MATERIALS, Chain
from repm.chemistry import ELEMENTS
from repm.plan import Plan, default_plan
from repm.scenario.schema import FEEDS
from repm.shocks import Shocks, no_shocks

STEPS_PER_YEAR = {"monthly": 12, "yearly": 1}
BOUNDARY = ("nature", "imports", "residue", "losses", "exports", "landfill")

# flow name, source process, target process
FLOWS: tuple[tuple[str, str, str], ...] = (
    ("extraction", "nature", "mining"),
    ("monazite", "mining", "cracking"),
    ("concentrate", "cracking", "separation"),
    ("cracking_residue", "cracking", "residue"),
    ("oxide_domestic", "separation", "oxide_market"),
    ("sx_loss", "separation", "losses"),
    ("oxide_imports", "imports", "oxide_market"),
    ("oxide_stockpile_release", "stockpile", "oxide_market"),
    ("recycled_oxide", "recycling", "oxide_market"),
    ("oxide_to_metal", "oxide_market", "metal"),
    ("oxide_exports", "oxide_market", "exports"),
    ("metal_loss", "metal", "losses"),
    ("metal_to_alloy", "metal", "alloy"),
    ("metal_imports", "imports", "alloy"),
    ("metal_stockpile_release", "stockpile", "alloy"),
    ("alloy_loss", "alloy", "losses"),
    ("alloy_to_magnet", "alloy", "magnet"),
    ("alloy_imports", "imports", "magnet"),
    ("alloy_stockpile_release", "stockpile", "magnet"),
    ("scrap_return", "magnet", "alloy"),
    ("scrap_loss", "magnet", "losses"),
    ("magnets_domestic", "magnet", "use"),
    ("magnet_imports", "imports", "use"),
    ("magnet_stockpile_release", "stockpile", "use"),
    ("stock_refill", "imports", "stockpile"),
    ("embedded_imports", "imports", "use"),
    ("eol_collected", "use", "recycling"),
    ("eol_landfill", "use", "landfill"),
    ("recycling_loss", "recycling", "losses"),
)
PROCESSES = tuple(
    dict.fromkeys(p for _, a, b in FLOWS for p in (a, b) if p not in BOUNDARY)
)  # mining … recycling, stockpile


@dataclass(frozen=True)
class SimOutput:
    """Raw engine output: an xarray Dataset with named dimensions."""

    data: xr.Dataset


def _allocate(supply: np.ndarray, demand: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Serve sectors tier by tier; pro rata within a tier. supply (D,G), demand (D,S,G) -> (D,S,G)."""
    served = np.zeros(demand.shape)
    remaining = supply.copy()
    for k in range(int(tier.max()) + 1):
        mask = (tier == k).astype(float)[None, :, None]
        dk = (demand * mask).sum(axis=1)  # D,G
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(dk > 0, np.minimum(1.0, remaining / np.where(dk > 0, dk, 1.0)), 0.0)
        # supply and demand are sums taken in different orders: within round-off, serve in full
        frac = np.where(remaining >= dk * (1 - 1e-12), 1.0, frac)
        served += demand * mask * frac[:, None, :]
        remaining = np.maximum(remaining - frac * dk, 0.0)
    return served


def _take(q: np.ndarray, nominal: np.ndarray, spare: np.ndarray):
    """Buy q (D,M), at most what is offered: first from origins' nominal offers (pro rata),
    then from their spare capacity (pro rata). Returns (by_origin, bought (D,M), from nominal
    by origin, from spare by origin)."""
    n_tot, s_tot = nominal.sum(axis=1), spare.sum(axis=1)
    from_nom = np.minimum(q, n_tot)
    from_spare = np.minimum(q - from_nom, s_tot)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_nom = np.where(n_tot > 0, from_nom / np.where(n_tot > 0, n_tot, 1.0), 0.0)
        w_sp = np.where(s_tot > 0, from_spare / np.where(s_tot > 0, s_tot, 1.0), 0.0)
    took_nom, took_sp = nominal * w_nom[:, None, :], spare * w_sp[:, None, :]
    return took_nom + took_sp, from_nom + from_spare, took_nom, took_sp


def _el(q: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Tonnes of material (D,X) -> tonnes of element (D,E). einsum, not BLAS, so each draw's
    result is the same whatever the number of draws beside it."""
    return np.einsum("dx,xe->de", q, comp)


def simulate(
    chain: Chain, plan: Plan | None = None, shocks: Shocks | None = None, step: str = "monthly"
) -> SimOutput:
    """Run the chain under a plan and shocks. Returns annual sums with a leading `draw` axis."""
    plan = plan or default_plan(chain)
    shocks = shocks or no_shocks(chain)
    spy = STEPS_PER_YEAR[step]
    dt = 1.0 / spy
    D, Y = shocks.draws, chain.n_years
    S, G, E, M = len(chain.sectors), len(GRADES), len(ELEMENTS), len(MATERIALS)
    O, F = len(chain.origins), len(FEEDS)  # noqa: E741
    mi = {m: i for i, m in enumerate(MATERIALS)}
    ndpr = mi["ndpr_oxide"]

    # --- arrays out of the chain, once ---
    bare = chain.demand_bare.values
    emb = chain.demand_embedded.values
    gc = chain.grade_comp.values
    mc = chain.material_comp.values
    recipe = chain.recipe.values  # F,G,M
    uses = recipe > 0
    cap = plan.capacity.transpose("year", "feed").values
    share = plan.import_share.transpose("origin", "material").values
    spare = chain.spare.values * dt
    sep = chain.separation_output.values
    y_am = chain.yields["alloy_to_magnet"]
    y_alloy = chain.yields["alloy_making"]
    y_om = chain.yields["oxide_to_metal"]
    r_scrap = chain.yields["scrap_return"]
    tier = chain.priority_tier.values
    pmf = chain.lifetime_pmf.values
    H = HISTORY_YEARS
    ox_idx = [mi[m] for m in ("ndpr_oxide", "dy_oxide", "tb_oxide")]
    metal_idx = [mi[m] for m in ("ndpr_metal", "dy_metal", "tb_metal")]
    alloy_idx = [mi["alloy_n"], mi["alloy_h"]]
    magnet_idx = [mi["magnet_n"], mi["magnet_h"]]
    emb_idx = [mi["embedded_n"], mi["embedded_h"]]
    is_ = {k: np.isin(np.arange(M), idx) for k, idx in
           (("ox", ox_idx), ("metal", metal_idx), ("alloy", alloy_idx), ("magnet", magnet_idx), ("emb", emb_idx))}  # fmt: skip
    f_ox, f_met = FEEDS.index("oxide"), FEEDS.index("metal")
    oxide_per_element = np.zeros(M)
    oxide_per_element[ox_idx] = 1.0 / mc[ox_idx].sum(axis=1)
    sf_cum = 1.0 - np.cumsum(pmf, axis=1)  # survival after each whole age
    ws_frac = (
        chain.working_stock_months / 12.0 / dt
    )  # working stock as a multiple of one step's use
    refill_frac = min(1.0, dt * 12.0 / chain.working_stock_refill_months)

    # --- state ---
    strat = np.broadcast_to(plan.stockpile.values, (D, M)).astype(float).copy()
    strat[:, emb_idx] = 0.0  # magnets inside sub-assemblies cannot be stockpiled
    ws = np.zeros((D, M))
    recycled_inv = np.zeros((D, M))
    cohorts = np.zeros((D, S, G, H + Y))
    cohorts[:, :, :, :H] = chain.history_inflow.values[None]

    # --- outputs (annual sums / end-of-year levels) ---
    flows = {name: np.zeros((D, Y, E)) for name, _, _ in FLOWS}
    production = np.zeros((D, Y, F, G))
    imports = np.zeros((D, Y, O, M))
    stock_draw = np.zeros((D, Y, M))
    unmet = np.zeros((D, Y, S, G))
    unmet_bare = np.zeros((D, Y, S, G))
    served = np.zeros((D, Y, S, G))
    demand_out = np.zeros((D, Y, S, G))
    feed_used = np.zeros((D, Y, M))
    irel_to_units = np.zeros((D, Y))
    short_steps = np.zeros((D, Y))
    eol = np.zeros((D, Y, S, G))
    in_use = np.zeros((D, Y, S, G))
    stockpile_level = np.zeros((D, Y, M))
    stockpile_tonne_years = np.zeros((D, Y, M))
    working_level = np.zeros((D, Y, M))
    recycled_level = np.zeros((D, Y, M))
    stock_start = None
    in_use_start = np.einsum("dsgc,sc->dsg", cohorts[:, :, :, :H], sf_cum[:, H - 1 - np.arange(H)])

    t = 0
    for yi in range(Y):
        mult = shocks.demand(yi)[:, None, None]
        Db, De = bare[yi][None] * mult * dt, emb[yi][None] * mult * dt  # D,S,G
        A = Db.sum(axis=1)  # D,G
        cap_y = cap[yi] * dt  # F
        C = cap_y.sum()
        A_tot = A.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            target_g = np.where(
                A_tot > 0, np.minimum(A, C * A / np.where(A_tot > 0, A_tot, 1.0)), 0.0
            )
        p_star = (
            target_g[:, None, :] * (cap_y / C if C > 0 else np.zeros(F))[None, :, None]
        )  # D,F,G
        fresh_star = p_star / y_am * (1 - r_scrap * (1 - y_am))
        req_fg = fresh_star[..., None] * recipe[None]  # D,F,G,M
        req = req_fg.sum(axis=(1, 2))  # D,M
        irel_avail = min(sep[yi], chain.irel_to_units_max) * dt
        plan_mag = np.zeros((D, M))
        plan_mag[:, magnet_idx] = np.maximum(A - p_star.sum(axis=1), 0.0)
        if stock_start is None:
            ws = ws_frac * (req + plan_mag)
            stock_start = strat + ws
        for _ in range(spy):
            a = np.broadcast_to(shocks.at(t, spy), (D, O, M))
            # feed for domestic magnets: domestic first, then imports, working stock, stockpile
            dom = recycled_inv.copy()
            dom[:, ndpr] += irel_avail
            need_imp = np.maximum(req - dom, 0.0)
            nominal = a * share[None] * need_imp[:, None, :]
            spare_av = a * spare[None]
            offered = nominal.sum(axis=1) + spare_av.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_m = np.where(
                    req > 0,
                    np.minimum(1.0, (dom + offered + ws + strat) / np.where(req > 0, req, 1.0)),
                    1.0,
                )
            ratio_fg = np.where(uses[None], ratio_m[:, None, None, :], 1.0).min(axis=3)  # D,F,G
            ratio_fg = np.where(p_star > 0, ratio_fg, 0.0)
            cons = np.einsum("dfg,dfgm->dm", ratio_fg, req_fg)
            from_recycled = np.minimum(cons, recycled_inv)
            recycled_inv -= from_recycled
            from_irel = np.minimum(cons[:, ndpr] - from_recycled[:, ndpr], irel_avail)
            dom_used = from_recycled.copy()
            dom_used[:, ndpr] += from_irel
            q = np.maximum(cons - dom_used, 0.0)
            feed_origin, bought, feed_nom, feed_sp = _take(q, nominal, spare_av)
            rem = q - bought
            from_ws = np.minimum(rem, ws)
            from_strat = np.minimum(rem - from_ws, strat)
            ws -= from_ws
            strat -= from_strat
            feed_release = from_ws + from_strat

            P = p_star * ratio_fg  # D,F,G magnets made
            alloy_in = P / y_am
            ret = r_scrap * (alloy_in - P)
            fresh = alloy_in - ret
            P_g = P.sum(axis=1)  # D,G

            # magnets: what domestic output does not cover is imported, then inventories, then unmet
            need_mag = np.zeros((D, M))
            need_mag[:, magnet_idx] = np.maximum(A - P_g, 0.0)
            need_mag[:, emb_idx] = De.sum(axis=1)
            nominal_m = a * share[None] * need_mag[:, None, :]
            spare_m = spare_av * (is_["magnet"] | is_["emb"])[None, None, :]
            mag_origin, mag_bought, mag_nom, mag_sp = _take(need_mag, nominal_m, spare_m)
            rem = need_mag - mag_bought
            mag_ws = np.minimum(rem, ws)
            mag_strat = np.minimum(rem - mag_ws, strat)
            ws -= mag_ws
            strat -= mag_strat
            mag_release = mag_ws + mag_strat
            supply_bare = P_g + (mag_bought + mag_release)[:, magnet_idx]
            supply_emb = mag_bought[:, emb_idx]
            sb = _allocate(supply_bare, Db, tier)
            se = _allocate(supply_emb, De, tier)
            short = (Db - sb) + (De - se)

            # rebuild working stock from what origins still offer
            target_ws = ws_frac * (req + need_mag * is_["magnet"][None])
            left_spare = np.maximum(spare_av - feed_sp - mag_sp, 0.0)
            want = np.maximum(target_ws - ws, 0.0) * refill_frac
            want[:, emb_idx] = 0.0
            # a new order: origins offer their usual share of it (as restricted), then spare
            refill_origin, refill, _, _ = _take(
                want, a * share[None] * want[:, None, :], left_spare
            )
            ws += refill

            # --- book-keeping (annual sums) ---
            production[:, yi] += P
            imports[:, yi] += feed_origin + mag_origin + refill_origin
            stock_draw[:, yi] += feed_release + mag_release
            unmet[:, yi] += short
            unmet_bare[:, yi] += Db - sb
            served[:, yi] += sb + se
            demand_out[:, yi] += Db + De
            short_steps[:, yi] += short.sum(axis=(1, 2)) > 1e-9
            stockpile_tonne_years[:, yi] += strat * dt
            cohorts[:, :, :, H + yi] += sb + se
            feed_used[:, yi] += cons
            irel_to_units[:, yi] += from_irel

            fo = flows
            feed_imp = feed_origin.sum(axis=1)
            fo["oxide_imports"][:, yi] += _el(feed_imp * is_["ox"], mc)
            fo["metal_imports"][:, yi] += _el(feed_imp * is_["metal"], mc)
            fo["alloy_imports"][:, yi] += _el(feed_imp * is_["alloy"], mc)
            fo["oxide_stockpile_release"][:, yi] += _el(feed_release * is_["ox"], mc)
            fo["metal_stockpile_release"][:, yi] += _el(feed_release * is_["metal"], mc)
            fo["alloy_stockpile_release"][:, yi] += _el(feed_release * is_["alloy"], mc)
            fo["magnet_imports"][:, yi] += _el(mag_bought * is_["magnet"], mc)
            fo["embedded_imports"][:, yi] += _el(mag_bought * is_["emb"], mc)
            fo["magnet_stockpile_release"][:, yi] += _el(mag_release * is_["magnet"], mc)
            fo["stock_refill"][:, yi] += _el(refill, mc)
            ox_cons = _el(cons * is_["ox"], mc)
            fo["oxide_to_metal"][:, yi] += ox_cons
            fo["metal_loss"][:, yi] += ox_cons * (1 - y_om)
            fo["metal_to_alloy"][:, yi] += ox_cons * y_om
            metal_in = ox_cons * y_om + _el(cons * is_["metal"], mc)
            fo["alloy_loss"][:, yi] += metal_in * (1 - y_alloy)
            fresh_om = fresh[:, [f_ox, f_met]].sum(axis=1)  # D,G
            fo["alloy_to_magnet"][:, yi] += _el(fresh_om + ret.sum(axis=1), gc)
            fo["scrap_return"][:, yi] += _el(ret.sum(axis=1), gc)
            fo["scrap_loss"][:, yi] += _el((alloy_in - P - ret).sum(axis=1), gc)
            fo["magnets_domestic"][:, yi] += _el(P_g, gc)
            sep_step = sep[yi] * dt
            fo["oxide_domestic"][:, yi] += sep_step * mc[ndpr]
            fo["oxide_exports"][:, yi] += (sep_step - from_irel)[:, None] * mc[ndpr][None]
            t += 1

        # --- upstream of separation (draw-independent) ---
        oxide_t = sep[yi]
        monazite_t = oxide_t * chain.monazite_per_t_oxide
        mon_el = monazite_t * chain.monazite_comp.values
        conc_el = monazite_t * chain.concentrate_per_t_monazite * mc[ndpr]
        flows["extraction"][:, yi] += mon_el
        flows["monazite"][:, yi] += mon_el
        flows["concentrate"][:, yi] += conc_el
        flows["cracking_residue"][:, yi] += mon_el - conc_el
        flows["sx_loss"][:, yi] += conc_el - oxide_t * mc[ndpr]

        # --- in-use stock, end of life and recycling, once a year (slow dynamics) ---
        c_hi = H + yi + 1
        ages = (H + yi) - np.arange(c_hi)
        eol[:, yi] = np.einsum("dsgc,sc->dsg", cohorts[:, :, :, :c_hi], pmf[:, ages])
        in_use[:, yi] = np.einsum("dsgc,sc->dsg", cohorts[:, :, :, :c_hi], sf_cum[:, ages])
        eol_el = _el(eol[:, yi].sum(axis=1), gc)  # D,E
        collected = eol_el * chain.collection_rate
        recovered = collected * chain.recycling_recovery
        flows["eol_collected"][:, yi] += collected
        flows["eol_landfill"][:, yi] += eol_el - collected
        flows["recycling_loss"][:, yi] += collected - recovered
        flows["recycled_oxide"][:, yi] += recovered
        rec_t = np.zeros((D, M))
        rec_t[:, ndpr] = (recovered[:, 0] + recovered[:, 1]) * oxide_per_element[ndpr]
        rec_t[:, mi["dy_oxide"]] = recovered[:, 2] * oxide_per_element[mi["dy_oxide"]]
        rec_t[:, mi["tb_oxide"]] = recovered[:, 3] * oxide_per_element[mi["tb_oxide"]]
        recycled_inv += rec_t
        stockpile_level[:, yi] = strat
        working_level[:, yi] = ws
        recycled_level[:, yi] = recycled_inv

    # oxide-equivalent NdPr of everything fed to domestic magnet making (oxide, metal or alloy)
    f_ndpr = chain.chem.ndpr_oxide_per_metal
    fresh_all = production / y_am * (1 - r_scrap * (1 - y_am))  # D,Y,F,G
    ndpr_el = np.einsum("dyfg,g->dy", fresh_all, gc[:, 0] + gc[:, 1])
    ndpr_oxide_required = ndpr_el / y_alloy / y_om * f_ndpr

    coords = {
        "draw": np.arange(D) if shocks.draw_ids is None else shocks.draw_ids,
        "year": chain.years,
        "sector": list(chain.sectors),
        "grade": list(GRADES),
        "element": list(ELEMENTS),
        "origin": list(chain.origins),
        "material": list(MATERIALS),
        "feed": list(FEEDS),
        "flow": [f for f, _, _ in FLOWS],
    }
    ds = xr.Dataset(
        {
            "demand": (("draw", "year", "sector", "grade"), demand_out),
            "demand_bare": (("year", "sector", "grade"), bare),
            "demand_embedded": (("year", "sector", "grade"), emb),
            "capacity": (("year", "feed"), cap),
            "production": (("draw", "year", "feed", "grade"), production),
            "imports": (("draw", "year", "origin", "material"), imports),
            "stockpile_draw": (("draw", "year", "material"), stock_draw),
            "stockpile_level": (("draw", "year", "material"), stockpile_level),
            "stockpile_tonne_years": (("draw", "year", "material"), stockpile_tonne_years),
            "working_stock": (("draw", "year", "material"), working_level),
            "recycled_inventory": (("draw", "year", "material"), recycled_level),
            "feed_used": (("draw", "year", "material"), feed_used),
            "irel_to_units": (("draw", "year"), irel_to_units),
            "unmet": (("draw", "year", "sector", "grade"), unmet),
            "unmet_bare": (("draw", "year", "sector", "grade"), unmet_bare),
            "served": (("draw", "year", "sector", "grade"), served),
            "short_steps": (("draw", "year"), short_steps),
            "eol": (("draw", "year", "sector", "grade"), eol),
            "in_use_stock": (("draw", "year", "sector", "grade"), in_use),
            "ndpr_oxide_required": (("draw", "year"), ndpr_oxide_required),
            "separation_output": (("year",), sep),
            "monazite_processed": (("year",), sep * chain.monazite_per_t_oxide),
            "flows": (
                ("draw", "year", "flow", "element"),
                np.stack([flows[f] for f, _, _ in FLOWS], axis=2),
            ),
        },
        coords=coords,
        attrs={"scenario": chain.name, "step": step, "draws": D, "steps_per_year": spy},
    )
    ds["residual"] = mass_balance(ds, stock_start, in_use_start, mc, gc)
    return SimOutput(ds)


def mass_balance(
    ds: xr.Dataset, stockpile0: np.ndarray, in_use0: np.ndarray, mc: np.ndarray, gc: np.ndarray
) -> xr.DataArray:
    """inputs − outputs − Δstock for every process, element and year (t of element)."""
    fl = ds["flows"]
    D, Y, E = fl.sizes["draw"], fl.sizes["year"], fl.sizes["element"]
    stocks = {p: np.zeros((D, Y + 1, E)) for p in PROCESSES}
    stocks["stockpile"][:, 0] = stockpile0 @ mc
    stocks["stockpile"][:, 1:] = (ds["stockpile_level"].values + ds["working_stock"].values) @ mc
    stocks["oxide_market"][:, 1:] = ds["recycled_inventory"].values @ mc
    stocks["use"][:, 0] = in_use0.sum(axis=1) @ gc
    stocks["use"][:, 1:] = np.einsum("dysg,ge->dye", ds["in_use_stock"].values, gc)
    out = np.zeros((D, Y, len(PROCESSES), E))
    for pi, p in enumerate(PROCESSES):
        inflow = sum(fl.sel(flow=n).values for n, _, b in FLOWS if b == p)
        outflow = sum(fl.sel(flow=n).values for n, a, _ in FLOWS if a == p)
        out[:, :, pi] = inflow - outflow - np.diff(stocks[p], axis=1)
    return xr.DataArray(
        out,
        dims=("draw", "year", "process", "element"),
        coords={
            "draw": ds.draw,
            "year": ds.year,
            "process": list(PROCESSES),
            "element": ds.element,
        },
    )
