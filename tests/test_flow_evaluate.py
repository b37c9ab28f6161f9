"""Flow ``evaluate`` end to end on a small set in the paper's layout, with the scripted fake: the model
under test, the simulated executor and the judge; exact match, judge scores, pass^k, the report."""

from __future__ import annotations

import json

import pytest

from flows.evaluate import run_evaluate
from flows.toolalpaca_import import import_toolalpaca
from tests.support.evaluation import SET, judge
from warehouse import Warehouse


def model_under_test(req):
    """I1 (2024-06-01): right, except with seed ≥ 1000 (trial 1) where it asks the wrong date.
    I2 (two golden calls): makes only the first."""
    turns = sum(1 for m in req.messages if m["role"] == "assistant")
    question = req.messages[1]["content"]
    if turns == 0:
        date = "2024-06-01" if "2024-06-01" in question else "2024-06-15"
        if date == "2024-06-01" and (req.params.get("seed") or 0) >= 1000:
            date = "2024-06-02"
        return f'Thought: look it up\nAction: getPhase\nAction Input: {{"date": "{date}"}}'
    return "Thought: done\nFinal Answer: It is waxing."




@pytest.fixture
def settings(workdir, fixtures, prefect_harness, fake_llm):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nassistant_step_mode: react\nllm_num_retries: 0\ndialogue_step_limit: 4\n"
        "eval_report_dir: reports\n")
    s = load_settings()
    got = import_toolalpaca(s, fixtures / "toolalpaca_eval.json")
    assert got["landed"]["golden_answer"] == 2  # the third instruction has no golden answer: refused at import
    fake_llm.respond("assistant", model_under_test)
    fake_llm.respond("executor", lambda req: {"phase": "waxing crescent"})
    fake_llm.respond("judge", judge)
    return s


def test_a_whole_evaluation_scores_exact_match_and_judge_and_reruns_nothing(settings, fake_llm, workdir):
    out = run_evaluate(settings, SET)
    assert (out["instructions"], out["trials"], out["ran_now"]) == (2, 1, 2)
    # I1 right; I2 made one of its two calls: exact 1/2, judge process 1/2, response 2/2
    assert (out["exact_match"], out["process"], out["response"], out["overall"]) == (50.0, 50.0, 100.0, 50.0)
    assert (out["call_precision"], out["call_recall"]) == (100.0, 66.7)
    assert out["process_rule"] == 50.0  # the rule-based process score: I2's second call is missing
    with Warehouse.open(settings.warehouse_path) as wh:
        rule = wh.frame("SELECT process_rule, process_rule_reasons FROM eval_results ORDER BY n_golden").to_dicts()
        assert [r["process_rule"] for r in rule] == [True, False] and "missing getPhase" in rule[1]["process_rule_reasons"]
        rows = wh.frame("SELECT instruction, em_correct, em_reasons, judge_status, overall_correct, n_golden, n_predicted, "
                        "json_array_length(steps) AS n_steps, stop_reason FROM eval_results ORDER BY n_golden").to_dicts()
        assert [(r["em_correct"], r["overall_correct"], r["n_golden"], r["n_predicted"]) for r in rows] == [(True, True, 1, 1),
                                                                                                           (False, False, 2, 1)]
        assert json.loads(rows[1]["em_reasons"]) == ["missing call 'getPhase'"]
        assert all(r["judge_status"] == "ok" and r["stop_reason"] == "final_answer" and r["n_steps"] == 2 for r in rows)
        assert wh.count("dialogue") == 0  # trajectories of the model under test never join the training corpus
        shown = wh.execute("SELECT DISTINCT t.nl_documentation, t.step_mode FROM eval_result r JOIN tool_context t USING (context_id)")
        assert len(shown) == 1 and "getPhase" in shown[0][0] and shown[0][1] == "react"  # what the model was shown, recorded
    judge_docs = {m["content"] for r in fake_llm.calls_for("judge") for m in r.messages}
    assert any(shown[0][0] in text for text in judge_docs)  # and the judge read that very documentation
    report = (workdir / "reports" / "eval-toolalpaca_toolalpaca_eval.json.md").read_text()
    assert "| `toolfactory-fake/assistant` | toolalpaca:toolalpaca_eval.json | react | 1 | 50 | 100 | 50 | 50 | 50 |" in report
    assert (workdir / "reports" / "eval-toolalpaca_toolalpaca_eval.json.svg").read_text().startswith("<svg")

    judged = len(fake_llm.calls_for("judge"))
    again = run_evaluate(settings, SET)
    assert again["run_id"] == out["run_id"] and again["ran_now"] == 0 and again["overall"] == 50.0
    assert len(fake_llm.calls_for("judge")) == judged


def test_trials_give_pass_k_and_the_spread(settings):
    out = run_evaluate(settings.with_overrides(eval_trials=2), SET)
    # trial 0: I1 right (overall 1/2); trial 1: I1 asks the wrong date (0/2)
    assert (out["overall"], out["pass_k"], out["overall_spread"]) == (25.0, 0.0, 25.0)
    assert (out["exact_match"], out["pass_k_exact"]) == (25.0, 0.0)


def test_another_model_by_litellm_name_and_exact_match_only(settings, fake_llm, capsys):
    from toolfactory.cli import main

    fake_llm.respond("candidate", lambda req: "Thought: I just know\nFinal Answer: Full moon.")
    out = run_evaluate(settings.with_overrides(eval_judge=False), SET, model="toolfactory-fake/candidate")
    assert out["model"] == "toolfactory-fake/candidate" and len(fake_llm.calls_for("candidate")) == 2
    assert out["exact_match"] == 0.0 and out["overall"] is None and out["call_recall"] == 0.0
    assert main(["evaluate", "--list"]) == 0 and SET in capsys.readouterr().out
    assert main(["evaluate", "--set", SET, "--no-judge"]) == 0
    assert main(["evaluate", "--set", SET, "--no-judge", "--per-api", "1"]) == 0
    assert "instructions               1" in capsys.readouterr().out
    with Warehouse.open(settings.warehouse_path) as wh:
        models = {r[0] for r in wh.execute("SELECT model FROM eval_scores")}
        assert models == {"toolfactory-fake/candidate", "toolfactory-fake/assistant"}
        assert wh.count("eval_results", "judge_status = 'off' AND overall_correct IS NULL") == 5


def test_a_spend_cap_leaves_unscored_trials_for_the_next_run(settings, fake_llm):
    fake_llm.cost_per_call = 0.01
    capped = run_evaluate(settings.with_overrides(max_cost_usd=0.02, max_concurrent_dialogues=1), SET)
    assert capped["stopped_by_spend_cap"] >= 1 and capped["ran_now"] + capped["stopped_by_spend_cap"] == 2
    rest = run_evaluate(settings, SET)
    assert rest["run_id"] == capped["run_id"] and rest["ran_now"] == capped["stopped_by_spend_cap"]
    assert (rest["exact_match"], rest["overall"]) == (50.0, 50.0)  # the same scores as a run without a cap
