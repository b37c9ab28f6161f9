"""How an operation's request body becomes function arguments — one rule for the call check, the
tool definitions, the NL docs and the executors.

In: a spec and an operation. Out: ``RequestBody`` — the media type chosen (JSON wins, then a form,
then whatever is first), its schema (refs followed), and whether the body is *raw*: a body that is
not an object with properties (a file, a string, an array) is one argument, ``body``. Properties of
``allOf`` parts (and the first ``anyOf``/``oneOf`` alternative) count as the body's own; read-only properties are not request arguments, and a
``required`` name that is no property is not required.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.documentation.openapi_refs import deref

RAW_BODY_ARGUMENT = "body"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass
class RequestBody:
    media: str
    schema: dict[str, Any]
    required: bool
    raw: bool
    spec: Any = None

    def properties(self) -> dict[str, Any]:
        """The body's properties (``allOf`` parts merged in), less the read-only ones a request never sends."""
        return {} if self.raw else self.merged[0]

    def required_names(self) -> list[str]:
        if self.raw:
            return [RAW_BODY_ARGUMENT] if self.required else []
        return self.merged[1]

    @property
    def merged(self) -> tuple[dict[str, Any], list[str]]:
        props, required = _flatten(self.spec, self.schema, 0)
        props = {k: v for k, v in props.items() if not _read_only(self.spec, v)}
        return props, [r for r in dict.fromkeys(required) if r in props]


def _flatten(spec: Any, schema: Any, depth: int) -> tuple[dict[str, Any], list[str]]:
    """Properties and required names of ``schema``, its ``allOf`` parts and its first ``anyOf``/``oneOf`` alternative."""
    schema, _ = deref(spec, schema)
    if not isinstance(schema, dict) or depth > 6:
        return {}, []
    props = dict(schema["properties"]) if isinstance(schema.get("properties"), dict) else {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    parts = [p for p in schema.get("allOf") or [] if isinstance(p, dict)] if isinstance(schema.get("allOf"), list) else []
    parts += [alts[0] for alts in (schema.get("anyOf"), schema.get("oneOf")) if isinstance(alts, list) and alts][:1]
    for part in parts:
        more, needed = _flatten(spec, part, depth + 1)
        props.update(more)
        required += needed
    return props, required


def is_json_media(media: str) -> bool:
    media = str(media).split(";")[0].strip().casefold()
    return media == "application/json" or media.endswith("+json") or media == "*/*"


def request_body(spec: Any, op: dict[str, Any]) -> RequestBody | None:
    """The body the operation takes, or None when it takes none."""
    body, _ = deref(spec, op.get("requestBody"))
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict) or not body["content"]:
        return None
    content = body["content"]
    media = (next((m for m in content if is_json_media(m)), None) or next((m for m in content if str(m).split(";")[0] in _FORMS), None)
             or next(iter(content)))
    media_obj = content.get(media)
    schema, _ = deref(spec, media_obj.get("schema") if isinstance(media_obj, dict) else None)
    schema = schema if isinstance(schema, dict) else {}
    props = schema.get("properties")
    composed = any(isinstance(schema.get(k), list) for k in ("allOf", "anyOf", "oneOf"))
    raw = not (isinstance(props, dict) and props) and not composed and not (schema.get("type") == "object" and (is_json_media(media) or media in _FORMS))
    return RequestBody(str(media), schema, bool(body.get("required")), raw, spec)


def _read_only(spec: Any, schema: Any) -> bool:
    schema, _ = deref(spec, schema)
    return isinstance(schema, dict) and schema.get("readOnly") is True
