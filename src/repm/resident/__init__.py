"""The `repm` script, and a resident process that keeps a warm run's imports (issue 11 part 8).

About half of a warm `repm run` is importing numpy, pandas, xarray, pint, pydantic and repm's
own modules (bench/startup.py). So the script asks a resident process, started after a command
ran here and ended by REPM_SERVER_IDLE seconds without a request (default 900), to fork itself
for each command: the fork takes the command's arguments, working folder, environment, umask and
its standard input, output and error themselves (the file descriptors, passed over a Unix
socket), makes repm's consoles again for that terminal, runs the command as `python -m repm.cli`
does and hands back the exit status. Signals to the script (Ctrl-C, SIGTERM, SIGHUP, Ctrl-Z) are
passed on, and a script killed outright interrupts its command. What the command prints and
writes is the same, byte for byte (tests/test_resident.py).

A resident process serves only what it was started with: this interpreter and its flags, the
import path, repm's files (names, sizes, modification times: sources and the data read at
import), the installed packages (their folders' modification times), the process's niceness,
CPU affinity and resource limits, and the environment variables that act when modules are
imported (PYTHON*, REPM_* but the store and cache folders, which a command reads when it runs,
NUMBA_*, TYPER_*, NPY_*/NUMPY_*/SCIPY_*, thread counts, locale, HOME, the XDG base folders,
TMPDIR, LD_*, MALLOC_*). Its socket is named by a hash of these, so a change to any of them
starts another: one of other code (sources, packages, interpreter) ends those before it, one of
another setup (another terminal) serves beside them until idle.

REPM_SERVER=0 runs every command in its own process, as `python -m repm.cli` always does (the
test suite sets it); REPM_SERVER=only fails (exit 3) where no resident process answers, and
starts none (bench/startup.py's figure of a resident run). The sockets live in $REPM_SERVER_DIR,
else $XDG_RUNTIME_DIR/repm, else /tmp/repm-UID: a folder only its user may enter, or none is
used.

Only the standard library is imported here before a command runs: asking costs ~0.05 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import stat
import struct
import sys

IDLE_SECONDS = 900.0  # a resident process ends after this long without a request
ANSWER_SECONDS = 10.0  # for the fork's pid: a stopped resident process is not waited on longer
# environment variables read when modules are imported (or cached by them): part of the key
_KEYED_PREFIXES = ("PYTHON", "REPM_", "NUMBA_", "OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_", "DASK_",
                   "LD_", "MALLOC_", "TYPER_", "NPY_", "NUMPY_", "SCIPY_")  # fmt: skip
_KEYED_NAMES = frozenset({"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "HOME", "TZ", "TMPDIR",
                          "VIRTUAL_ENV", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                          "XDG_RUNTIME_DIR", "GLIBC_TUNABLES"})  # fmt: skip
# read when a command runs (its own environment), or by the script itself
_UNKEYED = frozenset({"REPM_HOME", "REPM_CACHE_DIR", "REPM_SERVER", "REPM_SERVER_IDLE",
                      "REPM_SERVER_DIR"})  # fmt: skip
_LIMITS = ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_RSS", "RLIMIT_CPU", "RLIMIT_FSIZE",
           "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_STACK", "RLIMIT_NPROC", "RLIMIT_MEMLOCK")  # fmt: skip
# signals passed on to the command (unless this process ignores them: then it ignores them too)
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
_SPEC = "_REPM_RESIDENT_SPEC"  # how the script tells a process it starts what to serve
_INT = struct.Struct("!i")
_STREAMS = (0, 1, 2)
_MAX_PATH = 100  # bytes of a Unix socket's name, with room to spare


def main() -> None:
    """The `repm` script: the command in a fork of the resident process when one serves this
    setup, else here (and a resident process is started for the next command)."""
    mode = _settings()
    mode = mode if _supported() else "0"
    where = _folder() if mode != "0" and _streams_open() else None
    key = _key() if where else None
    path = _socket_path(where, key) if where and key else None
    if path is not None:
        code = _ask(path)
        if code is not None:
            sys.exit(code)
    if mode == "only":  # for benchmarks and tests: a resident process's figure or none
        sys.stderr.write("repm: no resident process serves this setup (REPM_SERVER=only)\n")
        sys.exit(3)
    code = _run_here()
    if path is not None:
        sys.stdout.flush()
        _start(where, key)
    sys.exit(code)


MODES = ("0", "1", "only")


def _settings() -> str:
    """REPM_SERVER's mode, after checking it, REPM_SERVER_IDLE and REPM_WARM: a mistake in any is
    one line on stderr and exit 2, before anything runs."""
    mode = os.environ.get("REPM_SERVER", "1")
    problems = []
    if mode not in MODES:
        problems.append(f"REPM_SERVER: {mode!r}; expected one of {', '.join(MODES)}")
    idle = os.environ.get("REPM_SERVER_IDLE")
    if idle is not None:
        try:
            ok = 0 < float(idle) < float("inf")
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"REPM_SERVER_IDLE: {idle!r}; expected seconds, a number above 0")
    warm = os.environ.get("REPM_WARM")
    if warm is not None and warm not in ("0", "1"):
        problems.append(f"REPM_WARM: {warm!r}; expected 0 (no background compile) or 1")
    if problems:
        sys.stderr.write("".join(f"error: {p}\n" for p in problems))
        sys.exit(2)
    return mode


def _supported() -> bool:
    """Unix: fork, and descriptors passed over a Unix socket."""
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and hasattr(os, "getuid")


def _run_here():
    from repm.cli import main as cli

    try:
        cli()
    except SystemExit as exc:
        return exc.code
    return 0


# --- what a resident process serves -------------------------------------------------------------


def _key() -> str | None:
    """A hash of what the imports and the process depend on (module doc), or None when it cannot
    be read: the code's part (interpreter, import path, repm's files, installed packages) then
    the setup's (environment, niceness, affinity, limits). A process of another code is ended
    when a new one starts; one of another setup (another terminal) serves on until idle."""
    code = hashlib.sha256()
    code.update(repr((sys.executable, sys.version, sys.flags, sys.path)).encode())
    try:
        for path in sys.path:  # installs and removals change the folder of installed packages
            if path.endswith("site-packages"):
                st = os.stat(path)
                code.update(f"\0{path}:{st.st_mtime_ns}".encode(errors="surrogateescape"))
        code.update(_files(package_root()).encode(errors="surrogateescape"))
    except OSError:
        return None
    setup = hashlib.sha256(repr(_process()).encode())
    for var in sorted(os.environ):
        if var not in _UNKEYED and (var in _KEYED_NAMES or var.startswith(_KEYED_PREFIXES)):
            setup.update(f"\0{var}={os.environ[var]}".encode(errors="surrogateescape"))
    return code.hexdigest()[:CODE] + setup.hexdigest()[:12]


CODE = 12  # the key's first characters: the code's part


def package_root() -> str:
    """The folder of the `repm` package."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _files(root: str) -> str:
    """Every file of the package but compiled caches and editors' files: relative name, size,
    modification time."""
    out: list[str] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for e in it:
                if e.name.startswith(".") or e.name.endswith(("~", ".swp")):
                    continue  # editors' locks, backups and swap files
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        stack.append(e.path)
                    continue
                try:
                    st = e.stat()
                except OSError:  # a dangling link
                    continue
                out.append(f"{e.path[len(root) :]}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(sorted(out))


def _process() -> tuple:
    """This process's niceness, CPU affinity and resource limits: a command's process inherits
    them from the resident process, which took them from the command that started it."""
    import resource

    limits = tuple(resource.getrlimit(getattr(resource, n)) for n in _LIMITS
                   if hasattr(resource, n))  # fmt: skip
    cpus = tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()
    return os.getpriority(os.PRIO_PROCESS, 0), cpus, limits


def _folder() -> str | None:
    """The private folder of this user's sockets (created 0700), or None when it is not a
    private folder of this user or cannot be made."""
    given = os.environ.get("REPM_SERVER_DIR")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = given or (os.path.join(runtime, "repm") if runtime else f"/tmp/repm-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except (OSError, ValueError):
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def _socket_path(folder: str, key: str) -> str | None:
    path = os.path.join(folder, f"{key}.sock")
    return path if len(os.fsencode(path)) <= _MAX_PATH else None


def _streams_open() -> bool:
    try:
        for fd in _STREAMS:
            os.fstat(fd)
    except OSError:
        return False
    return True


def running(folder: str) -> dict[str, int]:
    """The resident processes alive in `folder`: key → pid. A process is alive while it holds
    its key's lock, and writes its pid into the lock file as soon as it holds it."""
    import fcntl

    out: dict[str, int] = {}
    for name in os.listdir(folder):
        if not name.endswith(".lock"):
            continue
        try:
            with open(os.path.join(folder, name), "r+") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # held: alive
                    text = f.read().strip()
                    if text.isdigit():
                        out[name[: -len(".lock")]] = int(text)
                    continue
                fcntl.flock(f, fcntl.LOCK_UN)
        except OSError:
            continue
    return out


# --- the script's side --------------------------------------------------------------------------


def _ask(path: str):
    """Run the command in a fork of the resident process at `path`: its exit status, or None when
    no process takes it there (the command has not started)."""
    try:
        request = json.dumps({
            "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
            "umask": _umask(), "ignored": _ignored(),
        }).encode()  # fmt: skip
    except (OSError, UnicodeError, ValueError):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(ANSWER_SECONDS)
    try:
        conn.connect(path)
        socket.send_fds(conn, [_INT.pack(len(request))], list(_STREAMS))
        conn.sendall(request)
        pid = _read_int(conn)
    except OSError:  # also a timeout: the fork, if one comes, finds the script gone and ends
        pid = None
    if pid is None:
        conn.close()
        return None
    conn.settimeout(None)
    return _wait(conn, pid)


def _ignored() -> list[str]:
    """The passed-on signals this process ignores (`nohup`, `trap '' HUP`): the command ignores
    them too."""
    return [n for n in FORWARDED if signal.getsignal(getattr(signal, n)) == signal.SIG_IGN]


def _wait(conn: socket.socket, pid: int) -> int:
    """The exit status the command's process sends. Signals to this process go on to its process
    group (the command and any workers it forked, as a terminal signals a foreground job); when
    it ends without a status after one (killed by it), this process ends by the same signal."""
    got: list[int] = []

    def forward(signum, _frame):
        got.append(signum)
        _signal_group(pid, signum)

    def suspend(_signum, _frame):  # Ctrl-Z: the command stops, and goes on with this process
        _signal_group(pid, signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until continued
        signal.signal(signal.SIGTSTP, suspend)
        _signal_group(pid, signal.SIGCONT)

    for name in FORWARDED:
        sig = getattr(signal, name)
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, forward)
    if signal.getsignal(signal.SIGTSTP) != signal.SIG_IGN:
        signal.signal(signal.SIGTSTP, suspend)
    code = _status_or_end(conn, pid)
    conn.close()
    if code is not None:
        return code
    if got:  # as the command's own process would have ended
        signal.signal(got[-1], signal.SIG_DFL)
        os.kill(os.getpid(), got[-1])
    sys.stderr.write("repm: the command's process ended without an exit status "
                     "(REPM_SERVER=0 runs it in this process)\n")  # fmt: skip
    return 1


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # the fork leads a process group of its own
    except OSError:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def _status_or_end(conn: socket.socket, pid: int) -> int | None:
    """The status from the connection, or None once the command's process has ended without one
    (workers it left may hold the connection open: its end is watched too)."""
    import select

    try:
        watch = os.pidfd_open(pid)
    except (AttributeError, OSError):
        watch = None
    try:
        while True:
            ready = select.select([conn] + ([watch] if watch is not None else []), [], [],
                                  None if watch is not None else 1.0)[0]  # fmt: skip
            if conn in ready:
                try:
                    return _read_int(conn)
                except OSError:
                    return None
            if (watch is not None and watch in ready) or (watch is None and not _alive(pid)):
                conn.setblocking(False)  # a status it sent before it ended is in the buffer
                try:
                    return _read_int(conn)
                except OSError:
                    return None
    except InterruptedError:  # pragma: no cover - PEP 475 retries select
        return None
    finally:
        if watch is not None:
            os.close(watch)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _read_int(conn: socket.socket) -> int | None:
    data = b""
    while len(data) < _INT.size:
        chunk = conn.recv(_INT.size - len(data))
        if not chunk:
            return None
        data += chunk
    return _INT.unpack(data)[0]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _start(folder: str, key: str) -> None:
    """Start a resident process for this setup, detached (it imports after this one ends)."""
    import subprocess

    env = dict(os.environ)
    env[_SPEC] = json.dumps({"folder": folder, "key": key, "path": sys.path})
    try:
        subprocess.Popen(
            [sys.executable, "-c", "from repm.resident import serve; serve()"],
            env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
        )  # fmt: skip
    except OSError:
        pass


# --- the resident process -----------------------------------------------------------------------


def serve() -> None:
    """The resident process (started by `_start`): one fork per request until idle. It serves
    only if it computes the key it was started for (the same interpreter flags and setup)."""
    from repm.resident.server import serve as run

    spec = json.loads(os.environ.pop(_SPEC))
    sys.path[:] = spec["path"]
    if _key() != spec["key"]:
        return
    run(spec["folder"], spec["key"], _socket_path(spec["folder"], spec["key"]))
