"""Monazite's whole basket (issue 13 parts 1–2): every element has a destination, the balance
closes element by element, and the monazite cracked is calibrated to what USGS says India mined.

The hand calculations read the facts themselves and the atomic weights as numbers written here,
so they check the ledger's stoichiometry, not only how it is assembled."""

from __future__ import annotations

import numpy as np
import pytest

from repm.chain import compile_chain
from repm.errors import UserError
from repm.model.facts import load_facts
from repm.results.build import build_results
from repm.scenario import load_scenario
from repm.simulate.engine import simulate

F = load_facts()
LA, CE, TH, P, OX = 138.90547, 140.116, 232.0377, 30.973761998, 15.999
RARE = ("La", "Ce", "Pr", "Nd", "Sm", "Gd", "Y", "Dy", "Tb", "other")


@pytest.fixture(scope="module")
def chain():
    return compile_chain(load_scenario("india-baseline").scenario)


def _flow(chain, flow, element, year):
    return float(chain.basket.sel(flow=flow, element=element, year=year))


def test_each_element_balances_at_cracking_and_at_separation_by_hand(chain):
    for year in (2024, 2026, 2030):
        for e in chain.basket.element.values:
            crack_in = _flow(chain, "monazite", e, year)
            crack_out = sum(
                _flow(chain, f, e, year)
                for f in ("concentrate", "cracking_residue", "chloride_exports",
                          "chloride_stocked", "phosphate")
            )  # fmt: skip
            sep_in = _flow(chain, "concentrate", e, year)
            sep_out = sum(
                _flow(chain, f, e, year)
                for f in ("oxide_domestic", "sx_loss", "coproducts_sold", "coproducts_stocked")
            )
            assert crack_out == pytest.approx(crack_in, rel=1e-12, abs=1e-9), (e, year)
            assert sep_out == pytest.approx(sep_in, rel=1e-12, abs=1e-9), (e, year)
            for f in chain.basket.flow.values:
                assert _flow(chain, f, e, year) >= -1e-9, (f, e, year)


def test_element_contents_per_tonne_of_monazite_by_hand(chain):
    reo = F.value("monazite_reo_fraction")
    la = reo * F.value("monazite_re_share_la") * 2 * LA / (2 * LA + 3 * OX)
    ce = reo * F.value("monazite_re_share_ce") * CE / (CE + 2 * OX)
    th = F.value("monazite_tho2_fraction") * TH / (TH + 2 * OX)
    p = F.value("monazite_p2o5_fraction") * 2 * P / (2 * P + 5 * OX)
    comp = chain.monazite_comp
    assert float(comp.sel(element="La")) == pytest.approx(la, rel=1e-9)
    assert float(comp.sel(element="Ce")) == pytest.approx(ce, rel=1e-9)
    assert float(comp.sel(element="Th")) == pytest.approx(th, rel=1e-9)
    assert float(comp.sel(element="P")) == pytest.approx(p, rel=1e-9)
    # all the thorium leaves at cracking, to the residue
    for year in (2024, 2030):
        m = float(chain.monazite_processed.sel(year=year))
        assert _flow(chain, "cracking_residue", "Th", year) == pytest.approx(m * th, rel=1e-12)


def test_reo_in_is_the_sum_of_the_element_oxides(chain):
    per_ox = chain.basket_per_oxide
    for year in (2024, 2030):
        m = float(chain.monazite_processed.sel(year=year))
        reo = sum(_flow(chain, "monazite", e, year) / float(per_ox.sel(element=e)) for e in RARE)
        assert reo == pytest.approx(m * F.value("monazite_reo_fraction"), rel=1e-12)


def test_2024_is_calibrated_to_what_usgs_says_india_mined(chain):
    m = float(chain.monazite_processed.sel(year=2024))
    usgs = F.value("mine_production_india_2024")
    assert m * F.value("monazite_reo_fraction") == pytest.approx(usgs, rel=2e-3)
    # the derived fact is what the calibration says it is
    assert F.value("monazite_processed_2024") == pytest.approx(
        usgs / F.value("monazite_reo_fraction"), rel=2e-3
    )


def test_unseparated_chloride_is_exported_until_the_suspension_then_held(chain):
    share = F.value("trei_share_of_oscom_reo")
    rec = F.value("cracking_reo_per_t_monazite") / F.value("monazite_reo_fraction")
    for e in ("La", "Nd"):
        chloride = _flow(chain, "monazite", e, 2024) * rec
        sep = _flow(chain, "concentrate", e, 2024)
        assert _flow(chain, "chloride_exports", e, 2024) == pytest.approx(
            min(chloride - sep, share * chloride), rel=1e-12
        )
        # export retention from 2025: nothing leaves as chloride; what is not separated is held
        assert _flow(chain, "chloride_exports", e, 2026) == 0.0
        assert _flow(chain, "chloride_stocked", e, 2026) > 0


def test_ndpr_oxide_out_is_what_separation_recovers_from_the_cracked_monazite(chain):
    mz_nd = F.value("monazite_re_share_nd") + F.value("monazite_re_share_pr")
    per_t = F.value("cracking_reo_per_t_monazite") * mz_nd * F.value("sx_recovery")
    planned = {2024: F.value("irel_ndpr_output_fy25"), 2027: F.value("irel_ndpr_output_fy27")}
    for year, plan in planned.items():
        m = float(chain.monazite_processed.sel(year=year))
        assert float(chain.separation_output.sel(year=year)) == pytest.approx(
            min(plan, F.value("irel_separation_capacity"), m * per_t), rel=1e-12
        )


def test_a_co_product_market_cap_limits_cracking_and_then_ndpr_output():
    free = compile_chain(load_scenario("india-baseline").scenario)
    cap = 300.0  # t CeO2 a year
    capped = compile_chain(
        load_scenario("india-baseline", [f"supply.coproducts.market_cap.Ce={cap}"]).scenario
    )
    per_t = F.value("cracking_reo_per_t_monazite") * F.value("monazite_re_share_ce")
    want = cap / per_t
    for year in (2024, 2030):
        assert float(capped.monazite_processed.sel(year=year)) == pytest.approx(want, rel=1e-12)
        assert str(capped.monazite_bound.sel(year=year).item()) == "market"
        assert float(free.monazite_processed.sel(year=year)) > want
    # 2030 plans 500 t of NdPr oxide: the capped monazite cannot hold it
    mz_nd = F.value("monazite_re_share_nd") + F.value("monazite_re_share_pr")
    ndpr = want * F.value("cracking_reo_per_t_monazite") * mz_nd * F.value("sx_recovery")
    assert float(capped.separation_output.sel(year=2030)) == pytest.approx(
        min(ndpr, float(free.separation_output.sel(year=2030))), rel=1e-12
    )


def test_the_engine_books_its_elements_rows_of_the_basket_and_still_balances(chain):
    """The engine carries NdPr at the product's Nd:Pr split (ndpr_pr_share_of_metal) and the
    basket at the monazite's: Dy, Tb and Th agree element by element, Nd + Pr in total, and
    the engine's SX loss is what its NdPr product leaves of the concentrate."""
    out = simulate(chain, step="yearly")
    flows = out.data.flows.isel(draw=0)
    ndpr = ["Nd", "Pr"]
    for f in ("monazite", "concentrate", "cracking_residue", "chloride_exports",
              "chloride_stocked", "coproducts_stocked"):  # fmt: skip
        for e in ("Dy", "Tb", "Th"):
            np.testing.assert_allclose(
                flows.sel(flow=f, element=e).values,
                chain.basket.sel(flow=f, element=e).values,
                rtol=1e-12, atol=1e-9, err_msg=f"{f} {e}",
            )  # fmt: skip
        np.testing.assert_allclose(
            flows.sel(flow=f, element=ndpr).sum("element").values,
            chain.basket.sel(flow=f, element=ndpr).sum("element").values,
            rtol=1e-12, atol=1e-9, err_msg=f,
        )  # fmt: skip
    pr = F.value("ndpr_pr_share_of_metal")
    conc = flows.sel(flow="concentrate", element="Pr").values
    assert conc == pytest.approx(
        pr * chain.basket.sel(flow="concentrate", element=ndpr).sum("element").values, rel=1e-12
    )
    np.testing.assert_allclose(
        (flows.sel(flow="oxide_domestic") + flows.sel(flow="sx_loss")).sel(element=ndpr).values,
        flows.sel(flow="concentrate", element=ndpr).values, rtol=1e-12,
    )  # fmt: skip
    assert (flows.sel(flow="sx_loss", element=ndpr).values >= 0).all()
    res = build_results(chain, out)
    assert res.value("mass_balance_residual", 2030) < 1e-6
    # REO produced = separated + exported + held, as the registry's check says
    for y in (2024, 2030):
        assert res.value("reo_produced", y) == pytest.approx(
            res.value("reo_separated", y) + res.value("chloride_exports", y)
            + res.value("chloride_stocked", y), rel=1e-12
        )  # fmt: skip


@pytest.mark.parametrize(
    "setting, words",
    [
        ("supply.monazite.re_distribution.La=0.9", ("re_distribution", "add up to", "expected 1")),
        ("supply.monazite.ndpr_share_of_reo=0.2", ("ndpr_share_of_reo", "re_distribution")),
        ("supply.coproducts.sold.1=Nd", ("Nd", "NdPr oxide", "not a co-product")),
        ("supply.coproducts.sold.1=Xx", ("Xx", "expected one of")),
        ("economics.coproduct_prices.Zz.2024=1", ("Zz", "co-product")),
    ],
)
def test_bad_basket_input_is_one_line_naming_the_field(setting, words):
    with pytest.raises(UserError) as err:
        load_scenario("india-baseline", [setting])
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_explain_shows_how_2024_was_decided_and_its_calibration(chain):
    from repm.results.explain import explain

    loaded = load_scenario("india-baseline")
    res = build_results(chain, simulate(chain, step="yearly"))
    text = "\n".join(explain("monazite_processed", 2024, loaded, chain, res, F).lines)
    m = float(chain.monazite_processed.sel(year=2024))
    assert f"monazite_processed 2024 = {m:,.0f} t" in text
    assert "decided by: path" in text
    assert f"= {m * F.value('monazite_reo_fraction'):,.0f} t REO mined" in text
    assert "USGS mine_production_india_2024" in text and "the same" in text
    exported = res.value("chloride_exports", 2024)
    assert f"the model's 2024: {exported:,.0f} t REO as chloride" in text


def test_co_product_revenue_and_thorium_storage_by_hand(chain):
    res = build_results(chain, simulate(chain, step="yearly"))
    fx = F.value("fx_inr_per_usd")
    per_crore = 1e3 / 1e7  # t × INR/kg → crore INR
    y = 2030
    la = res.value("coproducts_sold", y, element="La")
    ce = res.value("coproducts_sold", y, element="Ce")
    sm = res.value("coproducts_sold", y, element="Sm")
    p2o5 = res.value("phosphate_p2o5", y)
    tsp_t = p2o5 / F.value("tsp_p2o5_fraction")
    hand = (
        (la * F.value("price_la_oxide_2024") + ce * F.value("price_ce_oxide_2024")
         + sm * F.value("price_sm_oxide_2024")) * fx * per_crore
        + tsp_t * F.value("price_tsp_2024") / 1e7
    )  # fmt: skip
    assert res.value("coproduct_revenue", y) == pytest.approx(hand, rel=1e-9)
    # La oxide sold by hand: REO separated × La's share × co-product recovery
    assert la == pytest.approx(
        res.value("reo_separated", y) * F.value("monazite_re_share_la")
        * F.value("sx_recovery_coproducts"), rel=1e-9,
    )  # fmt: skip
    # thorium: every tonne since 2024 is held, at the storage cost a year
    th = sum(res.value("thorium_residue", yr) for yr in range(2024, y + 1))
    assert res.value("thorium_stored", y) == pytest.approx(th, rel=1e-12)
    assert res.value("thorium_storage_cost", y) == pytest.approx(
        th * F.value("thorium_storage_cost") / 1e7, rel=1e-9
    )


def test_finance_shows_the_separation_side():
    import json

    from conftest import run_cli

    res = run_cli(["finance", "--json"])
    assert res.returncode == 0, res.stderr
    sep = {r["year"]: r for r in json.loads(res.stdout)["separation"]}
    r = sep[2030]
    assert r["margin_before_opex"] == pytest.approx(
        r["ndpr_oxide_revenue"] + r["coproduct_revenue"] - r["thorium_storage_cost"], rel=1e-12
    )
    assert r["ndpr_oxide_revenue"] > r["coproduct_revenue"] > 0
