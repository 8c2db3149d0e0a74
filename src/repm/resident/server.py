"""The resident process (repm.resident): a warm command's imports done once, then one fork of
them for each request, which becomes that command's process."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import json
import os
import signal
import socket
import struct
import sys

from repm.resident import _INT, _STREAMS, IDLE_SECONDS

# what a warm command imports (repm.cli's consoles are made again in each fork, for its terminal)
PRELOAD = (
    "repm.startup", "repm.app.commands", "repm.app.stored", "repm.app.uncertainty",
    "repm.app.voi", "repm.results.build", "repm.results.store.write",
    "repm.results.store.repair", "repm.simulate.engine", "repm.cli", "rich.progress", "scipy.io",
    "duckdb",
)  # fmt: skip


def _prepare() -> None:
    """Imports, and what every command makes the same way whatever it is asked: the CLI's click
    command and the unit registry (made from pint's definitions and repm's alone)."""
    for name in PRELOAD:
        importlib.import_module(name)
    from repm.cli import command
    from repm.model.units import registry

    command()
    registry()


def serve(folder: str, key: str, path: str) -> None:
    """Serve `key`'s commands on the socket at `path` until idle; one process per key (a lock),
    the others in the folder ended."""
    lock = open(os.path.join(folder, f"{key}.lock"), "w")  # noqa: SIM115  (held while serving)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another process serves this key, or is starting to
    _end_others(folder, key)
    _prepare()
    gc.collect()
    gc.freeze()  # the forks do not copy the imported objects' pages to count them
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    pidfile = os.path.join(folder, f"{key}.pid")
    me = os.getpid()
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by a process that was killed (the lock says none serves it)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(64)
        with open(pidfile, "w") as f:
            f.write(str(me))
        listener.settimeout(float(os.environ.get("REPM_SERVER_IDLE", IDLE_SECONDS)))
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the forks are reaped by the system
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            conn.settimeout(None)
            if not _same_user(conn):
                conn.close()
                continue
            if os.fork() == 0:
                listener.close()
                lock.close()
                _command(conn)  # raises SystemExit with the command's status
            conn.close()
    finally:
        if os.getpid() == me:
            gc.unfreeze()
            for p in (path, pidfile):
                with contextlib.suppress(OSError):
                    os.unlink(p)


def _end_others(folder: str, key: str) -> None:
    """End the resident processes of other keys in the folder (a source or environment changed)
    and remove what dead ones left; a process is alive while it holds its lock."""
    for name in os.listdir(folder):
        if not name.endswith(".lock") or name == f"{key}.lock":
            continue
        stem = os.path.join(folder, name[: -len(".lock")])
        try:
            with open(stem + ".lock", "w") as other:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # alive: its pid file names it
                    with open(stem + ".pid") as f:
                        os.kill(int(f.read()), signal.SIGTERM)
                    continue
            for suffix in (".sock", ".pid", ".lock"):
                with contextlib.suppress(OSError):
                    os.unlink(stem + suffix)
        except (OSError, ValueError):
            continue


def _same_user(conn: socket.socket) -> bool:
    """Whether the peer is this user (the folder is private too; Linux tells it)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    fmt = "3i"
    _pid, uid, _gid = struct.unpack(
        fmt, conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(fmt))
    )
    return uid == os.getuid()


def _command(conn: socket.socket) -> None:
    """In the fork: take the request's streams, folder, environment and arguments, run the
    command, send its exit status, end with it."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    header, fds, _flags, _addr = socket.recv_fds(conn, _INT.size, len(_STREAMS))
    if len(header) != _INT.size or len(fds) != len(_STREAMS):
        os._exit(1)
    request = json.loads(_read(conn, _INT.unpack(header)[0]))
    for target, fd in zip(_STREAMS, fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    _reopen_streams()
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    _take_process(request)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    from repm.cli import render

    render.reattach()
    conn.sendall(_INT.pack(os.getpid()))
    _watch(conn)

    from repm.resident import _run_here

    code = _status(_run_here())
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    signal.signal(signal.SIGIO, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        conn.sendall(_INT.pack(code))
    gc.unfreeze()  # the imports' objects are this process's to free as it ends (as a run does)
    raise SystemExit(code)


def _take_process(request: dict) -> None:
    """The caller's niceness, CPU affinity and resource limits, as far as this process may take
    them (a lower priority and lower limits always; a higher one only where permitted)."""
    import resource

    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, request["nice"])
    if request.get("cpus") and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError, ValueError):
            os.sched_setaffinity(0, request["cpus"])
    for name, limit in request.get("limits", {}).items():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            resource.setrlimit(getattr(resource, name), tuple(limit))


def _read(conn: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), 1 << 16))
        if not chunk:
            os._exit(1)
        data += chunk
    return bytes(data)


def _watch(conn: socket.socket) -> None:
    """Interrupt the command (as Ctrl-C does) when the script that asked for it is gone (killed).
    By a signal when the connection ends, not a thread: a command with a second thread keeps
    dask importable (repm.startup.no_distributed_import), a second of imports for nothing."""

    def ended(_signum=None, _frame=None) -> None:
        try:
            data = conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            signal.signal(signal.SIGIO, signal.SIG_IGN)
            raise KeyboardInterrupt

    signal.signal(signal.SIGIO, ended)
    fcntl.fcntl(conn, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(conn, fcntl.F_SETFL, fcntl.fcntl(conn, fcntl.F_GETFL) | os.O_ASYNC)
    ended()  # gone already


def _reopen_streams() -> None:
    """sys.stdin/stdout/stderr over the request's descriptors, buffered as Python buffers them
    at start-up: stdout by line on a terminal, stderr by line always."""
    for fd, name in zip(_STREAMS, ("stdin", "stdout", "stderr"), strict=True):
        old = getattr(sys, name)
        buffer = open(fd, "rb" if fd == 0 else "wb", closefd=False)  # noqa: SIM115
        line = fd == 2 or (fd == 1 and os.isatty(fd))
        new = io.TextIOWrapper(buffer, encoding=old.encoding, errors=old.errors,
                               line_buffering=line)  # fmt: skip
        setattr(sys, name, new)
        setattr(sys, f"__{name}__", new)


def _status(code) -> int:
    """The exit status of sys.exit(code), as Python makes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(2**31) <= code < 2**31 else 1
    sys.stderr.write(f"{code}\n")
    sys.stderr.flush()
    return 1
