"""simulate-corpus over real HTTP against the fake server injecting 500s, 429s with Retry-After,
timeouts, malformed bodies, truncated and schema-violating replies: the flow does not crash, every
instruction kept ends in exactly one dialogue, and whatever failed says why."""

import json

import httpx

from flows.docs_import import import_docs
from flows.settings import load_settings
from flows.simulate_corpus import run_simulate_corpus
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults
from warehouse import Warehouse

STOPS = {"final_answer", "step_limit", "gave_up", "llm_error"}


def test_every_planned_dialogue_ends_once_with_a_reason_under_faults(prefect_harness, workdir, fixtures, monkeypatch):
    spec = json.loads((fixtures / "good_spec.json").read_text())
    (workdir / "specs").mkdir()
    for i in range(4):
        spec["info"]["title"] = f"Library {i}"
        (workdir / "specs" / f"lib{i}.json").write_text(json.dumps(spec))
    faults = Faults(latency=0.01, p500=0.12, p429=0.08, retry_after=0.1, ptimeout=0.1, hang=2.0, pmalformed=0.06,
                    ptruncated=0.05, pwrong_schema=0.08, seed=11)
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", "sk-test")
    with FakeOpenAIServer(faults) as server:
        (workdir / "backends.yaml").write_text("model_list:\n" + "".join(
            f"  - model_name: {role}\n    litellm_params: {{model: openai/fake-model, api_base: '{server.base_url}', "
            "api_key: os.environ/TF_FAKE_OPENAI_KEY}\n" for role in ("documenter", "user", "assistant", "executor", "judge")))
        (workdir / "toolfactory.yaml").write_text(
            "backends_file: backends.yaml\nwarehouse_path: wh.duckdb\ninstructions_per_api: 4\nmissing_detail_share: 0.25\n"
            "unanswerable_share: 0.25\nmulti_api_share: 0.25\nllm_num_retries: 1\nllm_timeout_s: 1\n"
            "assistant_step_mode: json\ndialogue_step_limit: 3\n")
        settings = load_settings()
        assert import_docs(settings, workdir / "specs", category="Books")["usable"] == 4
        summary = run_simulate_corpus(settings)
        with Warehouse.open(settings.warehouse_path) as wh:  # dialogues an LLM error cut short were not landed
            left = wh.count("instructions i", "NOT EXISTS (SELECT 1 FROM dialogues d WHERE d.instruction_id = i.instruction_id)")
        assert left == summary["stop_reasons"].get("retryable_llm_error", 0)
        again = run_simulate_corpus(settings)
        stats = httpx.get(f"http://127.0.0.1:{server.port}/stats").json()
    assert summary["task_failures"] == 0 and again["task_failures"] == 0
    # the faults really were injected: the server draws one per request from its seeded RNG, in arrival order, and
    # with seed 11 the first 20 draws hold these (a timeout is counted only when its 2 s hang ends, so not here)
    assert stats["requests"] >= 20 and {"500", "429", "malformed", "wrong_schema"} <= set(stats["faults"])
    with Warehouse.open(settings.warehouse_path) as wh:
        per_instruction = dict(wh.execute("SELECT i.instruction_id, count(d.dialogue_id) FROM instructions i "
                                          "LEFT JOIN dialogues d USING (instruction_id) GROUP BY 1"))
        stops = {s for (s,) in wh.execute("SELECT DISTINCT stop_reason FROM dialogues")}
        unexplained = wh.count("steps", "NOT valid AND error IS NULL")
        refused = wh.execute("SELECT reason, count(*) FROM rejections WHERE stage = 'instruction' GROUP BY 1")
        failed_calls = wh.count("llm_calls", "status = 'error' AND (error IS NULL OR error = '')")
    # every instruction kept: one dialogue, never two; none, only where the re-run's LLM calls failed too
    assert per_instruction and set(per_instruction.values()) <= {0, 1}
    assert sum(n == 0 for n in per_instruction.values()) == again["stop_reasons"].get("retryable_llm_error", 0)
    assert stops <= STOPS and unexplained == 0 and failed_calls == 0
    assert all(reason for reason, _ in refused)  # instruction calls that failed left their reason
    # the re-run ran what the first left (and the instructions it wrote where the first run's calls failed)
    assert again["dialogues"] == left + again["instructions"] - summary["instructions"] and left > 0
