"""``$ref`` handling for OpenAPI documents: JSON-pointer lookup, cycle-safe dereferencing, and
bundling external references (read through a loader the caller gives, which confines them) into
``components`` so a spec is self-contained.

Nothing here raises on a bad reference: lookups return None and callers report the problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path, PureWindowsPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import yaml

from tasks.guards.documents import DocumentRefused

MAX_DEPTH = 64  # $ref chain length
MAX_NESTING = 200  # nesting of a bundled document (the loader caps each file's own at 100; real specs reach 35)


def pointer_get(doc: Any, pointer: str) -> Any:
    """Resolve a JSON pointer (``#/components/schemas/X``) in ``doc``; None when absent."""
    if not pointer.startswith("#"):
        return None
    node = doc
    for raw in [p for p in pointer[1:].split("/") if p != ""]:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def deref(doc: Any, node: Any, seen: tuple[str, ...] = ()) -> tuple[Any, str | None]:
    """Follow ``node``'s internal ``$ref`` chain. Returns (target, ref name or None); a cycle or a
    dangling ref returns ({}, name)."""
    name = None
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        name = ref.rsplit("/", 1)[-1]
        if ref in seen or len(seen) > MAX_DEPTH:
            return {}, name
        seen = seen + (ref,)
        target = pointer_get(doc, ref)
        if target is None:
            return {}, name
        node = target
    return node, name


def iter_refs(node: Any, path: str = "#") -> list[tuple[str, str]]:
    """Every (location, $ref value) in ``node``."""
    found: list[tuple[str, str]] = []
    stack = [(node, path)]
    while stack:
        cur, where = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("$ref"), str):
                found.append((where, cur["$ref"]))
            for k, v in cur.items():
                stack.append((v, f"{where}/{k}"))
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                stack.append((v, f"{where}/{i}"))
    return found


Location = Path | str  # a file, or an http(s) URL
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def ref_location(current: Location, file_part: str) -> Location:
    """Where the file part of an external ``$ref`` points, seen from the document at ``current``:
    a path (not yet confined: the loader checks it stays inside the import folder) or an http(s)
    URL. Raises DocumentRefused for absolute paths and other schemes (``file:``, ``data:`` …)."""
    if isinstance(current, str) or _SCHEME.match(file_part):
        target = urljoin(current, file_part) if isinstance(current, str) else file_part
        scheme = urlsplit(target).scheme.casefold()
        if scheme not in ("http", "https"):
            raise DocumentRefused("ref_scheme", f"$ref {file_part[:200]!r}: only relative file paths are followed "
                                                "(and http(s) URLs with import_allow_remote_refs)")
        return target
    if file_part.startswith(("/", "\\", "~")) or PureWindowsPath(file_part).drive:
        raise DocumentRefused("absolute_ref", f"$ref {file_part[:200]!r}: absolute paths are not followed; "
                                              "refer to files beside the document")
    return Path(os.path.normpath(current.parent / unquote(file_part)))


class _Bundler:
    """One bundling: the files read (cached), the external refs already inlined, the schemas added."""

    def __init__(self, spec: Any, base: Location, loader: Callable[[Location], Any], max_nodes: int) -> None:
        self.base, self.loader, self.max_nodes = base, loader, max_nodes
        self.problems: list[str] = []
        self.cache: dict[str, Any] = {}
        self.bundled: dict[str, str] = {}  # external key → internal pointer
        self.existing = set(((spec.get("components") or {}).get("schemas") or {}).keys()) if isinstance(spec, dict) else set()
        self.added: dict[str, Any] = {}  # merged into components/schemas at the end
        self.budget = max_nodes

    def fetch(self, where: Location) -> Any:
        key = str(where)
        if key not in self.cache:
            try:
                self.cache[key] = self.loader(where)
            except DocumentRefused:
                raise
            except (OSError, ValueError, yaml.YAMLError) as exc:
                self.cache[key] = None
                self.problems.append(f"cannot read referenced file {_name(where)}: {getattr(exc, 'strerror', None) or exc}")
        return self.cache[key]

    def external(self, ref: str, current: Location, depth: int) -> Any:
        file_part, _, frag = ref.partition("#")
        target_file = ref_location(current, file_part) if file_part else current
        key = f"{target_file}#{frag}"
        if key in self.bundled:
            return {"$ref": self.bundled[key]}
        doc = self.fetch(target_file)
        target = pointer_get(doc, "#" + frag) if doc is not None else None
        if target is None:
            self.problems.append(f"dangling reference {ref[:200]}")
            return {}
        name = (frag.rsplit("/", 1)[-1] if frag else _stem(target_file)) or "Schema"
        unique, n = name, 2
        while unique in self.existing or unique in self.added:
            unique, n = f"{name}{n}", n + 1
        pointer = f"#/components/schemas/{unique}"
        self.bundled[key] = pointer
        self.added[unique] = {}
        self.added[unique] = self.rewrite(target, target_file, depth + 1)
        return {"$ref": pointer}

    def rewrite(self, node: Any, current: Location, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise DocumentRefused("resolved_too_large", f"bundling its references gives more than {self.max_nodes} values")
        if depth > MAX_NESTING:
            self.problems.append("references nest too deeply")
            return {}
        if isinstance(node, list):
            return [self.rewrite(v, current, depth + 1) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return self.external(ref, current, depth)
        if isinstance(ref, str) and current != self.base:
            # an internal ref inside an external file points into that file: bundle it too
            return self.external(ref, current, depth)
        return {k: self.rewrite(v, current, depth + 1) for k, v in node.items()}


def bundle_external_refs(spec: dict[str, Any], base: Location, loader: Callable[[Location], Any],
                         max_nodes: int = 2_000_000) -> tuple[dict[str, Any], list[str]]:
    """``loader`` reads a referenced document (a path or URL → its JSON value; the caller does the
    I/O and confines it, raising DocumentRefused for what it will not read). Inline every external
    ``$ref`` (``other.yaml#/X`` or ``other.json``) into ``components/schemas`` and point the ref
    there. Returns (new spec, problems: refs that dangle or files that cannot be read). Cycles across
    files are kept as internal refs, so the result is finite; it holds at most ``max_nodes`` values.
    Raises DocumentRefused when a ref breaks a rule (the document as a whole is refused)."""
    bundler = _Bundler(spec, base, loader, max_nodes)
    out = bundler.rewrite(spec, base, 0)
    if bundler.added and isinstance(out, dict):
        comps = out.setdefault("components", {})
        if isinstance(comps, dict):
            comps.setdefault("schemas", {}).update(bundler.added)
    return out, bundler.problems


def _name(where: Location) -> str:
    return where.name if isinstance(where, Path) else where[:200]


def _stem(where: Location) -> str:
    return where.stem if isinstance(where, Path) else Path(urlsplit(where).path).stem
