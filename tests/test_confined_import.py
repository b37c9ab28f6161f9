"""Confined document loading: a spec's ``$ref``s reach only files inside the import folder —
never absolute paths, parent escapes, links out, devices, FIFOs or URLs (unless allowed, through
the address guard) — files and resolved documents are capped, YAML aliases cannot expand without
bound, and deep nesting is refused without a RecursionError. Every violation refuses the document
under a named rule, and nothing from outside the folder is in what it returns."""

import json
import os

import httpx
import pytest

from flows.files import DocumentReader, import_spec_file
from tasks.guards.documents import DocumentRefused, Limits, parse_document
from tasks.guards.guarded_http import Guard
from tests.support.net import RecordingResolver

CANARY = "CANARY-outside-the-import-folder-7f3a"


def spec_with_ref(ref: str) -> str:
    return json.dumps({"openapi": "3.0.3", "info": {"title": "Trap", "version": "1"}, "paths": {"/x": {"get": {
        "operationId": "getX", "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": ref}}}}}}}}})


@pytest.fixture
def layout(tmp_path):
    """tmp/outside/secret.yaml (the canary) beside tmp/import/ (the import folder)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"Secret: {{type: string, description: {CANARY}}}\n")
    folder = tmp_path / "import"
    (folder / "sub").mkdir(parents=True)
    return folder, outside / "secret.yaml"


def refused(folder, ref, reader=None, name="spec.json"):
    (folder / name).write_text(spec_with_ref(ref))
    result = import_spec_file(folder / name, reader=reader or DocumentReader(folder))
    assert result.doc is None and result.entry is None and len(result.rejections) == 1
    assert CANARY not in json.dumps([r.to_dict() for r in result.records()])
    return result.rejections[0]


def test_absolute_parent_and_scheme_refs_are_refused(layout):
    folder, secret = layout
    assert refused(folder, f"{secret}#/Secret").reason == "absolute_ref"
    assert refused(folder, "/etc/passwd").reason == "absolute_ref"
    assert refused(folder, "/dev/zero").reason == "absolute_ref"
    assert refused(folder, "../outside/secret.yaml#/Secret").reason == "outside_root"
    assert refused(folder, "sub/../../outside/secret.yaml#/Secret").reason == "outside_root"
    assert refused(folder, f"file://{secret}#/Secret").reason == "ref_scheme"
    assert refused(folder, "data:text/plain,hello").reason == "ref_scheme"
    assert refused(folder, "https://specs.example.org/common.yaml#/X").reason == "remote_ref"


def test_links_out_devices_and_fifos_are_refused(layout):
    folder, secret = layout
    (folder / "link.yaml").symlink_to(secret)
    (folder / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.yaml")
    assert refused(folder, "link.yaml#/Secret").reason == "outside_root"
    assert refused(folder, "zero.yaml").reason == "outside_root"
    rule = refused(folder, "pipe.yaml")
    assert rule.reason == "not_a_file" and "pipe.yaml" in rule.detail
    (folder / "spec_link.json").symlink_to(secret)  # the spec itself links out
    assert import_spec_file(folder / "spec_link.json", reader=DocumentReader(folder)).rejections[0].reason == "outside_root"


def test_refs_inside_the_folder_still_bundle(layout):
    folder, _ = layout
    (folder / "sub" / "common.yaml").write_text("Thing: {type: object, properties: {id: {type: integer}}}\n")
    (folder / "sub" / "spec.json").write_text(spec_with_ref("common.yaml#/Thing"))
    (folder / "top.json").write_text(spec_with_ref("sub/common.yaml#/Thing"))
    for path in (folder / "sub" / "spec.json", folder / "top.json"):
        result = import_spec_file(path, reader=DocumentReader(folder))
        assert result.doc is not None and result.doc.spec["components"]["schemas"]["Thing"]["type"] == "object"


def test_size_caps_per_file_and_for_the_resolved_document(layout):
    folder, _ = layout
    (folder / "big.yaml").write_text("Big: {type: string, description: '" + "x" * 5000 + "'}\n")
    rule = refused(folder, "big.yaml#/Big", reader=DocumentReader(folder, Limits(max_bytes=4000)))
    assert rule.reason == "file_too_large"
    # many refs to slightly different pointers of one subtree: each bundled copy counts
    (folder / "tree.yaml").write_text("T: {type: object, properties: {" + ", ".join(f"p{i}: {{type: string}}" for i in range(300)) + "}}\n")
    paths = {f"/x{i}": {"get": {"operationId": f"get{i}", "responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"$ref": "tree.yaml#/T" + "/" * i}}}}}}} for i in range(40)}
    (folder / "many.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "M", "version": "1"}, "paths": paths}))
    result = import_spec_file(folder / "many.json", reader=DocumentReader(folder, Limits(max_nodes=5000)))
    assert result.doc is None and result.rejections[0].reason == "resolved_too_large"


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))


@pytest.mark.parametrize("text, rule", [
    ("openapi: 3.0.3\n" + BOMB, "alias_expansion"),
    ("openapi: 3.0.3\nloop: &l [*l]\n", "self_reference"),
    ("openapi: 3.0.3\ndeep: " + "[" * 900 + "]" * 900 + "\n", "too_deep"),
])
def test_yaml_bombs_and_depth_are_refused_in_bounded_time(layout, text, rule):
    folder, _ = layout
    (folder / "bomb.yaml").write_text(text)
    result = import_spec_file(folder / "bomb.yaml", reader=DocumentReader(folder))
    assert result.doc is None and result.rejections[0].reason == rule


@pytest.mark.parametrize("depth", [520, 900, 50_000])
def test_deep_json_is_refused_not_a_recursion_error(layout, depth):
    folder, _ = layout
    (folder / "deep.json").write_text('{"openapi": "3.0.3", "x": ' + "[" * depth + "]" * depth + "}")
    result = import_spec_file(folder / "deep.json", reader=DocumentReader(folder))
    assert result.doc is None and result.rejections[0].reason == "too_deep"


def test_a_referenced_bomb_refuses_the_spec(layout):
    folder, _ = layout
    (folder / "bomb.yaml").write_text(BOMB)
    assert refused(folder, "bomb.yaml#/i").reason == "alias_expansion"


def test_parse_document_rules():
    with pytest.raises(DocumentRefused) as err:
        parse_document(b"\xff\xfe not text", "x.yaml")
    assert err.value.rule == "not_utf8"
    with pytest.raises(DocumentRefused) as err:
        parse_document(b"a: [1, 2", "x.yaml")
    assert err.value.rule == "unparsable"
    assert parse_document("x: &s {a: 1}\ny: *s\nz: *s\n", "ok.yaml") == {"x": {"a": 1}, "y": {"a": 1}, "z": {"a": 1}}


def test_remote_refs_when_allowed_go_through_the_address_guard(layout):
    folder, _ = layout
    served = []

    def serve(request):
        served.append(str(request.url))
        if request.url.path == "/common.yaml":
            return httpx.Response(200, text="Thing: {type: object, properties: {id: {type: integer}}}\n")
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data"})

    resolver = RecordingResolver({"specs.example.org": ["93.184.216.34"], "inner.example.org": ["10.0.0.8"]})
    reader = DocumentReader(folder, allow_remote=True, guard=Guard(None, resolve=resolver),
                            transport=httpx.MockTransport(serve))
    (folder / "ok.json").write_text(spec_with_ref("https://specs.example.org/common.yaml#/Thing"))
    result = import_spec_file(folder / "ok.json", reader=reader)
    assert result.doc is not None and result.doc.spec["components"]["schemas"]["Thing"]["type"] == "object"
    assert refused(folder, "http://127.0.0.1:9/x.yaml", reader=reader).reason == "remote_refused"
    assert refused(folder, "https://inner.example.org/x.yaml", reader=reader).reason == "remote_refused"
    moved = refused(folder, "https://specs.example.org/moved.yaml", reader=reader)
    assert moved.reason == "remote_refused" and "not in the allow-list" in moved.detail
    assert served == ["https://specs.example.org/common.yaml", "https://specs.example.org/moved.yaml"]
