"""The real executor for an API imported from an MCP server (issue 21, part 5; ``executor_mode: real``).

In: the API's spec, as ``toolfactory docs import --mcp`` / ``--mcp-url`` made it (one ``POST /tools/<name>``
operation a tool, the server under ``x-toolfactory-mcp``), and the guard (``tasks.guards.guarded_mcp``). Each
call is checked against the spec first (``tasks.simulation.call_check``: a bad call gets its 4xx without
reaching the server), then sent to the server as an MCP ``tools/call`` with its checked arguments under the
tool's own name. The observation is the tool's structured result (or its text) as a 200; a tool error, an
unreachable server or a result over the size cap is a 502, a timeout a 504, a server the guard refuses a 403.
"""

from __future__ import annotations

import time
from typing import Any

from tasks.formats.observations import render_observation
from tasks.guards.guarded_mcp import MCP_EXTENSION, McpConnection, McpGuard, McpServer
from tasks.simulation.call_check import check_call, find_operation
from tasks.simulation.executor import Execution, ExecutorState, refused


def mcp_server_of(spec: Any) -> McpServer | None:
    """The MCP server a spec was imported from, or None."""
    return McpServer.of(spec.get(MCP_EXTENSION)) if isinstance(spec, dict) else None


class McpExecutor:
    """Executes calls as the MCP server's tools; one session for all of an API's dialogues."""

    def __init__(self, spec: dict[str, Any], guard: McpGuard, max_chars: int = 3000) -> None:
        self.spec, self.max_chars = spec, max_chars
        server = mcp_server_of(spec)
        self.connection = McpConnection(server, guard) if server is not None else None
        self.version = "real-mcp"

    async def execute(self, operation_id: str, arguments: Any, state: ExecutorState) -> Execution:
        check = check_call(self.spec, operation_id, arguments)
        if not check.ok:
            return refused(check, arguments, state, self.max_chars)
        found = find_operation(self.spec, operation_id)
        tool = str((found[2] if found else {}).get("x-original-operation-id") or operation_id)
        start = time.perf_counter()
        if self.connection is None:
            status, response = 403, {"error": "refused by the executor", "detail": "the spec names no MCP server"}
        else:
            status, response = await self.connection.call(tool, check.body if isinstance(check.body, dict) else {})
        state.calls.append((operation_id, check.arguments(), status, response))
        return Execution(status, response, render_observation(status, response, self.max_chars), check,
                         conforms=status < 400, latency_s=time.perf_counter() - start)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()

    async def aclose(self) -> None:
        """``close`` from the event loop the calls ran on, waiting until the server has stopped."""
        if self.connection is not None:
            await self.connection.aclose()
