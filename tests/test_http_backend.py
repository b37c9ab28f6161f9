"""litellm over real HTTP against the local OpenAI-compatible fake server, clean and with faults."""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from jsonschema import Draft202012Validator

from tasks.llm.backend import LLMClient
from tasks.llm.config import parse_backend_config
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults, instance_of

SCHEMA = {"type": "object", "required": ["city", "days"], "properties": {
    "city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}, "tags": {"type": "array", "items": {"type": "string"}}}}


def http_client(base_url, monkeypatch, roles=("executor",), **kw):
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", "sk-test-not-a-real-key")
    cfg = parse_backend_config({"model_list": [{"model_name": role, "litellm_params": {
        "model": "openai/fake-model", "api_base": base_url, "api_key": "os.environ/TF_FAKE_OPENAI_KEY"}} for role in roles]})
    return LLMClient(cfg, **kw)


def test_instance_of_conforms():
    assert list(Draft202012Validator(SCHEMA).iter_errors(instance_of(SCHEMA))) == []


def test_structured_output_over_http(monkeypatch):
    ledger = []
    with FakeOpenAIServer() as server:
        client = http_client(server.base_url, monkeypatch, ledger=ledger.append, num_retries=0)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: client.complete("executor", [{"role": "user", "content": f"q{i}"}], prompt_version="v",
                                                              json_schema=SCHEMA), range(16)))
        stats = httpx.get(f"http://127.0.0.1:{server.port}/stats").json()
    assert all(r.ok and r.parsed == {"city": "sample text", "days": 1} for r in results)
    assert all(r.model and r.prompt_tokens > 0 and r.latency_s > 0 for r in results)
    assert stats["requests"] == 16 and len(ledger) == 16
    # a plain group never builds a Router, so a model with no known price keeps an unknown cost (not a made-up 0.0)
    assert not client.transport.router_made and all(c.cost_usd is None for c in ledger)
    assert all("sk-test" not in (c.response_text or "") + (c.error or "") for c in ledger)


def test_every_call_ends_ok_or_with_a_reason_under_faults(monkeypatch):
    n = 60
    faults = Faults(latency=0.01, p500=0.1, p429=0.05, retry_after=0.0, ptimeout=0.03, hang=3.0, pmalformed=0.05,
                    ptruncated=0.05, pwrong_schema=0.05, seed=7)
    ledger = []
    with FakeOpenAIServer(faults) as server:
        client = http_client(server.base_url, monkeypatch, ledger=ledger.append, num_retries=3, timeout_s=1.0,
                             max_continuations=1)
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: client.complete("executor", [{"role": "user", "content": f"task {i}"}],
                                                              prompt_version="v", json_schema=SCHEMA), range(n)))
        stats = httpx.get(f"http://127.0.0.1:{server.port}/stats").json()
    ok = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    assert len(ok) + len(failed) == n  # nothing raised, nothing lost
    assert all(r.error for r in failed)
    assert stats["requests"] > n and sum(stats["faults"].values()) > 0  # faults were injected and retried
    assert {"500", "429"} <= set(stats["faults"])
    validator = Draft202012Validator(SCHEMA)
    for r in ok:  # a successful result either conforms, or says why it cannot be used
        conforms = r.parsed is not None and not list(validator.iter_errors(r.parsed))
        assert conforms or r.parse_error or r.parsed == {"unexpected": True}
    assert len(ok) >= n * 0.8
    assert len(ledger) >= n


def test_server_runs_as_its_own_process():
    proc = subprocess.Popen([sys.executable, "-m", "toolfactory.testing.fake_openai_server", "--port", "0", "--p500", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert httpx.get(f"{url}/health", timeout=10).json() == {"ok": True}
        reply = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        assert reply.json()["choices"][0]["message"]["content"].startswith("ok (2 characters")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("schema, value", [
    ({"type": "string", "enum": ["a", "b"]}, "a"),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, [1, 1]),
    ({"anyOf": [{"type": "null"}, {"type": "boolean"}]}, None),
])
def test_instance_of_cases(schema, value):
    assert instance_of(schema) == value


def test_hundreds_of_dialogues_wait_in_flight_on_one_loop_without_a_thread_each(monkeypatch):
    import threading

    from tasks.documentation.nl_docs import nl_documentation
    from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
    from tasks.simulation.executor import SimulatedExecutor
    from tests.support.specs import SHOP_WITH_RESPONSES as SHOP

    n = 400
    with FakeOpenAIServer(Faults(gather=n)) as server:  # no reply until all n wait on the server together
        client = http_client(server.base_url, monkeypatch, roles=("assistant", "executor"), max_concurrent=n, num_retries=0,
                             max_continuations=0)
        executor = SimulatedExecutor(SHOP, client, api_name="Shop")
        cfg = AssistantConfig(step_mode="json", step_limit=2)  # a call, then the last step must answer
        threads_before = threading.active_count()
        futures = [client.submit(run_dialogue(Task("a" * 16, "d" * 16, f"{i:016x}", f"Find item number {i} for me."),
                                              nl_documentation(SHOP), ["searchItems", "getItem", "reviewItem"], client,
                                              executor, {"assistant": "fake"}, cfg)) for i in range(n)]
        while httpx.get(f"http://127.0.0.1:{server.port}/stats").json()["in_flight"] < n and not futures[0].done():
            time.sleep(0.05)  # until all n are held by the server (or the first came back: then the check below fails)
        threads_during = threading.active_count()  # while all n wait on the server together
        dialogues = [f.result(timeout=120) for f in futures]
        stats = httpx.get(f"http://127.0.0.1:{server.port}/stats").json()
    assert len({d.dialogue_id for d in dialogues}) == n
    assert all(d.stop_reason == "final_answer" and [s.action for s in d.steps] == ["searchItems", None] for d in dialogues)
    assert stats["peak_in_flight"] == n  # every one of them was waiting on the server at once
    assert threads_during - threads_before < 20  # coroutines, not a thread per dialogue
