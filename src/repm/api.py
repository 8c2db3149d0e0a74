"""The Python API for analysts in notebooks: `import repm`, then `repm.run(...)`, `repm.risk(...)`.

Each function builds the same validated request the CLI builds, calls the same `repm.app`
command, and returns a `Result`: the xarray Dataset (`.dataset`), the pandas indicator table
(`.indicators`), the `--json` object (`.payload`) and the stored run (`.run_id`, `.path`).
Numbers are the CLI's, bit for bit. See docs/api.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repm import app as A

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from repm.scenario.load import LoadedScenario

Overrides = dict[str, Any] | list[str] | None
BASELINE = "india-baseline"
__all__ = ["Result", "compare", "explain", "finance", "load", "open_run", "plan", "report", "risk",
           "run", "runs", "sensitivity", "stockpile", "uncertainty", "voi"]  # fmt: skip


@dataclass(frozen=True, repr=False)
class Result:
    """What a command answered.

    dataset     the results as labelled arrays (year, material, origin, sector, … as dimensions)
    indicators  the indicator table: year, name, value, unit and dimension columns (sector, …);
                rows whose dimension columns are all empty are totals
    payload     the object `repm COMMAND --json` prints
    run_id      the stored run's id (None with store=False); path: its folder
    details     what the command returns beyond the payload (e.g. a plan's solver result)
    """

    command: str
    scenario: str
    dataset: xr.Dataset
    indicators: pd.DataFrame
    payload: dict
    run_id: str | None = None
    path: Path | None = None
    details: dict = field(default_factory=dict)

    @classmethod
    def _of(cls, done: A.Outcome) -> Result:
        res = done.results
        return cls(
            command=done.payload["command"], scenario=done.payload["scenario"], dataset=res.data,
            indicators=res.indicators.reset_index(drop=True), payload=done.payload,
            run_id=done.run_id, path=done.path, details=dict(done.tables),
        )  # fmt: skip

    def totals(self) -> pd.DataFrame:
        """year × indicator: the rows without a dimension key, one column per indicator."""
        df = self.indicators
        dims = [c for c in df.columns if c not in ("year", "name", "value", "unit")]
        mask = df[dims].isna().all(axis=1) if dims else slice(None)
        return df[mask].pivot_table(index="year", columns="name", values="value", sort=False)

    def value(self, name: str, year: int, **dims: str) -> float:
        """One number: indicator `name` in `year` (a total unless dimensions are given)."""
        df = self.indicators
        mask = (df["name"] == name) & (df["year"] == year)
        for k in (c for c in df.columns if c not in ("year", "name", "value", "unit")):
            mask &= df[k] == dims[k] if k in dims else df[k].isna()
        rows = df[mask]
        if len(rows) != 1:
            raise KeyError(f"no single indicator {name!r} in {year} with {dims or 'no dimensions'}")
        return float(rows["value"].iloc[0])

    def __repr__(self) -> str:
        years = sorted(self.indicators["year"].unique()) if len(self.indicators) else []
        span = f"{years[0]}–{years[-1]}" if years else "no years"
        where = f"run {self.run_id}" if self.run_id else "not stored"
        return (
            f"<repm {self.command} · {self.scenario} · {span} · "
            f"{self.indicators['name'].nunique()} indicators · {where}>"
        )


def load(scenario: str | Path = BASELINE, overrides: Overrides = None) -> LoadedScenario:
    """A scenario, validated: a shipped name or a YAML path, with `--set`-style overrides
    (`{"supply.units.0.capacity": 800}` or `["supply.units.0.capacity=800"]`). Pass the result
    to any command to run it without reading it again; `.scenario` is the validated model."""
    return A.Request(scenario=str(scenario), sets=overrides).load()


def _src(scenario) -> str | LoadedScenario:
    return str(scenario) if isinstance(scenario, Path) else scenario


def run(
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    step: str = "monthly",
    plan: str | Path | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """Simulate the scenario once, without shocks (`repm run`)."""
    req = A.RunRequest(
        scenario=_src(scenario), sets=overrides, step=step, out=out, store=store,
        plan_file=None if plan is None else Path(plan),
    )  # fmt: skip
    return Result._of(A.run(req))


def risk(
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    draws: int = 10_000,
    seed: int = 0,
    chunk: int = 2_000,
    scheduler: str | None = None,
    workers: int = 2,
    plan: str | Path | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """Monte Carlo of export controls and outages (`repm risk`)."""
    req = A.RiskRequest(
        scenario=_src(scenario), sets=overrides, draws=draws, seed=seed, chunk=chunk,
        scheduler=scheduler, workers=workers, out=out, store=store,
        plan_file=None if plan is None else Path(plan),
    )  # fmt: skip
    return Result._of(A.risk(req))


def stockpile(
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    service_level: float = 0.95,
    draws: int = 2_000,
    seed: int = 0,
    chunk: int = 2_000,
    scheduler: str | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """The least-holding-cost stockpile for a service level (`repm stockpile`); the sized
    stockpile is `.dataset["stockpile_size"]` and `.payload["stockpile"]`."""
    req = A.StockpileRequest(
        scenario=_src(scenario), sets=overrides, service_level=service_level, draws=draws,
        seed=seed, chunk=chunk, scheduler=scheduler, out=out, store=store,
    )  # fmt: skip
    return Result._of(A.stockpile(req))


def plan(
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    scenarios: int = 0,
    seed: int = 0,
    cvar: float = 0.0,
    cvar_alpha: float = 0.95,
    units: bool = False,
    save_plan: str | Path | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """Least-cost build-out, sourcing and stockpile (`repm plan`); `.details["plan"]` is the
    solver's result, `.payload["plan"]` what `--save-plan` writes."""
    req = A.PlanRequest(
        scenario=_src(scenario), sets=overrides, scenarios=scenarios, seed=seed, cvar=cvar,
        cvar_alpha=cvar_alpha, units=units, out=out, store=store,
        save_plan=None if save_plan is None else Path(save_plan),
    )  # fmt: skip
    return Result._of(A.plan(req))


def finance(
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    unit: float | None = None,
    sli_bid: str | None = None,
    breakeven: str | None = None,
    sensitivity: bool = False,
    montecarlo: int = 0,
    seed: int = 0,
    price: str = "grade",
    currency: str = "INR",
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """Unit NPVs under the scheme and the treasury's outlay (`repm finance`); the units table is
    `.payload["units"]`."""
    req = A.FinanceRequest(
        scenario=_src(scenario), sets=overrides, unit=unit, sli_bid=sli_bid, breakeven=breakeven,
        sensitivity=sensitivity, montecarlo=montecarlo, seed=seed, price=price,
        currency=currency, out=out, store=store,
    )  # fmt: skip
    return Result._of(A.finance(req))


def sensitivity(
    output: str = "unit_npv",
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    year: int | None = None,
    method: str = "sobol",
    samples: int = 64,
    groups: list[str] | tuple[str, ...] = (),
    by_fact: bool = False,
    seed: int = 0,
    step: str = "monthly",
    draws: int = 200,
    alternatives: dict[str, float] | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """Which facts drive an output (`repm sensitivity`): Sobol indices with confidence intervals
    (or Morris), in `.payload["indices"]`; `draws`: shock draws per sample for the risk outputs
    (expected_unmet, p_shortage, cvar95_unmet); `alternatives`: other scenarios weighed with
    this one, name → weight (the choice ranked as the factor `scenario`); docs/uncertainty.md."""
    req = A.SensitivityRequest(
        scenario=_src(scenario), sets=overrides, output=output, year=year, method=method,
        samples=samples, groups=tuple(groups), by_fact=by_fact, seed=seed, step=step,
        draws=draws, alternatives=alternatives or (), out=out, store=store,
    )  # fmt: skip
    return Result._of(A.sensitivity(req))


def uncertainty(
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    samples: int = 200,
    seed: int = 0,
    step: str = "monthly",
    draws: int = 0,
    alternatives: dict[str, float] | None = None,
    versus: str | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """P5/P50/P95 and mean of the headline indicators by year over draws of every uncertain fact
    (`repm uncertainty`): indicator rows carry a `stat` column; `draws`: shock draws per sample
    (the expected unmet demand with the shock model on); `alternatives`: other scenarios weighed
    with this one, name → weight (`.payload["structure"]`: what the choice explains); `versus`:
    another scenario run on the same samples (`.payload["versus"]`: each answer's difference
    sample by sample and how often it is higher)."""
    req = A.UncertaintyRequest(
        scenario=_src(scenario), sets=overrides, samples=samples, seed=seed, step=step,
        draws=draws, alternatives=alternatives or (), versus=versus, out=out, store=store,
    )  # fmt: skip
    return Result._of(A.uncertainty(req))


def voi(
    decision: str = "unit",
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
    *,
    samples: int | None = None,
    seed: int = 0,
    unit: float | None = None,
    service_level: float | None = None,
    draws: int | None = None,
    scenarios: int | None = None,
    cvar: float | None = None,
    groups: list[str] | tuple[str, ...] = (),
    alternatives: dict[str, float] | None = None,
    sizes: list[float] | tuple[float, ...] | None = None,
    out: str | Path | None = None,
    store: bool = True,
) -> Result:
    """Decisions under parameter uncertainty (`repm voi DECISION`: unit, stockpile or plan): how
    often the decision changes across samples, EVPI and EVPPI per fact and topic in crore INR
    (`.payload["evpi"]`, `.payload["evppi"]`; flagged rows are the research to do next);
    `.details["nb"]` is the samples × options net-benefit matrix; `alternatives`: other scenarios
    weighed with this one, name → weight (their EVPPI: the row `scenario`); `sizes` (stockpile):
    the options are these multiples of the stockpile sized at central values. docs/uncertainty.md."""
    from repm.app.voi import VoiRequest
    from repm.app.voi import voi as do

    req = VoiRequest(
        scenario=_src(scenario), sets=overrides, decision=decision, samples=samples, seed=seed,
        unit=unit, service_level=service_level, draws=draws, scenarios=scenarios, cvar=cvar,
        groups=tuple(groups), alternatives=alternatives or (), sizes=sizes, out=out, store=store,
    )  # fmt: skip
    return Result._of(do(req))


@dataclass(frozen=True)
class Explained:
    """`repm explain`'s lines; printing it prints them."""

    lines: list[str]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the text, not a dataclass repr
        p.text(str(self))


def explain(
    indicator: str,
    year: int,
    scenario: str | Path | LoadedScenario = BASELINE,
    overrides: Overrides = None,
) -> Explained:
    """How one number was derived, back to its facts and sources (`repm explain`)."""
    return Explained(
        list(A.explain(indicator, year, scenario=_src(scenario), sets=overrides).lines)
    )


def runs(limit: int = 50) -> pd.DataFrame:
    """The run store's catalog, newest first."""
    import pandas as pd

    from repm.results.store import list_runs

    return pd.DataFrame(list_runs(limit))


def open_run(run_id: str | None = None) -> Result:
    """A stored run (the newest when run_id is None) read back as a Result."""
    from repm.results.store import load_run

    r = load_run(run_id)
    return Result(
        command=r.meta.get("command"), scenario=r.meta.get("scenario"), dataset=r.data,
        indicators=r.indicators, payload={}, run_id=r.run_id, path=r.path,
        details={"meta": r.meta, "plan": r.plan},
    )  # fmt: skip


def compare(*run_ids: str, year: int | None = None, html: str | Path | None = None) -> A.Compared:
    """Stored runs side by side (`repm compare`): `.table` (indicator, unit) × runs and their
    differences from the first in `year` (default: the last all share), `.payload` the --json."""
    return A.compare(
        A.CompareRequest(run_ids=run_ids, year=year, html=None if html is None else Path(html))
    )


def report(
    run_id: str | None = None,
    out: str | Path | None = None,
    year: int | None = None,
    sensitivity_samples: int = 0,
) -> Path:
    """Write a stored run's self-contained HTML report (`repm report`); returns its path.
    `sensitivity_samples` > 0 (a power of 2; the CLI uses 4): when the scenario has no stored
    sensitivity run, compute and store a small one for "What this answer hangs on"."""
    return A.report(
        A.ReportRequest(
            run_id=run_id, out=None if out is None else Path(out), year=year,
            sensitivity_samples=sensitivity_samples,
        )
    )  # fmt: skip
