"""The dashboard: a FastAPI app serving one static page and a JSON API scripts can use too.

FastAPI because the page is small and the API is the product: request bodies are validated by
pydantic models (a bad field is a 422 naming it), the OpenAPI schema is served at
/openapi.json for free, and the page needs nothing but plotly.js — served from the copy inside
the plotly package, so the dashboard works offline. Every command (run, risk, stockpile, plan,
finance, sensitivity, uncertainty, voi; compare over stored runs) goes through `repm.app`, the
same functions as the CLI's `--json`, on a small thread pool with job ids and progress, so a long
Monte Carlo does not block other users; every run lands in the same run store as CLI runs.
"""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import Future
from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from repm.app.requests import override_args
from repm.errors import UserError, fmt_value
from repm.web.guard import LOOPBACK_NAMES, FairQueue, Guard, QueueFull, scrub
from repm.web.models import MAX_YAML_BYTES, CompareBody, Job, RunRequest, ScenarioText
from repm.web.scenarios import TooLarge, levers, load

__all__ = ["MAX_YAML_BYTES", "check_address", "create_app", "levers", "override_args", "serve"]

MAX_BODY_BYTES = 2 * MAX_YAML_BYTES
WORKERS = 2
JOBS_KEPT = 200  # finished jobs kept for their status URL; waiting and running ones always are
MAX_WAITING = 16  # jobs waiting for a worker, all clients together (then 503)
PER_CLIENT = 4  # jobs waiting or running for one client (then 429)


class _TooBig(StarletteHTTPException):
    """Raised from inside the body's stream; an HTTP error so the app answers it as one (413)."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodyLimit:
    """Refuse a request body over `limit` bytes however it is sent: by its Content-Length before
    reading it, and by counting while it streams in (`Transfer-Encoding: chunked` has no length),
    so no more than `limit` bytes (plus one chunk) are ever held. Answers 413 in one line."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            shown = length.decode("latin-1")[:20]
            return await self._refuse(scope, receive, send, f"request body of {shown} bytes")
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooBig(
                        f"request body of more than {seen:,} bytes; expected at most {self.limit:,}"
                    )
            return message

        async def watched(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooBig as exc:  # raised where no handler answers it (outside a route)
            if started:
                raise
            await self._refuse(scope, receive, send, str(exc.detail).split(";")[0])

    async def _refuse(self, scope, receive, send, what: str) -> None:
        body = {"error": f"{what}; expected at most {self.limit:,}"}
        await JSONResponse(body, status_code=413, headers={"Connection": "close"})(
            scope, receive, send
        )


def _json(obj: dict) -> Response:
    """Serialised as the CLI's --json is (json.dumps), so the bytes match what it prints."""
    return Response(json.dumps(obj, default=float), media_type="application/json")


def create_app(
    *,
    allowed_hosts: set[str] | None = None,
    token: str | None = None,
    max_waiting: int = MAX_WAITING,
    per_client: int = PER_CLIENT,
    workers: int = WORKERS,
) -> FastAPI:
    """The dashboard and its API. Requests must name an allowed Host (default: this machine's
    loopback names) and, when `token` is set, carry it; at most `max_waiting` jobs wait, at most
    `per_client` per client, taken from the clients in turn."""
    app = FastAPI(
        title="repm dashboard API",
        version=__import__("repm").__version__,
        description="Run scenarios of India's NdFeB magnet supply chain and read stored runs. "
        "POST /api/run answers with the same JSON object as `repm run/risk/stockpile/plan/finance/"
        "sensitivity/uncertainty/voi --json`, POST /api/compare as `repm compare --json`.",
    )
    queue = FairQueue(workers, max_waiting, per_client)
    jobs: dict[str, Job] = {}
    jobs_lock = threading.Lock()
    static = resources.files("repm.web") / "static"

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"error": scrub(exc.for_api())}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": scrub(str(exc.detail))}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # one line naming the field, the value and what was expected, like the CLI
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        got = first.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {fmt_value(got)})"
        return JSONResponse({"error": f"{where}: {first['msg']}{shown}"}, status_code=422)

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, exc: TooLarge) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=413)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(Guard, allowed=allowed_hosts or set(LOOPBACK_NAMES), token=token)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="application/javascript")

    @app.get("/api/scenarios", summary="Shipped scenarios")
    def scenarios() -> list[dict]:
        from repm.scenario import load_scenario, shipped_names

        return [
            {"name": n, "description": load_scenario(n).scenario.description}
            for n in shipped_names()
        ]

    @app.get(
        "/api/sensitivity/outputs",
        summary="What `repm sensitivity` can rank the facts for: every output (name, unit, label; "
        "kind finance: no year; risk: with the shock model, draws per evaluation; run: an "
        "indicator of `repm run`, by year), the methods, the steps and the default groups",
    )
    def sensitivity_choices() -> dict:
        return sensitivity_outputs()

    @app.get("/api/scenarios/{name}", summary="A shipped scenario's lever values")
    async def scenario(name: str) -> dict:
        return levers(await run_in_threadpool(load, name, None, []))

    @app.post("/api/scenarios/check", summary="Validate uploaded YAML; answer its lever values")
    async def check(body: ScenarioText) -> dict:
        return levers(await run_in_threadpool(load, None, body.yaml, []))

    def _execute(job: Job, request) -> None:
        from repm import app as A

        job.status = "running"

        def advance(n: int) -> None:
            with job.lock:
                job.done += n

        try:
            with_progress = {A.RiskRequest: A.risk, A.StockpileRequest: A.stockpile,
                             A.SensitivityRequest: A.sensitivity,
                             A.UncertaintyRequest: A.uncertainty, A.VoiRequest: A.voi}  # fmt: skip
            if type(request) in with_progress:
                done = with_progress[type(request)](request, advance)
            else:
                done = {A.RunRequest: A.run, A.PlanRequest: A.plan, A.FinanceRequest: A.finance}[
                    type(request)
                ](request)
                job.done = 1
            job.result, job.status = done.payload, "done"
        except UserError as exc:
            job.error, job.code, job.status = scrub(exc.for_api()), 400, "failed"
        except Exception as exc:  # a bug: report it without a traceback in the page
            job.error, job.code, job.status = (
                scrub(f"internal error: {type(exc).__name__}: {exc}"),
                500,
                "failed",
            )

    @app.post(
        "/api/run",
        summary="Run a command on a scenario (same JSON as `repm run/risk/stockpile/plan/finance/"
        "sensitivity/uncertainty/voi --json`)",
    )
    async def run(req: RunRequest, http: Request) -> Response:
        client = http.client.host if http.client else "?"
        try:  # a client over its share is turned away before its scenario is even loaded
            queue.check(client)
        except QueueFull as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status,
                                headers={"Retry-After": "10"})  # fmt: skip
        sets = list(override_args(req.overrides))
        loaded = await run_in_threadpool(load, req.scenario, req.yaml, sets)
        request = req.command(loaded, sets)
        # stockpile: an unknown number of candidates, each `draws` draws (total 0: no end known)
        # sensitivity: evaluations = samples × (factors + 2), factors known once resolved
        total = {"risk": req.draws, "stockpile": 0, "sensitivity": 0,
                 "uncertainty": getattr(request, "samples", 1)
                 * (2 if getattr(request, "draws", 0) else 1),
                 "voi": getattr(request, "steps", 1),
                 }.get(req.kind, 1)  # fmt: skip
        job = Job(id=secrets.token_hex(8), kind=req.kind, total=total)
        future: Future = Future()

        def task() -> None:
            try:
                _execute(job, request)
            finally:
                future.set_result(None)

        try:
            queue.submit(client, task)
        except QueueFull as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status,
                                headers={"Retry-After": "10"})  # fmt: skip
        with jobs_lock:
            jobs[job.id] = job
            # only finished jobs are forgotten, oldest first: a status URL works until its job
            # is done and for JOBS_KEPT finished jobs after
            finished = [j for j in jobs.values() if j.status in ("done", "failed")]
            for old in sorted(finished, key=lambda j: j.created)[
                : max(0, len(finished) - JOBS_KEPT)
            ]:
                jobs.pop(old.id, None)
        if not req.wait:
            return JSONResponse(job.view() | {"status_url": f"/api/jobs/{job.id}"}, status_code=202)
        import asyncio

        await asyncio.wrap_future(future)
        if job.status == "failed":
            return JSONResponse({"error": job.error}, status_code=job.code)
        return _json(job.result)

    @app.get("/api/jobs/{job_id}", summary="A job's status and progress; its result when done")
    def job(job_id: str) -> Response:
        j = jobs.get(job_id)
        if j is None:
            raise HTTPException(404, f"no job {job_id!r}; expected an id from POST /api/run")
        return _json(j.view())

    @app.get("/api/runs", summary="Stored runs, newest first")
    def runs(limit: int = 50) -> list[dict]:
        from repm.results.store import list_runs

        if not 1 <= limit <= 1000:
            raise UserError(f"{limit}; expected 1–1000", where="limit")
        rows = list_runs(limit)
        for r in rows:
            r["created_at"] = r["created_at"].isoformat() if r["created_at"] else None
            r["headline"] = json.loads(r["headline"]) if r["headline"] else {}
            r.pop("path", None)  # the server's file system is not the client's business
        return rows

    def _run(run_id: str):
        from repm.results.store import load_run

        try:
            return load_run(run_id)
        except UserError as exc:
            raise HTTPException(404, exc.for_api()) from None

    @app.get("/api/runs/{run_id}", summary="A stored run: metadata and indicators")
    async def get_run(run_id: str) -> dict:
        r = await run_in_threadpool(_run, run_id)
        rows = []
        for rec in r.indicators.to_dict("records"):
            rows.append({k: v for k, v in rec.items() if not (v is None or v != v)})
        meta = dict(r.meta)
        for key in ("source", "plan"):  # file paths on the server: their names only
            if isinstance(meta.get(key), str) and "/" in meta[key]:
                meta[key] = Path(meta[key]).name
        return {"command": meta.get("command"), "scenario": meta.get("scenario"), "run_id": r.run_id,
                "meta": meta, "indicators": rows}  # fmt: skip

    @app.post(
        "/api/compare", summary="Stored runs side by side (same JSON as `repm compare --json`)"
    )
    async def compare(body: CompareBody) -> Response:
        from repm.app import CompareRequest
        from repm.app import compare as do

        def make() -> dict:
            try:
                return do(CompareRequest(run_ids=body.run_ids, year=body.year)).payload
            except UserError as exc:
                if "no run" in str(exc) or "expected a run id" in str(exc):
                    raise HTTPException(404, exc.for_api()) from None
                raise

        return _json(await run_in_threadpool(make))

    @app.get(
        "/api/runs/{run_id}/figures",
        summary="The report's figures as plotly JSON, with what the run's answers hang on "
        "(hangs_0…: Sobol (or Morris) bars of the scenario's latest sensitivity runs; params: the "
        "parameter fan of its latest uncertainty run; unmet: unmet demand's parameter fan and the "
        "shock fan on one axis, when that run was made with shock draws, else shocks: the shock "
        "fan; evppi_DECISION)",
    )
    async def figures(run_id: str, year: int | None = None) -> Response:
        from repm.reports.figures import build_all
        from repm.reports.hangs.section import figures as hangs_figures
        from repm.reports.report import pick_year

        def make() -> str:
            import plotly.io as pio

            r = _run(run_id)
            figs = build_all(r, pick_year(r, year))
            more = hangs_figures(r)
            if figs.get("risk") is not None:  # the run's own shock fan is drawn already
                more.pop("shocks", None)  # (not `unmet`: the facts' fan on the shocks' axis)
            figs.update(more)
            body = ",".join(f'"{k}":{pio.to_json(f)}' for k, f in figs.items() if f is not None)
            return "{" + body + "}"

        return Response(await run_in_threadpool(make), media_type="application/json")

    @app.get("/api/runs/{run_id}/report", summary="The run's self-contained HTML report")
    async def report(run_id: str, year: int | None = None) -> HTMLResponse:
        from repm.reports.report import render

        r = await run_in_threadpool(_run, run_id)
        return HTMLResponse(await run_in_threadpool(render, r, year))

    app.state.queue = queue
    return app


# the finance output has no registry entry (`repm finance` stores each unit's NPV by unit_id)
FINANCE_LABELS = {"unit_npv": "NPV of the scenario's first scheme unit"}


@cache
def sensitivity_outputs() -> dict:
    """Every output `repm sensitivity` accepts, as `repm.analyses.uncertainty.evaluate` lists
    them (its finance and risk outputs, then each indicator of `repm run`), with the registry's
    units and labels; the methods and steps it takes; the topics it groups the facts into by
    default (one factor each, and `other` for the rest)."""
    from repm.analyses.uncertainty.evaluate import FINANCE_OUTPUTS, RISK_OUTPUTS, run_indicators
    from repm.analyses.uncertainty.ranges import shipped_rule
    from repm.app.requests import SENSITIVITY_METHODS, STEPS
    from repm.results.indicators import REGISTRY

    def row(name: str, unit: str, kind: str) -> dict:
        label = FINANCE_LABELS.get(name) or (REGISTRY[name].label if name in REGISTRY else name)
        return {"name": name, "unit": unit, "label": label, "kind": kind,
                "year": kind != "finance"}  # fmt: skip

    outputs = [row(n, u, "finance") for n, u in FINANCE_OUTPUTS.items()]
    outputs += [row(n, u, "risk") for n, u in RISK_OUTPUTS.items()]
    outputs += [row(n, u, "run") for n, u in run_indicators().items()]
    return {"outputs": outputs, "methods": list(SENSITIVITY_METHODS), "steps": list(STEPS),
            "groups": list(shipped_rule().groups)}  # fmt: skip


def check_address(host: str, port: int) -> None:
    """Fail in one line, before start-up, when the address cannot be served."""
    import socket

    if not 0 < port < 65536:
        raise UserError(f"{port}; expected a port between 1 and 65535", where="--port")
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = (exc.strerror or str(exc)).split(" (while")[0]
        raise UserError(
            f"cannot listen on {host}:{port} ({reason}); expected a free port and a local address",
            where="--port" if exc.errno == 98 else "--host",
        ) from None


def access(host: str, token: str | None = None, allow: tuple[str, ...] = ()):
    """(allowed Host names, token) for a server bound to `host`: loopback needs no token unless
    one is given; beyond loopback a token is required (generated if not given) and the Host must
    name this machine."""
    from repm.web.guard import is_loopback, local_names, new_token

    extra = {h.strip().lower() for h in allow if h.strip()}
    if host and is_loopback(host):
        return set(LOOPBACK_NAMES) | extra, token
    return local_names(host) | extra, token or new_token()


def serve(
    host: str = "127.0.0.1",
    port: int = 8050,
    token: str | None = None,
    allowed_hosts: set[str] | None = None,
) -> None:
    import uvicorn

    app = create_app(allowed_hosts=allowed_hosts, token=token)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        app.state.queue.close()
