"""The estimate before a run: calls per role from the work left, tokens and prices per role."""

from __future__ import annotations

import pytest

from tasks.llm.cost_estimate import DEFAULT_TOKENS, Plan, estimate, plan_calls


def test_calls_follow_the_work_left():
    calls = plan_calls(Plan(apis_to_document=4, apis_to_simulate=3, dialogues=30, dialogues_to_judge=20, spec_mode="operations",
                            functions_per_api=5, repair_rounds=2, steps_per_dialogue=3, missing_detail_share=0.1))
    assert calls == {"documenter": 4 * (1 + 5 + 1), "user": 3 + 3.0, "assistant": 90, "executor": 60, "judge": 20.0}
    turns = plan_calls(Plan(0, 3, 30, 0, steps_per_dialogue=3, missing_detail_share=0.1, follow_up_turns=0.45))
    assert turns["user"] == pytest.approx(3 + 30 * (0.1 + 0.45))  # each follow-up turn is a user call
    openapi = plan_calls(Plan(4, 0, 0, 0, spec_mode="openapi", repair_rounds=2))
    assert openapi["documenter"] == 4 * 3 and openapi["assistant"] == 0


def test_prices_and_unknown_prices():
    out = estimate({"documenter": 10, "judge": 5, "user": 0}, {"documenter": (1000, 200)},
                   {"documenter": (1e-6, 2e-6), "judge": None})
    by = {r["role"]: r for r in out["roles"]}
    assert set(by) == {"documenter", "judge"}  # no calls, no row
    assert by["documenter"] == {"role": "documenter", "calls": 10, "prompt_tokens": 10_000, "completion_tokens": 2000,
                                "cost_usd": round(10 * (1000 * 1e-6 + 200 * 2e-6), 4)}
    assert by["judge"]["cost_usd"] is None and by["judge"]["prompt_tokens"] == 5 * DEFAULT_TOKENS["judge"][0]
    assert out["unpriced_roles"] == ["judge"] and out["cost_usd"] == by["documenter"]["cost_usd"]  # unknown is not 0


@pytest.fixture
def priced_settings(workdir, fixtures):
    from flows.catalog_import import import_catalog
    from flows.settings import load_settings

    (workdir / "backends.yaml").write_text(
        "model_list:\n"
        "  - model_name: documenter\n    litellm_params: {model: openai/gpt-4o-mini}\n"
        "  - model_name: assistant\n    litellm_params: {model: openai/gpt-4o-mini}\n"
        "  - model_name: user\n    litellm_params: {model: openai/gpt-4o-mini}\n"
        "  - model_name: executor\n    litellm_params: {model: openai/gpt-4o-mini}\n"
        "  - model_name: judge\n    litellm_params: {model: someone/unpriced-model}\n")
    (workdir / "toolfactory.yaml").write_text("backends_file: backends.yaml\nwarehouse_path: wh.duckdb\ninstructions_per_api: 4\n"
                                              "max_cost_usd: 2.5\n")
    s = load_settings()
    import_catalog(s, fixtures / "catalog.csv")
    return s


def test_the_estimate_of_a_run_and_the_command_that_prints_it(priced_settings, capsys):
    from flows.estimate import estimate_run
    from tasks.llm.transport import price_per_token
    from toolfactory.cli import main
    from warehouse import Warehouse

    with Warehouse.open(priced_settings.warehouse_path) as wh:
        ids = [e.api_id for e in wh.catalog_entries()]
    est = estimate_run(priced_settings, ids)
    assert est["apis_to_document"] == len(ids) and est["tokens_from"] == "defaults"
    assert est["dialogues"] == round(len(ids) * 0.5 * 4)  # half the docs expected valid when there is no history
    pin, pout = price_per_token("openai/gpt-4o-mini")
    doc = next(r for r in est["roles"] if r["role"] == "documenter")
    assert doc["cost_usd"] == round(doc["prompt_tokens"] * pin + doc["completion_tokens"] * pout, 4) > 0
    assert est["unpriced_roles"] == ["judge"] and est["spend_cap_usd"] == 2.5
    assert main(["run", "--catalog", "sample", "--max-apis", "2", "--estimate-only"]) == 0  # no LLM is reachable: none is called
    out = capsys.readouterr().out
    assert "2 APIs to document" in out and "unknown for judge" in out and "spend cap                  $2.5" in out
