import copy
import json

import pytest

from tasks.documentation.spec_lint import lint_spec


@pytest.fixture
def spec(fixtures):
    return json.loads((fixtures / "good_spec.json").read_text())


def codes(spec):
    return sorted({i.code for i in lint_spec(spec)})


def test_good_spec_passes(spec):
    assert lint_spec(spec) == []


def test_not_a_spec():
    assert codes("nope") == ["openapi_invalid"]
    assert codes({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {}}) == ["no_operations"]
    assert "not_openapi_30" in codes({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}})


def test_operation_ids(spec):
    s = copy.deepcopy(spec)
    del s["paths"]["/books"]["get"]["operationId"]
    assert "operation_id_missing" in codes(s)
    s = copy.deepcopy(spec)
    s["paths"]["/books"]["get"]["operationId"] = "getBook"
    assert "operation_id_duplicate" in codes(s)
    s["paths"]["/books"]["get"]["operationId"] = "get book!"
    assert "operation_id_format" in codes(s)


def test_untyped_parameter_and_unused_path_parameter(spec):
    s = copy.deepcopy(spec)
    s["paths"]["/books"]["get"]["parameters"][0]["schema"] = {}
    s["paths"]["/books"]["get"]["parameters"].append({"name": "shelf", "in": "path", "required": True, "schema": {"type": "string"}})
    found = codes(s)
    assert "parameter_untyped" in found and "path_parameter_unused" in found


def test_undeclared_path_parameter_is_reported_by_the_validator(spec):
    s = copy.deepcopy(spec)
    s["paths"]["/books/{bookId}"]["get"]["parameters"] = []
    issues = lint_spec(s)
    assert any(i.code == "openapi_invalid" and "bookId" in i.message for i in issues)


def test_closed_values_need_an_enum(spec):
    s = copy.deepcopy(spec)
    p = s["paths"]["/books"]["get"]["parameters"][0]
    p["description"] = "Sort order, one of 'asc' or 'desc'."
    assert "enum_missing" in codes(s)
    p["schema"]["enum"] = ["asc", "desc"]
    assert "enum_missing" not in codes(s)


def test_enum_values_must_be_of_the_parameters_type(spec):
    s = copy.deepcopy(spec)
    p = s["paths"]["/books"]["get"]["parameters"][0]
    p["schema"] = {"type": "boolean", "enum": ["en", "fr"]}  # no call could pass: what a small documenter wrote
    assert "enum_type_mismatch" in codes(s)
    p["schema"] = {"type": "integer", "enum": [1, 2, None], "nullable": True}
    assert "enum_type_mismatch" not in codes(s)
    p["schema"] = {"type": "integer", "enum": [1, True]}
    assert "enum_type_mismatch" in codes(s)


def test_responses_need_json_schemas(spec):
    s = copy.deepcopy(spec)
    s["paths"]["/books"]["get"]["responses"] = {"404": {"description": "none"}}
    assert "no_success_response" in codes(s)
    s = copy.deepcopy(spec)
    s["paths"]["/books"]["get"]["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    assert "non_json_media_type" in codes(s)
    s = copy.deepcopy(spec)
    del s["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "response_schema_missing" in codes(s)
    s = copy.deepcopy(spec)
    s["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"type": "object"}
    assert "object_without_properties" in codes(s)
    s["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"type": "array"}
    assert "array_without_items" in codes(s)


def test_request_bodies_must_be_json(spec):
    s = copy.deepcopy(spec)
    s["paths"]["/books"]["post"] = {
        "operationId": "addBook", "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"bookId": {"type": "string"}}}}}}},
    }
    assert "non_json_media_type" in codes(s)
    s["paths"]["/books"]["post"]["requestBody"] = {"content": {"application/json": {"schema": {"type": "object", "properties": {"title": {}}}}}}
    assert "parameter_untyped" in codes(s)


def test_ids_must_be_obtainable_from_another_operation(spec):
    s = copy.deepcopy(spec)
    items = s["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["results"]["items"]
    del items["properties"]["bookId"]
    issues = [i for i in lint_spec(s) if i.code == "id_not_obtainable"]
    assert len(issues) == 1 and "bookId" in issues[0].message
    items["properties"]["BOOKID"] = {"type": "string"}  # matched case-insensitively
    assert "id_not_obtainable" not in codes(s)


def test_refs_and_cycles_do_not_break_the_lint(spec):
    s = copy.deepcopy(spec)
    s["components"] = {"schemas": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}, "nodeId": {"type": "string"}}}}}
    s["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Node"}
    assert isinstance(lint_spec(s), list)
    s["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Missing"}
    assert any(i.code == "openapi_invalid" for i in lint_spec(s))
