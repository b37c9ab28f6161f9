"""A local OpenAI-compatible chat-completions server with fault knobs, for tests, benchmarks and
load or chaos runs against the factory without any real LLM.

    python -m toolfactory.testing.fake_openai_server --port 0 --latency 0.2 --p500 0.1 --p429 0.05

prints ``listening on http://127.0.0.1:PORT`` and serves ``POST /v1/chat/completions`` (and
``GET /health``, ``GET /stats``, and ``GET /requests``: the first ``--keep-requests`` bodies).
Replies: when the request carries a JSON schema
(``response_format``), a minimal instance of that schema; when it carries ``tools`` and the last
message is not a tool result, a call of the first tool with a minimal instance of its parameters;
otherwise a short text that echoes the last user message's length. Faults, each a share of requests drawn from a seeded RNG: 500s, 429s
with ``Retry-After``, timeouts (the reply is held past ``--hang`` seconds), malformed bodies,
truncated replies (``finish_reason: length``) and schema-violating JSON. It binds to 127.0.0.1 only.

In-process (``FakeOpenAIServer(responder=fn)``) a test can script the replies: ``fn`` gets a
``FakeRequest`` whose role is the request's model name and returns what a ``FakeLLM`` responder
returns (text, a JSON-able value, a ``FakeReply`` or a ``FakeError``). Processes that reach the
server over HTTP (Dask or Ray workers, a subprocess) then get scripted agents, faults included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from aiohttp import web

from toolfactory.testing.fake_llm import FakeError, FakeReply, FakeRequest, as_reply


@dataclass
class Faults:
    latency: float = 0.0  # seconds per reply
    jitter: float = 0.0  # + uniform(0, jitter)
    p500: float = 0.0
    p429: float = 0.0
    retry_after: float = 1.0
    ptimeout: float = 0.0
    hang: float = 30.0  # how long a "timeout" reply is held
    pmalformed: float = 0.0
    ptruncated: float = 0.0
    pwrong_schema: float = 0.0
    seed: int = 0
    keep_requests: int = 0  # not a fault: how many request bodies to keep for GET /requests (benchmarks replay them)
    gather: int = 0  # not a fault: hold every request until this many are in flight at once (then all go on), or 60 s


@dataclass
class Stats:
    requests: int = 0
    ok: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0


def instance_of(schema: Any, depth: int = 0) -> Any:
    """A minimal value that conforms to ``schema`` (enough for structured-output tests)."""
    if not isinstance(schema, dict) or depth > 8:
        return {}
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return instance_of(schema[key][0], depth + 1)
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {k: instance_of(props.get(k, {}), depth + 1) for k in required}
    if t == "array":
        n = max(1, int(schema.get("minItems", 1)))
        return [instance_of(schema.get("items", {}), depth + 1) for _ in range(n)]
    if t == "integer":
        return int(schema.get("minimum", 1))
    if t == "number":
        return float(schema.get("minimum", 1.0))
    if t == "boolean":
        return True
    if t == "null":
        return None
    text = "sample text"
    return text[: schema["maxLength"]] if isinstance(schema.get("maxLength"), int) else text.ljust(int(schema.get("minLength", 0)), "x")


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema") or {"type": "object"}
    if rf.get("type") == "json_object":
        return rf.get("schema") or {"type": "object"}
    return None


def _scripted(responder: Callable[[FakeRequest], Any], body: dict[str, Any], schema: dict[str, Any] | None) -> FakeReply:
    """The responder's reply to this request body, as a FakeReply (a FakeError is raised)."""
    params = {k: v for k, v in body.items() if k not in ("messages", "model")}
    return as_reply(responder(FakeRequest(role=str(body.get("model", "")), messages=body.get("messages") or [], json_schema=schema,
                                          max_tokens=body.get("max_tokens"), temperature=body.get("temperature"), params=params)))


_FAULTS = ("500", "429", "timeout", "malformed", "truncated", "wrong_schema")


class _FakeApp:
    """The server's state (faults drawn from one seeded RNG, counters, kept requests) and its routes."""

    def __init__(self, faults: Faults, responder: Callable[[FakeRequest], Any] | None) -> None:
        self.faults, self.responder = faults, responder
        self.rng = random.Random(faults.seed)
        self.lock = threading.Lock()
        self.stats = Stats()
        self.kept: list[dict[str, Any]] = []
        self.gathered: asyncio.Event | None = None  # made on the server's loop by the first request

    def draw(self) -> str | None:
        """The fault for this request, or None (the odds are read each time: a test may end an outage mid-run)."""
        with self.lock:
            x = self.rng.random()
        for name, p in ((name, getattr(self.faults, f"p{name}")) for name in _FAULTS):
            if x < p:
                return name
            x -= p
        return None

    async def completions(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json({"error": {"message": "request body is not JSON"}}, 400)
        with self.lock:
            if len(self.kept) < self.faults.keep_requests:
                self.kept.append(body)
            self.stats.requests += 1
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
        try:
            if self.faults.gather:
                await self.wait_for_company()
            fault = self.draw()
            delay = self.faults.latency + (self.rng.random() * self.faults.jitter if self.faults.jitter else 0.0)
            delay = self.faults.hang if fault == "timeout" else delay
            if delay:
                await asyncio.sleep(delay)
            if fault is not None:
                with self.lock:
                    self.stats.faults[fault] = self.stats.faults.get(fault, 0) + 1
            return self.fault_response(fault) or self.answer(body, fault)
        finally:
            with self.lock:
                self.stats.in_flight -= 1

    async def wait_for_company(self) -> None:
        """Hold this request until ``gather`` requests are in flight together (the event every held one waits on)."""
        if self.gathered is None:
            self.gathered = asyncio.Event()
        if self.stats.in_flight >= self.faults.gather:
            self.gathered.set()
        try:
            await asyncio.wait_for(self.gathered.wait(), timeout=60)
        except TimeoutError:
            pass

    def fault_response(self, fault: str | None) -> web.Response | None:
        """The response a transport-level fault gives (a 500, a 429 with Retry-After, a cut body), or None."""
        if fault == "500":
            return _json({"error": {"message": "injected server error", "type": "server_error"}}, 500)
        if fault == "429":
            return _json({"error": {"message": "injected rate limit", "type": "rate_limit_error"}}, 429,
                         {"retry-after": str(self.faults.retry_after)})
        if fault == "malformed":
            return web.Response(text='{"id": "broken", "choices": [', content_type="application/json")
        return None

    def answer(self, body: dict[str, Any], fault: str | None) -> web.Response:
        """A completion: the responder's script, else a tool call, a schema instance, or an echo of the prompt size."""
        messages = body.get("messages") or []
        schema = _schema_of(body)
        reasoning = None
        if self.responder is not None:
            try:
                content, tool_calls, finish, reasoning = self.scripted(body, schema, fault)
            except FakeError as err:
                return _json({"error": {"message": err.message, "type": "scripted_error"}}, err.status,
                             {"retry-after": str(err.retry_after)} if err.retry_after is not None else None)
        else:
            content, tool_calls, finish = self.generated(messages, body, schema, fault)
        if fault == "truncated" and content is not None:
            content, finish = content[: max(1, len(content) // 2)], "length"
        prompt_tokens = max(1, sum(len(str(m.get("content", ""))) for m in messages) // 4)
        completion_tokens = max(1, len(content or "") // 4)
        with self.lock:
            self.stats.ok += 1
        message = {"role": "assistant", "content": content, **({"tool_calls": tool_calls} if tool_calls else {}),
                   **({"reasoning_content": reasoning} if reasoning is not None else {})}
        return _json({
            "id": f"chatcmpl-{self.stats.requests}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"), "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def scripted(self, body: dict[str, Any], schema: dict[str, Any] | None, fault: str | None
                 ) -> tuple[str | None, list[dict[str, Any]] | None, str, str | None]:
        """(content, tool calls, finish reason, reasoning) from the responder (a FakeError it scripts is raised)."""
        reply = _scripted(self.responder, body, schema)  # type: ignore[arg-type]
        content, finish, tool_calls = reply.text, reply.finish_reason, None
        if reply.tool_calls:
            tool_calls = [{"id": c.get("id") or f"call_{self.stats.requests}_{i}", "type": "function", "function": {
                "name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str) else json.dumps(c["arguments"])}}
                for i, c in enumerate(reply.tool_calls)]
            finish = "tool_calls"
        if fault == "wrong_schema" and schema is not None:
            content = json.dumps({"unexpected": True})
        return content, tool_calls, finish, reply.reasoning

    def generated(self, messages: list[dict[str, Any]], body: dict[str, Any], schema: dict[str, Any] | None, fault: str | None
                  ) -> tuple[str, list[dict[str, Any]] | None, str]:
        """(content, tool calls, finish reason) without a script: the first tool called with a minimal
        instance of its parameters, an instance of the schema, or a line saying how much was received."""
        tools = [t.get("function") or {} for t in body.get("tools") or [] if isinstance(t, dict)]
        if tools and schema is None and (messages[-1].get("role") if messages else None) != "tool":
            return "", [{"id": f"call_{self.stats.requests}", "type": "function", "function": {
                "name": tools[0].get("name", "f"), "arguments": json.dumps(instance_of(tools[0].get("parameters") or {}))}}], "tool_calls"
        if schema is not None:
            return json.dumps({"unexpected": True} if fault == "wrong_schema" else instance_of(schema)), None, "stop"
        last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
        return f"ok ({len(str(last))} characters received)", None, "stop"

    async def health(self, request: web.Request) -> web.Response:
        return _json({"ok": True})

    async def stats_view(self, request: web.Request) -> web.Response:
        with self.lock:
            return _json(asdict(self.stats))

    async def requests_view(self, request: web.Request) -> web.Response:
        with self.lock:
            return _json(list(self.kept))


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, headers=headers, content_type="application/json")


def build_app(faults: Faults, responder: Callable[[FakeRequest], Any] | None = None) -> web.Application:
    """The fake OpenAI-compatible server as an aiohttp app (its C HTTP parser: a yardstick that keeps up with
    thousands of requests in flight): chat completions (both paths), health, stats, requests."""
    app = _FakeApp(faults, responder)
    web_app = web.Application(client_max_size=256 * 1024 * 1024)
    web_app.add_routes([web.post("/v1/chat/completions", app.completions), web.post("/chat/completions", app.completions),
                        web.get("/health", app.health), web.get("/stats", app.stats_view), web.get("/requests", app.requests_view)])
    return web_app


class FakeOpenAIServer:
    """The server on 127.0.0.1 in a background thread: ``with FakeOpenAIServer(Faults(...)) as s: s.base_url``."""

    def __init__(self, faults: Faults | None = None, port: int = 0, responder: Callable[[FakeRequest], Any] | None = None):
        self.faults = faults or Faults()
        self.app = build_app(self.faults, responder)
        self.requested_port = port
        self.port = 0
        self.started = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        """The server's own loop in this thread, until ``stop`` is set."""
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._run())
        self.loop.close()

    async def _run(self) -> None:
        self.stop = asyncio.Event()
        # a pooled connection may sit idle for long while its dialogue waits on a slow reply
        runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=120, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.requested_port, backlog=16384)  # thousands may connect at once
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.started.set()
        await self.stop.wait()
        await runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.thread.start()
        if not self.started.wait(timeout=30):
            raise RuntimeError("the fake OpenAI server did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    for name, value in asdict(Faults()).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = ap.parse_args()
    faults = Faults(**{k: getattr(args, k) for k in asdict(Faults())})
    with FakeOpenAIServer(faults, args.port) as server:
        print(f"listening on http://127.0.0.1:{server.port}", flush=True)
        try:
            while server.thread.is_alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
