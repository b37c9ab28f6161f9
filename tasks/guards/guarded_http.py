"""One HTTP exchange through the address guard: every hop (the first request and each redirect) is
checked by ``tasks.guards.address_guard.check_destination`` before it is sent, redirects are followed only
to an allowed host and port, at most ``max_redirects`` of them, and the body is read up to a cap.

In: an ``httpx.Client`` (``follow_redirects=False``), the request, the guard's inputs. Out:
``Exchange`` — the status and the body, or ``too_large`` when the body passed the cap. Raises
``Refused`` (a hop the guard refused, too many redirects) and httpx's errors.
"""

from __future__ import annotations

import socket
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from tasks.guards.address_guard import Refused, Resolver, check_destination


@dataclass
class Exchange:
    status: int
    body: bytes
    url: str
    too_large: bool = False


@dataclass(frozen=True)
class Guard:
    """What a hop must satisfy: (host, port) pairs (None: any public host), private addresses allowed
    (tests on loopback only), redirects, and the body cap."""

    allowed: Collection[tuple[str, int]] | None
    allow_private: bool = False
    max_redirects: int = 3
    max_bytes: int = 1_000_000
    resolve: Resolver = socket.getaddrinfo


def send_guarded(client: httpx.Client, guard: Guard, method: str, url: str, *, params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None,
                 json_body: Any = None, data: dict[str, Any] | None = None, content: str | bytes | None = None,
                 files: dict[str, Any] | None = None) -> Exchange:
    """Send the request, following redirects hop by hop through the guard; the body is ``json_body``
    (JSON), ``data`` (a urlencoded form), ``files`` (a multipart form) or ``content`` (as is)."""
    for _ in range(guard.max_redirects + 1):
        check_destination(url, guard.allowed, guard.allow_private, guard.resolve)
        request = client.build_request(method, url, params=params or None, headers=headers, cookies=cookies or None,
                                       json=json_body, data=data, content=content, files=files)
        response = client.send(request, stream=True)
        try:
            if response.is_redirect and response.headers.get("location"):
                url = urljoin(url, response.headers["location"])
                params = None
                if response.status_code in (301, 302, 303):
                    method, json_body, data, content, files = "GET", None, None, None, None
                continue
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > guard.max_bytes:
                    return Exchange(response.status_code, bytes(data[: guard.max_bytes]), url, too_large=True)
            return Exchange(response.status_code, bytes(data), url)
        finally:
            response.close()
    raise Refused(f"more than {guard.max_redirects} redirects")
