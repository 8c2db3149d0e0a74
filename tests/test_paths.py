"""One rule for paths given by year: points outside the horizon are read (linear between points,
flat beyond), so a shorter horizon needs no edit of the shipped paths; points more than
PATH_REACH years away are refused as typos (tests/test_bad_input.py has those cases)."""

from __future__ import annotations

import numpy as np
import pytest

import repm
from repm.chain.rules import interp_path
from repm.scenario.fields import PATH_REACH, path_years_mistakes


def test_a_shorter_horizon_reads_the_paths_points_past_its_end():
    # The shipped localisation paths have 2035 points; a 2024–2030 run interpolates towards them,
    # so its bare demand is the full run's, year for year (a refused or truncated path differs).
    full = repm.run("india-baseline", store=False).dataset.demand_bare.sel(year=slice(2024, 2030))
    short = repm.run("india-baseline", ["horizon.end=2030"], store=False).dataset.demand_bare
    assert short.year.values.tolist() == list(range(2024, 2031))
    np.testing.assert_array_equal(short.values, full.values)
    assert float(short.sel(year=2030).sum()) > float(short.sel(year=2026).sum())


def test_interpolation_towards_a_point_past_the_end():
    # {2024: 0, 2034: 1} read in 2030: 6/10 of the way.
    assert interp_path({2024: 0.0, 2034: 1.0}, np.array([2030]))[0] == pytest.approx(0.6, abs=1e-15)


def test_the_reach_is_the_limit_both_ways():
    ok = {2024 - PATH_REACH: 0.0, 2035 + PATH_REACH: 1.0}
    assert path_years_mistakes(ok, 2024, 2035, "p") == []
    bad = {2024 - PATH_REACH - 1: 0.0, 2035 + PATH_REACH + 1: 1.0}
    msgs = path_years_mistakes(bad, 2024, 2035, "p")
    assert len(msgs) == 2 and all(m.startswith("p: year ") for m in msgs)
