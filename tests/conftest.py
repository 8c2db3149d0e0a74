"""Shared test fixtures: an isolated run store for every test, and a way to run the CLI."""

from __future__ import annotations

import functools
import io
import os
import runpy
import shutil
import subprocess as sp
import sys
import tempfile
import threading
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "repm.cli"]
# every command in its own process: no resident process (repm.resident) is asked or left behind
# by a test; tests/test_resident.py turns it on in folders of its own
os.environ["REPM_SERVER"] = "0"
CLI_MODULE = "repm.cli"  # what `python -m` runs; `repm` (the entry point) calls the same main()


# --- the engine compiled on the other core while the first tests run ---------------------------
#
# A fresh clone's first test that needs the compiled engine waits for Numba to compile it (~45 CPU
# s; issue 11 part 8). This suite starts that compile at once in a process of its own — `repm
# risk`, which compiles what every command's Monte Carlo uses and fills Numba's cache — and runs
# first the modules that need no compiled engine (EARLY). A test that asks for the compiled
# engine before that process is done waits for it, then loads the engine from the cache: the
# numbers are the same, only where the compiling happens changes. With the cache already warm the
# process loads it and ends in a second or two; a session of EARLY modules only starts none. The
# process starts when the session is configured, before collection, unless the command line names
# only EARLY modules; if -k or -m then leave no test that needs it, it is ended.
# REPM_TEST_WARM=0 turns it off.
#
# With pytest-xdist (`-n`, see pyproject's addopts) the process is started once, by the controller;
# every worker orders its tests the same way and, before its first test that asks for the engine,
# waits for that one process (a file it writes when it ends, or its end seen from outside), so the
# workers load the engine from the cache instead of each compiling it. (There the controller does
# not collect, so a -k that leaves no test needing the engine does not end it: the session does.)

_WARM: list[tuple[sp.Popen, str]] = []  # the compiling process and its run store
_WARM_TIMEOUT = 900.0  # a worker stops waiting after this and lets Numba compile (never hangs)

# the compiling process, run as `python -m repm.cli ARGS` is, writing `done` (argv[1]) when it ends
_WARM_CODE = (
    "import runpy, sys\n"
    "done = sys.argv.pop(1)\n"
    "try:\n"
    "    runpy.run_module('repm.cli', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    open(done, 'w').close()\n"
)

# modules that never asked for the compiled engine when this was written (checked by running the
# suite with `jit.compiled` recording its callers and every small run kept on the Python twin),
# ~60 CPU s together: run first, the rest in their order (one that comes to need the engine only
# waits for it). Some have since come to ask for a small part of it (SMALL below): the batched
# modules' drawn samples Philox's array function, test_routes' and the spell modules' shocks the
# spells.
EARLY = (
    "test_store.py", "test_fuzz.py", "test_cli.py", "test_finance.py", "test_load.py",
    "test_basket.py", "test_small_fixes.py", "test_prices.py", "test_channels.py",
    "test_oxide_per_magnet.py", "test_dashboard_shared.py", "test_indicators.py",
    "test_scenarios.py", "test_rules.py", "test_wind.py", "test_facts.py", "test_chemistry.py",
    "test_mass_balance.py", "test_routes.py", "test_bad_input.py", "test_bounds.py",
    "test_batched_supply.py",
    "test_batched_demand.py", "test_batched_basket.py", "test_batched_chains.py",
    "test_fast_samples.py", "test_chain_checks.py",
)  # fmt: skip

# engine-free too when checked again (by the same recording, each module alone on an empty Numba
# cache): ~10 CPU s more done while the engine compiles, not after it
EARLY += (
    "test_jit_cache.py", "test_chain_fast.py", "test_fold_tails.py", "test_loose_grades.py",
    "test_units_reader.py", "test_year_order_stats.py", "test_sector_stock.py", "test_paths.py",
    "test_grade_switch.py", "test_spells.py", "test_spare_ramp.py",
)  # fmt: skip

# compiled modules an EARLY module compiles (or loads) itself, at once, instead of waiting for the
# whole engine's compile: a few CPU s each (Philox's array function ~3 s, the spells ~1.5 s, where
# the engine takes ~45). Waiting, the batched modules' tests held both workers ~70 s with one core
# idle; the words and levels are the same either way (Numba writes each cache file whole)
SMALL = ("repm.simulate.philox", "repm.simulate.spells")
_IN_EARLY: list[bool] = [False]  # whether the test running in this process is an EARLY module's


# --- one bytecode cache for the interpreters the tests start ---------------------------------
#
# Where PYTHONDONTWRITEBYTECODE is set (this machine sets it), every interpreter a test starts —
# a CLI in a real process, `repm serve`, the Dask workers, the compile above — compiled repm and
# its libraries (~1,500 modules) from source again: ~5 CPU s each, a quarter of a CLI test's time.
# They share one bytecode cache instead, in a folder of this session (nothing is written into the
# environment or the repository, as the setting wants), removed at the end.

_PYC: list[str] = []


def _share_bytecode() -> None:
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    _PYC.append(tempfile.mkdtemp(prefix="repm-test-pyc-"))
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = _PYC[0]


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        _share_bytecode()
    if _warm_wanted(config) and not _only_early(config):
        # at once, so the compile overlaps collection (importing every test module: ~18 CPU s
        # where bytecode is not written) instead of starting after it
        _start_warm()


def _warm_wanted(config: pytest.Config) -> bool:
    return os.environ.get("REPM_TEST_WARM", "1") != "0" and not hasattr(config, "workerinput")


def _worker_warm(config: pytest.Config) -> tuple[int, str] | None:
    """In an xdist worker: the controller's compiling process (pid, the file it writes when it
    ends), or None when the controller started none."""
    return getattr(config, "workerinput", {}).get("repm_warm")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, in the controller: tell each worker which process compiles the engine."""
    for proc, home in _WARM:
        node.workerinput["repm_warm"] = (proc.pid, os.path.join(home, "warm-done"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker per CPU this process may use (not per physical core: a 2-CPU CI
    machine may count one), at most 4; none on a single CPU (then the session runs unsplit)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(cpus, 4)


def _wait_for_worker_warm(pid: int, done: str) -> None:
    """Until the controller's compiling process has ended: its file is there, or it is gone or a
    zombie (killed before writing it); at most _WARM_TIMEOUT."""
    import time

    deadline = time.monotonic() + _WARM_TIMEOUT
    while not os.path.exists(done) and time.monotonic() < deadline:
        try:
            import psutil

            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except ImportError:
            pass
        except Exception:  # psutil.NoSuchProcess: it has ended and been reaped
            return
        time.sleep(0.2)


def _only_early(config: pytest.Config) -> bool:
    """Whether the command line names only EARLY modules (then no test will ask for the engine)."""
    names = [Path(str(a).split("::")[0]).name for a in config.args]
    return bool(names) and all(n in EARLY for n in names)


def _start_warm() -> None:
    if _WARM:
        return
    home = tempfile.mkdtemp(prefix="repm-warm-")
    env = dict(os.environ, REPM_HOME=home)
    proc = sp.Popen(
        [sys.executable, "-c", _WARM_CODE, os.path.join(home, "warm-done"),
         "risk", "--draws", "40", "--chunk", "20", "--json"],
        env=env, stdout=sp.DEVNULL, stderr=sp.DEVNULL, stdin=sp.DEVNULL,
    )  # fmt: skip
    _WARM.append((proc, home))


def _stop_warm() -> None:
    """End the compiling process (Numba writes each cache file whole, by rename) and its store."""
    for proc, home in _WARM:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        shutil.rmtree(home, ignore_errors=True)
    _WARM.clear()


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    worker_warm = _worker_warm(config)
    if not _warm_wanted(config) and worker_warm is None:
        return
    early = [i for i in items if i.path.name in EARLY]
    later = [i for i in items if i.path.name not in EARLY]
    if not later:  # nothing here asks for the compiled engine: no compile (end one started)
        _stop_warm()
        return
    items[:] = early + later  # every xdist worker the same order, as xdist requires
    if worker_warm is None:
        _start_warm()  # unless pytest_configure started it
    from repm.simulate import jit

    ask = jit.compiled
    waited: list[bool] = []

    def compiled_after_warm_up(module):
        if _IN_EARLY[0] and module.__name__ in SMALL:
            return ask(module)
        if worker_warm is not None:
            if not waited:
                _wait_for_worker_warm(*worker_warm)
                waited.append(True)
        for proc, _ in _WARM:
            proc.wait()  # returns at once when it has ended
        return ask(module)

    jit.compiled = compiled_after_warm_up


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    _IN_EARLY[0] = item.path.name in EARLY


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_warm()
    for folder in _PYC:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium through Playwright, launched once for every browser test (the browser
    test modules skip when it is missing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"]
        )
        yield b
        b.close()


@pytest.fixture(autouse=True)
def repm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own run store; nothing reaches the user's data folder."""
    home = tmp_path / "repm_home"
    monkeypatch.setenv("REPM_HOME", str(home))
    return home


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def same_bits(a, b) -> bool:
    """Equal bit for bit (signed zeros and infinities too), NaN where the other is NaN (its
    payload aside): what the engine's speed steps promise of their outputs."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    nan = np.isnan(a)
    return (
        a.shape == b.shape
        and np.array_equal(nan, np.isnan(b))
        and np.array_equal(a[~nan].view(np.uint64), b[~nan].view(np.uint64))
    )


def run_cli(
    args: list[str],
    *,
    home: Path | None = None,
    cwd: Path | None = None,
    subprocess: bool = False,
) -> CliResult:
    """Run `repm ARGS` and return its exit code, stdout and stderr. REPM_HOME is `home` if given,
    else the current environment's (which the autouse fixture has pointed at the test's tmp_path).

    By default the command runs in this interpreter, the way `python -m repm.cli ARGS` would run
    it in a fresh one (a subprocess costs seconds of imports): same argv, same entry point and
    error handling (`UserError` → one line, exit 2), stdout and stderr captured at the file
    descriptor (so C-level output such as a solver banner is caught too), the CLI package
    imported afresh (its rich consoles see a non-terminal stdout, as in a pipe), Python's default
    warning filters with warnings printed on stderr. With `subprocess=True`, or when called from
    a thread other than the main one (the in-process run swaps process-wide state: file
    descriptors, sys.stdout, cwd), it runs in a fresh interpreter instead: use that where the
    process is the point (start-up, imports, a real exit code, several processes at once)."""
    env_home = str(home) if home is not None else os.environ.get("REPM_HOME")
    assert env_home, "tests must never touch the user's run store"
    if subprocess or threading.current_thread() is not threading.main_thread():
        return _run_subprocess(args, env_home, cwd)
    return _run_in_process(args, env_home, cwd)


def _run_subprocess(args: list[str], home: str, cwd: Path | None) -> CliResult:
    env = dict(os.environ, REPM_HOME=home, PYTHONIOENCODING="utf-8")
    proc = sp.run(
        CLI + list(args),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=300,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


# Python's own filters in a fresh interpreter started without -W (see the `warnings` docs)
_DEFAULT_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _exit_status(exc: SystemExit) -> int:
    """The process exit status `raise SystemExit(code)` gives (the interpreter's rule)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _call_cli(args: list[str]) -> int:
    """`python -m repm.cli ARGS` minus the interpreter: the CLI package freshly imported and its
    __main__ run as __main__ (so click names the program as it would), returning the exit status."""
    saved_modules = {
        k: m for k, m in sys.modules.items() if k == CLI_MODULE or k.startswith(CLI_MODULE + ".")
    }
    parent = sys.modules.get(CLI_MODULE.rpartition(".")[0])
    had_attr = parent is not None and hasattr(parent, "cli")
    saved_attr = getattr(parent, "cli", None)
    for k in saved_modules:
        del sys.modules[k]
    sys.argv = ["repm", *args]  # runpy puts the module's path in argv[0], as `-m` does
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(_DEFAULT_FILTERS):
                warnings.filterwarnings(action, category=category, module=module)
            warnings.showwarning = _show_warning
            runpy.run_module(CLI_MODULE, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as exc:
        return _exit_status(exc)
    except KeyboardInterrupt:
        raise
    except BaseException:
        traceback.print_exc()  # what the interpreter prints for an uncaught exception
        return 1
    finally:
        for k in [k for k in sys.modules if k == CLI_MODULE or k.startswith(CLI_MODULE + ".")]:
            del sys.modules[k]
        sys.modules.update(saved_modules)
        if parent is not None:
            if had_attr:
                parent.cli = saved_attr
            elif hasattr(parent, "cli"):
                del parent.cli


def _text_stream(fd: int, **kw) -> io.TextIOWrapper:
    """A text stream on file descriptor `fd` (left open), as the interpreter makes sys.stdout."""
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", **kw)


def _run_in_process(args: list[str], home: str, cwd: Path | None) -> CliResult:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    saved_env = os.environ.get("REPM_HOME")
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    saved_streams = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        saved_fds = os.dup(1), os.dup(2)
        try:
            os.dup2(out_f.fileno(), 1)
            os.dup2(err_f.fileno(), 2)
            # what a fresh interpreter writing into pipes has (PYTHONIOENCODING=utf-8)
            sys.stdout = _text_stream(1)
            sys.stderr = _text_stream(2, errors="backslashreplace", line_buffering=True)
            os.environ["REPM_HOME"] = home
            if cwd is not None:
                os.chdir(cwd)
            code = _call_cli(list(args))
        finally:
            for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                try:
                    stream.flush()
                except (AttributeError, ValueError, OSError):
                    pass
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            sys.argv = saved_argv
            os.chdir(saved_cwd)
            if saved_env is None:
                os.environ.pop("REPM_HOME", None)
            else:
                os.environ["REPM_HOME"] = saved_env
        texts = []
        for f in (out_f, err_f):
            f.seek(0)
            # decoded as subprocess.run(text=True) does: UTF-8, universal newlines
            texts.append(io.TextIOWrapper(io.BytesIO(f.read()), encoding="utf-8").read())
    return CliResult(code, texts[0], texts[1])


def run_cli_many(jobs: dict[str, dict]) -> dict[str, CliResult]:
    """Run several CLI invocations at once, each in its own interpreter (for what only separate
    processes show: several writers to one run store, say). `jobs` maps a key to run_cli keyword
    arguments. Where running at once is not the point, call `run_cli` for each instead: in this
    process that is faster than any number of interpreters."""
    workers = max(2, (os.cpu_count() or 2) + 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            key: pool.submit(run_cli, **{**kw, "subprocess": True}) for key, kw in jobs.items()
        }
        return {key: fut.result() for key, fut in futures.items()}


def load_bench(name: str):
    """bench/NAME.py as a module (the benchmarks are scripts, not part of the package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=64)
def drawn_scenarios(name: str, n: int, seed: int = 0) -> tuple:
    """`n` parameter samples of a shipped scenario as `repm uncertainty` draws them, each its
    validated Scenario (the per-sample path the batched chain modules are checked against)."""
    from repm.analyses.uncertainty.evaluate import Evaluator
    from repm.analyses.uncertainty.structure import Alternatives, Pooled
    from repm.scenario import load_scenario

    ev = Evaluator(load_scenario(name), "magnet_imports", step="yearly", workers=1)
    _, _, at = Pooled([ev], Alternatives.of(name, ())).draw(seed, n)
    return tuple(ev.scenario_at(dict(a)) for a in at)


def unmet_on_the_same_draws(*names: str, draws: int = 2000):
    """Each scenario's unmet demand, draw × year, on the same 2,000 draws of `repm risk` (seed
    0, one chunk), and the years: two scenarios compared draw by draw."""
    from repm.analyses.risk import run_draws
    from repm.chain import compile_chain
    from repm.scenario import load_scenario

    runs, years = [], None
    for name in names:
        loaded = load_scenario(name)
        chain = compile_chain(loaded.scenario)
        years = chain.years
        runs.append(run_draws(chain, loaded.scenario, draws=draws, seed=0, chunk_size=draws).total)
    return (*runs, years)
