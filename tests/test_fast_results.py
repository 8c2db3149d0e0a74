"""The results' fast paths give what the slow ones give, bit for bit: the environmental ledger
and GeoPolRisk in numpy against their labelled (xarray) reference, the `--json` rows from the
table's column lists against itertuples', the presets read by libyaml against PyYAML's."""

from __future__ import annotations

import pytest

from repm.chain import compile_chain
from repm.scenario import load_scenario


def _ledger_labelled(chain, ds, add, prod, imp) -> None:
    """The ledger and GeoPolRisk as they read labelled arrays (xarray's `sel` and `sum`): the
    reference the numpy ones (results.environment, results.sourcing) must match bit for bit."""
    import numpy as np

    from repm.results import indicators
    from repm.results.indicators import mean_over_draws, ratio

    inten, model, flows = chain.env_intensity, chain.model, mean_over_draws(ds.flows)
    ndpr = chain.material_comp.sel(material="ndpr_oxide").sum("element").item()
    domestic = {
        "cracking": ds.monazite_processed.values,
        "separation": ds.separation_output.values
        + flows.sel(flow="overseas_separated").sum("element").values / ndpr,
        "metal": flows.sel(flow="metal_to_alloy").sum("element").values,
        "magnet": prod,
    }
    per_ox = chain.monazite_per_t_oxide * inten.sel(stage="cracking") + inten.sel(
        stage="separation"
    )
    per_metal = (
        chain.chem.ndpr_oxide_per_metal / chain.yields["oxide_to_metal"]
    ) * per_ox + inten.sel(stage="metal")
    re = [e for e, v in model.elements.items() if v.group != "actinide"]
    metal_per_mag = (
        chain.grade_comp.sel(element=re).sum("element")
        * chain.fresh_alloy_per_magnet
        / chain.yields["alloy_making"]
    )
    imp_y = imp.sum("origin")
    by_route, grades = mean_over_draws(ds.tolled), chain.tolling["grade"].values
    tolled_g = [
        by_route.isel(route=np.flatnonzero(grades == gi)).sum("route").values
        for gi in range(len(chain.grades))
    ]
    tolled = tolled_g[0]
    for t in tolled_g[1:]:
        tolled = tolled + t

    def mats(names):
        return imp_y.sel(material=list(names)).sum("material").values

    supplied = prod + tolled + mats([*model.names(kind="magnet"), *model.names(kind="embedded")])
    for q in indicators.ENV_QUANTITIES:
        dom = np.zeros(len(chain.years))
        for st, t_out in domestic.items():
            v = np.asarray(t_out) * float(inten.sel(stage=st, quantity=q))
            add(f"env_{q}_{st}", v)
            dom += v

        def at(st, q=q):
            return float(inten.sel(stage=st, quantity=q))

        emb = np.zeros(len(chain.years))
        for gi, g in enumerate(chain.grades):
            emb = emb + tolled_g[gi] * (
                float(metal_per_mag.sel(grade=g)) * at("metal") + at("magnet")
            )
        emb = emb + mats(model.names(kind="oxide")) * float(per_ox.sel(quantity=q))
        emb = emb + mats(model.names(kind="metal")) * float(per_metal.sel(quantity=q))
        for g in chain.grades:
            per_mag = float(metal_per_mag.sel(grade=g)) * float(per_metal.sel(quantity=q)) + at(
                "magnet"
            )
            emb = emb + mats([model.form(k, g) for k in ("alloy", "magnet", "embedded")]) * per_mag
        add(f"env_{q}_domestic", dom)
        add(f"env_{q}_imports", emb)
        add(f"env_{q}_per_t_magnet", ratio(dom + emb, supplied))
    u_frac = chain.chem.mass_fraction({"U": 3, "O": 8}, "U")
    add("env_uranium_residue", ds.monazite_processed.values * chain.u3o8_fraction * u_frac)
    heavy = [m.name for m in model.materials if m.kind == "oxide" and m.heavy]
    groups = {
        "geopolrisk_magnets": (
            [*model.names(kind="magnet"), *model.names(kind="embedded")],
            prod + mean_over_draws(ds.tolled).sum("route").values,
        ),
        "geopolrisk_ndpr_oxide": (
            ["ndpr_oxide"],
            ds.variables["irel_to_units"].values.mean(axis=0)
            + mean_over_draws(ds.overseas_used).sum("source").values,
        ),
        "geopolrisk_heavy": (heavy, np.zeros(len(chain.years))),
    }
    for name, (ms, dom) in groups.items():
        by_origin = imp.sel(material=ms).sum("material").transpose("year", "origin")
        total = by_origin.sum("origin").values + dom
        weighted = (by_origin * chain.governance_risk).sum("origin").values
        add(name, float(chain.world_hhi.sel(material=ms[0])) * ratio(weighted, total))


@pytest.mark.parametrize(
    "scenario", ["india-baseline", "india-tolling-japan", "india-overseas-mines"]
)
def test_ledger_and_geopolrisk_in_numpy_are_the_labelled_arrays(scenario):
    """The environmental ledger and GeoPolRisk index the arrays by position in numpy: the floats
    of their labelled selections and sums, bit for bit, over shock draws and over random values
    in every array (sums of random floats differ in their last bits if the order of adding does)."""
    import numpy as np

    from repm.results.environment import ledger
    from repm.results.indicators import mean_over_draws, over_draws
    from repm.results.sourcing import geopolrisk
    from repm.simulate.engine import simulate
    from repm.simulate.shocks import sample

    loaded = load_scenario(scenario)
    chain = compile_chain(loaded.scenario)
    data = simulate(chain, shocks=sample(loaded.scenario.risk, chain, np.arange(7), 1)).data
    rng = np.random.default_rng(0)
    noise = data.copy(deep=True)
    for var in noise.data_vars.values():
        if var.dtype.kind == "f":
            var.values[...] = rng.random(var.shape) * 10.0 ** rng.integers(-3, 6, var.shape)
    for ds in (data, noise):
        prod = ds.variables["production"].values.sum(axis=(2, 3)).mean(axis=0)
        got, want = [], []

        def keep(rows):
            return lambda name, v, **dims: rows.append((name, dims, np.asarray(v, float).tobytes()))

        ledger(chain, ds, keep(got), prod, over_draws(ds.variables["imports"]))
        geopolrisk(chain, ds, keep(got), prod, over_draws(ds.variables["imports"]))
        _ledger_labelled(chain, ds, keep(want), prod, mean_over_draws(ds.imports))
        assert sorted(got, key=str) == sorted(want, key=str)


def test_known_share_texts_read_as_afresh():
    """normalise's kept share values (the texts a sample did not draw, read by every sample): a
    scenario drawn after many others is the one a fresh Evaluator validates from nothing."""
    import numpy as np

    from repm.analyses.uncertainty import philox_uniforms
    from repm.analyses.uncertainty.evaluate import Evaluator

    loaded = load_scenario("india-baseline")
    warm = Evaluator(loaded, "magnet_imports")
    drawn = warm.inputs.values(philox_uniforms(warm.inputs.drawn, 5, np.arange(12)), 12)
    sets = [{k: float(v[d]) for k, v in drawn.items()} for d in range(12)]
    for at in sets[:-1]:
        warm.scenario_at(at)
        warm.scenario_at(at, drawn=False)  # values written as texts: those are kept too
    assert warm._shares  # the texts were kept
    fresh = Evaluator(loaded, "magnet_imports")
    assert warm.scenario_at(sets[-1]).model_dump() == fresh.scenario_at(sets[-1]).model_dump()
    assert warm.scenario_at(sets[0]).model_dump() != fresh.scenario_at(sets[-1]).model_dump()


def test_fast_readers_give_the_slow_ones_values():
    """The `--json` rows read from the table's column lists are itertuples' rows (the same
    objects, the same JSON text); the event presets read by libyaml are PyYAML's."""
    import json
    from importlib import resources

    import yaml

    from repm.results.build import run_scenario
    from repm.results.indicators import KEYS, IndicatorTable
    from repm.scenario.presets import presets

    def itertuples_records(frame):  # as records() read them before
        out = []
        for row in frame.itertuples(index=False):
            rec = {"year": int(row.year), "name": row.name, "value": float(row.value),
                   "unit": row.unit}  # fmt: skip
            for k in KEYS:
                if isinstance(getattr(row, k), str):
                    rec[k] = getattr(row, k)
            out.append(rec)
        return out

    tables = [run_scenario(load_scenario("india-tolling-japan"))[1].table,
              IndicatorTable.from_rows([{"year": 2030, "name": "unmet_demand", "value": 1.5},
                                        {"year": 2031, "name": "unmet_demand", "value": 2,
                                         "stat": "p95", "sector": "ev"}])]  # fmt: skip
    for table in tables:
        want = itertuples_records(table.frame)
        got = table.records()
        assert got == want
        assert json.dumps(got, default=float) == json.dumps(want, default=float)
        assert [list(r) for r in got] == [list(r) for r in want]  # the keys in the same order
    text = (resources.files("repm") / "data" / "risk_presets.yaml").read_text(encoding="utf-8")
    assert repr(presets()) == repr(yaml.safe_load(text))
