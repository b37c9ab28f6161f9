"""A run's spend cap (``max_cost_usd``): no new LLM call once reached, the work it cut short is not
landed, and a later run with budget does exactly what is left."""

from __future__ import annotations

import pytest

from flows.build_toolset import run_build_toolset
from flows.simulate_corpus import run_simulate_corpus
from tests.support.scripts import assistant, documenter_responder, user
from warehouse import Warehouse


@pytest.fixture
def priced(fake_llm, prefect_harness):
    fake_llm.cost_per_call = 0.01  # every scripted reply reports one cent
    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    return fake_llm


def test_documentation_stops_at_the_cap_and_the_next_run_finishes(settings, priced):  # noqa: F811
    capped = run_build_toolset(settings.with_overrides(max_cost_usd=0.02, max_concurrent_apis=1))
    assert capped["stopped_by_spend_cap"] >= 1 and capped["documented"] + capped["stopped_by_spend_cap"] == 2
    assert capped["spent_usd"] >= 0.02 and capped["calls_refused_by_cap"] >= 1 and capped["task_failures"] == 0
    with Warehouse.open(settings.warehouse_path) as wh:
        landed = wh.count("api_doc")
        assert wh.count("rejections", "detail LIKE '%spend_cap%'") == 0  # nothing cut short was landed
    rest = run_build_toolset(settings)
    assert rest["skipped_existing"] == landed and rest["valid"] == 2 - landed and rest["stopped_by_spend_cap"] == 0


def test_simulation_stops_at_the_cap_keeps_whole_dialogues_and_resumes(settings, priced):  # noqa: F811
    assert run_build_toolset(settings)["valid"] == 2
    spent_before = len(priced.calls)
    capped = run_simulate_corpus(settings.with_overrides(max_cost_usd=0.08, max_concurrent_dialogues=1, max_concurrent_apis=1))
    assert capped["stop_reasons"].get("stopped_by_spend_cap", 0) >= 1 and capped["calls_refused_by_cap"] >= 1
    assert len(priced.calls) - spent_before <= 8 + 1  # at most one call in flight past the cap
    with Warehouse.open(settings.warehouse_path) as wh:
        kept = wh.count("dialogue")
        assert kept < 6 and wh.count("dialogue", "stop_reason = 'llm_error'") == 0  # only whole dialogues are kept
    rest = run_simulate_corpus(settings)
    with Warehouse.open(settings.warehouse_path) as wh:
        assert wh.count("dialogue") == 6 and wh.count("dialogue", "stop_reason = 'final_answer'") == 6
    assert rest["stop_reasons"].get("stopped_by_spend_cap", 0) == 0
