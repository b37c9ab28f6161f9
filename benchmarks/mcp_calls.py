"""What calling a live MCP server costs through the real executor (issue 21, part 5): the test server
(``tests/support/mcp_server.py``) over stdio and over streamable HTTP on 127.0.0.1, side by side — the first
call (it starts the session: the stdio server's process, the HTTP handshake) and the median and 95th
percentile of the calls after it, each checked against the spec and guarded as in a run.

    .venv/bin/python benchmarks/mcp_calls.py [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.guards.guarded_mcp import McpGuard, McpServer  # noqa: E402
from tasks.simulation.executor import ExecutorState  # noqa: E402
from tasks.simulation.mcp_executor import McpExecutor  # noqa: E402

SERVER = ROOT / "tests" / "support" / "mcp_server.py"
SPEC = {"openapi": "3.1.0", "info": {"title": "Lamp Shop", "version": "1"}, "paths": {"/tools/get_item": {"post": {
    "operationId": "get_item", "responses": {"200": {"description": "ok"}}, "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "required": ["itemId"], "properties": {"itemId": {"type": "integer"}}}}}}}}}}


async def timed(server: McpServer, guard: McpGuard, calls: int) -> tuple[float, list[float]]:
    executor = McpExecutor({**SPEC, "x-toolfactory-mcp": server.as_extension()}, guard)
    out = []
    try:
        for n in range(calls + 1):
            start = time.perf_counter()
            result = await executor.execute("get_item", {"itemId": 71 + n % 2}, ExecutorState())
            assert result.status == 200, result.observation
            out.append(time.perf_counter() - start)
    finally:
        await executor.aclose()
    return out[0], out[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVER))}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        rows = {"stdio": asyncio.run(timed(McpServer("stdio", command=command), McpGuard(commands=[command]), args.calls)),
                "streamable HTTP": asyncio.run(timed(McpServer("http", url=f"http://127.0.0.1:{port}/mcp"),
                                                     McpGuard(allow_private=True), args.calls))}
    finally:
        proc.terminate()
        proc.wait(10)
    print("| transport | first call (opens the session) | median call | p95 call |")
    print("|---|---:|---:|---:|")
    for name, (first, rest) in rows.items():
        p95 = sorted(rest)[int(0.95 * len(rest)) - 1]
        print(f"| {name} | {first * 1000:.0f} ms | {statistics.median(rest) * 1000:.1f} ms | {p95 * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
