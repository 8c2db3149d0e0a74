"""The application layer: one function per command, a validated request in, an outcome out.

    checks.py    the checks options share (counts, draws, seeds, choices, paths), one line each
    requests.py  what each command is asked (frozen dataclasses, checked when made)
    scale.py     whether a compiled scenario is within what the model can represent
    commands.py  run, risk, stockpile, plan → Outcome (payload, results, stored run, tables)
    planfile.py  a plan saved by `repm plan --save-plan` and read by `--plan`
    finance.py   finance → Outcome
    uncertainty.py  sensitivity, uncertainty → Outcome (parameter uncertainty, issue 14)
    decisions.py the decisions voi values in every sample (unit, stockpile, plan): options and
                 their net benefit
    voi.py       voi → Outcome (decisions under uncertainty, the value of information)
    stored.py    compare, report: commands that read stored runs

The CLI (`repm.cli`), the dashboard (`repm.web.app`) and the Python API (`repm.api`) build
requests, call these, and only parse and render.
"""

from repm.app.commands import Outcome, explain, plan, risk, run, stockpile
from repm.app.finance import finance
from repm.app.requests import (
    CompareRequest,
    FinanceRequest,
    PlanRequest,
    ReportRequest,
    Request,
    RiskRequest,
    RunRequest,
    SensitivityRequest,
    StockpileRequest,
    UncertaintyRequest,
    override_args,
)
from repm.app.stored import Compared, compare, report
from repm.app.uncertainty import sensitivity, uncertainty
from repm.app.voi import VoiRequest, voi

__all__ = [
    "CompareRequest", "Compared", "FinanceRequest", "explain", "Outcome", "PlanRequest", "ReportRequest",
    "Request", "RiskRequest", "RunRequest", "StockpileRequest", "compare", "finance",
    "override_args", "plan", "report", "risk", "run", "stockpile",
    "SensitivityRequest", "UncertaintyRequest", "sensitivity", "uncertainty", "VoiRequest", "voi",
]  # fmt: skip
