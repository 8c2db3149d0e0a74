"""Scenarios: YAML → validated, unit-converted `Scenario`."""

from repm.scenario.load import LoadedScenario, apply_set, deep_merge, load_scenario, shipped_names
from repm.scenario.schema import Scenario

__all__ = [
    "LoadedScenario",
    "Scenario",
    "apply_set",
    "deep_merge",
    "load_scenario",
    "shipped_names",
]
