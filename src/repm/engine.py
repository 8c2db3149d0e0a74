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
    """Serve sectors tier by tier; pro rata within a tier. supply (D,G), demand (S,G) -> (D,S,G)."""
    served = np.zeros((supply.shape[0],) + demand.shape)
    remaining = supply.copy()
    for k in range(int(tier.max()) + 1):
        mask = (tier == k).astype(float)
        dk = (demand * mask[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(dk > 0, np.minimum(1.0, remaining / np.where(dk > 0, dk, 1.0)), 0.0)
        served += demand[None] * mask[None, :, None] * frac[:, None, :]
        remaining = np.maximum(remaining - frac * dk, 0.0)
    return served


def _procure(
    need: np.ndarray,
    avail: np.ndarray,
    share: np.ndarray,
    spare: np.ndarray,
    stock: np.ndarray,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Import `need` (D,M): nominal shares from available origins, then other origins' spare
    capacity, then the strategic stockpile. Each origin offers its share of `order` (D,M; the
    quantity first asked for, default `need`), so buying less than was asked for never shrinks
    what an origin can send. Returns (by_origin (D,O,M), from_stock, unmet, obtainable)."""
    nominal = avail * share[None] * (need if order is None else order)[:, None, :]
    spare_av = avail * spare[None] * np.ones_like(nominal)
    n_tot, s_tot = nominal.sum(axis=1), spare_av.sum(axis=1)
    from_nom = np.minimum(need, n_tot)
    rem = need - from_nom
    from_spare = np.minimum(rem, s_tot)
    rem = rem - from_spare
    from_stock = np.minimum(rem, stock)
    unmet = rem - from_stock
    with np.errstate(divide="ignore", invalid="ignore"):
        w_nom = np.where(
            n_tot[:, None, :] > 0, nominal / np.where(n_tot > 0, n_tot, 1.0)[:, None, :], 0.0
        )
        w_sp = np.where(
            s_tot[:, None, :] > 0, spare_av / np.where(s_tot > 0, s_tot, 1.0)[:, None, :], 0.0
        )
    by_origin = w_nom * from_nom[:, None, :] + w_sp * from_spare[:, None, :]
    return by_origin, from_stock, unmet, n_tot + s_tot + stock


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
    f_ox, f_met = FEEDS.index("oxide"), FEEDS.index("metal")
    oxide_per_metal = np.zeros(M)
    oxide_per_metal[ox_idx] = 1.0 / mc[ox_idx].sum(axis=1)  # t oxide per t element
    sf_cum = 1.0 - np.cumsum(pmf, axis=1)  # survival after each whole age

    # --- state ---
    stock = np.broadcast_to(plan.stockpile.values, (D, M)).astype(float).copy()
    stock[:, emb_idx] = 0.0  # magnets inside sub-assemblies cannot be stockpiled
    recycled_inv = np.zeros((D, M))
    cohorts = np.zeros((D, S, G, H + Y))
    cohorts[:, :, :, :H] = chain.history_inflow.values[None]

    # --- outputs (annual sums / end-of-year levels) ---
    flows = {name: np.zeros((D, Y, E)) for name, _, _ in FLOWS}
    production = np.zeros((D, Y, F, G))
    imports = np.zeros((D, Y, O, M))
    stock_draw = np.zeros((D, Y, M))
    unmet = np.zeros((D, Y, S, G))
    served = np.zeros((D, Y, S, G))
    feed_used = np.zeros((D, Y, M))
    irel_to_units = np.zeros((D, Y))
    eol = np.zeros((D, Y, S, G))
    in_use = np.zeros((D, Y, S, G))
    stockpile_level = np.zeros((D, Y, M))
    recycled_level = np.zeros((D, Y, M))
    stock_start = stock.copy()
    in_use_start = np.einsum("dsgc,sc->dsg", cohorts[:, :, :, :H], sf_cum[:, H - 1 - np.arange(H)])

    t = 0
    for yi in range(Y):
        Db, De = bare[yi] * dt, emb[yi] * dt  # S,G
        A = Db.sum(axis=0)  # G
        cap_y = cap[yi] * dt  # F
        C = cap_y.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            target_g = np.minimum(A, C * A / A.sum()) if A.sum() > 0 else np.zeros(G)
            p_star = target_g[None, :] * (cap_y / C)[:, None] if C > 0 else np.zeros((F, G))
        fresh_star = p_star / y_am * (1 - r_scrap * (1 - y_am))  # F,G fresh alloy at target
        req_fg = fresh_star[:, :, None] * recipe  # F,G,M
        req = req_fg.sum(axis=(0, 1))  # M
        irel_avail = min(sep[yi], chain.irel_to_units_max) * dt
        for _ in range(spy):
            a = shocks.at(t)  # D,O|1,M|1
            a = np.broadcast_to(a, (D, O, M))
            dom = recycled_inv.copy()
            dom[:, mi["ndpr_oxide"]] += irel_avail
            need_imp = np.maximum(req[None] - dom, 0.0)
            _, _, _, obtainable = _procure(need_imp, a, share, spare, stock)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_m = np.where(
                    req[None] > 0,
                    np.minimum(1.0, (dom + obtainable) / np.where(req > 0, req, 1.0)),
                    1.0,
                )
            ratio_fg = np.where(uses[None], ratio_m[:, None, None, :], 1.0).min(axis=3)  # D,F,G
            ratio_fg = np.where(p_star[None] > 0, ratio_fg, 0.0)
            cons = np.einsum("dfg,fgm->dm", ratio_fg, req_fg)
            from_recycled = np.minimum(cons, recycled_inv)
            recycled_inv -= from_recycled
            from_irel = np.minimum(
                cons[:, mi["ndpr_oxide"]] - from_recycled[:, mi["ndpr_oxide"]], irel_avail
            )
            dom_used = from_recycled.copy()
            dom_used[:, mi["ndpr_oxide"]] += from_irel
            q_imp = np.maximum(cons - dom_used, 0.0)
            # the feed imports were sized to be obtainable from what each origin offers against
            # the full order `need_imp`; tiny round-off goes to stock draws
            by_origin, from_stock, _, _ = _procure(q_imp, a, share, spare, stock, order=need_imp)
            stock -= from_stock

            P = p_star[None] * ratio_fg  # D,F,G magnets made
            alloy_in = P / y_am
            ret = r_scrap * (alloy_in - P)
            fresh = alloy_in - ret
            P_g = P.sum(axis=1)  # D,G

            # bare channel: what domestic output does not cover is imported
            need_mag = np.zeros((D, M))
            need_mag[:, magnet_idx] = np.maximum(A[None] - P_g, 0.0)
            need_mag[:, emb_idx] = De.sum(axis=0)[None]
            mag_origin, mag_stock, mag_unmet, _ = _procure(need_mag, a, share, spare, stock)
            stock -= mag_stock
            supply_bare = P_g + mag_origin[:, :, magnet_idx].sum(axis=1) + mag_stock[:, magnet_idx]
            supply_emb = mag_origin[:, :, emb_idx].sum(axis=1)
            sb = _allocate(supply_bare, Db, tier)
            se = _allocate(supply_emb, De, tier)

            # --- book-keeping (annual sums) ---
            production[:, yi] += P
            imports[:, yi] += by_origin + mag_origin
            stock_draw[:, yi] += from_stock + mag_stock
            unmet[:, yi] += (Db[None] - sb) + (De[None] - se)
            served[:, yi] += sb + se
            cohorts[:, :, :, H + yi] += sb + se
            feed_used[:, yi] += cons
            irel_to_units[:, yi] += from_irel

            el = lambda q: q @ mc  # noqa: E731  (D,M) tonnes of material -> (D,E) tonnes of element
            imp_mat = by_origin.sum(axis=1)
            only = lambda q, idx: q * np.isin(np.arange(M), idx)[None]  # noqa: E731
            fo = flows
            fo["oxide_imports"][:, yi] += el(only(imp_mat, ox_idx))
            fo["metal_imports"][:, yi] += el(only(imp_mat, metal_idx))
            fo["alloy_imports"][:, yi] += el(only(imp_mat, alloy_idx))
            fo["oxide_stockpile_release"][:, yi] += el(only(from_stock, ox_idx))
            fo["metal_stockpile_release"][:, yi] += el(only(from_stock, metal_idx))
            fo["alloy_stockpile_release"][:, yi] += el(only(from_stock, alloy_idx))
            fo["magnet_imports"][:, yi] += el(only(mag_origin.sum(axis=1), magnet_idx))
            fo["embedded_imports"][:, yi] += el(only(mag_origin.sum(axis=1), emb_idx))
            fo["magnet_stockpile_release"][:, yi] += el(only(mag_stock, magnet_idx))
            ox_cons = el(only(cons, ox_idx))
            fo["oxide_to_metal"][:, yi] += ox_cons
            fo["metal_loss"][:, yi] += ox_cons * (1 - y_om)
            fo["metal_to_alloy"][:, yi] += ox_cons * y_om
            metal_in = ox_cons * y_om + el(only(cons, metal_idx))
            fo["alloy_loss"][:, yi] += metal_in * (1 - y_alloy)
            fresh_om = fresh[:, [f_ox, f_met]].sum(axis=1)  # D,G
            fo["alloy_to_magnet"][:, yi] += (fresh_om + ret.sum(axis=1)) @ gc
            fo["scrap_return"][:, yi] += ret.sum(axis=1) @ gc
            fo["scrap_loss"][:, yi] += (alloy_in - P - ret).sum(axis=1) @ gc
            fo["magnets_domestic"][:, yi] += P_g @ gc
            sep_step = sep[yi] * dt
            fo["oxide_domestic"][:, yi] += sep_step * mc[mi["ndpr_oxide"]]
            fo["oxide_exports"][:, yi] += (sep_step - from_irel)[:, None] * mc[mi["ndpr_oxide"]][
                None
            ]
            t += 1

        # --- upstream of separation (draw-independent) ---
        oxide_t = sep[yi]
        monazite_t = oxide_t * chain.monazite_per_t_oxide
        mon_el = monazite_t * chain.monazite_comp.values
        conc_el = monazite_t * chain.concentrate_per_t_monazite * mc[mi["ndpr_oxide"]]
        flows["extraction"][:, yi] += mon_el
        flows["monazite"][:, yi] += mon_el
        flows["concentrate"][:, yi] += conc_el
        flows["cracking_residue"][:, yi] += mon_el - conc_el
        flows["sx_loss"][:, yi] += conc_el - oxide_t * mc[mi["ndpr_oxide"]]

        # --- in-use stock, end of life and recycling, once a year (slow dynamics) ---
        c_hi = H + yi + 1
        ages = (H + yi) - np.arange(c_hi)
        eol[:, yi] = np.einsum("dsgc,sc->dsg", cohorts[:, :, :, :c_hi], pmf[:, ages])
        in_use[:, yi] = np.einsum("dsgc,sc->dsg", cohorts[:, :, :, :c_hi], sf_cum[:, ages])
        eol_el = eol[:, yi].sum(axis=1) @ gc  # D,E
        collected = eol_el * chain.collection_rate
        recovered = collected * chain.recycling_recovery
        flows["eol_collected"][:, yi] += collected
        flows["eol_landfill"][:, yi] += eol_el - collected
        flows["recycling_loss"][:, yi] += collected - recovered
        flows["recycled_oxide"][:, yi] += recovered
        rec_t = np.zeros((D, M))
        rec_t[:, mi["ndpr_oxide"]] = (recovered[:, 0] + recovered[:, 1]) * oxide_per_metal[
            mi["ndpr_oxide"]
        ]
        rec_t[:, mi["dy_oxide"]] = recovered[:, 2] * oxide_per_metal[mi["dy_oxide"]]
        rec_t[:, mi["tb_oxide"]] = recovered[:, 3] * oxide_per_metal[mi["tb_oxide"]]
        recycled_inv += rec_t
        stockpile_level[:, yi] = stock
        recycled_level[:, yi] = recycled_inv

    # oxide-equivalent NdPr of everything fed to domestic magnet making (oxide, metal or alloy)
    f_ndpr = chain.chem.ndpr_oxide_per_metal
    fresh_all = production / y_am * (1 - r_scrap * (1 - y_am))  # D,Y,F,G
    ndpr_el = np.einsum("dyfg,g->dy", fresh_all, gc[:, 0] + gc[:, 1])
    ndpr_oxide_required = ndpr_el / y_alloy / y_om * f_ndpr

    coords = {
        "draw": np.arange(D),
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
            "demand_bare": (("year", "sector", "grade"), bare),
            "demand_embedded": (("year", "sector", "grade"), emb),
            "capacity": (("year", "feed"), cap),
            "production": (("draw", "year", "feed", "grade"), production),
            "imports": (("draw", "year", "origin", "material"), imports),
            "stockpile_draw": (("draw", "year", "material"), stock_draw),
            "stockpile_level": (("draw", "year", "material"), stockpile_level),
            "recycled_inventory": (("draw", "year", "material"), recycled_level),
            "feed_used": (("draw", "year", "material"), feed_used),
            "irel_to_units": (("draw", "year"), irel_to_units),
            "unmet": (("draw", "year", "sector", "grade"), unmet),
            "served": (("draw", "year", "sector", "grade"), served),
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
        attrs={"scenario": chain.name, "step": step, "draws": D},
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
    stocks["stockpile"][:, 1:] = ds["stockpile_level"].values @ mc
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
