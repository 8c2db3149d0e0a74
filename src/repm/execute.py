"""The former home of `run`, `risk` and `finance` as functions; kept so older imports work.

New code builds a request and calls `repm.app` (`repm.app.run(RunRequest(...))`); these take a
loaded scenario and its `--set` strings as before and return the same `Outcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repm.app.commands import Outcome
from repm.app.requests import STEPS, check_choice, check_draws, check_out, check_seed
from repm.scenario.load import LoadedScenario

Executed = Outcome
__all__ = ["STEPS", "Executed", "check_options", "execute_finance", "execute_risk", "execute_run"]


def check_options(
    *, step: str = "monthly", draws: int = 1, seed: int = 0, out: Path | None = None
) -> None:
    """The checks that need no scenario, made before anything slow is imported."""
    check_choice(step, STEPS, "--step")
    check_out(out)
    check_draws(draws)
    check_seed(seed)


def execute_run(
    loaded: LoadedScenario,
    overrides: list[str],
    *,
    step: str = "monthly",
    out: Path | None = None,
    plan_file: Path | None = None,
) -> Outcome:
    from repm.app import RunRequest, run

    return run(RunRequest(scenario=loaded, sets=overrides, step=step, out=out, plan_file=plan_file))


def execute_risk(
    loaded: LoadedScenario,
    overrides: list[str],
    *,
    draws: int,
    seed: int = 0,
    chunk: int = 2_000,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    out: Path | None = None,
    plan_file: Path | None = None,
) -> Outcome:
    from repm.app import RiskRequest, risk

    req = RiskRequest(
        scenario=loaded, sets=overrides, draws=draws, seed=seed, chunk=chunk, scheduler=scheduler,
        workers=workers, out=out, plan_file=plan_file,
    )  # fmt: skip
    return risk(req, progress)


def execute_finance(loaded: LoadedScenario, overrides: list[str], **options) -> Outcome:
    from repm.app import FinanceRequest, finance

    return finance(FinanceRequest(scenario=loaded, sets=overrides, **options))
