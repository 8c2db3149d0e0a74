"""The years every draw of a block shares, simulated once (`repm.simulate.prefix`): each draw's
outputs are the bits it has when it runs alone, in every scenario and step, and the years shared
are the ones before the first drawn input."""

from __future__ import annotations

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.scenario import load_scenario
from repm.simulate import arrays, kernel
from repm.simulate.engine import prepare
from repm.simulate.prefix import shared_years
from repm.simulate.shocks import sample

CASES = [
    ("india-baseline", [], "monthly"),  # the 2025 record in every draw, drawn from 2026
    ("india-baseline", [], "yearly"),
    (
        "india-baseline",
        ["policy.stockpile.magnet_uh=80 t", "policy.stockpile.dy_oxide=20 t"],
        "monthly",
    ),  # fmt: skip
    ("india-tolling-japan", [], "monthly"),
    # tolling from 2024: its pipeline (magnets ordered, not yet back) crosses into 2026
    ("india-tolling-japan", ["routes.tolling.0.start_year=2024"], "monthly"),
    ("india-overseas-mines", [], "monthly"),
    ("india-buyer-incentive", [], "monthly"),
    ("india-2025-replay", [], "monthly"),  # nothing drawn: every year shared
    ("india-baseline", ["risk.events.4.probability=0"], "monthly"),
]


def _outputs(prep, draws):
    return arrays.outputs(prep.dims, lambda shape: np.full(shape, np.nan))


def _together_and_alone(prep, inp, D):
    """Every output of one block of D draws against D blocks of one draw (which share nothing),
    bit for bit."""
    block = kernel.compiled()._block
    together, alone = _outputs(prep, D), _outputs(prep, D)
    block(0, D, inp, together)
    for d in range(D):
        block(d, d + 1, inp, alone)
    for field, a, b in zip(together._fields, together, alone, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=field)
    return together


@pytest.mark.parametrize(("name", "sets", "step"), CASES)
def test_a_block_sharing_its_first_years_gives_each_draw_its_own_bits(name, sets, step):
    loaded = load_scenario(name, sets)
    chain = compile_chain(loaded.scenario)
    D = 40
    shocks = sample(loaded.scenario.risk, chain, np.arange(D), seed=5)
    prep = prepare(chain, None, shocks, step)
    together = _together_and_alone(prep, prep.inputs, D)
    ys = shared_years(0, D, prep.inputs)
    if sets == ["routes.tolling.0.start_year=2024"]:  # magnets in transit cross the boundary
        assert ys == 2 and together.transit[0, 1].sum() > 1.0
    if name == "india-2025-replay":
        assert ys == chain.n_years
    elif name == "india-baseline" and not sets:
        assert ys == 2  # 2024 and 2025: the record; the tail and episodes are drawn from 2026
        u = together.unmet.sum(axis=(2, 3))
        assert (u[:, 1] == u[0, 1]).all() and len(set(u[:, 2:].sum(axis=1).round(9))) > 1


def test_a_stockpile_drawn_in_the_shared_years_carries_into_each_draw():
    """The strategic stockpile drawn in 2025's restriction (drawable from the start here) is
    part of the state each draw starts 2026 from."""
    loaded = load_scenario(
        "india-baseline", ["policy.stockpile.magnet_uh=80 t", "policy.stockpile.magnet_gbd=80 t"]
    )
    chain = compile_chain(loaded.scenario)
    D = 30
    prep = prepare(chain, None, sample(loaded.scenario.risk, chain, np.arange(D), seed=4))
    inp = prep.inputs._replace(strat_from=0)
    assert shared_years(0, D, inp) == 2
    together = _together_and_alone(prep, inp, D)
    drawn = together.stock_draw[0, :2].sum()
    assert drawn > 1.0 and together.stockpile_level[0, 1].sum() < 160.0 - 1.0


def test_the_years_shared_end_where_a_drawn_input_first_differs():
    loaded = load_scenario("india-baseline", [])
    chain = compile_chain(loaded.scenario)
    prep = prepare(chain, None, sample(loaded.scenario.risk, chain, np.arange(8), seed=2))
    inp = prep.inputs
    assert shared_years(0, 1, inp) == 0  # one draw: nothing to share
    assert shared_years(0, 8, inp) == 2
    level = inp.level.copy()
    level[5, 13, 0] += 0.5  # draw 5 differs in February 2025: only 2024 is shared
    assert shared_years(0, 8, inp._replace(level=level)) == 1
    assert shared_years(0, 5, inp._replace(level=level)) == 2  # … by the draws that differ
    dmult = np.ones((8, chain.n_years))
    dmult[3, 0] = 1.1  # a demand multiplier in 2024: nothing shared
    assert shared_years(0, 8, inp._replace(dmult=dmult)) == 0
    sw = np.full((8, inp.sw_step.shape[1]), -1, dtype=np.int64)
    sw[2, 0] = 30  # one draw switches grade in mid-2026: 2024–25 still shared
    assert shared_years(0, 8, inp._replace(sw_step=sw)) == 2
    sw[2, 0] = 11  # … in December 2024: nothing
    assert shared_years(0, 8, inp._replace(sw_step=sw)) == 0
