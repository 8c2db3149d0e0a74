"""The shipped fact table: every default number repm uses, with its sources and grade.

Facts live in `repm/data/facts/*.yaml`, one file per topic, each with a `sources:` list and a
`facts:` list. A fact is a value (or a low/high range whose midpoint is its central value)
with a unit, a year, source ids, a reliability grade and a note. Sources that disagree are
recorded as separate facts in one `conflict` group; exactly one of them carries
`baseline: true` and says why in `note`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from repm.errors import UserError

Grade = Literal["A", "B", "C", "derived", "assumption"]
SourceKind = Literal[
    "official", "paper", "press", "seed", "company", "vendor", "aggregator", "data"
]


class Source(BaseModel):
    """A document a fact comes from. Seed articles are cited by title, publisher and date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    publisher: str
    date: str = Field(description="ISO date, or year/month, or 'n.d.'")
    kind: SourceKind
    url: str | None = None
    note: str | None = None

    def cite(self) -> str:
        return f"“{self.title}”, {self.publisher}, {self.date}"


class Fact(BaseModel):
    """One number with provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    year: int | str | None = None
    sources: list[str] = Field(default_factory=list)
    grade: Grade
    note: str
    derived_from: list[str] = Field(default_factory=list)
    conflict: str | None = None
    baseline: bool | None = None

    @model_validator(mode="after")
    def _value_or_range(self) -> Fact:
        if self.value is None and (self.low is None or self.high is None):
            raise ValueError("needs `value`, or both `low` and `high`")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        if self.grade in ("A", "B", "C") and not self.sources:
            raise ValueError(f"grade {self.grade} needs at least one source id")
        if self.grade == "derived" and not (self.derived_from or self.sources):
            raise ValueError("a derived fact names the facts it is derived from")
        return self

    @property
    def central(self) -> float:
        """The value the model uses: `value`, else the midpoint of the range."""
        if self.value is not None:
            return float(self.value)
        return (float(self.low) + float(self.high)) / 2.0  # type: ignore[arg-type]

    def shown(self) -> str:
        if self.low is not None and self.high is not None:
            rng = f"{_g(self.low)}–{_g(self.high)}"
            return rng if self.value is None else f"{_g(self.value)} ({rng})"
        return _g(self.central)


def _g(x: float) -> str:
    return f"{x:,.6g}"


class _FactFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[Source] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)


@dataclass(frozen=True)
class FactTable:
    """All facts and sources, checked for dangling references and unit syntax."""

    facts: dict[str, Fact]
    sources: dict[str, Source]
    origin_file: dict[str, str]

    def __contains__(self, fact_id: str) -> bool:
        return fact_id in self.facts

    def get(self, fact_id: str, *, where: str | None = None) -> Fact:
        try:
            return self.facts[fact_id]
        except KeyError:
            raise UserError(
                f"unknown fact id {fact_id!r}; expected one of the ids listed by `repm facts`",
                where=where,
            ) from None

    def value(self, fact_id: str, unit: str | None = None) -> float:
        """Central value of a fact, optionally converted to `unit`."""
        fact = self.get(fact_id)
        if unit is None or unit == fact.unit:
            return fact.central
        from repm.model.units import registry  # pint is slow to load: only when converting

        ureg = registry()
        return float(ureg.Quantity(fact.central, fact.unit).to(unit).magnitude)

    def conflicts(self) -> dict[str, list[Fact]]:
        groups: dict[str, list[Fact]] = {}
        for f in self.facts.values():
            if f.conflict:
                groups.setdefault(f.conflict, []).append(f)
        return dict(sorted(groups.items()))

    def lineage(self, fact_id: str) -> list[Fact]:
        """The fact and, depth first, the facts it was derived from."""
        seen: list[Fact] = []

        def walk(fid: str) -> None:
            f = self.get(fid)
            if f in seen:
                return
            seen.append(f)
            for parent in f.derived_from:
                walk(parent)

        walk(fact_id)
        return seen


def _data_files() -> Iterable[tuple[str, str]]:
    folder = resources.files("repm") / "data" / "facts"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            yield entry.name, entry.read_text(encoding="utf-8")


def build_table(files: Iterable[tuple[str, str]]) -> FactTable:
    facts: dict[str, Fact] = {}
    sources: dict[str, Source] = {}
    origin: dict[str, str] = {}
    for name, text in files:
        try:
            raw = yaml.load(text, Loader=SAFE_LOADER) or {}
            parsed = _FactFile.model_validate(raw)
        except (yaml.YAMLError, ValidationError) as exc:
            raise RuntimeError(f"shipped fact file {name} is invalid: {exc}") from exc
        for s in parsed.sources:
            if s.id in sources:
                raise RuntimeError(f"{name}: source id {s.id!r} defined twice")
            sources[s.id] = s
        for f in parsed.facts:
            if f.id in facts:
                raise RuntimeError(f"{name}: fact id {f.id!r} defined twice")
            facts[f.id] = f
            origin[f.id] = name
    from repm.model.units import registry

    ureg = registry()
    for f in facts.values():
        for sid in f.sources:
            if sid not in sources:
                raise RuntimeError(f"{origin[f.id]}: fact {f.id!r} cites unknown source {sid!r}")
        for pid in f.derived_from:
            if pid not in facts:
                raise RuntimeError(f"{origin[f.id]}: fact {f.id!r} derives from unknown {pid!r}")
        try:
            ureg.parse_units(f.unit)
        except Exception as exc:
            raise RuntimeError(f"{origin[f.id]}: fact {f.id!r} has bad unit {f.unit!r}") from exc
    table = FactTable(facts=facts, sources=sources, origin_file=origin)
    for group, members in table.conflicts().items():
        chosen = [m for m in members if m.baseline]
        if len(chosen) != 1:
            raise RuntimeError(
                f"conflict group {group!r} must mark exactly one fact baseline: true"
            )
    return table


# libyaml's parser where PyYAML was built with it (~5× faster); both refuse `!!python/…` tags
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CACHE_FORMAT = b"repm facts cache 1"


def cache_dir() -> Path:
    """Where compiled tables are kept: $REPM_CACHE_DIR, else the user's cache folder (not the run
    store: a cache may be deleted at any time)."""
    folder = os.environ.get("REPM_CACHE_DIR")
    if folder:
        return Path(folder)
    import platformdirs

    return Path(platformdirs.user_cache_dir("repm"))


def _content_key(files: list[tuple[str, str]]) -> str:
    """Hash of everything the built table depends on: the fact files, this module's source (the
    models pickled), and the Python and pydantic versions (their pickle formats)."""
    h = hashlib.sha256(_CACHE_FORMAT)
    h.update(Path(__file__).read_bytes())
    h.update(f"{sys.version_info[:2]} {pydantic.VERSION}".encode())
    for name, text in files:
        h.update(f"\0{name}\0{len(text)}\0".encode())
        h.update(text.encode())
    return h.hexdigest()[:32]


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to path through a temporary file renamed over it, so a concurrent reader sees
    the old file or the whole new one, and two writers simply both write the same content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_table(files: list[tuple[str, str]]) -> FactTable:
    """`build_table(files)`, kept compiled (pickled) in `cache_dir()` under the hash of its inputs:
    parsing, validating and unit-checking the YAML takes ~0.5 s, loading the pickle ~5 ms. A
    missing, unreadable or stale cache file is rebuilt; a cache folder that cannot be written
    only costs the time."""
    path = cache_dir() / f"facts-{_content_key(files)}.pickle"
    try:
        table = pickle.loads(path.read_bytes())
        if isinstance(table, FactTable):
            return table
    except Exception:  # noqa: S110 - absent or unreadable: build it again
        pass
    table = build_table(files)
    try:
        _write_atomically(path, pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass
    return table


@lru_cache(maxsize=1)
def load_facts() -> FactTable:
    """The shipped fact table (cached in memory and, compiled, on disk; immutable)."""
    return cached_table(list(_data_files()))


def today() -> str:
    return dt.date.today().isoformat()
