from schemas.records import CatalogEntry, LintIssue
from tasks.documentation.nl_docs import derive_functions
from tasks.documentation.operations import assemble_spec, issues_by_function, server_url
from tasks.documentation.spec_lint import lint_spec
from tests.support.scripts import GOOD_OPERATIONS

ENTRY = CatalogEntry("0" * 16, "Moon", "Moon phases", "Science", "https://moon.example/docs", "none", True, None, "t", "1")


def test_operations_wrap_into_a_valid_spec():
    spec, collisions = assemble_spec(ENTRY, "The Moon API.", GOOD_OPERATIONS)
    assert collisions == []
    assert lint_spec(spec) == []
    assert spec["servers"] == [{"url": "https://moon.example"}]
    fns = {f.name: f for f in derive_functions(spec)}
    assert fns["getMoonPhase"].path == "/getMoonPhase"
    units = next(p for p in fns["getMoonPhase"].parameters if p["name"] == "units")
    assert units["enum"] == ["metric", "imperial"] and units["location"] == "query"


def test_missing_id_is_routed_to_the_search_function():
    ops = {k: dict(v) for k, v in GOOD_OPERATIONS.items()}
    ops["searchPlaces"] = dict(ops["searchPlaces"], response={"description": "x", "properties": [{"name": "count", "type": "integer"}]})
    spec, _ = assemble_spec(ENTRY, "", ops)
    issues = lint_spec(spec)
    assert [i.code for i in issues] == ["id_not_obtainable"]
    routed = issues_by_function(ops, issues)
    assert routed["searchPlaces"][0].code == "id_not_returned" and "placeId" in routed["searchPlaces"][0].message
    assert routed["getMoonPhase"][0].code == "id_not_obtainable"


def test_unlocated_issues_go_to_every_function():
    routed = issues_by_function(GOOD_OPERATIONS, [LintIssue("openapi_invalid", "(root)", "something global")])
    assert set(routed) == set(GOOD_OPERATIONS)


def test_server_url_fallback():
    assert server_url("") == "https://api.example.com"
    assert server_url("https://a.example/x/y") == "https://a.example"
