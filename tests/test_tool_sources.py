"""Published tool documents in every format become callable tools: detection, conversion,
per-operation normalisation with notes, auth kept out of arguments (issue #16). Fixtures in
tests/fixtures/sources, one per format and repair."""

import json

import pytest
from openapi_spec_validator import validate

from flows.docs_import import import_docs
from flows.files import DocumentReader, import_spec_file
from flows.settings import Settings
from tasks.documentation.spec_import import detect_format, import_spec
from tasks.documentation.spec_normalise import public_spec
from tasks.documentation.swagger2 import convert
from tasks.simulation.call_check import check_call
from warehouse import Warehouse


@pytest.fixture
def sources(fixtures):
    return fixtures / "sources"


@pytest.fixture
def settings_fake(tmp_path):
    return Settings().with_overrides(warehouse_path=str(tmp_path / "w.duckdb"), backends_file="fake")


def notes_of(result):
    return {(n.kind, n.code, n.operation) for n in result.notes}


def test_swagger2_is_converted_to_a_valid_openapi3_document(sources):
    doc = json.loads((sources / "swagger2_shop.json").read_text())
    converted, notes = convert(doc)
    validate(converted)  # openapi-spec-validator: raises on an invalid document
    assert converted["servers"] == [{"url": "https://shop.example.com/v2"}]
    post = converted["paths"]["/products"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Product"}
    assert set(converted["paths"]["/products"]["get"]["responses"]["200"]["content"]) == {"application/json", "application/xml"}
    upload = converted["paths"]["/products/{productId}/photo"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["properties"]["file"] == {"type": "string", "format": "binary"} and upload["required"] == ["file"]
    assert converted["components"]["schemas"]["Product"]["properties"]["organic"]["nullable"] is True
    assert converted["components"]["securitySchemes"]["key"] == {"type": "apiKey", "in": "query", "name": "api_key"}
    assert any("formData" in n for n in notes)


def test_swagger2_import_keeps_every_operation_and_the_key_out_of_the_arguments(sources):
    result = import_spec_file(sources / "swagger2_shop.json")
    assert result.source_format == "swagger2" and result.doc.status == "valid" and result.rejections == []
    assert [f.name for f in result.functions] == ["listProducts", "addProduct", "getProductsByProductId", "uploadPhoto"]
    listing = next(f for f in result.functions if f.name == "listProducts")
    assert {p["name"] for p in listing.parameters} == {"limit", "category", "tags"}  # api_key is auth, not an argument
    assert ("repair", "auth_parameter", "GET /products") in notes_of(result)
    assert ("repair", "operation_id_missing", "GET /products/{productId}") in notes_of(result)
    spec = result.doc.spec
    assert spec["x-toolfactory-auth"] == [{"name": "api_key", "location": "query", "kind": "api_key", "scheme": "key"}]
    call = check_call(spec, "listProducts", {"limit": "5", "tags": "a,b", "api_key": "secret"})
    assert call.ok and call.query == {"limit": 5, "tags": ["a", "b"]}  # the key a model might add is dropped, never sent on
    assert check_call(spec, "listProducts", {"limit": 51}).problems[0].code == "constraint"
    upload = check_call(spec, "uploadPhoto", {"productId": 3, "file": "photo.png", "caption": "x" * 81})
    assert [(p.parameter, p.code) for p in upload.problems] == [("caption", "constraint")]


def test_a_messy_openapi3_document_is_repaired_per_operation(sources):
    result = import_spec_file(sources / "messy_openapi3.yaml")
    assert result.doc.status == "valid"
    notes = notes_of(result)
    assert ("repair", "path_slash", "forecast/{city}") in notes
    assert ("repair", "path_parameter_required", "GET /forecast/{city}") in notes
    assert ("repair", "parameter_schema", "GET /forecast/{city}") in notes
    assert ("repair", "schema_without_content", "GET /forecast/{city}") in notes
    assert ("repair", "path_parameter_undeclared", "GET /alerts/{region}") in notes
    assert ("repair", "operation_id_invalid", "GET /alerts/{region}") in notes
    assert ("dropped", "ref_unresolved", "GET /stations/{stationId}/history") in notes  # one bad operation, not the API
    assert ("assumption", "text_result", "GET /alerts/{region}") in notes
    assert ("assumption", "binary_result", "GET /radar") in notes
    assert ("assumption", "free_form_result", "GET /stations") in notes
    assert ("repair", "parameters_not_list", "GET /radar") in notes and ("repair", "body_parameter", "POST /reports") in notes
    assert {n.code for n in result.notes if n.kind == "repair" and n.operation == ""} >= {
        "number_as_string", "type_list", "default_mismatch", "enum_on_array"}
    assert sorted(f.name for f in result.functions) == ["fileReport", "getForecastByCity", "listStations", "list_alerts", "radarImage"]
    spec = result.doc.spec
    assert spec["paths"]["/alerts/{region}"]["get"]["x-original-operation-id"] == "list alerts!"
    params = {p["name"]: p for p in spec["paths"]["/forecast/{city}"]["get"]["parameters"]}
    assert params["days"]["schema"] == {"type": "integer", "maximum": 10, "minimum": 1}
    assert params["verbose"]["schema"]["default"] is False
    assert params["fields"]["schema"] == {"type": "array", "items": {"type": "string", "enum": ["high", "low"]}}
    validate(public_spec(spec))  # the repaired document is a valid OpenAPI document
    assert {a["name"] for a in spec["x-toolfactory-auth"]} == {"X-Desk-Key", "Authorization"}
    forecast = next(f for f in result.functions if f.name == "getForecastByCity")
    assert "X-Desk-Key" not in {p["name"] for p in forecast.parameters}
    assert check_call(spec, "fileReport", {"text": "Hail in Porto"}).body == {"text": "Hail in Porto"}
    assert [p.code for p in check_call(spec, "radarImage", {"zoom": 9}).problems] == ["constraint"]


def test_auth_names_from_toolalpacas_authentication_field():
    from tasks.documentation.spec_auth import authentication_names

    declared = {"appid": ("appId", "query"), "q": ("q", "query"), "access_key": ("access_key", "query")}
    assert authentication_names({"appId": "KEY"}, declared) == ["appId"]
    assert authentication_names(["access_key"], declared) == ["access_key"]
    assert authentication_names("Pass your appId as a query parameter.", declared) == ["appId"]  # free text: declared and key-like
    assert authentication_names("Free text about q and nothing else.", declared) == [] and authentication_names(None, declared) == []


def test_tool_lists_become_apis(sources):
    mcp = import_spec_file(sources / "mcp_tools.json")
    assert mcp.source_format == "mcp" and [f.name for f in mcp.functions] == ["get_weather", "notes_search"]
    assert ("repair", "tool_renamed", "") in notes_of(mcp)
    spec = mcp.doc.spec
    assert check_call(spec, "get_weather", {"city": "Oslo"}).ok
    assert [p.code for p in check_call(spec, "get_weather", {"units": "c"}).problems] == ["missing_required"]
    assert [p.code for p in check_call(spec, "notes_search", {"query": "milk", "limit": 99}).problems] == ["constraint"]
    assert spec["paths"]["/tools/get_weather"]["post"]["x-toolfactory-result"]["kind"] == "free_form"
    assert spec["paths"]["/tools/notes_search"]["post"]["x-toolfactory-result"]["kind"] == "json"
    openai = import_spec_file(sources / "openai_tools.json")
    assert openai.source_format == "openai_tools" and [f.name for f in openai.functions] == ["convert_currency", "list_currencies"]
    bad = check_call(openai.doc.spec, "convert_currency", {"amount": 0, "from": "usd", "to": "EUR"})
    assert {(p.parameter, p.code) for p in bad.problems} == {("amount", "constraint"), ("from", "constraint")}


def test_detection_and_a_forced_format(sources, tmp_path):
    assert detect_format(json.loads((sources / "toolalpaca_real.json").read_text())) == "toolalpaca"
    assert detect_format({"openapi": "3.1.0", "paths": {}}) == "openapi3" and detect_format({"tools": []}) is None
    forced = import_spec(sources / "mcp_tools.json", DocumentReader(sources), fmt="swagger2")
    assert forced.doc is None and forced.rejections[0].reason == "format_mismatch"
    (tmp_path / "nothing.json").write_text('{"hello": "world"}')
    refused = import_spec(tmp_path / "nothing.json", DocumentReader(tmp_path))
    assert refused.rejections[0].reason == "not_openapi"


def test_the_toolalpaca_real_api_layout_makes_every_function_callable(settings_fake, sources):
    out = import_docs(settings_fake, sources / "toolalpaca_real.json")
    assert out["usable"] == 2 and out["formats"] == {"toolalpaca": 2}
    with Warehouse.open(settings_fake.warehouse_path) as wh:
        functions = wh.execute("SELECT api_name, name, CAST(parameters AS VARCHAR) FROM functions ORDER BY api_name, name")
        assert [(a, n) for a, n, _ in functions] == [("Country Info", "getCountry"), ("Country Info", "getHolidays"),
                                                   ("IP Lookup", "checkOwnIP"), ("IP Lookup", "lookupIP")]
        assert all("access_key" not in params for _, _, params in functions)
        golden = wh.execute("SELECT g.calls, a.spec FROM golden_answer g JOIN apis a USING (api_id) ORDER BY g.created_at")
    assert len(golden) == 6
    for calls, spec in golden:
        spec = json.loads(spec)
        for call in json.loads(calls):
            assert "access_key" not in call["action_input"]
            checked = check_call(spec, call["action"], call["action_input"])
            assert checked.ok, (call, [p.message for p in checked.problems])


def test_the_import_summary_and_notes_views(settings_fake, sources):
    out = import_docs(settings_fake, sources)
    assert out["files"] == 5 and out["usable"] == 6 and out["refused"] == 0
    assert out["operations dropped"] == 1 and out["notes"]["repair"] > 5
    assert any(line.startswith("messy_openapi3.yaml: usable, 5 kept, 1 dropped") for line in out["documents"])
    with Warehouse.open(settings_fake.warehouse_path) as wh:
        rows = dict(wh.execute("SELECT name, operations_kept FROM import_summary"))
        assert rows["Weather Desk"] == 5 and rows["Corner Shop"] == 4
        dropped = wh.execute("SELECT operation, code FROM import_notes WHERE kind = 'dropped' AND current_doc")
        assert dropped == [("GET /stations/{stationId}/history", "ref_unresolved")]
    again = import_docs(settings_fake, sources)  # content-hashed: a re-import lands nothing new
    assert again["usable"] == 6
    with Warehouse.open(settings_fake.warehouse_path) as wh:
        assert wh.count("import_note") == sum(1 for _ in wh.execute("SELECT DISTINCT note_id FROM import_note"))
        assert wh.count("api_doc") == 6
