"""Each sample's Chain with the chain's modules run once for a block of samples: the batched
modules in `compile_chain`'s order, each sample's slice handed to `compile_chain(s, parts=…)`,
which builds the labelled arrays as it does for one scenario. The same Chains, bit for bit, as
`compile_chain` on each sample (tests/test_batched_chains.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from repm.chain.batched.basket import SHARED as BASKET_SHARED
from repm.chain.batched.basket import basket_block
from repm.chain.batched.composition import (
    COMPOSITION_SHARED,
    RECIPE_SHARED,
    composition_block,
    pr_share,
    recipe_block,
)
from repm.chain.batched.demand import HISTORY_SHARED, demand_block, history_block
from repm.chain.batched.demand import SHARED as DEMAND_SHARED
from repm.chain.batched.prices import PRICES_SHARED, prices_block
from repm.chain.batched.routes import incentive_set, routes_block, routes_sample
from repm.chain.batched.slicing import sample
from repm.chain.batched.supply import (
    CAPACITY_SHARED,
    TRADE_SHARED,
    YIELDS_SHARED,
    capacity_block,
    trade_block,
    yields_block,
)
from repm.chain.chain import Chain
from repm.chain.compile import LABELLED, chain_labels, chemistry_at, compile_chain
from repm.chain.labels import labelled
from repm.chain.rules import fresh_alloy_per_magnet
from repm.scenario.samples import SampleBlock
from repm.scenario.schema import FEEDS


def compile_block(block: SampleBlock, scenarios: Sequence) -> list[Chain]:
    """`[compile_chain(s) for s in scenarios]`, the modules batched over `block` (the samples'
    numbers; `scenarios` their validated Scenarios, in the block's order). Where a batched module
    refuses a sample (or raises anything), every sample is compiled alone: the loop raises what
    it raises, in its order (module by module for each sample in turn, not sample by sample in
    each module)."""
    try:
        parts = block_parts(block, scenarios)
    except Exception:  # noqa: BLE001 — the loop's error (or none), in the loop's order
        return [compile_chain(s) for s in scenarios]
    return [compile_chain(s, parts=p) for s, p in zip(scenarios, parts, strict=True)]


def block_parts(block: SampleBlock, scenarios: Sequence) -> list[dict]:
    """Each sample's `parts` for `compile_chain`: every module's result for it, by name."""
    res = block_results(block, scenarios)
    return [sample_parts(res, i) for i in range(block.n)]


def block_results(block: SampleBlock, scenarios: Sequence) -> dict:
    """Every module's result for the block, by name: arrays with a leading sample axis (the
    modules' structure once: `*_SHARED`), in `compile_chain`'s order."""
    s = block.template
    model = s.definition
    years = np.array(s.horizon.years)
    chems = [chemistry_at(x) for x in pr_share(block).tolist()]  # `chemistry_of` each
    cp = composition_block(block, model)
    gc, ei, mi = cp["gc"], cp["ei"], cp["mi"]
    dm = demand_block(block, model, years, gc)
    ylds = yields_block(block)
    rc = recipe_block(block, model, gc, ei, mi, cp["f_ox"])
    ca = capacity_block(block, years)
    tr = trade_block(block, model, years, dm["base"], dm["bare"], dm["emb"], gc, ei, mi)
    hs = history_block(block, years, dm["dem"], dm["grade_split"])
    rt = routes_block(block, model, years, dm["ci_on"], tr["origins"])
    bk = basket_block(block, model, chems, years, tuple(model.separated["ndpr"].elements),
                      rt["retention"])  # fmt: skip
    alloy = fresh_alloy_per_magnet(ylds["alloy_to_magnet"], ylds["scrap_return"])
    pr = prices_block(block, model, years, rc[:, FEEDS.index("oxide")] * alloy[:, None, None])
    return {
        "composition": cp, "demand": dm, "yields": ylds, "recipe": rc, "capacity": ca,
        "trade": tr, "history": hs, "routes": rt, "basket": bk, "prices": pr,
        "years": years, "chems": chems,
        "labels": chain_labels(model, years, dm["sectors"], tr["origins"], ca["unit_names"],
                               pr["coproducts"], hs["n_ages"], hs["hist_years"]),
    }  # fmt: skip


_SHARED_KEYS = {
    "composition": COMPOSITION_SHARED, "demand": DEMAND_SHARED, "yields": YIELDS_SHARED,
    "recipe": RECIPE_SHARED, "capacity": CAPACITY_SHARED, "trade": TRADE_SHARED,
    "history": HISTORY_SHARED, "basket": BASKET_SHARED, "prices": PRICES_SHARED,
}  # fmt: skip


def sample_parts(res: dict, i: int) -> dict:
    """Sample i's `parts` for `compile_chain` out of `block_results`."""
    parts = {name: sample(res[name], i, shared) for name, shared in _SHARED_KEYS.items()}
    parts["routes"] = routes_sample(res["routes"], i)
    return parts


class SampleChain:
    """Sample i's Chain of a block, compiled only when read beyond what a run's outputs and a
    unit's value read: its labels (the block's, one structure), chemistry, fresh alloy per
    magnet, every array the Chain takes straight off a module (`compile.LABELLED`: sample i's
    row of the block's, labelled as `compile_chain` labels it), the routes' grades, the base
    year, the export premium and the buyer incentive; anything else is its
    `compile_chain(s, parts=…)`, made on first use (`chain`). The same numbers either way
    (tests/test_block_run.py)."""

    def __init__(self, template, scenarios: Sequence, res: dict, i: int) -> None:
        self._scs, self._res, self._i = scenarios, res, i  # the sample's Scenario read only to
        self._chain: Chain | None = None  # compile its Chain (a block's are made when read)
        _labels(self, template, res)
        self.chem = res["chems"][i]
        y = res["yields"]
        self.fresh_alloy_per_magnet = fresh_alloy_per_magnet(
            y["alloy_to_magnet"][i].item(), y["scrap_return"][i].item()
        )

    @property
    def route_grades(self):
        return _route_grades(self._res)

    # what valuing a unit reads (finance.context), as compile_chain labels it
    @property
    def base_year(self) -> int:
        return int(self._number(self._res["demand"]["base"]))

    @property
    def export_premium(self) -> float:
        return float(self._number(self._res["demand"]["export_premium"]))

    @property
    def incentive(self):
        r, i = self._res["routes"], self._i
        return incentive_set({"years": r["years"], **{
            k: np.ascontiguousarray(r[k][i])
            for k in ("incentive_per_kg", "incentive_pass_through", "incentive_budget")}})  # fmt: skip

    oxide_per_magnet_values = Chain.oxide_per_magnet_values  # the Chain's rules, on these
    export_price_values = Chain.export_price_values

    def _number(self, v):
        """Sample i's number of a module's result: its row of an (S,) array, else the shared one."""
        return v[self._i] if np.ndim(v) else v

    @property
    def chain(self) -> Chain:
        """The sample's whole Chain (compiled on first use)."""
        if self._chain is None:
            try:
                s = self._scs[self._i]
                self._chain = compile_chain(s, parts=sample_parts(self._res, self._i))
            except AttributeError as e:  # not read as "no attribute `chain`" (`__getattr__`)
                raise RuntimeError(f"compiling sample {self._i}'s chain: {e}") from e
        return self._chain

    def __getattr__(self, name: str):  # a labelled array (`LABELLED`), else the whole Chain's
        if name.startswith("_"):
            raise AttributeError(name)
        got = LABELLED.get(name)
        if got is None:
            return getattr(self.chain, name)
        module, key, dims = got
        v = self._res[module] if key is None else self._res[module][key]
        if key not in _SHARED_KEYS.get(module, ()):
            v = sample(v, self._i)  # its row, as `sample_parts` slices it
        return labelled(v, dims=dims, coords=self._res["labels"])


class BlockChain:
    """A block's chains side by side, for reading its runs' indicators at once
    (`repm.results.build.block_totals`): the labels every sample shares, the routes' grades, and
    each `compile.LABELLED` array with the sample axis first (`.values`). Nothing else: a reader that wants more reads each sample's
    `SampleChain`."""

    def __init__(self, template, res: dict) -> None:
        self._res = res
        _labels(self, template, res)

    @property
    def route_grades(self):
        return _route_grades(self._res)

    def __getattr__(self, name: str):
        got = LABELLED.get(name) if not name.startswith("_") else None
        if got is None:
            raise AttributeError(f"a block's chains hold no {name!r} side by side")
        module, key, _ = got
        v = self._res[module] if key is None else self._res[module][key]
        return _Values(np.ascontiguousarray(v))  # C order, as each sample's row: sums add alike


class _Values(NamedTuple):
    values: np.ndarray


def _labels(chain, template, res: dict) -> None:
    """The labels a block's chains share, set on `chain` as a Chain holds them."""
    model = template.definition
    chain.name, chain.model, chain.years = template.name, model, res["years"]
    chain.sectors, chain.origins = res["demand"]["sectors"], res["trade"]["origins"]
    chain.grades, chain.materials = model.grade_names, model.material_names
    chain.elements, chain.n_years = model.element_names, len(chain.years)
    chain.route_names = list(res["routes"]["routes"])
    chain.source_names = list(res["routes"]["sources"])


def _route_grades(res: dict) -> np.ndarray:
    v = res["routes"]["tolling_grade"].view()  # the block's: every sample's, unwritable
    v.flags.writeable = False
    return v
