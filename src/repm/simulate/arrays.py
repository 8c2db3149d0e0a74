"""The kernel's named arrays: the flows it books (their indexes frozen as constants), the
material kinds, and its inputs and outputs as named tuples of plain arrays (docs/architecture.md:
the compiled chain as the kernel takes it, and the annual sums it gives back)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from repm.model import KINDS, default_definition

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
        "share",  # year (or 1) × origin × material, usual import shares
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
        "down",  # grade -> the grade one class down (next lower Dy+Tb content), −1: none
        "sw_share",  # sector -> share of a grade's bare demand its makers switch one class down
        "sw_step",  # draw (or 1) × grade: the step makers switch off it (−1: never)
        "ws_sector",  # sector -> its bare-magnet working stock, a multiple of one step's use
        "grade_of",  # material -> the grade of a bare magnet (−1: not a bare magnet)
    ],
)

Outputs = namedtuple(
    "Outputs",
    [
        "demand",  # draw × year × sector × grade (annual sums, t)
        "production",  # draw × year × feed × grade
        "imports",  # draw × year × origin × material
        "stock_draw",  # draw × year × material, released from the strategic stockpile
        "stockpile_level",  # draw × year × material (end of year)
        "tonne_years",  # draw × year × material
        "working",  # draw × year × material (end of year)
        "recycled",  # draw × year × material (end of year)
        "feed_used",  # draw × year × material
        "irel",  # draw × year
        "unmet",  # draw × year × sector × grade
        "unmet_bare",  # draw × year × sector × grade
        "served",  # draw × year × sector × grade
        "short_steps",  # draw × year: steps in which some sector is short
        "short_sector",  # draw × year × sector: steps in which that sector is short
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
        short_sector=z((D, Y, S)),
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


def _f64(a) -> np.ndarray:
    """A writable C-contiguous float64 array (one numba type for every call)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    return a if a.flags.writeable else a.copy()
