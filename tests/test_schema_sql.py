"""The validators landing decides with agree with the jsonschema library, record by record.

Hypothesis mutates valid records of each type (drops keys, adds unknown ones, puts any JSON value
in any field, down to the fields of nested steps); jsonschema-rs (``schemas.valid_json_texts``: the
records path) and the compiled SQL (``warehouse.schema_sql``: the JSON-text columns of typed frames)
must each give ``jsonschema``'s verdict. Landing relies on this: they decide, jsonschema only explains refusals."""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import load_schema, valid_json_texts, validate_record
from tests.support.rows import EXAMPLES, H, _targets
from warehouse.schema_sql import UnsupportedKeyword, validity_sql
from warehouse.store import TABLES

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(-10, 10, allow_nan=False) | st.sampled_from([1.0, 2.0])
    | st.text(max_size=20) | st.sampled_from([H, "ABC", "", "normal", "final_answer", "curation", "valid", "GET", "x" * 700]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "name", "index", "q", "code"]), inner, max_size=3),
    max_leaves=6,
)




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


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_jsonschema_rs_and_jsonschema_agree_on_mutated_records(name, data):
    record = data.draw(mutated(name))
    text = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode()
    assert valid_json_texts(name, [text]) == [validate_record(name, record) == []], record


def test_text_that_is_not_json_is_not_a_valid_record():
    good = orjson.dumps(EXAMPLES["dialogue"].to_dict()).decode()
    assert valid_json_texts("dialogue", [good, good[:-1], "", "null"]) == [True, False, False, False]
