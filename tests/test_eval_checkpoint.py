"""A checkpoint written by the SFT job, evaluated in-process through transformers (provider
``toolfactory-hf``), and the paper-layout rendering it is prompted with."""

from __future__ import annotations

import pytest

from tasks.llm.checkpoint_engine import paper_prompt, react_reply
from tasks.prompts import load_prompt
from tasks.simulation.assistant import AssistantConfig, parallel_rule
from tests.support.evaluation import SET, judge

CONVERSATION = load_prompt("assistant").render(functions='getPhase: The moon phase on a date.\nParameters: {"date": "Required."}',
                                               instruction="Which phase on 2024-06-01?", parallel=parallel_rule(AssistantConfig())) + [
    {"role": "assistant", "content": 'Thought: look it up\nAction: getPhase\nAction Input: {"date": "2024-06-01"}'},
    {"role": "user", "content": 'Observation: Status Code: 200. Response: {"phase": "waxing"}'}]


def test_a_react_conversation_in_the_papers_layout_and_the_reply_back():
    text = paper_prompt(CONVERSATION)
    assert text.startswith("A chat between a curious user") and "Functions:\ngetPhase: The moon phase on a date." in text
    assert "ask_user" not in text.split("Format:")[0]  # the functions section holds the API's functions only
    assert text.endswith('USER: Which phase on 2024-06-01?\nASSISTANT Thought: look it up\nASSISTANT Action: getPhase\n'
                         'ASSISTANT Action Input: {"date": "2024-06-01"}\nASSISTANT Observation: Status Code: 200. Response: '
                         '{"phase": "waxing"}\nASSISTANT Thought:')
    assert react_reply(" I know it.\nASSISTANT Response: Waxing.") == "Thought: I know it.\nFinal Answer: Waxing."
    assert react_reply(' next\nASSISTANT Action: getPhase\nASSISTANT Action Input: {"date": "x"}\nASSISTANT Observation: made up') == (
        'Thought: next\nAction: getPhase\nAction Input: {"date": "x"}')


@pytest.fixture
def settings(eval_set_settings, fake_llm):
    s = eval_set_settings("dialogue_step_limit: 2\nassistant_max_tokens: 24\n")
    fake_llm.respond("executor", lambda req: {"phase": "waxing crescent"})
    fake_llm.respond("judge", judge)
    return s


def test_a_trained_checkpoint_is_evaluated_in_process(settings, tmp_path, base_model, data):  # noqa: F811
    from flows.evaluate import run_evaluate
    from training.sft import load_config, run
    from warehouse import Warehouse

    out = tmp_path / "ckpt"
    run(load_config(None, {"data_path": str(data[1]), "format": "paper", "base_model": str(base_model), "output_dir": str(out),
                           "lora": False, "max_steps": 2, "eval_fraction": 0.0, "max_length": 512, "save_steps": 100}))
    result = run_evaluate(settings, SET, model=str(out))
    assert result["model"] == f"toolfactory-hf/{out.resolve()}" and result["step_mode"] == "react"
    assert result["instructions"] == 2 and result["ran_now"] == 2  # a random tiny model: the path runs, the scores are low
    with Warehouse.open(settings.warehouse_path) as wh:
        rows = wh.frame("SELECT stop_reason, json_array_length(steps) AS n, judge_status FROM eval_results").to_dicts()
        assert len(rows) == 2 and all(r["n"] >= 1 and r["stop_reason"] in ("final_answer", "step_limit", "gave_up") for r in rows)
        calls = wh.frame("SELECT model, completion_tokens FROM llm_calls WHERE role = 'assistant'").to_dicts()
        assert calls and all(c["model"].startswith("toolfactory-hf/") and 0 < c["completion_tokens"] <= 24 for c in calls)
