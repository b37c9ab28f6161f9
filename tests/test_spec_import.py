import json

from flows.files import DocumentReader, import_spec_file, spec_files
from tasks.documentation.openapi_refs import bundle_external_refs, deref


def test_external_refs_are_bundled_into_components(fixtures):
    result = import_spec_file(fixtures / "specs" / "library.yaml")
    doc = result.doc
    assert doc.status == "valid", doc.lint_errors
    assert doc.category == "Books" and doc.origin == "import" and doc.name == "Little Library"
    comps = doc.spec["components"]["schemas"]
    assert set(comps) == {"Book", "Author"}
    assert comps["Book"]["properties"]["author"] == {"$ref": "#/components/schemas/Author"}
    assert "shared/" not in json.dumps(doc.spec)
    assert {f.name for f in result.functions} == {"searchBooks", "getBook"}
    assert "Structure: Object{results: Array[Book]}" in doc.nl_documentation or "Array[Object{bookId" in doc.nl_documentation
    assert result.entry.link == "https://library.example/v1" and result.entry.api_id == doc.api_id


def test_folder_import_reports_each_file(fixtures):
    files = spec_files(fixtures / "specs")
    names = [f.name for f in files]
    assert "library.yaml" in names and "broken.json" in names and "book.yaml" in names
    results = {f.name: import_spec_file(f) for f in files}
    broken = results["broken.json"]  # no operationId, no path parameter declared, a text result: repaired, not refused
    assert broken.doc.status == "valid" and broken.rejections == []
    assert [f.name for f in broken.functions] == ["getXById"]
    codes = {(n.kind, n.code) for n in broken.notes}
    assert {("repair", "operation_id_missing"), ("repair", "path_parameter_undeclared"), ("warning", "non_json_media_type")} <= codes
    assert broken.doc.spec["paths"]["/x/{id}"]["get"]["x-toolfactory-result"] == {"kind": "text", "media": "text/plain"}
    assert results["not_json.json"].doc is None and results["not_json.json"].rejections[0].reason == "unparsable"
    assert results["book.yaml"].rejections[0].reason == "not_openapi"


def test_cyclic_external_refs_terminate(tmp_path):
    (tmp_path / "a.yaml").write_text("A: {type: object, properties: {b: {$ref: 'b.yaml#/B'}}}\n")
    (tmp_path / "b.yaml").write_text("B: {type: object, properties: {a: {$ref: 'a.yaml#/A'}}}\n")
    spec = {"openapi": "3.0.0", "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "a.yaml#/A"}}}}}}}}}
    out, problems = bundle_external_refs(spec, tmp_path / "main.yaml", DocumentReader(tmp_path))
    assert problems == []
    comps = out["components"]["schemas"]
    assert comps["A"]["properties"]["b"] == {"$ref": "#/components/schemas/B"}
    assert comps["B"]["properties"]["a"] == {"$ref": "#/components/schemas/A"}
    target, name = deref(out, {"$ref": "#/components/schemas/A"})
    assert name == "A" and target["type"] == "object"


def test_dangling_refs_are_reported(tmp_path):
    spec = {"openapi": "3.0.0", "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "nope.yaml#/X"}}}}}}}}}
    _, problems = bundle_external_refs(spec, tmp_path / "main.yaml", DocumentReader(tmp_path))
    assert any("nope.yaml" in p for p in problems)
