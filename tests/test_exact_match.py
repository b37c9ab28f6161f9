"""Exact-match scoring (no LLM): order, optional parameters, type normalisation, missing and extra calls."""

from __future__ import annotations

from tasks.evaluation.exact_match import parameter_table, score_calls

SPEC = {"openapi": "3.0.0", "paths": {
    "/search": {"get": {"operationId": "searchAxolotlImages", "parameters": [
        {"name": "color", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "gender", "in": "query", "schema": {"type": "string"}},
        {"name": "size", "in": "query", "schema": {"type": "string"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "default": 1}}]}},
    "/facts": {"get": {"operationId": "getAxolotlFacts", "parameters": [
        {"name": "limit", "in": "query", "required": True, "schema": {"type": "integer"}},
        {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}]}},
    "/note": {"post": {"operationId": "addNote", "requestBody": {"content": {"application/json": {"schema": {
        "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}, "tags": {"type": "array"}}}}}}}},
}}
PARAMS = parameter_table(SPEC)


def call(action, **kw):
    return {"action": action, "action_input": kw}


def test_the_parameter_table_reads_query_and_body_parameters():
    assert PARAMS["searchAxolotlImages"]["color"] == {"required": True, "type": "string"}
    assert PARAMS["searchAxolotlImages"]["page"] == {"required": False, "type": "integer", "default": 1}
    assert PARAMS["addNote"]["text"]["required"] and PARAMS["addNote"]["tags"]["type"] == "array"


def test_toolalpaca_golden_text_with_an_empty_optional_value():
    golden = [{"action": "searchAxolotlImages", "action_input": '{"color": "wild", "gender": "", "size": "medium", "page": 1}'}]
    ok = score_calls(golden, [call("searchAxolotlImages", color="Wild", size=" medium ")], PARAMS)
    assert ok.correct and ok.precision == 1 and ok.recall == 1  # page omitted = its default; gender "" = not given
    wrong = score_calls(golden, [call("searchAxolotlImages", color="wild", size="small")], PARAMS)
    assert not wrong.correct and wrong.names_correct and wrong.matched == 0
    assert wrong.reasons == ["searchAxolotlImages: size='small', expected 'medium'"]


def test_values_are_normalised_by_type():
    golden = [call("getAxolotlFacts", limit=3, verbose=True)]
    assert score_calls(golden, [call("getAxolotlFacts", limit="3", verbose="true")], PARAMS).correct
    assert score_calls(golden, [call("getAxolotlFacts", limit=3.0, verbose=True)], PARAMS).correct
    assert not score_calls(golden, [call("getAxolotlFacts", limit="three", verbose=True)], PARAMS).correct
    assert not score_calls(golden, [call("getAxolotlFacts", limit=3, verbose=False)], PARAMS).correct
    tags = [call("addNote", text="buy food", tags=["a", "b"])]
    assert score_calls(tags, [call("addNote", text="Buy  food", tags='["a", "b"]')], PARAMS).correct
    assert not score_calls(tags, [call("addNote", text="buy food", tags=["b", "a"])], PARAMS).correct


def test_optional_parameters():
    golden = [call("searchAxolotlImages", color="wild")]
    assert score_calls(golden, [call("searchAxolotlImages", color="wild", page=1)], PARAMS).correct  # the spec default
    extra = score_calls(golden, [call("searchAxolotlImages", color="wild", page=2)], PARAMS)
    assert not extra.correct and extra.reasons == ["searchAxolotlImages: unexpected page=2"]
    invented = score_calls(golden, [call("searchAxolotlImages", color="wild", gender="female")], PARAMS)
    assert not invented.correct
    needed = score_calls([call("searchAxolotlImages", color="wild", size="big")], [call("searchAxolotlImages", color="wild")], PARAMS)
    assert needed.reasons == ["searchAxolotlImages: size missing"]
    required = score_calls([call("getAxolotlFacts")], [call("getAxolotlFacts")], PARAMS)
    assert required.reasons == ["getAxolotlFacts: required limit missing"]  # required must be given even if golden forgot


def test_order_missing_and_extra_calls():
    a, b = call("getAxolotlFacts", limit=1), call("searchAxolotlImages", color="wild")
    swapped = score_calls([a, b], [b, a], PARAMS)
    assert not swapped.correct and not swapped.names_correct and swapped.matched == 2  # per call: both found
    assert swapped.precision == 1 and swapped.recall == 1
    missing = score_calls([a, b], [a], PARAMS)
    assert not missing.correct and missing.recall == 0.5 and missing.precision == 1
    assert missing.reasons == ["missing call 'searchAxolotlImages'"]
    extra = score_calls([a], [a, b], PARAMS)
    assert not extra.correct and extra.precision == 0.5 and extra.recall == 1 and extra.reasons == ["extra call 'searchAxolotlImages'"]
    none = score_calls([a], [], PARAMS)
    assert not none.correct and none.precision == 0 and none.recall == 0
    assert score_calls([], [], PARAMS).correct  # an instruction that needs no call, answered with none
    bad = score_calls([a], [{"action": "getAxolotlFacts", "action_input": "limit=1"}], PARAMS)
    assert bad.reasons == ["getAxolotlFacts: arguments are not a JSON object"]
