"""Stoichiometry against hand calculations from CIAAW standard atomic weights."""

from __future__ import annotations

import pytest

from repm.model.chemistry import Chemistry
from repm.model.facts import load_facts

# CIAAW standard atomic weights (g/mol), written out here so the tests do not read them
# from the code under test.
ND, PR, DY, TB, FE, B, OX, TH = (
    144.242,
    140.90766,
    162.500,
    158.925354,
    55.845,
    10.81,
    15.999,
    232.0377,
)


@pytest.fixture(scope="module")
def chem() -> Chemistry:
    return Chemistry.from_facts()


def test_fact_table_holds_the_ciaaw_weights():
    facts = load_facts()
    for fid, expected in [
        ("aw_nd", ND), ("aw_pr", PR), ("aw_dy", DY), ("aw_tb", TB),
        ("aw_fe", FE), ("aw_b", B), ("aw_o", OX), ("aw_th", TH),
    ]:  # fmt: skip
        assert facts.value(fid) == expected, fid


def test_nd2fe14b_is_26_68_percent_nd(chem):
    # 2 × 144.242 / (2 × 144.242 + 14 × 55.845 + 10.81) = 288.484 / 1081.124 = 0.26684
    hand = 2 * ND / (2 * ND + 14 * FE + B)
    assert chem.nd_in_nd2fe14b == pytest.approx(hand, rel=1e-12)
    assert round(chem.nd_in_nd2fe14b * 100, 2) == 26.68


@pytest.mark.parametrize(
    ("element", "hand", "rounded"),
    [
        # Nd2O3: (2 × 144.242 + 3 × 15.999) / (2 × 144.242) = 336.481 / 288.484
        ("Nd", (2 * ND + 3 * OX) / (2 * ND), 1.1664),
        # Pr6O11: (6 × 140.90766 + 11 × 15.999) / (6 × 140.90766) = 1021.43496 / 845.44596
        ("Pr", (6 * PR + 11 * OX) / (6 * PR), 1.2082),
        # Dy2O3: (2 × 162.5 + 3 × 15.999) / (2 × 162.5) = 372.997 / 325
        ("Dy", (2 * DY + 3 * OX) / (2 * DY), 1.1477),
        # Tb4O7: (4 × 158.925354 + 7 × 15.999) / (4 × 158.925354) = 747.694416 / 635.701416
        ("Tb", (4 * TB + 7 * OX) / (4 * TB), 1.1762),
    ],
)
def test_oxide_per_metal(chem, element, hand, rounded):
    assert chem.oxide_per_metal(element) == pytest.approx(hand, rel=1e-12)
    assert round(chem.oxide_per_metal(element), 4) == rounded


def test_ndpr_oxide_per_metal_at_75_25(chem):
    assert chem.pr_share == 0.25
    # 0.75 × 1.166377 + 0.25 × 1.208161 = 0.874783 + 0.302040 = 1.176823
    hand = 0.75 * (2 * ND + 3 * OX) / (2 * ND) + 0.25 * (6 * PR + 11 * OX) / (6 * PR)
    assert chem.ndpr_oxide_per_metal == pytest.approx(hand, rel=1e-12)
    assert round(chem.ndpr_oxide_per_metal, 3) == 1.177
    assert chem.ndpr_split() == {"Nd": 0.75, "Pr": 0.25}


def test_pr_share_changes_the_ndpr_factor():
    # all-Nd NdPr is plain Nd2O3 per Nd
    assert Chemistry.from_facts(pr_share=0.0).ndpr_oxide_per_metal == pytest.approx(
        (2 * ND + 3 * OX) / (2 * ND)
    )


def test_thorium_in_tho2(chem):
    # Th / ThO2 = 232.0377 / (232.0377 + 2 × 15.999) = 232.0377 / 264.0357 = 0.87881
    hand = TH / (TH + 2 * OX)
    assert chem.mass_fraction({"Th": 1, "O": 2}, "Th") == pytest.approx(hand, rel=1e-12)
    assert round(hand, 4) == 0.8788
    assert 1 / chem.oxide_per_metal("Th") == pytest.approx(hand, rel=1e-12)


def test_the_scenarios_nd_pr_split_reaches_the_chain_and_its_draws():
    """supply.pr_share_of_ndpr (a grade-C fact in the baseline) sets the chain's Nd:Pr split, so
    the NdPr oxide a tonne of magnet needs moves by the oxides' own factors, and the fact is an
    uncertain input `repm sensitivity` draws (before, the chain read it from the table)."""
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    def oxide_per_metal(s: float) -> float:  # kg oxide per kg NdPr metal, by hand
        nd = (2 * ND + 3 * OX) / (2 * ND)
        pr = (6 * PR + 11 * OX) / (6 * PR)
        return (1 - s) * nd + s * pr

    loaded = load_scenario("india-baseline")
    assert loaded.provenance["supply.pr_share_of_ndpr"] == "ndpr_pr_share_of_metal"
    base = compile_chain(loaded.scenario)
    moved = compile_chain(load_scenario("india-baseline", ["supply.pr_share_of_ndpr=0.4"]).scenario)
    assert base.chem.pr_share == 0.25 and moved.chem.pr_share == 0.4
    col = list(base.materials).index("ndpr_oxide")
    ratio = moved.oxide_per_magnet_values[..., col] / base.oxide_per_magnet_values[..., col]
    assert ratio == pytest.approx(oxide_per_metal(0.4) / oxide_per_metal(0.25), rel=1e-12)
    ev = Evaluator(loaded, "ndpr_oxide_required", step="yearly")
    assert "ndpr_pr_share_of_metal" in ev.inputs.drawn
    at = ev.many([{}, {"ndpr_pr_share_of_metal": 0.4}])
    year = ev.years.index(2030)
    assert at[1, year] / at[0, year] == pytest.approx(
        oxide_per_metal(0.4) / oxide_per_metal(0.25), rel=1e-9
    )


def test_the_report_lists_the_split_the_run_used():
    """A scenario's own Nd:Pr split (a fact, or a number given with --set) is what the report's
    provenance lists, not the table's stoichiometry fact."""
    from repm.model.facts import load_facts
    from repm.reports.report import facts_used
    from repm.scenario import load_scenario

    table = load_facts()
    engine = ("engine stoichiometry", "ndpr_pr_share_of_metal")
    baseline = facts_used(load_scenario("india-baseline").raw, table)
    assert ("supply.pr_share_of_ndpr", "ndpr_pr_share_of_metal") in baseline
    assert engine not in baseline
    given = facts_used(load_scenario("india-baseline", ["supply.pr_share_of_ndpr=0.3"]).raw, table)
    assert engine not in given and ("engine stoichiometry", "aw_nd") in given
