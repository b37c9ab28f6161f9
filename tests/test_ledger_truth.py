"""The ledger records a reply exactly as it came and replays it exactly: for any reply shape (null or
empty content, reasoning, several tool calls with any argument text and IDs, any finish reason) sent by
the fake OpenAI server on 127.0.0.1 through either transport, the row landed in the warehouse and read
back as the cache gives the same ``LLMResult`` the live call gave (only ``cached`` differs). And the
cache key names who answered: the same group name pointing at another server, model or sampling default
is another request."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.runtime import RunLedger
from tasks.llm.backend import LLMClient
from tasks.llm.config import parse_backend_config
from toolfactory.testing.fake_llm import FakeReply
from toolfactory.testing.fake_openai_server import FakeOpenAIServer
from warehouse.store import Warehouse

KEY = "sk-test-ledger-0123456789abcdef"
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
ARGUMENTS = st.one_of(TEXT, st.just(""), st.just('{"q": "ünïcode", "n": [1, 2.5, null]}'), st.just('{"broken": '),
                      st.just('"double \\"encoded\\""'), st.just("[]"))
CALL = st.fixed_dictionaries({"id": st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=12),
                              "name": st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=12),
                              "arguments": ARGUMENTS})
REPLY = st.builds(FakeReply, text=st.one_of(st.none(), st.just(""), TEXT), reasoning=st.one_of(st.none(), TEXT),
                  tool_calls=st.one_of(st.none(), st.lists(CALL, min_size=1, max_size=3)),
                  finish_reason=st.sampled_from(["stop", "tool_calls", "content_filter"]))


def client(monkeypatch, base_url, transport, ledger=None, cache=None, model="openai/fake-model", **params):
    monkeypatch.setenv("TF_LEDGER_KEY", KEY)
    entry = {"model_name": "assistant", "litellm_params": {"model": model, "api_base": base_url,
                                                             "api_key": "os.environ/TF_LEDGER_KEY", **params}}
    return LLMClient(parse_backend_config({"model_list": [entry]}), transport=transport, num_retries=0,
                     ledger=ledger, cache=cache)


def live_and_replayed(monkeypatch, server, transport, wh, prompt):
    """The live result of one request, then the result the warehouse's ledger gives for it again."""
    ledger = RunLedger(wh, max_delay_s=0.0)
    c = client(monkeypatch, server.base_url, transport, ledger, ledger.lookup)
    messages = [{"role": "user", "content": prompt}]
    live = c.complete("assistant", messages, prompt_version="v", tools=TOOLS)
    ledger.close()
    ledger = RunLedger(wh, max_delay_s=0.0)
    again = client(monkeypatch, server.base_url, transport, ledger, ledger.lookup)
    replayed = again.complete("assistant", messages, prompt_version="v", tools=TOOLS)
    c.close(), again.close(), ledger.close()
    return live, replayed


def comparable(result):
    return {k: v for k, v in vars(result).items() if k not in ("cached", "failure")}


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    """One fake server answering each prompt with the reply scripted for it, and one warehouse."""
    replies = {}
    with FakeOpenAIServer(responder=lambda req: replies[req.last_user]) as server, \
            Warehouse.open(tmp_path_factory.mktemp("wh") / "w.duckdb") as wh:
        yield server, wh, replies


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["fast", "litellm"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=REPLY)
def test_any_reply_is_recorded_and_replayed_exactly(monkeypatch, stage, transport, reply):
    server, wh, replies = stage
    prompt = f"ask {transport} {len(replies)}"
    replies[prompt] = reply
    before = requests_of(server)
    live, replayed = live_and_replayed(monkeypatch, server, transport, wh, prompt)
    assert requests_of(server) == before + 1  # the replay sent nothing
    assert live.ok and not live.cached and replayed.cached
    assert comparable(replayed) == comparable(live)
    assert live.content_null == (reply.text is None)
    assert live.reasoning == reply.reasoning
    assert [(c["id"], c["name"], c["arguments"]) for c in live.tool_calls] == \
        [(c["id"], c["name"], c["arguments"]) for c in reply.tool_calls or []]


def requests_of(server):
    import httpx

    return httpx.get(f"http://127.0.0.1:{server.port}/stats").json()["requests"]


def test_the_stored_row_keeps_nulls_reasoning_and_tool_calls_as_columns(monkeypatch, tmp_path):
    reply = FakeReply(None, "tool_calls", tool_calls=[{"id": "c1", "name": "f", "arguments": '{"q": "x"}'},
                                                      {"id": "c2", "name": "g", "arguments": "not json"}], reasoning="thinking…")
    with FakeOpenAIServer(responder=lambda req: reply) as server, Warehouse.open(tmp_path / "w.duckdb") as wh:
        live_and_replayed(monkeypatch, server, "fast", wh, "what is up")
        rows = wh.execute("SELECT response_text, reasoning_text, tool_calls[2].name, tool_calls[2].arguments, "
                          "len(tool_calls), served_by FROM llm_call")
    assert len(rows) == 1  # the replay is not a second row
    text, reasoning, name, arguments, n, served_by = rows[0]
    assert (text, reasoning, name, arguments, n) == (None, "thinking…", "g", "not json", 2)
    assert "127.0.0.1" in served_by and KEY not in served_by


@pytest.mark.parametrize("change", [
    {"base": "other"}, {"model": "openai/another-model"}, {"params": {"temperature": 0.3}},
])
def test_the_same_group_served_by_another_backend_is_another_request(monkeypatch, tmp_path, change):
    answers = iter(["first server", "second server"])
    with FakeOpenAIServer(responder=lambda req: next(answers)) as one, FakeOpenAIServer(responder=lambda req: "other") as two, \
            Warehouse.open(tmp_path / "w.duckdb") as wh:
        ledger = RunLedger(wh, max_delay_s=0.0)
        first = client(monkeypatch, one.base_url, "fast", ledger, ledger.lookup)
        assert first.complete("assistant", [{"role": "user", "content": "q"}], prompt_version="v").text == "first server"
        base = two.base_url if change.get("base") else one.base_url
        moved = client(monkeypatch, base, "fast", ledger, ledger.lookup, model=change.get("model", "openai/fake-model"),
                       **change.get("params", {}))
        again = moved.complete("assistant", [{"role": "user", "content": "q"}], prompt_version="v")
        same = client(monkeypatch, one.base_url, "fast", ledger, ledger.lookup)
        replayed = same.complete("assistant", [{"role": "user", "content": "q"}], prompt_version="v")
        first.close(), moved.close(), same.close(), ledger.close()
    assert not again.cached and again.text in ("other", "second server")
    assert replayed.cached and replayed.text == "first server"  # the unchanged backend still replays its own answer


def test_a_key_or_timeout_change_is_the_same_request(monkeypatch, tmp_path):
    with FakeOpenAIServer(responder=lambda req: "answer") as server, Warehouse.open(tmp_path / "w.duckdb") as wh:
        ledger = RunLedger(wh, max_delay_s=0.0)
        first = client(monkeypatch, server.base_url, "fast", ledger, ledger.lookup)
        first.complete("assistant", [{"role": "user", "content": "q"}], prompt_version="v")
        monkeypatch.setenv("TF_LEDGER_KEY", "sk-rotated-key-0000000000000000")
        entry = {"model_name": "assistant", "litellm_params": {"model": "openai/fake-model", "api_base": server.base_url + "/",
                                                                 "api_key": "os.environ/TF_LEDGER_KEY", "timeout": 99}}
        rotated = LLMClient(parse_backend_config({"model_list": [entry]}), transport="fast", ledger=ledger, cache=ledger.lookup)
        again = rotated.complete("assistant", [{"role": "user", "content": "q"}], prompt_version="v")
        first.close(), rotated.close(), ledger.close()
    assert again.cached  # who answers is the same server and model: a rotated key or a longer timeout changes nothing
