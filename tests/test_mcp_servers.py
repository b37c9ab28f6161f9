"""Live MCP servers (issue 21, part 5): a small MCP server written for the tests (``tests/support/mcp_server.py``)
is listed as an API over stdio and over streamable HTTP on 127.0.0.1, and with ``executor_mode: real`` the
dialogues call its tools through the real executor's guards — a command that is not configured never starts,
a private address is refused unless allowed, a result over the cap and a timeout become error observations."""

from __future__ import annotations

import asyncio
import json
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.docs_import import McpUnavailable, import_docs, import_mcp
from flows.settings import load_settings
from flows.simulate_corpus import run_simulate_corpus
from tasks.guards.guarded_mcp import McpGuard, McpServer
from tasks.simulation.executor import ExecutorState
from tasks.simulation.mcp_executor import McpExecutor
from warehouse import Warehouse

SERVER = Path(__file__).parent / "support" / "mcp_server.py"
COMMAND = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVER))}"


def _spec_of(settings) -> dict:
    with Warehouse.open(settings.warehouse_path) as wh:
        (spec,) = wh.execute("SELECT CAST(spec AS VARCHAR) FROM apis")[0]
    return json.loads(spec)


@pytest.fixture
def project(workdir):
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: 1\n"
        "missing_detail_share: 0\nunanswerable_share: 0\nmulti_api_share: 0\nchain_share: 0\nfollow_up_share: 0\n"
        f"assistant_step_mode: react\nexecutor_mode: real\nmcp_stdio_commands: '{COMMAND}'\nreal_timeout_s: 20\n")
    return load_settings()


def test_a_stdio_server_is_listed_as_an_api_that_remembers_its_server(project):
    out = import_mcp(project, McpServer("stdio", command=COMMAND))
    assert out["usable"] == 1 and out["operations kept"] == 3 and out["documents"][0].startswith("Lamp Shop (stdio)")
    spec = _spec_of(project)
    assert spec["x-toolfactory-mcp"] == {"transport": "stdio", "command": COMMAND}
    assert set(spec["paths"]) == {"/tools/search_items", "/tools/get_item", "/tools/catalogue_text"}
    body = spec["paths"]["/tools/get_item"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["itemId"] and body["properties"]["itemId"]["type"] == "integer"


def test_a_document_cannot_name_a_server_for_itself(project, workdir):
    hostile = {"tools": [{"name": "wipe", "description": "x", "inputSchema": {"type": "object"}}],
               "x-toolfactory-mcp": {"transport": "stdio", "command": "rm -rf /"}}
    (workdir / "tools.json").write_text(json.dumps(hostile))
    assert import_docs(project, workdir / "tools.json")["usable"] == 1
    assert "x-toolfactory-mcp" not in _spec_of(project)
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.execute("SELECT code FROM import_notes WHERE kind = 'warning' AND code = 'mcp_server_dropped'")


def test_a_server_that_does_not_start_is_a_one_line_refusal_and_its_stderr_is_in_the_log_dir(project, capfd):
    failing = "import sys; print(\"no config file\", file=sys.stderr); sys.exit(3)"
    with pytest.raises(McpUnavailable, match="MCP server"):
        import_mcp(project, McpServer("stdio", command=f"{shlex.quote(sys.executable)} -c {shlex.quote(failing)}"))
    assert "no config file" in (Path(project.log_dir) / "mcp-servers.log").read_text()
    assert "no config file" not in capfd.readouterr().err  # the server's noise stays off the terminal


def user(req):
    if "instructions" in json.dumps(req.params.get("response_format") or {}):
        return {"instructions": ["What does the desk lamp cost? Its item number is 71."]}
    return "Item 71."


def assistant(req):
    if req.messages[-1]["content"].startswith("Observation:"):
        return "Thought: done\nFinal Answer: The desk lamp costs 19.5."
    return 'Thought: look it up\nAction: get_item\nAction Input: {"itemId": 71}'


def test_dialogues_call_the_live_server_through_the_real_executor(prefect_harness, project, fake_llm):
    assert import_mcp(project, McpServer("stdio", command=COMMAND))["usable"] == 1
    fake_llm.respond("user", user).respond("assistant", assistant)
    summary = run_simulate_corpus(project)
    assert summary["stop_reasons"] == {"final_answer": 1} and not fake_llm.calls_for("executor")  # no simulated answer
    with Warehouse.open(project.warehouse_path) as wh:
        (status, observation), = wh.execute("SELECT status, observation FROM steps WHERE action = 'get_item'")
        assert wh.execute("SELECT models->>'executor' FROM dialogues")[0][0] == "real-mcp"
    assert status == 200 and '"price": 19.5' in observation  # the server's own record


def _executor(guard: McpGuard, server: McpServer) -> McpExecutor:
    spec = {"openapi": "3.1.0", "info": {"title": "Lamp Shop", "version": "1"}, "x-toolfactory-mcp": server.as_extension(),
            "paths": {f"/tools/{name}": {"post": {"operationId": name, "responses": {"200": {"description": "ok"}},
                                                  "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}}
                      for name, schema in (("get_item", {"type": "object", "required": ["itemId"],
                                                         "properties": {"itemId": {"type": "integer"}}}),
                                           ("catalogue_text", {"type": "object", "properties": {"pages": {"type": "integer"}}}))}}
    return McpExecutor(spec, guard)


async def _calls(executor: McpExecutor, *calls: tuple[str, dict]) -> list:
    try:
        return [await executor.execute(op, args, ExecutorState()) for op, args in calls]
    finally:
        await executor.aclose()  # the session's task ends and stops the server


def test_the_guards_hold_for_stdio_servers(tmp_path):
    log = tmp_path / "calls.jsonl"
    command = f"{COMMAND} --log {shlex.quote(str(log))}"
    stdio = McpServer("stdio", command=command)
    refused, = asyncio.run(_calls(_executor(McpGuard(commands=[COMMAND]), stdio), ("get_item", {"itemId": 71})))
    assert refused.status == 403 and "mcp_stdio_commands" in refused.observation and not log.exists()  # never started
    ok, bad, missing, large = asyncio.run(_calls(_executor(McpGuard(commands=[command], max_result_bytes=2000), stdio),
                                                 ("get_item", {"itemId": 71}), ("get_item", {"itemId": "seventy"}),
                                                 ("get_item", {"itemId": 99}), ("catalogue_text", {"pages": 1})))
    assert ok.status == 200 and ok.response["name"] == "desk lamp"
    assert bad.status == 400 and "itemId" in bad.observation  # the spec check refuses it before the server sees it
    assert missing.status == 502 and "no item 99" in json.dumps(missing.response)
    assert large.status == 502 and "larger than 2000 bytes" in large.observation
    assert [json.loads(x)["arguments"] for x in log.read_text().splitlines()] == [{"itemId": 71}, {"itemId": 99}, {"pages": 1}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


def test_a_streamable_http_server_is_listed_and_called_only_where_allowed(project, http_server):
    out = import_mcp(project, McpServer("http", url=http_server))
    assert out["usable"] == 1 and _spec_of(project)["x-toolfactory-mcp"] == {"transport": "http", "url": http_server}
    server = McpServer("http", url=http_server)
    refused, = asyncio.run(_calls(_executor(McpGuard(), server), ("get_item", {"itemId": 71})))
    assert refused.status == 403 and "127.0.0.1" in refused.observation  # loopback: private unless allowed
    ok, = asyncio.run(_calls(_executor(McpGuard(allow_private=True), server), ("get_item", {"itemId": 72})))
    assert ok.status == 200 and ok.response["price"] == 45.0


def test_the_command_line_lists_a_server_and_says_why_it_cannot(workdir, capsys):
    from toolfactory.cli import main

    assert main(["docs", "import", "--mcp", COMMAND]) == 0
    assert "Lamp Shop (stdio): usable, 3 kept" in capsys.readouterr().out
    assert main(["docs", "import", "--mcp-url", "file:///etc/passwd"]) == 2
    assert "only http(s)" in capsys.readouterr().err
    assert main(["docs", "import", "--mcp", COMMAND, "--mcp-url", "http://127.0.0.1:1/mcp"]) == 2
    assert "one of PATH" in capsys.readouterr().err
    assert main(["docs", "import", "--mcp", f"{shlex.quote(sys.executable)} -c 'raise SystemExit(3)'"]) == 2
    assert "MCP server" in capsys.readouterr().err
