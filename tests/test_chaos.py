"""The whole pipeline (flow `regenerate`: catalog → docs → instructions → dialogues → funnel) over real
HTTP against the fake server answering as scripted agents while it injects 10% 5xx, 5% 429 with
Retry-After, 2% timeouts and 5% malformed bodies, with no retries. Every planned item ends kept,
refused once with a reason, or retryable (nothing landed for it); the counts reconcile between the
plan, the run's summary, the LLM ledger and the views; and a second run after the outage finishes
exactly what the first left."""

from collections import Counter

import httpx
import pytest

from flows.pipeline import regenerate, run_report
from flows.settings import describe, load_settings
from flows.simulation_plan import instruction_plan, spread_chain_share
from tasks.prompts import load_prompt
from tasks.simulation.instructions import shortfall_ids
from tests.support.net import served_backends
from tests.support.scripts import CATALOG, ROLES, agents
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults
from warehouse import Warehouse

STOPS = {"final_answer", "step_limit", "gave_up", "llm_error"}




@pytest.fixture
def chaos(prefect_harness, workdir, monkeypatch):
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", "sk-test-not-a-real-key")
    faults = Faults(latency=0.005, p500=0.10, p429=0.05, retry_after=0.05, ptimeout=0.02, hang=1.5, pmalformed=0.05, seed=5)
    with FakeOpenAIServer(faults, responder=agents) as server:
        (workdir / "catalog.csv").write_text(CATALOG)
        served_backends(workdir / "backends.yaml", server.base_url, ROLES)
        (workdir / "toolfactory.yaml").write_text(
            "backends_file: backends.yaml\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 0\n"
            "llm_timeout_s: 1\nrepair_rounds: 1\ninstructions_per_api: 3\nmissing_detail_share: 0.34\nunanswerable_share: 0\n"
            "multi_api_share: 0\nmax_concurrent_dialogues: 8\ndialogue_step_limit: 4\ncuration_tokenizer: words\n"
            "training_auto: false\n")
        yield load_settings(), server, faults


def reconcile(wh, settings, out) -> dict:
    """After a run: every planned item is kept, refused once with a reason, or left retryable (an LLM
    error after retries: nothing landed for it) — planned = kept + refused + retryable at each stage.
    Returns the retryable counts per stage."""
    q = wh.execute
    catalog = {a for (a,) in q("SELECT api_id FROM catalog")}
    docs = dict(q("SELECT api_id, status FROM apis"))
    assert len(q("SELECT api_id FROM apis")) == len(docs)  # one current doc each
    refused_docs = {a for (a,) in q("SELECT DISTINCT subject_id FROM rejections WHERE stage = 'documentation' AND reason <> ''")}
    assert {a for a, s in docs.items() if s == "invalid"} <= refused_docs
    assert wh.count("rejections", "stage = 'documentation' AND reason = 'llm_error'") == 0  # transient is never a result
    left = {"docs": len(catalog - set(docs))}

    prompt, model = load_prompt("user_instructions").version, describe_model(settings, "user")
    kept = Counter(q("SELECT api_id, kind FROM instructions"))
    left["instruction_kinds"] = 0
    docs = {d.doc_id: d for d in wh.valid_docs()}
    for api_id, doc_id in q("SELECT api_id, doc_id FROM apis WHERE status = 'valid'"):
        plan = instruction_plan(spread_chain_share(settings, list(docs.values())), docs[doc_id])  # the flow's plan for this doc
        settled = set(wh.existing_rejection_ids(list(shortfall_ids(doc_id, plan, prompt, model))))
        settled_kinds = {shortfall_ids(doc_id, plan, prompt, model)[i] for i in settled}
        for kind, n in plan.items():
            assert kept[(api_id, kind)] <= n and len([k for k in settled_kinds if k == kind]) <= 1
            if kept[(api_id, kind)] < n and kind not in settled_kinds:
                left["instruction_kinds"] += 1
    assert wh.count("rejections", "stage = 'instruction' AND reason = 'llm_error'") == 0
    # a refusal once per subject, reason and config: no shortfall of a kind refused twice
    assert q("SELECT count(*) FROM (SELECT subject_id, reason, split_part(detail, ':', 1) FROM rejections "
             "WHERE stage = 'instruction' AND reason IN ('too_few', 'instructions_unparsable', 'instructions_wrong_shape') "
             "GROUP BY ALL HAVING count(*) > 1)")[0][0] == 0

    per_instruction = dict(q("SELECT i.instruction_id, count(d.dialogue_id) FROM instructions i "
                             "LEFT JOIN dialogues d USING (instruction_id) GROUP BY 1"))
    assert set(per_instruction.values()) <= {0, 1}
    left["dialogues"] = sum(n == 0 for n in per_instruction.values())
    assert {s for (s,) in q("SELECT DISTINCT stop_reason FROM dialogues")} <= STOPS
    assert wh.count("steps", "error = 'llm_error'") == 0 and wh.count("steps", "NOT valid AND error IS NULL") == 0

    dialogues = {d for (d,) in q("SELECT dialogue_id FROM dialogues")}
    clean = {d for (d,) in q("SELECT dialogue_id FROM clean_instances")}
    refusals = Counter(d for d, r in q("SELECT dialogue_id, reason FROM current_verdicts WHERE NOT kept") if r)
    assert clean.isdisjoint(refusals) and set(refusals.values()) <= {1}
    assert wh.count("current_verdicts", "NOT kept AND (reason IS NULL OR reason = '')") == 0
    assert wh.count("current_verdicts", "reason = 'llm_error'") == 0
    left["undecided"] = len(dialogues - clean - set(refusals))
    assert out["curation"]["clean_instances"] == len(clean)

    counted = sum((out[s] or {}).get("llm_calls", 0) for s in ("toolset", "simulation", "curation"))
    assert wh.count("llm_calls", "status = 'error' AND coalesce(error, '') = ''") == 0
    return {**left, "counted_calls": counted}


def describe_model(settings, role):
    from tasks.llm.config import load_backend_config

    return load_backend_config(settings.backends_file).signature(role)


@pytest.mark.slow  # over 10 s
def test_every_planned_item_ends_kept_refused_or_retryable_and_the_next_run_finishes_it(chaos, workdir):
    settings, server, faults = chaos
    out = regenerate(settings=describe(settings), catalog=str(workdir / "catalog.csv"))
    stats = httpx.get(f"http://127.0.0.1:{server.port}/stats").json()
    assert {"500", "429", "malformed"} <= set(stats["faults"]) and stats["requests"] > 30  # the faults were injected

    with Warehouse.open(settings.warehouse_path) as wh:
        first = reconcile(wh, settings, out)
        calls_before = wh.count("llm_calls")
        assert calls_before == first["counted_calls"] and stats["requests"] >= calls_before
        landed = {t: {r for (r,) in wh.execute(f"SELECT {k} FROM {t}")} for t, k in
                  (("apis", "doc_id"), ("instructions", "instruction_id"), ("dialogues", "dialogue_id"), ("rejection", "rejection_id"))}
    # what the run said it left is what the warehouse shows left
    sim = out["simulation"]["stop_reasons"]
    assert first["docs"] == out["toolset"]["retryable"] > 0
    assert first["instruction_kinds"] == sim.get("instructions_retryable_llm_error", 0)
    assert first["dialogues"] == sim.get("retryable_llm_error", 0)
    assert first["undecided"] == out["curation"]["retryable"]
    assert sum(v for k, v in first.items() if k != "counted_calls") > 0
    report = run_report(out)  # the run's report says what it left for the next run
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in report.splitlines()
                                          if line.startswith("| "))}
    assert rows["documentation"][5] == str(first["docs"]) and rows["curation"][5] == str(first["undecided"])
    assert rows["simulation"][5] == str(first["dialogues"] + first["instruction_kinds"])

    print(f"\nleft after the first run: {first}; planned: 6 APIs, {len(landed['instructions'])} instructions kept")
    faults.p500 = faults.p429 = faults.ptimeout = faults.pmalformed = 0.0  # the outage is over
    again = regenerate(settings=describe(settings), catalog=str(workdir / "catalog.csv"))
    with Warehouse.open(settings.warehouse_path) as wh:
        second = reconcile(wh, settings, again)
        # the second run finished what the first left, and kept everything the first decided
        assert {k: v for k, v in second.items() if k != "counted_calls"} == {"docs": 0, "instruction_kinds": 0, "dialogues": 0,
                                                                             "undecided": 0}
        for t, k in (("apis", "doc_id"), ("instructions", "instruction_id"), ("dialogues", "dialogue_id"), ("rejection", "rejection_id")):
            assert landed[t] <= {r for (r,) in wh.execute(f"SELECT {k} FROM {t}")}, t
        assert wh.count("llm_calls") == calls_before + second["counted_calls"]
    print(f"left after the second run: {second}; {again['toolset']['documented']} APIs documented now")
    assert again["toolset"]["documented"] == first["docs"] and again["toolset"]["skipped_existing"] == 6 - first["docs"]
