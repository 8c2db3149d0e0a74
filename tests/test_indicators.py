"""The indicator registry (issue 11 part 3): every indicator a command prints is declared once,
and a recipe that is arithmetic over other indicators is checked against the computation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repm.results import indicators
from repm.results.indicators import REGISTRY, TABLES, IndicatorTable

GOLDEN = __import__("pathlib").Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def baseline():
    from repm.results.build import run_scenario
    from repm.scenario import load_scenario

    return run_scenario(load_scenario("india-tolling-japan"), step="yearly")[1]


def test_every_indicator_any_command_prints_is_declared_with_its_unit() -> None:
    for path in sorted(GOLDEN.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        for row in payload.get("indicators", []):
            ind = REGISTRY.get(row["name"])
            assert ind is not None, f"{path.name}: {row['name']} is not declared"
            if payload["command"] != "finance":  # finance reports money in the chosen currency
                assert row["unit"] == ind.unit, row
            extra = set(row) - {"year", "name", "value", "unit"}
            assert extra <= set(ind.dims), f"{row['name']}: keys {extra} not in {ind.dims}"


def test_tables_name_declared_indicators_and_run_indicators_have_recipes() -> None:
    for name, names in TABLES.items():
        assert names and all(n in REGISTRY for n in names), name
    no_recipe = [n for n, i in REGISTRY.items() if i.command == "run" and not i.recipe]
    assert not no_recipe


@pytest.mark.parametrize("name", [n for n, i in REGISTRY.items() if i.check])
def test_a_recipe_that_is_arithmetic_matches_the_computed_value(baseline, name) -> None:
    wide = baseline.wide_totals()
    expr = REGISTRY[name].check
    used = {n: wide[n].to_numpy() for n in REGISTRY if n in expr and n in wide}
    with np.errstate(divide="ignore", invalid="ignore"):
        want = eval(expr, {"__builtins__": {}}, used)  # noqa: S307 - our own declared arithmetic
    want = np.where(np.isfinite(want), want, 0.0)
    np.testing.assert_allclose(wide[name].to_numpy(), want, rtol=1e-9, atol=1e-9)


def test_a_wrong_recipe_would_fail() -> None:
    """The check above can fail: self-sufficiency is not domestic ÷ imports."""
    from repm.results.build import run_scenario
    from repm.scenario import load_scenario

    wide = run_scenario(load_scenario("india-baseline"), step="yearly")[1].wide_totals()
    wrong = wide["magnet_production_domestic"] / wide["magnet_imports"]
    assert not np.allclose(wide["self_sufficiency"], wrong)


def test_the_table_keeps_fixed_columns_and_only_present_keys_in_records() -> None:
    t = IndicatorTable.from_rows(
        [
            {"year": 2030, "name": "magnet_demand", "value": 8220.0},
            {"year": 2030, "name": "magnet_demand", "value": 1200.0, "sector": "wind"},
        ]
    )
    assert list(t.frame.columns) == list(indicators.COLUMNS)
    assert t.records() == [
        {"year": 2030, "name": "magnet_demand", "value": 8220.0, "unit": "t"},
        {"year": 2030, "name": "magnet_demand", "value": 1200.0, "unit": "t", "sector": "wind"},
    ]
    assert float(t.wide().loc[2030, "magnet_demand"]) == 8220.0
    assert float(t.select("magnet_demand", sector="wind")["value"].iloc[0]) == 1200.0
    with pytest.raises(KeyError, match="not declared"):
        IndicatorTable.from_rows([{"year": 2030, "name": "made_up", "value": 1.0}])
