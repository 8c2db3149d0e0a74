"""The resident process (repm.resident): a command served by a fork of it prints, writes and exits
as the same command in its own process; Ctrl-C reaches it; a changed setup gets its own."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess as sp
import sys
import tempfile
import time
from pathlib import Path

import pytest

from repm import resident

SCRIPT = Path(sys.executable).with_name("repm")
pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the repm script is not installed")


@pytest.fixture
def setup(tmp_path):
    """An environment whose resident processes live in a private folder of this test (a short
    path: a socket's name is at most ~100 bytes) and end 20 s after their last request."""
    folder = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))
    env = dict(os.environ, REPM_SERVER="1", REPM_SERVER_DIR=str(folder), REPM_SERVER_IDLE="20",
               REPM_HOME=str(tmp_path / "home"), REPM_WARM="0")  # fmt: skip
    yield env, folder
    for pid in resident.running(str(folder)).values():
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


def repm(env, *args, cwd=None, mode=None) -> sp.CompletedProcess:
    env = env if mode is None else dict(env, REPM_SERVER=mode)
    return sp.run([str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True,
                  timeout=300)  # fmt: skip


def serving(folder: Path, timeout: float = 120) -> int:
    """The pid of the one resident process in `folder`, once its socket answers."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for sock in folder.glob("*.sock"):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(str(sock))
                return resident.running(str(folder))[sock.stem]
            except (OSError, KeyError):
                pass
            finally:
                s.close()
        time.sleep(0.1)
    raise AssertionError(f"no resident process answered in {folder}")


def _without_run_id(text: str) -> dict:
    payload = json.loads(text)
    assert payload.pop("run_id")  # a new run each time
    return payload


def test_served_commands_print_write_and_exit_as_their_own_process(setup, tmp_path):
    env, folder = setup
    here = repm(env, "run", "--json")  # no resident process yet: runs here and starts one
    assert here.returncode == 0, here.stderr
    serving(folder)
    served = repm(env, "run", "--json", mode="only")
    assert served.returncode == 0, served.stderr
    assert _without_run_id(served.stdout) == _without_run_id(here.stdout)
    assert served.stderr == here.stderr

    # a user's mistake: the same one line on stderr, exit 2; usage errors and help alike
    for args in (["run", "--set", "nope=1"], ["run", "--bogus"], ["--help"], ["--version"]):
        own = repm(env, *args, mode="0")
        srv = repm(env, *args, mode="only")
        assert (srv.returncode, srv.stdout, srv.stderr) == (own.returncode, own.stdout, own.stderr)
    assert repm(env, "run", "--set", "nope=1", mode="only").returncode == 2

    # the caller's working folder and environment: --out relative to it, the run in its store
    work = tmp_path / "work"
    work.mkdir()
    out = repm(dict(env, REPM_HOME=str(tmp_path / "other")), "run", "--out", "r1", cwd=work,
               mode="only")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (work / "r1" / "results.nc").exists()
    listed = repm(dict(env, REPM_HOME=str(tmp_path / "other")), "runs", "--json", mode="only")
    assert len(json.loads(listed.stdout)["runs"]) == 1


def _on_terminal(env, *args) -> bytes:
    """What the command writes to a terminal (120 columns) that is its stdin, stdout and stderr."""
    import fcntl
    import pty
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = sp.Popen([str(SCRIPT), *args], env=env, stdin=child, stdout=child, stderr=child)
    os.close(child)
    data = bytearray()
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal's other side is closed: the command has ended
            break
        if not chunk:
            break
        data += chunk
    os.close(main)
    assert proc.wait(timeout=120) in (0, 2)
    return bytes(data)


def test_on_a_terminal_the_same_colours_and_width(setup):
    env, folder = setup
    env = {k: v for k, v in env.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    env["TERM"] = "xterm-256color"
    repm(env, "--version")
    serving(folder)
    seen = []
    for args in (["--help"], ["scenarios"], ["run", "--set", "nope=1"]):
        own = _on_terminal(dict(env, REPM_SERVER="0"), *args)
        srv = _on_terminal(dict(env, REPM_SERVER="only"), *args)
        assert srv == own, args
        seen.append(own)
    assert b"\x1b[" in seen[1]  # the table coloured, as on a terminal: the fork's consoles saw one


def test_no_server_only_fails_and_off_runs_here(setup):
    env, folder = setup
    only = repm(env, "--version", mode="only")
    assert only.returncode == 3 and "no resident process" in only.stderr
    off = repm(env, "--version", mode="0")
    assert off.returncode == 0 and off.stdout.startswith("repm ")
    assert not list(folder.glob("*.sock")) and not list(folder.glob("*.lock"))  # none started


@pytest.fixture
def started():
    """Scripts a test starts, killed at its end whatever happened (their forks end with them)."""
    procs: list[sp.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_ctrl_c_reaches_the_command_and_a_killed_caller_ends_it(setup, started):
    env, folder = setup
    repm(env, "--version")
    server = serving(folder)

    def dashboard(mode="only", preexec=None):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        proc = sp.Popen([str(SCRIPT), "serve", "--port", str(port)], env=dict(env, REPM_SERVER=mode),
                        stdout=sp.PIPE, stderr=sp.PIPE, text=True, preexec_fn=preexec)  # fmt: skip
        started.append(proc)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.2)
        raise AssertionError("the dashboard did not start")

    def gone(port: int, wait: float = 30) -> bool:
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return True
            time.sleep(0.2)
        return False

    # Ctrl-C as in a terminal (to the script, not the fork), and SIGTERM (`timeout`, `kill`):
    # the dashboard stops, and the script ends as the command's own process does
    for sig in (signal.SIGINT, signal.SIGTERM):
        ends = []
        for mode in ("0", "only"):
            proc, port = dashboard(mode)
            proc.send_signal(sig)
            ends.append(proc.wait(timeout=60))
            assert gone(port)
        assert ends[0] == ends[1], sig

    # a signal the caller ignores (`nohup`) the command ignores too
    def no_hangup():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc, port = dashboard(preexec=no_hangup)
    proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert proc.poll() is None and not gone(port, wait=2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)

    proc, port = dashboard()
    proc.kill()  # the script is gone without a word: its command must not run on
    proc.wait(timeout=30)
    assert gone(port)
    assert _alive(server, wait=0)  # the resident process serves on


def _answers(env) -> bool:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if repm(env, "--version", mode="only").returncode == 0:
            return True
        time.sleep(0.2)
    return False


def test_another_setup_gets_its_own_process_and_other_code_ends_the_one_before(setup, tmp_path):
    env, folder = setup
    repm(env, "--version")
    first = serving(folder)
    # another setup (REPM_* may act at import): a process of its own, the first serves on
    other = dict(env, REPM_TEST_SETTING="1")
    assert repm(other, "--version", mode="only").returncode == 3
    repm(other, "--version")
    assert _answers(other)
    assert _alive(first, wait=0) and repm(env, "--version", mode="only").returncode == 0
    assert len(resident.running(str(folder))) == 2
    # other code (here another import path; an edited source or an install alike): the
    # processes serving the code before are ended
    (tmp_path / "extra").mkdir()
    newer = dict(env, PYTHONPATH=str(tmp_path / "extra"))
    repm(newer, "--version")
    assert _answers(newer)
    assert not _alive(first)
    assert repm(env, "--version", mode="only").returncode == 3
    assert repm(other, "--version", mode="only").returncode == 3


def test_a_pooled_command_killed_through_the_script_ends_with_its_workers(setup):
    """SIGTERM to the script reaches the command's process group (its fork pool's workers too),
    and the script ends when the command's process does, whoever holds the connection."""
    env, folder = setup
    repm(env, "--version")
    server = serving(folder)
    fork, workers = None, []
    proc = sp.Popen([str(SCRIPT), "uncertainty", "--samples", "600", "--step", "yearly",
                     "--workers", "2", "--json"], env=dict(env, REPM_SERVER="only"),
                    stdout=sp.DEVNULL, stderr=sp.PIPE)  # fmt: skip
    try:
        children = Path(f"/proc/{server}/task/{server}/children")
        if not children.exists():
            pytest.skip("no /proc children list here")
        end = time.monotonic() + 240
        while time.monotonic() < end and not workers and proc.poll() is None:
            forks = children.read_text().split()
            if forks:
                fork = int(forks[0])
                mine = Path(f"/proc/{fork}/task/{fork}/children")
                workers = [int(w) for w in mine.read_text().split()] if mine.exists() else []
            time.sleep(0.1)
        if not workers:
            pytest.skip("the command ended before its pool started")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGTERM
        assert not any(_alive(w) for w in [fork, *workers])
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in [fork, *workers] if fork else []:  # whatever a failure left running
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int, wait: float = 10) -> bool:
    """Whether the process is alive `wait` seconds on (a zombie is not: nothing may reap it
    soon where the parent that started it is gone)."""
    end = time.monotonic() + wait
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        if time.monotonic() > end:
            return True
        time.sleep(0.1)


def test_key_reads_import_time_settings_only(monkeypatch):
    base = resident._key()
    monkeypatch.setenv("TERM", "something-else")  # read when a command runs, not when importing
    monkeypatch.setenv("REPM_SERVER", "only")
    assert resident._key() == base
    monkeypatch.setenv("NUMBA_OPT", "1")
    assert resident._key() != base


def test_a_folder_others_may_enter_is_not_used(monkeypatch, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("REPM_SERVER_DIR", str(shared))
    assert resident._folder() is None
    shared.chmod(0o700)
    assert resident._folder() == str(shared)


def test_a_nice_or_taskset_before_the_script_holds_for_the_command(setup, started):
    """Niceness, CPU affinity and limits are part of what a resident process serves: a niced
    caller gets a fork of a niced process (started for it), not of the one started before."""
    if os.getpriority(os.PRIO_PROCESS, 0) > 16:
        pytest.skip("already niced to the end")
    env, folder = setup
    repm(env, "--version")
    first = serving(folder)

    def niced():
        os.nice(3)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    def run_niced(*args, mode):
        return sp.run([str(SCRIPT), *args], env=dict(env, REPM_SERVER=mode), capture_output=True,
                      text=True, preexec_fn=niced, timeout=300)  # fmt: skip

    assert run_niced("--version", mode="only").returncode == 3  # not the first one's
    run_niced("--version", mode="1")
    end = time.monotonic() + 120
    while time.monotonic() < end and run_niced("--version", mode="only").returncode != 0:
        time.sleep(0.2)
    (server,) = (p for p in resident.running(str(folder)).values() if p != first)
    assert os.getpriority(os.PRIO_PROCESS, server) == os.getpriority(os.PRIO_PROCESS, 0) + 3
    assert os.sched_getaffinity(server) == {min(os.sched_getaffinity(0))}


def test_an_edit_anywhere_in_the_package_changes_the_key(tmp_path, monkeypatch):
    """Sources outside repm.resident and the data read at import (model.yaml) are keyed (in a
    copy of the package); editors' lock, backup and swap files are not."""
    root = tmp_path / "repm"
    shutil.copytree(resident.package_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(resident, "package_root", lambda: str(root))
    for rel in ("chain/compile.py", "data/model.yaml", "__init__.py"):
        before = resident._key()
        st = (root / rel).stat()
        os.utime(root / rel, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert resident._key() != before, rel
    before = resident._key()
    (root / "chain" / ".#compile.py").symlink_to("/nonexistent")  # emacs' lock
    (root / "chain" / "compile.py~").write_text("")
    (root / "chain" / ".compile.py.swp").write_text("")
    assert resident._key() == before


def test_a_mistaken_setting_is_one_line_each_and_exit_2(setup):
    env, folder = setup
    bad = repm(dict(env, REPM_SERVER="yes", REPM_SERVER_IDLE="soon", REPM_WARM="on"), "--version")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "error: REPM_SERVER: 'yes'; expected one of 0, 1, only",
        "error: REPM_SERVER_IDLE: 'soon'; expected seconds, a number above 0",
        "error: REPM_WARM: 'on'; expected 0 (no background compile) or 1",
    ]
    assert repm(dict(env, REPM_SERVER_IDLE="-5"), "--version").returncode == 2
    assert not list(folder.glob("*.lock"))  # nothing started


def test_the_engine_is_warmed_once_per_setup_in_the_background(tmp_path, monkeypatch):
    """`warm_once`: a child process runs the warm-up and marks it done; with the marker there
    (started or done), or REPM_WARM=0, no child starts. The child closes what it inherited (the
    parent's listener and serving lock stay the parent's alone), and `stop` ends a warm-up still
    running (a resident replaced by one of other code), but never signals one that has ended."""
    from repm.resident.server import warm_once

    marker = tmp_path / "k.warmed"
    done = tmp_path / "ran"
    held = socket.socket(socket.AF_UNIX)

    def work():
        done.write_text(str(held.fileno()))  # -1: closed before the warm-up ran

    def wait(cond, seconds=30):
        end = time.monotonic() + seconds
        while not cond() and time.monotonic() < end:
            time.sleep(0.05)
        return cond()

    monkeypatch.delenv("REPM_WARM", raising=False)
    child = warm_once(str(marker), (held,), work)
    assert child is not None
    assert wait(lambda: marker.read_text() == "done") and done.read_text() == "-1"
    assert held.fileno() != -1  # the parent's own is open
    held.close()
    assert wait(lambda: not child.running())
    child.stop()  # ended already: nothing is signalled
    assert warm_once(str(marker), (), work) is None  # once per setup
    # a warm-up still running when its resident ends is ended with it; it was tried: not again
    marker.unlink()
    slow = warm_once(str(marker), (), lambda: time.sleep(60))
    assert slow is not None and marker.read_text() == "started" and slow.running()
    slow.stop()
    assert wait(lambda: not _unreaped(slow.pid))
    assert marker.read_text() == "started" and warm_once(str(marker), (), work) is None
    monkeypatch.setenv("REPM_WARM", "0")
    marker.unlink()
    assert warm_once(str(marker), (), work) is None and not marker.exists()


def _unreaped(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):  # reap it if it is this process's own child
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def test_the_warm_up_compiles_what_a_risk_run_and_a_block_of_samples_use(monkeypatch):
    """After the warm-up, a block of parameter samples compiles nothing more (its `_sets` takes
    the warm-up's types: a read-only array or another dtype would be another signature)."""
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario
    from repm.simulate import jit, loop, stacked, warm

    monkeypatch.setattr(jit, "_COMPILED", {})  # as a new process: nothing asked for yet
    warm.warm()
    assert jit.is_compiled(loop.__name__)
    sets = jit.compiled(stacked)._sets
    assert len(sets.signatures) == 1  # the block loop compiled (or loaded) by the warm-up
    ev = Evaluator(load_scenario("india-baseline"), "magnet_imports", workers=1)
    _, _, at = Pooled([ev], Alternatives.of("india-baseline", ())).draw(0, 16)
    ev.many([dict(a) for a in at])  # 16 sets × 144 months: the compiled kernel
    assert ev.block_fallbacks == 0 and ev.fast_samples == 16
    assert len(sets.signatures) == 1
