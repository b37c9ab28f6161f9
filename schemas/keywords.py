"""JSON Schemas from record types: one definition per record (``schemas.records``), its schema generated.

A field's JSON type comes from its annotation (``str``, ``int``, ``float``, ``bool``, ``X | None``,
``list[X]``, ``dict[str, str]``, ``Literal[...]`` → ``enum``, a nested record → its object schema); what
the annotation cannot say (patterns, lengths, bounds, descriptions) comes from ``Annotated[T, Keywords(…)]``.
A field is required when it has no default, unless its ``Keywords`` say otherwise. The schema's
description is the class docstring; ``TITLE``, ``VERSION`` and ``SCHEMA_EXTRA`` (keywords of the whole
object) may be set on the class. ``python -m schemas.generate`` writes the files.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


@dataclass(frozen=True)
class Keywords:
    """JSON Schema keywords of one field beyond its type; ``required`` overrides "no default → required"."""

    keywords: dict[str, Any]
    required: bool | None = None

    def __init__(self, required: bool | None = None, **keywords: Any) -> None:
        object.__setattr__(self, "keywords", keywords)
        object.__setattr__(self, "required", required)


def type_schema(annotation: Any) -> dict[str, Any]:
    """The JSON Schema an annotation implies (without ``Keywords``)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        kw = _keywords(annotation)
        return {**type_schema(args[0]), **({k: _expand(v) for k, v in kw.keywords.items()} if kw else {})}
    if annotation is Any:
        return {}
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        base = type_schema(inner[0])
        if "type" in base:
            base["type"] = [base["type"], "null"]
        if "enum" in base:
            base["enum"] = [*base["enum"], None]
        return base
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin is list:
        item = type_schema(args[0]) if args else {}
        return {"type": "array", **({"items": item} if item else {})}
    if origin is dict:
        value = type_schema(args[1]) if len(args) == 2 and args[1] is not Any else {}
        return {"type": "object", **({"additionalProperties": value} if value else {})}
    if dataclasses.is_dataclass(annotation):
        return object_schema(annotation)
    return {"type": _SIMPLE[annotation]}


def _expand(value: Any) -> Any:
    """A keyword's value; a record type stands for its object schema (``items=Step``)."""
    return object_schema(value) if isinstance(value, type) and dataclasses.is_dataclass(value) else value


def _keywords(annotation: Any) -> Keywords | None:
    if typing.get_origin(annotation) is typing.Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, Keywords)), None)
    return None


def object_schema(cls: type) -> dict[str, Any]:
    """``type: object`` with every field of the dataclass ``cls`` (required ones listed, no others allowed)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    properties, required = {}, []
    for f in dataclasses.fields(cls):
        kw = _keywords(hints[f.name])
        properties[f.name] = type_schema(hints[f.name])
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if (kw.required if kw and kw.required is not None else not has_default):
            required.append(f.name)
    return {"type": "object", "required": required, "additionalProperties": False, "properties": properties}


def record_schema(cls: type) -> dict[str, Any]:
    """The whole schema file of a record type (``SCHEMA`` names it, ``VERSION`` versions it)."""
    body = object_schema(cls)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"toolfactory/{cls.SCHEMA}",
            "title": getattr(cls, "TITLE", cls.__name__), "description": " ".join((cls.__doc__ or "").split()),
            "version": getattr(cls, "VERSION", 1), **body, **getattr(cls, "SCHEMA_EXTRA", {})}
