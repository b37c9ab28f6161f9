"""One short real generation on the embedded model (SmolLM2-135M on llama.cpp: the prebuilt runtime
that `make setup` installs, or llama-cpp-python where that is installed), through the same litellm
Router path the flows use, with a JSON-schema grammar."""
import asyncio

import pytest
from jsonschema import Draft202012Validator

from schemas import load_schema
from tasks.llm.llama_runtime import prebuilt_module_path
from tasks.llm.local_engine import grammar_safe_schema

if prebuilt_module_path() is None:
    pytest.importorskip("llama_cpp", reason="no llama.cpp runtime: the embedded backend is installed by `make setup`")


@pytest.mark.local_llm
def test_local_generation_follows_the_schema():
    from tasks.llm.backend import LLMClient
    from tasks.llm.config import load_backend_config

    calls = []
    client = LLMClient(load_backend_config("local"), ledger=calls.append)
    schema = load_schema("llm_operation")
    r = client.complete(
        "documenter",
        [{"role": "system", "content": "Describe one web API function as JSON."},
         {"role": "user", "content": "Function getForecast: weather forecast for a city."}],
        prompt_version="smoke", json_schema=schema, max_tokens=200, temperature=0.0, seed=1,
    )
    assert r.ok, r.error
    assert r.model == "toolfactory-local/smollm2" and r.cost_usd == 0.0
    assert r.completion_tokens > 0 and r.prompt_tokens > 0
    assert calls and calls[0].status == "ok"
    if r.finish_reason == "stop":
        # a finished reply follows the grammar: valid against the schema as enforced (long bounds relaxed)
        assert r.parse_error is None
        assert list(Draft202012Validator(grammar_safe_schema(schema)).iter_errors(r.parsed)) == []
        assert r.parsed["method"] in ("get", "post")
    else:
        assert r.finish_reason == "length" and r.continuations >= 0


def test_grammar_safe_schema_bounds_repetitions():
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "maxLength": 2000, "minLength": 20},
        "b": {"type": "string", "pattern": "^[a-z]{2,40}(/[a-z]{1,8}){0,2}$"},
        "c": {"type": "string", "maxLength": 10}}}
    safe = grammar_safe_schema(schema)
    assert safe["properties"]["a"] == {"type": "string", "minLength": 1}
    assert safe["properties"]["b"]["pattern"] == "^[a-z]+(/[a-z]{1,8}){0,2}$"
    assert safe["properties"]["c"] == {"type": "string", "maxLength": 10}
    assert schema["properties"]["a"]["maxLength"] == 2000  # the original is untouched


@pytest.mark.local_llm
def test_a_smoke_dialogue_on_the_embedded_model(fixtures):
    import json

    from schemas import validate_record
    from tasks.documentation.nl_docs import derive_functions, nl_documentation
    from tasks.llm.backend import LLMClient
    from tasks.llm.config import load_backend_config
    from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
    from tasks.simulation.executor import SimulatedExecutor

    spec = json.loads((fixtures / "good_spec.json").read_text())
    calls = []
    client = LLMClient(load_backend_config("local"), ledger=calls.append, max_continuations=0)
    executor = SimulatedExecutor(spec, client, api_name="Book Library", max_tokens=150)
    task = Task("a" * 16, "d" * 16, "e" * 16, "Find books about gardening in French.")
    d = asyncio.run(run_dialogue(task, nl_documentation(spec), [f.name for f in derive_functions(spec)], client, executor,
                     {"assistant": "toolfactory-local/smollm2"}, AssistantConfig(step_limit=2, max_tokens=120)))
    assert validate_record("dialogue", d.to_dict()) == []
    assert 1 <= len(d.steps) <= 2 and d.stop_reason in ("final_answer", "step_limit", "gave_up")
    for step in d.steps:  # every turn ended in a final answer or got an observation
        assert step.observation or d.final_answer
    assert {c.role for c in calls} <= {"assistant", "executor", "user"} and all(c.status == "ok" for c in calls)
