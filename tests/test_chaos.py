"""The whole pipeline (flow `regenerate`: catalog → docs → instructions → dialogues → funnel) over real
HTTP against the fake server answering as scripted agents while it injects 10% 5xx, 5% 429 with
Retry-After, 2% timeouts and 5% malformed bodies. Every planned item ends accepted or refused with a
reason, none twice, and the counts reconcile between the plan, the LLM ledger and the views."""

from collections import Counter

import httpx
import pytest
from conftest import documenter_responder, served_backends
from test_flow_curate import judge
from test_flow_simulate import assistant, user

from flows.pipeline import regenerate
from tasks.instructions import plan_kinds
from tasks.llm.fake import FakeRequest
from toolfactory.settings import describe, load_settings
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults
from warehouse import Warehouse

ROLES = ("documenter", "user", "assistant", "executor", "judge")
STOPS = {"final_answer", "step_limit", "gave_up", "llm_error"}
CATALOG = """name,description,category,link,auth
Moon Phases,Phase of the moon for a place and date,Science,https://moon.example,none
Tide Tables,High and low tides for a harbour,Science,https://tides.example,none
Star Charts,Which stars are visible tonight from a place,Science,https://stars.example,none
Paper Sizes,Dimensions of ISO and US paper formats,Development,https://paper.example,none
Color Names,Name the closest color to a hex code,Development,https://colors.example,apiKey
Unit Convert,Convert between units of measure,Development,https://units.example,none
"""


def agents(req: FakeRequest):
    answer = {"documenter": documenter_responder(), "user": user, "assistant": assistant, "judge": judge,
              "executor": lambda r: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]}}
    return answer[req.role](req)


@pytest.fixture
def chaos(prefect_harness, workdir, monkeypatch):
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", "sk-test-not-a-real-key")
    faults = Faults(latency=0.005, p500=0.10, p429=0.05, retry_after=0.05, ptimeout=0.02, hang=1.5, pmalformed=0.05, seed=5)
    with FakeOpenAIServer(faults, responder=agents) as server:
        (workdir / "catalog.csv").write_text(CATALOG)
        served_backends(workdir / "backends.yaml", server.base_url, ROLES)
        (workdir / "toolfactory.yaml").write_text(
            "backends_file: backends.yaml\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 1\n"
            "llm_timeout_s: 1\nrepair_rounds: 1\ninstructions_per_api: 3\nmissing_detail_share: 0.34\nunanswerable_share: 0\n"
            "multi_api_share: 0\nmax_concurrent_dialogues: 8\ndialogue_step_limit: 4\ncuration_tokenizer: words\n"
            "training_auto: false\n")
        yield load_settings(), server


def test_every_planned_item_ends_once_with_a_reason_and_the_counts_reconcile(chaos, workdir):
    settings, server = chaos
    out = regenerate(settings=describe(settings), catalog=str(workdir / "catalog.csv"))
    stats = httpx.get(f"http://127.0.0.1:{server.port}/stats").json()
    # the faults were injected (drawn per request from the server's seeded RNG)
    assert {"500", "429", "malformed"} <= set(stats["faults"]) and stats["requests"] > 60

    with Warehouse.open(settings.warehouse_path) as wh:
        q = wh.execute
        catalog = {a for (a,) in q("SELECT api_id FROM catalog")}
        # documentation: each planned API has exactly one current doc, valid, or invalid with its reason
        assert out["toolset"]["planned"] == len(catalog) == 6 and out["toolset"]["documented"] == 6
        docs = dict(q("SELECT api_id, status FROM apis"))
        assert set(docs) == catalog and len(q("SELECT api_id FROM apis")) == 6
        refused_docs = {a for (a,) in q("SELECT DISTINCT subject_id FROM rejections WHERE stage = 'documentation' AND reason <> ''")}
        invalid = {a for a, s in docs.items() if s == "invalid"}
        assert invalid <= refused_docs and out["toolset"]["valid"] == len(docs) - len(invalid) > 0

        # instructions: each planned (API, kind) kept in full, or its shortfall refused with a reason
        plan = plan_kinds(settings.instructions_per_api, settings.missing_detail_share, 0, 0)
        kept = Counter(q("SELECT api_id, kind FROM instructions"))
        refused = {(a, d.split(":", 1)[0]) for a, d in q("SELECT subject_id, detail FROM rejections WHERE stage = 'instruction'")}
        for api in (a for a, s in docs.items() if s == "valid"):
            for kind, n in plan.items():
                assert kept[(api, kind)] == n or (api, kind) in refused, (api, kind, kept[(api, kind)])
                assert kept[(api, kind)] <= n

        # dialogues: every kept instruction exactly one, each ended with a known reason; failures say why
        per_instruction = dict(q("SELECT i.instruction_id, count(d.dialogue_id) FROM instructions i "
                                 "LEFT JOIN dialogues d USING (instruction_id) GROUP BY 1"))
        assert per_instruction and set(per_instruction.values()) == {1}
        assert {s for (s,) in q("SELECT DISTINCT stop_reason FROM dialogues")} <= STOPS
        assert wh.count("steps", "NOT valid AND error IS NULL") == 0

        # the funnel: every dialogue decided once — in clean_instances, or refused at exactly one stage with a reason
        dialogues = {d for (d,) in q("SELECT dialogue_id FROM dialogues")}
        clean = {d for (d,) in q("SELECT dialogue_id FROM clean_instances")}
        refusals = Counter(d for d, r in q("SELECT dialogue_id, reason FROM current_verdicts WHERE NOT kept") if r)
        assert clean.isdisjoint(refusals) and clean | set(refusals) == dialogues and set(refusals.values()) <= {1}
        assert wh.count("current_verdicts", "NOT kept AND (reason IS NULL OR reason = '')") == 0
        assert q("SELECT count(*) - count(DISTINCT (dialogue_id, stage)) FROM current_verdicts")[0][0] == 0
        assert out["curation"]["clean_instances"] == len(clean)

        # the ledger: what each stage counted is what landed; every failed call says why
        counted = sum((out[s] or {}).get("llm_calls", 0) for s in ("toolset", "simulation", "curation"))
        assert wh.count("llm_calls") == counted and stats["requests"] >= counted
        assert wh.count("llm_calls", "status = 'error' AND coalesce(error, '') = ''") == 0
        assert wh.count("llm_calls", "status = 'error'") > 0  # some faults got through the retry
        before = {t: wh.count(t) for t in ("apis", "instructions", "dialogues", "current_verdicts")}

    again = regenerate(settings=describe(settings), catalog=str(workdir / "catalog.csv"))
    with Warehouse.open(settings.warehouse_path) as wh:
        # nothing twice: a second run adds no dialogue for an instruction that has one
        assert wh.execute("SELECT count(*) - count(DISTINCT instruction_id) FROM dialogues")[0][0] == 0
        assert wh.count("dialogues") == before["dialogues"] + again["simulation"]["dialogues"]
