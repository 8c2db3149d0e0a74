"""A block of parameter samples simulated without a Chain or a `prepare` each (issue 14 part 6):
the batched chain modules' arrays (`repm.chain.batched.chains.block_results`) become the
kernel's inputs for every sample at once (`prepare.stacked_inputs`, the rule a chain alone
runs as one set), the samples run side by side on the draw axis, and each sample's run is read
unlabelled beside a `SampleChain` (its labels and the arrays the outputs read first; a whole
Chain only if more is read). The same numbers, bit for bit, as `simulate` on each sample's
compiled chain (tests/test_block_run.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from repm.chain.basket import FLOWS as BASKET_FLOWS
from repm.chain.batched.chains import BlockChain, SampleChain
from repm.chain.compile import policy
from repm.chain.demand import next_lower_grade
from repm.scenario.samples import SampleBlock
from repm.simulate import arrays, kernel
from repm.simulate.engine import (
    BALANCE_ATOL,
    FLOW_NAMES,
    Later,
    StackedRun,
    Unlabelled,
    Variable,
    ndpr_oxide_required,
    residual_by_year,
    run_variables,
    unlabelled,
)
from repm.simulate.prepare import (
    ChainArrays,
    Prepared,
    _layout,
    set_inputs,
    stacked_inputs,
    unshocked,
)
from repm.simulate.sets import _rows
from repm.simulate.shocks import Shocks


def block_arrays(block: SampleBlock, res: dict, scenarios: Sequence) -> ChainArrays:
    """The kernel's `ChainArrays` of a block (sample axis first) from its modules' results and
    each sample's scenario (the policy's arrays, `compile.policy`), under the default plan
    (the chain's capacity, import shares and stockpile), as `chain_arrays` reads them off each
    sample's Chain."""
    cp, dm, y, ca, tr = res["composition"], res["demand"], res["yields"], res["capacity"], res["trade"]  # fmt: skip
    hs, rt, bk = res["history"], res["routes"], res["basket"]
    N, Y = len(scenarios), len(res["years"])
    per = _policies(block, scenarios, dm["sectors"], res["years"])
    # the year axis where a share path gives one, else one row for every year
    share = tr["share"] if tr["share"].ndim == 4 else tr["share"][:, None]
    rep = lambda v: np.repeat(np.asarray(v)[None], N, axis=0)  # noqa: E731 - the block's, each sample's
    return ChainArrays(
        bare=dm["bare"], emb=dm["emb"], export_dem=dm["exports"], gc=cp["gc"], mc=cp["mc"],
        recipe=res["recipe"], cap=ca["cap"], share=share, stock0=per("stock0"),
        spare=tr["spare"], sep=bk["sep_out"],
        irel_max=per("irel_max"),
        y_am=y["alloy_to_magnet"], y_alloy=y["alloy_making"], y_om=y["oxide_to_metal"],
        r_scrap=y["scrap_return"], sx_recovery=y["sx_recovery"],
        basket=np.stack([bk["flows"][f] for f in BASKET_FLOWS], axis=2),
        pmf=hs["pmf"], hist=hs["hist"], tier=per("tier"), fit=per("fit"),
        ws_months=per("ws_months"),
        refill_months=per("refill_months"),
        ws_sector_months=per("ws_sector"),
        collection=per("collection"),
        recovery=per("recovery"),
        retention=rt["retention"],
        future_from=per("future_from"),
        down=np.stack([next_lower_grade(h) for h in dm["heavy"]]), sw_share=per("switch_share"),
        toll_cap=rt["tolling_capacity"].reshape(N, Y, -1), toll_grade=rep(rt["tolling_grade"]),
        toll_lead_months=rt["tolling_lead_months"], toll_partner=rep(rt["tolling_partner"]),
        toll_first=rep(rt["tolling_first"]),
        toll_exposure=rt["tolling_exposure"].reshape(N, -1, len(tr["origins"])),
        ov_oxide=rt["overseas_oxide"].reshape(N, Y, -1), ov_country=rep(rt["overseas_country"]),
        ov_mixed=rep(rt["overseas_mixed"]),
    )  # fmt: skip


def _policies(block: SampleBlock, scenarios: Sequence, sectors, years):
    """Each of `compile.policy`'s numbers for the block's samples (sample axis first): read once
    off the block's Scenario of drawn arrays where it has one (the numbers every sample shares
    repeated; one not read so raises, and the block runs through a Chain each, counted), else
    off each sample's Scenario."""
    model, N = block.template.definition, block.n
    if block.scenario is None:
        po = [policy(s, model, sectors, years) for s in scenarios]
        return lambda key: np.stack([p[key] for p in po])
    got = policy(block.scenario, model, sectors, years)
    out = {}
    for key, t in policy(block.template, model, sectors, years).items():
        v, t = np.asarray(got[key]), np.asarray(t)
        if v.dtype != t.dtype or v.shape not in (t.shape, (N, *t.shape)):
            raise ValueError(f"policy {key}: {v.dtype} {v.shape} off the block's Scenario")
        # a copy of its own: writeable, as each sample's (a read-only array is another Numba type)
        out[key] = np.array(np.broadcast_to(v, (N, *t.shape)), order="C")
    return out.__getitem__


@dataclass
class BlockRun:
    """A block's runs, one draw each, no shocks, the default plan: each sample's chain
    (`SampleChain`) and run (`sets`: `engine.unlabelled`, made when first read), and all of them
    side by side (`chain`, `run`: read as one run, `repm.results.build.block_totals`)."""

    chains: list[SampleChain]
    chain: BlockChain
    run: StackedRun
    _each: Callable[[], list[Unlabelled]]

    @cached_property
    def sets(self) -> list[Unlabelled]:
        return self._each()


def simulate_block(
    block: SampleBlock, res: dict, scenarios: Sequence, step: str = "monthly"
) -> BlockRun:
    """Each sample's chain and run (mass balance checked), the samples side by side."""
    model = block.template.definition
    chains = [SampleChain(block.template, scenarios, res, i) for i in range(block.n)]
    stacked, dims = stacked_inputs(block_arrays(block, res, scenarios), model, step)
    stacked = unshocked(stacked, dims)  # shared by every set (the kernel writes no input)
    out = arrays.outputs({**dims, "D": len(chains)})
    kernel.run_stacked(stacked, out, 1)  # each set's inputs made in compiled code
    inps = cache(lambda: set_inputs(stacked))  # as Python objects only if read (~0.01 ms a set)
    none = Shocks(availability=np.ones((1, 1, 1, 1)), n_materials=dims["M"])  # `no_shocks`'
    # every set within the check's least tolerance at once (one pass, not one a set); else each
    # set checked as a run alone checks it
    # (as `simulate_raw`: sound where every flow enters some process's residual, so a NaN flow
    # makes a residual NaN)
    balanced = _layout(model).every_flow_balanced and bool(
        residual_by_year(out.residual).max() <= BALANCE_ATOL
    )
    one = {**dims, "D": 1}

    def each() -> list[Unlabelled]:
        return [
            unlabelled(Prepared(c, none, step, inp, one), _rows(out, n, n + 1), balanced)
            for n, (c, inp) in enumerate(zip(chains, inps(), strict=True))
        ]

    chain = BlockChain(block.template, res)
    run = BlockRun(chains, chain, _side_by_side(chain, chains, inps, stacked, out), each)
    if not balanced:
        run.sets  # noqa: B018 - each set's own check, which raises where a set is off
    return run


def _side_by_side(chain: BlockChain, chains, inps, stacked, out) -> StackedRun:
    """The block's runs as one `StackedRun`: each array of `engine.run_variables` with the set
    axis first (the kernel's outputs of one draw a set, the set's own inputs: `inps()`)."""
    N = len(chains)
    per_set = arrays.Outputs(*(a.reshape(N, 1, *a.shape[1:]) for a in out))  # views

    def required() -> np.ndarray:  # set by set, as each run's (an einsum adds as shapes say)
        return np.stack([
            ndpr_oxide_required(per_set.production[n], c.fresh_alloy_per_magnet, inp.gc,
                                inp.y_alloy, inp.y_om, c.chem.ndpr_oxide_per_metal, chain.model)
            for n, (c, inp) in enumerate(zip(chains, inps(), strict=True))
        ])  # fmt: skip

    variables = run_variables(per_set, stacked.bare, stacked.emb, stacked.cap, stacked.sep,
                              chain.monazite_processed.values, None)  # fmt: skip
    dims = variables["ndpr_oxide_required"].dims
    variables["ndpr_oxide_required"] = Later(dims, required)  # made when an indicator reads it
    labels = {"year": chain.years, "flow": FLOW_NAMES, "element": list(chain.elements)}
    return StackedRun({**variables, **{k: Variable((k,), np.asarray(v)) for k, v in labels.items()}})
