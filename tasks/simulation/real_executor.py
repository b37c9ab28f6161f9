"""The real executor (issue #3, off by default): calls the API's own server instead of simulating it.

The call is checked against the spec first (``tasks.simulation.call_check``), then sent with the spec's
parameter placement (path, query, header, cookie, JSON body) to ``servers[0]``. Guards
(``tasks.guards.address_guard``, ``tasks.guards.guarded_http``):
  - a host-and-port allow-list (by default only the spec's own server's host and port), checked
    again for every redirect hop;
  - every address that is not globally routable unicast by IANA's registries (private, loopback,
    link-local, shared, benchmarking, documentation, reserved, IPv4 inside IPv6 forms) and the cloud
    metadata names and addresses are refused, after DNS resolution — unless ``allow_private``;
  - a timeout, a redirect limit and a cap on the response size.
Auth values come only from the environment: each auth parameter of the spec (``x-toolfactory-auth``,
found at import) from the variable ``auth_env`` maps its name to, else ``TOOLFACTORY_AUTH_<NAME>``;
other ``auth_env`` entries are headers. They are never function arguments.
Known limit: the address is checked before the request, so a DNS answer that changes between the
check and the connection (rebinding) is not caught here; keep the allow-list tight.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tasks.documentation.request_body import is_json_media
from tasks.documentation.spec_auth import auth_of
from tasks.formats.observations import render_observation
from tasks.guards.address_guard import Refused, Resolver, allowed_pairs, destination
from tasks.guards.guarded_http import Guard, send_guarded
from tasks.simulation.call_check import check_call
from tasks.simulation.executor import Execution, ExecutorState, refused

__all__ = ["RealExecutor", "RealExecutorConfig", "Refused"]


@dataclass
class RealExecutorConfig:
    allowed_hosts: list[str] = field(default_factory=list)  # host, host:port or a URL; empty: the spec's server only
    allow_private: bool = False
    timeout_s: float = 10.0
    max_redirects: int = 3
    max_response_bytes: int = 1_000_000
    auth_env: dict[str, str] = field(default_factory=dict)  # header → environment variable


class RealExecutor:
    """Executes calls against the live API described by ``spec``."""

    def __init__(self, spec: dict[str, Any], cfg: RealExecutorConfig | None = None, max_chars: int = 3000,
                 transport: httpx.BaseTransport | None = None, resolve: Resolver | None = None):
        self.spec = spec
        self.cfg = cfg or RealExecutorConfig()
        self.max_chars = max_chars
        servers = spec.get("servers") if isinstance(spec.get("servers"), list) else []
        self.base = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
        try:
            own = {destination(self.base)} if self.base else set()
        except Refused:
            own = set()
        self.guard = Guard(allowed_pairs(self.cfg.allowed_hosts) if self.cfg.allowed_hosts else own,
                           self.cfg.allow_private, self.cfg.max_redirects, self.cfg.max_response_bytes,
                           **({"resolve": resolve} if resolve else {}))
        self.client = httpx.Client(timeout=self.cfg.timeout_s, follow_redirects=False, transport=transport)
        self.version = "real-http"

    def close(self) -> None:
        self.client.close()

    async def execute(self, operation_id: str, arguments: Any, state: ExecutorState) -> Execution:
        """The call's outcome; the HTTP exchange runs on a worker thread, off the event loop."""
        return await asyncio.to_thread(self.execute_blocking, operation_id, arguments, state)

    def execute_blocking(self, operation_id: str, arguments: Any, state: ExecutorState) -> Execution:
        check = check_call(self.spec, operation_id, arguments)
        if not check.ok:
            return refused(check, arguments, state, self.max_chars)
        headers = {k: str(v) for k, v in check.headers.items()}
        query, cookies = dict(check.query), dict(check.cookies)
        self._fill_auth(query, headers, cookies)
        url = self.base.rstrip("/") + check.path
        start = time.perf_counter()
        try:
            status, response = self._send(check.method.upper(), url, query, headers, cookies, check.body, check.body_media)
        except Refused as exc:
            status, response = 403, {"error": "refused by the executor", "detail": str(exc)}
        except httpx.TimeoutException:
            status, response = 504, {"error": f"the API did not answer within {self.cfg.timeout_s} s"}
        except httpx.HTTPError as exc:
            status, response = 502, {"error": f"the API could not be reached: {type(exc).__name__}"}
        latency = time.perf_counter() - start
        state.calls.append((operation_id, check.arguments(), status, response))
        return Execution(status, response, render_observation(status, response, self.max_chars), check,
                         conforms=status < 400, latency_s=latency)

    def _fill_auth(self, query: dict[str, Any], headers: dict[str, str], cookies: dict[str, Any]) -> None:
        """The spec's auth parameters (``x-toolfactory-auth``) from the environment — the variable
        ``auth_env`` maps the parameter's name to, else ``TOOLFACTORY_AUTH_<NAME>`` — in their place;
        a bearer token gets its ``Bearer`` prefix. ``auth_env`` entries the spec does not name are headers."""
        named = set()
        for param in auth_of(self.spec):
            named.add(param.name)
            value = os.environ.get(self.cfg.auth_env.get(param.name) or param.env_variable)
            if not value:
                continue
            if param.kind in ("bearer", "oauth2") and not value.lower().startswith("bearer "):
                value = f"Bearer {value}"
            {"query": query, "header": headers, "cookie": cookies}.get(param.location, headers)[param.name] = value
        for header, variable in self.cfg.auth_env.items():
            value = os.environ.get(variable)
            if value and header not in named:
                headers[header] = value

    def _send(self, method: str, url: str, query: dict[str, Any], headers: dict[str, str], cookies: dict[str, Any],
              body: Any, media: str = "") -> tuple[int, Any]:
        out = send_guarded(self.client, self.guard, method, url, params=query, headers=headers,
                           cookies={k: str(v) for k, v in cookies.items()}, **_body_arguments(method, body, media, headers))
        if out.too_large:
            return 502, {"error": f"the response is larger than {self.cfg.max_response_bytes} bytes"}
        text = out.body.decode("utf-8", "replace")
        try:
            return out.status, json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            return out.status, {"text": text[: self.max_chars]}


def _body_arguments(method: str, body: Any, media: str, headers: dict[str, str]) -> dict[str, Any]:
    """How the checked body goes on the wire: JSON for JSON media (and when none is named), an
    urlencoded or multipart form for those media types, the value as is (with its media type) otherwise."""
    if body is None or method in ("GET", "HEAD"):
        return {}
    kind = media.split(";")[0].strip().casefold()
    if not kind or is_json_media(kind):
        return {"json_body": body}
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data") and isinstance(body, dict):
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        return {"data": fields} if kind.startswith("application/") else {"files": {k: (None, v) for k, v in fields.items()}}
    headers.setdefault("content-type", kind)
    return {"content": body if isinstance(body, (str, bytes)) else json.dumps(body)}
