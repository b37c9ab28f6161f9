"""Swagger 2.0 → OpenAPI 3.0.3, by code (no LLM), so published Swagger documents become tool sources.

In: a Swagger 2.0 document (a dict; not mutated). Out: the OpenAPI 3.0.3 document and notes (one
line per thing converted by assumption). What moves where:
  - ``host`` / ``basePath`` / ``schemes`` → ``servers`` (https when no scheme is given);
  - ``definitions`` → ``components.schemas``; ``parameters`` → ``components.parameters`` (body and
    form parameters are inlined where used); ``responses`` → ``components.responses``;
    ``securityDefinitions`` → ``components.securitySchemes`` (basic → http basic);
  - ``body`` parameters → ``requestBody`` under each ``consumes`` media type; ``formData`` → a
    urlencoded (or, with a file, multipart) object schema;
  - parameter ``type``/``format``/``items``/``enum``/bounds → the parameter's ``schema``;
    ``collectionFormat`` → ``style``/``explode``;
  - response ``schema`` → ``content`` under each ``produces`` media type; ``type: file`` → binary
    string; ``x-nullable`` → ``nullable``.
"""

from __future__ import annotations

from typing import Any

from tasks.documentation.openapi_refs import pointer_get

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
SCHEMA_KEYWORDS = ("type", "format", "items", "enum", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "multipleOf", "x-nullable")
_REF_MAP = (("#/definitions/", "#/components/schemas/"), ("#/parameters/", "#/components/parameters/"),
            ("#/responses/", "#/components/responses/"))


def is_swagger2(doc: Any) -> bool:
    return isinstance(doc, dict) and str(doc.get("swagger", "")).startswith("2")


def _refs(node: Any) -> Any:
    """A copy of ``node`` with Swagger 2 ref targets moved to their OpenAPI 3 places and schema quirks fixed."""
    if isinstance(node, list):
        return [_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            for old, new in _REF_MAP:
                if value.startswith(old):
                    value = new + value[len(old):]
                    break
            out[key] = value
        elif key == "x-nullable":
            out["nullable"] = bool(value)
        elif key == "type" and value == "file":
            out["type"], out["format"] = "string", "binary"
        elif key == "discriminator" and isinstance(value, str):
            out[key] = {"propertyName": value}
        else:
            out[key] = _refs(value)
    return out


def _servers(doc: dict[str, Any]) -> list[dict[str, str]]:
    host = str(doc.get("host") or "").strip().rstrip("/")
    base = "/" + str(doc.get("basePath") or "").strip().strip("/")
    schemes = [s for s in doc.get("schemes") or [] if s in ("https", "http", "wss", "ws")] or ["https"]
    if not host:
        return [{"url": base}]
    return [{"url": f"{scheme}://{host}{'' if base == '/' else base}"} for scheme in schemes[:2]]


def _param(doc: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """A query/path/header/cookie parameter: its type keywords move into ``schema``."""
    out = {k: _refs(v) for k, v in p.items() if k not in SCHEMA_KEYWORDS and k != "collectionFormat"}
    schema = _refs({k: p[k] for k in SCHEMA_KEYWORDS if k in p})
    out["schema"] = schema or {"type": "string"}
    fmt = p.get("collectionFormat")
    if fmt == "multi":
        out["style"], out["explode"] = "form", True
    elif fmt in ("csv", "ssv", "pipes", "tsv"):
        out["style"] = {"csv": "form", "ssv": "spaceDelimited", "pipes": "pipeDelimited"}.get(fmt, "form")
        out["explode"] = False
    return out


def _resolve_param(doc: dict[str, Any], p: Any) -> Any:
    if isinstance(p, dict) and isinstance(p.get("$ref"), str):
        target = pointer_get(doc, p["$ref"])
        if isinstance(target, dict) and target.get("in") in ("body", "formData"):
            return target
    return p


def _operation(doc: dict[str, Any], op: dict[str, Any], shared: list[Any], notes: list[str], where: str) -> dict[str, Any]:
    consumes = op.get("consumes") or doc.get("consumes") or ["application/json"]
    produces = op.get("produces") or doc.get("produces") or ["application/json"]
    out = {k: _refs(v) for k, v in op.items() if k not in ("parameters", "responses", "consumes", "produces", "schemes")}
    params, body, form = [], None, []
    names = {p.get("name") for p in op.get("parameters") or [] if isinstance(p, dict)}
    merged = [p for p in shared if not (isinstance(p, dict) and p.get("name") in names)] + list(op.get("parameters") or [])
    for raw in merged:
        p = _resolve_param(doc, raw)
        if not isinstance(p, dict):
            continue
        if p.get("in") == "body":
            body = p
        elif p.get("in") == "formData":
            form.append(p)
        elif "$ref" in p:
            params.append(_refs(p))
        else:
            params.append(_param(doc, p))
    if params:
        out["parameters"] = params
    if body is not None:
        schema = _refs(body.get("schema") or {})
        out["requestBody"] = {"required": bool(body.get("required")), "content": {str(m): {"schema": schema} for m in consumes},
                              **({"description": body["description"]} if body.get("description") else {})}
    elif form:
        out["requestBody"] = _form_body(form, consumes)
        notes.append(f"{where}: formData parameters became a form request body")
    out["responses"] = _responses(op.get("responses"), produces)
    return out


def _form_body(form: list[dict[str, Any]], consumes: list[str]) -> dict[str, Any]:
    props = {str(p.get("name")): _refs({k: p[k] for k in (*SCHEMA_KEYWORDS, "description") if k in p}) or {"type": "string"}
             for p in form}
    required = [str(p.get("name")) for p in form if p.get("required")]
    multipart = any(p.get("type") == "file" for p in form) or "multipart/form-data" in consumes
    media = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
    schema: dict[str, Any] = {"type": "object", "properties": props, **({"required": required} if required else {})}
    return {"required": bool(required), "content": {media: {"schema": schema}}}


def _response(resp: Any, produces: list[str]) -> Any:
    if not isinstance(resp, dict) or "$ref" in resp:
        return _refs(resp)
    out: dict[str, Any] = {"description": str(resp.get("description") or "")}
    if isinstance(resp.get("schema"), dict):
        out["content"] = {str(m): {"schema": _refs(resp["schema"])} for m in produces}
    if isinstance(resp.get("headers"), dict):
        out["headers"] = {name: {"schema": _refs({k: h[k] for k in SCHEMA_KEYWORDS if k in h}) or {"type": "string"},
                                 **({"description": h["description"]} if h.get("description") else {})}
                          for name, h in resp["headers"].items() if isinstance(h, dict)}
    return out


def _responses(responses: Any, produces: list[str]) -> dict[str, Any]:
    if not isinstance(responses, dict) or not responses:
        return {"default": {"description": ""}}
    return {str(code): _response(r, produces) for code, r in responses.items() if not str(code).startswith("x-")}


def _security_schemes(defs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, s in (defs or {}).items() if isinstance(defs, dict) else []:
        if not isinstance(s, dict):
            continue
        if s.get("type") == "basic":
            out[name] = {"type": "http", "scheme": "basic"}
        elif s.get("type") == "apiKey":
            out[name] = {k: s[k] for k in ("type", "name", "in", "description") if k in s}
        elif s.get("type") == "oauth2":
            flow = {"implicit": "implicit", "password": "password", "application": "clientCredentials",
                    "accessCode": "authorizationCode"}.get(str(s.get("flow")), "implicit")
            body = {"scopes": s.get("scopes") or {}}
            for key in ("authorizationUrl", "tokenUrl"):
                if s.get(key):
                    body[key] = s[key]
            out[name] = {"type": "oauth2", "flows": {flow: body}}
    return out


def convert(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The OpenAPI 3.0.3 form of a Swagger 2.0 document, and notes on what was assumed."""
    notes: list[str] = []
    out: dict[str, Any] = {"openapi": "3.0.3", "info": _refs(doc.get("info") or {"title": "API", "version": "1.0"})}
    out["info"].setdefault("version", "1.0")
    out["info"].setdefault("title", "API")
    out["servers"] = _servers(doc)
    if not doc.get("host"):
        notes.append("no host: the server is the base path only")
    for key in ("tags", "security", "externalDocs"):
        if key in doc:
            out[key] = _refs(doc[key])
    out.update({k: _refs(v) for k, v in doc.items() if isinstance(k, str) and k.startswith("x-")})
    paths: dict[str, Any] = {}
    for path, item in (doc.get("paths") or {}).items() if isinstance(doc.get("paths"), dict) else []:
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") if isinstance(item.get("parameters"), list) else []
        new_item: dict[str, Any] = {k: _refs(v) for k, v in item.items() if k not in (*_METHODS, "parameters")}
        for method in _METHODS:
            if isinstance(item.get(method), dict):
                new_item[method] = _operation(doc, item[method], shared, notes, f"{method.upper()} {path}")
        paths[str(path)] = new_item
    out["paths"] = paths
    components: dict[str, Any] = {}
    if isinstance(doc.get("definitions"), dict):
        components["schemas"] = _refs(doc["definitions"])
    if isinstance(doc.get("parameters"), dict):
        components["parameters"] = {n: _param(doc, p) for n, p in doc["parameters"].items()
                                    if isinstance(p, dict) and p.get("in") not in ("body", "formData")}
    if isinstance(doc.get("responses"), dict):
        components["responses"] = {n: _response(r, doc.get("produces") or ["application/json"]) for n, r in doc["responses"].items()}
    schemes = _security_schemes(doc.get("securityDefinitions"))
    if schemes:
        components["securitySchemes"] = schemes
    if components:
        out["components"] = components
    return out, notes
