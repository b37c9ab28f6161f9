"""How a setting's raw value (YAML, a variable's text, an override) becomes a typed value, and how a
refused one is said: the rules pydantic does not have (``on``/``off`` booleans, ``null``/``none`` as
None, no booleans as numbers, finite numbers only, numbers as text, no control characters), and
pydantic's own errors (bounds, choices) in the words ``SettingsError`` uses."""

from __future__ import annotations

import math
import re
import types
import typing
from typing import Any, Literal

from pydantic_core import ErrorDetails, PydanticCustomError

from tasks.guards.documents import short_repr

_NONE = ("", "null", "none")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type under ``X | None``, whether None is allowed); a ``Literal`` of strings is ``str``."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
    return (str if typing.get_origin(annotation) is Literal else annotation), optional


def _refuse(text: str, value: Any = None) -> PydanticCustomError:
    return PydanticCustomError("setting", text + ("" if value is None else f", got {short_repr(value)}"))


def checked_input(value: Any, annotation: Any) -> Any:
    """``value`` as the setting's type (a ``PydanticCustomError`` when it cannot be)."""
    typ, optional = base_type(annotation)
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
        if optional:
            return None
        raise _refuse("a value is required")
    if typ is bool:
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _TRUE + _FALSE:
            return value if isinstance(value, bool) else text in _TRUE
        raise _refuse("expected true/false", value)
    if typ is int:
        return _integer(value)
    if typ is float:
        return _number(value)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _refuse("expected a string", value)
    if _CONTROL.search(str(value)):
        raise _refuse("control characters are not allowed", str(value))
    return str(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise _refuse("expected an integer", value)
    try:
        return int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise _refuse("expected an integer", value) from None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _refuse("expected a number", value)
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _refuse("expected a number", value) from None
    if not math.isfinite(out):
        raise _refuse("must be a finite number", value)
    return out


def error_text(error: ErrorDetails, annotation: Any) -> str:
    """One pydantic error on a setting, said as the rest of the factory's settings errors are."""
    ctx = error.get("ctx") or {}
    if error["type"] == "greater_than_equal":
        return f"must be at least {ctx['ge']}, got {error['input']!r}"
    if error["type"] == "literal_error":
        typ = annotation if typing.get_origin(annotation) is Literal else base_type(annotation)[0]
        return f"must be one of {', '.join(map(str, typing.get_args(typ)))}, got {short_repr(error['input'])}"
    return str(error["msg"])
