"""A function graph over OpenAPI operations: an edge where an output field of one operation can feed a
parameter of another (issue 21's dependent chains; ToolMind's parameter–output compatibility).

Ports are read from the spec itself: an operation's inputs are its parameters and its JSON body's
top-level properties; its outputs are the fields of its success response's JSON schema, flattened to
paths (``items[].id``) a few levels deep. A pair is an edge when the names agree — the same words
(``item_id`` / ``itemId``), or an ``id`` output under a collection or object named for the parameter's
noun (``items[].id`` → ``itemId``, ``order.id`` → ``order_id``) — and nothing contradicts it: the types
must be compatible and, where both give one, the formats equal. Shared words between the two
descriptions add to the score. Each edge carries its evidence as short reasons, so a reader (and the
coverage view that will come) can see why it was drawn. Paging, sorting and formatting parameters
(``limit``, ``page``, ``sort`` …) never take an edge: their values do not flow between calls; a query or
header parameter takes one only when it names a thing (``…id``, ``…key``, ``…name``, ``…url`` …) and a body
property only when it is a handle (``…id``, ``…key``, ``…token`` …), so a create call's fields copied from a
read are not mistaken for a dependency; and a parameter keeps
its best three sources.

Nothing here raises on a malformed spec: what cannot be read gives no port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tasks.documentation.openapi_refs import deref
from tasks.documentation.spec_lint import body_properties, iter_operations, operation_parameters, success_responses

MAX_DEPTH = 3
MAX_FIELDS = 200  # outputs kept per operation (a huge response schema does not make a huge graph)
SOURCES_PER_PARAMETER = 3  # a parameter keeps its best-scored sources only (every list operation returns data[].id)
HANDLES = frozenset({"id", "ids", "uuid", "guid", "key", "slug", "token", "handle", "ref", "reference", "sha", "hash"})
IDENTIFYING = HANDLES | {"code", "number", "name", "username", "email", "url", "uri", "path"}  # in a query or header
PLUMBING = frozenset({"limit", "offset", "page", "per page", "page size", "size", "sort", "order", "order by", "sort by",
                      "fields", "format", "lang", "language", "locale", "callback", "pretty", "cursor", "count",
                      "include", "expand", "api key", "key", "token", "access token", "version", "q", "query"})
_STOP = frozenset("a an the of to for in on by with and or is are be this that it its from as at which your their "
                  "returns return returned list get gets set given id ids".split())


@dataclass(frozen=True)
class Port:
    """One input or output of an operation: ``path`` is the parameter's name or the output field's path."""

    operation: str
    path: str
    type: str
    format: str
    description: str
    where: str = "response"  # an input's place: path, query, header, cookie or body
    resource: str = ""  # what the value belongs to: a path parameter's collection, an output's owner

    @property
    def words(self) -> tuple[str, ...]:
        return name_words(self.path.rsplit(".", 1)[-1].replace("[]", ""))


@dataclass(frozen=True)
class Edge:
    """``source``'s output ``output`` can feed ``target``'s parameter ``parameter``; ``evidence``: why."""

    source: str
    output: str
    target: str
    parameter: str
    score: float
    evidence: tuple[str, ...]


def name_words(name: str) -> tuple[str, ...]:
    """A name as lower-case words: ``itemId``, ``item_id`` and ``item-id`` all give ``("item", "id")``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name))
    return tuple(w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ses") or word.endswith("xes"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def _type_of(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "")
    return str(t or ("object" if "properties" in schema else ""))


def _collection_before(url: str, placeholder: str) -> str:
    """The literal path segment before ``{placeholder}`` in ``url`` (``/jobs/{id}`` → ``jobs``), else ""."""
    parts = [p for p in url.split("/") if p]
    for i, part in enumerate(parts):
        if part == "{" + placeholder + "}":
            literal = [p for p in parts[:i] if not p.startswith("{")]
            return literal[-1] if literal else ""
    return ""


def _url_resource(url: str) -> str:
    """The last literal segment of ``url`` (what a read of it returns): ``/jobs/{id}`` → ``jobs``."""
    literal = [p for p in url.split("/") if p and not p.startswith("{")]
    return literal[-1] if literal else ""


def inputs(spec: Any, url: str, op: dict[str, Any], item: dict[str, Any]) -> list[Port]:
    """The operation's parameters (path, query, header, cookie) and JSON body properties, as ports."""
    name = str(op.get("operationId", ""))
    out = []
    for p in operation_parameters(spec, op, item):
        schema, _ = deref(spec, p.get("schema") or {})
        schema = schema if isinstance(schema, dict) else {}
        where = str(p.get("in") or "query")
        out.append(Port(name, p["name"], _type_of(schema), str(schema.get("format") or ""), str(p.get("description") or ""),
                        where, _collection_before(url, p["name"]) if where == "path" else ""))
    for prop, sub, _, description in body_properties(spec, op):
        schema, _ = deref(spec, sub)
        schema = schema if isinstance(schema, dict) else {}
        out.append(Port(name, prop, _type_of(schema), str(schema.get("format") or ""), description, "body"))
    return out


def outputs(spec: Any, url: str, op: dict[str, Any]) -> list[Port]:
    """The fields of the operation's first JSON success response, flattened (``a.b``, ``items[].id``);
    a field's resource is the object it sits in, or at the top, what ``url`` names."""
    name = str(op.get("operationId", ""))
    for _, resp in success_responses(op):
        resp, _ = deref(spec, resp)
        content = resp.get("content") if isinstance(resp, dict) else None
        for media, media_obj in content.items() if isinstance(content, dict) else []:
            if "json" in str(media) and isinstance(media_obj, dict) and "schema" in media_obj:
                return list(_fields(spec, name, media_obj["schema"], "", 0, (), _url_resource(url)))[:MAX_FIELDS]
    return []


def _fields(spec: Any, op: str, node: Any, prefix: str, depth: int, seen: tuple[int, ...], top: str) -> Iterator[Port]:
    """The scalar fields under ``node`` (a schema or a ref) as output ports; ``seen`` stops recursion,
    ``top`` is the resource of fields at the response's top level."""
    schema, _ = deref(spec, node)
    if not isinstance(schema, dict) or depth > MAX_DEPTH or id(schema) in seen:
        return
    seen = (*seen, id(schema))
    all_of = schema.get("allOf") if isinstance(schema.get("allOf"), list) else []
    props: dict[str, Any] = {}
    for part in [schema, *(deref(spec, s)[0] for s in all_of)]:
        if isinstance(part, dict) and isinstance(part.get("properties"), dict):
            props.update(part["properties"])
    if _type_of(schema) == "array" or "items" in schema:
        yield from _fields(spec, op, schema.get("items") or {}, prefix + "[]", depth + 1, seen, top)
        return
    for key, sub in props.items():
        resolved, _ = deref(spec, sub)
        resolved = resolved if isinstance(resolved, dict) else {}
        path = f"{prefix}.{key}" if prefix else str(key)
        kind = _type_of(resolved)
        if kind in ("object", "array") or "items" in resolved or "properties" in resolved:
            yield from _fields(spec, op, resolved, path, depth + 1, seen, top)
        else:
            owner = prefix.replace("[]", "").rsplit(".", 1)[-1] or top
            yield Port(op, path, kind, str(resolved.get("format") or ""), str(resolved.get("description") or ""), "response", owner)


def _name_reason(out: Port, param: Port) -> str | None:
    """Why the output's name fits the parameter's, or None."""
    pw, ow = param.words, out.words
    if not pw or " ".join(pw) in PLUMBING:
        return None
    if param.where != "path" and pw[-1] not in (HANDLES if param.where == "body" else IDENTIFYING):
        return None  # a value that names a thing, not a field copied from a read into a write
    if pw == ow == ("id",):  # a bare id: only one of the collection the parameter's path names
        if param.resource and out.resource and _singular(param.resource.lower()) == _singular(out.resource.lower()):
            return f"name: {out.path} is the id of a {_singular(param.resource.lower())}, as {param.path} is"
        return None
    if pw == ow:
        return f"name: {out.path} is {param.path}"
    if ow == ("id",) and len(pw) >= 2 and pw[-1] == "id":  # items[].id or order.id → itemId / order_id
        owners = [w for seg in out.path.split(".")[:-1] for w in name_words(seg.replace("[]", ""))]
        noun = pw[:-1]
        if owners and tuple(_singular(w) for w in owners[-len(noun):]) == tuple(_singular(w) for w in noun):
            return f"name: {out.path} is the id of a {' '.join(noun)}, which {param.path} names"
    return None


def _compatible(out: Port, param: Port) -> str | None:
    """Why the types agree ("" when neither says), or None when they contradict."""
    numbers = {"integer", "number"}
    if out.type and param.type and out.type != param.type and not {out.type, param.type} <= numbers:
        return None
    if out.format and param.format and out.format != param.format:
        return None
    kind = param.type or out.type
    return f"type: {kind}" + (f" ({param.format or out.format})" if param.format or out.format else "") if kind else ""


def _shared_words(a: str, b: str) -> list[str]:
    wa = {w for w in name_words(a) if w not in _STOP and len(w) > 2}
    return sorted(wa & {w for w in name_words(b) if w not in _STOP and len(w) > 2})


def match(out: Port, param: Port) -> Edge | None:
    """The edge from ``out`` (an output) to ``param`` (an input of another operation), or None."""
    if out.operation == param.operation:
        return None
    named = _name_reason(out, param)
    if named is None:
        return None
    typed = _compatible(out, param)
    if typed is None:
        return None
    shared = _shared_words(out.description, param.description)
    evidence = [named] + ([typed] if typed else []) + ([f"descriptions share: {', '.join(shared[:5])}"] if shared else [])
    score = 1.0 + (0.5 if typed else 0.0) + min(0.5, 0.1 * len(shared))
    return Edge(out.operation, out.path, param.operation, param.path, round(score, 2), tuple(evidence))


def operation_ports(spec: Any) -> tuple[list[Port], list[Port]]:
    """(every input, every output) of the spec's operations that have an operationId."""
    ins: list[Port] = []
    outs: list[Port] = []
    for url, _, op, item in iter_operations(spec):
        if isinstance(op.get("operationId"), str) and op["operationId"]:
            ins.extend(inputs(spec, url, op, item))
            outs.extend(outputs(spec, url, op))
    return ins, outs


def graph(spec: Any) -> list[Edge]:
    """Every edge between two operations of one spec, best first for each parameter."""
    ins, outs = operation_ports(spec)
    return _edges(outs, ins)


def cross_graph(specs: dict[str, Any]) -> list[tuple[str, str, Edge]]:
    """(source API, target API, edge) for outputs of one API that can feed another API's parameters."""
    ports = {api: operation_ports(spec) for api, spec in specs.items()}
    out = []
    for src, (_, outs) in ports.items():
        for dst, (ins, _) in ports.items():
            if src != dst:
                out.extend((src, dst, e) for e in _edges(outs, ins))
    return out


def _edges(outs: list[Port], ins: list[Port]) -> list[Edge]:
    by_words: dict[tuple[str, ...], list[Port]] = {}
    for o in outs:
        by_words.setdefault(o.words, []).append(o)
    edges = []
    for param in ins:
        candidates = by_words.get(param.words, []) + (by_words.get(("id",), []) if param.words[-1:] == ("id",) else [])
        found = sorted((e for o in candidates if (e := match(o, param)) is not None), key=lambda e: (-e.score, e.source, e.output))
        edges.extend(found[:SOURCES_PER_PARAMETER])
    return sorted(edges, key=lambda e: (e.target, e.parameter, -e.score, e.source, e.output))


def chains(edges: list[Edge], max_operations: int = 4, limit: int = 10_000) -> list[tuple[Edge, ...]]:
    """Call chains of 2 to ``max_operations`` distinct operations, each step an edge (one edge per pair of
    operations: the best scored), at most ``limit``, shortest first."""
    best: dict[tuple[str, str], Edge] = {}
    for e in edges:
        key = (e.source, e.target)
        if key not in best or e.score > best[key].score:
            best[key] = e
    after: dict[str, list[Edge]] = {}
    for e in sorted(best.values(), key=lambda e: (e.source, e.target)):
        after.setdefault(e.source, []).append(e)
    out: list[tuple[Edge, ...]] = []
    frontier: list[tuple[Edge, ...]] = [(e,) for es in after.values() for e in es]
    while frontier and len(out) < limit:
        out.extend(frontier[: limit - len(out)])
        grown = []
        for chain in frontier:
            visited = {chain[0].source, *(e.target for e in chain)}
            if len(visited) < max_operations:
                grown.extend((*chain, e) for e in after.get(chain[-1].target, []) if e.target not in visited)
        frontier = grown
    return out
