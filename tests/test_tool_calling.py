"""Native function-calling mode: tool definitions from the spec, replies read back, whole dialogues."""

import asyncio

import pytest
from jsonschema import Draft202012Validator

from schemas import validate_record
from tasks.documentation.nl_docs import nl_documentation
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config, parse_backend_config
from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
from tasks.simulation.executor import SimulatedExecutor
from tasks.simulation.tool_calling import read_tool_turn, tool_definitions
from tests.support.specs import SHOP
from tests.support.specs import SHOP_WITH_RESPONSES as SPEC
from toolfactory.testing.fake_llm import FakeReply
from toolfactory.testing.fake_openai_server import FakeOpenAIServer

NAMES = ["searchItems", "getItem", "reviewItem"]
TASK = Task(api_id="a" * 16, doc_id="d" * 16, instruction_id="e" * 16, instruction="Find me a desk lamp under 50 euros.")
MODELS = {"assistant": "toolfactory-fake/assistant", "executor": "toolfactory-fake/executor", "user": "toolfactory-fake/user"}
TOOLS_MODE = AssistantConfig(step_mode="tools")


def test_tools_come_from_the_spec_with_typed_parameters():
    tools = {t["function"]["name"]: t["function"] for t in tool_definitions(SHOP)}
    assert list(tools) == [*NAMES, "ask_user"]
    search = tools["searchItems"]["parameters"]
    assert search["required"] == ["q"] and search["properties"]["sort"]["enum"] == ["price", "rating"]
    assert search["properties"]["tags"]["items"]["enum"] == ["new", "sale"] and "X-Currency" in search["properties"]
    review = tools["reviewItem"]["parameters"]  # path parameter and $ref'd body properties in one object
    assert review["required"] == ["itemId", "stars"] and review["properties"]["stars"]["maximum"] == 5
    for t in tools.values():
        Draft202012Validator.check_schema(t["parameters"])


@pytest.mark.parametrize("content, calls, kind, error", [
    ("The lamp costs 39 euros.", [], "final", None),
    ("", [], "invalid", "empty"),
    ("", [{"id": "1", "name": "searchItems", "arguments": '{"q": "lamp"}'}], "action", None),
    ("", [{"id": "1", "name": "buyItem", "arguments": "{}"}], "invalid", "unknown_action"),
    ("", [{"id": "1", "name": "searchItems", "arguments": '{"q": '}], "invalid", "input_not_json"),
    ("", [{"id": "1", "name": "searchItems", "arguments": '["lamp"]'}], "invalid", "input_not_object"),
    ("", [{"id": "1", "name": "searchItems", "arguments": "{}"}, {"id": "2", "name": "getItem", "arguments": "{}"}],
     "invalid", "input_not_object"),
])
def test_replies_are_read_as_steps(content, calls, kind, error):
    step = read_tool_turn(content, calls, NAMES)
    assert (step.kind, step.error) == (kind, error)
    if error:
        assert step.feedback().startswith("Error: ")


@pytest.fixture
def run(fake_llm):
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    executor = SimulatedExecutor(SPEC, client, api_name="Shop")

    def go(task=TASK):
        d = asyncio.run(run_dialogue(task, nl_documentation(SPEC), NAMES, client, executor, MODELS, TOOLS_MODE, tool_definitions(SPEC)))
        assert validate_record("dialogue", d.to_dict()) == []
        return d

    return go


def test_a_tool_call_then_a_plain_answer(run, fake_llm):
    fake_llm.queue("assistant",
                   FakeReply("Searching first.", tool_calls=[{"id": "c1", "name": "searchItems", "arguments": {"q": "desk lamp"}}]),
                   FakeReply("The Brightly desk lamp (item 7) costs 39 euros."))
    fake_llm.queue("executor", {"results": [{"itemId": 7, "name": "Brightly desk lamp"}]})
    d = run()
    assert d.stop_reason == "final_answer" and d.final_answer.startswith("The Brightly") and d.n_calls == 1
    assert d.steps[0].text == 'Thought: Searching first.\nAction: searchItems\nAction Input: {"q": "desk lamp"}'
    first, second = fake_llm.calls_for("assistant")
    assert [t["function"]["name"] for t in first.params["tools"]][-1] == "ask_user"
    call_msg, tool_msg = second.messages[-2:]
    assert call_msg["role"] == "assistant" and call_msg["tool_calls"][0]["id"] == "c1"
    assert tool_msg == {"role": "tool", "tool_call_id": "c1", "content": d.steps[0].observation}
    assert tool_msg["content"].startswith("Status Code: 200")


def test_ask_user_bad_arguments_and_several_calls_get_observations(run, fake_llm):
    fake_llm.queue("assistant",
                   FakeReply(tool_calls=[{"id": "a", "name": "ask_user", "arguments": {"question": "Budget?"}}]),
                   FakeReply(tool_calls=[{"id": "b", "name": "searchItems", "arguments": '{"q": "lamp", "limit": "many"}'}]),
                   FakeReply(tool_calls=[{"id": "c", "name": "searchItems", "arguments": '{"q": "lamp"}'},
                                         {"id": "d", "name": "getItem", "arguments": '{"itemId": 1}'}]),
                   FakeReply("I could not finish the search."))
    fake_llm.queue("user", "Under 50 euros.")
    d = run()
    asked, bad, several, _ = d.steps
    assert asked.observation == "User: Under 50 euros." and asked.valid
    assert bad.status == 400 and "limit" in bad.observation
    assert several.error == "input_not_object" and not several.valid
    last = fake_llm.calls_for("assistant")[-1].messages
    assert [m["tool_call_id"] for m in last if m["role"] == "tool"][-2:] == ["c", "d"]  # every call answered


def test_tools_mode_over_http_against_the_fake_server(monkeypatch):
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", "sk-test")
    with FakeOpenAIServer() as server:
        cfg = parse_backend_config({"model_list": [{"model_name": role, "litellm_params": {
            "model": "openai/fake-model", "api_base": server.base_url, "api_key": "os.environ/TF_FAKE_OPENAI_KEY"}}
            for role in ("assistant", "executor", "user")]})
        client = LLMClient(cfg, num_retries=0, max_continuations=0)
        executor = SimulatedExecutor(SPEC, client, api_name="Shop")
        d = asyncio.run(run_dialogue(TASK, nl_documentation(SPEC), NAMES, client, executor, MODELS, TOOLS_MODE,
                                     tool_definitions(SPEC)))
    # the fake calls the first tool (searchItems, q = "sample text"), then answers in text
    assert d.steps[0].action == "searchItems" and d.steps[0].action_input == {"q": "sample text"}
    assert d.steps[0].status == 200 and d.stop_reason == "final_answer" and d.final_answer.startswith("ok (")
