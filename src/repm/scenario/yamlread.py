"""Reading a user's YAML strictly, for scenarios and plan files alike: a key given twice in one
mapping is an error (YAML would silently keep the last), a year written as a quoted key
(`"2025": 4010`) is the year 2025 as `--set` and the schema read it, the text must be UTF-8, and
aliases may not expand the document beyond a stated number of values ("YAML bomb")."""

from __future__ import annotations

import re
from typing import Any

import yaml

from repm.errors import UserError, fmt_value
from repm.model.facts import SAFE_LOADER

# a scenario is a few hundred values; aliases may not make it expand beyond this
MAX_YAML_VALUES = 100_000
_YEAR = re.compile(r"[0-9]{1,6}")


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, mark) -> None:
        super().__init__(message)
        self.message, self.mark = message, mark


class StrictLoader(SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader (libyaml's parser where built), refusing duplicate keys and reading
    digit-only keys as integers (years)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _Refused(
                    f"a {type(key).__name__} used as a key; expected a name or a year",
                    key_node.start_mark,
                ) from None
            norm = int(key) if isinstance(key, str) and _YEAR.fullmatch(key) else key
            if norm in seen:
                raise _Refused(
                    f"key {fmt_value(key)} given twice (first at line {seen[norm] + 1}); "
                    "expected each key once",
                    key_node.start_mark,
                )
            seen[norm] = key_node.start_mark.line
        data = super().construct_mapping(node, deep=deep)
        return {
            (int(k) if isinstance(k, str) and _YEAR.fullmatch(k) else k): v for k, v in data.items()
        }


def decode(data: bytes, where: str) -> str:
    """UTF-8 text, or a one-line error naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(
            f"not UTF-8 text (line {line}: byte {data[exc.start : exc.start + 1]!r}); "
            "expected a UTF-8 YAML file",
            where=where,
        ) from None


def expanded_size(data: Any, limit: int) -> int:
    """How many values `data` holds once every alias is written out (a shared block counts each
    time it is referred to); a block that contains itself counts as more than `limit`."""
    memo: dict[int, int] = {}

    def size(x: Any) -> int:
        if not isinstance(x, dict | list):
            return 1
        if id(x) in memo:
            return memo[id(x)]
        memo[id(x)] = limit + 1  # reached again while still being counted: a cycle
        items = [*x.keys(), *x.values()] if isinstance(x, dict) else x
        n = 1
        for v in items:
            n += size(v)
            if n > limit:
                break
        memo[id(x)] = n
        return n

    return size(data)


def read_mapping(
    text: str, where: str, *, expected: str = "a scenario mapping", limit: int = MAX_YAML_VALUES
) -> dict[str, Any]:
    """A YAML document that must be a mapping, read strictly; one-line errors."""
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a safe loader
    except RecursionError:
        raise UserError(f"YAML nests too deeply; expected {expected}", where=where) from None
    except _Refused as exc:
        line = f"line {exc.mark.line + 1}: " if exc.mark else ""
        raise UserError(f"{line}{exc.message}", where=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise UserError(
            f"malformed YAML{pos}: {problem}; expected {expected}", where=where
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(
            f"expected {expected} at the top level; got {type(data).__name__}", where=where
        )
    try:
        too_big = expanded_size(data, limit) > limit
    except RecursionError:
        too_big = True
    if too_big:
        raise UserError(
            f"the YAML expands to more than {limit:,} values (through aliases, or an alias to "
            f"itself); expected {expected} of ordinary size",
            where=where,
        )
    return data
