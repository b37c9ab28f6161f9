"""Parallel calls (issue 21, part 2): in tools and json step modes one assistant turn may make several independent
calls; each is answered against the state from before the turn; the funnel, exact match and the process score
treat them as a set; exports carry them as one message with several tool calls."""

import asyncio
import json

import pytest

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.simulate_corpus import run_simulate_corpus
from tasks.curation.filters import execution_check
from tasks.documentation.nl_docs import nl_documentation
from tasks.evaluation.exact_match import calls_with_groups, score_calls
from tasks.evaluation.process_score import score_process
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.llm.types import LLMResult
from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
from tasks.simulation.executor import SimulatedExecutor
from tasks.simulation.step_modes import JsonMode, Turn, json_protocol
from tasks.simulation.tool_calling import read_tool_turn, tool_definitions
from tests.support.dialogues import dialogue, step
from tests.support.shop_project import shop_project
from tests.support.specs import SHOP_WITH_RESPONSES as SPEC
from toolfactory.testing.fake_llm import FakeReply
from training.render import IGNORE, chat_text, paper_text, tokenize_with_mask
from warehouse import Warehouse
from warehouse.corpus import DIALOGUE_COLUMNS, dialogue_of

NAMES = ["searchItems", "getItem", "reviewItem"]
TWO = [{"id": "a", "name": "getItem", "arguments": '{"itemId": 7}'}, {"id": "b", "name": "getItem", "arguments": '{"itemId": 9}'}]


def test_a_turn_of_several_tool_calls_is_read_call_by_call():
    s = read_tool_turn("Both at once.", TWO, NAMES, max_calls=3)
    assert s.kind == "action" and [(c.action, c.action_input) for c in s.calls] == [("getItem", {"itemId": 7}), ("getItem", {"itemId": 9})]
    assert s.thought == "Both at once." and s.parallel[0].thought == ""
    mixed = read_tool_turn("", [TWO[0], {"id": "c", "name": "ask_user", "arguments": '{"question": "Which?"}'}], NAMES, 3)
    assert mixed.kind == "action" and mixed.parallel[0].error == "unknown_action"  # ask_user only on its own
    assert read_tool_turn("", TWO * 2, NAMES, 3).error == "input_not_object"  # four calls, three allowed
    assert read_tool_turn("", TWO, NAMES).error == "input_not_object"  # one call per step unless allowed


def test_the_json_turn_offers_a_list_of_calls_and_reads_it_back():
    params = {t["function"]["name"]: t["function"]["parameters"] for t in tool_definitions(SPEC, only=None) if t["function"]["name"] in NAMES}
    mode = JsonMode(NAMES, params, max_parallel_calls=2)
    schema = mode.turn_schema(Turn(0, 0))
    (parallel,) = [o for o in schema["anyOf"] if "calls" in o["properties"]]
    assert parallel["properties"]["calls"]["maxItems"] == 2 and len(parallel["properties"]["calls"]["items"]["anyOf"]) == 3
    assert not any("calls" in o["properties"] for o in JsonMode(NAMES, params).turn_schema(Turn(0, 0))["anyOf"])
    value = {"thought": "both", "calls": [{"action": "getItem", "action_input": {"itemId": 7}},
                                          {"action": "getItem", "action_input": {"itemId": 9}}]}
    text, s = mode.read(LLMResult(role="assistant", text=json.dumps(value), model="m", parsed=value))
    assert text == 'Thought: both\nAction: getItem\nAction Input: {"itemId": 7}\nAction: getItem\nAction Input: {"itemId": 9}'
    assert [c.action_input for c in s.calls] == [{"itemId": 7}, {"itemId": 9}]
    assert json_protocol(1) == "json-turns/1" and json_protocol(2) != json_protocol(1)


def executor(req):
    """An item for GET /items/{itemId} (its price from its id), no results for a search."""
    if "GET /items/" not in req.last_user:
        return {"results": []}
    item = json.loads(req.last_user.split("Arguments: ", 1)[1].split("\n", 1)[0])["itemId"]
    return {"itemId": item, "price": float(item + 3)}


def test_parallel_calls_each_see_the_state_from_before_the_turn(fake_llm):
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    fake_llm.queue("assistant",
                   FakeReply("Both items at once.", tool_calls=TWO),
                   FakeReply(tool_calls=[{"id": "c", "name": "searchItems", "arguments": '{"q": "lamp"}'}]),
                   FakeReply("Item 7 costs 10, item 9 costs 12."))
    fake_llm.respond("executor", executor)
    task = Task("a" * 16, "d" * 16, "e" * 16, "Compare items 7 and 9.")
    d = asyncio.run(run_dialogue(task, nl_documentation(SPEC), NAMES, client, SimulatedExecutor(SPEC, client), {"assistant": "m"},
                                 AssistantConfig(step_mode="tools", max_parallel_calls=3), tool_definitions(SPEC)))
    assert [(s.index, s.call, s.action) for s in d.steps] == [(0, 0, "getItem"), (0, 1, "getItem"), (1, 0, "searchItems"), (2, 0, None)]
    assert d.steps[0].text.count("Action: getItem") == 2 and d.steps[1].text == "" and d.n_calls == 3
    first, second, third = fake_llm.calls_for("executor")
    assert "(none)" in first.last_user and "(none)" in second.last_user  # neither saw the other
    assert third.last_user.count("getItem") >= 2  # both joined the state afterwards
    tool_replies = [m for m in fake_llm.calls_for("assistant")[1].messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_replies] == ["a", "b"] and all(m["content"].startswith("Status Code: 200") for m in tool_replies)


def test_exact_match_and_the_process_score_take_parallel_calls_as_a_set():
    golden = [{"action": "getItem", "action_input": {"itemId": 7}}, {"action": "getItem", "action_input": {"itemId": 9}}]
    steps = [step(0, "getItem", {"itemId": 9}, status=200, obs="9"), step(0, "getItem", {"itemId": 7}, status=200, obs="7")]
    steps[1].call = 1
    predicted = calls_with_groups(steps)
    assert [c["group"] for c in predicted] == [0, 0]
    assert score_calls(golden, predicted).correct  # made at once: their order does not matter
    assert not score_calls(golden, [{k: v for k, v in c.items() if k != "group"} for c in predicted]).correct  # one after another: it does
    grouped_golden = [{**g, "group": 3} for g in golden]
    assert score_calls(grouped_golden, [predicted[0] | {"group": None}, predicted[1] | {"group": None}]).correct
    assert score_process(golden, [{**s.to_dict(), **c} for s, c in zip(steps, predicted, strict=True)], "Compare items 7 and 9", {}).accepted


def test_a_failed_parallel_call_is_not_made_good_by_its_sibling():
    failed = step(0, "getItem", {"itemId": 7}, status=404, obs="404")
    ok = step(0, "getItem", {"itemId": 9}, status=200, obs="200")
    ok.call = 1
    d = dialogue("Compare items 7 and 9.", [failed, ok, step(1, thought="answer")], "Nine costs 12.")
    assert execution_check(d).reason == "unrecovered_error"
    retried = step(1, "getItem", {"itemId": 7}, status=200, obs="200")
    assert execution_check(dialogue("Compare items 7 and 9.", [failed, ok, retried, step(2)], "Both.")).kept


# the flow --------------------------------------------------------------------------------------
def assistant(req):
    if not any(m["role"] == "tool" for m in req.messages):
        return FakeReply("I look both up at once.", tool_calls=TWO)
    return FakeReply("Item 7 costs 10 and item 9 costs 12.")


@pytest.fixture
def project(workdir):
    return shop_project(workdir, instructions_per_api=1, follow_up_share=0, assistant_step_mode="tools", max_parallel_calls=3)


def test_parallel_calls_from_simulation_to_the_training_masks(prefect_harness, project, fake_llm, tmp_path, tokenizer):
    fake_llm.respond("user", lambda req: {"instructions": ["Compare the prices of items 7 and 9 for me."]})
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", executor)
    summary = run_simulate_corpus(project)
    assert summary["stop_reasons"] == {"final_answer": 1}
    assert summary["by_shape"] == {"follow-ups": {"dialogues": 0, "why": "off (follow_up_share: 0)"}, "parallel calls": {"dialogues": 1}}
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.execute("SELECT parallel_turns, n_calls FROM dialogues") == [(1, 2)]
        assert wh.execute("SELECT step_index, call, action FROM steps ORDER BY step_index, call") == \
            [(0, 0, "getItem"), (0, 1, "getItem"), (1, 0, None)]
    assert run_curate(project)["funnel"]["length/kept"] == 1
    snap = take_snapshot(project)
    export_snapshot(project, ["jsonl"], tmp_path / "out", snap["snapshot_id"])
    (line,) = [json.loads(x) for x in (tmp_path / "out" / snap["snapshot_id"] / "train.jsonl").read_text().splitlines()]
    calls = line["messages"][2]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"itemId": 7}, {"itemId": 9}]
    assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert [m["tool_call_id"] for m in line["messages"][3:5]] == [c["id"] for c in calls]
    text, spans = chat_text({**line, "tools": "[]"}, tokenizer)
    r = tokenize_with_mask(text, spans, tokenizer)
    learnt = tokenizer.decode([t for t, label in zip(r.input_ids, r.labels, strict=True) if label != IGNORE])
    assert learnt.count("<call>getItem") == 2 and "Status Code" not in learnt
    with Warehouse.open(project.warehouse_path) as wh:
        (row,) = wh.frame(f"SELECT {DIALOGUE_COLUMNS} FROM dialogue d").to_dicts()
    paper, paper_spans = paper_text(dialogue_of(row), "getItem", "</s>")
    trained = "".join(paper[a:b] for a, b in paper_spans)
    assert trained.count("ASSISTANT Action: getItem") == 2 and trained.count("ASSISTANT Thought:") == 2  # the calls' turn, the answer
    assert paper.count("ASSISTANT Observation: Status Code: 200") == 2 and "ASSISTANT Observation" not in trained
