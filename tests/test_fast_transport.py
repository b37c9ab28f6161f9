"""The fast transport (aiohttp straight to OpenAI-compatible servers) against the local fake server:
which deployments it serves, the same ledger rows and dialogues as litellm for the same scripted
replies, and faults — 500s, 429 with Retry-After, timeouts, malformed and truncated bodies, dead
deployments — each ending in a reply or a recorded reason, never an exception."""

import socket

import httpx
import pytest

from tasks.llm.backend import LLMClient
from tasks.llm.config import BackendConfigError, parse_backend_config
from tasks.llm.fast_transport import not_fast
from tests.support.clock import Clock
from toolfactory.testing.fake_llm import FakeError, FakeReply
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults

KEY = "sk-test-fast-0123456789abcdef"
SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
TOOLS = [{"type": "function", "function": {"name": "getCity", "description": "Find a city.",
                                           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]


def deployment(name, base_url, model="openai/fake-model", **extra):
    return {"model_name": name, "litellm_params": {"model": model, "api_base": base_url,
                                                   "api_key": "os.environ/TF_FAST_KEY", **extra.pop("params", {})}, **extra}


def client(monkeypatch, model_list, transport="auto", **kw):
    monkeypatch.setenv("TF_FAST_KEY", KEY)
    return LLMClient(parse_backend_config({"model_list": model_list, **kw.pop("top", {})}), transport=transport, **kw)


def stats(server):
    return httpx.get(f"http://127.0.0.1:{server.port}/stats").json()


def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(c, text, role="executor", **kw):
    return c.complete(role, [{"role": "user", "content": text}], prompt_version="v", **kw)


@pytest.mark.parametrize("entry, transport, served", [
    (deployment("x", "http://h/v1"), "auto", True),
    (deployment("x", "http://h/v1", model="hosted_vllm/qwen"), "auto", True),
    ({"model_name": "x", "litellm_params": {"model": "openai/gpt-4o-mini"}}, "auto", True),  # OpenAI's own base URL
    (deployment("x", "http://h/v1", model="anthropic/claude"), "auto", False),  # not OpenAI's protocol
    (deployment("x", "http://h/v1", model="anthropic/claude"), "fast", True),  # the user says it is
    ({"model_name": "x", "litellm_params": {"model": "toolfactory-local/smollm2"}}, "fast", False),  # no api_base
    (deployment("x", "http://h/v1", params={"aws_region_name": "eu"}), "auto", False),  # a param litellm handles
    (deployment("x", "http://h/v1"), "litellm", False),
    (deployment("x", "http://h/v1", transport="litellm"), "fast", False),  # the deployment's own choice wins
])
def test_which_deployments_the_fast_path_serves(entry, transport, served):
    assert (not_fast(entry, transport) is None) == served


def test_router_only_settings_and_impossible_fast_deployments(monkeypatch):
    plain = [deployment("executor", "http://127.0.0.1:9/v1"), deployment("backup", "http://127.0.0.1:9/v1")]
    assert client(monkeypatch, plain).fast_route("executor") is not None
    with_fallbacks = client(monkeypatch, plain, top={"router_settings": {"fallbacks": [{"executor": ["backup"]}]}})
    assert with_fallbacks.fast_route("executor") is not None  # the client hands a failed call on itself
    routed = client(monkeypatch, plain, top={"router_settings": {"routing_strategy": "latency-based-routing"}})
    assert routed.fast_route("executor") is None  # what only the Router does
    with pytest.raises(BackendConfigError, match=r"model_list\[0\] \(executor\): transport: fast, but no api_base"):
        client(monkeypatch, [{"model_name": "executor", "transport": "fast", "litellm_params": {"model": "custom/x"}}])
    with pytest.raises(BackendConfigError, match="transport: 'quick' is not one of auto, litellm, fast"):
        client(monkeypatch, [deployment("executor", "http://h/v1", transport="quick")])


def scripted(req):
    """Replies that depend only on the request: a schema answer, a tool call, then text after the tool result."""
    last = req.messages[-1]
    if req.json_schema is not None:
        return {"city": f"city of {req.last_user[:20]}"}
    if req.params.get("tools") and last.get("role") != "tool":
        return FakeReply(tool_calls=[{"id": "call_1", "name": "getCity", "arguments": {"q": req.last_user[:10]}}])
    return FakeReply(text=f"answer to {req.last_user}", prompt_tokens=7, completion_tokens=3)


def test_the_same_replies_give_the_same_ledger_rows_on_both_transports(monkeypatch):
    rows = {}
    with FakeOpenAIServer(responder=scripted) as server:
        for transport in ("litellm", "fast"):
            ledger = []
            c = client(monkeypatch, [deployment("executor", server.base_url)], transport, ledger=ledger.append)
            assert (c.fast_route("executor") is not None) == (transport == "fast")
            ask(c, "Lisbon weather", json_schema=SCHEMA)
            ask(c, "find Oslo", tools=TOOLS, max_tokens=50, temperature=0.0, seed=3)
            ask(c, "plain question")
            c.close()
            rows[transport] = [{k: v for k, v in vars(call).items() if k not in ("call_id", "latency_s")} for call in ledger]
    assert len(rows["fast"]) == 3 and rows["fast"] == rows["litellm"]
    assert rows["fast"][1]["tool_calls"] and rows["fast"][0]["response_text"] == '{"city": "city of Lisbon weather"}'


def test_the_same_dialogue_on_both_transports(monkeypatch):
    from tasks.documentation.nl_docs import nl_documentation
    from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
    from tasks.simulation.executor import SimulatedExecutor
    from tests.support.specs import SHOP_WITH_RESPONSES as SHOP

    dialogues = {}
    with FakeOpenAIServer() as server:
        for transport in ("litellm", "fast"):
            c = client(monkeypatch, [deployment(r, server.base_url) for r in ("assistant", "executor")], transport,
                       num_retries=0)
            executor = SimulatedExecutor(SHOP, c, api_name="Shop")
            task = Task("a" * 16, "d" * 16, "0" * 16, "Find item number 7 for me.")
            d = c.run(run_dialogue(task, nl_documentation(SHOP), ["searchItems", "getItem", "reviewItem"], c, executor,
                                   {"assistant": "fake"}, AssistantConfig(step_mode="json", step_limit=2)))
            c.close()
            dialogues[transport] = {**d.to_dict(), "steps": [{k: v for k, v in step.items() if k != "latency_s"}
                                                             for step in d.to_dict()["steps"]]}
    assert dialogues["fast"] == dialogues["litellm"]  # steps and all (each step's latency left out)
    assert dialogues["fast"]["stop_reason"] == "final_answer"


def flaky(req):
    """A 429 (Retry-After 0.05) on the first try of "limited", a 500 on the first of "flaky", a 400 on "bad"."""
    text, seen = req.last_user, flaky.seen
    seen[text] = seen.get(text, 0) + 1
    if text == "limited" and seen[text] == 1:
        raise FakeError(429, "slow down", retry_after=0.05)
    if text == "flaky" and seen[text] == 1:
        raise FakeError(500, "boom")
    if text == "bad":
        raise FakeError(400, f"your key {KEY} is not allowed here")
    return f"fine: {text}"


def test_statuses_are_retried_or_not_and_keys_never_recorded(monkeypatch):
    flaky.seen = {}
    ledger, waits = [], []
    with FakeOpenAIServer(responder=flaky) as server:
        c = client(monkeypatch, [deployment("executor", server.base_url)], ledger=ledger.append, num_retries=2)

        async def record(seconds):
            waits.append(seconds)

        c.fast.sleep = record
        limited, failing, bad = ask(c, "limited"), ask(c, "flaky"), ask(c, "bad")
        c.close()
        sent = stats(server)["requests"]
    assert limited.ok and limited.text == "fine: limited" and failing.ok and failing.text == "fine: flaky"
    assert waits[0] == pytest.approx(0.05) and waits[1] == pytest.approx(0.5)  # Retry-After, then backoff from 0.5 s
    assert not bad.ok and "HTTP 400" in bad.error and KEY not in bad.error and "[REDACTED" in bad.error.upper()
    assert sent == 2 + 2 + 1  # a 400 is not retried
    assert [r.status for r in ledger] == ["ok", "ok", "error"] and KEY not in str([vars(r) for r in ledger])


@pytest.mark.parametrize("faults, retries, sent, reason", [
    (Faults(ptimeout=1.0, hang=2.0), 1, 2, "Timeout: no reply"),
    (Faults(pmalformed=1.0), 2, 3, "MalformedReply"),
    (Faults(p500=1.0), 1, 2, "HTTP 500"),
])
def test_faults_end_in_a_recorded_reason_after_the_retries(monkeypatch, faults, retries, sent, reason):
    ledger = []
    with FakeOpenAIServer(faults) as server:
        c = client(monkeypatch, [deployment("executor", server.base_url)], ledger=ledger.append, num_retries=retries,
                   timeout_s=0.4)
        c.fast.sleep = lambda s: _no_wait()
        result = ask(c, "anything", json_schema=SCHEMA)
        c.close()
        assert stats(server)["requests"] == sent
    assert not result.ok and result.error.startswith(f"FastTransportError: {reason}")
    assert len(ledger) == 1 and ledger[0].status == "error"


async def _no_wait():
    return None


def test_a_truncated_reply_is_continued(monkeypatch):
    with FakeOpenAIServer(Faults(ptruncated=1.0)) as server:
        c = client(monkeypatch, [deployment("executor", server.base_url)], max_continuations=1)
        result = ask(c, "tell me a long story")
        c.close()
    assert result.ok and result.finish_reason == "length" and result.calls == 2 and result.continuations == 1


def test_a_dead_deployment_hands_its_calls_to_the_next(monkeypatch):
    with FakeOpenAIServer() as live, FakeOpenAIServer() as other:
        dead = f"http://127.0.0.1:{dead_port()}/v1"
        c = client(monkeypatch, [deployment("executor", dead), deployment("executor", live.base_url)], num_retries=0)
        results = [ask(c, f"q{i}") for i in range(6)]
        balanced = client(monkeypatch, [deployment("executor", live.base_url), deployment("executor", other.base_url)])
        for i in range(6):
            ask(balanced, f"b{i}")
        c.close()
        balanced.close()
        assert all(r.ok for r in results) and stats(live)["requests"] == 6 + 3 and stats(other)["requests"] == 3


@pytest.mark.parametrize("backup_transport", ["fast", "litellm"])
def test_a_failed_group_hands_the_call_to_its_fallback(monkeypatch, backup_transport):
    ledger = []
    with FakeOpenAIServer(responder=lambda req: f"{req.role} answers") as live:
        dead = f"http://127.0.0.1:{dead_port()}/v1"
        c = client(monkeypatch, [deployment("executor", dead), deployment("backup", live.base_url, model="openai/backup-model",
                                                                transport=backup_transport)],
                   top={"router_settings": {"fallbacks": [{"executor": ["backup"]}]}}, num_retries=0, ledger=ledger.append)
        result = ask(c, "hello")
        c.close()
    assert result.ok and result.text == "backup-model answers" and result.model == "backup-model"
    assert (c.fast_route("backup") is not None) == (backup_transport == "fast") and len(ledger) == 1


def test_prices_and_the_spend_cap_apply(monkeypatch):
    from tasks.llm.budget import SpendCap

    priced = {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}
    with FakeOpenAIServer(responder=lambda req: "ok") as server:  # 1 prompt and 1 completion token: $0.003 a call
        c = client(monkeypatch, [deployment("executor", server.base_url, params=priced)], budget=SpendCap(0.005))
        assert c.fast_route("executor") is not None
        first, second, third = ask(c, "a"), ask(c, "b"), ask(c, "c")
        c.close()
        sent = stats(server)["requests"]
    assert (first.prompt_tokens, first.completion_tokens) == (1, 1) and first.cost_usd == pytest.approx(0.003)
    assert second.ok  # $0.003 spent: under the cap, the next call goes; after it, $0.006: over
    assert not third.ok and third.error.startswith("spend_cap_reached") and sent == 2


def test_the_groups_rate_limit_applies(monkeypatch):
    with FakeOpenAIServer() as server:
        c = client(monkeypatch, [deployment("executor", server.base_url, params={"rpm": 2})])
        assert c.fast_route("executor") is not None
        clock = Clock()
        limiter = c.policy.limiters["executor"]
        limiter.clock, limiter.sleep = clock, clock.sleep
        assert all(ask(c, f"q{i}").ok for i in range(3))
        c.close()
        assert limiter.waited_s >= 59.9 and stats(server)["requests"] == 3


def test_a_known_model_is_priced_as_litellm_prices_it(monkeypatch):
    costs = {}
    with FakeOpenAIServer(responder=lambda req: "ok " * 400) as server:
        for transport in ("litellm", "fast"):
            c = client(monkeypatch, [deployment("executor", server.base_url, model="openai/gpt-4o-mini")], transport)
            costs[transport] = ask(c, "price me").cost_usd
            c.close()
    assert costs["fast"] is not None and costs["fast"] > 0 and costs["fast"] == pytest.approx(costs["litellm"])
