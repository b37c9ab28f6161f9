import asyncio

import pytest

from tasks.formats.observations import render_observation
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.simulation.executor import ExecutorState, SimulatedExecutor
from tests.support.scripts import schema_name
from tests.support.specs import SHOP_WITH_RESPONSES as SPEC


@pytest.fixture
def executor(fake_llm):
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    return SimulatedExecutor(SPEC, client, api_name="Shop", max_chars=300)


def test_a_bad_call_is_refused_without_an_llm_call(executor, fake_llm):
    state = ExecutorState()
    out = asyncio.run(executor.execute("searchItems", {"limit": "x"}, state))
    assert out.status == 400 and fake_llm.calls == []
    assert out.observation.startswith("Status Code: 400. Response: ") and '"q"' in out.observation and '"limit"' in out.observation
    assert state.calls[0][2] == 400


def test_a_good_call_gets_a_conforming_simulated_response(executor, fake_llm):
    fake_llm.queue("executor", {"results": [{"itemId": 7, "name": "Desk lamp"}, {"itemId": 8, "name": "Floor lamp"}]})
    state = ExecutorState()
    out = asyncio.run(executor.execute("searchItems", {"q": "lamp", "limit": "2"}, state))
    assert out.status == 200 and out.conforms and out.attempts == 1
    assert out.observation.startswith('Status Code: 200. Response: {"results": [{"itemId": 7')
    req = fake_llm.calls[0]
    assert schema_name(req) == "response" and req.json_schema["required"] == ["results"]
    assert '"limit":2' in req.last_user and "GET /items" in req.last_user


def test_nonconforming_responses_are_regenerated_then_refused(executor, fake_llm):
    fake_llm.queue("executor", {"results": "none"}, {"results": [{"itemId": 1, "name": "Mug"}]})
    out = asyncio.run(executor.execute("searchItems", {"q": "mug"}, ExecutorState()))
    assert out.status == 200 and out.attempts == 2
    fake_llm.queue("executor", {"wrong": 1}, "not json", {"results": [{"itemId": "x"}]})
    out = asyncio.run(executor.execute("searchItems", {"q": "cup"}, ExecutorState()))
    assert out.status == 500 and not out.conforms and out.attempts == 3
    assert out.problem.code == "response_nonconforming" and out.problem.detail


def test_state_carries_ids_into_later_calls_and_is_per_dialogue(executor, fake_llm):
    fake_llm.queue("executor", {"results": [{"itemId": 42, "name": "Chair"}]}, {"itemId": 42, "price": 49.5})
    state = ExecutorState()
    asyncio.run(executor.execute("searchItems", {"q": "chair"}, state))
    asyncio.run(executor.execute("getItem", {"itemId": 42}, state))
    second_prompt = fake_llm.calls[1].last_user
    assert "searchItems" in second_prompt and '"itemId":42' in second_prompt
    fake_llm.queue("executor", {"itemId": 42, "price": 10.0})
    asyncio.run(executor.execute("getItem", {"itemId": 42}, ExecutorState()))
    assert "(none)" in fake_llm.calls[2].last_user  # a new dialogue starts with no history


def test_each_operation_is_held_to_its_own_response_schema_call_after_call(fake_llm):
    # the executor works out an operation's response schema once and keeps it: operations taken in turn
    # must each get their own schema in the request and be checked against it
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    executor = SimulatedExecutor(SPEC, client, api_name="Shop", regenerations=0)
    item, results = {"itemId": 1, "price": 2.5}, {"results": [{"itemId": 1, "name": "Mug"}]}
    fake_llm.queue("executor", results, item, item, results)
    state = ExecutorState()
    outs = [asyncio.run(executor.execute(op, args, state)) for op, args in (
        ("searchItems", {"q": "mug"}), ("getItem", {"itemId": 1}), ("searchItems", {"q": "cup"}), ("getItem", {"itemId": 2}))]
    asked = [c.json_schema.get("required") for c in fake_llm.calls]
    assert asked == [["results"], ["itemId", "price"], ["results"], ["itemId", "price"]]
    assert [o.status for o in outs] == [200, 200, 500, 500]  # the third and fourth answers fit the other operation
    assert all(o.problem.code == "response_nonconforming" for o in outs[2:])


def test_replay_is_answered_from_the_cache(executor, fake_llm):
    fake_llm.queue("executor", {"itemId": 3, "price": 1.0})
    first = asyncio.run(executor.execute("getItem", {"itemId": "3"}, ExecutorState()))
    again = asyncio.run(executor.execute("getItem", {"itemId": 3}, ExecutorState()))  # same normalised request, same state
    assert again.cached and again.response == first.response and len(fake_llm.calls) == 1


def test_unshared_responses_stay_within_their_dialogue(fake_llm):
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    executor = SimulatedExecutor(SPEC, client, api_name="Shop", share_responses=False)
    fake_llm.queue("executor", {"itemId": 3, "price": 1.0}, {"itemId": 3, "price": 2.0})
    first = asyncio.run(executor.execute("getItem", {"itemId": 3}, ExecutorState(scope="dialogue-a")))
    other = asyncio.run(executor.execute("getItem", {"itemId": 3}, ExecutorState(scope="dialogue-b")))
    replay = asyncio.run(executor.execute("getItem", {"itemId": 3}, ExecutorState(scope="dialogue-a")))
    assert (first.response["price"], other.response["price"]) == (1.0, 2.0) and not other.cached
    assert replay.cached and replay.response == first.response and len(fake_llm.calls) == 2
    assert fake_llm.calls[0].params["seed"] != fake_llm.calls[1].params["seed"]  # distinct requests, not one cached reply


def test_observations_are_cut():
    text = render_observation(200, {"x": "y" * 1000}, 120)
    assert len(text) <= 120 and text.endswith("[cut at 120 characters]")
