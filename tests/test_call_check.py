import json

import pytest

from tasks.simulation.call_check import check_call, coerce
from tests.support.specs import SHOP as SPEC


def problems(call):
    return [(p.parameter, p.code) for p in call.problems]


def test_a_good_call_is_routed_and_coerced():
    call = check_call(SPEC, "searchItems", {"q": "lamp", "limit": "10", "inStock": "true", "sort": "price",
                                             "tags": "new,sale", "X-Currency": "EUR"})
    assert call.ok and call.status == 200 and call.method == "get" and call.path == "/items"
    assert call.query == {"q": "lamp", "limit": 10, "inStock": True, "sort": "price", "tags": ["new", "sale"]}
    assert call.headers == {"X-Currency": "EUR"}


def test_path_parameters_are_filled_and_body_is_checked():
    call = check_call(SPEC, "reviewItem", {"itemId": "42", "stars": "5", "text": "great"})
    assert call.ok and call.path == "/items/42" and call.path_params == {"itemId": 42}
    assert call.body == {"stars": 5, "text": "great"}
    bad = check_call(SPEC, "reviewItem", {"itemId": 42, "stars": 9})
    assert problems(bad) == [("stars", "constraint")]
    missing = check_call(SPEC, "reviewItem", {"itemId": 42, "text": "no stars"})
    assert problems(missing) == [("stars", "missing_required")]


@pytest.mark.parametrize("args, expected", [
    ({}, [("q", "missing_required")]),
    ({"q": "x", "limit": "ten"}, [("limit", "wrong_type")]),
    ({"q": "x", "limit": True}, [("limit", "wrong_type")]),
    ({"q": "x", "sort": "name"}, [("sort", "not_in_enum")]),
    ({"q": "x", "tags": ["old"]}, [("tags", "not_in_enum")]),
    ({"q": "x", "colour": "red"}, [("colour", "unknown_parameter")]),
    ({"q": {"nested": 1}}, [("q", "wrong_type")]),
])
def test_bad_calls_name_the_parameter(args, expected):
    call = check_call(SPEC, "searchItems", args)
    assert problems(call) == expected and call.status == 400
    obs = call.observation()
    assert obs.startswith("Status Code: 400. Response: ")
    body = json.loads(obs.removeprefix("Status Code: 400. Response: "))
    assert body["errors"][0]["parameter"] == expected[0][0]


def test_missing_path_parameter_and_unknown_function():
    assert problems(check_call(SPEC, "getItem", {})) == [("itemId", "missing_required")]
    call = check_call(SPEC, "deleteEverything", {})
    assert problems(call) == [("(function)", "unknown_function")] and call.status == 404
    assert "searchItems" in call.problems[0].message and "getItem" in call.problems[0].message


@pytest.mark.parametrize("args, word", [([{"q": "a"}, {"q": "b"}], "only one function"), ("q=lamp", "string"), (7, "integer")])
def test_arguments_must_be_one_object(args, word):
    call = check_call(SPEC, "searchItems", args)
    assert problems(call) == [("(arguments)", "arguments_not_object")] and word in call.problems[0].message


@pytest.mark.parametrize("value, schema, out, ok", [
    ("3", {"type": "integer"}, 3, True), (3.0, {"type": "integer"}, 3, True), (3.5, {"type": "integer"}, 3.5, False),
    ("2.5", {"type": "number"}, 2.5, True), ("7", {"type": "number"}, 7, True), ("x", {"type": "number"}, "x", False),
    ("FALSE", {"type": "boolean"}, False, True), ("yes", {"type": "boolean"}, "yes", False),
    (12, {"type": "string"}, "12", True), (None, {"type": "string"}, None, False),
    ([1, "2"], {"type": "array", "items": {"type": "integer"}}, [1, 2], True),
    ({"a": 1}, {"type": "object"}, {"a": 1}, True), ("anything", {}, "anything", True),
])
def test_coercion(value, schema, out, ok):
    got, why = coerce(value, schema, {})
    assert got == out and (why is None) == ok


CONSTRAINED = {
    "openapi": "3.0.3", "info": {"title": "Countries", "version": "1"},
    "paths": {"/CountryInfo/{code}": {"get": {"operationId": "getCountry", "parameters": [
        {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Z]{2}$"}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 12}},
        {"name": "region", "in": "query", "schema": {"type": "string", "enum": ["eu", "asia"]}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "note", "in": "query", "schema": {"type": "string", "nullable": True, "maxLength": 5}},
        {"name": "slow", "in": "query", "schema": {"type": "string", "pattern": "^(a+)+$"}},
    ], "responses": {"200": {"description": "ok"}}}}},
}


def test_the_schemas_constraints_are_enforced():
    assert check_call(CONSTRAINED, "getCountry", {"code": "PT", "offset": 12, "since": "2024-02-29"}).ok
    assert problems(check_call(CONSTRAINED, "getCountry", {"code": "PT", "offset": 99})) == [("offset", "constraint")]
    assert problems(check_call(CONSTRAINED, "getCountry", {"code": "Portugal"})) == [("code", "constraint")]
    assert problems(check_call(CONSTRAINED, "getCountry", {"code": "PT", "since": "yesterday"})) == [("since", "constraint")]
    assert problems(check_call(CONSTRAINED, "getCountry", {"code": "PT", "note": "far too long"})) == [("note", "constraint")]


def test_null_empty_and_not_given():
    ok = check_call(CONSTRAINED, "getCountry", {"code": "PT", "note": None, "region": "", "offset": None})
    assert ok.ok and ok.query == {"note": None}  # nullable keeps null; "" and null of an optional parameter: not given
    empty = check_call(CONSTRAINED, "getCountry", {"code": ""})
    assert problems(empty) == [("code", "missing_required")] and "may not be empty" in empty.problems[0].message
    assert problems(check_call(CONSTRAINED, "getCountry", {"code": "PT", "region": "mars"})) == [("region", "not_in_enum")]


def test_a_pattern_that_could_backtrack_forever_is_not_enforced():
    from tasks.documentation.openapi_schema import risky_pattern

    assert risky_pattern("^(a+)+$") and risky_pattern("([") and risky_pattern("^[A-Z]{2}$") is None
    assert check_call(CONSTRAINED, "getCountry", {"code": "PT", "slow": "a" * 40 + "b"}).ok  # returns at once


def test_exact_match_shares_the_not_given_rule():
    from tasks.evaluation.exact_match import score_calls
    from tasks.simulation.call_check import not_given

    assert not_given("") and not_given("  ") and not_given(None) and not not_given(0) and not not_given(False)
    params = {"getCountry": {"code": {"required": True, "type": "string"}, "region": {"required": False, "type": "string"}}}
    golden = [{"action": "getCountry", "action_input": {"code": "PT", "region": " "}}]
    assert score_calls(golden, [{"action": "getCountry", "action_input": {"code": "PT"}}], params).correct
