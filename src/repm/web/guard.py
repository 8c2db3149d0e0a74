"""What a dashboard shared with a team needs in front of it: a Host allow-list (DNS rebinding
reaches even a server on 127.0.0.1 through a name that resolves there), a token whenever it listens
beyond loopback (generated and printed, as Jupyter does), a bounded job queue shared fairly among
clients, and answers that never show the server's file paths."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import JSONResponse

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
TOKEN_COOKIE = "repm_token"


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_names(bind: str) -> set[str]:
    """The names and addresses by which this machine may be reached when it listens on `bind`."""
    import socket

    names = {*LOOPBACK_NAMES, bind.strip("[]").lower()}
    if bind in ("", "0.0.0.0", "::") or not is_loopback(bind):
        for name in (socket.gethostname(), socket.getfqdn()):
            names.add(name.lower())
        try:
            import psutil

            for addrs in psutil.net_if_addrs().values():
                names.update(a.address.split("%")[0].lower() for a in addrs
                             if a.family in (socket.AF_INET, socket.AF_INET6))  # fmt: skip
        except Exception:  # noqa: BLE001 - the names above still serve
            pass
    names.discard("")
    return names


def host_of(header: str) -> str:
    """The host name in a Host header, without its port."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """ASGI middleware: refuse a Host not in `allowed` (400) and, when a token is set, any
    request without it (401) — in `Authorization: Bearer`, `?token=` (which also sets a cookie
    for the page) or the cookie."""

    def __init__(self, app, allowed: set[str] | None, token: str | None) -> None:
        self.app, self.allowed, self.token = app, allowed, token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = host_of(headers.get("host", ""))
        if self.allowed is not None and host not in self.allowed:
            shown = headers.get("host", "")[:100]
            return await _answer(scope, receive, send, 400, f"Host {shown!r} is not served here; "
                                 "expected this machine's name or address (start `repm serve "
                                 "--allow-host NAME` to add one)")  # fmt: skip
        if self.token is None:
            return await self.app(scope, receive, send)
        given = _bearer(headers.get("authorization", ""))
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
        cookie = SimpleCookie(headers.get("cookie", "")).get(TOKEN_COOKIE)
        ok = any(
            v is not None and hmac.compare_digest(v.encode(), self.token.encode())
            for v in (given, query, cookie.value if cookie else None)
        )
        if not ok:
            return await _answer(scope, receive, send, 401, "missing or wrong token; expected the "
                                 "token `repm serve` printed (?token=…, or Authorization: Bearer …)")  # fmt: skip
        if query is not None:  # the page's later requests carry it as a cookie

            async def with_cookie(message) -> None:
                if message["type"] == "http.response.start":
                    cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"set-cookie", cookie.encode())]}  # fmt: skip
                await send(message)

            return await self.app(scope, receive, with_cookie)
        return await self.app(scope, receive, send)


def _bearer(value: str) -> str | None:
    kind, _, token = value.partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else None


async def _answer(scope, receive, send, status: int, error: str) -> None:
    await JSONResponse({"error": error}, status_code=status)(scope, receive, send)


def new_token() -> str:
    return secrets.token_urlsafe(24)


class QueueFull(Exception):
    """Too many jobs waiting: 503 for everyone, or 429 for one client over its share."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FairQueue:
    """Jobs run on `workers` threads; waiting jobs are taken from the clients in turn (one
    client's ten jobs do not delay another's one by ten), at most `per_client` waiting or running
    per client and `max_waiting` waiting in all."""

    def __init__(self, workers: int, max_waiting: int, per_client: int) -> None:
        self.max_waiting, self.per_client = max_waiting, per_client
        self.waiting: OrderedDict[str, deque] = OrderedDict()  # client → its jobs, in turn order
        self.active: dict[str, int] = {}  # client → jobs waiting or running
        self.cond = threading.Condition()
        self.closed = False
        self.threads = [
            threading.Thread(target=self._work, name=f"repm-run-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self.threads:
            t.start()

    def check(self, client: str) -> None:
        """Raise QueueFull now if `client` could not submit (before its scenario is loaded)."""
        with self.cond:
            self._admit(client)

    def submit(self, client: str, fn: Callable[[], None]) -> None:
        with self.cond:
            self._admit(client)
            self.waiting.setdefault(client, deque()).append(fn)
            self.active[client] = self.active.get(client, 0) + 1
            self.cond.notify()

    def _admit(self, client: str) -> None:  # with self.cond held
        if self.active.get(client, 0) >= self.per_client:
            raise QueueFull(429, f"{self.active[client]} of your jobs are waiting or running; "
                            f"expected at most {self.per_client} at a time (wait for one "
                            "to finish)")  # fmt: skip
        if sum(len(q) for q in self.waiting.values()) >= self.max_waiting:
            raise QueueFull(503, f"{self.max_waiting} jobs are waiting; the server is busy, "
                            "expected fewer at once (try again shortly)")  # fmt: skip

    def _take(self) -> tuple[str, Callable[[], None]] | None:
        with self.cond:
            while not self.waiting and not self.closed:
                self.cond.wait()
            if self.closed:
                return None
            client, jobs = next(iter(self.waiting.items()))
            fn = jobs.popleft()
            del self.waiting[client]
            if jobs:  # the client goes to the back of the line
                self.waiting[client] = jobs
            return client, fn

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            client, fn = taken
            try:
                fn()
            finally:
                with self.cond:
                    self.active[client] -= 1
                    if not self.active[client]:
                        del self.active[client]

    def waiting_count(self) -> int:
        with self.cond:
            return sum(len(q) for q in self.waiting.values())

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


def scrub(text: str) -> str:
    """A message without the server's file paths (the run store, the home folder)."""
    from repm.results.store import store_root

    for path, name in ((str(store_root()), "<run store>"), (str(Path.home()), "~")):
        if path and path != "/":
            text = text.replace(path, name)
    return text
