from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.simulation.instructions import generate_instructions, plan_kinds, similarity
from tests.support.scripts import schema_name


def test_plan_kinds():
    assert plan_kinds(10) == {"normal": 8, "missing_detail": 1, "unanswerable": 1}
    assert plan_kinds(10, 0.0, 0.0) == {"normal": 10}
    assert plan_kinds(3, 0.5, 0.5) == {"missing_detail": 2, "unanswerable": 1}  # never more than n
    assert plan_kinds(0) == {}
    # keyed by a doc: a share below one instruction an API is drawn per doc, the same every time
    plans = [plan_kinds(2, 0.1, 0.1, 0.1, 0.1, key=f"{i:016x}") for i in range(400)]
    assert plans == [plan_kinds(2, 0.1, 0.1, 0.1, 0.1, key=f"{i:016x}") for i in range(400)]
    assert all(sum(p.values()) == 2 for p in plans)
    for kind in ("missing_detail", "unanswerable", "multi_api", "chain"):
        assert 0.07 < sum(p.get(kind, 0) for p in plans) / 800 < 0.13  # each share (0.1) holds across the APIs
    assert plan_kinds(10, 0.1, 0.1, 0.1, 0.1, key="x") == {"normal": 6, "missing_detail": 1, "unanswerable": 1, "multi_api": 1,
                                                           "chain": 1}  # whole counts are not drawn
    import pytest

    with pytest.raises(ValueError):
        plan_kinds(10, 0.7, 0.5)


def test_similarity_is_robust_to_case_and_punctuation():
    assert similarity("Find a flight from Paris to Rome on May 3.", "find a flight from paris to rome on may 3") == 1.0
    assert similarity("Find a flight from Paris to Rome.", "What's the weather in Oslo tomorrow?") == 0.0


def test_generation_filters_with_reasons(fake_llm):
    normal = {"instructions": [
        "Find the cheapest flight from Paris to Rome on 3 May for two adults.",
        "find the cheapest flight from Paris to Rome on 3 May for two adults!",   # near duplicate
        "Book a table at <restaurant name> for tonight.",                        # placeholder
        "Use SkyFinder to list flights to Oslo.",                                 # names the API
        "ok",                                                                     # too short
        "Which airlines fly nonstop from Lisbon to Boston next Friday, and what do they cost?",
    ]}
    fake_llm.queue("user", normal, {"instructions": ["I need a flight for next week, can you find one?"]},
                   "not json")
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    batch = generate_instructions(client, api_id="a" * 16, doc_id="d" * 16, api_name="SkyFinder",
                                  functions_doc="searchFlights: …", n=10, model="fake")
    kinds = [(i.kind, i.text[:20]) for i in batch.instructions]
    assert kinds == [("normal", "Find the cheapest fl"), ("normal", "Which airlines fly n"), ("missing_detail", "I need a flight for ")]
    assert sorted(r.reason for r in batch.rejections) == ["instructions_unparsable", "names_the_api", "near_duplicate", "placeholder",
                                                          "too_few", "too_short"]
    assert [r.detail for r in batch.rejections if r.reason == "too_few"] == ["normal: 6 of 8 not written (the reply held 6 texts)"]
    reqs = fake_llm.calls_for("user")
    assert [schema_name(r) for r in reqs] == ["instructions"] * 3
    assert "Write 8 different requests" in reqs[0].last_user and "leave out one detail" in reqs[1].last_user
    assert "none of these functions can do" in reqs[2].last_user
    ids = {i.instruction_id for i in batch.instructions}
    assert len(ids) == 3


def test_replies_are_tidied_and_a_descriptive_api_name_is_not_a_mention():
    from tasks.simulation.instructions import _problem, reply_schema, tidy

    assert tidy("1. Search books by title or ISBN using the Open Library API .", ["Open Library"]) == "Search books by title or ISBN."
    assert tidy("- List  the holidays\nof 2024 in France", ["Public Holidays"]) == "List the holidays of 2024 in France"
    assert _problem("Which public holidays does Spain have in 2025?", ["Public Holidays"], []) is None  # what it is about
    assert _problem("Ask Public Holidays which days Spain has off.", ["Public Holidays"], []) == "names_the_api"
    assert _problem("Can skyfinder get me to Oslo on Friday?", ["SkyFinder"], []) == "names_the_api"  # a one-word name, any case
    from jsonschema import Draft202012Validator

    reply = Draft202012Validator(reply_schema(2))
    assert reply.is_valid({"instructions": ["Find the weather in Oslo.", "Which holidays does Spain have?"]})
    assert not reply.is_valid({"instructions": ["Find the weather in Oslo."]})  # exactly the count asked for
    assert not reply.is_valid({"instructions": ["title", "Find the weather in Oslo."]})  # four words at least
    assert not reply.is_valid({"instructions": ["Find " + "x" * 300 + " in Oslo now", "Find the weather in Oslo."]})  # no endless word
    assert not reply.is_valid({"instructions": ['Find "Dune" by Frank Herbert', "Find the weather in Oslo."]})  # no quote a grammar could end the string on
