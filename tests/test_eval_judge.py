"""The evaluation judge's replies: well-formed, in the paper's text layout, and malformed."""

from __future__ import annotations

import asyncio
import json

from tasks.evaluation.eval_judge import judge_solution, read_judgement
from tasks.llm.types import LLMResult
from tests.support.dialogues import step


def reply(text="", parsed=None, error=None):
    return LLMResult(role="judge", text=text, model="m", parsed=parsed, error=error)


def test_well_formed_replies():
    v = read_judgement(reply(parsed={"process_correctness": "yes", "response_correctness": "no", "reason": "wrong date"}))
    assert (v.status, v.process, v.response, v.reason, v.overall) == ("ok", "yes", "no", "wrong date", False)
    fenced = '```json\n{"process_correctness": "Yes", "response_correctness": "YES", "reason": "fine"}\n```'
    v = read_judgement(reply(fenced))
    assert v.status == "ok" and v.overall
    v = read_judgement(reply(json.dumps({"process_correctness": "uncertain", "response_correctness": "yes", "reason": ""})))
    assert v.process == "uncertain" and not v.overall


def test_the_papers_text_layout():
    text = "Process Correctness: Yes\nFinal Response Correctness: **No**\nThe answer misses the second holiday."
    v = read_judgement(reply(text))
    assert (v.status, v.process, v.response) == ("ok", "yes", "no")


def test_malformed_replies_are_unparsable_never_raised():
    for text, parsed in [("", None), ("looks good to me", None), ('{"process_correctness": "yes"}', None),
                         ('{"process_correctness": "maybe", "response_correctness": "yes", "reason": "x"}', None),
                         ("Process Correctness: Yes", None), ("{not json", None),
                         ("", {"process_correctness": True, "response_correctness": True, "reason": "x"}), ("", ["yes", "no"])]:
        v = read_judgement(reply(text, parsed))
        assert v.status == "unparsable" and v.process is None and not v.overall, (text, parsed)
    failed = read_judgement(reply(error="RateLimitError: 429"))
    assert failed.status == "error" and "429" in failed.reason


class Recorder:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    async def acomplete(self, role, messages, **kw):
        self.calls.append((role, messages, kw))
        return self.answer


def test_the_judge_sees_docs_golden_calls_and_the_solution_and_a_run_without_calls_fails_unasked():
    llm = Recorder(reply(parsed={"process_correctness": "yes", "response_correctness": "yes", "reason": "ok"}))
    steps = [step(0, "searchBooks", {"author": "Le Guin"}, obs='Status Code: 200. Response: {"books": ["Earthsea"]}', thought="search")]
    golden = [{"action": "searchBooks", "action_input": {"author": "Le Guin"}}]
    v = asyncio.run(judge_solution(llm, documentation="searchBooks: find books", instruction="Books by Le Guin?", golden=golden,
                                   steps=steps, final_answer="Earthsea.", subject_id="s"))
    assert v.overall and len(llm.calls) == 1
    role, messages, kw = llm.calls[0]
    text = messages[1]["content"]
    assert role == "judge" and kw["temperature"] == 0.0 and kw["json_schema"]["$id"] == "toolfactory/eval_judge_verdict"
    assert "searchBooks: find books" in text and '1. searchBooks({"author": "Le Guin"})' in text and "Earthsea" in text
    silent = asyncio.run(judge_solution(llm, documentation="d", instruction="i", golden=golden,
                                        steps=[step(0, "ask_user", {})], final_answer="?", subject_id="s"))
    assert (silent.status, silent.process, silent.overall) == ("no_call", "no", False) and len(llm.calls) == 1
