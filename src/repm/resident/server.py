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
import select
import signal
import socket
import struct
import sys

from repm.resident import _INT, _STREAMS, CODE, FORWARDED, IDLE_SECONDS, running

# what a warm command imports (repm.cli's consoles are made again in each fork, for its terminal)
PRELOAD = (
    "repm.startup", "repm.app.commands", "repm.app.stored", "repm.app.uncertainty",
    "repm.app.voi", "repm.results.build", "repm.results.store.write",
    "repm.results.store.repair", "repm.simulate.engine", "repm.cli", "rich.progress", "scipy.io",
    "duckdb",
)  # fmt: skip


def serve(folder: str, key: str, path: str) -> None:
    """Serve `key`'s commands on the socket at `path` until idle; one process per key (its lock,
    holding its pid), the others in the folder ended."""
    lock = open(os.path.join(folder, f"{key}.lock"), "a+")  # noqa: SIM115  (held while serving)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another process serves this key, or is starting to
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    for other, pid in running(folder).items():
        if other[:CODE] != key[:CODE]:  # a source or package changed: that one serves old code
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
    _prepare()
    gc.collect()
    gc.freeze()  # the forks start without copying the imported objects' pages to count them
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    me = os.getpid()
    warming = None
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by a process that was killed (the lock says none serves it)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(64)
        listener.settimeout(float(os.environ.get("REPM_SERVER_IDLE", IDLE_SECONDS)))
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the forks are reaped by the system
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        warming = warm_once(os.path.join(folder, f"{key}.warmed"), (listener, lock))
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
                code = 1
                try:
                    listener.close()
                    lock.close()
                    code = _command(conn)
                finally:  # no traceback for the user (the script says what it can), and no
                    os._exit(code)  # teardown after the status: its exit handlers have run
            conn.close()
    finally:
        if os.getpid() == me:
            with contextlib.suppress(OSError):
                os.unlink(path)
            if warming is not None:  # a warm-up of this code ends with it (`Warming.stop`)
                warming.stop()


class Warming:
    """A running warm-up child (`warm_once`): `stop` ends it unless it has finished. It holds the
    write end of a pipe until it exits, so the read end reading EOF says it is gone — its pid is
    never signalled after it could have been reused."""

    def __init__(self, pid: int, alive: int) -> None:
        self.pid, self.alive = pid, alive

    def running(self) -> bool:
        ready, _, _ = select.select([self.alive], [], [], 0)
        return not ready  # EOF (readable) once the child's end is closed by its exit

    def stop(self) -> None:
        """End the child's process group if it still runs (a resident ending, or replaced by one
        of other code: a warm-up of the old code must not write Numba's cache beside the new),
        and close the pipe."""
        if self.alive < 0:
            return
        if self.running():
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGTERM)
        os.close(self.alive)
        self.alive = -1


def warm_once(marker: str, inherited=(), work=None) -> Warming | None:
    """Compile the engine for this setup in the background, once: a forked child at the lowest
    priority, silent, runs a few risk draws (`repm.simulate.warm`), so Numba's cache holds the
    kernel when the user's first `repm risk` comes, instead of that command compiling it for
    ~45 s. The `marker` file is written before the work starts ("started", then "done"), so a
    warm-up that fails or is ended is not tried again for this setup. REPM_WARM=0: never.
    Returns the child (None: none started)."""
    if os.environ.get("REPM_WARM", "1") == "0" or os.path.exists(marker):
        return None
    with open(marker, "w") as f:
        f.write("started")
    alive, held_open = os.pipe()
    pid = os.fork()
    if pid != 0:
        os.close(held_open)
        with contextlib.suppress(OSError):  # here too, so `stop` finds its group at once
            os.setpgid(pid, pid)
        return Warming(pid, alive)
    code = 1
    try:
        os.close(alive)
        for held in inherited:  # the listener and the serving lock stay the parent's alone
            held.close()
        os.setpgid(0, 0)  # the user's Ctrl-C in a command is not for this one
        os.nice(19)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # as a process of its own
        null = os.open(os.devnull, os.O_RDWR)
        for fd in _STREAMS:
            os.dup2(null, fd)
        os.close(null)
        gc.unfreeze()
        if work is None:
            from repm.simulate.warm import warm as work
        work()
        with open(marker, "w") as f:
            f.write("done")
        code = 0
    finally:
        os._exit(code)


def _prepare() -> None:
    """Imports, and what every command makes the same way whatever it is asked: the CLI's click
    command and the unit registry (made from pint's definitions and repm's alone)."""
    for name in PRELOAD:
        importlib.import_module(name)
    from repm.cli import command
    from repm.model.units import registry

    command()
    registry()


def _same_user(conn: socket.socket) -> bool:
    """Whether the peer is this user (the folder is private too; Linux tells it)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    fmt = "3i"
    _pid, uid, _gid = struct.unpack(
        fmt, conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(fmt))
    )
    return uid == os.getuid()


def _command(conn: socket.socket) -> int:
    """In the fork: take the request's streams, folder, environment and arguments, run the
    command, do what Python does as it ends up to closing the streams, send the exit status and
    return it (the fork then ends at once). Raises before the pid is sent (the script then runs
    the command itself)."""
    os.setpgid(0, 0)  # a process group of its own, with any workers it forks: signalled whole
    # signals as a process of its own starts with them (not as whoever started this one left
    # them), then those the caller ignores ignored
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for name in (*FORWARDED, "SIGCHLD", "SIGTSTP", "SIGIO"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    gc.unfreeze()  # the command collects as its own process does (fork pools freeze their own)
    header, fds, _flags, _addr = socket.recv_fds(conn, _INT.size, len(_STREAMS))
    if len(header) != _INT.size or len(fds) != len(_STREAMS):
        raise ConnectionError("not a request")
    request = json.loads(_read(conn, _INT.unpack(header)[0]))
    for name in request["ignored"]:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    for target, fd in zip(_STREAMS, fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    _reopen_streams()
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    from repm.cli import render

    render.reattach()
    conn.sendall(_INT.pack(os.getpid()))  # fails if the script is gone: then nothing runs
    _watch(conn)

    from repm.resident import _run_here

    code = _status(_run_here())
    signal.signal(signal.SIGIO, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a late Ctrl-C changes nothing
    code = _end(code)
    with contextlib.suppress(OSError):
        conn.sendall(_INT.pack(code))
    return code


def _end(code: int) -> int:
    """What Python does as it ends, before its streams close: wait for non-daemon threads, run
    the exit handlers, flush stdout and stderr (120 when that fails, as Python exits); then the
    standard streams are let go, so a pipe or `$(...)` reading them ends now."""
    import atexit
    import threading

    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            code = 120
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _STREAMS:
        os.dup2(null, fd)
    return code


def _read(conn: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), 1 << 16))
        if not chunk:
            raise ConnectionError("the script is gone")
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
    """sys.stdin/stdout/stderr over the request's descriptors, made as Python makes them at
    start-up (create_stdio): the same encoding and errors; stdout by line on a terminal, stderr
    by line always; unbuffered writes with -u / PYTHONUNBUFFERED; newline '\\n'; names
    '<stdin>', '<stdout>', '<stderr>'."""
    # -u / PYTHONUNBUFFERED (not in sys.flags): Python then made this process's stdout so
    buffered = not getattr(sys.stdout, "write_through", False)
    for fd, name in zip(_STREAMS, ("stdin", "stdout", "stderr"), strict=True):
        old = getattr(sys, name)
        reading = fd == 0
        raw = io.FileIO(fd, "rb" if reading else "wb", closefd=False)
        if reading:
            buf = io.BufferedReader(raw)
        elif buffered:
            buf = io.BufferedWriter(raw)
        else:
            buf = raw
        line = buffered and not reading and (fd == 2 or raw.isatty())
        new = io.TextIOWrapper(buf, encoding=old.encoding, errors=old.errors, newline="\n",
                               line_buffering=line, write_through=not buffered and not reading)  # fmt: skip
        raw.name = f"<{name}>"  # type: ignore[misc]
        new.mode = "r" if reading else "w"  # type: ignore[misc]
        setattr(sys, name, new)
        setattr(sys, f"__{name}__", new)


def _status(code) -> int:
    """The exit status of sys.exit(code), as Python makes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(2**31) <= code < 2**31 else 1
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{code}\n")
    return 1
