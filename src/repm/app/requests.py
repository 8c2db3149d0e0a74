"""What each command is asked: small frozen requests, checked when they are made.

A request holds only data — the scenario (a shipped name, a file path, or an already loaded
scenario), its `--set` overrides, and the command's options. Building one checks every option
that needs no scenario, so a mistake is reported in one line (field, value, what was expected)
before anything slow is imported and before anything is written. The CLI, the dashboard and the
Python API all build these; `repm.app.commands` carries them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repm.app.checks import (
    check_choice,
    check_count,
    check_draws,
    check_groups,
    check_new_file,
    check_out,
    check_scheduler,
    check_seed,
    is_integer,
)
from repm.errors import UserError, fmt_value
from repm.limits import MAX_CHUNK, MAX_MONTECARLO, MAX_PLAN_SCENARIOS, MAX_WORKERS

if TYPE_CHECKING:
    from repm.chain import Chain
    from repm.scenario.load import LoadedScenario

STEPS = ("monthly", "yearly")
BREAKEVEN = ("sli", "price")
PRICES = ("grade", "china", "reference")
CURRENCIES = ("INR", "USD")
DEFAULT_SCENARIO = "india-baseline"


def override_args(
    overrides: dict[str, Any] | list[str] | tuple[str, ...] | None,
) -> tuple[str, ...]:
    """The `--set PATH=VALUE` strings a mapping of overrides stands for (strings pass through)."""
    if overrides is None:
        return ()
    if isinstance(overrides, list | tuple):
        return tuple(str(s) for s in overrides)
    out = []
    for path, value in overrides.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            text = "null"
        elif isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{value!r}; expected a finite number", where=f"overrides.{path}")
        else:
            text = str(value)
        out.append(f"{path}={text}")
    return out


@dataclass(frozen=True, kw_only=True)
class Request:
    """What every command that simulates a scenario takes: the scenario and its overrides,
    whether to store the run, and the run folder (`--out`; default: a new folder in the store)."""

    scenario: str | LoadedScenario = DEFAULT_SCENARIO
    sets: tuple[str, ...] = ()
    out: Path | None = None
    store: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "sets", tuple(override_args(self.sets)))
        if self.out is not None:
            object.__setattr__(self, "out", Path(self.out))
        check_out(self.out)

    def load(self) -> LoadedScenario:
        """The scenario, loaded and validated (as given, if it was already loaded), and checked
        to be within what the model can represent (repm.app.scale)."""
        return self.load_compiled()[0]

    def load_compiled(self) -> tuple[LoadedScenario, Chain]:
        """`load()` and the chain compiled from it to check its scale, for a command that
        simulates it (so the scenario is compiled once, not twice)."""
        from repm.app.scale import check_scale
        from repm.startup import xarray_asks_dask_lazily

        xarray_asks_dask_lazily()  # before the first xarray variable is made
        from repm.chain import compile_chain

        if isinstance(self.scenario, str):
            from repm.scenario import load_scenario

            loaded = load_scenario(self.scenario, list(self.sets))
        else:
            loaded = self.scenario
        chain = compile_chain(loaded.scenario)
        try:
            check_scale(chain)
        except UserError as exc:
            raise UserError(str(exc), where=loaded.source) from None
        return loaded, chain


@dataclass(frozen=True, kw_only=True)
class Draws:
    """Options of a Monte Carlo: draws, seed, draws per chunk, Dask scheduler."""

    draws: int = 2_000
    seed: int = 0
    chunk: int = 2_000
    scheduler: str | None = None

    def check_draws(self) -> None:
        check_draws(self.draws)
        check_seed(self.seed)
        check_scheduler(self.scheduler)
        if is_integer(self.chunk) and self.chunk < 1:
            raise UserError(f"{self.chunk}; expected at least 1 draw per chunk", where="--chunk")
        check_count(self.chunk, "--chunk", low=1, high=MAX_CHUNK, what=" draws per chunk")


@dataclass(frozen=True, kw_only=True)
class Weighed:
    """Alternative scenarios weighed with the one asked for (`--alternative NAME=WEIGHT`, the
    scenario asked for keeping the rest of the weight; repm.analyses.uncertainty.structure):
    the parameter samples draw which one they run, as they draw a fact."""

    alternatives: tuple = ()

    def check_alternatives(self) -> None:
        from repm.analyses.uncertainty.structure import parse_alternatives

        object.__setattr__(self, "alternatives", parse_alternatives(self.alternatives))
        base = getattr(self, "scenario", None)
        if isinstance(base, str) and base in {n for n, _ in self.alternatives}:
            raise UserError(
                f"{base}; expected scenarios other than the one asked for (it keeps the rest "
                "of the weight)",
                where="--alternative",
            )

    def weighed(self, base: LoadedScenario) -> tuple[list[LoadedScenario], Any]:
        """The scenario asked for (loaded already) and each alternative, loaded with the same
        `--set` overrides, and their weights (repm.analyses.uncertainty.structure.Alternatives)."""
        from dataclasses import replace

        from repm.analyses.uncertainty.structure import Alternatives

        if base.name in {n for n, _ in self.alternatives}:
            raise UserError(
                f"{base.name}; expected scenarios other than the one asked for (it keeps the "
                "rest of the weight)",
                where="--alternative",
            )
        others = [replace(self, scenario=name, alternatives=()).load()  # type: ignore[type-var]
                  for name, _ in self.alternatives]  # fmt: skip
        return [base, *others], Alternatives.of(base.name, self.alternatives)


def check_workers(workers: int | None) -> None:
    """Processes that evaluate parameter samples (repm.analyses.uncertainty.pool)."""
    if workers is not None:
        check_count(workers, "--workers", low=1, high=MAX_WORKERS, what=" processes")


@dataclass(frozen=True, kw_only=True)
class RunRequest(Request):
    """`repm run`: one path without shocks, optionally of a saved plan."""

    step: str = "monthly"
    plan_file: Path | None = None

    def __post_init__(self) -> None:
        check_choice(self.step, STEPS, "--step")
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class RiskRequest(Draws, Request):
    """`repm risk`: Monte Carlo of export controls and outages."""

    draws: int = 10_000
    workers: int = 2
    plan_file: Path | None = None

    def __post_init__(self) -> None:
        self.check_draws()
        check_count(self.workers, "--workers", low=1, high=MAX_WORKERS, what=" workers")
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class StockpileRequest(Draws, Request):
    """`repm stockpile`: least-holding-cost stockpile for a service level."""

    service_level: float = 0.95
    tolerance: float = 0.0  # t a year of unmet demand that does not count as a shortage

    def __post_init__(self) -> None:
        if not 0 < self.service_level < 1:
            raise UserError(
                f"{self.service_level}; expected a probability strictly between 0 and 1",
                where="--service-level",
            )
        if not (isinstance(self.tolerance, int | float) and 0 <= self.tolerance < float("inf")):
            raise UserError(f"{self.tolerance}; expected t a year ≥ 0", where="--tolerance")
        self.check_draws()
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class PlanRequest(Request):
    """`repm plan`: least-cost build-out, sourcing and stockpile, optionally under risk."""

    scenarios: int = 0
    seed: int = 0
    cvar: float = 0.0
    cvar_alpha: float = 0.95
    units: bool = False
    save_plan: Path | None = None

    def __post_init__(self) -> None:
        if is_integer(self.scenarios) and self.scenarios < 0:
            raise UserError(
                f"{self.scenarios}; expected 0 (deterministic) or more shock scenarios",
                where="--scenarios",
            )
        check_count(self.scenarios, "--scenarios", low=0, high=MAX_PLAN_SCENARIOS,
                    what=" shock scenarios (each adds a copy of the year's flows to the LP)")  # fmt: skip
        check_seed(self.seed)
        if not (math.isfinite(self.cvar) and self.cvar >= 0):
            raise UserError(f"{self.cvar}; expected a weight ≥ 0", where="--cvar")
        if not 0 < self.cvar_alpha < 1:
            raise UserError(
                f"{self.cvar_alpha}; expected a level strictly between 0 and 1",
                where="--cvar-alpha",
            )
        if self.save_plan is not None:
            object.__setattr__(self, "save_plan", Path(self.save_plan))
        check_new_file(self.save_plan, "--save-plan")
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class FinanceRequest(Request):
    """`repm finance`: does a unit pay under the scheme, and what does the treasury pay?"""

    unit: float | None = None
    sli_bid: str | None = None
    breakeven: str | None = None
    sensitivity: bool = False
    montecarlo: int = 0
    seed: int = 0
    price: str = "grade"
    currency: str = "INR"

    def __post_init__(self) -> None:
        if self.breakeven is not None:
            check_choice(self.breakeven, BREAKEVEN, "--breakeven")
        check_choice(self.price, PRICES, "--price")
        check_choice(self.currency, CURRENCIES, "--currency")
        if is_integer(self.montecarlo) and self.montecarlo < 0:
            raise UserError(f"{self.montecarlo}; expected 0 or more draws", where="--montecarlo")
        check_count(
            self.montecarlo, "--montecarlo", low=0, high=MAX_MONTECARLO, what=" price paths"
        )
        if self.unit is not None and not (
            isinstance(self.unit, int | float) and math.isfinite(self.unit) and self.unit > 0
        ):
            raise UserError(f"{fmt_value(self.unit)}; expected a capacity > 0 t/yr", where="--unit")
        check_seed(self.seed)
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class CompareRequest:
    """`repm compare`: two or more stored runs side by side in one year."""

    run_ids: tuple[str, ...] = field(default_factory=tuple)
    year: int | None = None
    html: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_ids", tuple(self.run_ids))
        if len(self.run_ids) < 2:
            raise UserError(
                f"{len(self.run_ids)} run given; expected two or more run ids", where="compare"
            )
        twice = sorted({r for r in self.run_ids if self.run_ids.count(r) > 1})
        if twice:
            raise UserError(
                f"{', '.join(map(repr, twice))} given more than once; expected different runs",
                where="compare",
            )
        check_new_file(self.html, "--html")


@dataclass(frozen=True, kw_only=True)
class ReportRequest:
    """`repm report`: one stored run (the newest by default) as a self-contained HTML file."""

    run_id: str | None = None
    out: Path | None = None
    year: int | None = None
    # Sobol base samples of the small sensitivity run made when the scenario has none stored
    # (0: none; the CLI asks for 4)
    sensitivity_samples: int = 0

    def __post_init__(self) -> None:
        n = self.sensitivity_samples
        if not is_integer(n) or not 0 <= n <= MAX_PARAMETER_SAMPLES or n == 1 or n & (n - 1):
            raise UserError(
                f"{fmt_value(n)}; expected 0 (none) or a power of 2 from 2 to "
                f"{MAX_PARAMETER_SAMPLES:,} (Sobol's base samples)",
                where="--sensitivity-samples",
            )
        if self.out is not None:
            object.__setattr__(self, "out", Path(self.out))
            if self.out.exists():
                raise UserError(
                    f"{str(self.out)!r} already exists; expected a new file for the report",
                    where="--out",
                )
        check_new_file(self.out, "--out")


SENSITIVITY_METHODS = ("sobol", "morris")
MAX_PARAMETER_SAMPLES = 65_536  # sensitivity base samples, uncertainty draws (~0.1–0.5 s each now)


@dataclass(frozen=True, kw_only=True)
class SensitivityRequest(Weighed, Request):
    """`repm sensitivity OUTPUT`: which facts drive an output (Sobol indices or Morris)."""

    output: str = "unit_npv"
    year: int | None = None
    method: str = "sobol"
    samples: int = 64
    seed: int = 0
    groups: tuple[str, ...] = ()
    by_fact: bool = False
    step: str = "monthly"
    draws: int = 200  # shock draws per parameter set (risk outputs: expected_unmet, …)
    workers: int | None = None  # processes for the samples (None: both cores for large batches)
    scheduler: str | None = None  # a Dask scheduler for the samples ('local': a cluster here)

    def __post_init__(self) -> None:
        check_count(self.draws, "--draws", low=1, high=100_000, what=" draws")
        check_workers(self.workers)
        check_scheduler(self.scheduler)
        if isinstance(self.groups, str):
            object.__setattr__(self, "groups", tuple(self.groups.split(",")))
        object.__setattr__(self, "groups", tuple(g.strip() for g in self.groups))
        check_choice(self.method, SENSITIVITY_METHODS, "--method")
        check_choice(self.step, STEPS, "--step")
        check_count(self.samples, "--samples", low=2, high=MAX_PARAMETER_SAMPLES, what=" samples")
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise UserError(
                f"{self.samples}; expected a power of 2 for Sobol's design (e.g. "
                f"{1 << (self.samples.bit_length() - 1)} or {1 << self.samples.bit_length()})",
                where="--samples",
            )
        check_seed(self.seed)
        check_groups(self.groups)
        if self.year is not None and not is_integer(self.year):
            raise UserError(f"{fmt_value(self.year)}; expected a year", where="--year")
        self.check_alternatives()
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class UncertaintyRequest(Weighed, Request):
    """`repm uncertainty`: P5/P50/P95 and mean of the headline indicators by year over draws of
    every uncertain fact; with `draws` > 0 also the expected unmet demand over that many shock
    draws per sample (the shock model on, as `repm risk`)."""

    samples: int = 200
    seed: int = 0
    step: str = "monthly"
    draws: int = 0
    workers: int | None = None  # processes for the samples (None: both cores for large batches)
    scheduler: str | None = None  # a Dask scheduler for the samples ('local': a cluster here)
    # another scenario run on the same samples of the facts: the answers' differences sample by
    # sample (paired, common random numbers), not a mixture as `alternatives` is
    versus: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.step, STEPS, "--step")
        check_workers(self.workers)
        check_scheduler(self.scheduler)
        check_count(self.samples, "--samples", low=2, high=MAX_PARAMETER_SAMPLES, what=" samples")
        check_count(self.draws, "--draws", low=0, high=100_000, what=" draws")
        check_seed(self.seed)
        self.check_alternatives()
        if self.versus is not None:
            if self.alternatives:
                raise UserError(
                    f"{self.versus} with --alternative; expected one of them: --versus runs "
                    "both scenarios on every sample and compares them, --alternative draws one "
                    "scenario per sample as an uncertain input",
                    where="--versus",
                )
            if isinstance(self.scenario, str) and self.versus == self.scenario:
                raise UserError(
                    f"{self.versus}; expected another scenario than the one asked for",
                    where="--versus",
                )
        super().__post_init__()

    def paired(self, base: LoadedScenario) -> tuple[list[LoadedScenario], Any]:
        """The scenario asked for and `versus`, loaded with the same `--set` overrides, as the
        two scenarios of a Pooled (each sample is run under both; the weights are not used)."""
        from dataclasses import replace

        from repm.analyses.uncertainty.structure import Alternatives

        try:
            other = replace(self, scenario=self.versus, versus=None).load()
        except UserError as exc:  # its own mistake, named for the option that asked for it
            raise UserError(str(exc), where="--versus") from None
        if other.name == base.name:
            raise UserError(
                f"{self.versus}; expected another scenario than the one asked for",
                where="--versus",
            )
        return [base, other], Alternatives.of(base.name, ((other.name, 0.5),))
