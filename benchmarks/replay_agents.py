"""Scripted agents for ``replay_equivalence.py``: every role answered from the request alone (the same request
always gets the same reply, whichever process asks), in each step mode.

The user writes distinct requests, follow-ups and answers (``dialogue_shapes.user``); the assistant calls the
first function it is shown with arguments made from its parameter schema (two at once for every third request
in ``tools`` and ``json`` mode), then answers; the executor replies with a body made from the response schema;
the judge accepts.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from dialogue_shapes import executor, user  # noqa: F401  (benchmarks/dialogue_shapes.py, beside this script)

from tasks.simulation.schema_values import example_value
from toolfactory.testing.fake_llm import FakeReply

_SKIP = {"final_answer", "ask_user"}
_NAME = re.compile(r"^([A-Za-z_][\w-]*): ", re.MULTILINE)
_NOT_NAMES = {"Parameters", "Output", "Returns", "Introduction", "Functions", "Thought", "Action", "Observation"}


def _third(text: str) -> bool:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 3 == 0


def _since_user(req: Any) -> list[dict[str, Any]]:
    last = max(i for i, m in enumerate(req.messages) if m["role"] == "user" and not str(m.get("content") or "").startswith("Observation"))
    return req.messages[last:]


def _observed(req: Any) -> bool:
    """Whether the assistant has seen a result since the user last spoke."""
    return any(m["role"] == "tool" or str(m.get("content") or "").startswith("Observation") for m in _since_user(req)[1:])


def tools_assistant(req: Any) -> FakeReply:
    tools = {t["function"]["name"]: t["function"].get("parameters") or {} for t in req.params["tools"] if t["function"]["name"] not in _SKIP}
    if _observed(req) or not tools:
        return FakeReply("Here is what the API returned for your request.")
    name = next(iter(tools))
    args = json.dumps(example_value(tools[name]))
    calls = [{"id": "a", "name": name, "arguments": args}]
    if _third(str(_since_user(req)[0]["content"])):
        calls.append({"id": "b", "name": name, "arguments": args})
    return FakeReply("Looking it up.", tool_calls=calls)


def json_assistant(req: Any, schema: dict[str, Any]) -> dict[str, Any]:
    if _observed(req):
        return {"thought": "I have the result.", "action": "final_answer", "final_answer": "Here is what the API returned."}
    options = [o for o in schema.get("anyOf", []) if (o.get("properties") or {}).get("action", {}).get("const") not in _SKIP
               and "action_input" in (o.get("properties") or {})]
    if not options:
        return {"thought": "Nothing to call.", "action": "final_answer", "final_answer": "I cannot do that with these functions."}
    call = {"action": options[0]["properties"]["action"]["const"],
            "action_input": example_value(options[0]["properties"]["action_input"], root=schema)}
    parallel = [o for o in schema.get("anyOf", []) if "calls" in (o.get("properties") or {})]
    if parallel and _third(str(_since_user(req)[0]["content"])):
        return {"thought": "Two at once.", "calls": [call, call]}
    return {"thought": "Looking it up.", **call}


def react_assistant(req: Any) -> str:
    if _observed(req):
        return "Thought: I have the result.\nFinal Answer: Here is what the API returned."
    shown = "\n".join(str(m.get("content") or "") for m in req.messages[:2])
    names = [n for n in _NAME.findall(shown) if n not in _NOT_NAMES and n not in _SKIP]
    if not names:
        return "Thought: nothing fits.\nFinal Answer: I cannot do that with these functions."
    params = re.search(rf"^{re.escape(names[0])}: .*?\nParameters: (\{{.*\}})$", shown, re.MULTILINE)
    try:
        declared = json.loads(params.group(1)) if params else {}
    except json.JSONDecodeError:
        declared = {}
    args = {k: _value_from_doc(str(v)) for k, v in declared.items() if str(v).startswith("Required")}
    return f"Thought: call {names[0]}.\nAction: {names[0]}\nAction Input: {json.dumps(args)}"


_TYPED = {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}


def _value_from_doc(text: str) -> Any:
    """A value for a parameter as the NL documentation describes it ("Required. integer. One of: [a, b]. …")."""
    options = re.search(r"One of: \[([^\]]*)\]", text)
    if options and options.group(1).strip():
        first = options.group(1).split(", ")[0]
        return int(first) if first.lstrip("-").isdigit() else first
    kind = text.split(". ")[1].strip(".") if text.count(". ") >= 1 else "string"
    return _TYPED.get(kind, "example")


def judge(req: Any) -> Any:
    schema = (req.params.get("response_format") or {}).get("json_schema", {}).get("schema") or {}
    if "fulfils_request" in (schema.get("properties") or {}):
        return {"fulfils_request": True, "arguments_grounded": True, "reason": "answered from the results"}
    return example_value(schema) if schema else "yes"


def agents(req: Any) -> Any:
    if req.role == "assistant":
        schema = (req.params.get("response_format") or {}).get("json_schema", {}).get("schema")
        if req.params.get("tools"):
            return tools_assistant(req)
        return json_assistant(req, schema) if isinstance(schema, dict) and "anyOf" in schema else react_assistant(req)
    return {"user": user, "executor": executor, "judge": judge}[req.role](req)
