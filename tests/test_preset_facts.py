"""The facts a risk preset reads are drawn (`repm uncertainty`, `sensitivity`, `voi`): a
`- preset: china_april_2025` event gets its hazard, duration, severity, licensing delay and
price multipliers from risk_presets.yaml only inside validation, so the Evaluator expands the
presets in the mapping it draws on (`drawn.with_presets`) — the same Scenario, its facts in
reach."""

from __future__ import annotations

import numpy as np
import pytest

from repm.analyses.uncertainty.drawn import with_presets
from repm.analyses.uncertainty.evaluate import Evaluator
from repm.scenario import load_scenario
from repm.scenario.load import shipped_names, validate_scenario
from repm.scenario.presets import preset

PRESET_FACTS = {
    "china_restriction_hazard", "april_2025_duration_months", "april_2025_severity_low",
    "april_2025_severity_high", "april_2025_licence_delay_months", "october_2025_duration_months",
    "october_2025_content_threshold", "price_mult_dy_restriction", "price_mult_tb_restriction",
}  # fmt: skip


@pytest.fixture(scope="module")
def baseline():
    return load_scenario("india-baseline")


@pytest.mark.parametrize("name", shipped_names())
def test_the_expanded_mapping_validates_to_the_same_scenario(name):
    loaded = load_scenario(name)
    raw = with_presets(loaded.raw)
    assert "preset" not in str([e.keys() for e in raw.get("risk", {}).get("events", [])])
    again = validate_scenario(raw, loaded.source)
    assert again.model_dump() == loaded.scenario.model_dump()
    assert loaded.raw == load_scenario(name).raw  # the loaded mapping is left as read


def test_the_preset_facts_are_drawn(baseline):
    ev = Evaluator(baseline, "expected_unmet", step="yearly", draws=2)
    assert PRESET_FACTS <= set(ev.inputs.drawn)
    # every event overrides the third-country share the October preset reads: not read at all
    assert "chinese_content_share_third_country_magnets" not in ev.inputs.used
    assert "preset" in baseline.raw["risk"]["events"][0]  # the run's own mapping keeps `preset`


def test_a_fact_read_at_several_places_gets_one_value_everywhere(baseline):
    """One draw per fact, not per place: the April severities are read by three events, the
    licensing delay by two, the duration's spread by the future episode and the 2026 tail."""
    ev = Evaluator(baseline, "magnet_imports", step="yearly")
    at = {"april_2025_severity_low": 0.66, "april_2025_licence_delay_months": 1.3,
          "restriction_duration_cv": 0.7}  # fmt: skip
    events = {e.name: e for e in ev.scenario_at(at).risk.events}
    for name in ("china_april_2025", "april_2025", "october_2025"):
        assert events[name].severity_low == 0.66, name
    assert events["china_april_2025"].licensing_delay_months == 1.3
    assert events["october_2025"].licensing_delay_months == 1.3
    assert events["china_april_2025"].duration.cv == 0.7
    assert events["april_2025_india_tail"].duration.cv == 0.7
    # overridden fields keep the scenario's own facts
    assert events["april_2025_india_tail"].licensing_delay_months != 1.3


def test_a_higher_chance_of_a_restriction_leaves_more_unmet(baseline):
    """Everything else at its central value, the same shock draws: china_restriction_hazard at
    the top of its range leaves more magnet demand unmet than at the bottom."""
    ev = Evaluator(baseline, "expected_unmet", step="yearly", draws=200, seed=0)
    s = ev.spreads["china_restriction_hazard"]
    low, high = ev.many([{s.fact_id: s.low}, {s.fact_id: s.high}])
    future = [i for i, y in enumerate(ev.years) if y >= 2026]  # after the record (risk.as_of)
    assert high[future].sum() > 1.5 * low[future].sum()


def _sets_for(loaded, sample: dict[str, float], table) -> list[str]:
    """`--set` overrides that put the sample's values wherever the scenario reads those facts, its
    presets included, as a user would write them (not through `with_presets`)."""

    def text(v):
        fid = v.strip()[5:].strip() if isinstance(v, str) and v.startswith("fact:") else None
        return f"{float(sample[fid])!r} {table.facts[fid].unit}" if fid in sample else str(v)

    def reads(v) -> bool:
        if isinstance(v, dict):
            return any(map(reads, v.values()))
        return isinstance(v, str) and v.startswith("fact:") and v[5:].strip() in sample

    out = []
    for i, ev in enumerate(loaded.raw["risk"]["events"]):
        for key, value in (preset(ev["preset"]) if "preset" in ev else {}).items():
            if key in ev or not reads(value):
                continue
            if isinstance(value, dict):  # an event's mapping replaces the preset's whole
                out += [f"risk.events.{i}.{key}.{k}={text(v)}" for k, v in value.items()]
            else:
                out.append(f"risk.events.{i}.{key}={text(value)}")
    out += [f"{p}={text('fact:' + f)}" for p, f in loaded.provenance.items() if f in sample]
    return out


def test_risk_outputs_at_drawn_preset_facts_are_repm_risks_with_those_values(baseline):
    """A sample that moves preset facts gives, bit for bit, what `repm risk` gives for the
    scenario with those values written in by `--set` (the same shock draws)."""
    from repm.app import RiskRequest, risk

    draws, seed = 6, 4
    ev = Evaluator(baseline, "expected_unmet", draws=draws, seed=seed)
    sample = {f: ev.spreads[f].high for f in
              ("china_restriction_hazard", "april_2025_duration_months", "restriction_duration_cv",
               "april_2025_licence_delay_months", "price_mult_dy_restriction")}  # fmt: skip
    sample["april_2025_severity_low"] = ev.spreads["april_2025_severity_low"].low
    sets = _sets_for(baseline, sample, ev.table)
    assert any(s.startswith("risk.events.0.hazard=") for s in sets)
    done = risk(RiskRequest(scenario="india-baseline", sets=tuple(sets), draws=draws, seed=seed,
                            chunk=draws))  # fmt: skip
    rows = {
        (r["name"], r["year"]): r["value"]
        for r in done.payload["indicators"]
        if "sector" not in r and r["name"] == "expected_unmet"
    }
    got = ev.many([sample])[0]
    np.testing.assert_array_equal(got, [rows[("expected_unmet", y)] for y in ev.years])
    assert not np.array_equal(got, ev.many([{}])[0])  # the preset facts moved it
