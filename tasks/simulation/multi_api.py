"""Multi-API instructions within a category (issue #3): two documented APIs seen as one.

``combine`` merges the specs of an API and its partner into one spec whose names cannot collide:
each API's operationIds, paths and component names get a prefix made from the API's name
(``Weather_getForecast``, ``/Weather/forecast``, ``#/components/schemas/Weather_City``). The
combined spec then goes through the same machinery as any single API — NL documentation, the
call check, tool definitions — and ``tasks.simulation.executor.PrefixRouter`` hands each call to its own
API's executor (simulated or real) under its original name. ``partners`` pairs each API with another of its category, deterministically.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from typing import Any

from schemas.ids import content_id
from schemas.views import DocumentedApi


def prefix_for(name: str, taken: set[str]) -> str:
    """A short identifier from an API name (letters and digits, CamelCase), unique among ``taken``."""
    words = re.findall(r"[A-Za-z0-9]+", name) or ["Api"]
    base = "".join(w[:1].upper() + w[1:] for w in words)[:20]
    base = base if base[0].isalpha() else f"A{base}"
    out, i = base, 2
    while out in taken:
        out, i = f"{base}{i}", i + 1
    taken.add(out)
    return out


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rename_refs(v, renames)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def namespaced(spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The spec with operationIds, paths and component names prefixed (internal refs follow)."""
    spec = copy.deepcopy(spec)
    renames: dict[str, str] = {}
    components = spec.get("components") if isinstance(spec.get("components"), dict) else {}
    for kind, items in components.items():
        if isinstance(items, dict):
            for name in list(items):
                renames[f"#/components/{kind}/{name}"] = f"#/components/{kind}/{prefix}_{name}"
            components[kind] = {f"{prefix}_{name}": v for name, v in items.items()}
    paths = {}
    for path, item in (spec.get("paths") or {}).items():
        if isinstance(item, dict):
            for op in item.values():
                if isinstance(op, dict) and isinstance(op.get("operationId"), str):
                    op["operationId"] = f"{prefix}_{op['operationId']}"
        paths[f"/{prefix}{path}"] = item
    spec["paths"] = paths
    return _rename_refs(spec, renames)


def combine(docs: list[DocumentedApi]) -> tuple[dict[str, Any], str, list[str]]:
    """(one spec serving every doc's operations under its prefix, a display name "A + B", the
    prefixes in the order of ``docs``)."""
    taken: set[str] = set()
    merged: dict[str, Any] = {"openapi": "3.0.3", "paths": {}, "components": {}}
    names, prefixes = [], []
    for doc in docs:
        prefixes.append(prefix_for(doc.name, taken))
        part = namespaced(doc.spec or {}, prefixes[-1])
        merged["paths"].update(part.get("paths") or {})
        for kind, items in (part.get("components") or {}).items():
            if isinstance(items, dict):
                merged["components"].setdefault(kind, {}).update(items)
        names.append(doc.name)
    title = " + ".join(names)
    merged["info"] = {"title": title, "version": "1.0.0", "description": "Functions of several APIs, each under its prefix."}
    return merged, title, prefixes


def partners(docs: list[DocumentedApi], seed: int = 0) -> dict[str, DocumentedApi]:
    """doc_id → the partner doc: another API of the same category (a seeded, stable ring order
    per category, each API paired with the next). APIs alone in their category get none."""
    by_category: dict[str, list[DocumentedApi]] = defaultdict(list)
    for d in docs:
        by_category[d.category or ""].append(d)
    out = {}
    for members in by_category.values():
        if len(members) < 2:
            continue
        ring = sorted(members, key=lambda d: content_id("partner", seed, d.api_id))
        for i, d in enumerate(ring):
            out[d.doc_id] = ring[(i + 1) % len(ring)]
    return out
