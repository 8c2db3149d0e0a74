"""Every shipped scenario stays a valid scenario with its facts at the ends of their ranges, as
Morris screening draws them (its levels include each range's low and high end): all low, all
high, and mixes of the two. Before the bare channel was water-filled, a quarter of the mixes
failed ("sector 'ev_car' would buy 101 % of its magnets bare"), and so did `repm sensitivity
unit_npv --method morris --samples 8` on the baseline."""

from __future__ import annotations

import numpy as np
import pytest

from repm.analyses.uncertainty.evaluate import Evaluator
from repm.chain import compile_chain
from repm.scenario import load_scenario, shipped_names


@pytest.mark.parametrize("name", shipped_names())
def test_every_fact_at_an_end_of_its_range_is_a_valid_scenario(name):
    ev = Evaluator(load_scenario(name), "magnet_imports", step="yearly")
    rng = np.random.default_rng(0)
    corners = [np.zeros(len(ev.inputs.drawn)), np.ones(len(ev.inputs.drawn))]
    corners += [rng.integers(0, 2, len(ev.inputs.drawn)).astype(float) for _ in range(24)]
    for corner in corners:
        u = {k: np.array([c]) for k, c in zip(ev.inputs.drawn, corner, strict=True)}
        values = ev.inputs.values(u, 1)
        chain = compile_chain(ev.scenario_at({k: float(v[0]) for k, v in values.items()}))
        bare = chain.demand_bare.sel(year=chain.base_year).sum("grade")
        total = (chain.demand_bare + chain.demand_embedded).sel(year=chain.base_year).sum("grade")
        assert np.all(bare.values <= total.values * (1 + 1e-12))  # no sector beyond all bare


def test_morris_screening_of_the_baseline_runs():
    from conftest import run_cli

    got = run_cli(["sensitivity", "unit_npv", "--method", "morris", "--samples", "4", "--json"])
    assert got.returncode == 0, got.stderr
    assert '"method": "morris"' in got.stdout
