"""Saved predictions (issue #17): both layouts read, matched to a set, scored without running a model."""

from __future__ import annotations

import json

import pytest

from flows.evaluate_predictions import run_evaluate_predictions
from schemas.views import DocumentedApi, EvalItem
from tasks.evaluation.predictions import match_predictions, read_predictions
from warehouse import Warehouse

SET = "toolalpaca:toolalpaca_eval.json"


def chat(instruction, calls, final="It is waxing.", **extra):
    """An OpenAI chat example: ``calls`` is a list of turns, each a list of (name, arguments, result)."""
    messages = [{"role": "system", "content": "You use tools."}, {"role": "user", "content": instruction}]
    n = 0
    for turn in calls:
        ids = [f"call_{n + k}" for k in range(len(turn))]
        n += len(turn)
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": i, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args, _) in zip(ids, turn, strict=True)]})
        # results answer in reverse order: matched by tool_call_id, not position
        messages += [{"role": "tool", "tool_call_id": i, "content": json.dumps(result)}
                     for i, (_, _, result) in reversed(list(zip(ids, turn, strict=True)))]
    messages.append({"role": "assistant", "content": final})
    return json.dumps({"messages": messages, **extra})


def test_chat_examples_read_with_parallel_calls_and_their_results():
    text = "\n".join([chat("Phases on 2024-06-15 and 2024-06-30?", [[("getPhase", {"date": "2024-06-15"}, {"phase": "full"}),
                                                                   ("getPhase", {"date": "2024-06-30"}, {"phase": "new"})]]),
                      "not json", json.dumps({"messages": [{"role": "assistant", "content": "hi"}]}), ""])
    got, problems = read_predictions(text)
    assert len(got) == 1 and got[0].instruction == "Phases on 2024-06-15 and 2024-06-30?" and got[0].final_answer == "It is waxing."
    assert [(s.action_input["date"], json.loads(s.observation)["phase"]) for s in got[0].steps] == [("2024-06-15", "full"),
                                                                                                        ("2024-06-30", "new")]
    assert problems == ["line 2: not JSON (Expecting value)", "line 3: no user message"]


def test_the_judged_outputs_layout_reads_as_predictions(fixtures):
    got, problems = read_predictions((fixtures / "judged_outputs_sample.json").read_text())
    assert got and all(p.api and p.instruction for p in got)
    assert any(p.steps and p.steps[0].observation for p in got) and any(p.final_answer for p in got)
    assert all(": " in problem for problem in problems)  # each unreadable record named


def test_matching_by_id_then_by_text_and_api():
    def item(golden_id, instruction_id, text, api):
        return EvalItem(golden_id, instruction_id, text, "a" * 16, [], DocumentedApi("a" * 16, "d" * 16, api, "Science", None, ""))

    items = [item("g1", "i1", "Which  phase on 2024-06-01?", "Moon"), item("g2", "i2", "Which phase on 2024-06-01?", "Sun")]
    preds, _ = read_predictions("\n".join([chat("which phase on 2024-06-01?", [], api="Sun"), chat("anything", [], id="i1"),
                                           chat("Which phase on 2024-06-01?", [], api="Sun"), chat("Unknown?", [])]))
    matched, unmatched = match_predictions(items, preds)
    assert matched["g2"].source == "line 1" and matched["g1"].source == "line 2"
    assert [u.split(":")[0] for u in unmatched] == ["line 3", "line 4"]


@pytest.fixture
def settings(eval_set_settings):
    return eval_set_settings("eval_judge: false\n")


def test_saved_predictions_score_without_running_a_model(settings, fake_llm, workdir):
    path = workdir / "preds.jsonl"
    path.write_text("\n".join([
        chat("Which phase on 2024-06-01?", [[("getPhase", {"date": "June 1, 2024"}, {"phase": "waxing"})]]),
        chat("And on 2024-06-15 and 2024-06-30?", [[("getPhase", {"date": "2024-06-30"}, {"phase": "new"}),
                                                    ("getPhase", {"date": "2024-06-15"}, {"phase": "full"})]]),
        chat("Not in the set", [])]))
    out = run_evaluate_predictions(settings, SET, str(path), "my-model")
    assert (out["instructions"], out["matched"], out["unmatched"], out["without_prediction"]) == (2, 2, 1, 0)
    # exact match: the date's form (I1) and the order of the parallel calls (I2) both fail it; the rules accept
    # the same date in another form and independent calls in either order
    assert (out["exact_match"], out["process_rule"], out["overall"]) == (0.0, 100.0, None)
    assert not fake_llm.calls_for("assistant") and not fake_llm.calls_for("judge")
    with Warehouse.open(settings.warehouse_path) as wh:
        rows = wh.frame("SELECT model, step_mode, process_rule, n_predicted FROM eval_results ORDER BY n_golden").to_dicts()
        assert wh.count("eval_result r JOIN tool_context t USING (context_id)", "t.step_mode = 'predictions'") == 2
    assert [(r["model"], r["step_mode"], r["process_rule"], r["n_predicted"]) for r in rows] == [
        ("my-model", "predictions", True, 1), ("my-model", "predictions", True, 2)]
    assert "my-model" in (workdir / "reports" / "eval-toolalpaca_toolalpaca_eval.json.md").read_text()
    assert run_evaluate_predictions(settings, SET, str(path), "my-model")["run_id"] == out["run_id"]


def test_an_instruction_without_a_prediction_counts_as_wrong_and_the_judge_runs_when_asked(settings, fake_llm, workdir):
    fake_llm.respond("judge", lambda req: {"process_correctness": "yes", "response_correctness": "yes", "reason": "fine"})
    path = workdir / "one.jsonl"
    path.write_text(chat("Which phase on 2024-06-01?", [[("getPhase", {"date": "2024-06-01"}, {"phase": "waxing"})]]))
    out = run_evaluate_predictions(settings.with_overrides(eval_judge=True), SET, str(path))
    assert (out["matched"], out["without_prediction"], out["model"]) == (1, 1, "predictions:one.jsonl")
    assert (out["exact_match"], out["process_rule"], out["overall"]) == (50.0, 50.0, 50.0)
    assert len(fake_llm.calls_for("judge")) == 1  # the missing one is not sent to the judge
    off = run_evaluate_predictions(settings, SET, str(path))
    assert (off["exact_match"], off["process_rule"], off["process"], off["overall"]) == (50.0, 50.0, None, None)
