"""The SQL form of every landed JSON Schema agrees with the jsonschema library, record by record.

Hypothesis mutates valid records of each type (drops keys, adds unknown ones, puts any JSON value
in any field, down to the fields of nested steps) and the compiled SQL must give the same verdict
as ``jsonschema``. Landing relies on this: the SQL decides, jsonschema only explains refusals."""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import load_schema, validate_record
from schemas.records import (
    ApiDoc,
    CatalogEntry,
    CurationVerdict,
    Dialogue,
    EvalResult,
    FunctionDoc,
    GoldenAnswer,
    ImportNote,
    Instruction,
    LLMCall,
    QuarantinedRow,
    Rejection,
)
from warehouse.schema_sql import UnsupportedKeyword, validity_sql
from warehouse.store import TABLES

H = "0123456789abcdef"
STEP = {"index": 0, "text": "Thought: x\nAction: f", "thought": "x", "action": "f", "action_input": {"q": 1},
        "observation": "Status Code: 200. Response: {}", "status": 200, "valid": True, "error": None, "latency_s": 0.5}
EXAMPLES = {
    "catalog_entry": CatalogEntry(H, "Moon", "Phases", "Science", "https://m.example", "none", True, None, "c.csv", "line 2"),
    "catalog_quarantine": QuarantinedRow(H, "c.md", "line 3", "missing_name", "no name", "| x |"),
    "api_doc": ApiDoc(H, H, "Moon", "Science", "intro", [{"name": "f", "description": "d"}], {"openapi": "3.0.3"}, "f: d",
                      "valid", [{"code": "c", "where": "w", "message": "m"}], 1, "llm", "v1", "m"),
    "function_doc": FunctionDoc(H, H, H, "f", "get", "/f", "d", [{"name": "q", "location": "query", "required": True, "type": "string",
                                                               "enum": None}], "out", "f: d"),
    "llm_call": LLMCall(H, H, "judge", "m", "v1", H, "ok", 10, 5, 0.25, 0.5, "stop", "hi", None, None),
    "rejection": Rejection(H, "curation", H, "near_duplicate", "like x"),
    "import_note": ImportNote(H, H, H, "a.json", "swagger2", "repair", "operation_id_missing", "GET /x", "getX", "named getX"),
    "dialogue": Dialogue(H, H, H, H, "Find the moon", "normal", [STEP, {**STEP, "index": 1, "action": None, "action_input": None,
                                                                         "observation": None, "status": None}],
                         "Waxing", "final_answer", 1, 0, {"assistant": "m"}, {"assistant": "v"}, 10, 5, None, [H], "simulation"),
    "instruction": Instruction(H, H, H, "multi_api", "Find the moon", "", "v1", "m", [H]),
    "curation_verdict": CurationVerdict(H, H, H, "length", False, "over_token_budget", "99 > 10", H, 99, "m", "normal"),
    "golden_answer": GoldenAnswer(H, H, H, [{"action": "f", "action_input": {"q": 1}}], "eval.json"),
    "eval_result": EvalResult(H, H, H, H, H, 1, [STEP], "Waxing", "final_answer", [{"action": "f", "action_input": {"q": 1}}], False,
                              True, 0, 2, 1, ["missing call 'f'"], "ok", "yes", "no", "wrong date"),
}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(-10, 10, allow_nan=False) | st.sampled_from([1.0, 2.0])
    | st.text(max_size=20) | st.sampled_from([H, "ABC", "", "normal", "final_answer", "curation", "valid", "GET", "x" * 700]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "name", "index", "q", "code"]), inner, max_size=3),
    max_leaves=6,
)


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


@st.composite
def mutated(draw, name):
    record = copy.deepcopy(EXAMPLES[name].to_dict())
    for _ in range(draw(st.integers(0, 3))):
        targets = _targets(record)
        path = draw(st.sampled_from(targets))
        parent = record
        for p in path[:-1]:
            parent = parent[p]
        action = draw(st.sampled_from(["set", "drop", "add"]))
        if action == "set":
            parent[path[-1]] = draw(JSON)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["unknown", "extra_field"]))] = draw(JSON)
    return record


def _sql_ok(duck, name: str, record: dict) -> bool:
    text = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode()
    return bool(duck.execute(f"SELECT {validity_sql(load_schema(name), 'rec')} FROM (SELECT ?::VARCHAR AS rec)", [text]).fetchone()[0])


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_examples_are_valid_both_ways(duck, name):
    data = EXAMPLES[name].to_dict()
    assert validate_record(name, data) == [] and _sql_ok(duck, name, data)


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sql_and_jsonschema_agree_on_mutated_records(duck, name, data):
    record = data.draw(mutated(name))
    assert _sql_ok(duck, name, record) == (validate_record(name, record) == []), record


def test_unsupported_keywords_fail_at_compile_time():
    with pytest.raises(UnsupportedKeyword, match="oneOf"):
        validity_sql({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}})
    assert "false" in validity_sql({"type": "object", "properties": {"a": False}})
