import copy

import pytest

from schemas.reasons import Reason
from schemas.records import CatalogEntry
from tasks.documentation.documenter import (
    DocumenterConfig,
    default_prompts,
    doc_id_for,
    document_api,
    parse_operation,
    parse_outline,
    parse_spec,
)
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.llm.types import LLMResult
from tests.support.scripts import GOOD_OPERATIONS, GOOD_OUTLINE, documenter_responder, good_spec, schema_name
from toolfactory.testing.fake_llm import FakeReply

ENTRY = CatalogEntry("1" * 16, "Moon", "Moon phases for any date", "Science", "https://moon.example", "none", True, None, "t", "1")


def result(text=None, parsed=None, parse_error=None, error=None):
    return LLMResult(role="documenter", text=text or "", model="m", parsed=parsed, parse_error=parse_error, error=error)


def test_outline_parser():
    assert parse_outline(result(parsed=GOOD_OUTLINE)) == (GOOD_OUTLINE, None)
    assert parse_outline(result(parse_error="empty reply"))[1].code == "outline_unparsable"
    assert parse_outline(result(parsed=[1]))[1].code == "outline_wrong_shape"
    bad = copy.deepcopy(GOOD_OUTLINE)
    bad["functions"] = bad["functions"][:1]
    assert "functions" in parse_outline(result(parsed=bad))[1].detail
    assert parse_outline(result(error="RateLimitError"))[1] == Reason("llm_error", "RateLimitError")


def test_spec_and_operation_parsers():
    spec = good_spec()
    assert parse_spec(result(parsed=spec)) == (spec, None)
    assert parse_spec(result(parsed={"spec": spec})) == (spec, None)
    assert parse_spec(result(parsed={"hello": 1}))[1].code == "spec_wrong_shape"
    assert parse_spec(result(parse_error="not valid JSON: x"))[1].code == "spec_unparsable"
    op = GOOD_OPERATIONS["searchPlaces"]
    assert parse_operation(result(parsed=op)) == (op, None)
    assert parse_operation(result(parsed={"operation": op})) == (op, None)
    assert parse_operation(result(parsed={"method": "delete"}))[1].code == "operation_wrong_shape"


def fake_client():
    return LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=1)


@pytest.mark.parametrize("mode", ["openapi", "operations"])
def test_documents_an_api_in_both_modes(fake_llm, mode):
    fake_llm.respond("documenter", documenter_responder())
    out = document_api(ENTRY, fake_client(), DocumenterConfig(spec_mode=mode))
    doc = out.doc
    assert doc.status == "valid", doc.lint_errors
    assert doc.repair_rounds == 0 and out.rejections == []
    assert doc.introduction == GOOD_OUTLINE["introduction"]
    assert [f["name"] for f in doc.function_list] == ["searchPlaces", "getMoonPhase"]
    assert len(out.functions) == 2 and doc.nl_documentation.count("Parameters:") == 2
    assert doc.model == "toolfactory-fake/documenter" and doc.prompt_version == default_prompts().version
    names = [schema_name(c) for c in fake_llm.calls]
    assert names == (["doc_outline", "openapi_spec"] if mode == "openapi" else ["doc_outline", "operation", "operation"])


def test_openapi_mode_repairs_until_valid(fake_llm):
    broken = good_spec()
    broken["paths"]["/books/{bookId}"]["get"]["parameters"] = []
    fake_llm.queue("documenter", GOOD_OUTLINE, broken, broken, good_spec())
    out = document_api(ENTRY, fake_client(), DocumenterConfig(spec_mode="openapi", repair_rounds=3))
    assert out.doc.status == "valid" and out.doc.repair_rounds == 2
    repair_prompt = fake_llm.calls[2].last_user
    assert "bookId" in repair_prompt and "Problems:" in repair_prompt
    assert fake_llm.calls[2].params["seed"] != fake_llm.calls[3].params["seed"]  # each round samples anew


def test_openapi_mode_gives_up_with_reasons(fake_llm):
    broken = good_spec()
    broken["paths"]["/books"]["get"]["responses"] = {}
    fake_llm.queue("documenter", GOOD_OUTLINE, broken, "not json at all", broken)
    out = document_api(ENTRY, fake_client(), DocumenterConfig(spec_mode="openapi", repair_rounds=2))
    assert out.doc.status == "invalid" and out.doc.repair_rounds == 2 and out.functions == []
    assert out.doc.spec == broken
    assert {e["code"] for e in out.doc.lint_errors} >= {"no_success_response"}
    assert out.rejections[0].reason == "spec_invalid" and out.rejections[0].stage == "documentation"


def test_operations_mode_repairs_only_the_function_with_problems(fake_llm):
    no_id = copy.deepcopy(GOOD_OPERATIONS["searchPlaces"])
    no_id["response"]["properties"] = [{"name": "count", "type": "integer"}]
    fake_llm.queue("documenter", GOOD_OUTLINE, no_id, GOOD_OPERATIONS["getMoonPhase"])
    fake_llm.respond("documenter", documenter_responder())
    out = document_api(ENTRY, fake_client(), DocumenterConfig(spec_mode="operations", repair_rounds=3))
    assert out.doc.status == "valid" and out.doc.repair_rounds == 1
    repairs = [c for c in fake_llm.calls[3:]]
    assert any("placeId" in c.last_user for c in repairs)


def test_unparsable_operation_is_retried_then_left_out(fake_llm):
    fake_llm.queue("documenter", GOOD_OUTLINE, GOOD_OPERATIONS["searchPlaces"], "garbage", "still garbage")
    out = document_api(ENTRY, fake_client(), DocumenterConfig(spec_mode="operations", repair_rounds=1))
    # getMoonPhase never parsed: the spec has searchPlaces only, and it is valid on its own
    assert out.doc.status == "valid" and [f.name for f in out.functions] == ["searchPlaces"]
    assert len(out.doc.function_list) == 2


@pytest.mark.parametrize("reply, reason", [
    ("", "outline_unparsable"),
    ("I cannot help with that.", "outline_unparsable"),
    ({"introduction": "short"}, "outline_wrong_shape"),
    (FakeReply('{"introduction": "an endless intro', "length"), "outline_unparsable"),
])
def test_bad_outlines_become_reasons(fake_llm, reply, reason):
    fake_llm.queue("documenter", reply, FakeReply("and more", "length"))
    out = document_api(ENTRY, fake_client(), DocumenterConfig(spec_mode="operations"))
    assert out.doc.status == "invalid" and out.doc.spec is None
    assert out.rejections[0].reason == reason


def test_backend_failure_is_a_reason_not_a_crash(fake_llm):
    from toolfactory.testing.fake_llm import FakeError

    fake_llm.respond("documenter", lambda req: FakeError(500, "backend down"))
    out = document_api(ENTRY, fake_client(), DocumenterConfig())
    assert out.doc.status == "invalid" and out.rejections[0].reason == "llm_error"
    assert "backend down" in out.rejections[0].detail


def test_doc_id_depends_on_what_determines_the_work():
    p = default_prompts()
    base = doc_id_for(ENTRY, "m1", DocumenterConfig(), p)
    assert base == doc_id_for(ENTRY, "m1", DocumenterConfig(), p)
    assert base != doc_id_for(ENTRY, "m2", DocumenterConfig(), p)
    assert base != doc_id_for(ENTRY, "m1", DocumenterConfig(repair_rounds=1), p)
    assert base != doc_id_for(ENTRY, "m1", DocumenterConfig(spec_mode="operations"), p)
    other = CatalogEntry(**{**ENTRY.to_dict(), "description": "changed"})
    assert base != doc_id_for(other, "m1", DocumenterConfig(), p)
