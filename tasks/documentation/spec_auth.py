"""Auth values of a spec: which parameters carry a key or token, so they stay out of function
arguments, golden calls and exports, and the real executor fills them from the environment.

In: a spec (its ``components.securitySchemes``) and auth parameter names from elsewhere (ToolAlpaca's
``Authentication`` field, read by ``authentication_names``). Out: ``AuthParam``s — API keys in query,
header or cookie; bearer, basic and OAuth tokens as the ``Authorization`` header. ``env_variable``
names the environment variable the real executor reads when ``real_auth_env`` does not map one.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

_KNOWN = re.compile(r"^(api[_-]?key|apikey|access[_-]?key|app[_-]?id|app[_-]?key|appid|access[_-]?token|auth[_-]?token|"
                    r"token|client[_-]?id|client[_-]?secret|key|secret|x-api-key)$", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class AuthParam:
    name: str
    location: str  # query | header | cookie
    kind: str  # api_key | bearer | basic | oauth2
    scheme: str  # the securityScheme's name, or "Authentication"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def env_variable(self) -> str:
        return "TOOLFACTORY_AUTH_" + re.sub(r"[^A-Za-z0-9]+", "_", self.name).strip("_").upper()


def auth_parameters(spec: dict[str, Any], names: list[str]) -> list[AuthParam]:
    """The spec's auth parameters: its security schemes', then ``names`` (placed where the spec
    declares a parameter of that name, else in the query)."""
    out: dict[tuple[str, str], AuthParam] = {}
    schemes = (spec.get("components") or {}).get("securitySchemes") if isinstance(spec.get("components"), dict) else None
    for scheme, s in (schemes or {}).items() if isinstance(schemes, dict) else []:
        if not isinstance(s, dict):
            continue
        kind = str(s.get("type", ""))
        if kind == "apiKey" and isinstance(s.get("name"), str) and s.get("in") in ("query", "header", "cookie"):
            param = AuthParam(s["name"], s["in"], "api_key", str(scheme))
        elif kind == "http":
            param = AuthParam("Authorization", "header", "basic" if str(s.get("scheme", "")).lower() == "basic" else "bearer", str(scheme))
        elif kind in ("oauth2", "openIdConnect"):
            param = AuthParam("Authorization", "header", "oauth2", str(scheme))
        else:
            continue
        out.setdefault((param.name.casefold(), param.location), param)
    declared = declared_parameters(spec)
    for name in names:
        location = declared.get(name.casefold(), (name, "query"))[1]
        out.setdefault((name.casefold(), location), AuthParam(name, location, "api_key", "Authentication"))
    return list(out.values())


def declared_parameters(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Every query, header or cookie parameter declared anywhere in ``spec``: its name without case →
    (the name as written, where it goes)."""
    found: dict[str, tuple[str, str]] = {}
    components = spec.get("components") if isinstance(spec.get("components"), dict) else {}
    stack: list[Any] = [spec.get("paths"), components.get("parameters")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("name"), str) and node.get("in") in ("query", "header", "cookie"):
                found.setdefault(node["name"].casefold(), (node["name"], node["in"]))
            stack.extend(v for k, v in node.items() if k not in ("responses", "requestBody"))
        elif isinstance(node, list):
            stack.extend(node)
    return found


_BY_NAME = re.compile(r"^(authorization|x-api-key|api[_-]?key|apikey)$", re.IGNORECASE)


def is_auth_parameter(p: dict[str, Any], auth: list[AuthParam]) -> AuthParam | None:
    """The auth parameter the declared parameter ``p`` is: one of ``auth`` (same name and place;
    header names compare without case), or — by its name alone — an ``Authorization`` header or an
    ``api_key`` / ``apikey`` / ``X-API-Key`` header or query parameter (a new ``AuthParam``). None
    when it is an ordinary argument (``accessToken`` in a simulated auth API is one, unless the
    spec's security schemes or ToolAlpaca's ``Authentication`` name it)."""
    name, location = str(p.get("name", "")), str(p.get("in", "query"))
    for a in auth:
        if a.location == location and (a.name == name or (location == "header" and a.name.casefold() == name.casefold())):
            return a
    if location in ("header", "query") and _BY_NAME.match(name):
        kind = "bearer" if name.casefold() == "authorization" else "api_key"
        return AuthParam(name, location, kind, "by name")
    return None


def authentication_names(value: Any, declared: dict[str, tuple[str, str]]) -> list[str]:
    """The auth parameter names in ToolAlpaca's ``Authentication`` field: a map's keys, a list's
    items, or — in free text — the words that are parameters the spec declares (``declared``:
    ``declared_parameters``) and look like keys or tokens."""
    if isinstance(value, dict):
        return [str(k) for k in value if str(k).strip()]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str) and v.strip()]
    if not isinstance(value, str) or not value.strip():
        return []
    words = list(dict.fromkeys(_WORD.findall(value)))
    return [declared[w.casefold()][0] for w in words
            if w.casefold() in declared and (_KNOWN.match(w) or "key" in w.lower() or "token" in w.lower())]


def auth_of(spec: Any) -> list[AuthParam]:
    """The auth parameters an imported spec records (``x-toolfactory-auth``, written by ``tasks.documentation.spec_normalise``)."""
    raw = spec.get("x-toolfactory-auth") if isinstance(spec, dict) else None
    return [AuthParam(**a) for a in raw or [] if isinstance(a, dict)]


def strip_auth(arguments: Any, spec: Any) -> Any:
    """``arguments`` without the spec's auth parameters (a call, a golden call or an export never carries a key)."""
    names = {a.name.casefold() for a in auth_of(spec)}
    if not isinstance(arguments, dict) or not names:
        return arguments
    return {k: v for k, v in arguments.items() if str(k).casefold() not in names}


def calls_without_auth(calls: list[dict[str, Any]], spec: Any) -> list[dict[str, Any]]:
    """Each call (``{"action", "action_input", …}``) with its arguments stripped of the spec's auth
    parameters: what a model under evaluation passes as a key never counts for or against it."""
    return [{**c, "action_input": strip_auth(c.get("action_input"), spec)} for c in calls]


_ALWAYS = ("authorization", "x-api-key", "api_key", "api-key", "apikey", "access_token", "client_secret")  # key names anywhere


def _auth_names(spec: Any) -> list[str]:
    return sorted({a.name.casefold() for a in auth_of(spec)} | set(_ALWAYS), key=lambda n: (-len(n), n))


def redact_auth_text(text: str, spec: Any) -> str:
    """``text`` with the value of every auth parameter it writes out replaced by ``<redacted>``: ``"name": "v"``,
    ``'name': 'v'``, ``name=v``, ``name: v`` (JSON that does not parse, a query string, a header line, a log)."""
    out = text
    for name in _auth_names(spec):
        n = re.escape(name)
        out = re.sub(rf"""(?i)(["']{n}["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""", r"\1\2<redacted>\2", out)
        out = re.sub(rf"""(?i)(["']{n}["']\s*:\s*)(?!["'<\s])[^,}}\]\s]+""", r"\1<redacted>", out)
        out = re.sub(rf"""(?i)(?<![A-Za-z0-9_-])({n}\s*[=:]\s*)(?!["'<\s])(?:Bearer\s+|Basic\s+)?[^\s&,;}}\]"']+""",
                     r"\1<redacted>", out)
    return out


def scrub_auth(value: Any, spec: Any) -> Any:
    """``value`` without auth values, whatever its shape: a mapping loses its auth keys (the spec's and the usual
    key names) at any depth, text has them redacted (``redact_auth_text``), lists are scrubbed item by item."""
    if isinstance(value, dict):
        names = set(_auth_names(spec))
        return {k: scrub_auth(v, spec) for k, v in value.items() if str(k).casefold() not in names}
    if isinstance(value, list):
        return [scrub_auth(v, spec) for v in value]
    if isinstance(value, str):
        return redact_auth_text(value, spec)
    return value
