"""Errors a user can cause, kept apart from bugs so the CLI can say them in one line."""

from __future__ import annotations

# an error is one line a person reads: a value echoed in it (a 200 KB unit string) is cut
MAX_MESSAGE = 1_000


def cap(text: str, limit: int = MAX_MESSAGE) -> str:
    if len(text) <= limit:
        return text
    left = len(text) - (limit - 40)
    return f"{text[: limit - 40]}… ({left:,} characters left out)"


class UserError(Exception):
    """A user's mistake: bad file, bad value, unknown name. Exit code 2, one line, no traceback.
    `where` names the field or option (the CLI's spelling, `--draws`); `message` is the rest."""

    def __init__(self, message: str, *, where: str | None = None):
        self.where = cap(where, 200) if where else where
        self.message = cap(message)
        super().__init__(f"{self.where}: {self.message}" if where else self.message)

    def for_api(self) -> str:
        """The same line with a CLI option named as the API's field (`--service-level` →
        `service_level`)."""
        where = self.where
        if where and where.startswith("--"):
            where = where[2:].replace("-", "_")
        return f"{where}: {self.message}" if where else self.message


class MassBalanceError(RuntimeError):
    """The engine lost or made mass: a bug, never a user's mistake (exit 1)."""


def fmt_value(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
