"""The real executor (issue #3, off by default): calls the API's own server instead of simulating it.

The call is checked against the spec first (``tasks.call_check``), then sent with the spec's
parameter placement (path, query, header, cookie, JSON body) to ``servers[0]``. Guards:
  - a host allow-list (by default only the spec's own server host);
  - private, loopback, link-local (cloud metadata), multicast and reserved addresses are refused —
    after DNS resolution, and again for every redirect hop — unless ``allow_private`` is set;
  - a timeout, a redirect limit and a cap on the response size.
Auth values come only from the environment (``auth_env``: header name → variable name).
Known limit: the address is checked before the request, so a DNS answer that changes between the
check and the connection (rebinding) is not caught here; keep the allow-list tight.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tasks.call_check import check_call
from tasks.executor import Execution, ExecutorState, refused, render_observation


class Refused(Exception):
    """The destination is not allowed; the message says why."""


@dataclass
class RealExecutorConfig:
    allowed_hosts: list[str] = field(default_factory=list)  # empty: the spec's server host only
    allow_private: bool = False
    timeout_s: float = 10.0
    max_redirects: int = 3
    max_response_bytes: int = 1_000_000
    auth_env: dict[str, str] = field(default_factory=dict)  # header → environment variable


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for attr, why in (("is_loopback", "loopback"), ("is_link_local", "link-local (cloud metadata)"),
                      ("is_unspecified", "unspecified"), ("is_multicast", "multicast"), ("is_reserved", "reserved"),
                      ("is_private", "private")):
        if getattr(ip, attr):
            return why
    return None


def check_destination(url: str, allowed_hosts: list[str], allow_private: bool) -> None:
    """Raise Refused unless ``url`` is http(s) to an allowed host whose every address is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"scheme {parts.scheme or '(none)'} is not allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("no host")
    if host not in [h.lower() for h in allowed_hosts]:
        raise Refused(f"host {host} is not in the allow-list ({', '.join(allowed_hosts) or 'empty'})")
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        why = _forbidden(ip)
        if why and not allow_private:
            raise Refused(f"{host} resolves to {ip}, a {why} address")


class RealExecutor:
    """Executes calls against the live API described by ``spec``."""

    def __init__(self, spec: dict[str, Any], cfg: RealExecutorConfig | None = None, max_chars: int = 3000,
                 transport: httpx.BaseTransport | None = None):
        self.spec = spec
        self.cfg = cfg or RealExecutorConfig()
        self.max_chars = max_chars
        servers = spec.get("servers") if isinstance(spec.get("servers"), list) else []
        self.base = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
        host = urlsplit(self.base).hostname or ""
        self.allowed = list(self.cfg.allowed_hosts) or ([host] if host else [])
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
        for header, variable in self.cfg.auth_env.items():
            value = os.environ.get(variable)
            if value:
                headers[header] = value
        url = self.base.rstrip("/") + check.path
        start = time.perf_counter()
        try:
            status, response = self._send(check.method.upper(), url, check.query, headers, check.cookies, check.body)
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

    def _send(self, method: str, url: str, query: dict[str, Any], headers: dict[str, str], cookies: dict[str, Any],
              body: dict[str, Any] | None) -> tuple[int, Any]:
        for _ in range(self.cfg.max_redirects + 1):
            check_destination(url, self.allowed, self.cfg.allow_private)
            request = self.client.build_request(method, url, params=query or None, headers=headers,
                                                cookies={k: str(v) for k, v in cookies.items()} or None,
                                                json=body if body is not None and method not in ("GET", "HEAD") else None)
            response = self.client.send(request, stream=True)
            try:
                if response.is_redirect and response.headers.get("location"):
                    url = urljoin(url, response.headers["location"])
                    query = {}
                    if response.status_code in (301, 302, 303):
                        method, body = "GET", None
                    continue
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > self.cfg.max_response_bytes:
                        return 502, {"error": f"the response is larger than {self.cfg.max_response_bytes} bytes"}
                text = data.decode("utf-8", "replace")
                try:
                    return response.status_code, json.loads(text) if text.strip() else {}
                except json.JSONDecodeError:
                    return response.status_code, {"text": text[: self.max_chars]}
            finally:
                response.close()
        raise Refused(f"more than {self.cfg.max_redirects} redirects")
