"""`repm run` as a user runs it, one command a parameter sample (bench/uncertainty.py's reference
for the issue's "≥ 100× a loop of separate `repm run` evaluations").

A sample's facts reach `repm run` through `--set PATH=VALUE`, one a field: each value the sample
changes (the drawn facts at their references, the shares rescaled to one whole) written as the
Evaluator writes it. A risk event given by `preset` takes an own key whole (presets.with_preset),
so a value under such a key is set with all of that key's values. Each command writes its run
to a temporary store, as `repm run` does; its magnet_imports is checked against the Evaluator's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _leaves(node: Any, path: tuple = ()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path, node


def _at(node: Any, path: tuple) -> Any:
    for k in path:
        try:
            node = node[k]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


_MISSING = object()


def set_args(ev, values: dict[str, float]) -> list[str]:
    """`--set` arguments that give `repm run` this sample's scenario."""
    raw = _raw(ev, values)
    events = (ev.loaded.raw.get("risk") or {}).get("events") or []
    paths: dict[tuple, Any] = {}
    for path, v in _leaves(raw):
        if _at(ev.raw, path) == v:
            continue
        own = events[path[2]] if path[:2] == ("risk", "events") else {}
        if "preset" in own and path[3] not in own and len(path) > 4:  # a preset's key: whole
            for p, w in _leaves(_at(raw, path[:4]), path[:4]):
                paths[p] = w
        else:
            paths[path] = v
    out = []
    for path, v in paths.items():
        text = json.dumps(v) if isinstance(v, str) else repr(v)
        out += ["--set", f"{'.'.join(map(str, path))}={text}"]
    return out


def _raw(ev, values: dict[str, float]) -> dict:
    """The sample's merged mapping as texts (what Evaluator.scenario_at validates)."""
    from repm.analyses.uncertainty.drawn import normalise, substitute

    raw = substitute(ev.raw, values, ev.table, ev._facts_read)
    normalise(raw, ev.raw, values, ev.rule, ev.table, ev._wholes)
    return raw


def time_runs(ev, samples: list[dict[str, float]], want: np.ndarray) -> tuple[float, int]:
    """Wall seconds per `repm run` of each sample (its own process, as from a shell) and how many
    gave the Evaluator's magnet_imports (`want`, sample × year) bit for bit."""
    exe = shutil.which("repm", path=str(Path(sys.executable).parent)) or shutil.which("repm")
    if exe is None:
        raise SystemExit("no `repm` command next to this Python")
    same, seconds = 0, 0.0
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "REPM_HOME": home}
        for values, expected in zip(samples, want, strict=True):
            cmd = [exe, "run", ev.loaded.source, "--json", *set_args(ev, values)]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            seconds += time.perf_counter() - t0
            if done.returncode != 0:
                raise SystemExit(f"repm run failed: {done.stderr.strip()[-500:]}")
            rows = json.loads(done.stdout)["indicators"]
            got = {r["year"]: r["value"] for r in rows  # the total: the row without keys
                   if r["name"] == "magnet_imports" and len(r) == 4}  # fmt: skip
            same += np.array_equal(np.array([got[y] for y in ev.years]), expected)
    return seconds / len(samples), same
