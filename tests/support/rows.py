"""Example records and warehouse rows the tests share."""

from __future__ import annotations

import json
from pathlib import Path

from flows.curate import run_curate
from flows.toolalpaca_import import import_toolalpaca
from schemas.context_records import ToolContext
from schemas.records import (
    ApiDoc,
    CatalogEntry,
    CurationVerdict,
    Dialogue,
    EvalResult,
    FunctionDoc,
    FunctionEdge,
    GoldenAnswer,
    ImportNote,
    Instruction,
    LLMCall,
    QuarantinedRow,
    Rejection,
    ReplyToolCall,
    TurnVerdict,
)

H = "0123456789abcdef"


STEP = {"index": 0, "text": "Thought: x\nAction: f", "thought": "x", "action": "f", "action_input": {"q": 1},
        "observation": "Status Code: 200. Response: {}", "status": 200, "valid": True, "error": None, "latency_s": 0.5,
        "turn": 0, "call": 0, "answer": None}


EXAMPLES = {
    "catalog_entry": CatalogEntry(H, "Moon", "Phases", "Science", "https://m.example", "none", True, None, "c.csv", "line 2"),
    "catalog_quarantine": QuarantinedRow(H, "c.md", "line 3", "missing_name", "no name", "| x |"),
    "api_doc": ApiDoc(H, H, "Moon", "Science", "intro", [{"name": "f", "description": "d"}], {"openapi": "3.0.3"}, "f: d",
                      "valid", [{"code": "c", "where": "w", "message": "m"}], 1, "llm", "v1", "m"),
    "function_doc": FunctionDoc(H, H, H, "f", "get", "/f", "d", [{"name": "q", "location": "query", "required": True, "type": "string",
                                                               "enum": None}], "out", "f: d"),
    "llm_call": LLMCall(H, H, "judge", "m", "v1", H, "ok", 10, 5, 0.25, 0.5, "stop", "hi", None,
                        [ReplyToolCall("c1", "f", '{"q": 1}')], "thinking", '{"model": "m"}'),
    "rejection": Rejection(H, "curation", H, "near_duplicate", "like x"),
    "import_note": ImportNote(H, H, H, "a.json", "swagger2", "repair", "operation_id_missing", "GET /x", "getX", "named getX"),
    "function_edge": FunctionEdge(H, H, H, None, "listX", "items[].id", "getX", "xId", 1.5, ["id of items", "type string"]),
    "dialogue": Dialogue(H, H, H, H, "Find the moon", "normal", [STEP, {**STEP, "index": 1, "action": None, "action_input": None,
                                                                         "observation": None, "status": None}],
                         "Waxing", "final_answer", 1, 0, {"assistant": "m"}, {"assistant": "v"}, 10, 5, None, [H], "simulation"),
    "tool_context": ToolContext(H, H, "Moon", [H], [H], ["f"], ["f"], "f: d", [{"type": "function", "function": {"name": "f"}}],
                                {"openapi": "3.0.3"}, "react", "v1"),
    "instruction": Instruction(H, H, H, "multi_api", "Find the moon", "", "v1", "m", [H]),
    "curation_verdict": CurationVerdict(H, H, H, "length", False, "over_token_budget", "99 > 10", H, 99, "m", "normal"),
    "turn_verdict": TurnVerdict(H, H, H, 3, 1, "execution", False, "invented_argument", "step 3 getItem: itemId=4411", H),
    "golden_answer": GoldenAnswer(H, H, H, [{"action": "f", "action_input": {"q": 1}}], "eval.json"),
    "eval_result": EvalResult(H, H, H, H, H, 1, [STEP], "Waxing", "final_answer", [{"action": "f", "action_input": {"q": 1}}], False,
                              True, 0, 2, 1, ["missing call 'f'"], "ok", "yes", "no", "wrong date"),
}


def _targets(record: dict) -> list[tuple]:
    """Paths to every field, nested objects and list items included."""
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                out.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out.append((*path, i))
                walk(v, (*path, i))

    walk(record, ())
    return out


# one operation, getPhase(date): the API each of add_clean_instances' instances calls
MOON = {"openapi": "3.0.0", "info": {"title": "Moon", "version": "1.0.0"}, "servers": [{"url": "https://moon.example.com"}],
        "paths": {"/phase": {"get": {"operationId": "getPhase", "description": "The moon phase on a date.",
                                     "parameters": [{"name": "date", "in": "query", "required": True, "schema": {"type": "string"}}],
                                     "responses": {"200": {"description": "ok", "content": {"application/json": {
                                         "schema": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}}}}}


def add_clean_instances(settings, folder: Path, names: list[str]) -> None:
    """One instance per API named (one API each, so dedup keeps them all), imported and curated."""
    records = [{
        "Name": name, "Description": "Moon phase facts", "Category": "Science", "Link": f"https://{name.lower()}.example.com",
        "Documentation": json.dumps(MOON), "NLDocumentation": 'getPhase: The moon phase on a date.\nParameters: {"date": "Required."}',
        "Function_Description": {"getPhase": "The moon phase on a date."},
        "Instances": [{"input": f"What phase is the moon in over {name}?", "output": "It is a waxing crescent.", "Final Thought": "",
                       "intermediate_steps": [[["getPhase", '{"date": "2024-05-01"}',
                                                'Thought: I need the phase.\nAction: getPhase\nAction Input: {"date": "2024-05-01"}'],
                                               'Status Code: 200. Response: {"phase": "waxing crescent"}']]}],
    } for name in names]
    path = folder / f"{names[0]}.json"
    path.write_text(json.dumps(records))
    import_toolalpaca(settings, path)
    run_curate(settings)
