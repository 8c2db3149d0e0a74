"""The Scenario's models walked and copied generically, for the fast path of a block of samples
(fastpath.py): where a raw key path lands in a Scenario and which field type converts it
(`field_of`), a model's after-mode validators as pydantic runs them (`_validators`), and the
copying plan compiled to one function that makes a sample's Scenario from the template and its
drawn values (`compile_copier`). Anything else (a field that is not a quantity, a before- or
wrap-mode validator on a drawn field, extra fields) raises `Unsupported`: the slow path."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic._internal._decorators import inspect_validator
from pydantic_core import PydanticUndefined

from repm.scenario import fields as F
from repm.scenario.samples import at


class Unsupported(Exception):
    """Something in the scenario this path does not convert: its blocks take the slow path."""


class Info:
    """What the scenario's validators read of pydantic's ValidationInfo."""

    __slots__ = ("config", "context", "data", "field_name", "mode")

    def __init__(self, context: dict, field_name: str | None = None, data: dict | None = None):
        self.context, self.field_name, self.data = context, field_name, data
        self.mode, self.config = "python", None


def _unwrap(ann: Any, meta: tuple = ()) -> tuple[Any, tuple]:
    """A field type without Annotated (its metadata gathered) and without `| None`."""
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            args = typing.get_args(ann)
            ann, meta = args[0], (*meta, *args[1:])
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) != 1:
                return ann, meta
            ann = args[0]
        else:
            return ann, meta


def field_of(template: BaseModel, raw_path: tuple) -> tuple[tuple, Any]:
    """The Scenario field path of a raw key path and the field type's BeforeValidator function
    there (`_quantity`'s convert, with its `spec`, or `_free_quantity`)."""
    obj, ann, meta, out = template, None, (), []
    for k in raw_path:
        if isinstance(obj, BaseModel):
            f = type(obj).model_fields.get(k) if isinstance(k, str) else None
            if f is None:
                raise Unsupported(f"{raw_path}: no field {k!r}")
            ann, meta, key = f.annotation, tuple(f.metadata), k
        else:
            base, _ = _unwrap(ann, meta)
            args = typing.get_args(base)
            if isinstance(obj, dict) and typing.get_origin(base) is dict:
                key = k if k in obj else _int_key(k, obj, raw_path)
                ann, meta = args[1], ()
            elif isinstance(obj, list) and typing.get_origin(base) is list:
                key = k
                ann, meta = args[0], ()
            else:
                raise Unsupported(f"{raw_path}: not a container at {k!r}")
        obj = obj[key] if isinstance(obj, dict | list) else getattr(obj, key)
        out.append(key)
    _, meta = _unwrap(ann, meta)
    funcs = [m.func for m in meta if isinstance(m, BeforeValidator)]
    if len(funcs) != 1 or not (hasattr(funcs[0], "spec") or funcs[0] is F._free_quantity):
        raise Unsupported(f"{raw_path}: not a quantity field")
    return tuple(out), funcs[0]


def _int_key(k: Any, obj: dict, raw_path: tuple) -> Any:
    try:
        key = int(k)  # pydantic reads a year key written as text as its number
    except (TypeError, ValueError):
        key = None
    if key not in obj:
        raise Unsupported(f"{raw_path}: no key {k!r}")
    return key


def _validators(cls: type[BaseModel]) -> tuple[list, list, set]:
    """A model's after-mode validators as pydantic runs them: each field's in definition order
    (field order), then the model's; and the fields a before-mode validator reads."""
    decs = cls.__pydantic_decorators__
    fields, before = [], set()
    for name in cls.model_fields:
        got = []
        for d in decs.field_validators.values():
            if name in d.info.fields or "*" in d.info.fields:
                if d.info.mode != "after":
                    before.add(name)
                    continue
                got.append((d.func, inspect_validator(d.func, mode="after", type="field")))
        if got:
            fields.append((name, got))
    models = [
        (d.func, inspect_validator(d.func, mode="after", type="model"))
        for d in decs.model_validators.values()
        if d.info.mode == "after"
    ]
    if any(d.info.mode not in ("after", "before") for d in decs.model_validators.values()):
        raise Unsupported(f"{cls.__name__}: a wrap model validator")
    return fields, models, before


def after_of(field) -> Any:
    """The one AfterValidator function of a field's type (the `uncertainty:` block's check)."""
    funcs = [m.func for m in field.metadata if isinstance(m, AfterValidator)]
    if len(funcs) != 1:
        raise Unsupported("uncertainty: not one AfterValidator")
    return funcs[0]


_VALIDATORS: dict[type, tuple] = {}


def compile_copier(template: BaseModel, trie: dict):
    """The copying plan as one straight-line function `build(row, info)` (a sample copies ~120
    models and containers; walking a generic plan cost as much as the copies): each container
    on a drawn path copied with its slots' values (`row[i]`) and its copied children, each model
    made as `model_copy(update=…)` makes it (its __dict__, fields set and private attributes
    copied, the update applied), then its after-mode field validators (in field order) and model
    validators, as pydantic runs them once a model's fields are validated."""
    env: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_I": Info}
    lines: list[str] = []

    def const(x: Any) -> str:
        env[f"c{len(env)}"] = x
        return f"c{len(env) - 1}"

    def emit(obj: Any, trie: dict) -> str:
        kids = {k: v if isinstance(v, int) else emit(at(obj, (k,)), v) for k, v in trie.items()}
        me = f"v{len(lines)}"
        vals = ", ".join(f"{const(k)}: {f'row[{v}]' if isinstance(v, int) else v}"
                         for k, v in kids.items())  # fmt: skip
        if isinstance(obj, dict):
            lines.append(f"{me} = {const(obj)}.copy(); {me}.update({{{vals}}})")
        elif isinstance(obj, list):
            lines.append(f"{me} = list({const(obj)})")
            lines.extend(f"{me}[{k}] = {f'row[{v}]' if isinstance(v, int) else v}"
                         for k, v in kids.items())  # fmt: skip
        elif isinstance(obj, BaseModel):
            lines.extend(_model(me, obj, vals, set(trie), const))
        else:
            raise Unsupported(f"{type(obj).__name__}: not a container")
        return me

    root = emit(template, trie)
    body = "\n    ".join(["ctx = info.context", *lines, f"return {root}"])
    exec(compile(f"def build(row, info):\n    {body}\n", "<fastpath plan>", "exec"), env)
    return env["build"]


def _model(me: str, obj: BaseModel, vals: str, drawn: set, const) -> list[str]:
    """The lines that copy model `obj` into `me` with fields `vals` and validate it."""
    cls = type(obj)
    if cls not in _VALIDATORS:
        _VALIDATORS[cls] = _validators(cls)
    fields, models, before = _VALIDATORS[cls]
    if before & drawn:
        raise Unsupported(f"{cls.__name__}: a before-mode validator on a drawn field")
    if obj.__pydantic_extra__ is not None:
        raise Unsupported(f"{cls.__name__}: extra fields")
    private = getattr(obj, "__pydantic_private__", None)
    if private is not None:
        private = {k: v for k, v in private.items() if v is not PydanticUndefined}
    lines = [
        f"d = {const(obj.__dict__)}.copy(); d.update({{{vals}}})",
        f"{me} = _new({const(cls)}); _set({me}, '__dict__', d)",
        f"_set({me}, '__pydantic_extra__', None)",
        f"_set({me}, '__pydantic_fields_set__', {const(obj.__pydantic_fields_set__ | drawn)}.copy())",
        f"_set({me}, '__pydantic_private__', "
        f"{'None' if private is None else f'{const(private)}.copy()'})",
    ]
    for name, funcs in fields:  # a field not copied holds the template's validated value
        for func, with_info in funcs if name in drawn else ():
            args = f"d[{name!r}], _I(ctx, {name!r}, d)" if with_info else f"d[{name!r}]"
            lines.append(f"d[{name!r}] = {const(func)}({args})")
    for func, with_info in models:
        lines.append(f"{me} = {const(func)}({me}{', info' if with_info else ''})")
    return lines
