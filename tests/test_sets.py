"""Parameter sets on the engine's draw axis (issue 14 part 2): a run of many parameter sets in
one kernel call gives, set by set, bit for bit what separate runs with those values give —
with and without shocks, however the sets are spread over threads."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from repm.chain import compile_chain
from repm.scenario import load_scenario
from repm.simulate.engine import simulate
from repm.simulate.sets import simulate_sets
from repm.simulate.shocks import sample

SETS = [
    [],
    ["demand.anchors.2030=9000 t/yr"],
    ["supply.yields.sx_recovery=0.9", "policy.working_stock_months=1.5"],
    ["supply.units.0.capacity=600 t/yr", "trade.spare.magnet.Japan=10 t/yr"],
]


@pytest.fixture(scope="module")
def loaded_sets():
    return [load_scenario("india-baseline", s) for s in SETS]


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)


@pytest.mark.parametrize("step", ["yearly", "monthly"])
def test_sets_side_by_side_equal_separate_runs_bit_for_bit(loaded_sets, step):
    chains = [compile_chain(ld.scenario) for ld in loaded_sets]
    together = simulate_sets(chains, step=step)
    for chain, got in zip(chains, together, strict=True):
        _same(got.data, simulate(chain, step=step).data)
    # the sets differ: the check above compares different numbers
    assert not np.array_equal(together[0].data.unmet.values, together[1].data.unmet.values) or not (
        np.array_equal(together[0].data.demand.values, together[1].data.demand.values)
    )


def test_sets_with_their_own_shocks_equal_separate_risk_runs(loaded_sets):
    chains = [compile_chain(ld.scenario) for ld in loaded_sets]
    K = 6
    shocks = [
        sample(ld.scenario.risk, c, np.arange(p * K, (p + 1) * K), seed=3)
        for p, (ld, c) in enumerate(zip(loaded_sets, chains, strict=True))
    ]
    for threads in (1, 2):
        together = simulate_sets(chains, shocks=shocks, threads=threads)
        for chain, sh, got in zip(chains, shocks, together, strict=True):
            _same(got.data, simulate(chain, shocks=sh).data)
    assert float(together[0].data.unmet.sum()) > 0  # the 2025 history alone is short


def test_sets_of_different_structure_are_refused(loaded_sets):
    other = load_scenario("india-tolling-japan")
    with pytest.raises(ValueError, match="other dimensions"):
        simulate_sets([compile_chain(loaded_sets[0].scenario), compile_chain(other.scenario)])


def test_sets_unlabelled_read_as_the_labelled_runs(loaded_sets):
    """`simulate_sets_unlabelled`: each set's arrays as `simulate_sets`' Datasets hold them, and
    every run indicator's total read off them (`indicator_totals`, which labels the run only for
    the indicators past the first groups) the labelled run's, bit for bit."""
    from repm.analyses.uncertainty.evaluate import run_indicators
    from repm.results.build import indicator_totals
    from repm.simulate.sets import simulate_sets_unlabelled

    chains = [compile_chain(ld.scenario) for ld in loaded_sets]
    names = list(run_indicators())
    labelled = simulate_sets(chains)
    for chain, raw, sim in zip(chains, simulate_sets_unlabelled(chains), labelled, strict=True):
        ds = raw.dataset()
        xr.testing.assert_identical(ds, sim.data)
        for name, var in raw.variables.items():
            assert var.dims == sim.data.variables[name].dims, name
            np.testing.assert_array_equal(var.values, sim.data.variables[name].values, name)
        for few in (["magnet_imports"], ["unmet_demand", "self_sufficiency"], names):
            want = indicator_totals(chain, sim, few)
            got = indicator_totals(chain, raw, few)
            assert want.keys() == got.keys() and len(got) > 0
            for k in want:
                assert want[k].tobytes() == got[k].tobytes(), k


def test_sector_unmet_of_the_unlabelled_run_is_the_datasets(loaded_sets):
    """A risk output's unmet demand (`sector_unmet`) read off each set's run unlabelled, shocks
    on: the labelled run's, bit for bit."""
    from repm.analyses.risk.draws import sector_unmet
    from repm.simulate.sets import simulate_sets_unlabelled

    chains = [compile_chain(ld.scenario) for ld in loaded_sets]
    shocks = [sample(ld.scenario.risk, c, np.arange(8), seed=5)
              for ld, c in zip(loaded_sets, chains, strict=True)]  # fmt: skip
    raws = simulate_sets_unlabelled(chains, shocks=shocks)
    for raw, sim in zip(raws, simulate_sets(chains, shocks=shocks), strict=True):
        got, want = sector_unmet(raw), sector_unmet(sim.data)
        assert got.shape == want.shape and got.tobytes() == want.tobytes()
    assert float(sector_unmet(raws[0]).sum()) > 0
