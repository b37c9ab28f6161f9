"""The round trip of imported operations (issue #16): generated arguments pass the call check,
broken ones are refused, simulated responses conform, tool definitions are valid JSON Schema —
and a schema the factory cannot honour is reported, not passed."""

import re

import pytest

from flows.files import import_spec_file
from tasks.documentation.openapi_schema import errors_of
from tasks.simulation.roundtrip import check_operations
from tasks.simulation.schema_values import example_value, from_pattern
from toolfactory.cli import main


@pytest.mark.parametrize("name", ["swagger2_shop.json", "messy_openapi3.yaml", "mcp_tools.json", "openai_tools.json"])
def test_every_kept_operation_of_each_format_round_trips(fixtures, name):
    result = import_spec_file(fixtures / "sources" / name)
    trips = check_operations(result.doc.spec)
    assert [t.function for t in trips] == [f.name for f in result.functions]
    assert all(t.passed for t in trips), [(t.function, t.failures) for t in trips if not t.passed]
    assert sum(t.checks for t in trips) >= 3 * len(trips)  # arguments, response, tool definition at least


def test_the_mutations_are_made_and_refused(fixtures):
    spec = import_spec_file(fixtures / "sources" / "swagger2_shop.json").doc.spec
    (listing,) = check_operations(spec, ["listProducts"])
    assert listing.passed and listing.checks == 6  # good call, wrong type, out of enum, above maximum, response, tool


def test_a_schema_nothing_can_satisfy_is_reported():
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/x": {"get": {
        "operationId": "impossible", "parameters": [{"name": "n", "in": "query", "required": True,
                                                      "schema": {"type": "integer", "minimum": 5, "maximum": 1}}],
        "responses": {"200": {"description": "ok"}}}}}}
    (trip,) = check_operations(spec)
    assert not trip.passed and trip.failures[0].kind == "generated arguments refused" and str(trip.failures[0]).startswith("generated arguments refused: ")


@pytest.mark.parametrize("pattern", [r"^[A-Z]{3}$", r"^\d{4}-\d{2}$", r"^(eu|us)-[a-z]+\d?$", r"^[^@\s]+@[^@\s]+$", r"\w{0,4}"])
def test_values_made_from_patterns_match_them(pattern):
    text = from_pattern(pattern)
    assert text is not None and re.search(pattern, text)


def test_example_values_conform():
    schema = {"type": "object", "required": ["id", "tags"], "properties": {
        "id": {"type": "string", "format": "uuid"}, "tags": {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "integer"}},
        "when": {"type": "string", "format": "date-time", "minLength": 24}, "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}}}
    assert errors_of(schema, example_value(schema)) == []


def test_docs_check_command(workdir, fixtures, capsys):
    assert main(["docs", "import", str(fixtures / "sources")]) == 0
    capsys.readouterr()
    assert main(["docs", "check"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"operations +17\n", out) and re.search(r"operations failed +0\n", out) and re.search(r"apis +6\n", out)


def test_hostile_schemas_stay_bounded():
    """A chain of 3,000 components, absurd counts and bounds, a pattern that would build a gigabyte:
    the checks and the made values stay small and nothing raises."""
    import json

    from tasks.documentation.openapi_schema import json_schema
    from tasks.simulation.call_check import check_call

    schemas = {f"S{i}": {"type": "object", "properties": {"next": {"$ref": f"#/components/schemas/S{i + 1}"}}} for i in range(3000)}
    schemas["S3000"] = {"type": "string"}
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "components": {"schemas": schemas}, "paths": {"/x": {"post": {
        "operationId": "hostile", "parameters": [
            {"name": "many", "in": "query", "schema": {"type": "array", "minItems": 10**9, "items": {"type": "string", "pattern": "^a{999999999}$"}}},
            {"name": "odd", "in": "query", "schema": {"type": "number", "minimum": "abc", "multipleOf": 5e-324, "maximum": 1e308}}],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}},
        "responses": {"200": {"description": "ok"}}}}}}
    converted = json_schema(spec, {"$ref": "#/components/schemas/S0"})
    assert len(json.dumps(converted)) < 100_000
    value = example_value(json_schema(spec, spec["paths"]["/x"]["post"]["parameters"][0]["schema"]))
    assert len(json.dumps(value)) < 100_000
    assert check_call(spec, "hostile", {"odd": 3, "next": {"next": {}}}).problems == []
    (trip,) = check_operations(spec)
    assert trip.checks >= 3  # it ran to the end; failures, if any, are reported, not raised
