"""The least-holding-cost strategic stockpile that meets a service level (common random numbers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from repm.analyses.risk.draws import run_draws
from repm.analyses.risk.measures import breakeven_penalty, discounted, p_no_shortage
from repm.analyses.risk.reduce import DrawSummary
from repm.chain.rules import stock_prices
from repm.errors import UserError
from repm.scenario.schema import Scenario


@dataclass(frozen=True)
class StockpileResult:
    service_level: float
    achieved: float  # share of draws with no shortage over the horizon
    stockpile: dict[str, float]  # material -> t
    holding_cost: float  # crore INR per year, mean over draws and years
    attainable: bool
    note: str
    # what it is worth, from the first year after history, discounted at the finance rate:
    holding_pv: float = 0.0  # its holding cost, crore INR
    unmet_avoided: float = 0.0  # unmet demand it avoids (mean over draws), t
    breakeven_penalty: float = float("inf")  # INR/kg unmet at which it pays (measures.breakeven_penalty)
    unmet_penalty: float = 0.0  # the scenario's policy.unmet_penalty, INR/kg
    # the search's own run of this stockpile (its draws), to value it without running it again
    summary: DrawSummary | None = field(default=None, repr=False, compare=False)

    @property
    def pays(self) -> bool:
        """The stockpile costs less to hold than the unmet demand it avoids, at the scenario's
        value of a kilogram unmet."""
        return self.unmet_avoided > 0 and self.unmet_penalty >= self.breakeven_penalty


UNLIMITED = 1e9  # t: a stockpile no draw can empty, to measure what each draw would release


def sized_materials(chain, scenario: Scenario) -> tuple[str, ...]:
    """The materials `size_stockpile` sizes: magnets, NdPr/Dy/Tb oxide and metal — those with a
    price (`stock_prices`), since a stockpile's holding cost is what is minimised."""
    prices = stock_prices(chain, scenario)
    return tuple(m for m in scenario.definition.names(sizable=True) if prices.get(m, 0.0) > 0)


def size_stockpile(loaded, chain_builder, **kw) -> StockpileResult:
    """`_least_cost_stockpile` (its docstring), with what the stockpile found is worth: its
    holding cost against the unmet demand it avoids, each discounted from the first year after
    history (`measures.discounted`), and the value of a kilogram unmet at which it pays."""
    res, evaluate, zero_summary, first = _least_cost_stockpile(loaded, chain_builder, **kw)
    if not any(v > 0 for v in res.stockpile.values()):
        return replace(res, summary=None, unmet_penalty=float(loaded.scenario.policy.unmet_penalty))
    fin = loaded.scenario.economics.finance
    rate = fin.discount_rate if fin is not None else 0.0
    with_stock = res.summary if res.summary is not None else evaluate(res.stockpile)[0]
    held, short = discounted(with_stock, first, rate)
    _, short0 = discounted(zero_summary, first, rate)
    holding_pv, avoided = float(held.mean()), float(short0.mean() - short.mean())
    return replace(
        res, summary=None, holding_pv=holding_pv, unmet_avoided=avoided,
        breakeven_penalty=breakeven_penalty(holding_pv, avoided),
        unmet_penalty=float(loaded.scenario.policy.unmet_penalty),
    )  # fmt: skip


def _least_cost_stockpile(
    loaded,
    chain_builder,
    *,
    service_level: float,
    draws: int,
    seed: int,
    step: str = "monthly",
    chunk_size: int = 2000,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    iterations: int = 12,
    tolerance: float = 0.0,
) -> tuple:
    """Least-holding-cost stockpile per material (magnets, NdPr/Dy/Tb oxide and metal) with
    P(no shortage over the horizon) ≥ service level.

    Common random numbers: every candidate is simulated on the same draws (same seed). Two
    families of candidates are searched and the cheaper kept: magnets alone (they cover a
    bare-magnet shortage whatever caused it), and magnets with feed (oxide, metal: it keeps
    domestic magnet making going when feed is cut off). In each, what every draw needs from each
    material's stockpile — its gap — is measured once, by simulating with stockpiles no draw can
    empty and reading what each draw releases. Candidates take the same quantile q of every
    material's gap, and q is bisected in [P, 1] — at q = P on a one-node system this is the
    closed-form answer (the P-quantile of the shortfall over a ban). The candidate is then scaled
    down as a whole, and material by material (dearest to hold first), while the level holds.
    A heuristic, not an exact optimum: the note says which family won and what the other cost.
    `tolerance` (t a year): a year counts as short only when its unmet demand exceeds it (0: any
    unmet beyond round-off).
    """
    if not 0 < service_level < 1:
        raise UserError(
            f"{service_level}; expected a probability strictly between 0 and 1",
            where="--service-level",
        )
    if not tolerance >= 0:
        raise UserError(f"{tolerance}; expected t a year ≥ 0", where="--tolerance")
    base_chain = chain_builder(loaded.scenario)
    sized = sized_materials(base_chain, loaded.scenario)
    prices = stock_prices(base_chain, loaded.scenario)
    first = base_chain.first_future_year  # the service level counts the years after history
    if not sized:
        raise UserError(
            "no stockpile material has a price; expected prices for magnets or oxides",
            where="economics.prices",
        )

    # every candidate runs the same draws of the same shocks (only the stockpile differs, and
    # the shocks do not read it): sampled once, kept here for the whole search
    shocks_cache: dict = {}

    def evaluate(stock: dict[str, float]) -> tuple[DrawSummary, Scenario]:
        sc = _scenario_with(loaded, stock)
        # only the stockpile differs between candidates: the base chain with it, not a new
        # compilation (what compile_chain makes of policy.stockpile, held by a test)
        stock0 = base_chain.stockpile0.copy(
            data=[sc.policy.stockpile.get(m, 0.0) for m in base_chain.materials]
        )
        summary = run_draws(
            replace(base_chain, stockpile0=stock0), sc, draws=draws, seed=seed, step=step,
            chunk_size=chunk_size, scheduler=scheduler, progress=progress,
            shocks_cache=shocks_cache if scheduler is None else None,
        )  # fmt: skip
        return summary, sc

    def cost(summary: DrawSummary) -> float:
        return float(summary.holding.mean())

    zero = {m: 0.0 for m in sized}
    base, _ = evaluate(zero)
    p0 = p_no_shortage(base, first, tolerance)
    if p0 >= service_level:
        return StockpileResult(
            service_level, p0, zero, 0.0, True,
            f"no stockpile needed: {p0:.1%} of draws have no shortage",
        ), evaluate, base, first  # fmt: skip

    def search(family: tuple[str, ...], level: float = service_level) -> StockpileResult:
        """The least-cost candidate stocking only `family` (the others at zero) with P(no
        shortage) ≥ `level`; when no stockpile of it reaches `level`, the least-cost one that
        reaches the most any does (attainable False, the note says why)."""
        cols = [loaded.scenario.definition.material_names.index(m) for m in family]
        gap = evaluate({**zero, **{m: UNLIMITED for m in family}})[0].released[:, cols]

        def candidate(q: float) -> dict[str, float]:
            at = {m: float(np.quantile(gap[:, i], q, method="inverted_cdf")) for i, m in enumerate(family)}  # fmt: skip
            return {**zero, **at}

        top, _ = evaluate(candidate(1.0))
        p_top = p_no_shortage(top, first, tolerance)
        if p_top < level:
            fit = loaded.scenario.policy.magnet_stockpile_fit
            unfit = (
                f"; the {1 - fit:.0%} of finished-magnet demand a stockpile of finished magnets "
                f"was not made for (policy.magnet_stockpile_fit {fit:g}), beyond what domestic "
                "units can make from stocked feed"
                if fit < 1 else ""
            )  # fmt: skip
            why = (
                f"{level:.0%} not attainable with stockpiles (at most {p_top:.1%}, {p0:.1%} "
                "without one): what stays "
                f"short is what no stockpile serves — magnets embedded in imported "
                f"sub-assemblies{unfit}. The least-cost stockpile reaching {p_top:.1%}"
            )
            if p_top <= p0:
                return StockpileResult(
                    service_level, p_top, zero, 0.0, False, f"{why} is none."
                )  # fmt: skip
            got = search(family, p_top)
            return replace(got, attainable=False, note=f"{why}: {got.note}")
        lo, hi = level, 1.0
        best = (candidate(1.0), top)
        lo_s, _ = evaluate(candidate(lo))
        if p_no_shortage(lo_s, first, tolerance) >= level:
            hi, best = lo, (candidate(lo), lo_s)
        else:
            for _ in range(iterations):
                mid = (lo + hi) / 2
                s_mid, _ = evaluate(candidate(mid))
                if p_no_shortage(s_mid, first, tolerance) >= level:
                    hi, best = mid, (candidate(mid), s_mid)
                else:
                    lo = mid
        # the same quantile of every material can overshoot (gaps are correlated): shrink the
        # candidate as a whole, then each material on its own, dearest to hold first
        stock, summ, scale = shrink(*best, family, level)
        held = [m for m in family if stock[m] > 0]
        notes = []
        if len(held) > 1:
            for m in sorted(held, key=lambda m: -prices.get(m, 0.0)):
                stock, summ, f = shrink(stock, summ, (m,), level)
                if f < 1.0:
                    notes.append(f"{m} ×{f:.3g}")
        return StockpileResult(
            service_level, p_no_shortage(summ, first, tolerance), stock, cost(summ), True,
            f"quantile {hi:.4f} of each material's gap, scaled by {scale:.3f}"
            + (f", then {', '.join(notes)}" if notes else ""), summary=summ,
        )  # fmt: skip

    def shrink(
        stock: dict[str, float], current: DrawSummary, which: tuple[str, ...], level: float
    ) -> tuple:
        """Scale the `which` materials of `stock` by the least factor in [0, 1] that still meets
        the service level (bisection, then 0 itself: bisection alone never reaches it, and would
        leave crumbs of a material not needed at all); returns (stock, its summary, factor)."""
        lo_l, hi_l, found = 0.0, 1.0, (stock, current)
        for _ in range(iterations):
            lam = (lo_l + hi_l) / 2
            trial = {m: v * lam if m in which else v for m, v in stock.items()}
            s_t, _ = evaluate(trial)
            if p_no_shortage(s_t, first, tolerance) >= level:
                hi_l, found = lam, (trial, s_t)
            else:
                lo_l = lam
        if lo_l == 0.0 and any(stock[m] > 0 for m in which):  # every step held: try none
            trial = {m: 0.0 if m in which else v for m, v in stock.items()}
            s_t, _ = evaluate(trial)
            if p_no_shortage(s_t, first, tolerance) >= level:
                hi_l, found = 0.0, (trial, s_t)
        return (*found, hi_l)

    # magnets alone cover the share of a bare-magnet shortage they were made for
    # (policy.magnet_stockpile_fit), whatever caused it; feed stockpiles (oxide, metal) beside
    # them keep domestic magnet making going, for any design — cheaper or dearer by prices
    magnets = tuple(m for m in sized if m.startswith("magnet"))
    families = [f for f in (magnets, sized) if f]
    results = [search(f) for f in dict.fromkeys(families)]
    ok = [r for r in results if r.attainable]
    if not ok:  # the most any family reaches, at the least cost
        most = max(r.achieved for r in results)
        least = min((r for r in results if r.achieved == most), key=lambda r: r.holding_cost)
        return least, evaluate, base, first
    best = min(ok, key=lambda r: r.holding_cost)
    others = "; ".join(
        f"{'+'.join(m for m, v in r.stockpile.items() if v > 0) or 'none'} would cost {r.holding_cost:,.1f}"
        for r in ok
        if r is not best
    )
    return replace(
        best,
        note=f"common random numbers over {draws:,} draws (seed {seed}); {best.note}"
        + (f" (the least-cost family; {others} crore INR/yr)" if others else ""),
    ), evaluate, base, first


def _scenario_with(loaded, stock: dict[str, float]) -> Scenario:
    pol = loaded.scenario.policy.model_copy(
        update={"stockpile": {**loaded.scenario.policy.stockpile, **stock}}
    )
    return loaded.scenario.model_copy(update={"policy": pol})
