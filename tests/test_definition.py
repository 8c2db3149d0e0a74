"""The model definition (issue 11): the chain declared once, everything derived from it.

The proof that a sector and a grade class are data, not code: a test definition adds a sector
(`drones`) and a grade class (`g`, with half the bulk UH grade's Dy) and both
reach run, risk, stockpile, plan and finance, with the mass balance closed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from repm.app import (
    FinanceRequest,
    PlanRequest,
    RiskRequest,
    RunRequest,
    StockpileRequest,
    finance,
    plan,
    risk,
    run,
    stockpile,
)
from repm.chain import compile_chain
from repm.errors import UserError
from repm.model import Grade, ModelDefinition, default_definition
from repm.scenario import load_scenario


def test_default_materials_follow_from_grades_and_products() -> None:
    d = default_definition()
    # separated products × (oxide, metal), then grade forms × grades, in declaration order
    assert d.material_names == (
        "ndpr_oxide", "dy_oxide", "tb_oxide", "ndpr_metal", "dy_metal", "tb_metal",
        "alloy_n", "alloy_gbd", "alloy_uh", "magnet_n", "magnet_gbd", "magnet_uh",
        "embedded_n", "embedded_gbd", "embedded_uh",
    )  # fmt: skip
    assert d.names(in_plan=True) == (
        "ndpr_oxide",
        "dy_oxide",
        "tb_oxide",
        "magnet_n",
        "magnet_gbd",
        "magnet_uh",
        "embedded_n",
        "embedded_gbd",
        "embedded_uh",
    )
    assert d.names(sizable=True)[-3:] == ("magnet_n", "magnet_gbd", "magnet_uh")
    assert d.trade_groups == ("oxide", "heavy", "metal", "alloy", "magnet", "embedded")
    assert d.recycled_into == {
        "Nd": "ndpr_oxide",
        "Pr": "ndpr_oxide",
        "Dy": "dy_oxide",
        "Tb": "tb_oxide",
    }
    # a heavy-rare-earth control reaches Dy/Tb and the grades its content rule reaches
    assert d.restricted_by("heavy", include_magnets=True, grades=("gbd", "uh")) == {
        "dy_oxide",
        "tb_oxide",
        "dy_metal",
        "tb_metal",
        "alloy_gbd",
        "magnet_gbd",
        "alloy_uh",
        "magnet_uh",
    }
    assert d.restricted_by("heavy", include_magnets=True, grades=("uh",)) >= {"magnet_uh"}
    assert "magnet_gbd" not in d.restricted_by("heavy", include_magnets=True, grades=("uh",))
    assert "embedded_n" in d.restricted_by("light", include_magnets=True, grades=d.grade_names)
    assert d.restricted_by("light", include_magnets=False) == {"ndpr_oxide", "ndpr_metal"}


def _data() -> dict:
    return default_definition().model_dump()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["flows"].update(leak=("magnet", "nowhere")), "'nowhere' is neither"),
        (
            lambda d: d.update(stocks=[*d["stocks"], "landfill"]),
            "stocks: 'landfill' is not a process",
        ),
        (lambda d: d.update(sectors=["wind", "wind"]), "sectors: a name appears twice"),
        (lambda d: d["separated"]["dy"].update(elements=["Xx"]), "unknown element 'Xx'"),
        (lambda d: d.update(processes=list(reversed(d["processes"]))), "in the order the flows"),
        (lambda d: d.update(grades={}), "expected at least one grade class"),
    ],
)
def test_a_definition_that_refers_to_the_undeclared_is_refused(change, message) -> None:
    data = _data()
    change(data)
    with pytest.raises(ValueError, match=message):
        ModelDefinition.model_validate(data)


def test_the_engine_refuses_a_definition_whose_flows_it_does_not_book() -> None:
    from repm.simulate.engine import simulate

    flows = dict(default_definition().flows)
    flows["extra"] = ("magnet", "losses")
    model = default_definition().with_changes(flows=flows)
    loaded = load_scenario("india-baseline", definition=model)
    with pytest.raises(ValueError, match="flows differ"):
        simulate(compile_chain(loaded.scenario), step="yearly")


# --- a sector and a grade class added as data ---------------------------------------------------

GBD = {"ndpr": 0.28, "dy": 0.03, "tb": 0.0}  # half the UH grade's ~6 % Dy (Trout 2018: GBD)


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> tuple[ModelDefinition, object]:
    base = default_definition()
    model = base.with_changes(
        sectors=[*base.sectors, "drones"],
        grades={**base.model_dump()["grades"], "g": Grade(label="half-Dy UH").model_dump()},
    )
    folder: Path = tmp_path_factory.mktemp("definition")
    scenario = {
        "extends": "india-baseline",
        "name": "with-drones-and-gbd",
        "demand": {
            "channels": {"bare_share": {"drones": 0.2}},
            "sectors": {
                "drones": {
                    "basis": "share",
                    "share": 0.02,
                    "growth": 0.25,
                    "grade_mix": {"n": 0.4, "g": 0.6},
                    "lifetime": {"mean": 5, "cv": 0.3},
                },
                # EV traction: half its magnets in the new grade, half in the bulk UH grade
                "ev_car": {"grade_mix": {"n": None, "gbd": None, "uh": 0.5, "g": 0.5}},
            },
        },
        "supply": {"grades": {"g": GBD}},
        "economics": {"magnet_cost": {"conversion": {"g": "21 USD/kg"}}},
        "policy": {"sector_priority": [["defence", "drones"]]},
    }
    path = folder / "extended.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return model, load_scenario(str(path), definition=model)


def test_the_new_sector_and_grade_are_in_the_chain(extended) -> None:
    model, loaded = extended
    chain = compile_chain(loaded.scenario)
    assert chain.grades == ("n", "gbd", "uh", "g") and "drones" in chain.sectors
    assert {"alloy_g", "magnet_g", "embedded_g"} <= set(chain.materials)
    # the GBD grade's composition and oxide recipe come from its own Dy content
    gc = chain.grade_comp.sel(grade="g")
    assert float(gc.sel(element="Dy")) == pytest.approx(GBD["dy"])
    per = chain.oxide_per_magnet
    ratio = float(
        per.sel(grade="g", material="dy_oxide") / per.sel(grade="uh", material="dy_oxide")
    )
    uh_dy = float(chain.grade_comp.sel(grade="uh", element="Dy"))
    assert ratio == pytest.approx(GBD["dy"] / uh_dy)
    # its price: its oxides at the year's prices + other materials + its own margin
    fx = loaded.scenario.economics.fx_inr_per_usd
    own = float(chain.oxide_per_magnet.sel(grade="g") @ chain.oxide_price.isel(year=1))
    other = loaded.scenario.economics.magnet_cost.other_materials
    assert float(chain.magnet_price.sel(grade="g").isel(year=1)) == pytest.approx(
        own + other + 21 * fx
    )
    # drones demand is split 40:60 over n and g, nothing in the others
    dem = (chain.demand_bare + chain.demand_embedded).sel(sector="drones").isel(year=0)
    assert float(dem.sel(grade=["gbd", "uh"]).sum()) == 0.0
    assert float(dem.sel(grade="g") / dem.sum()) == pytest.approx(0.6)


def test_run_books_the_new_grade_and_sector_and_balances(extended) -> None:
    _, loaded = extended
    out = run(RunRequest(scenario=loaded, store=False))
    ds = out.results.data
    assert "g" in ds.grade.values and "drones" in ds.sector.values
    assert float(ds.demand.sel(sector="drones").sum()) > 0
    # imports of the new grade's bare and embedded magnets are booked, by origin
    assert float(ds.imports.sel(material=["magnet_g", "embedded_g"]).sum()) > 0
    assert float(abs(ds.residual).max()) < 1e-6
    names = {r["name"] for r in out.payload["indicators"] if r.get("sector") == "drones"}
    assert "magnet_demand" in names


def test_a_heavy_control_reaches_the_new_heavy_grade(extended) -> None:
    """A Dy/Tb export ban (April 2025 type) hits magnet_g (it contains Dy) but not magnet_n."""
    _, loaded = extended
    from repm.simulate.shocks import event_targets

    chain = compile_chain(loaded.scenario)
    target, _ = event_targets(loaded.scenario.risk, chain)
    heavy = [e for e, ev in enumerate(loaded.scenario.risk.events) if ev.elements == "heavy"]
    assert heavy, "the baseline's risk model has a heavy-rare-earth event"
    china = chain.origins.index("China")
    t = target[heavy[0], china]
    assert t[chain.materials.index("magnet_g")] == 1.0
    assert t[chain.materials.index("magnet_n")] == 0.0


def test_risk_stockpile_plan_and_finance_take_the_new_grade(extended) -> None:
    _, loaded = extended
    r = risk(RiskRequest(scenario=loaded, draws=40, seed=3, store=False))
    sectors = {row.get("sector") for row in r.payload["indicators"]}
    assert "drones" in sectors
    s = stockpile(StockpileRequest(scenario=loaded, draws=40, seed=3, store=False))
    assert "magnet_g" in {row["material"] for row in s.payload["stockpile"]}
    p = plan(PlanRequest(scenario=loaded, store=False))
    assert "magnet_g" in p.payload["plan"]["import_shares"]
    f = finance(FinanceRequest(scenario=loaded, store=False))
    base = finance(FinanceRequest(scenario="india-baseline", store=False))
    npv = [u["npv"] for u in f.payload["units"]]
    npv0 = [u["npv"] for u in base.payload["units"]]
    # the units sell part of their output as the new grade: other feed, other prices
    assert len(npv) == 5 and all(np.isfinite(npv))
    assert all(a != b for a, b in zip(npv, npv0, strict=True))


def test_a_scenario_naming_an_undeclared_grade_or_sector_is_a_user_error(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"extends": "india-baseline", "supply": {"grades": {"g": GBD}}}),
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="composition of every grade class"):
        load_scenario(str(bad))
    with pytest.raises(UserError, match="unknown sector 'drones'"):
        load_scenario("india-baseline", ["policy.sector_priority.0.0=drones"])


def test_the_old_growth_key_is_refused_with_its_new_name() -> None:
    """No calendar year in a field name: the growth after the last anchor, whatever year it is."""
    with pytest.raises(UserError, match="growth_after_2030 is replaced by growth_after_anchors"):
        load_scenario("india-baseline", ["demand.growth_after_2030=0.08"])


def test_a_sector_gives_a_grade_mix_that_sums_to_one(tmp_path) -> None:
    with pytest.raises(UserError, match="hre_share is replaced by grade_mix"):
        load_scenario("india-baseline", ["demand.sectors.wind.hre_share=0.5"])
    with pytest.raises(UserError, match="grade_mix"):
        load_scenario("india-baseline", ["demand.sectors.wind.grade_mix=null"])
    bad = tmp_path / "mix.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "extends": "india-baseline",
                "demand": {"sectors": {"wind": {"grade_mix": {"n": 0.5, "gbd": 0.4, "uh": None}}}},
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="grade_mix: shares sum to 0.9; expected 1"):
        load_scenario(str(bad))
