"""The paper's judged-outputs layout: GPT-4's verdicts on a model's solutions, read back for calibration.

The file is a JSON object: API name → list of records, plus ``statistics``. A record has ``input``
(the judge prompt as chat messages: ``## Documentation``, ``## Task Instruction``, ``## Standard
Answer`` as ``N. Function: / Parameters:`` items, ``## AI Assistant's Solution`` as ``N. Function: /
Parameters: / Retruns:`` items and ``N. Final Response:``), ``output`` (GPT-4's reply) and the verdicts
``process_correctness`` / ``final_response_correctness`` (``Yes``/``No``/``Uncertain``). Records may be
empty or lack ``id``.

In: the parsed file. Out: ``JudgedRecord``s (a record that cannot be read is a reason, never an
exception) and the parameter table of an API read from its documentation text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tasks.formats.toolalpaca_format import ImportFormatError

_SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)
_ITEM = re.compile(r"^\d+\. (Function|Final Response):[ \t]*", re.MULTILINE)
_DOC_FUNCTION = re.compile(r"^([A-Za-z_][\w-]*): .*\nParameters: (\{.*\})$", re.MULTILINE)


@dataclass
class JudgedRecord:
    api: str
    record_id: str
    documentation: str
    instruction: str
    golden: list[dict[str, Any]]  # {"action", "action_input"} with action_input as written (text)
    predicted: list[dict[str, Any]]  # {"action", "action_input", "observation"}
    final_response: str
    process: str | None  # Yes | No | Uncertain | None (not judged)
    response: str | None
    problems: list[str] = field(default_factory=list)


def _sections(prompt: str) -> dict[str, str]:
    marks = list(_SECTION.finditer(prompt))
    return {m.group(1): prompt[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(prompt)].strip()
            for i, m in enumerate(marks)}


def _items(text: str) -> list[tuple[str, str]]:
    """(kind, body) of each numbered ``Function:`` / ``Final Response:`` item."""
    marks = list(_ITEM.finditer(text))
    return [(m.group(1), text[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(text)].strip())
            for i, m in enumerate(marks)]


def _call(body: str) -> dict[str, Any]:
    name, _, rest = body.partition("\n")
    params, _, returns = rest.partition("\nRetruns:")
    call: dict[str, Any] = {"action": name.strip(), "action_input": params.removeprefix("Parameters:").strip()}
    if returns:
        call["observation"] = returns.strip()
    return call


def read_record(api: str, index: int, record: Any) -> JudgedRecord:
    """One record; what cannot be read is listed in ``problems``."""
    rid = str(record.get("id", f"#{index}")) if isinstance(record, dict) else f"#{index}"
    out = JudgedRecord(api, rid, "", "", [], [], "", None, None)
    messages = record.get("input") if isinstance(record, dict) else None
    prompt = messages[0].get("content") if isinstance(messages, list) and messages and isinstance(messages[0], dict) else None
    if not isinstance(prompt, str):
        out.problems.append("no judge prompt in input")
        return out
    sections = _sections(prompt)
    out.documentation = sections.get("Documentation", "")
    out.instruction = sections.get("Task Instruction", "")
    out.golden = [_call(body) for kind, body in _items(sections.get("Standard Answer", "")) if kind == "Function"]
    for kind, body in _items(sections.get("AI Assistant's Solution", "")):
        if kind == "Function":
            out.predicted.append(_call(body))
        else:
            out.final_response = body
    for key, attr in (("process_correctness", "process"), ("final_response_correctness", "response")):
        value = record.get(key)
        setattr(out, attr, value if value in ("Yes", "No", "Uncertain") else None)
    if "Standard Answer" not in sections or "AI Assistant's Solution" not in sections:
        out.problems.append("the prompt lacks the standard answer or the solution")
    return out


def read_judged(data: Any) -> list[JudgedRecord]:
    """Every record of a judged-outputs file, in file order (``statistics`` skipped)."""
    if not isinstance(data, dict) or not any(isinstance(v, list) for k, v in data.items() if k != "statistics"):
        raise ImportFormatError("a judged-outputs file is a JSON object: API name → list of records (and statistics)")
    return [read_record(api, i, r) for api, records in data.items() if api != "statistics" and isinstance(records, list)
            for i, r in enumerate(records)]


def parameter_table_from_docs(documentation: str) -> dict[str, dict[str, dict[str, Any]]]:
    """function → parameter → ``{required, type}`` from the NL documentation's ``Parameters: {...}``
    lines (``"Required. integer. …"`` or ``"string. One of: […]. …"``), as ``tasks.evaluation.exact_match`` takes it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for m in _DOC_FUNCTION.finditer(documentation):
        try:
            params = json.loads(m.group(2))
        except ValueError:
            continue
        table = {}
        for name, text in params.items() if isinstance(params, dict) else []:
            words = [w.strip() for w in str(text).split(".")]
            required = bool(words) and words[0].casefold() == "required"
            kind = words[1 if required else 0].casefold() if len(words) > (1 if required else 0) else ""
            table[name] = {"required": required, "type": kind if kind in ("string", "integer", "number", "boolean", "array", "object") else None}
        out[m.group(1)] = table
    return out
