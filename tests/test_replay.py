"""The 2025 replay (issue 13 part 4): `india-2025-replay` runs China's April 2025 controls as
Indian buyers lived them and is held against the record (history_2025.yaml; docs/risk.md).

Its output is pinned here as matched: a change that moves it must be a change meant to move it
(and docs/risk.md's table then re-measured). Where it matches the record (e-2W not built, the
months vehicle makers were short, no EV car lost) the test says so against the record's range;
where the record is silent (industrial motors, electronics) the pinned values are the known gap;
wind makers, who delivered records through Jul–Dec 2025, hold enough stock to be short in none.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from repm.cli import app
from repm.model.facts import load_facts

PINNED_2025 = {  # repm risk india-2025-replay, any seed and draw count: every draw is 2025
    # 17.63 t before the loose channel was split by grade (870 t, electronics' and industrial
    # makers' loose magnets N grade): they were short 4 months on Dy/Tb-bearing loose magnets
    "expected_unmet": 17.019145247645007,  # t
    "months_short": 2.0,  # some sector short: e-2W/e-3W Jul–Aug (5 before the split by grade)
    "e2w_not_built": 21343.87428558606,
    "e3w_not_built": 2291.871990590626,
    "ev_cars_not_built": 0.0,
}
VEHICLES = ("e2w", "e3w", "ev_car")


@pytest.fixture(scope="module")
def replay() -> dict:
    res = CliRunner().invoke(
        app, ["risk", "india-2025-replay", "--draws", "3", "--seed", "4", "--json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    return {(r["year"], r["name"], r.get("sector")): r["value"] for r in out["indicators"]}


def test_the_replay_is_pinned(replay):
    for name, value in PINNED_2025.items():
        assert replay[(2025, name, None)] == pytest.approx(value, rel=1e-9), name
    assert replay[(2025, "p_shortage", None)] == 1.0  # history: every draw
    assert replay[(2024, "expected_unmet", None)] == 0.0
    # nothing random after the as-of date: no shortage in 2026–2035
    assert all(replay[(y, "expected_unmet", None)] == 0.0 for y in range(2026, 2036))


def test_the_replay_matches_the_reported_vehicle_losses(replay):
    """e-2W not built and the months vehicle makers were short, against the record's ranges;
    EV cars (their makers held more stock) none, as reported."""
    facts = load_facts()
    lost = facts.get("india_e2w_output_lost_2025")
    assert lost.low <= replay[(2025, "e2w_not_built", None)] <= lost.high
    months = facts.get("india_shortage_months_2025")
    vehicle_months = max(replay[(2025, "months_short", s)] for s in VEHICLES)
    assert months.low <= vehicle_months <= months.high
    assert facts.get("india_ev_car_output_lost_2025").value == 0
    assert replay[(2025, "ev_cars_not_built", None)] == 0.0
    assert replay[(2025, "expected_unmet", "ev_car")] == 0.0


def test_what_the_replay_does_not_match_is_known(replay):
    """Wind-turbine makers (six months of stock, wind_working_stock_months: record deliveries
    through Jul–Dec 2025, none reported short) are short in no month. Industrial-motor and
    electronics makers buy their loose magnets N grade (bare_grade_mix_*), held up 20 % for three
    months and covered by their stock: short in no month either (4 months each before the loose
    channel was split by grade) — the record reports no loss for them, but does not deny one.
    So only e-2W/e-3W makers are short, the record's ~2 months."""
    for s in ("wind", "industrial", "electronics"):
        assert replay[(2025, "months_short", s)] == 0.0, s
        assert replay[(2025, "expected_unmet", s)] == 0.0, s
    assert replay[(2025, "months_short", None)] == replay[(2025, "months_short", "e2w")] == 2.0
