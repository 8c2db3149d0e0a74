"""The environmental ledger: energy, water, acid and CO2e by stage in India, embodied in what is
imported (at India's own chain coefficients), and per t of magnet supplied; the uranium in the
cracking residue."""

from __future__ import annotations

import numpy as np
import xarray as xr

from repm.chain import Chain
from repm.results import indicators
from repm.results.indicators import over_draws, ratio


def ledger(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray, by: np.ndarray) -> None:
    """The environmental ledger: burdens by stage in India, and embodied in what is imported
    (at the same intensities), by year and per tonne of magnet supplied. `by`: the imports'
    mean over draws, year × origin × material.

    numpy on the labelled arrays' positions (xarray's ~130 selections took ~0.15 s a run): each
    selection is numpy's fancy index that xarray's makes, summed over the same axis, and each
    expression keeps its order of operations, so the floats are xarray's, bit for bit."""
    model = chain.model
    mi = {m: i for i, m in enumerate(chain.materials)}  # `by`'s material axis, as build's
    inten_da = chain.env_intensity  # stage × quantity, per t of stage output
    inten = inten_da.values
    stage = {s: i for i, s in enumerate(inten_da.get_index("stage"))}
    quantity = {q: i for i, q in enumerate(inten_da.get_index("quantity"))}
    flows = over_draws(ds.variables["flows"])  # year × flow × element
    flow = {f: i for i, f in enumerate(ds.variables["flow"].values.tolist())}
    metal_made = flows[:, flow["metal_to_alloy"]].sum(axis=1)  # reduced in India
    mc = chain.material_comp
    ndpr_re = mc.values[mc.get_index("material").get_loc("ndpr_oxide")].sum().item()
    sep_domestic = (
        ds.variables["separation_output"].values
        + flows[:, flow["overseas_separated"]].sum(axis=1) / ndpr_re
    )
    domestic = {
        "cracking": ds.variables["monazite_processed"].values,
        "separation": sep_domestic,
        "metal": metal_made,
        "magnet": prod,
    }
    # cradle-to-gate burden per t of what is imported, with India's own chain coefficients
    per_ox = chain.monazite_per_t_oxide * inten[stage["cracking"]] + inten[stage["separation"]]
    ndpr_ox_per_metal = chain.chem.ndpr_oxide_per_metal / chain.yields["oxide_to_metal"]
    per_metal = ndpr_ox_per_metal * per_ox + inten[stage["metal"]]
    gc = chain.grade_comp
    re_idx = gc.get_index("element").get_indexer(
        [e for e, v in model.elements.items() if v.group != "actinide"]
    )
    metal_per_mag = (
        gc.values[:, re_idx].sum(axis=1)
        * chain.fresh_alloy_per_magnet
        / chain.yields["alloy_making"]
    )  # grade
    grade = {g: i for i, g in enumerate(gc.get_index("grade"))}
    imp_y = by.sum(axis=1)  # year × material

    def imported(mats) -> np.ndarray:  # t a year of these materials, summed as xarray's sel
        return imp_y[:, [mi[m] for m in mats]].sum(axis=1)

    by_route = over_draws(ds.variables["tolled"])  # year × route
    grades = chain.route_grades
    tolled_g = [
        by_route[:, np.flatnonzero(grades == gi)].sum(axis=1) for gi in range(len(chain.grades))
    ]
    tolled = tolled_g[0]
    for t in tolled_g[1:]:
        tolled = tolled + t
    supplied = (
        prod + tolled + imported([*model.names(kind="magnet"), *model.names(kind="embedded")])
    )
    t_oxides = imported(model.names(kind="oxide"))
    t_metals = imported(model.names(kind="metal"))
    t_mags = [
        imported([model.form(k, g) for k in ("alloy", "magnet", "embedded")]) for g in chain.grades
    ]
    for q in indicators.ENV_QUANTITIES:
        qi = quantity[q]
        dom = np.zeros(len(chain.years))
        for st, t_out in domestic.items():
            v = np.asarray(t_out) * float(inten[stage[st], qi])
            add(f"env_{q}_{st}", v)
            dom += v
        metal_q, magnet_q = float(inten[stage["metal"], qi]), float(inten[stage["magnet"], qi])
        # tolled magnets: metal and magnet making happen abroad (their oxide is India's)
        emb = np.zeros(len(chain.years))
        for gi, g in enumerate(chain.grades):
            emb = emb + tolled_g[gi] * (float(metal_per_mag[grade[g]]) * metal_q + magnet_q)
        emb = emb + t_oxides * float(per_ox[qi])
        emb = emb + t_metals * float(per_metal[qi])
        for g, t_mag in zip(chain.grades, t_mags, strict=True):
            per_mag = float(metal_per_mag[grade[g]]) * float(per_metal[qi]) + magnet_q
            emb = emb + t_mag * per_mag
        add(f"env_{q}_domestic", dom)
        add(f"env_{q}_imports", emb)
        add(f"env_{q}_per_t_magnet", ratio(dom + emb, supplied))
    u_frac = chain.chem.mass_fraction({"U": 3, "O": 8}, "U")
    add(
        "env_uranium_residue",
        ds.variables["monazite_processed"].values * chain.u3o8_fraction * u_frac,
    )
