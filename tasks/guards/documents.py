"""Parsing documents that come from outside — OpenAPI specs, the files they ``$ref``, settings and
backends files — so that no document can run away with memory, the stack or the file system.

In: the document's bytes (the caller reads them, with ``read_capped`` where it reads a path) and
``Limits``. Out: the JSON value, or ``DocumentRefused`` whose ``rule`` names what was broken:

  ``file_too_large``  more bytes than ``Limits.max_bytes``
  ``not_utf8``        the bytes are not UTF-8 text
  ``unparsable``      not JSON / YAML (the parser's first line says where)
  ``too_deep``        nests deeper than ``Limits.max_depth`` (checked without recursion)
  ``alias_expansion`` YAML aliases expand to more than ``Limits.max_nodes`` values (a "billion laughs")
  ``too_many_nodes``  more than ``Limits.max_nodes`` values without aliases
  ``self_reference``  a YAML alias that contains itself (a cyclic value)

YAML is read with the safe loader (no Python tags); aliases are allowed — real specs use them — but
the value they expand to is measured before anything copies or serialises it.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import InvalidInput

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentRefused(InvalidInput):
    """A document broke a rule; ``rule`` is its code, the message is one line."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail

    def about(self, name: str) -> str:
        """The one line ``NAME: RULE: DETAIL`` (the detail's own leading name left out)."""
        return f"{name}: {self.rule}: {self.detail.removeprefix(name).lstrip(': ')}"


@dataclass(frozen=True)
class Limits:
    """Caps for one document. ``max_nodes`` counts every value with YAML aliases expanded."""

    max_bytes: int = 20_000_000
    max_depth: int = 100
    max_nodes: int = 2_000_000


CONFIG_LIMITS = Limits(max_bytes=1_000_000, max_depth=20, max_nodes=10_000)  # a settings-like YAML file


def read_config_document(path: str | Path, limits: Limits = CONFIG_LIMITS) -> Any:
    """A small YAML (or JSON) config file — settings, backends, an SFT config — read at most
    ``limits.max_bytes`` + 1 bytes (so ``/dev/zero`` cannot run away) and parsed with ``parse_document``.
    Raises OSError or DocumentRefused."""
    with open(path, "rb") as f:
        return parse_document(f.read(limits.max_bytes + 1), str(path), limits, as_json=False)


def short_repr(value: Any, width: int = 80) -> str:
    """A bounded ``repr`` (safe on huge or alias-expanded values) for error messages."""
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxstring, r.maxother = 2, 4, 4, width, width
    return r.repr(value)[: width * 2]


def parse_document(data: bytes | str, name: str, limits: Limits = Limits(), *, as_json: bool | None = None) -> Any:
    """Parse ``data`` (JSON when ``as_json`` or ``name`` ends in .json, else YAML, which also reads
    JSON) and check its shape. Raises DocumentRefused."""
    size = len(data)
    if size > limits.max_bytes:
        raise DocumentRefused("file_too_large", f"{name} has {size} bytes (the cap is {limits.max_bytes}: import_max_bytes)")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentRefused("not_utf8", f"{name} is not UTF-8 text (byte {exc.start})") from None
    else:
        text = data
    text = text.lstrip("\ufeff")
    json_first = as_json if as_json is not None else name.casefold().endswith(".json")
    try:
        value = json.loads(text) if json_first else yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except RecursionError:
        raise DocumentRefused("too_deep", f"{name} nests too deeply to parse (the cap is {limits.max_depth} levels)") from None
    except json.JSONDecodeError as exc:
        raise DocumentRefused("unparsable", f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:300]
        raise DocumentRefused("unparsable", f"{name} is not valid YAML: {first}") from None
    except ValueError as exc:  # e.g. a YAML timestamp out of range
        raise DocumentRefused("unparsable", f"{name}: {str(exc).splitlines()[0][:300]}") from None
    check_shape(value, name, limits)
    return value


def check_shape(value: Any, name: str, limits: Limits = Limits()) -> int:
    """Walk ``value`` without recursion; raise DocumentRefused when it nests deeper than
    ``max_depth``, holds more than ``max_nodes`` values (aliases expanded) or contains itself.
    Returns the number of values."""
    nodes = containers = 0
    distinct: set[int] = set()  # containers seen; fewer than their visits means aliases share them
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(value, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        nodes += 1
        if nodes > limits.max_nodes:
            if len(distinct) * 2 < containers:
                raise DocumentRefused("alias_expansion", f"{name}: its YAML aliases expand to more than {limits.max_nodes} values")
            raise DocumentRefused("too_many_nodes", f"{name} holds more than {limits.max_nodes} values")
        if depth > limits.max_depth:
            raise DocumentRefused("too_deep", f"{name} nests deeper than {limits.max_depth} levels")
        if isinstance(node, (dict, list)):
            key = id(node)
            if key in on_path:
                raise DocumentRefused("self_reference", f"{name}: a YAML alias contains itself")
            containers += 1
            distinct.add(key)
            on_path.add(key)
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in (node.values() if isinstance(node, dict) else node))
    return nodes


__all__ = ["CONFIG_LIMITS", "DocumentRefused", "Limits", "check_shape", "parse_document", "read_config_document", "short_repr"]
