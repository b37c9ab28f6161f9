"""Each funnel filter over kept and refused fixtures, with the reason it must give."""

from __future__ import annotations

import asyncio

import pytest

from tasks.curation.filters import dedup, execution_check, format_check, instance_text, length_check, normalise
from tasks.curation.semantic_judge import judge_dialogue, read_verdict, render_trajectory
from tasks.llm.types import LLMResult
from tests.support.dialogues import dialogue, step
from tests.support.dialogues import variant as with_changes

GOOD = dialogue("Find books by Ursula Le Guin.",
                [step(0, "searchBooks", {"author": "Ursula Le Guin"}, 200, obs='Status Code: 200. Response: {"books": ["Earthsea"]}'),
                 step(1)],
                "She wrote Earthsea.")


def variant(**changes):
    return with_changes(GOOD, **changes)


@pytest.mark.parametrize("dialogue, reason", [
    (GOOD, None),
    (variant(stop_reason="step_limit", final_answer=None), "no_final_answer"),
    (variant(final_answer="  "), "no_final_answer"),
    (variant(steps=[step(0, None, None, None, False, "no_action"), *GOOD.steps]), "unparsable_step"),
    (variant(steps=[step(0, "flyToMoon", None, None, False, "unknown_action"), *GOOD.steps]), "unknown_action"),
    (variant(steps=[step(0, "searchBooks", None, None, False, "input_not_json"), *GOOD.steps]), "arguments_not_json"),
    (variant(steps=[step(0, "searchBooks", "Le Guin", 200), step(1)]), "arguments_not_json"),
    (variant(steps=[step(0, "ask_user", {"question": "who?"}, obs="User: Le Guin"), step(1)]), "no_tool_call"),
    (variant(steps=[step(i, "searchBooks", {"author": "x"}, 200) for i in range(6)] + [step(6)]), "too_many_calls"),
])
def test_format_filter(dialogue, reason):
    v = format_check(dialogue, {"searchBooks"}, max_calls=5)
    assert v.stage == "format" and v.reason == reason


def test_format_filter_knows_the_functions_and_spares_unanswerable_requests():
    assert format_check(GOOD, {"listAuthors"}).reason == "unknown_action"
    declined = variant(instruction_kind="unanswerable", steps=[step(0)], final_answer="No function can book flights.")
    assert format_check(declined, {"searchBooks"}).kept
    assert format_check(variant(steps=[step(i, "searchBooks", {"a": 1}, 200) for i in range(3)] + [step(3)]), None, max_calls=2).reason == "too_many_calls"


@pytest.mark.parametrize("steps, reason", [
    (GOOD.steps, None),
    ([step(0, "searchBooks", {"year": "x"}, 400, False, "wrong_type"), step(1)], "call_invalid"),
    ([step(0, "searchBooks", {}, 400, False, "missing_required"), step(1, "searchBooks", {"author": "x"}, 200), step(2)], "call_invalid"),
    ([step(0, "searchBooks", {"author": "x"}, 500, False, "response_nonconforming"), step(1)], "response_nonconforming"),
    ([step(0, "searchBooks", {"author": "x"}, 500, False, "llm_error"), step(1)], "executor_failed"),
    ([step(0, "searchBooks", {"author": "x"}, 404, False, None), step(1)], "unrecovered_error"),
    ([step(0, "searchBooks", {"author": "x"}, 404, False, None), step(1, "searchBooks", {"author": "y"}, 200), step(2)], None),
    ([step(0, "searchBooks", {"author": "x"}, 200), step(1, "getBook", {"id": 1}, 503, False, None), step(2)], "unrecovered_error"),
])
def test_execution_filter(steps, reason):
    v = execution_check(variant(steps=steps))
    assert v.stage == "execution" and v.reason == reason


@pytest.mark.parametrize("calls, reason", [
    ([("searchBooks", 200), ("getBook", 200)], None),
    ([("searchBooks", 200), ("listAuthors", 200), ("getBook", 200)], None),  # other calls between are fine
    ([("getBook", 200), ("searchBooks", 200)], "chain_not_followed"),  # out of order
    ([("searchBooks", 200)], "chain_not_followed"),  # stopped half-way
    ([("searchBooks", 200), ("getBook", 404), ("searchBooks", 200)], "chain_not_followed"),  # the link's call failed
])
def test_a_chain_instruction_must_call_its_chain_in_order(calls, reason):
    steps = [step(i, a, {"q": i}, status) for i, (a, status) in enumerate(calls)] + [step(len(calls))]
    v = execution_check(variant(instruction_kind="chain", steps=steps), ["searchBooks", "getBook"])
    assert v.reason == reason
    assert execution_check(variant(steps=steps)).reason in (None, "unrecovered_error")  # no chain: not checked


def test_dedup_exact_near_and_template_text():
    items = [("1", "Find books by Ursula Le Guin."), ("2", "find BOOKS by ursula le guin"),
             ("3", "Find books written by Ursula Le Guin please"), ("4", "What is the weather in Oslo tomorrow?")]
    out = dedup(items, threshold=0.5)
    assert [out[i].reason for i in "1234"] == [None, "exact_duplicate", "near_duplicate", None]
    assert "like 1" in out["3"].detail and normalise(items[1][1]) == normalise(items[0][1])
    # one long shared template, different asks: not duplicates once the template text is left out
    template = "I am planning a family trip next month and I would like you to help me with this: "
    asks = ["find a hotel in Rome", "book a table in Paris", "check trains to Vienna", "rent a car in Lisbon", "find a museum in Madrid"]
    templated = [(str(i), template + a) for i, a in enumerate(asks)]
    assert all(v.kept for v in dedup(templated, threshold=0.6).values())
    assert not all(v.kept for v in dedup(templated, threshold=0.6, template_share=1.1).values())  # without the template rule they collide


def test_length_filter_and_instance_text():
    text = instance_text(GOOD, "searchBooks: find books")
    assert text.startswith("searchBooks: find books") and "USER: Find books" in text and "Observation: Status Code: 200" in text
    assert length_check(10, 10).kept and length_check(11, 10).reason == "over_token_budget"
    assert "11 tokens > 10" == length_check(11, 10).detail


class ScriptedJudge:
    def __init__(self, reply):
        self.reply, self.calls = reply, []

    async def acomplete(self, role, messages, **kw):
        self.calls.append((role, messages, kw))
        if isinstance(self.reply, LLMResult):
            return self.reply
        return LLMResult(role=role, text=self.reply, model="fake", parsed=None)


@pytest.mark.parametrize("reply, reason", [
    ('{"fulfils_request": true, "arguments_grounded": true, "reason": "ok"}', None),
    ('{"fulfils_request": false, "arguments_grounded": true, "reason": "answer ignores the results"}', "judge_unfulfilled"),
    ('{"fulfils_request": true, "arguments_grounded": false, "reason": "made-up id"}', "judge_invented_arguments"),
    ('```json\n{"fulfils_request": true, "arguments_grounded": true, "reason": "fenced"}\n```', None),
    ("yes it is fine", "judge_unparsable"),
    ('{"fulfils_request": "yes", "arguments_grounded": true, "reason": "x"}', "judge_unparsable"),
    ('{"fulfils_request": true}', "judge_unparsable"),
    (LLMResult(role="judge", text="", model="fake", error="timeout"), "llm_error"),
])
def test_semantic_judge_verdicts(reply, reason):
    judge = ScriptedJudge(reply)
    v = asyncio.run(judge_dialogue(judge, GOOD, "searchBooks: find books by author"))
    assert v.stage == "semantic" and v.reason == reason
    role, messages, kw = judge.calls[0]
    assert role == "judge" and kw["temperature"] == 0.0 and kw["json_schema"]["required"]
    user = messages[-1]["content"]
    assert "Find books by Ursula Le Guin." in user and 'Action Input: {"author": "Ursula Le Guin"}' in user and "Earthsea" in user


def test_judge_reads_schema_parsed_replies_and_renders_no_calls():
    r = LLMResult(role="judge", text="", model="m", parsed={"fulfils_request": True, "arguments_grounded": True, "reason": "r"})
    assert read_verdict(r).kept
    assert render_trajectory([step(0)]) == "(no function was called)"


def test_a_verdict_takes_only_known_stages_and_codes():
    from schemas.reasons import CurationCode
    from tasks.curation.filters import Verdict

    assert Verdict("format", "no_tool_call").reason is CurationCode.NO_TOOL_CALL and Verdict("dedup").kept
    with pytest.raises(ValueError, match="no_such_code"):
        Verdict("format", "no_such_code")
    with pytest.raises(ValueError, match="unknown funnel stage"):
        Verdict("nowhere")  # type: ignore[arg-type]
