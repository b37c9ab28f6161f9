"""What the assistant was shown is a record (issue 33): every dialogue references the tool context it ran
against; exports, the length filter and the judge read that record, so re-documenting an API changes no
earlier instance; a pair of large APIs is sliced like one large API, and the length filter counts the
slice, not the whole APIs."""

from __future__ import annotations

import json
import re

import pytest

from flows.build_toolset import run_build_toolset
from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.docs_import import import_docs
from flows.settings import load_settings
from flows.simulate_corpus import run_simulate_corpus
from tests.support.curated import settings, simulated  # noqa: F401  (fixtures)
from tests.support.scripts import GOOD_OPERATIONS, GOOD_OUTLINE, documenter_responder
from warehouse import Warehouse

EXPORTS = ["toolalpaca", "jsonl", "parquet"]


def exported_bytes(s, snapshot_id, folder):
    export_snapshot(s, EXPORTS, folder, snapshot_id)
    return {p.name: p.read_bytes() for p in sorted((folder / snapshot_id).iterdir()) if p.is_file()}


def test_redocumenting_an_api_after_simulating_it_changes_no_earlier_export(simulated, fake_llm, tmp_path):  # noqa: F811
    s = simulated
    run_curate(s)
    snapshot = take_snapshot(s)["snapshot_id"]
    before = exported_bytes(s, snapshot, tmp_path / "before")
    outline = {**GOOD_OUTLINE, "introduction": "Rewritten: an entirely new account of the Moon API.",
               "functions": [{**f, "description": f"NEW {f['description']}"} for f in GOOD_OUTLINE["functions"]]}
    operations = {name: {**op, "summary": f"NEW {op['summary']}"} for name, op in GOOD_OPERATIONS.items()}
    fake_llm.respond("documenter", documenter_responder(outline=outline, operations=operations))
    redone = s.with_overrides(documenter_temperature=0.7)  # another doc ID: the APIs are documented again
    assert run_build_toolset(redone)["valid"] == 2
    with Warehouse.open(s.warehouse_path) as wh:
        assert wh.count("api_doc") == 4 and wh.count("apis", "nl_documentation LIKE '%NEW %'") == 2  # the latest docs changed
        assert wh.count("dialogues", "context_id IS NULL") == 0
        shown = {d for (d,) in wh.execute("SELECT DISTINCT nl_documentation FROM tool_context")}
    assert not any("NEW " in d for d in shown)  # what the dialogues were shown stays what they were shown
    after = exported_bytes(redone, snapshot, tmp_path / "after")
    assert set(after) == set(before) == {"train_data.json", "train.jsonl", "instances.parquet"}
    for name in before:
        assert after[name] == before[name], name
    assert "NEW " not in before["train_data.json"].decode()


BIG = 30


def big_tool_list(prefix: str) -> dict:
    return {"tools": [{"name": f"{prefix}_{i:02d}", "description": f"Does {prefix} thing number {i} for a box.",
                       "inputSchema": {"type": "object", "properties": {"x": {"type": "string", "description": "The box."}},
                                       "required": ["x"]}} for i in range(BIG)]}


NAME = re.compile(r"^(\w*(?:alpha|beta)_\d\d):", re.MULTILINE)


REQUESTS = ["Please check the red box in the north shed before noon today.",
            "Could you sort the green crates by weight and report the heaviest one?",
            "I need the blue lid matched to its box, then tell me which shelf it sits on."]


def user(req):
    if "requests" in req.last_user and "instructions" in json.dumps(req.messages):
        return {"instructions": REQUESTS[:2] if "two APIs" in req.last_user else REQUESTS[2:]}
    return "The red one."


def assistant(req):
    if not any(m["role"] == "assistant" for m in req.messages):
        shown = NAME.findall("\n".join(str(m["content"]) for m in req.messages[:2]))
        return f"Thought: call it\nAction: {shown[0] if shown else 'x'}\nAction Input: {{\"x\": \"red\"}}"
    return "Thought: done\nFinal Answer: Done with the red box."


@pytest.fixture
def pair(workdir):
    for prefix in ("alpha", "beta"):
        (workdir / f"{prefix}.json").write_text(json.dumps(big_tool_list(prefix)))
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: 2\n"
        "missing_detail_share: 0\nunanswerable_share: 0\nmulti_api_share: 0.5\nassistant_step_mode: react\n"
        "toolset_slice_max: 4\ndialogue_step_limit: 3\ncuration_judge: false\ncuration_tokenizer: words\n"
        "curation_token_budget: 700\n")
    s = load_settings()
    for prefix in ("alpha", "beta"):
        assert import_docs(s, workdir / f"{prefix}.json", category="Boxes")["usable"] == 1
    return s


def test_a_pair_of_large_apis_is_sliced_and_the_length_filter_counts_the_slice(prefect_harness, pair, fake_llm, tmp_path):
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"result": "ok", "colour": "red"})
    summary = run_simulate_corpus(pair)
    assert summary["dialogues"] == 4 and summary["task_failures"] == 0, summary
    with Warehouse.open(pair.warehouse_path) as wh:
        rows = wh.execute("SELECT d.instruction_kind, t.api_ids, t.doc_ids, t.function_names, t.toolset, t.nl_documentation, "
                          "CAST(t.tools AS VARCHAR) FROM dialogues d JOIN tool_context t USING (context_id)")
        docs = [x for (x,) in wh.execute("SELECT nl_documentation FROM apis")]
    whole = max(len(x) for x in docs)
    assert sum(len(x.split()) for x in docs) > 700  # the pair's whole documentation alone is over the length budget
    assert len(rows) == 4 and {r[0] for r in rows} == {"normal", "multi_api"}
    for kind, api_ids, doc_ids, names, toolset, nl_doc, tools in rows:
        names, toolset = json.loads(names), json.loads(toolset)
        assert len(json.loads(api_ids)) == len(json.loads(doc_ids)) == (2 if kind == "multi_api" else 1)
        assert 0 < len(names) <= 4 + 2 and names == toolset  # targets + toolset_slice_max neighbours, never 30 or 60
        assert len(nl_doc) < whole / 2
        assert {t["function"]["name"] for t in json.loads(tools)} == {*names, "ask_user"}
    prompts = [m["content"] for r in fake_llm.calls_for("assistant") for m in r.messages if m["role"] == "system"]
    assert prompts and all(len(set(NAME.findall(p))) <= 6 for p in prompts)
    curated = run_curate(pair)
    assert curated["funnel"]["length/kept"] == 4  # the slice shown fits the budget of 700 words
    tight = run_curate(pair.with_overrides(curation_token_budget=40))  # the filter does measure: under the slice, refused
    assert tight["funnel"].get("length/kept", 0) == 0 and sum(v for k, v in tight["funnel"].items() if k.startswith("length/")) == 4
    run_curate(pair)
    out = export_snapshot(pair, ["jsonl"], tmp_path, take_snapshot(pair)["snapshot_id"])
    lines = [json.loads(x) for x in (tmp_path / out["snapshot_id"] / "train.jsonl").read_text().splitlines()]
    assert lines and all(len(json.loads(x["tools"])) <= 7 for x in lines)  # the slice's tools (and ask_user), as shown


def test_dialogues_from_before_contexts_are_backfilled_from_their_own_docs(simulated, tmp_path):  # noqa: F811
    s = simulated
    run_curate(s)
    snapshot = take_snapshot(s)["snapshot_id"]
    before = exported_bytes(s, snapshot, tmp_path / "before")
    with Warehouse.open(s.warehouse_path) as wh:  # as a warehouse from before migration 18 holds them
        wh.execute("UPDATE dialogue SET context_id = NULL", write=True)
        wh.execute("DELETE FROM tool_context", write=True)
    after = exported_bytes(s, snapshot, tmp_path / "after")
    with Warehouse.open(s.warehouse_path) as wh:
        assert wh.count("dialogues", "context_id IS NULL") == 0 and wh.count("tool_context") >= 1
        assert wh.count("tool_context", "step_mode = ''") == wh.count("tool_context")  # what a backfill cannot know stays empty
    for name in ("train_data.json", "train.jsonl"):  # what training reads: the same bytes
        assert after[name] == before[name], name
    import io

    import polars as pl

    old, new = (pl.read_parquet(io.BytesIO(x["instances.parquet"])) for x in (before, after))
    assert old.drop("context_id").equals(new.drop("context_id"))  # the rows too; only the context's ID is new
