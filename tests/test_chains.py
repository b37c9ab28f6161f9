"""Dependent chains (issue 21, part 3): the function graph lands with its evidence, the user agent writes a
request about a sampled chain, generation favours links not yet covered, and a chain dialogue goes
through simulate → curate → export → the training renderer."""

import json
import re

import pytest

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.docs_import import import_docs
from flows.settings import load_settings
from flows.simulate_corpus import run_simulate_corpus
from schemas.records import Dialogue
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.simulation.chain_plan import edge_records, pick_chain
from tasks.simulation.function_graph import graph
from tasks.simulation.instructions import generate_instructions
from tests.support.scripts import schema_name
from tests.support.shop_project import shop_executor, shop_project
from tests.support.specs import SHOP_WITH_RESPONSES
from training.render import paper_text
from warehouse import Warehouse
from warehouse.corpus import DIALOGUE_COLUMNS, dialogue_of

SHOP_EDGES = graph(SHOP_WITH_RESPONSES)


def test_the_shop_graph_and_its_records_carry_evidence():
    links = {(e.source, e.target, e.parameter) for e in SHOP_EDGES}
    assert links == {("searchItems", "getItem", "itemId"), ("searchItems", "reviewItem", "itemId"),
                     ("getItem", "reviewItem", "itemId")}
    records = edge_records("d" * 16, "a" * 16, SHOP_EDGES)
    assert len({r.edge_id for r in records}) == 3 and all(r.evidence for r in records)
    assert edge_records("d" * 16, "a" * 16, SHOP_EDGES) == records  # content IDs: a re-run lands nothing new


def test_a_chain_is_picked_where_the_links_are_not_yet_covered():
    fresh = pick_chain(SHOP_EDGES, set(), seed=0)
    assert fresh is not None and fresh.operations == ("searchItems", "getItem", "reviewItem")  # two new links
    rest = pick_chain(SHOP_EDGES, {("searchItems", "getItem"), ("getItem", "reviewItem")}, seed=0)
    assert rest is not None and rest.links == [("searchItems", "reviewItem")]  # the only link left uncovered
    assert {pick_chain(SHOP_EDGES, set(fresh.links) | set(rest.links), seed=s).operations for s in range(12)} > {fresh.operations}
    assert pick_chain([], set(), seed=0) is None


def test_the_user_agent_is_told_the_chain_and_the_instruction_keeps_it(fake_llm):
    fake_llm.queue("user", {"instructions": ["Find a desk lamp and tell me what the cheapest one costs."]})
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    chain = pick_chain(SHOP_EDGES, set(), seed=0)
    batch = generate_instructions(client, api_id="a" * 16, doc_id="d" * 16, api_name="Shop", functions_doc="searchItems: …",
                                  counts={"chain": 1}, model="fake", chain=chain)
    (only,) = batch.instructions
    assert only.kind == "chain" and only.chain == ["searchItems", "getItem", "reviewItem"]
    assert only.details == "searchItems → getItem (its itemId from results[].itemId) → reviewItem (its itemId from itemId)"
    assert only.details in fake_llm.calls[0].last_user
    none = generate_instructions(client, api_id="a" * 16, doc_id="d" * 16, api_name="Shop", functions_doc="…",
                                 counts={"chain": 2}, model="fake")
    assert [r.reason for r in none.rejections] == ["no_chain"] and len(fake_llm.calls) == 1


# the flow --------------------------------------------------------------------------------------
NORMAL = ["Show me desk lamps that are in stock."]
CHAIN = ["Find a desk lamp and tell me what it costs."]


def user(req):
    if schema_name(req) == "instructions":
        return {"instructions": CHAIN if "in this order" in req.last_user else NORMAL}
    return "Any lamp will do."


def assistant(req):
    first_user = req.messages[1]["content"]
    turns = sum(1 for m in req.messages if m["role"] == "assistant")
    found = re.findall(r'"itemId": ?(\d+)', json.dumps([m["content"] for m in req.messages]).replace('\\"', '"'))
    if first_user in CHAIN and turns == 1:  # the id the search returned feeds the next calls
        return f'Thought: now its price\nAction: getItem\nAction Input: {{"itemId": {found[-1]}}}'
    if first_user in CHAIN and turns == 2:
        return f'Thought: and review it\nAction: reviewItem\nAction Input: {{"itemId": {found[-1]}, "stars": 5}}'
    if turns == 0:
        return 'Thought: search\nAction: searchItems\nAction Input: {"q": "desk lamp"}'
    return "Thought: done\nFinal Answer: The lamp costs 19.5."


@pytest.fixture
def project(workdir):
    return shop_project(workdir, chain_share=0.5)


def test_a_chain_dialogue_from_simulation_to_the_training_text(prefect_harness, project, fake_llm, tmp_path):
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", shop_executor)
    summary = run_simulate_corpus(project)
    assert summary["dialogues"] == 2 and summary["stop_reasons"] == {"final_answer": 2}
    assert summary["by_kind"] == {"normal": {"dialogues": 1, "clean": 0}, "chain": {"dialogues": 1, "clean": 0}}
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.count("function_edge") == 3
        assert dict(wh.execute("SELECT kind, CAST(chain AS VARCHAR) FROM instructions")) == \
            {"normal": "[]", "chain": '["searchItems","getItem","reviewItem"]'}
        covered = wh.execute("SELECT source, target, dialogues, chain_instructions FROM edge_coverage ORDER BY source, target")
        # the review's itemId was in the search's response too: that link is exercised, though no chain named it
        assert covered == [("getItem", "reviewItem", 1, 1), ("searchItems", "getItem", 1, 1), ("searchItems", "reviewItem", 1, 0)]
        assert dict(wh.execute("SELECT function, dialogues FROM operation_coverage")) == \
            {"searchItems": 2, "getItem": 1, "reviewItem": 1}
        assert wh.covered_links(wh.execute("SELECT doc_id FROM apis")[0][0]) == \
            {("searchItems", "getItem"), ("getItem", "reviewItem"), ("searchItems", "reviewItem")}
    assert run_curate(project)["funnel"]["length/kept"] == 2
    snap = take_snapshot(project)
    export_snapshot(project, ["jsonl"], tmp_path / "out", snap["snapshot_id"])
    (line,) = [json.loads(x) for x in (tmp_path / "out" / snap["snapshot_id"] / "train.jsonl").read_text().splitlines()
               if "Find a desk lamp" in x]
    calls = [c["function"]["name"] for m in line["messages"] for c in m.get("tool_calls") or []]
    assert calls == ["searchItems", "getItem", "reviewItem"]
    with Warehouse.open(project.warehouse_path) as wh:
        (row,) = wh.frame(f"SELECT {DIALOGUE_COLUMNS} FROM dialogue d WHERE instruction_kind = 'chain'").to_dicts()
    dialogue: Dialogue = dialogue_of(row)
    text, spans = paper_text(dialogue, "searchItems, getItem, reviewItem", "</s>")
    trained = "".join(text[a:b] for a, b in spans)
    assert 'ASSISTANT Action Input: {"itemId": 71}' in trained and "ASSISTANT Observation" not in trained


def test_a_kind_without_dialogues_says_why(prefect_harness, workdir, fake_llm):
    # an API whose operations feed nothing into each other plans no chain, and the run says why there is none
    spec = json.loads(json.dumps(SHOP_WITH_RESPONSES))
    del spec["paths"]["/items/{itemId}"]  # searchItems alone
    (workdir / "flat.json").write_text(json.dumps(spec))
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: 2\n"
        "missing_detail_share: 0\nunanswerable_share: 0\nmulti_api_share: 0\nchain_share: 0.5\nassistant_step_mode: react\n")
    settings = load_settings()
    assert import_docs(settings, workdir / "flat.json")["usable"] == 1
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", shop_executor)
    summary = run_simulate_corpus(settings)
    assert summary["by_kind"]["normal"]["dialogues"] == 1
    chain = summary["by_kind"]["chain"]
    assert chain["dialogues"] == 0 and chain["why"].startswith("no valid API's function graph has a chain (none of 1")
    assert not any("in this order" in r.last_user for r in fake_llm.calls_for("user"))  # never asked


def test_the_chain_share_goes_to_the_apis_that_have_a_chain(workdir):
    from flows.simulation_plan import instruction_plan, spread_chain_share
    from schemas.views import DocumentedApi

    flat = json.loads(json.dumps(SHOP_WITH_RESPONSES))
    del flat["paths"]["/items/{itemId}"]
    docs = [DocumentedApi(f"{i:016x}", f"{i + 100:016x}", f"API {i}", "Shop", SHOP_WITH_RESPONSES if i < 2 else flat, "")
            for i in range(10)]
    (workdir / "toolfactory.yaml").write_text("backends_file: fake\ninstructions_per_api: 2\nchain_share: 0.1\n")
    spread = spread_chain_share(load_settings(), docs)
    assert spread.chain_share == pytest.approx(0.5)  # 0.1 of 10 APIs' instructions, on the 2 that have a chain
    plans = [instruction_plan(spread, d) for d in docs]
    assert all("chain" not in p for p in plans[2:]) and all(sum(p.values()) == 2 for p in plans)
    assert sum(p.get("chain", 0) for p in plans[:2]) == 2  # 2 x 0.5 = one each, not drawn
