"""The tool executor agent (issue #3): answers each call as the API would.

A call is first checked against the spec (``tasks.simulation.call_check``): a bad call gets a 4xx observation
naming the parameter, without any LLM call. A good call is answered by the ``executor`` role with
the operation's 2xx response schema as structured output; the reply is validated with jsonschema
and regenerated (up to ``regenerations`` times) when it does not conform. ``ExecutorState`` holds
one dialogue's earlier calls, so an ID returned by a search is consistent in a later call; it is
new for every dialogue (the original leaked it across instructions). Observations are cut at
``max_chars``. Replies are cached by (spec hash, normalised request, state hash): a replay gives
the same answer. With ``share_responses`` (the default) the cache spans the API's dialogues: two
dialogues that make the same call in the same state get the same response, as from a real,
deterministic API; without it each dialogue's responses are its own (more varied, more calls).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.ids import canonical_json, content_id
from schemas.reasons import ExecutorCode, Reason
from tasks.documentation.openapi_refs import deref
from tasks.documentation.openapi_schema import json_schema, validator
from tasks.documentation.spec_lint import success_responses
from tasks.formats.observations import render_observation
from tasks.llm.types import Completer
from tasks.prompts import load_prompt
from tasks.simulation.call_check import CheckedCall, check_call, find_operation

HISTORY_CALLS = 6


class Executor(Protocol):
    """What the assistant loop needs of a tool executor: ``version`` (stamped on dialogues, part of
    their ID) and ``execute``. ``SimulatedExecutor``, ``tasks.simulation.real_executor.RealExecutor`` and
    ``PrefixRouter`` are executors."""

    version: str

    async def execute(self, operation_id: str, arguments: Any, state: ExecutorState) -> Execution: ...


@dataclass
class ExecutorState:
    """One dialogue's calls so far: (operation, arguments, status, response); ``scope`` names the
    dialogue (what keeps its responses its own when an executor does not share them)."""

    calls: list[tuple[str, dict[str, Any], int, Any]] = field(default_factory=list)
    scope: str = ""

    def digest(self) -> str:
        return content_id("state", self.calls)

    def history_text(self) -> str:
        if not self.calls:
            return "(none)"
        lines = []
        for op, args, status, response in self.calls[-HISTORY_CALLS:]:
            lines.append(f"- {op} {canonical_json(args)} → {status} {canonical_json(response)[:600]}")
        return "\n".join(lines)


@dataclass
class Execution:
    """The outcome of one call: status, response body, the observation text and how it was made."""

    status: int
    response: Any
    observation: str
    check: CheckedCall
    conforms: bool = True
    attempts: int = 0
    problem: Reason | None = None  # set when the simulator could not produce a conforming response
    cached: bool = False
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0


def refused(check: CheckedCall, arguments: Any, state: ExecutorState, max_chars: int) -> Execution:
    """The Execution of a call that failed the spec check (nothing was sent or simulated)."""
    body = check.error_body()
    state.calls.append((check.operation_id, arguments if isinstance(arguments, dict) else {"_": arguments}, check.status, body))
    return Execution(check.status, body, render_observation(check.status, body, max_chars), check)


TEXT_RESULT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "description": "the body as text"}}}
BINARY_RESULT = {"type": "object", "required": ["description"], "properties": {
    "media_type": {"type": "string"}, "description": {"type": "string", "description": "a short description of the file returned"}}}


def response_schema(spec: Any, op: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema the simulated body must follow: the first 2xx JSON response's (as JSON
    Schema); for an operation that returns text or a file (``x-toolfactory-result``), a text or a
    short description; None when the result is free-form."""
    result = op.get("x-toolfactory-result") if isinstance(op.get("x-toolfactory-result"), dict) else {}
    if result.get("kind") == "text":
        return TEXT_RESULT
    if result.get("kind") == "binary":
        return BINARY_RESULT
    if result.get("kind") == "free_form":
        return None
    for _, resp in success_responses(op):
        resp, _ = deref(spec, resp)
        content = resp.get("content") if isinstance(resp, dict) else None
        for media, media_obj in (content or {}).items() if isinstance(content, dict) else []:
            if "json" in str(media) and isinstance(media_obj, dict) and "schema" in media_obj:
                schema = json_schema(spec, media_obj["schema"], view="response")
                return schema if isinstance(schema, dict) and schema else None
    return None


class SimulatedExecutor:
    """Answers calls for one API's spec. ``cache`` maps a key to a previous (status, response)."""

    def __init__(self, spec: dict[str, Any], llm: Completer, *, api_name: str = "", nl_docs: dict[str, str] | None = None,
                 max_chars: int = 3000, regenerations: int = 2, max_tokens: int = 600, temperature: float = 0.5,
                 cache: dict[str, tuple[int, Any]] | None = None, subject_id: str = "", share_responses: bool = True):
        self.spec = spec
        self.llm = llm
        self.api_name = api_name or str((spec.get("info") or {}).get("title", ""))
        self.nl_docs = nl_docs or {}
        self.max_chars = max_chars
        self.regenerations = regenerations
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.cache = cache if cache is not None else {}
        self.subject_id = subject_id
        self.share_responses = share_responses
        self.spec_hash = content_id("spec", spec)
        self.prompt = load_prompt("executor")
        self.version = self.prompt.version
        self._answers: dict[str, tuple[dict[str, Any] | None, str, Any]] = {}
        self._asking: dict[str, asyncio.Event] = {}  # key → set once the call answering it is done

    def _answer_form(self, operation_id: str) -> tuple[dict[str, Any] | None, str, Any]:
        """(the response's JSON Schema or None, its text for the prompt, its validator or None) for an
        operation the call check found; worked out once per operation (the spec does not change)."""
        form = self._answers.get(operation_id)
        if form is None:
            _, _, op, _ = find_operation(self.spec, operation_id)  # type: ignore[misc]
            schema = response_schema(self.spec, op)
            form = (schema, json.dumps(schema or {"type": "object"}), validator(schema) if schema else None)
            self._answers[operation_id] = form
        return form

    async def execute(self, operation_id: str, arguments: Any, state: ExecutorState) -> Execution:
        check = check_call(self.spec, operation_id, arguments)
        if not check.ok:
            return refused(check, arguments, state, self.max_chars)
        schema, schema_text, checker = self._answer_form(operation_id)
        key = content_id("exec", self.spec_hash, operation_id, check.method, check.path, check.arguments(), state.digest(),
                         "" if self.share_responses else state.scope)
        while key in self._asking:  # the same call in flight (two parallel calls alike): its answer, whenever it comes
            await self._asking[key].wait()
        if key in self.cache:
            status, response = self.cache[key]
            state.calls.append((operation_id, check.arguments(), status, response))
            return Execution(status, response, render_observation(status, response, self.max_chars), check, cached=True)
        self._asking[key] = asyncio.Event()
        try:
            return await self._simulate(operation_id, check, key, schema, schema_text, checker, state)
        finally:
            self._asking.pop(key).set()

    async def _simulate(self, operation_id: str, check: CheckedCall, key: str, schema: dict[str, Any] | None, schema_text: str,
                        checker: Any, state: ExecutorState) -> Execution:
        """The LLM's response to a checked call, regenerated while it does not conform (cached under ``key`` once it does)."""
        messages = self.prompt.render(
            api_name=self.api_name, function_doc=self.nl_docs.get(operation_id, operation_id),
            history=state.history_text(), method=check.method.upper(), path=check.path,
            arguments=canonical_json(check.arguments()), response_schema=schema_text,
        )
        # unshared: a seed of the dialogue's own, so the LLM request (and the ledger's cache entry) is the dialogue's too
        seed0 = 0 if self.share_responses else int(content_id("seed", state.scope)[:8], 16)
        problem, latency, attempts, response = None, 0.0, 0, None
        usage = [0, 0]
        cost: float | None = 0.0
        for attempt in range(self.regenerations + 1):
            attempts += 1
            r = await self.llm.acomplete("executor", messages, prompt_version=self.prompt.version, subject_id=self.subject_id,
                                        json_schema=schema or {"type": "object"}, schema_name="response",
                                        max_tokens=self.max_tokens, temperature=self.temperature, seed=seed0 + attempt)
            latency += r.latency_s
            usage[0] += r.prompt_tokens
            usage[1] += r.completion_tokens
            cost = None if cost is None or r.cost_usd is None else cost + r.cost_usd
            if not r.ok:
                problem = Reason(ExecutorCode.LLM_ERROR, r.error or "")
                break
            if r.parse_error:
                problem = Reason(ExecutorCode.RESPONSE_UNPARSABLE, r.parse_error)
                continue
            errors = [e.message for e in checker.iter_errors(r.parsed)] if checker else []
            if errors:
                problem = Reason(ExecutorCode.RESPONSE_NONCONFORMING, "; ".join(errors[:3]))
                continue
            response, problem = r.parsed, None
            break
        if problem is not None:
            body = {"error": "the simulated API could not answer", "detail": str(problem)[:300]}
            state.calls.append((operation_id, check.arguments(), 500, body))
            return Execution(500, body, render_observation(500, body, self.max_chars), check, conforms=False,
                             attempts=attempts, problem=problem, latency_s=latency, prompt_tokens=usage[0],
                             completion_tokens=usage[1], cost_usd=cost)
        self.cache[key] = (200, response)
        state.calls.append((operation_id, check.arguments(), 200, response))
        return Execution(200, response, render_observation(200, response, self.max_chars), check,
                         attempts=attempts, latency_s=latency, prompt_tokens=usage[0], completion_tokens=usage[1], cost_usd=cost)


class PrefixRouter:
    """Routes ``<Prefix>_<operationId>`` to the executor of the API with that prefix (a multi-API
    dialogue run against each API's own executor, e.g. the real one; see ``tasks.simulation.multi_api``).
    ``spec``: the combined spec, for refusing a call no API has the usual way."""

    def __init__(self, parts: dict[str, Executor], spec: dict[str, Any] | None = None, max_chars: int = 3000):
        self.parts = parts
        self.spec = spec or {"paths": {}}
        self.max_chars = max_chars
        self.version = "+".join(sorted({e.version for e in parts.values()}))

    async def execute(self, operation_id: str, arguments: Any, state: ExecutorState) -> Execution:
        prefix, _, inner = operation_id.partition("_")
        part = self.parts.get(prefix)
        if part is None or not inner:
            return refused(check_call(self.spec, operation_id, arguments), arguments, state, self.max_chars)
        return await part.execute(inner, arguments, state)
