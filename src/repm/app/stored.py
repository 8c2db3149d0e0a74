"""Commands that read stored runs rather than make one: `compare` and `report`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from repm.app.requests import CompareRequest, ReportRequest


@dataclass(frozen=True)
class Compared:
    """`repm compare`'s outcome: the JSON object, the year, the table (name, unit) × runs and
    differences, the runs read, and the HTML chart's path if one was written."""

    payload: dict
    year: int
    table: object  # pandas DataFrame
    runs: list = field(default_factory=list)  # repm.store.RunData
    html: Path | None = None


def compare(req: CompareRequest) -> Compared:
    from repm.reports.compare import compare_table, payload, write_html
    from repm.results.store import load_run

    runs = [load_run(r) for r in req.run_ids]
    year, table = compare_table(runs, req.year)
    html = write_html(runs, year, table, req.html) if req.html is not None else None
    return Compared(payload(runs, year, table), year, table, runs, html)


def report(req: ReportRequest, progress=None) -> Path:
    """Write the run's self-contained HTML report; returns its path. When no sensitivity run of
    the run's scenario is stored, a small one (`req.sensitivity_samples` base samples; 0: none)
    is computed and stored first, and the report's "What this answer hangs on" says so."""
    from repm.reports.hangs.section import default_request, has_sensitivity
    from repm.reports.report import pick_year, report_target, write_report
    from repm.results.store import load_run

    run = load_run(req.run_id)
    report_target(run, req.out)  # a bad --out or --year fails before any work
    pick_year(run, req.year)
    computed = None
    if req.sensitivity_samples and not has_sensitivity(run):
        from repm.app.uncertainty import sensitivity

        computed = sensitivity(default_request(run, req.sensitivity_samples), progress).run_id
    return write_report(run, req.out, req.year, computed)
