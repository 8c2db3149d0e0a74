"""The model definition, in the manner of flodym's `MFADefinition`: dimensions, elements, grade
classes, sectors, materials, processes, flows and stocks declared as validated data
(`data/model.yaml`). Everything that indexes an array — the engine's material kinds and flow
table, the planner's sets, the scenario's closed lists, the result coordinates — is derived
from one `ModelDefinition`, so a sector, a grade class or an element is added in one place.

Materials are not listed one by one: each separated product (NdPr, Dy, Tb) has an oxide and a
metal form, and each grade class an alloy, a bare magnet and a magnet embedded in imported
sub-assemblies (`magnet_uh`, …), in that order.
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KINDS = ("oxide", "metal", "alloy", "magnet", "embedded")  # the engine's material kinds, in order
ElementGroup = Literal["light", "heavy", "actinide"]
_NAME = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Element(_Frozen):
    group: ElementGroup


class BasketElement(_Frozen):
    """An element of monazite's whole content: `oxide`, the formula it is counted in (REO,
    ThO2, U3O8, P2O5); `kind`, what it is (rare earths are recovered at cracking into the
    chloride, actinides go to the residue, phosphorus to the phosphate by-product)."""

    oxide: dict[str, float]
    kind: Literal["rare_earth", "actinide", "phosphate"]


class Grade(_Frozen):
    """A magnet grade class. What it contains is scenario data (`supply.grades`), so which
    export controls reach it is decided by its content (`reached_grades`), not declared here."""

    label: str


class Separated(_Frozen):
    """A separated product (NdPr, Dy, Tb), bought and stocked as oxide or metal."""

    elements: list[str] = Field(min_length=1)
    trade_group: dict[Literal["oxide", "metal"], str]


class GradeForm(_Frozen):
    trade_group: str


class Material(_Frozen):
    """A tradable or stockable material, derived from the definition."""

    name: str
    kind: str  # one of KINDS
    trade_group: str  # the scenario's material group for shares, spare capacity and prices
    elements: tuple[str, ...] = ()  # separated materials: the elements they carry
    grade: str | None = None  # alloys and magnets: their grade class
    heavy: bool = False  # separated products of heavy rare earths (Dy, Tb)

    @property
    def stockable(self) -> bool:
        """The planner may hold a strategic stockpile of it (oxides and bare magnets)."""
        return self.kind in ("oxide", "magnet")

    @property
    def sizable(self) -> bool:
        """`repm stockpile` may size a stockpile of it (oxides, metals, bare magnets)."""
        return self.kind in ("oxide", "metal", "magnet")

    @property
    def in_plan(self) -> bool:
        """The planner buys it (oxide for domestic units, bare and embedded magnets)."""
        return self.kind in ("oxide", "magnet", "embedded")


class Flow(_Frozen):
    name: str
    source: str
    target: str


class ModelDefinition(_Frozen):
    """The chain's structure. Built from `data/model.yaml` by `load_definition`."""

    dimensions: dict[str, str]
    elements: dict[str, Element]
    grades: dict[str, Grade]
    sectors: list[str] = Field(min_length=1)
    channels: list[str]
    feeds: list[Literal["oxide", "metal", "alloy"]]
    stages: list[str]
    separated: dict[str, Separated]
    grade_forms: dict[Literal["alloy", "magnet", "embedded"], GradeForm]
    processes: list[str]
    boundary: list[str]
    stocks: list[str]
    flows: dict[str, tuple[str, str]]
    basket: dict[str, BasketElement]

    @model_validator(mode="after")
    def _consistent(self) -> ModelDefinition:
        """Like flodym's dimension checks: nothing refers to what is not declared."""
        import re

        errors: list[str] = []
        for what, names in (
            ("grades", list(self.grades)), ("sectors", self.sectors), ("separated", list(self.separated)),
        ):  # fmt: skip
            bad = [n for n in names if not re.match(_NAME, n)]
            if bad:
                errors.append(f"{what}: {bad[0]!r}; expected lower-case letters, digits and _")
        if len(set(self.sectors)) != len(self.sectors):
            errors.append("sectors: a name appears twice")
        if not self.grades:
            errors.append("grades: expected at least one grade class")
        for name, sep in self.separated.items():
            unknown = [e for e in sep.elements if e not in self.elements]
            if unknown:
                errors.append(f"separated.{name}.elements: unknown element {unknown[0]!r}")
        nodes = set(self.processes) | set(self.boundary)
        for name, (a, b) in self.flows.items():
            for end in (a, b):
                if end not in nodes:
                    errors.append(f"flows.{name}: {end!r} is neither a process nor the boundary")
        seen = list(dict.fromkeys(p for a, b in self.flows.values() for p in (a, b)))
        order = [p for p in seen if p in self.processes]
        if order != self.processes:
            errors.append(
                f"processes: {self.processes}; expected every process, in the order the flows "
                f"first reach them: {order}"
            )
        for s in self.stocks:
            if s not in self.processes:
                errors.append(f"stocks: {s!r} is not a process")
        missing = [e for e in self.elements if e not in self.basket]
        if missing:
            errors.append(
                f"basket: {missing[0]!r} is an element of the engine but not of monazite's basket"
            )
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # --- derived tables -------------------------------------------------------------------
    @cached_property
    def element_names(self) -> tuple[str, ...]:
        return tuple(self.elements)

    @cached_property
    def basket_names(self) -> tuple[str, ...]:
        """Monazite's whole content, in the basket's order (the engine's elements among them)."""
        return tuple(self.basket)

    def basket_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(e for e, v in self.basket.items() if v.kind == kind)

    @cached_property
    def grade_names(self) -> tuple[str, ...]:
        return tuple(self.grades)

    @cached_property
    def materials(self) -> tuple[Material, ...]:
        out: list[Material] = []
        for form in ("oxide", "metal"):
            for name, sep in self.separated.items():
                heavy = any(self.elements[e].group == "heavy" for e in sep.elements)
                out.append(
                    Material(
                        name=f"{name}_{form}", kind=form, trade_group=sep.trade_group[form],
                        elements=tuple(sep.elements), heavy=heavy,
                    )
                )  # fmt: skip
        for form, spec in self.grade_forms.items():
            for g in self.grades:
                out.append(
                    Material(name=f"{form}_{g}", kind=form, trade_group=spec.trade_group, grade=g)
                )
        return tuple(out)

    @cached_property
    def material_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.materials)

    def material(self, name: str) -> Material:
        return self.materials[self.material_names.index(name)]

    def names(self, **where) -> tuple[str, ...]:
        """Material names whose attributes equal `where` (e.g. kind='oxide', stockable=True),
        each selection made once per definition (a parameter sample's indicators ask again)."""
        try:
            key = tuple(sorted(where.items()))
            return self._names_made[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: made each time
            key = None
        out = tuple(
            m.name for m in self.materials if all(getattr(m, k) == v for k, v in where.items())
        )
        if key is not None:
            self._names_made[key] = out
        return out

    @cached_property
    def _names_made(self) -> dict[tuple, tuple[str, ...]]:
        return {}

    def form(self, kind: str, grade: str) -> str:
        """The material of a grade class in one form: form('magnet', 'uh') → 'magnet_uh'."""
        return f"{kind}_{grade}"

    @cached_property
    def trade_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.trade_group for m in self.materials))

    @cached_property
    def material_group(self) -> dict[str, str]:
        return {m.name: m.trade_group for m in self.materials}

    @cached_property
    def recycled_into(self) -> dict[str, str]:
        """element → the oxide it is recovered into at end of life (elements with no oxide
        material, e.g. Th, are not recovered)."""
        return {e: m.name for m in self.materials if m.kind == "oxide" for e in m.elements}

    def element_groups(self, group: str) -> tuple[str, ...]:
        """Elements of a group ('light', 'heavy'; 'all': both)."""
        return tuple(
            e for e, v in self.elements.items()
            if v.group == group or (group == "all" and v.group != "actinide")
        )  # fmt: skip

    def restricted_by(self, group: str, include_magnets: bool, grades=()) -> set[str]:
        """Materials an export control on `group` ('light' or 'heavy') reaches: the separated
        materials of that group and, with `include_magnets`, the alloys and bare magnets of the
        `grades` its content rule reaches (`chain.reached_grades`) — and for light controls also
        magnets embedded in sub-assemblies (every magnet contains NdPr)."""
        heavy = group == "heavy"
        mats = {m.name for m in self.materials if m.kind in ("oxide", "metal") and m.heavy == heavy}
        if include_magnets:
            kinds = ("alloy", "magnet") if heavy else ("alloy", "magnet", "embedded")
            mats |= {m.name for m in self.materials if m.kind in kinds and m.grade in grades}
        return mats

    @cached_property
    def flow_list(self) -> tuple[Flow, ...]:
        return tuple(Flow(name=n, source=a, target=b) for n, (a, b) in self.flows.items())

    @cached_property
    def flow_names(self) -> tuple[str, ...]:
        return tuple(self.flows)

    def with_changes(self, **changes) -> ModelDefinition:
        """A validated copy with some fields replaced (e.g. a sector or grade added)."""
        data = self.model_dump()
        data.update(changes)
        return ModelDefinition.model_validate(data)


DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "model.yaml"


def load_definition(path: Path | str | None = None) -> ModelDefinition:
    """Read and validate a definition file (default: the shipped `data/model.yaml`)."""
    if path is None:
        return default_definition()
    return _read(Path(path))


@cache
def default_definition() -> ModelDefinition:
    return _read(DEFAULT_FILE)


def _read(path: Path) -> ModelDefinition:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    data["flows"] = {k: tuple(v) for k, v in data["flows"].items()}
    return ModelDefinition.model_validate(data)
