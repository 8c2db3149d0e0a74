"""Errors a user can cause, kept apart from bugs so the CLI can say them in one line."""

from __future__ import annotations


class UserError(Exception):
    """A user's mistake: bad file, bad value, unknown name. Exit code 2, one line, no traceback."""

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class MassBalanceError(RuntimeError):
    """The engine lost or made mass: a bug, never a user's mistake (exit 1)."""


def fmt_value(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
