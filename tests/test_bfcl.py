"""BFCL v4 (issue #17): its layout read, its AST semantics both ways, and the flow on a scripted model
in tools mode (parallel calls as several tool calls in one reply). Fixtures written in BFCL's layout."""

from __future__ import annotations

import pytest

from flows.evaluate_bfcl import read_category, run_evaluate_bfcl
from tasks.evaluation.bfcl import category_name, score_entry, tools_of
from toolfactory.testing.fake_llm import FakeReply
from warehouse import Warehouse


@pytest.fixture
def bfcl(fixtures):
    return fixtures / "bfcl"


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def test_the_layout_reads_and_functions_become_tools(bfcl):
    simple = read_category(bfcl, category_name("simple"))
    assert [e.entry_id for e in simple] == ["simple_python_0", "simple_python_1"] and simple[0].answers
    assert read_category(bfcl, "irrelevance")[0].answers == []
    tool = tools_of(simple[1])[0]["function"]
    assert tool["name"] == "weather_forecast" and tool["parameters"]["type"] == "object"
    assert tool["parameters"]["properties"]["options"]["type"] == "object"
    assert tools_of(simple[0])[0]["function"]["name"] == "geometry_triangle_area"  # OpenAI refuses dots
    assert tools_of(simple[0])[0]["function"]["parameters"]["properties"]["height"]["type"] == "number"
    with pytest.raises(ValueError, match="no BFCL category"):
        category_name("exec_simple")


def test_ast_semantics_accept_what_bfcl_accepts(bfcl):
    area, forecast = read_category(bfcl, "simple_python")
    assert score_entry(area, [call("geometry.triangle_area", base=10, height=5)]) == []  # an int is a float; unit may be left out
    assert score_entry(area, [call("geometry.triangle_area", base=10, height=5.0, unit="Units")]) == []  # case-free
    assert score_entry(forecast, [call("weather_forecast", city="new york, ny", days=3, options={"units": "Metric"}, hours=[9, 18])]) == []


def test_ast_semantics_refuse_what_bfcl_refuses(bfcl):
    area, forecast = read_category(bfcl, "simple_python")
    assert "calculate" in score_entry(area, [call("calculate", base=10, height=5)])[0]
    assert "required height" in score_entry(area, [call("geometry.triangle_area", base=10)])[0]
    assert "expected integer" in score_entry(area, [call("geometry.triangle_area", base="10", height=5)])[0]
    assert "not among" in score_entry(area, [call("geometry.triangle_area", base=11, height=5)])[0]
    assert "unexpected parameter" in score_entry(area, [call("geometry.triangle_area", base=10, height=5, colour="red")])[0]
    assert score_entry(area, [call("geometry.triangle_area", base=10, height=5)] * 2) == ["2 calls, expected 1"]
    assert score_entry(forecast, [call("weather_forecast", city="Boston", days=3, options={"units": "metric"}, hours=[9, 18])])
    assert score_entry(forecast, [call("weather_forecast", city="NYC", days=3, hours=[9, 18])])  # options may not be left out
    assert score_entry(forecast, [call("weather_forecast", city="NYC", days=3, options={"units": "metric"}, hours=[18, 9])])
    assert score_entry(forecast, [call("weather_forecast", city="NYC", days=3, options={"units": "metric", "x": 1}, hours=[9, 18])])


def test_parallel_calls_in_any_order_and_irrelevance_means_no_call(bfcl):
    (both,) = read_category(bfcl, "parallel")
    paris, rome = call("weather_forecast", city="Paris", days=2), call("weather_forecast", city="Rome", days=5)
    assert score_entry(both, [rome, paris]) == [] and score_entry(both, [paris, rome]) == []
    assert score_entry(both, [paris]) == ["1 calls, expected 2"] and score_entry(both, [paris, paris])
    (hamlet,) = read_category(bfcl, "irrelevance")
    assert score_entry(hamlet, []) == [] and score_entry(hamlet, [call("geometry.triangle_area", base=1, height=1)])


def scripted(req):
    """Right on the triangle and on the parallel entry (two tool calls in one reply, Rome first), wrong on
    New York (no options), and it calls a function for Hamlet."""
    q = req.last_user
    if "Paris" in q:
        return FakeReply(tool_calls=[{"id": "a", "name": "weather_forecast", "arguments": {"city": "Rome", "days": 5}},
                                     {"id": "b", "name": "weather_forecast", "arguments": '{"city": "Paris", "days": 2}'}])
    if "New York" in q:
        return FakeReply(tool_calls=[{"name": "weather_forecast", "arguments": {"city": "NYC", "days": 3, "hours": [9, 18]}}])
    return FakeReply(tool_calls=[{"name": "geometry_triangle_area", "arguments": {"base": 10, "height": 5}}])


def test_the_flow_runs_and_scores_each_category(workdir, bfcl, prefect_harness, fake_llm):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(f"backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\n"
                                              f"eval_report_dir: reports\nbfcl_data_dir: {bfcl}\n")
    s = load_settings()
    fake_llm.respond("assistant", scripted)
    out = run_evaluate_bfcl(s, "bfcl:simple,parallel,irrelevance")
    assert out["mode"] == "tools"
    assert {c: out[f"bfcl:{c}"]["ast_accuracy"] for c in ("simple_python", "parallel", "irrelevance")} == {
        "simple_python": 50.0, "parallel": 100.0, "irrelevance": 0.0}
    sent = fake_llm.calls_for("assistant")
    assert len(sent) == 4 and all(r.params.get("tools") for r in sent)
    report = (workdir / "reports" / "eval-bfcl.md").read_text()
    assert "| `toolfactory-fake/assistant` | 0 | 100 | 50 |" in report  # irrelevance, parallel, simple_python
    with Warehouse.open(s.warehouse_path) as wh:
        assert wh.count("eval_result") == 4
        reasons = wh.frame("SELECT em_reasons FROM eval_results WHERE set_source = 'bfcl:simple_python' AND NOT em_correct").item()
    assert "options left out" in reasons
    again = run_evaluate_bfcl(s, "bfcl:simple,parallel,irrelevance")
    assert again["bfcl:parallel"]["ran_now"] == 0 and len(fake_llm.calls_for("assistant")) == 4


def test_list_items_of_the_answers_own_type_stand_for_variables():
    """BFCL's checker takes items of the answer's own type as variables (``["apple", …]`` for an integer
    array whose answer holds those strings); other types stay refused."""
    from tasks.evaluation.bfcl import BfclEntry

    fn = {"name": "sort_list", "parameters": {"type": "dict", "required": ["elements"], "properties": {
        "elements": {"type": "array", "items": {"type": "integer"}}}}}
    entry = BfclEntry("e", "simple_python", [], [fn], [{"sort_list": {"elements": [["b", "a"], [2, 1]]}}])
    assert score_entry(entry, [call("sort_list", elements=["b", "a"])]) == []
    assert score_entry(entry, [call("sort_list", elements=[2, 1])]) == []
    assert "wrong type" in score_entry(entry, [call("sort_list", elements=[True, False])])[0]


def test_the_bfcl_report_sets_categories_beside_the_papers_columns():
    from flows.eval_report import bfcl_markdown

    bfcl_rows = [{"model": "m", "set_source": "bfcl:simple_python", "exact_match": 62.5},
                 {"model": "m", "set_source": "bfcl:parallel", "exact_match": 40.0},
                 {"model": "n", "set_source": "bfcl:parallel", "exact_match": 10.0}]
    paper = [{"model": "m", "set_source": "toolalpaca:eval_simulated.json", "process": 70.0, "response": 75.0, "overall": 65.0,
              "exact_match": 36.0, "process_rule": 60.0}]
    text = bfcl_markdown(bfcl_rows, paper)
    assert "| Model | parallel | simple_python | ToolAlpaca set | Process |" in text
    assert "| `m` | 40 | 62.5 | toolalpaca:eval_simulated.json | 70 | 75 | 65 | 36 | 60 |" in text
    assert "| `n` | 10 | – | – |" in text


def test_react_replies_read_every_action_pair_and_functions_render_as_the_factory_documents_them(bfcl):
    from tasks.evaluation.bfcl import nl_functions, react_calls

    text = ('Thought: two cities\nAction: weather_forecast\nAction Input: {"city": "Rome", "days": 5}\n'
            'Thought: and the other\nAction: weather_forecast\nAction Input: {"city": "Paris", "days": 2}\nObservation: none\n'
            "Action: ask_user\nAction Input: {\"question\": \"Units?\"}\nAction: broken\nAction Input: not json")
    assert react_calls(text) == [call("weather_forecast", city="Rome", days=5), call("weather_forecast", city="Paris", days=2),
                                 {"name": "broken", "arguments": "not json"}]
    assert react_calls("Thought: nothing fits\nFinal Answer: I cannot.") == []
    doc = nl_functions(read_category(bfcl, "simple_python")[0])
    assert doc.startswith("geometry.triangle_area: Area of a triangle.\nParameters: ")
    assert '"base": "Required. integer. Base."' in doc and '"unit": "string. Unit, default \'units\'."' in doc


def test_the_answer_mode_follows_the_model():
    from flows.runtime import step_mode

    assert step_mode("auto", True, "toolfactory-local/smollm2", otherwise="tools") == "json"
    assert step_mode("auto", False, "toolfactory-hf//runs/sft", otherwise="tools") == "react"
    assert step_mode("auto", False, "openai/gpt-4o", otherwise="tools") == "tools"
    assert step_mode("react", False, "openai/gpt-4o", otherwise="tools") == "react"
    assert step_mode("auto", False, "openai/gpt-4o") == "react"  # dialogues: ReAct unless told


def test_the_flow_in_react_mode(workdir, bfcl, prefect_harness, fake_llm):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(f"backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\n"
                                              f"assistant_step_mode: react\nbfcl_data_dir: {bfcl}\neval_report_dir: reports\n")
    fake_llm.respond("assistant", lambda req: 'Action: weather_forecast\nAction Input: {"city": "Paris", "days": 2}\n'
                                              'Action: weather_forecast\nAction Input: {"city": "Rome", "days": 5}'
                     if "Paris" in req.last_user else "Thought: no function fits\nFinal Answer: Shakespeare.")
    out = run_evaluate_bfcl(load_settings(), "bfcl:parallel,irrelevance")
    assert out["mode"] == "react" and out["bfcl:parallel"]["ast_accuracy"] == 100.0 and out["bfcl:irrelevance"]["ast_accuracy"] == 100.0
    sent = fake_llm.calls_for("assistant")
    assert not any(r.params.get("tools") for r in sent) and "You can use these functions:" in sent[0].messages[0]["content"]


def test_a_spend_cap_leaves_entries_for_the_next_run(workdir, bfcl, prefect_harness, fake_llm):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(f"backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\n"
                                              f"bfcl_data_dir: {bfcl}\neval_report_dir: reports\n")
    fake_llm.respond("assistant", scripted)
    fake_llm.cost_per_call = 0.01
    s = load_settings()
    capped = run_evaluate_bfcl(s.with_overrides(max_cost_usd=0.01, max_concurrent_dialogues=1), "bfcl:simple")
    assert capped["bfcl:simple_python"]["left_for_next_run"] == 1 and len(fake_llm.calls_for("assistant")) == 1
    rest = run_evaluate_bfcl(s, "bfcl:simple")
    assert rest["bfcl:simple_python"]["ran_now"] == 1 and rest["bfcl:simple_python"]["ast_accuracy"] == 50.0
