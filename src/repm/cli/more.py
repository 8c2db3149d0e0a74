"""The commands that look things up or read stored runs: facts, explain, scenarios, validate,
report, compare, serve (registered on the same typer app as run, risk, …)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from repm.cli import DEFAULT, JsonOpt, ScenarioArg, SetOpt, _emit, app, render
from repm.cli.render import out
from repm.errors import UserError


@app.command()
def facts(
    conflicts: Annotated[
        bool, typer.Option("--conflicts", help="List groups of facts whose sources disagree.")
    ] = False,
    grep: Annotated[
        str | None,
        typer.Option("--grep", help="Only facts whose id or note contains this text."),
    ] = None,  # noqa: UP045
    json_out: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """The cited fact table: value, its uncertainty range, unit, year, grade and sources."""
    from repm.analyses.uncertainty import fact_ranges
    from repm.model.facts import load_facts

    table_ = load_facts()
    spreads = fact_ranges(table_)
    if conflicts:
        groups = table_.conflicts()
        if json_out:
            payload = {g: [_fact_json(f, table_, spreads) for f in fs] for g, fs in groups.items()}
            sys.stdout.write(json.dumps({"command": "facts", "conflicts": payload}) + "\n")
            return
        for g, fs in groups.items():
            t = Table(title=f"conflict: {g}", show_lines=False, header_style="bold")
            for col in ("", "id", "value", "unit", "year", "grade", "source"):
                t.add_column(col)
            for f in fs:
                t.add_row(
                    "[green]baseline[/]" if f.baseline else "", f.id, f.shown(), f.unit, str(f.year or ""),
                    f.grade, "; ".join(table_.sources[s].cite() for s in f.sources),
                )  # fmt: skip
            out.print(t)
            chosen = next(f for f in fs if f.baseline)
            out.print(f"  why the baseline uses {chosen.id}: {chosen.note}\n")
        return
    rows = [
        f
        for f in table_.facts.values()
        if not grep or grep.lower() in (f.id + " " + f.note).lower()
    ]
    if json_out:
        sys.stdout.write(
            json.dumps(
                {"command": "facts", "facts": [_fact_json(f, table_, spreads) for f in rows]}
            )
            + "\n"
        )
        return
    t = Table(title=f"repm facts ({len(rows)} of {len(table_.facts)})", header_style="bold")
    for col in ("id", "value", "uncertainty", "unit", "year", "grade", "sources"):
        t.add_column(col, overflow="fold")
    for f in rows:
        t.add_row(
            f.id, f.shown(), spreads[f.id].shown(), f.unit, str(f.year or ""), f.grade,
            ", ".join(f.sources) or "—",
        )  # fmt: skip
    out.print(t)
    render.note(
        "uncertainty: the range parameter samples draw from (docs/uncertainty.md): the sources' "
        "range, else the grade's (A ±5 %, B ±15 %, C ±30 %, assumption ±50 %), widened by a "
        "conflict group; 'from lineage' moves with the facts it is derived from"
    )


def _fact_json(f, table_, spreads) -> dict:
    d = f.model_dump(exclude_none=True)
    d["central"] = f.central
    d["uncertainty"] = spreads[f.id].as_json()
    d["citations"] = [table_.sources[s].cite() for s in f.sources]
    return d


@app.command()
def explain(
    indicator: Annotated[str, typer.Argument(help="Indicator name, e.g. magnet_demand.")],
    year: Annotated[int, typer.Argument(help="Year within the horizon.")],
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Scenario name or file.")
    ] = DEFAULT,
    set_: SetOpt = None,
) -> None:
    """How a number was derived, back to its facts and sources."""
    from repm.app import explain as do

    for line in do(indicator, year, scenario=scenario, sets=set_ or ()).lines:
        out.print(render.safe(line), highlight=False, markup=False)


@app.command()
def scenarios(
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the scenario JSON schema.")
    ] = False,
) -> None:
    """List the shipped scenarios (`repm validate FILE` checks your own)."""
    from repm.scenario import Scenario, load_scenario, shipped_names

    if schema:
        sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=1) + "\n")
        return
    t = Table(title="shipped scenarios", header_style="bold")
    t.add_column("name")
    t.add_column("description", overflow="fold")
    for n in shipped_names():
        t.add_row(n, load_scenario(n).scenario.description)
    out.print(t)


@app.command()
def validate(
    scenario: ScenarioArg,
    set_: SetOpt = None,
) -> None:
    """Check a scenario file (schema, units, fact ids, compile) without running it."""
    from repm.app.scale import check_scale
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    loaded = load_scenario(scenario, set_ or [])
    try:
        check_scale(compile_chain(loaded.scenario))
    except UserError as exc:
        raise UserError(str(exc), where=loaded.source) from None
    render.note(
        f"{loaded.source}: valid ({len(loaded.provenance)} values from facts, hash {loaded.hash})"
    )


@app.command()
def runs(
    limit: Annotated[
        int, typer.Option("--limit", help="How many runs to list, newest first.")
    ] = 20,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Record complete run folders missing from the catalog, drop rows whose folder "
            "is gone, remove temporary folders of writers that were killed.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """The stored runs, newest first, and a check of the store (strays an interrupted write left)."""
    from repm.app.checks import check_count
    from repm.results.store import check_store, list_runs, store_root

    check_count(limit, "--limit", low=1, high=10_000)
    found = check_store(repair=repair)
    rows = list_runs(limit)
    if json_out:
        listed = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows
        ]
        return _emit({"command": "runs", "store": str(store_root()), "runs": listed,
                      "check": found.as_dict()})  # fmt: skip
    t = Table(title=f"stored runs in {escape(str(store_root()))}", header_style="bold")
    for col in ("run id", "command", "scenario", "seed", "draws", "created (UTC)"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(*(render.plain(x) for x in (
            r["run_id"], r["command"], r["scenario"], "" if r["seed"] is None else r["seed"],
            r["draws"], r["created_at"].isoformat(timespec="seconds") if r["created_at"] else "",
        )))  # fmt: skip
    out.print(t)
    for what in found.repaired:
        render.note(f"repaired: {what}")
    left = found.problems if not repair else len(found.damaged)
    if left:
        parts = [
            (found.temporary, "temporary folder(s) of killed writers"),
            (found.pending, "write(s) stopped between rename and commit"),
            (found.unrecorded, "complete run folder(s) without a catalog row"),
            (found.missing, "catalog row(s) whose folder is gone"),
            (found.damaged, "folder(s) in runs/ that are not complete runs (left as they are)"),
        ]
        for names, what in parts:
            if names and not (repair and names is not found.damaged):
                render.note(f"{len(names)} {what}: {', '.join(names[:5])}"
                            + (" …" if len(names) > 5 else ""))  # fmt: skip
        if not repair and found.problems > len(found.damaged):
            render.note("`repm runs --repair` records or removes them")
    elif not found.repaired:
        render.note("store checked: every run folder has its catalog row and every row its folder")


@app.command()
def report(
    run_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="Run id (default: the newest run in the store)."),
    ] = None,
    out_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", help="HTML file to write (default: ./report-RUN_ID.html)."),
    ] = None,
    year: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--year", help="Year of the flow Sankey (default: the last)."),
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
    sensitivity_samples: Annotated[
        int,
        typer.Option(
            "--sensitivity-samples",
            help="When the scenario has no stored sensitivity run: compute and store a small "
            "Sobol run of this many base samples (a power of 2) for 'What this answer hangs "
            "on'; 0: none.",
        ),
    ] = 4,
) -> None:
    """One stored run as one self-contained HTML file (charts work offline); prints its path."""
    from repm.app import ReportRequest
    from repm.app import report as do

    req = ReportRequest(
        run_id=run_id, out=out_file, year=year, sensitivity_samples=sensitivity_samples
    )
    prog, advance = render.progress(0, "evaluations")
    with prog:
        path = do(req, advance)
    render.note(str(path.resolve()))
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


@app.command()
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    year: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--year", help="Year of the table (default: the last shared)."),
    ] = None,
    html_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--html", help="Also write an HTML diff chart here."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Stored runs side by side: total indicators in a year and their differences from run 1."""
    from repm.app import CompareRequest
    from repm.app import compare as do

    done = do(CompareRequest(run_ids=run_ids, year=year, html=html_file))
    if json_out:
        return _emit(done.payload)
    render.compare(done)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8050,
    token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--token",
            help="Require this token (default: none on 127.0.0.1, a new one printed otherwise).",
        ),
    ] = None,
    allow_host: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--allow-host", help="Also answer requests for this Host name. Repeatable."),
    ] = None,
) -> None:
    """The dashboard and its JSON API (OpenAPI at /docs) on http://HOST:PORT."""
    from urllib.parse import quote

    from repm.web.app import access, check_address
    from repm.web.app import serve as run_server

    if token is not None and len(token) < 16:
        from repm.errors import UserError

        raise UserError(
            f"{len(token)} characters; expected a token of at least 16", where="--token"
        )
    check_address(host, port)
    allowed, token = access(host, token, tuple(allow_host or ()))
    import socket

    shown = host if host not in ("", "0.0.0.0", "::") else socket.gethostname()
    url = f"http://{shown}:{port}" + (f"/?token={quote(token)}" if token else "")
    if host in ("", "0.0.0.0", "::"):
        render.note(f"listening on every network interface ({host or 'all'}): anyone who can reach "
                    "this machine can reach the dashboard, with the token below")  # fmt: skip
    render.note(f"repm dashboard on {url}  (API: /api, OpenAPI: /openapi.json)")
    if token:
        render.note("API clients send the token as `Authorization: Bearer TOKEN`")
    run_server(host, port, token=token, allowed_hosts=allowed)
