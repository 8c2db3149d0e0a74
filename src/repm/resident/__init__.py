"""The `repm` script, and a resident process that keeps a warm run's imports (issue 11 part 8).

About half of a warm `repm run` is importing numpy, pandas, xarray, pint, pydantic and repm's
own modules (bench/startup.py). So the script asks a resident process, started after a command
ran here and ended by REPM_SERVER_IDLE seconds without a request (default 900), to fork itself
for each command: the fork takes the command's arguments, working folder, environment, umask and
its standard input, output and error themselves (the file descriptors, passed over a Unix
socket), imports repm's CLI (its consoles look at the terminal then), runs the command as
`python -m repm.cli` does and hands back the exit status. Ctrl-C is passed on to it. What it
prints and writes is the same, byte for byte (tests/test_resident.py).

A resident process serves only what it was started with: this interpreter and its flags, the
import path, repm's source files (names, sizes, modification times), the installed packages
(their folders' modification times) and the environment variables that act when modules are
imported (PYTHON*, REPM_* but the store and cache folders, which a command reads when it runs,
NUMBA_*, thread counts, locale, HOME, XDG_*, TMPDIR). Its socket is
named by a hash of these, so a change to any of them starts another, and the one before is ended.

REPM_SERVER=0 runs every command in its own process, as `python -m repm.cli` always does (the
test suite sets it); REPM_SERVER=only fails (exit 3) where no resident process answers, and
starts none (bench/startup.py's figure of a resident run). The sockets live in $REPM_SERVER_DIR, else $XDG_RUNTIME_DIR/repm, else
/tmp/repm-UID: a folder only its user may enter, or none is used.

Only the standard library is imported here before a command runs: asking costs ~0.05 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys

IDLE_SECONDS = 900.0  # a resident process ends after this long without a request
# environment variables read when modules are imported (or cached by them): part of the key
_KEYED_PREFIXES = ("PYTHON", "REPM_", "NUMBA_", "OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_", "DASK_",
                   "LC_", "XDG_")  # fmt: skip
_KEYED_NAMES = frozenset({"LANG", "LANGUAGE", "HOME", "TZ", "TMPDIR", "VIRTUAL_ENV"})
# read when a command runs (its own environment), or by the script itself
_UNKEYED = frozenset({"REPM_HOME", "REPM_CACHE_DIR", "REPM_SERVER", "REPM_SERVER_IDLE",
                      "REPM_SERVER_DIR"})  # fmt: skip
_SPEC = "_REPM_RESIDENT_SPEC"  # how the script tells a process it starts what to serve
_INT = struct.Struct("!i")
_STREAMS = (0, 1, 2)


def main() -> None:
    """The `repm` script: the command in a fork of the resident process when one serves this
    setup, else here (and a resident process is started for the next command)."""
    mode = os.environ.get("REPM_SERVER", "1") if _supported() else "0"
    where = _folder() if mode != "0" and _streams_open() else None
    key = _key() if where else None
    if where and key:
        code = _ask(_socket_path(where, key))
        if code is not None:
            sys.exit(code)
    if mode == "only":  # for benchmarks and tests: a resident process's figure or none
        sys.stderr.write("repm: no resident process serves this setup (REPM_SERVER=only)\n")
        sys.exit(3)
    code = _run_here()
    if where and key:
        sys.stdout.flush()
        _start(where, key)
    sys.exit(code)


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
    """A hash of what the imports depend on (module doc), or None when it cannot be read."""
    h = hashlib.sha256()
    h.update(repr((sys.executable, sys.version, sys.flags, sys.path)).encode())
    for var in sorted(os.environ):
        if var not in _UNKEYED and (var in _KEYED_NAMES or var.startswith(_KEYED_PREFIXES)):
            h.update(f"\0{var}={os.environ[var]}".encode(errors="surrogateescape"))
    try:
        for path in sys.path:  # installs and removals change the folder of installed packages
            if path.endswith("site-packages"):
                st = os.stat(path)
                h.update(f"\0{path}:{st.st_mtime_ns}".encode(errors="surrogateescape"))
        h.update(_sources(os.path.dirname(os.path.abspath(__file__))).encode(errors="replace"))
    except OSError:
        return None
    return h.hexdigest()[:24]


def _sources(root: str) -> str:
    """repm's Python files: relative name, size and modification time of each."""
    out: list[str] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        stack.append(e.path)
                elif e.name.endswith(".py"):
                    st = e.stat()
                    out.append(f"{e.path[len(root) :]}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(sorted(out))


def _folder() -> str | None:
    """The private folder of this user's sockets (created 0700), or None when it is not private
    or cannot be made."""
    given = os.environ.get("REPM_SERVER_DIR")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = given or (os.path.join(runtime, "repm") if runtime else f"/tmp/repm-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def _socket_path(folder: str, key: str) -> str:
    return os.path.join(folder, f"{key}.sock")


def _streams_open() -> bool:
    try:
        for fd in _STREAMS:
            os.fstat(fd)
    except OSError:
        return False
    return True


# --- the script's side --------------------------------------------------------------------------


def _ask(path: str):
    """Run the command in a fork of the resident process at `path`: its exit status, or None when
    no process answers there (nothing has run)."""
    if len(path.encode()) > 100:  # longer than a Unix socket's name may be
        return None
    try:
        request = json.dumps({
            "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
            "umask": _umask(), **_process(),
        }).encode(errors="surrogateescape")  # fmt: skip
    except (OSError, UnicodeError):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        socket.send_fds(conn, [_INT.pack(len(request))], list(_STREAMS))
        conn.sendall(request)
        pid = _read_int(conn)
    except OSError:
        pid = None
    if pid is None:  # nothing forked: the command has not started
        conn.close()
        return None
    return _wait(conn, pid)


def _wait(conn: socket.socket, pid: int) -> int:
    """The exit status the command's process sends; signals to this process are passed on."""
    import signal

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)
    try:
        code = _read_int(conn)
    except OSError:
        code = None
    conn.close()
    if code is None:
        sys.stderr.write("repm: the command's process ended without an exit status "
                         "(REPM_SERVER=0 runs it in this process)\n")  # fmt: skip
        return 1
    return code


def _read_int(conn: socket.socket) -> int | None:
    data = b""
    while len(data) < _INT.size:
        chunk = conn.recv(_INT.size - len(data))
        if not chunk:
            return None
        data += chunk
    return _INT.unpack(data)[0]


def _process() -> dict:
    """What the command's process takes of this one besides: niceness, CPU affinity and resource
    limits (a `nice`, `taskset` or `ulimit` before `repm` holds for the fork too)."""
    import resource

    limits = {name: resource.getrlimit(getattr(resource, name)) for name in _LIMITS
              if hasattr(resource, name)}  # fmt: skip
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"nice": os.getpriority(os.PRIO_PROCESS, 0), "cpus": cpus, "limits": limits}


_LIMITS = ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_RSS", "RLIMIT_CPU", "RLIMIT_FSIZE",
           "RLIMIT_NOFILE", "RLIMIT_CORE")  # fmt: skip


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
    """The resident process (started by `_start`): one fork per request until idle."""
    from repm.resident.server import serve as run

    spec = json.loads(os.environ.pop(_SPEC))
    sys.path[:] = spec["path"]
    run(spec["folder"], spec["key"], _socket_path(spec["folder"], spec["key"]))
