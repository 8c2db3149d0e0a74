"""The planning LP solved again and again with the build-out fixed (`repm voi plan`).

`repm voi plan` values every candidate build-out in every parameter sample: the planner's least
cost with that build-out fixed. Solving each through `linopy.Model.solve` rebuilds the solver's
model and writes every variable's solution and every constraint's dual back into xarray (~0.2 s
a solve, ~90 % of it the write-back), when only the objective is wanted. Here the LP goes to
HiGHS once (linopy's `Solver.from_model`, the direct API `Model.solve` uses, with the same
options), and each option changes the bounds of the `build` columns and runs again from a
cleared solver state, so an option's cost does not depend on which options were solved before
it (the same numbers as a fresh model with those bounds: tests/test_voi_plan.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np

from repm.analyses.optimize.solve import HIGHS_OPTIONS, quiet_stdout


@dataclass
class FixedBuild:
    """One planning LP in HiGHS: `free()` solves it as built, `at(build)` with the build-out
    (t/yr added by year) fixed, each returning the objective (crore INR; nan when not optimal)."""

    solver: Any  # linopy's HiGHS Solver, its model let go (HiGHS holds the LP)
    scaling: float  # the objective's scaling in the linopy model
    cols: np.ndarray  # HiGHS columns of the `build` variable, by year
    labels: np.ndarray  # the `build` variable's linopy labels, by year
    lower: np.ndarray  # its bounds as built
    upper: np.ndarray

    @classmethod
    def of(cls, mdl: linopy.Model) -> FixedBuild:
        from linopy import solvers

        var = mdl.variables["build"]
        labels = np.asarray(var.labels.values).ravel()
        with quiet_stdout():
            solver = solvers.Solver.from_name(
                "highs", model=mdl, io_api="direct", options=dict(HIGHS_OPTIONS),
                explicit_coordinate_names=False, set_names=None, log_fn=None,
            )  # fmt: skip
        if not np.all(np.asarray(var.solver_scaling.values) == 1.0):  # bounds would need it
            raise ValueError("the build variable is scaled in the solver; expected no scaling")
        cols = np.asarray(mdl.variables.label_index.label_to_pos[labels], dtype=np.int32)
        lower = np.asarray(var.lower.values, dtype=float).ravel().copy()
        upper = np.asarray(var.upper.values, dtype=float).ravel().copy()
        scaling = float(mdl.objective.scaling)
        # the Solver keeps HiGHS's copy of the LP and the label maps it reads solutions by,
        # not the linopy model (xarray, several times HiGHS's size)
        solver.model = None
        return cls(solver, scaling, cols, labels, lower, upper)

    def _run(self) -> tuple[float, np.ndarray | None]:
        with quiet_stdout():
            self.solver.solver_model.clearSolver()  # no warm start: order-free answers
            result = self.solver.solve()
        if result.status.termination_condition.value != "optimal":
            return math.nan, None
        objective = float(result.solution.objective) / self.scaling
        return objective, np.asarray(result.solution.primal)[self.labels]

    @property
    def nbytes(self) -> int:
        """About what this LP holds in memory: ~500 bytes per nonzero of HiGHS's matrix
        (measured: 0.6 MB without shock scenarios, 12 MB with 20, 62 MB with 100)."""
        return 500 * int(self.solver.solver_model.getNumNz())

    def free(self) -> tuple[float, np.ndarray | None]:
        """The LP as built: (objective, build-out by year), or (nan, None) when not optimal."""
        self._bounds(self.lower, self.upper)
        return self._run()

    def at(self, build) -> float:
        """The objective with the build-out fixed at `build` (capped at the LP's own upper
        bounds, as a year that cannot build adds nothing)."""
        b = np.minimum(np.asarray(build, dtype=float), self.upper)
        self._bounds(b, b)
        return self._run()[0]

    def _bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        h = self.solver.solver_model
        h.changeColsBounds(len(self.cols), self.cols, lower, upper)
