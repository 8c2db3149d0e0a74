"""Each sample's Chain with the chain's modules run once for a block of samples: the batched
modules in `compile_chain`'s order, each sample's slice handed to `compile_chain(s, parts=…)`,
which builds the labelled arrays as it does for one scenario. The same Chains, bit for bit, as
`compile_chain` on each sample (tests/test_batched_chains.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repm.chain.batched.basket import SHARED as BASKET_SHARED
from repm.chain.batched.basket import basket_block
from repm.chain.batched.composition import (
    COMPOSITION_SHARED,
    RECIPE_SHARED,
    composition_block,
    recipe_block,
)
from repm.chain.batched.demand import HISTORY_SHARED, demand_block, history_block
from repm.chain.batched.demand import SHARED as DEMAND_SHARED
from repm.chain.batched.prices import PRICES_SHARED, prices_block
from repm.chain.batched.routes import routes_block, routes_sample
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
from repm.chain.compile import chemistry_of, compile_chain
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
    s = block.template
    model = s.definition
    years = np.array(s.horizon.years)
    chems = [chemistry_of(sc) for sc in scenarios]
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
    return [
        {
            "composition": sample(cp, i, COMPOSITION_SHARED),
            "demand": sample(dm, i, DEMAND_SHARED),
            "yields": sample(ylds, i, YIELDS_SHARED),
            "recipe": sample(rc, i, RECIPE_SHARED),
            "capacity": sample(ca, i, CAPACITY_SHARED),
            "trade": sample(tr, i, TRADE_SHARED),
            "history": sample(hs, i, HISTORY_SHARED),
            "routes": routes_sample(rt, i),
            "basket": sample(bk, i, BASKET_SHARED),
            "prices": sample(pr, i, PRICES_SHARED),
        }
        for i in range(block.n)
    ]
