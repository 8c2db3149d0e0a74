"""The one simulation engine: a compiled time loop over draws (`repm.simulate.kernel`), labelled here.

Each step (a month or a year) follows the supply rule (docs/model.md; the data flow is in
docs/architecture.md): domestic production first (capacity × ramp-up, limited by feed), then
imports in the plan's origin shares; a restricted
origin's share is made up by other origins up to their spare capacity; then strategic
stockpiles; what remains is unmet demand, allocated to sectors by priority. Flows are booked
by element (Nd, Pr, Dy, Tb, Th) between named processes so every run can check mass balance.
The deterministic baseline is one draw with no shocks.

`simulate` turns the chain, plan and shocks into plain arrays, runs `repm.simulate.kernel.run` (every
draw through every step; draws spread over threads) and wraps the annual sums in an xarray
Dataset. Shocks reach the kernel as they are: a dense availability array (each axis full or 1)
or the factorised event levels × targets, so draw × month × origin × material is never built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from repm.chain import Chain
from repm.chain.labels import labelled_set
from repm.chain.plan import Plan
from repm.scenario.schema import FEEDS
from repm.simulate import arrays, kernel
from repm.simulate.arrays import FLOWS
from repm.simulate.balance import (  # noqa: F401  (the engine's checks, where callers look)
    BALANCE_ATOL,
    BALANCE_RTOL,
    _process_flows,
    check_mass_balance,
    mass_balance,
    residual_by_year,
)
from repm.simulate.prepare import (  # noqa: F401  (prepare, where callers look)
    FLOW_INDEX,
    STEPS_PER_YEAR,
    Prepared,
    _layout,
    prepare,
)
from repm.simulate.shocks import Shocks


class Buffers:
    """Output arrays a caller lends the engine run after run — a Monte Carlo worker, chunk after
    chunk — so the OS does not fault in and zero tens of megabytes each time. The caller says when
    it is done with what the last run wrote (`release`); nothing is handed out again before."""

    def __init__(self) -> None:
        self._free: dict[tuple[int, ...], list[np.ndarray]] = {}
        self._lent: list[np.ndarray] = []

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        shape = tuple(int(n) for n in shape)
        free = self._free.get(shape)
        a = free.pop() if free else np.empty(shape)
        self._lent.append(a)
        return a

    def release(self) -> None:
        """Everything lent since the last release may be written again."""
        for a in self._lent:
            self._free.setdefault(a.shape, []).append(a)
        self._lent.clear()


@dataclass(frozen=True)
class SimOutput:
    """Raw engine output: an xarray Dataset with named dimensions."""

    data: xr.Dataset


def simulate(
    chain: Chain,
    plan: Plan | None = None,
    shocks: Shocks | None = None,
    step: str = "monthly",
    buffers: Buffers | None = None,
) -> SimOutput:
    """Run the chain under a plan and shocks. Returns annual sums with a leading `draw` axis,
    written into fresh arrays, or into `buffers`' (valid until the caller releases them)."""
    prep, out = _run(chain, plan, shocks, step, buffers)
    return wrap(prep, out)


def simulate_raw(
    chain: Chain,
    plan: Plan | None = None,
    shocks: Shocks | None = None,
    step: str = "monthly",
    buffers: Buffers | None = None,
    like: Prepared | None = None,
) -> tuple[Prepared, arrays.Outputs, np.ndarray]:
    """`simulate` without labels: the kernel's own arrays (`arrays.Outputs`, draw × year × …),
    mass balance checked, and the largest |residual| by year (`residual_by_year`). For callers
    that read a few arrays of many draws (a risk chunk) and need no labels; no speed gain was
    measurable against `simulate` (20,000 draws, shared machine), so prefer `simulate` wherever
    labels help. like: as `prepare`'s."""
    prep, out = _run(chain, plan, shocks, step, buffers, like)
    model = chain.model
    by_year = residual_by_year(out.residual)
    ok = _layout(model).every_flow_balanced  # then the check may skip the flows
    check_mass_balance(out.residual, out.flows, model.processes, model.element_names,
                       by_year if ok else None)  # fmt: skip
    return prep, out, by_year


def _run(chain, plan, shocks, step, buffers, like=None) -> tuple[Prepared, arrays.Outputs]:
    empty = buffers.empty if buffers is not None else np.empty
    prep = prepare(chain, plan, shocks, step, like, empty)
    out = arrays.outputs(prep.dims, empty)
    kernel.run(prep.inputs, out)  # blocks of draws on every core (one thread in a risk chunk)
    return prep, out


def wrap(prep: Prepared, out) -> SimOutput:
    """Check the kernel's output for mass balance and label it: the Dataset `simulate` returns."""
    return SimOutput(unlabelled(prep, out).dataset())


class Variable(NamedTuple):
    """One array of a run's Dataset before labelling: its dims and values (as `xr.Variable`'s
    `.dims`, `.values` and `.ndim` read them: the same array)."""

    dims: tuple[str, ...]
    values: Any

    @property
    def ndim(self) -> int:
        return len(self.dims)


@dataclass(frozen=True)
class Unlabelled:
    """A run's outputs checked for mass balance, not yet labelled: `variables` (name → dims and
    values, the coordinates among them, as `xr.Dataset.variables`) hold the arrays `wrap`'s
    Dataset holds, so a reader of `variables` alone (a parameter sample's indicator,
    `repm.results.build.indicator_totals`) reads the same numbers without the Dataset (~0.3 ms a
    set); `dataset()` is `wrap`'s Dataset."""

    data_vars: dict[str, Variable]
    coords: dict[str, Any]
    attrs: dict[str, Any]

    @cached_property
    def variables(self) -> dict[str, Variable]:
        return {**self.data_vars, **{k: Variable((k,), v) for k, v in self.coords.items()}}

    def dataset(self) -> xr.Dataset:
        return _labelled_set({k: tuple(v) for k, v in self.data_vars.items()}, self.coords,
                             self.attrs)  # fmt: skip


class Later:
    """A `Variable` whose values are made when first read (`.dims` and `.ndim` without them)."""

    def __init__(self, dims: tuple[str, ...], make: Callable[[], Any]) -> None:
        self.dims, self._make = dims, make

    @property
    def ndim(self) -> int:
        return len(self.dims)

    @cached_property
    def values(self) -> Any:
        return self._make()


@dataclass(frozen=True)
class StackedRun:
    """Parameter sets' runs side by side (a block, `repm.simulate.block`): `variables` as
    `Unlabelled`'s (`run_variables`, and the coordinates), each array with the set axis before
    its dims (the coordinates without it). Read as a run is
    (`repm.results.build.block_totals`), axes counted from the last."""

    variables: dict[str, Variable | Later]


def unlabelled(prep: Prepared, out, balanced: bool = False) -> Unlabelled:
    """Check the kernel's output for mass balance: `wrap`'s arrays, unlabelled. `balanced`: the
    caller has found every residual within BALANCE_ATOL (the check could only pass)."""
    chain, shocks, step, inp = prep.chain, prep.shocks, prep.step, prep.inputs
    model = chain.model
    GRADES, MATERIALS, ELEMENTS = model.grade_names, model.material_names, model.element_names
    spy, D = inp.spy, out.unmet.shape[0]
    if not balanced:
        check_mass_balance(out.residual, out.flows, model.processes, ELEMENTS)
    required = ndpr_oxide_required(out.production, chain.fresh_alloy_per_magnet, inp.gc,
                                   inp.y_alloy, inp.y_om, chain.chem.ndpr_oxide_per_metal, model)  # fmt: skip
    coords = {
        "draw": np.arange(D) if shocks.draw_ids is None else shocks.draw_ids,
        "year": chain.years,
        "sector": list(chain.sectors),
        "grade": list(GRADES),
        "element": list(ELEMENTS),
        "origin": list(chain.origins),
        "material": list(MATERIALS),
        "feed": list(FEEDS),
        "flow": FLOW_NAMES,
        "process": list(model.processes),
        "route": chain.route_names,
        "source": chain.source_names,
    }
    return Unlabelled(
        run_variables(out, inp.bare, inp.emb, inp.cap, inp.sep, chain.monazite_processed.values,
                      required),  # fmt: skip
        coords,
        {"scenario": chain.name, "step": step, "draws": D, "steps_per_year": spy},
    )


FLOW_NAMES = [f for f, _, _ in FLOWS]


def ndpr_oxide_required(production, fresh_per_magnet, gc, y_alloy, y_om, f_ndpr, model):
    """Oxide-equivalent NdPr of everything fed to domestic magnet making (oxide, metal or alloy),
    draw × year, of one run's production (draw × year × feed × grade)."""
    fresh_all = production * fresh_per_magnet  # D,Y,F,G
    lay = _layout(model)
    ndpr_el = np.einsum("dyfg,g->dy", fresh_all, gc[:, lay.nd] + gc[:, lay.pr])
    return ndpr_el / y_alloy / y_om * f_ndpr


def run_variables(out, bare, emb, cap, sep, monazite, ndpr_required) -> dict[str, Variable]:
    """A run's arrays by name with their dims — the kernel's outputs `out`, the demand, capacity
    and separation it ran on, the monazite cracked, the NdPr oxide required: declared once, for a
    run (`unlabelled`) and for a block of parameter sets side by side, where every array has the
    set axis before these dims (`repm.simulate.block`)."""
    V = Variable
    return {
        "demand": V(("draw", "year", "sector", "grade"), out.demand),
        "demand_bare": V(("year", "sector", "grade"), bare),
        "demand_embedded": V(("year", "sector", "grade"), emb),
        "capacity": V(("year", "feed"), cap),
        "production": V(("draw", "year", "feed", "grade"), out.production),
        "imports": V(("draw", "year", "origin", "material"), out.imports),
        "stockpile_draw": V(("draw", "year", "material"), out.stock_draw),
        "stockpile_level": V(("draw", "year", "material"), out.stockpile_level),
        "stockpile_tonne_years": V(("draw", "year", "material"), out.tonne_years),
        "working_stock": V(("draw", "year", "material"), out.working),
        "recycled_inventory": V(("draw", "year", "material"), out.recycled),
        "feed_used": V(("draw", "year", "material"), out.feed_used),
        "irel_to_units": V(("draw", "year"), out.irel),
        "unmet": V(("draw", "year", "sector", "grade"), out.unmet),
        "unmet_bare": V(("draw", "year", "sector", "grade"), out.unmet_bare),
        "served": V(("draw", "year", "sector", "grade"), out.served),
        "short_steps": V(("draw", "year"), out.short_steps),
        "short_steps_sector": V(("draw", "year", "sector"), out.short_sector),
        "eol": V(("draw", "year", "sector", "grade"), out.eol),
        "in_use_stock": V(("draw", "year", "sector", "grade"), out.in_use),
        "ndpr_oxide_required": V(("draw", "year"), ndpr_required),
        "separation_output": V(("year",), sep),
        "monazite_processed": V(("year",), monazite),
        "flows": V(("draw", "year", "flow", "element"), out.flows),
        "residual": V(("draw", "year", "process", "element"), out.residual),
        "tolled": V(("draw", "year", "route"), out.tolled),
        "toll_oxide": V(("draw", "year"), out.toll_oxide),
        "tolling_transit": V(("draw", "year", "grade"), out.transit),
        "overseas_used": V(("draw", "year", "source"), out.overseas_used),
        "oxide_exports": V(("draw", "year"), out.exports),
        "magnet_exports": V(("draw", "year", "grade"), out.magnet_exports),
        "oxide_retained": V(("draw", "year"), out.retained),
    }


_PRIMED: set[tuple] = set()  # the labels `_labelled_set` has made a template of


def _labels_key(labels) -> tuple:
    if isinstance(labels, np.ndarray):
        return (np.ndarray, labels.dtype.str, labels.shape, labels.tobytes())
    return (type(labels), tuple(labels))


def _labelled_set(variables: dict, coords: dict, attrs: dict) -> xr.Dataset:
    """`xr.Dataset(variables, coords=coords, attrs=attrs)`, as `labelled_set` makes it: the
    coordinates and indexes built once per set of labels (~0.3 ms a call instead of ~4 ms).

    `labelled_set` keeps the first Dataset of a set of labels as its template, and with it that
    Dataset's arrays: here views of the kernel's whole output of every parameter set and draw
    simulated together (~60 kB a draw, ~0.8 GB for 64 sets × 200 draws). So the first call for
    a set of labels (the draw ids among them) makes the template from zero-strided placeholders
    of the same shapes and dtypes, and the run's arrays are never kept."""
    key = tuple((name, _labels_key(v)) for name, v in coords.items())
    if key not in _PRIMED:
        placeholders = {
            name: (dims, np.broadcast_to(np.zeros((), data.dtype), data.shape))
            for name, (dims, data) in variables.items()
        }
        labelled_set(placeholders, coords, attrs)
        if len(_PRIMED) >= 512:  # as labels.MAX_LABEL_SETS: many draw-id sets start afresh
            _PRIMED.clear()
        _PRIMED.add(key)
    return labelled_set(variables, coords, attrs)
