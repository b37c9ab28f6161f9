"""The function graph: which outputs can feed which parameters, and why."""

from __future__ import annotations

from tasks.simulation.function_graph import SOURCES_PER_PARAMETER, chains, cross_graph, graph, name_words
from tests.support.specs import SHOP_WITH_RESPONSES


def _op(op_id: str, params: list[dict] | None = None, response: dict | None = None, body: dict | None = None) -> dict:
    op: dict = {"operationId": op_id, "parameters": params or [],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": response or {"type": "object"}}}}}}
    if body:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return op


def _param(name: str, where: str = "query", kind: str = "string", fmt: str = "") -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": kind, **({"format": fmt} if fmt else {})}}


def _obj(**props: dict) -> dict:
    return {"type": "object", "properties": props}


JOBS = {"openapi": "3.0.3", "info": {"title": "Jobs", "version": "1"}, "paths": {
    "/jobs": {"get": _op("listJobs", [_param("limit", kind="integer")],
                         _obj(jobs={"type": "array", "items": _obj(id={"type": "string"}, ownerId={"type": "string"},
                                                                  limit={"type": "integer"}, sessionKey={"type": "string", "format": "uuid"})})),
              "post": _op("createJob", body=_obj(title={"type": "string"}, ownerId={"type": "string"}))},
    "/jobs/{id}": {"get": _op("getJob", [_param("id", "path")], _obj(id={"type": "string"}, resultKey={"type": "string"}))},
    "/users/{id}": {"get": _op("getUser", [_param("id", "path")], _obj(name={"type": "string"}))},
    "/results": {"get": _op("getResult", [_param("resultKey", kind="integer")], _obj(score={"type": "number"}))},
    "/sessions": {"get": _op("getSession", [_param("sessionKey", fmt="byte")], _obj())},
}}


def _pairs(edges) -> set[tuple[str, str, str, str]]:
    return {(e.source, e.output, e.target, e.parameter) for e in edges}


def test_names_split_into_words_whatever_the_case_style():
    assert name_words("itemId") == name_words("item_id") == name_words("item-id") == ("item", "id")
    assert name_words("HTTPServerURL") == ("http", "server", "url")


def test_the_shop_search_result_feeds_the_item_calls_with_evidence():
    edges = graph(SHOP_WITH_RESPONSES)
    assert ("searchItems", "results[].itemId", "getItem", "itemId") in _pairs(edges)
    e = next(e for e in edges if e.target == "getItem")
    assert e.evidence[0] == "name: results[].itemId is itemId" and "type: integer" in e.evidence
    longest = max(chains(edges), key=len)
    assert [(x.source, x.target) for x in longest] == [("searchItems", "getItem"), ("getItem", "reviewItem")]


def test_a_bare_id_is_fed_only_by_its_own_collection():
    pairs = _pairs(graph(JOBS))
    assert ("listJobs", "jobs[].id", "getJob", "id") in pairs  # /jobs/{id} ← a job's id
    assert not any(t == "getUser" for _, _, t, _ in pairs)  # a job's id is not a user's


def test_contradicting_types_formats_plumbing_and_copied_fields_make_no_edge():
    pairs = _pairs(graph(JOBS))
    assert not any(t == "getResult" for _, _, t, _ in pairs)  # resultKey: a string out, an integer in
    assert not any(t == "getSession" for _, _, t, _ in pairs)  # a uuid out, base64 bytes in
    assert not any(p == "limit" for *_, p in pairs)  # paging never flows between calls
    assert ("listJobs", "jobs[].ownerId", "createJob", "ownerId") in pairs  # a handle in a body does
    assert not any(p == "title" for *_, p in pairs)


def test_a_parameter_keeps_its_best_sources_only():
    paths = {f"/list{i}": {"get": _op(f"list{i}", response=_obj(rows={"type": "array", "items": _obj(orderId={"type": "string"})}))}
             for i in range(SOURCES_PER_PARAMETER + 3)}
    paths["/orders/{orderId}"] = {"get": _op("getOrder", [_param("orderId", "path")])}
    edges = graph({"openapi": "3.0.3", "paths": paths})
    assert len([e for e in edges if e.target == "getOrder"]) == SOURCES_PER_PARAMETER


def test_edges_across_apis_name_both_apis_and_malformed_specs_give_none():
    across = cross_graph({"jobs": JOBS, "shop": SHOP_WITH_RESPONSES, "broken": {"paths": {"/x": "not an item"}}})
    assert {(s, d) for s, d, _ in across} <= {("jobs", "shop"), ("shop", "jobs")}
    assert graph({"paths": {"/x": {"get": {"operationId": "x", "responses": "nope"}}}}) == []
    assert graph("not a spec") == []
