"""The Berkeley Function Calling Leaderboard (BFCL v4), single-turn categories: its data read, its
functions offered as tools, and its AST scoring (issue #17).

Data: ``BFCL_v4_<category>.json`` (JSON Lines: ``id``, ``question`` — turns of chat messages —,
``function`` — BFCL function definitions, parameter types ``dict``/``float``/``tuple``/``any`` besides
JSON Schema's) and ``possible_answer/BFCL_v4_<category>.json`` (``ground_truth``: a list of
``{function: {parameter: [allowed values]}}``, ``""`` among the values = the parameter may be left out).
They ship in the PyPI package ``bfcl-eval`` (``pip install --no-deps bfcl-eval``: its own dependency set
pins numpy 1.26 and many SDKs, and its checker imports them, so the semantics are implemented here).

AST semantics (as BFCL's checker documents them): a call matches an answer when the function name is
the answer's, every required parameter is given, every given parameter is documented and in the answer,
each value has the documented type (an int is a float; a value of the answer's own type is a variable
and passes the type check) and is among the allowed values — strings compared without case, spaces or
``,./-_*^``, lists element by element, dicts key by key —, and every answer parameter left out may be
(``""``). ``simple``: exactly one call; ``multiple``: one call, of the answer's function; ``parallel*``:
as many calls as answers, matched in any order; ``irrelevance``: no call; ``live_relevance``: some call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tasks.documentation.tool_definitions import tool_name
from tasks.llm.jsontext import extract_json

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple", "live_multiple",
              "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance")
ALIASES = {"simple": "simple_python"}
_TYPES: dict[str, Any] = {"string": str, "integer": int, "float": float, "number": float, "boolean": bool, "array": list,
                          "tuple": list, "dict": dict, "object": dict}
_JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}
_STRIP = re.compile(r"[ ,./\-_*^]")


@dataclass
class BfclEntry:
    entry_id: str
    category: str
    messages: list[dict[str, Any]]  # the first turn's messages
    functions: list[dict[str, Any]]
    answers: list[dict[str, dict[str, list[Any]]]] = field(default_factory=list)  # ground truth; [] for (ir)relevance


def category_name(text: str) -> str:
    """``simple`` → ``simple_python``; a name not among ``CATEGORIES`` raises ValueError."""
    name = ALIASES.get(text, text)
    if name not in CATEGORIES:
        raise ValueError(f"no BFCL category {text!r}: one of {', '.join(('simple', *CATEGORIES[1:]))}")
    return name


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def parse_category(category: str, questions: str, answers: str | None) -> list[BfclEntry]:
    """A category's entries from the texts of its question file and answer file (None: a category
    without answers); single-turn: the first turn of each question."""
    truth = {a["id"]: a["ground_truth"] for a in _jsonl(answers)} if answers else {}
    return [BfclEntry(r["id"], category, list(r["question"][0]), list(r["function"]), truth.get(r["id"], []))
            for r in _jsonl(questions)]


def _json_schema(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = {k: _json_schema(v) if isinstance(v, dict) else v for k, v in schema.items() if k not in ("type", "properties", "items")}
    kind = schema.get("type")
    if kind is not None and _JSON_TYPES.get(kind, kind) is not None:
        out["type"] = _JSON_TYPES.get(kind, kind)
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {k: _json_schema(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        out["items"] = _json_schema(schema["items"])
    return out


def tools_of(entry: BfclEntry) -> list[dict[str, Any]]:
    """The entry's functions as OpenAI tools (names made acceptable, BFCL types as JSON Schema's)."""
    return [{"type": "function", "function": {"name": tool_name(f["name"]), "description": f.get("description") or "",
                                              "parameters": _json_schema(f.get("parameters") or {"type": "dict"})}}
            for f in entry.functions]


def original_names(entry: BfclEntry) -> dict[str, str]:
    """tool name → BFCL name, for reading calls back."""
    return {tool_name(f["name"]): f["name"] for f in entry.functions}


def nl_functions(entry: BfclEntry) -> str:
    """The entry's functions in the factory's documentation style (``name: description`` then
    ``Parameters: {name: "Required. type. description"}``), the layout its trained models read."""
    out = []
    for f in entry.functions:
        params = (f.get("parameters") or {}).get("properties") or {}
        required = set((f.get("parameters") or {}).get("required") or [])
        shown = {p: ". ".join(x for x in ("Required" if p in required else "", _JSON_TYPES.get(spec.get("type"), spec.get("type")) or "any",
                                          str(spec.get("description") or "").rstrip(".")) if x) + "."
                 for p, spec in params.items() if isinstance(spec, dict)}
        out.append(f"{f['name']}: {f.get('description') or ''}\nParameters: {json.dumps(shown, ensure_ascii=False)}")
    return "\n".join(out)


_ACTION = re.compile(r"^Action:[ \t]*(.+?)[ \t]*\n+Action Input:[ \t]*", re.MULTILINE)


def react_calls(text: str) -> list[dict[str, Any]]:
    """Every ``Action:`` / ``Action Input:`` pair of a ReAct reply, in order (``ask_user`` is no call;
    arguments that are not a JSON object are kept as written, and scored as such)."""
    calls = []
    matches = list(_ACTION.finditer(text or ""))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = re.split(r"^(?:Thought|Final Answer|Observation):", text[m.end():end], maxsplit=1, flags=re.MULTILINE)[0].strip()
        value, _ = extract_json(body)
        if m.group(1).strip() != "ask_user":
            calls.append({"name": m.group(1).strip(), "arguments": value if isinstance(value, dict) else body})
    return calls


def _std(value: Any) -> Any:
    return _STRIP.sub("", value).casefold().replace("'", '"') if isinstance(value, str) else value


def _type_error(name: str, value: Any, spec: dict[str, Any], allowed: list[Any]) -> str | None:
    kind = spec.get("type")
    expected = _TYPES.get(kind)
    if expected is None:  # any, or a type BFCL does not name
        return None
    if expected is float and type(value) is int:
        return None
    if type(value) is expected:
        if expected is list and isinstance(spec.get("items"), dict) and _TYPES.get(spec["items"].get("type")) is not None:
            inner = _TYPES[spec["items"]["type"]]
            answer_items = {type(x) for a in allowed if isinstance(a, list) for x in a}  # items standing for variables
            if not all(type(v) is inner or type(v) in answer_items or (inner is float and type(v) is int) for v in value):
                return f"{name}: items of the wrong type in {value!r}"
        return None
    answer_types = {type(a) for a in allowed if a != ""}
    if type(value) in answer_types:  # a variable standing for the value
        return None
    return f"{name}: expected {kind}, got {type(value).__name__} {value!r}"


def _value_ok(value: Any, allowed: list[Any]) -> bool:
    if isinstance(value, bool):
        return any(a is value for a in allowed)
    if isinstance(value, dict):
        return any(_dict_ok(value, a) for a in allowed if isinstance(a, dict))
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return any(isinstance(a, list) and len(a) == len(value) and all(_dict_ok(v, x) for v, x in zip(value, a, strict=True))
                   for a in allowed)
    if isinstance(value, list):
        return [_std(v) for v in value] in [[_std(x) for x in a] for a in allowed if isinstance(a, list)]
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        return any(type(a) is not bool and isinstance(a, (int, float)) and a == value for a in allowed)
    return _std(value) in [_std(a) for a in allowed if a != "" or value == ""]


def _dict_ok(value: dict[str, Any], answer: dict[str, list[Any]]) -> bool:
    if any(k not in answer or not _value_ok(v, answer[k] if isinstance(answer[k], list) else [answer[k]]) for k, v in value.items()):
        return False
    return all(k in value or "" in (v if isinstance(v, list) else [v]) for k, v in answer.items())


def check_call(function: dict[str, Any], call: dict[str, Any], answer: dict[str, dict[str, list[Any]]]) -> list[str]:
    """Why one call (``{"name", "arguments"}``, BFCL names) is not the answer's (empty: it is)."""
    (name, allowed), = answer.items()
    if call.get("name") != name:
        return [f"function {call.get('name')!r}, expected {name!r}"]
    args = call.get("arguments")
    if not isinstance(args, dict):
        return [f"{name}: arguments are not an object"]
    params = (function.get("parameters") or {}).get("properties") or {}
    missing = [p for p in (function.get("parameters") or {}).get("required") or [] if p not in args]
    if missing:
        return [f"{name}: required {', '.join(missing)} missing"]
    for p, value in args.items():
        if p not in params or p not in allowed:
            return [f"{name}: unexpected parameter {p}"]
        problem = _type_error(p, value, params[p], allowed[p])
        if problem:
            return [f"{name}: {problem}"]
        if not _value_ok(value, allowed[p]):
            return [f"{name}: {p}={value!r} not among {allowed[p]!r}"]
    left_out = [p for p, values in allowed.items() if p not in args and "" not in values]
    return [f"{name}: {', '.join(left_out)} left out"] if left_out else []


def score_entry(entry: BfclEntry, calls: list[dict[str, Any]]) -> list[str]:
    """Why the model's calls fail the entry under BFCL's AST semantics (empty: they pass)."""
    if entry.category.endswith("irrelevance"):
        return [f"called {', '.join(c.get('name') or '?' for c in calls)} where no function fits"] if calls else []
    if entry.category == "live_relevance":
        return [] if calls else ["no call where a function fits"]
    if len(calls) != len(entry.answers):
        return [f"{len(calls)} calls, expected {len(entry.answers)}"]
    by_name = {f["name"]: f for f in entry.functions}
    left = list(range(len(calls)))
    for answer in entry.answers:
        function = by_name.get(next(iter(answer)), {})
        found = next((k for k in left if not check_call(function, calls[k], answer)), None)
        if found is None:
            why = [w for k in left for w in check_call(function, calls[k], answer)]
            return why[:1] or ["no call matches " + next(iter(answer))]
        left.remove(found)
    return []
