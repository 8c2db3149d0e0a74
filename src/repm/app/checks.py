"""The checks every command's options share: counts, draws, seeds, choices, a Dask scheduler's
address, group names, and paths that must be new and writable. Each raises a one-line
`UserError` (field, value, what was expected) before anything slow is imported or written."""

from __future__ import annotations

import numbers
import os
import re
import tempfile
from pathlib import Path

from repm.errors import UserError, fmt_value
from repm.limits import MAX_DRAWS, MAX_SEED


def check_out(out: Path | None) -> None:
    if out is None:
        return
    if Path(out).exists():
        raise UserError(
            f"{str(out)!r} already exists; expected a new folder for the run", where="--out"
        )
    check_writable(Path(out), "--out", "a new folder for the run")


def check_writable(path: Path, where: str, expected: str) -> None:
    """Fail before any work if nothing can be created where `path` would go (a read-only or
    virtual file system such as /proc): a folder is made and removed in its nearest existing
    parent."""
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    try:
        if not parent.is_dir():
            raise NotADirectoryError(f"{parent} is not a folder")
        os.rmdir(tempfile.mkdtemp(prefix=".repm-probe-", dir=parent))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(
            f"{str(path)!r}: cannot write in {str(parent)!r} ({reason}); expected {expected} "
            "in a writable folder",
            where=where,
        ) from None


def check_draws(draws: int, where: str = "--draws", high: int = MAX_DRAWS) -> None:
    if not is_integer(draws):
        raise UserError(f"{fmt_value(draws)}; expected a whole number of draws", where=where)
    if draws < 1:
        raise UserError(f"{draws}; expected at least 1 draw", where=where)
    if draws > high:
        raise UserError(f"{draws:,}; expected at most {high:,} draws", where=where)


def is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_count(value: object, where: str, *, low: int, high: int, what: str = "") -> None:
    """An integer option within its stated range [low, high]."""
    if not is_integer(value) or not low <= value <= high:
        raise UserError(
            f"{fmt_value(value)}; expected an integer from {low:,} to {high:,}{what}", where=where
        )


def check_seed(seed: int) -> None:
    if not is_integer(seed) or not 0 <= seed <= MAX_SEED:
        raise UserError(
            f"{fmt_value(seed)}; expected an integer seed from 0 to 2^63 − 1", where="--seed"
        )


# a Dask scheduler's address: [protocol://]host:port (a name, an IPv4 address or [IPv6])
_ADDRESS = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$"
)


def check_scheduler(scheduler: str | None) -> None:
    if scheduler is None or scheduler == "local":
        return
    m = _ADDRESS.match(scheduler) if isinstance(scheduler, str) else None
    if m is None or not 0 < int(m.group(1)) < 65536:
        raise UserError(
            f"{fmt_value(scheduler)}; expected 'local' or a Dask scheduler address "
            "like tcp://HOST:8786",
            where="--scheduler",
        )


def check_choice(value: object, choices: tuple, where: str) -> None:
    if value not in choices:
        raise UserError(f"{value!r}; expected one of: {', '.join(choices)}", where=where)


def check_new_file(path: Path | None, where: str) -> None:
    if path is not None and (Path(path).is_dir() or not Path(path).parent.exists()):
        raise UserError(f"{str(path)!r}; expected a file path in an existing folder", where=where)
    if path is not None:
        check_writable(Path(path), where, "a file path")


def check_groups(groups: tuple[str, ...]) -> None:
    bad = [g for g in groups if not isinstance(g, str) or not g.strip()]
    if bad or len(set(groups)) != len(groups):
        raise UserError(
            f"{','.join(map(str, groups))!r}; expected distinct, non-empty group names "
            "separated by commas",
            where="--group",
        )
