import json

from tasks.documentation.nl_docs import derive_functions, nl_documentation, structure


def test_functions_from_spec(fixtures):
    spec = json.loads((fixtures / "good_spec.json").read_text())
    fns = {f.name: f for f in derive_functions(spec)}
    assert set(fns) == {"searchBooks", "getBook"}
    search = fns["searchBooks"]
    assert search.method == "get" and search.path == "/books"
    lang = next(p for p in search.parameters if p["name"] == "language")
    assert lang == {"name": "language", "location": "query", "required": False, "type": "string",
                    "enum": ["en", "fr", "de"], "description": "Language of the books."}
    assert search.nl_doc.splitlines()[0] == "searchBooks: Search books by title or author."
    params = json.loads(search.nl_doc.splitlines()[1].removeprefix("Parameters: "))
    assert params == {"query": "Required. string. Words to search for.",
                      "language": "Optional. string. One of: [en, fr, de]. Language of the books."}
    assert search.output.endswith("Structure: Object{results: Array[Object{bookId, title}]}")
    assert fns["getBook"].parameters[0]["required"] is True


def test_request_body_properties_become_parameters():
    spec = {"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/notes": {"post": {
        "operationId": "createNote",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "description": "The note."}, "tags": {"type": "array", "items": {"type": "string"}}}}}}},
        "responses": {"201": {"description": "Created.", "content": {"application/json": {"schema": {"type": "object", "properties": {"noteId": {"type": "string"}}}}}}}}}}}
    (fn,) = derive_functions(spec)
    assert [(p["name"], p["location"], p["required"], p["type"]) for p in fn.parameters] == [
        ("text", "body", True, "string"), ("tags", "body", False, "array[string]")]
    assert "Structure: Object{noteId}" in fn.output


def test_shared_components_listed_once_and_cycles_terminate():
    node = {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
    ok = {"200": {"description": "A tree.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}
    spec = {"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "components": {"schemas": {"Node": node}},
            "paths": {"/a": {"get": {"operationId": "getA", "responses": ok}}, "/b": {"get": {"operationId": "getB", "responses": ok}}}}
    text = nl_documentation(spec)
    assert "Structure: Node" in text
    assert text.count("- Node: Object{name, children: Array[Node]}") == 1
    # without sharing, a cyclic schema still renders finitely
    assert structure(spec, {"$ref": "#/components/schemas/Node"}, set()).startswith("Object{name, children: Array[Object{")
