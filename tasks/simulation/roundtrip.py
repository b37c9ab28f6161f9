"""The round trip of one operation: does the factory's reading of it hold together?

In: a spec and an operationId. Out: ``RoundTrip`` — the checks made and the failures, each a
``Failure`` (its kind, and the line that says it):
  1. arguments generated from the operation's own parameter and body schemas pass the call check;
  2. with a required argument dropped, a wrong type, a value outside the enum, or outside a bound
     (minimum/maximum/maxLength), the call check refuses the call, naming that argument;
  3. the simulated executor, answered by a fake backend that writes a body conforming to the
     operation's result schema (``SchemaCompleter``), returns a 200 that conforms;
  4. the operation's tool definition (OpenAI ``tools`` format) has a valid name and its parameters
     are a valid JSON Schema.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from tasks.documentation.openapi_schema import json_schema
from tasks.documentation.request_body import RAW_BODY_ARGUMENT, request_body
from tasks.documentation.spec_lint import iter_operations, operation_parameters
from tasks.documentation.tool_definitions import TOOL_NAME
from tasks.llm.types import LLMResult
from tasks.simulation.call_check import check_call, find_operation
from tasks.simulation.executor import ExecutorState, SimulatedExecutor
from tasks.simulation.schema_values import example_value, resolved
from tasks.simulation.tool_calling import tool_definitions


@dataclass(frozen=True)
class Failure:
    """One failed check: ``kind`` groups failures (``generated arguments refused``, ``simulated response`` …),
    ``line`` says what failed."""

    kind: str
    line: str

    def __str__(self) -> str:
        return self.line


@dataclass
class RoundTrip:
    function: str
    operation: str
    checks: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class SchemaCompleter:
    """A fake backend for the executor role: replies with a body made from the requested schema."""

    async def acomplete(self, role: str, messages: list[dict[str, Any]], **kw: Any) -> LLMResult:
        schema = kw.get("json_schema") or {"type": "object"}
        body = example_value(schema)
        return LLMResult(role=role, text=json.dumps(body), model="schema-fake", parsed=body)


def argument_schemas(spec: Any, op: dict[str, Any], item: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, JSON Schema, required) of every argument the operation takes."""
    out = []
    for p in operation_parameters(spec, op, item):
        schema = json_schema(spec, p.get("schema") or {"type": "string"})
        out.append((p["name"], schema if isinstance(schema, dict) else {}, bool(p.get("required")) or p.get("in") == "path"))
    body = request_body(spec, op)
    if body is not None and body.raw:
        out.append((RAW_BODY_ARGUMENT, json_schema(spec, body.schema), body.required))
    elif body is not None:
        required, taken = set(body.required_names()), {name for name, _, _ in out}
        out += [(name, json_schema(spec, sub), name in required) for name, sub in body.properties().items() if name not in taken]
    return out


def valid_arguments(args: list[tuple[str, dict[str, Any], bool]]) -> dict[str, Any]:
    """A value for every argument, each made from its own schema."""
    out = {}
    for name, schema, _ in args:
        value = example_value(schema)
        out[name] = value if value not in ("", None) else "x"
    return out


def mutations(args: list[tuple[str, dict[str, Any], bool]], good: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(what, argument, the bad arguments) for each mutation that applies to the operation."""
    out = []
    args = [(name, resolved(schema, schema), req) for name, schema, req in args]
    required = next((name for name, _, req in args if req), None)
    if required:
        out.append(("a required argument dropped", required, {k: v for k, v in good.items() if k != required}))
    for name, schema, _ in args:
        t = schema.get("type")
        if t in ("integer", "number", "boolean") and "enum" not in schema:
            out.append(("a wrong type", name, {**good, name: "not-a-number"}))
            break
    for name, schema, _ in args:
        if isinstance(schema.get("enum"), list) and schema["enum"] and all(isinstance(v, str) for v in schema["enum"]):
            out.append(("a value outside the enum", name, {**good, name: "__not_in_enum__"}))
            break
    for name, schema, _ in args:
        if schema.get("type") in ("integer", "number") and isinstance(schema.get("maximum"), (int, float)) and "enum" not in schema:
            out.append(("a value above the maximum", name, {**good, name: schema["maximum"] + 1}))
            break
        if schema.get("type") == "string" and isinstance(schema.get("maxLength"), int) and schema["maxLength"] < 10_000 \
                and "enum" not in schema and "format" not in schema:
            out.append(("a string over maxLength", name, {**good, name: "x" * (schema["maxLength"] + 1)}))
            break
    return out


def check_operations(spec: dict[str, Any], operation_ids: list[str] | None = None) -> list[RoundTrip]:
    """The round trip of each operation (all of the spec's by default), in one event loop."""
    ids = operation_ids if operation_ids is not None else [
        op["operationId"] for _, _, op, _ in iter_operations(spec) if isinstance(op.get("operationId"), str)]
    executor = SimulatedExecutor(spec, SchemaCompleter(), regenerations=0)

    async def all_of() -> list[RoundTrip]:
        return [await round_trip(spec, op_id, executor) for op_id in ids]

    return asyncio.run(all_of())


async def round_trip(spec: dict[str, Any], operation_id: str, executor: SimulatedExecutor | None = None) -> RoundTrip:
    """See the module docstring. ``executor``: reuse one across an API's operations."""
    found = find_operation(spec, operation_id)
    if found is None:
        return RoundTrip(operation_id, "", 1, [Failure("no operation", f"no operation {operation_id!r}")])
    path, method, op, item = found
    out = RoundTrip(operation_id, f"{method.upper()} {path}")
    args = argument_schemas(spec, op, item)
    good = valid_arguments(args)
    call = check_call(spec, operation_id, good)
    out.checks += 1
    if not call.ok:
        kind = "generated arguments refused"
        out.failures.append(Failure(kind, f"{kind}: " + "; ".join(f"{p.parameter}: {p.message}" for p in call.problems)[:400]))
    for what, name, bad in mutations(args, good):
        out.checks += 1
        refused = check_call(spec, operation_id, bad)
        if refused.ok or not any(p.parameter == name or name in p.message for p in refused.problems):
            out.failures.append(Failure(what, f"{what} ({name}) was not refused"))
    if call.ok:
        out.checks += 1
        executor = executor or SimulatedExecutor(spec, SchemaCompleter(), regenerations=0)
        execution = await executor.execute(operation_id, good, ExecutorState())
        if execution.status != 200 or not execution.conforms:
            out.failures.append(Failure("simulated response", f"simulated response: {execution.status} {execution.problem or ''}"[:300]))
    out.checks += 1
    out.failures += _tool_definition_problems(spec, operation_id)
    return out


def _tool_definition_problems(spec: dict[str, Any], operation_id: str) -> list[Failure]:
    tool = next((t for t in tool_definitions(spec, only=operation_id)), None)
    if tool is None:
        return [Failure("no tool definition", "no tool definition")]
    fn = tool["function"]
    problems = [] if TOOL_NAME.match(fn["name"]) else [Failure("tool name", f"tool name {fn['name']!r} is not valid")]
    try:
        Draft202012Validator.check_schema(fn["parameters"])
    except SchemaError as exc:
        kind = "tool parameters are not a valid JSON Schema"
        problems.append(Failure(kind, f"{kind}: {exc.message[:200]}"))
    return problems
