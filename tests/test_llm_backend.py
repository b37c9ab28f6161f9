"""The LLM layer through litellm's Router with the scripted fake provider (the production path)."""


import pytest

from tasks.llm.backend import LLMClient
from tasks.llm.budget import SpendCap
from tasks.llm.config import BackendConfigError, load_backend_config, parse_backend_config
from tasks.llm.errors import NoModelGroup, ProviderError, SpendCapReached
from tasks.llm.jsontext import extract_json
from toolfactory.testing.fake_llm import FakeError, FakeReply


def client(**kw):
    return LLMClient(load_backend_config("fake"), **kw)


def test_roles_map_to_model_groups_and_calls_are_recorded(fake_llm):
    ledger = []
    fake_llm.queue("documenter", {"ok": True})
    fake_llm.queue("judge", "Yes")
    c = client(ledger=ledger.append)
    r = c.complete("documenter", [{"role": "user", "content": "hello"}], prompt_version="p1", subject_id="api1",
                   json_schema={"type": "object"}, max_tokens=50, temperature=0.1)
    assert r.ok and r.parsed == {"ok": True} and r.model == "toolfactory-fake/documenter"
    assert r.cost_usd == 0.0 and r.completion_tokens > 0 and r.latency_s > 0
    req = fake_llm.calls[0]
    assert req.role == "documenter" and req.json_schema == {"type": "object"}
    assert req.max_tokens == 50 and req.temperature == 0.1
    assert req.params["response_format"]["type"] == "json_schema"
    assert c.complete("judge", [{"role": "user", "content": "?"}], prompt_version="p2").text == "Yes"
    assert [(x.role, x.prompt_version, x.subject_id, x.status) for x in ledger] == [
        ("documenter", "p1", "api1", "ok"), ("judge", "p2", "", "ok")]


def test_truncated_reply_is_continued_not_dropped(fake_llm):
    fake_llm.queue("documenter", FakeReply('{"a": [1, 2', "length"), FakeReply(", 3]}", "stop"))
    r = client(max_continuations=2).complete("documenter", [{"role": "user", "content": "x"}], prompt_version="v",
                                             json_schema={"type": "object"})
    assert r.parsed == {"a": [1, 2, 3]} and r.continuations == 1 and r.calls == 2
    second = fake_llm.calls[1]
    assert second.json_schema is None  # the continuation is free text appended to the cut reply
    assert second.messages[-2] == {"role": "assistant", "content": '{"a": [1, 2'}


def test_continuations_are_bounded(fake_llm):
    fake_llm.respond("documenter", lambda req: FakeReply('{"a": "', "length"))
    r = client(max_continuations=1).complete("documenter", [{"role": "user", "content": "x"}], prompt_version="v",
                                             json_schema={"type": "object"})
    assert r.calls == 2 and r.parsed is None and "cut off by the token limit" in r.parse_error


def test_rate_limit_is_retried_honouring_retry_after(fake_llm):
    fake_llm.queue("documenter", FakeError(429, "slow down", retry_after=7), FakeError(500, "oops"), "fine")
    c = client(num_retries=2)
    waits = []

    async def recorded(seconds):
        waits.append(seconds)

    c.transport.sleep = recorded
    r = c.complete("documenter", [{"role": "user", "content": "x"}], prompt_version="v")
    assert r.ok and r.text == "fine" and len(fake_llm.calls) == 3
    assert waits == [7.0, 1.0]  # the server's Retry-After, then backoff (0.5 s doubled on the second try)


def test_timeouts_are_retried(fake_llm):
    fake_llm.queue("executor", FakeError(408, "took too long"), "in time")
    r = client(num_retries=1).complete("executor", [{"role": "user", "content": "x"}], prompt_version="v")
    assert r.ok and r.text == "in time" and len(fake_llm.calls) == 2


def test_server_error_after_retries_becomes_a_result_not_an_exception(fake_llm):
    fake_llm.respond("documenter", lambda req: FakeError(500, "boom"))
    ledger = []
    r = client(num_retries=1, ledger=ledger.append).complete("documenter", [{"role": "user", "content": "x"}], prompt_version="v")
    assert not r.ok and "boom" in r.error and isinstance(r.failure, ProviderError)
    with pytest.raises(ProviderError, match="boom"):
        r.raise_for_failure()
    assert len(fake_llm.calls) == 2  # first try + one retry
    assert ledger[-1].status == "error" and "boom" in ledger[-1].error


def test_bad_requests_are_not_retried(fake_llm):
    fake_llm.queue("executor", FakeError(400, "no such parameter"), "never sent")
    r = client(num_retries=3).complete("executor", [{"role": "user", "content": "x"}], prompt_version="v")
    assert not r.ok and "no such parameter" in r.error and len(fake_llm.calls) == 1


def test_only_plain_single_deployment_groups_skip_the_router(monkeypatch):
    monkeypatch.setenv("TF_KEY", "sk-from-env")
    one = {"model_name": "solo", "litellm_params": {"model": "openai/x", "api_key": "os.environ/TF_KEY", "rpm": 10}}
    two = [{"model_name": "pair", "litellm_params": {"model": f"openai/{m}"}} for m in "ab"]
    plain = LLMClient(parse_backend_config({"model_list": [one, *two]}), timeout_s=7)
    direct = plain.transport.direct_params("solo")
    assert direct["api_key"] == "sk-from-env" and "rpm" not in direct and direct["timeout"] == 7 and direct["max_retries"] == 0
    assert plain.transport.direct_params("pair") is None  # load balancing is the Router's
    with_fallbacks = LLMClient(parse_backend_config({"model_list": [one, *two], "router_settings": {"fallbacks": [{"solo": ["pair"]}]}}))
    assert with_fallbacks.transport.direct_params("solo") is None


def test_fallback_to_another_model_group(fake_llm):
    cfg = parse_backend_config({
        "model_list": [
            {"model_name": "primary", "litellm_params": {"model": "toolfactory-fake/primary"}},
            {"model_name": "backup", "litellm_params": {"model": "toolfactory-fake/backup"}},
        ],
        "router_settings": {"fallbacks": [{"primary": ["backup"]}], "num_retries": 0},
        "roles": {"documenter": "primary"},
    })
    fake_llm.respond("primary", lambda req: FakeError(503, "down"))
    fake_llm.queue("backup", "from backup")
    r = LLMClient(cfg).complete("documenter", [{"role": "user", "content": "x"}], prompt_version="v")
    assert r.ok and r.text == "from backup"
    assert [c.role for c in fake_llm.calls] == ["primary", "backup"]


def test_unknown_role_is_an_error_result():
    cfg = parse_backend_config({"model_list": [{"model_name": "documenter", "litellm_params": {"model": "toolfactory-fake/documenter"}}]})
    r = LLMClient(cfg).complete("judge", [{"role": "user", "content": "x"}], prompt_version="v")
    assert not r.ok and "judge" in r.error and isinstance(r.failure, NoModelGroup)


def test_a_call_past_the_spend_cap_is_refused_as_a_type_and_not_sent(fake_llm):
    fake_llm.respond("judge", lambda req: "fine")
    cap = SpendCap(0.0)
    r = client(budget=cap).complete("judge", [{"role": "user", "content": "x"}], prompt_version="v")
    assert isinstance(r.failure, SpendCapReached) and r.error.startswith("spend_cap_reached")
    assert fake_llm.calls == [] and cap.refused_calls == 1


def test_ledger_is_the_cache(fake_llm):
    store = {}

    def ledger(call):
        store[call.request_hash] = call

    fake_llm.queue("user", "first answer")
    c = client(ledger=ledger, cache=store.get)
    msgs = [{"role": "user", "content": "same question"}]
    assert c.complete("user", msgs, prompt_version="v").text == "first answer"
    again = c.complete("user", msgs, prompt_version="v")
    assert again.text == "first answer" and again.cached and len(fake_llm.calls) == 1
    fake_llm.queue("user", "other")
    assert c.complete("user", msgs, prompt_version="v", temperature=0.9).text == "other"
    assert len(fake_llm.calls) == 2  # other sampling params are another request


def test_backend_config_validation(tmp_path):
    with pytest.raises(BackendConfigError, match="model_list"):
        parse_backend_config({"model_list": []})
    with pytest.raises(BackendConfigError, match="api_key"):
        parse_backend_config({"model_list": [{"model_name": "x", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-123"}}]})
    with pytest.raises(BackendConfigError, match="roles.judge"):
        parse_backend_config({"model_list": [{"model_name": "x", "litellm_params": {"model": "m"}}], "roles": {"judge": "y"}})
    with pytest.raises(BackendConfigError, match="unknown key"):
        parse_backend_config({"model_list": [{"model_name": "x", "litellm_params": {"model": "m"}}], "modle_list": []})
    ok = parse_backend_config({"model_list": [{"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY"}}],
                               "roles": {"judge": "gpt"}})
    assert ok.models_of("judge") == ["openai/gpt-4o-mini"]
    bad = tmp_path / "b.yaml"
    bad.write_text("model_list: [\n")
    with pytest.raises(BackendConfigError, match="not valid YAML"):
        load_backend_config(bad)


def test_example_backends_file_parses():
    from pathlib import Path

    cfg = load_backend_config(Path(__file__).parents[1] / "config" / "backends.example.yaml")
    for role in ("documenter", "user", "assistant", "executor", "judge"):
        assert cfg.models_of(role), role


@pytest.mark.parametrize("text, value, reason", [
    ('{"a": 1}', {"a": 1}, None),
    ('Sure!\n```json\n{"a": 2}\n```\nbye', {"a": 2}, None),
    ('noise {"a": 3} noise', {"a": 3}, None),
    ("[1, 2]", [1, 2], None),
    ("", None, "empty reply"),
    ("no json here", None, "no JSON object in reply"),
    ('{"a": ', None, "not valid JSON"),
    ('{"a": "two\nlines"}', {"a": "two\nlines"}, None),  # a raw newline inside a string (small models write them)
])
def test_extract_json(text, value, reason):
    got, why = extract_json(text)
    assert got == value
    assert (why is None) if reason is None else why.startswith(reason)


def test_work_on_the_llm_loop_does_not_keep_the_callers_context():
    """A Prefect task's context holds its parameters (an open warehouse); what runs on the process's
    LLM loop must not copy it, or it lives as long as the loop (and DuckDB complains at exit)."""
    import contextvars
    import subprocess
    import sys

    probe = contextvars.ContextVar("probe")
    probe.set("the caller's")

    async def read():
        return probe.get(None)

    assert client().run(read()) is None
    # the loop itself, made on first use from a context holding a value, keeps none of it either
    code = ("import contextvars, gc; v = contextvars.ContextVar('v'); marker = type('Marker', (), {})\n"
            "v.set(marker())\nfrom tasks.llm.loop import llm_loop\nloop = llm_loop()\nv.set(None); gc.collect()\n"
            "print(sum(type(o).__name__ == 'Marker' for o in gc.get_objects()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "0", out.stderr
