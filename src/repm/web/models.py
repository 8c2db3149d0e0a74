"""The dashboard API's request bodies (pydantic: a bad field is a 422 naming it) and its jobs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from repm.limits import MAX_SEED

MAX_YAML_BYTES = 256 * 1024  # a scenario is ~10 KB; a quarter megabyte is generous
MAX_DRAWS = 100_000  # the CLI goes further; a shared dashboard keeps one user's run short
MAX_SCENARIOS = 200  # plan: shock scenarios in one LP


Kind = Literal["run", "risk", "stockpile", "plan", "finance", "sensitivity", "uncertainty", "voi"]
MAX_PARAMETER_SAMPLES = 4_096  # sensitivity base samples, uncertainty draws (~0.3 s each), voi
VOI_OWN = ("unit", "service_level", "draws", "sizes", "scenarios", "cvar")  # voi: each decision's options


class RunRequest(BaseModel):
    """A command to run: a shipped scenario by name, or scenario YAML text; overrides as `--set`
    paths; the options of the command `kind` (others are ignored)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str | None = Field(None, description="shipped scenario name (see GET /api/scenarios)")
    yaml: str | None = Field(None, description="scenario YAML text (may `extends:` a shipped one)")
    overrides: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description="field path → value, as `--set PATH=VALUE`, e.g. {'supply.units.0.capacity': 800}",
    )
    kind: Kind = Field(
        "run",
        description="run: one path; risk: Monte Carlo; stockpile: size a stockpile for a service "
        "level; plan: least-cost build-out; finance: the scheme units' NPVs and outlay; "
        "sensitivity: what an answer hangs on; uncertainty: parameter fans; voi: a decision under "
        "parameter uncertainty and the value of information (EVPI, EVPPI)",
    )
    draws: int = Field(
        1_000,
        ge=1,
        le=MAX_DRAWS,
        description="Monte Carlo draws (kinds risk, stockpile); shock draws per sample for the "
        "expected unmet demand (kind uncertainty, only when given); shock draws per evaluation "
        "(kind voi, decision stockpile, default 800, only when given)",
    )
    seed: int = Field(
        0, ge=0, le=MAX_SEED,
        description="random seed (kinds risk, stockpile, plan, finance, sensitivity, uncertainty, "
        "voi)",
    )  # fmt: skip
    step: Literal["monthly", "yearly"] = "monthly"
    service_level: float = Field(
        0.95, gt=0, lt=1,
        description="required P(no shortage over the horizon) (kind stockpile; kind voi, "
        "decision stockpile, only when given)",
    )  # fmt: skip
    sizes: list[float] | None = Field(
        None, min_length=2, max_length=12,
        description="the options: multiples (≥ 0; 0 is none) of the stockpile sized at central "
        "values, valued in every sample, instead of a stockpile sized in each (kind voi, "
        "decision stockpile, only when given; as `--sizes 0,0.5,1,2`)",
    )  # fmt: skip
    tolerance: float = Field(
        0.0, ge=0, le=1e9,
        description="t a year of unmet demand that does not count as a shortage (kind stockpile)",
    )  # fmt: skip
    scenarios: int = Field(
        0, ge=0, le=MAX_SCENARIOS,
        description="shock scenarios in the LP; 0: none (kind plan; kind voi, decision plan, only "
        "when given)",
    )  # fmt: skip
    cvar: float = Field(
        0.0, ge=0,
        description="weight of the CVaR term (kind plan; kind voi, decision plan, only when given)",
    )  # fmt: skip
    units: bool = Field(False, description="build whole scheme units, a MILP (kind plan)")
    cvar_alpha: float = Field(0.95, gt=0, lt=1, description="CVaR level (kind plan)")
    unit: float | None = Field(
        None, gt=0,
        description="value one unit of this capacity, t/yr (kind finance; kind voi, decision "
        "unit: a hypothetical unit instead of the scenario's first scheme unit)",
    )  # fmt: skip
    breakeven: Literal["sli", "price"] | None = Field(
        None, description="solve NPV = 0 for the SLI bid or the price (kind finance)"
    )
    price: Literal["grade", "china", "reference"] = Field(
        "grade",
        description="revenue price: each grade's price, China's landed, or the scheme's reference (kind finance)",
    )
    currency: Literal["INR", "USD"] = Field(
        "INR", description="report in crore INR or million USD (kind finance)"
    )
    sensitivity: bool = Field(False, description="NPV tornado over ±20 % levers (kind finance)")
    montecarlo: int = Field(
        0, ge=0, le=MAX_DRAWS, description="NPV over this many price paths (kind finance)"
    )
    output: str = Field(
        "unit_npv",
        description="what to rank the facts for: unit_npv, expected_unmet, p_shortage, "
        "cvar95_unmet or an indicator of `repm run` with year (kind sensitivity)",
    )
    year: int | None = Field(None, description="the output's year (kind sensitivity)")
    method: Literal["sobol", "morris"] = Field("sobol", description="(kind sensitivity)")
    samples: int | None = Field(
        None, ge=2, le=MAX_PARAMETER_SAMPLES,
        description="base samples (kind sensitivity, default 8; Sobol: a power of 2) or draws of "
        "every uncertain fact (kind uncertainty, default 20; kind voi, at least 4, default by "
        "decision: unit 100, stockpile 16, plan 40)",
    )  # fmt: skip
    group: str | None = Field(
        None,
        description="comma-separated groups to vary, as `--group` (kind sensitivity); default: "
        "every topic; extra EVPPI rows beside every fact and topic (kind voi)",
    )
    decision: str = Field(
        "unit",
        description="the decision to value (kind voi): unit (build a scheme unit or not), "
        "stockpile (how much to hold) or plan (how much capacity to build)",
    )
    by_fact: bool = Field(False, description="rank each fact, not each group (kind sensitivity)")
    alternatives: dict[str, float] | None = Field(
        None,
        description="shipped scenarios weighed with this one, name → weight (kinds uncertainty, "
        "sensitivity, voi; as `--alternative NAME=WEIGHT`: this one keeps the rest)",
    )

    versus: str | None = Field(
        None,
        description="a shipped scenario run on the same samples of the facts (kind uncertainty; "
        "as `--versus NAME`): each answer's difference sample by sample",
    )

    @field_validator("alternatives")
    @classmethod
    def _shipped_alternatives(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        from repm.scenario.load import shipped_names

        unknown = sorted(set(v or ()) - set(shipped_names()))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}; expected shipped scenario names")
        return v

    @field_validator("versus")
    @classmethod
    def _shipped_versus(cls, v: str | None) -> str | None:
        from repm.scenario.load import shipped_names

        if v is not None and v not in shipped_names():
            raise ValueError(f"{v}; expected a shipped scenario name")
        return v

    def _alternatives(self) -> tuple:
        return tuple((self.alternatives or {}).items())
    wait: bool = Field(
        True, description="true: answer with the run's JSON; false: answer 202 with a job id"
    )

    def command(self, loaded, sets: list[str]):
        """The `repm.app` request this body stands for."""
        from repm import app as A

        common = {"scenario": loaded, "sets": sets}
        if self.kind == "run":
            return A.RunRequest(**common, step=self.step)
        if self.kind == "risk":
            # ~10 chunks so progress moves; results do not depend on the chunking
            chunk = max(50, -(-self.draws // 10))
            return A.RiskRequest(**common, draws=self.draws, seed=self.seed, chunk=chunk, workers=1)
        if self.kind == "stockpile":
            return A.StockpileRequest(
                **common, draws=self.draws, seed=self.seed, service_level=self.service_level,
                tolerance=self.tolerance,
            )  # fmt: skip
        if self.kind == "plan":
            return A.PlanRequest(
                **common, scenarios=self.scenarios, seed=self.seed, cvar=self.cvar,
                cvar_alpha=self.cvar_alpha, units=self.units,
            )  # fmt: skip
        if self.kind == "sensitivity":
            return A.SensitivityRequest(
                **common, output=self.output, year=self.year, method=self.method,
                samples=self.samples or 8, seed=self.seed, by_fact=self.by_fact, step=self.step,
                groups=tuple(self.group.split(",")) if self.group else (), draws=self.draws,
                alternatives=self._alternatives(),
            )  # fmt: skip
        if self.kind == "voi":
            return self._voi(common)
        if self.kind == "uncertainty":
            draws = self.draws if "draws" in self.model_fields_set else 0
            return A.UncertaintyRequest(
                **common, samples=self.samples or 20, seed=self.seed, step=self.step, draws=draws,
                alternatives=self._alternatives(), versus=self.versus,
            )
        return A.FinanceRequest(
            **common, unit=self.unit, breakeven=self.breakeven, price=self.price,
            currency=self.currency, sensitivity=self.sensitivity, montecarlo=self.montecarlo,
            seed=self.seed,
        )  # fmt: skip

    def _voi(self, common: dict):
        """`repm voi DECISION`: a decision's own options only when given, as the CLI's flags are
        (a default for another decision is not given; an option given for the wrong decision is
        the CLI's one-line error)."""
        from repm.app import VoiRequest
        from repm.errors import UserError

        own = {k: getattr(self, k) for k in VOI_OWN if k in self.model_fields_set}
        try:
            return VoiRequest(
                **common, decision=self.decision, samples=self.samples, seed=self.seed,
                groups=tuple(self.group.split(",")) if self.group else (), **own,
                alternatives=self._alternatives(),
            )  # fmt: skip
        except UserError as exc:
            if exc.where == "DECISION":  # the CLI's argument is the API's field
                raise UserError(exc.message, where="decision") from None
            raise


class CompareBody(BaseModel):
    """Stored runs to compare (as `repm compare`)."""

    model_config = ConfigDict(extra="forbid")

    run_ids: list[str] = Field(..., min_length=2, description="two or more run ids")
    year: int | None = Field(None, description="year of the table (default: the last shared)")


class ScenarioText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str


@dataclass
class Job:
    id: str
    kind: str
    total: int
    status: str = "queued"  # queued → running → done | failed
    done: int = 0
    result: dict | None = None
    error: str | None = None
    code: int = 200
    created: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def view(self) -> dict:
        out = {"job_id": self.id, "kind": self.kind, "status": self.status, "done": self.done,
               "total": self.total, "progress": self.done / self.total if self.total else 0.0}  # fmt: skip
        if self.result is not None:
            out["run_id"] = self.result.get("run_id")
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out
