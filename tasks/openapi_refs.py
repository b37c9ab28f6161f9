"""``$ref`` handling for OpenAPI documents: JSON-pointer lookup, cycle-safe dereferencing, and
bundling external file references (read through a loader the caller gives) into ``components``
so a spec is self-contained.

Nothing here raises on a bad reference: lookups return None and callers report the problem.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

MAX_DEPTH = 64


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


def bundle_external_refs(spec: dict[str, Any], base: Path, loader: Callable[[Path], Any]) -> tuple[dict[str, Any], list[str]]:
    """``loader`` reads a referenced document (a path → its JSON value; the caller does the I/O).
    Inline every external ``$ref`` (``other.yaml#/X`` or ``other.json``) into
    ``components/schemas`` and point the ref there. Returns (new spec, problems). Cycles across
    files are kept as internal refs, so the result is finite."""
    spec = copy.deepcopy(spec)
    problems: list[str] = []
    cache: dict[Path, Any] = {}
    bundled: dict[str, str] = {}  # external key → internal pointer
    existing = set(((spec.get("components") or {}).get("schemas") or {}).keys()) if isinstance(spec, dict) else set()
    added: dict[str, Any] = {}  # merged into components/schemas at the end

    def fetch(file: Path) -> Any:
        if file not in cache:
            try:
                cache[file] = loader(file)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                cache[file] = None
                problems.append(f"cannot read referenced file {file.name}: {exc}")
        return cache[file]

    def rewrite(node: Any, current: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            problems.append("references nest too deeply")
            return {}
        if isinstance(node, list):
            return [rewrite(v, current, depth + 1) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            file_part, _, frag = ref.partition("#")
            target_file = (current.parent / file_part).resolve()
            key = f"{target_file}#{frag}"
            if key in bundled:
                return {"$ref": bundled[key]}
            doc = fetch(target_file)
            target = pointer_get(doc, "#" + frag) if doc is not None else None
            if target is None:
                problems.append(f"dangling reference {ref}")
                return {}
            name = (frag.rsplit("/", 1)[-1] if frag else target_file.stem) or "Schema"
            unique, n = name, 2
            while unique in existing or unique in added:
                unique, n = f"{name}{n}", n + 1
            pointer = f"#/components/schemas/{unique}"
            bundled[key] = pointer
            added[unique] = {}
            added[unique] = rewrite(copy.deepcopy(target), target_file, depth + 1)
            return {"$ref": pointer}
        if isinstance(ref, str) and ref.startswith("#") and current.resolve() != base.resolve():
            # an internal ref inside an external file points into that file: bundle it too
            return rewrite({"$ref": f"{current.name}{ref}"}, current, depth + 1)
        return {k: rewrite(v, current, depth + 1) for k, v in node.items()}

    out = rewrite(spec, base, 0)
    if added and isinstance(out, dict):
        comps = out.setdefault("components", {})
        if isinstance(comps, dict):
            comps.setdefault("schemas", {}).update(added)
    return out, problems
