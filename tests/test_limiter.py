import asyncio

from tasks.llm.limiter import RateLimiter, group_limits
from tests.support.clock import Clock


def take(lim, tokens=0):
    return asyncio.run(lim.acquire(tokens))


def test_requests_per_minute():
    clock = Clock()
    lim = RateLimiter(rpm=3, clock=clock, sleep=clock.sleep)
    assert [take(lim) for _ in range(3)] == [0.0, 0.0, 0.0]
    waited = take(lim)
    assert waited >= 59.9 and clock.now >= 60.0  # the 4th waits for the first to leave the window


def test_tokens_per_minute():
    clock = Clock()
    lim = RateLimiter(tpm=1000, clock=clock, sleep=clock.sleep)
    take(lim, 600)
    clock.now = 10.0
    take(lim, 300)
    clock.now = 20.0
    assert take(lim, 200) >= 39.9  # must wait until the 600 from t=0 expire at t=60
    assert take(lim, 5000) > 0  # larger than the budget: goes alone once the window is clear


def test_unlimited_never_waits():
    clock = Clock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep)
    assert sum(take(lim, 10_000) for _ in range(100)) == 0


def test_group_limits_from_model_list():
    ml = [{"model_name": "bulk", "litellm_params": {"model": "a", "rpm": 100, "tpm": 1000}},
          {"model_name": "bulk", "litellm_params": {"model": "b", "rpm": 50, "tpm": 500}},
          {"model_name": "open", "litellm_params": {"model": "c", "rpm": 10}},
          {"model_name": "open", "litellm_params": {"model": "d"}}]
    assert group_limits(ml) == {"bulk": (150.0, 1500.0), "open": (None, None)}


def test_the_client_enforces_the_group_limit(fake_llm, monkeypatch):
    from tasks.llm.backend import LLMClient
    from tasks.llm.config import parse_backend_config

    cfg = parse_backend_config({"model_list": [{"model_name": "judge", "litellm_params": {"model": "toolfactory-fake/judge", "rpm": 2}}]})
    client = LLMClient(cfg)
    clock = Clock()
    lim = client.policy.limiters["judge"]
    lim.clock, lim.sleep = clock, clock.sleep
    fake_llm.respond("judge", lambda req: "Yes")
    for i in range(3):
        assert client.complete("judge", [{"role": "user", "content": f"q{i}"}], prompt_version="v").ok
    assert lim.waited_s >= 59.9 and len(fake_llm.calls) == 3
