"""'operations' spec mode: the documenter writes each function as a small constrained JSON object
(method, summary, typed parameters, response properties) and code wraps them into an OpenAPI 3.0
document, RPC style: path ``/<functionName>``, query parameters (as many of the paper's own specs
do). Small models manage this where a whole OpenAPI document is beyond them; the result goes through
the same validator, lint and repair loop.

In: operations (function name → operation dict). Out: the OpenAPI spec, and lint issues mapped
back to the function they concern so that only those are sent for repair.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from schemas.records import CatalogEntry, LintIssue


def server_url(link: str) -> str:
    """The API's server: the catalog link's host, else a placeholder host."""
    try:
        host = urlsplit(link).netloc if link else ""
    except ValueError:
        host = ""
    return f"https://{host}" if host else "https://api.example.com"


def _param(p: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.get("type", "string")}
    if isinstance(p.get("enum"), list) and p["enum"]:
        schema["enum"] = list(p["enum"])
    return {"name": p.get("name"), "in": "query", "required": bool(p.get("required", False)),
            "description": p.get("description", ""), "schema": schema}


def operation_key(fn: str, op: dict[str, Any]) -> tuple[str, str]:
    """(method, path) of a function in operations mode: the path is ``/<functionName>``."""
    return str(op.get("method", "get")).lower(), f"/{fn}"


def _response_schema(response: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for prop in response.get("properties") or []:
        name = prop.get("name")
        if not isinstance(name, str):
            continue
        entry: dict[str, Any] = {"type": prop.get("type", "string")}
        if prop.get("description"):
            entry["description"] = prop["description"]
        if entry["type"] == "array" and prop.get("items"):
            entry["items"] = {
                "type": "object",
                "properties": {i["name"]: {"type": i.get("type", "string")} for i in prop["items"] if isinstance(i.get("name"), str)},
            }
        props[name] = entry
    return {"type": "object", "properties": props}


def assemble_spec(entry: CatalogEntry, introduction: str, operations: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[str, LintIssue]]]:
    """Wrap operations into an OpenAPI 3.0 document. Two functions on the same method and path
    collide: the later one is left out and gets an ``operation_collision`` issue."""
    paths: dict[str, dict[str, Any]] = {}
    collisions: list[tuple[str, LintIssue]] = []
    owner: dict[tuple[str, str], str] = {}
    for fn, op in operations.items():
        method, path = operation_key(fn, op)
        if (method, path) in owner:
            collisions.append((fn, LintIssue("operation_collision", f"{method.upper()} {path}",
                                             f"{fn} uses the same method and path as {owner[(method, path)]}: give it its own path")))
            continue
        owner[(method, path)] = fn
        paths.setdefault(path, {})[method] = {
            "operationId": fn,
            "summary": op.get("summary", ""),
            "parameters": [_param(p) for p in op.get("parameters") or []],
            "responses": {
                "200": {
                    "description": (op.get("response") or {}).get("description", "Successful response."),
                    "content": {"application/json": {"schema": _response_schema(op.get("response") or {})}},
                }
            },
        }
    spec = {
        "openapi": "3.0.0",
        "info": {"title": entry.name, "version": "1.0.0", "description": (introduction or entry.description)[:400]},
        "servers": [{"url": server_url(entry.link)}],
        "paths": paths,
    }
    return spec, collisions


def issues_by_function(operations: dict[str, dict[str, Any]], issues: list[LintIssue]) -> dict[str, list[LintIssue]]:
    """Which function each issue concerns (by method and path); an issue that names none goes to all."""
    keys = {fn: operation_key(fn, op) for fn, op in operations.items()}
    out: dict[str, list[LintIssue]] = {fn: [] for fn in operations}
    for issue in issues:
        if issue.code == "id_not_obtainable":
            _route_id_issue(issue, keys, out)
            continue
        hits = [
            fn for fn, (method, path) in keys.items()
            if issue.where.startswith(f"{method.upper()} {path}") or issue.where.startswith(f"paths/{path}/{method}")
            or (f"in '{path}'" in issue.message and f"'{method}'" in issue.message)
            or f"paths/{path}/{method}" in issue.where
        ]
        for fn in hits or list(operations):
            out[fn].append(issue)
    return {fn: its for fn, its in out.items() if its}


_PRODUCER_VERBS = ("search", "list", "find", "browse", "query", "lookup", "get")


def _route_id_issue(issue: LintIssue, keys: dict[str, tuple[str, str]], out: dict[str, list[LintIssue]]) -> None:
    """An ID no function returns: the functions that search or list must return it (and the
    consumer hears of it too)."""
    consumer = next((fn for fn, (m, p) in keys.items() if issue.where.startswith(f"{m.upper()} {p}")), None)
    name = issue.where.rsplit(" ", 1)[-1]
    others = [fn for fn in keys if fn != consumer]
    producers = [fn for fn in others if fn.startswith(_PRODUCER_VERBS[:-1])] or others
    for fn in producers:
        out[fn].append(LintIssue("id_not_returned", fn, f"another function needs {name!r}: add a {name!r} property to this function's response"))
    if consumer is not None:
        out[consumer].append(issue)
