"""MCP servers as tool sources, reached through the real executor's guards (issue 21, part 5); the only module
that imports the ``mcp`` package.

A server is ``McpServer``: a stdio command (a program the factory starts and talks to over its stdin/stdout)
or a streamable-HTTP URL. ``list_tools`` reads its ``tools/list`` (what ``toolfactory docs import --mcp`` /
``--mcp-url`` turns into an API); ``McpConnection`` calls its tools for the real executor, over one session
per server, opened on first use. Guards (``McpGuard``):
  - a stdio server runs only when its command is one of the configured commands (``mcp_stdio_commands``):
    a document — imported or hostile — can name a command, but never gets it started;
  - a URL must be http(s), its host and port on the allow-list (by default the URL's own), and its address
    globally routable unicast after DNS resolution (``tasks.guards.address_guard``), unless private
    addresses are allowed; the SDK follows a redirect only on the same origin;
  - every call has a timeout, and a result larger than the cap is refused.
A stdio server's own log (stderr) is appended to the file its caller names (the flows name
``<log_dir>/mcp-servers.log``; None: this process's stderr), opened for the session and closed with it; the
server is started with the SDK's minimal environment (no variables of ours, no secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import sys
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any

from tasks.guards.address_guard import Refused, check_destination, destination

MCP_EXTENSION = "x-toolfactory-mcp"  # the spec key an MCP import records its server under


@dataclass(frozen=True)
class McpServer:
    """Where a server is: ``transport`` ``stdio`` (``command``: the program and its arguments, as one
    shell-quoted line) or ``http`` (``url``)."""

    transport: str
    command: str = ""
    url: str = ""

    def as_extension(self) -> dict[str, str]:
        return {"transport": self.transport, **({"command": self.command} if self.command else {"url": self.url})}

    @classmethod
    def of(cls, value: Any) -> McpServer | None:
        """The server a spec's ``x-toolfactory-mcp`` names, or None when it names none properly."""
        if not isinstance(value, dict):
            return None
        if value.get("transport") == "stdio" and isinstance(value.get("command"), str) and value["command"].strip():
            return cls("stdio", command=value["command"].strip())
        if value.get("transport") == "http" and isinstance(value.get("url"), str) and value["url"].strip():
            return cls("http", url=value["url"].strip())
        return None


@dataclass
class McpGuard:
    """What the real executor may reach: ``commands`` (stdio command lines, compared after shell-style
    splitting), ``allowed`` ((host, port) pairs; empty: the URL's own), private addresses or not, the call
    timeout, the largest result (bytes of its JSON) and the file stdio servers' stderr is appended to."""

    commands: Collection[str] = ()
    allowed: set[tuple[str, int]] = field(default_factory=set)
    allow_private: bool = False
    timeout_s: float = 10.0
    max_result_bytes: int = 1_000_000
    server_log: str | None = None

    def check(self, server: McpServer) -> None:
        """Raise ``Refused`` (with the reason) unless the guard lets the factory reach ``server``."""
        if server.transport == "stdio":
            wanted = shlex.split(server.command)
            if not any(shlex.split(c) == wanted for c in self.commands):
                raise Refused(f"stdio MCP server {server.command[:200]!r} is not one of the configured commands "
                              "(mcp_stdio_commands)")
            return
        if not server.url.startswith(("http://", "https://")):
            raise Refused(f"MCP URL {server.url[:200]!r}: only http(s)")
        check_destination(server.url, self.allowed or {destination(server.url)}, self.allow_private)


@contextlib.asynccontextmanager
async def _session(server: McpServer, timeout_s: float, server_log: str | None) -> AsyncIterator[Any]:
    """An open SDK client for ``server``; a stdio server's stderr goes to ``server_log`` (appended; None:
    this process's stderr), closed when the session ends."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    async with contextlib.AsyncExitStack() as stack:
        if server.transport == "stdio":
            program, *args = shlex.split(server.command)
            errlog = stack.enter_context(open(server_log, "a", encoding="utf-8")) if server_log else sys.stderr  # noqa: SIM115
            transport = stdio_client(StdioServerParameters(command=program, args=args), errlog=errlog)
        else:
            transport = streamable_http_client(server.url)
        yield await stack.enter_async_context(Client(transport, read_timeout_seconds=timeout_s))


async def list_tools(server: McpServer, timeout_s: float = 30.0, server_log: str | None = None) -> dict[str, Any]:
    """The server's ``tools/list`` result as JSON (``{"tools": [...], "serverInfo": {...}}``), every page
    (``server_log``: see ``_session``)."""
    async with asyncio.timeout(timeout_s), _session(server, timeout_s, server_log) as client:
        tools: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await client.list_tools(**({"params": {"cursor": cursor}} if cursor else {}))
            tools += [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in page.tools]
            cursor = getattr(page, "next_cursor", None)
            if not cursor:
                break
        info = client.server_info
        return {"tools": tools, **({"serverInfo": info.model_dump(exclude_none=True, mode="json")} if info else {})}


class McpConnection:
    """One session with one server, owned by a task on the event loop that first calls it (the SDK's
    sessions must be opened and closed by one task); calls are queued to it. ``close`` ends it."""

    def __init__(self, server: McpServer, guard: McpGuard) -> None:
        self.server, self.guard = server, guard
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[Any]] | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner: asyncio.Task[None] | None = None

    async def call(self, tool: str, arguments: dict[str, Any]) -> tuple[int, Any]:
        """(status, response): 200 and the tool's structured result (else ``{"text": …}``); 502 for a tool
        error or a result over the cap; 504 on a timeout; 403 when the guard refuses the server."""
        try:
            self.guard.check(self.server)
        except Refused as exc:
            return 403, {"error": "refused by the executor", "detail": str(exc)}
        if self._queue is None:
            self._queue, self._loop = asyncio.Queue(), asyncio.get_running_loop()
            self._owner = asyncio.create_task(self._serve(self._queue))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((tool, arguments, done))
        try:
            result = await asyncio.wait_for(asyncio.shield(done), self.guard.timeout_s)
        except TimeoutError:
            return 504, {"error": f"the MCP server did not answer within {self.guard.timeout_s} s"}
        except Exception as exc:  # the session could not be opened, or the server refused the call
            return 502, {"error": "the MCP server could not answer", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        return self._outcome(result)

    def _outcome(self, result: Any) -> tuple[int, Any]:
        data = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        size = len(json.dumps(data.get("structuredContent", data.get("content", "")), ensure_ascii=False).encode())
        if size > self.guard.max_result_bytes:
            return 502, {"error": f"the tool's result is larger than {self.guard.max_result_bytes} bytes"}
        text = "\n".join(c.get("text", "") for c in data.get("content") or [] if c.get("type") == "text")
        if data.get("isError"):
            return 502, {"error": "the tool failed", "detail": text[:1000]}
        return 200, data["structuredContent"] if isinstance(data.get("structuredContent"), dict) else {"text": text}

    async def _serve(self, queue: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[Any]] | None]) -> None:
        try:
            async with _session(self.server, self.guard.timeout_s, self.guard.server_log) as client:
                while (job := await queue.get()) is not None:
                    tool, arguments, done = job
                    try:
                        result = await client.call_tool(tool, arguments, read_timeout_seconds=self.guard.timeout_s)
                    except Exception as exc:  # this call failed; the session goes on
                        result = exc
                    if not done.done():
                        done.set_exception(result) if isinstance(result, Exception) else done.set_result(result)
        except Exception as exc:  # noqa: BLE001  (opening the session failed: every waiting call gets the reason)
            while not queue.empty():
                job = queue.get_nowait()
                if job is not None and not job[2].done():
                    job[2].set_exception(exc)
            self._queue = None  # the next call tries again

    def close(self) -> None:
        """End the session (from any thread); its server process, if any, is stopped by the SDK."""
        if self._queue is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def aclose(self) -> None:
        """End the session from its own event loop and wait until its server has stopped."""
        if self._queue is not None and self._owner is not None:
            await self._queue.put(None)
            await self._owner
