"""The environmental ledger: energy, water, acid and CO2e by stage in India, embodied in what is
imported (at India's own chain coefficients), and per t of magnet supplied; the uranium in the
cracking residue."""

from __future__ import annotations

import numpy as np
import xarray as xr

from repm.chain import Chain
from repm.results import indicators
from repm.results.indicators import mean_over_draws, ratio


def ledger(chain: Chain, ds: xr.Dataset, add, prod: np.ndarray, imp: xr.DataArray) -> None:
    """The environmental ledger: burdens by stage in India, and embodied in what is imported
    (at the same intensities), by year and per tonne of magnet supplied."""
    inten = chain.env_intensity  # stage × quantity, per t of stage output
    model = chain.model
    flows = mean_over_draws(ds.flows)
    metal_made = flows.sel(flow="metal_to_alloy").sum("element").values  # reduced in India
    sep_domestic = ds.separation_output.values + flows.sel(flow="overseas_separated").sum(
        "element"
    ).values / (chain.material_comp.sel(material="ndpr_oxide").sum("element").item())
    domestic = {
        "cracking": ds.monazite_processed.values,
        "separation": sep_domestic,
        "metal": metal_made,
        "magnet": prod,
    }
    # cradle-to-gate burden per t of what is imported, with India's own chain coefficients
    per_ox = chain.monazite_per_t_oxide * inten.sel(stage="cracking") + inten.sel(
        stage="separation"
    )
    ndpr_ox_per_metal = chain.chem.ndpr_oxide_per_metal / chain.yields["oxide_to_metal"]
    per_metal = ndpr_ox_per_metal * per_ox + inten.sel(stage="metal")
    metal_per_mag = (
        chain.grade_comp.sel(
            element=[e for e, v in model.elements.items() if v.group != "actinide"]
        ).sum("element")
        * chain.fresh_alloy_per_magnet
        / chain.yields["alloy_making"]
    )
    imp_y = imp.sum("origin")  # year × material
    by_route = mean_over_draws(ds.tolled)
    grades = chain.tolling["grade"].values
    tolled_g = [
        by_route.isel(route=np.flatnonzero(grades == gi)).sum("route").values
        for gi in range(len(chain.grades))
    ]
    tolled = tolled_g[0]
    for t in tolled_g[1:]:
        tolled = tolled + t
    oxides = list(model.names(kind="oxide"))
    metals = list(model.names(kind="metal"))
    supplied = (
        prod
        + tolled
        + imp_y.sel(material=[*model.names(kind="magnet"), *model.names(kind="embedded")])
        .sum("material")
        .values
    )
    for q in indicators.ENV_QUANTITIES:
        dom = np.zeros(len(chain.years))
        for st, t_out in domestic.items():
            v = np.asarray(t_out) * float(inten.sel(stage=st, quantity=q))
            add(f"env_{q}_{st}", v)
            dom += v
        # tolled magnets: metal and magnet making happen abroad (their oxide is India's)
        emb = np.zeros(len(chain.years))
        for gi, g in enumerate(chain.grades):
            emb = emb + tolled_g[gi] * (
                float(metal_per_mag.sel(grade=g)) * float(inten.sel(stage="metal", quantity=q))
                + float(inten.sel(stage="magnet", quantity=q))
            )
        emb = emb + imp_y.sel(material=oxides).sum("material").values * float(
            per_ox.sel(quantity=q)
        )
        emb = emb + imp_y.sel(material=metals).sum("material").values * float(
            per_metal.sel(quantity=q)
        )
        for g in chain.grades:
            per_mag = float(metal_per_mag.sel(grade=g)) * float(per_metal.sel(quantity=q)) + float(
                inten.sel(stage="magnet", quantity=q)
            )
            t_mag = (
                imp_y.sel(material=[model.form(k, g) for k in ("alloy", "magnet", "embedded")])
                .sum("material")
                .values
            )
            emb = emb + t_mag * per_mag
        add(f"env_{q}_domestic", dom)
        add(f"env_{q}_imports", emb)
        add(f"env_{q}_per_t_magnet", ratio(dom + emb, supplied))
    u_frac = chain.chem.mass_fraction({"U": 3, "O": 8}, "U")
    add("env_uranium_residue", ds.monazite_processed.values * chain.u3o8_fraction * u_frac)
