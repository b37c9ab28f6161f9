"""Whole dialogues, deterministic with the scripted fake: every branch of the ReAct loop."""
import asyncio

import pytest

from schemas import validate_record
from tasks.documentation.nl_docs import nl_documentation
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
from tasks.simulation.executor import SimulatedExecutor
from tasks.simulation.session import MUST_ANSWER
from tasks.simulation.step_modes import JSON_PROTOCOL
from tests.support.specs import SHOP_WITH_RESPONSES as SPEC

TASK = Task(api_id="a" * 16, doc_id="d" * 16, instruction_id="e" * 16, instruction="Find me a desk lamp under 50 euros.")
MODELS = {"assistant": "toolfactory-fake/assistant", "executor": "toolfactory-fake/executor", "user": "toolfactory-fake/user"}


@pytest.fixture
def run(fake_llm):
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    executor = SimulatedExecutor(SPEC, client, api_name="Shop")

    def go(task=TASK, cfg=AssistantConfig()):
        d = asyncio.run(run_dialogue(task, nl_documentation(SPEC), ["searchItems", "getItem", "reviewItem"], client, executor, MODELS, cfg))
        assert validate_record("dialogue", d.to_dict()) == []
        return d

    return go


def test_call_then_final_answer(run, fake_llm):
    fake_llm.queue("assistant",
                   'Thought: search first\nAction: searchItems\nAction Input: {"q": "desk lamp", "limit": 3}',
                   "Thought: found it\nFinal Answer: The Brightly desk lamp (item 7) costs 39 euros.")
    fake_llm.queue("executor", {"results": [{"itemId": 7, "name": "Brightly desk lamp"}]})
    d = run()
    assert d.stop_reason == "final_answer" and d.final_answer.startswith("The Brightly")
    assert d.n_calls == 1 and d.n_errors == 0 and len(d.steps) == 2
    call = d.steps[0]
    assert call.action == "searchItems" and call.status == 200 and call.valid
    assert call.observation.startswith('Status Code: 200. Response: {"results"')
    second_turn = fake_llm.calls_for("assistant")[1].messages
    assert second_turn[-1]["content"].startswith("Observation: Status Code: 200")
    assert d.completion_tokens > 0 and d.cost_usd == 0.0


def test_ask_user_is_answered_in_character(run, fake_llm):
    fake_llm.queue("assistant", 'Thought: which budget?\nAction: ask_user\nAction Input: {"question": "What is your budget?"}',
                   "Final Answer: ok")
    fake_llm.queue("user", "Around 40 euros, please.")
    d = run(Task(**{**TASK.__dict__, "kind": "missing_detail", "details": "budget 40 euros"}))
    assert d.steps[0].action == "ask_user" and d.steps[0].observation == "User: Around 40 euros, please."
    user_req = fake_llm.calls_for("user")[0]
    assert "What is your budget?" in user_req.last_user and "budget 40 euros" in user_req.last_user


def test_invalid_action_and_bad_parameter_get_observations_and_the_dialogue_goes_on(run, fake_llm):
    fake_llm.queue("assistant",
                   'Action: buyItem\nAction Input: {"itemId": 1}',
                   'Action: searchItems\nAction Input: {"limit": "many"}',
                   "Final Answer: I could not search.")
    d = run()
    assert [s.error for s in d.steps[:2]] == ["unknown_action", "missing_required"]
    assert "valid actions: searchItems, getItem, reviewItem, ask_user" in d.steps[0].observation
    assert d.steps[1].status == 400 and '"q"' in d.steps[1].observation
    assert d.stop_reason == "final_answer" and d.n_errors == 2 and fake_llm.calls_for("executor") == []


def test_schema_violating_simulation_is_an_error_step(run, fake_llm):
    fake_llm.queue("assistant", 'Action: getItem\nAction Input: {"itemId": 5}', "Final Answer: unknown")
    fake_llm.queue("executor", {"price": "cheap"}, {"price": "cheap"}, {"price": "cheap"})
    d = run()
    assert d.steps[0].status == 500 and d.steps[0].error == "response_nonconforming"


def test_step_limit(run, fake_llm):
    fake_llm.respond("assistant", lambda req: 'Action: ask_user\nAction Input: {"question": "More?"}')
    fake_llm.respond("user", lambda req: "Yes.")
    d = run(cfg=AssistantConfig(step_limit=3))
    assert d.stop_reason == "step_limit" and len(d.steps) == 3 and d.final_answer is None


def test_give_up_after_repeated_errors(run, fake_llm):
    fake_llm.respond("assistant", lambda req: "I am not sure what to do.")
    d = run(cfg=AssistantConfig(max_errors=2, step_limit=8))
    assert d.stop_reason == "gave_up" and len(d.steps) == 3 and d.n_errors == 3
    assert MUST_ANSWER in fake_llm.calls_for("assistant")[2].messages[-1]["content"]


def test_backend_failure_ends_the_dialogue_with_a_reason(run, fake_llm):
    from toolfactory.testing.fake_llm import FakeError

    fake_llm.respond("assistant", lambda req: FakeError(500, "down"))
    d = run()
    assert d.stop_reason == "llm_error" and d.steps[0].error == "llm_error"


def test_json_step_mode(run, fake_llm):
    fake_llm.queue("assistant",
                   {"thought": "search", "action": "searchItems", "action_input": {"q": "lamp"}},
                   {"thought": "done", "action": "final_answer", "action_input": {}, "final_answer": "Item 7."})
    fake_llm.queue("executor", {"results": [{"itemId": 7, "name": "Lamp"}]})
    d = run(cfg=AssistantConfig(step_mode="json"))
    assert d.stop_reason == "final_answer" and d.final_answer == "Item 7." and d.n_calls == 1
    assert d.steps[0].text == 'Thought: search\nAction: searchItems\nAction Input: {"q": "lamp"}'
    first, second = (actions(r.json_schema) for r in fake_llm.calls_for("assistant"))
    assert first == ["searchItems", "getItem", "reviewItem", "ask_user"]  # the first turn calls (or asks): no answer yet
    assert second == ["searchItems", "getItem", "reviewItem", "final_answer"]  # after a result: call again or answer
    assert d.prompt_versions["protocol"] == JSON_PROTOCOL  # json-mode dialogues are told apart by their turn protocol


def actions(schema):
    return [option["properties"]["action"]["const"] for option in schema.get("anyOf", [schema])]


def test_json_turns_follow_each_operation_and_narrow_to_an_answer(fake_llm):
    from jsonschema import Draft202012Validator

    from tasks.simulation.step_modes import JSON_MAX_CALLS
    from tasks.simulation.tool_calling import tool_definitions

    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    executor = SimulatedExecutor(SPEC, client, api_name="Shop")
    call = {"thought": "search", "action": "searchItems", "action_input": {"q": "lamp"}}
    fake_llm.queue("assistant", *[call] * JSON_MAX_CALLS,
                   # cut off by the token limit inside its answer: read as far as it got
                   '{"thought": "done", "action": "final_answer", "final_answer": "The Brightly lamp costs 39 euros. It is in st')
    fake_llm.queue("executor", *[{"results": [{"itemId": 7, "name": "Lamp"}]}] * JSON_MAX_CALLS)
    names = ["searchItems", "getItem", "reviewItem"]
    d = asyncio.run(run_dialogue(TASK, nl_documentation(SPEC), names, client, executor, MODELS, AssistantConfig(step_mode="json"),
                                 tool_definitions(SPEC)))
    assert d.stop_reason == "final_answer" and d.final_answer == "The Brightly lamp costs 39 euros."
    schemas = [r.json_schema for r in fake_llm.calls_for("assistant")]
    assert actions(schemas[-1]) == ["final_answer"]  # after JSON_MAX_CALLS successful calls the only choice is an answer
    first = Draft202012Validator(schemas[0])
    assert first.is_valid(call) and first.is_valid({"thought": "t", "action": "getItem", "action_input": {"itemId": 7}})
    assert not first.is_valid({"thought": "t", "action": "searchItems", "action_input": {"query": "lamp"}})  # not its parameter
    assert not first.is_valid({"thought": "t", "action": "getItem", "action_input": {}})  # its required ID left out
    assert not first.is_valid({"thought": "t", "action": "getItem", "action_input": {"itemId": "seven"}})  # of its type
    assert not first.is_valid({"thought": "t", "action": "final_answer", "final_answer": "No idea."})  # no answer before a call
    fake_llm.queue("assistant", call, {"thought": "t", "action": "final_answer", "final_answer": "Lamp 7."})
    fake_llm.queue("executor", {"results": []})
    last = asyncio.run(run_dialogue(TASK, "", names, client, executor, MODELS, AssistantConfig(step_mode="json", step_limit=2)))
    assert actions(fake_llm.calls_for("assistant")[-1].json_schema) == ["final_answer"]  # the last step must answer
    assert last.stop_reason == "final_answer"
