"""curate-corpus through Prefect's harness with the scripted fake (judge included), then snapshots and
every export format read back the way users read them."""

from __future__ import annotations

import json

import polars as pl

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from tests.support.curated import settings, simulated  # noqa: F401  (fixtures)
from warehouse import Warehouse


def test_curation_decides_once_per_config_and_feeds_clean_instances(simulated, fake_llm):  # noqa: F811
    s = simulated
    out = run_curate(s)
    assert out["decided_now"] == 6 and out["judged_now"] == 6
    # 2 APIs × "how bright …" refused by the judge; the rest pass every stage
    assert out["funnel"]["semantic/judge_unfulfilled"] == 2 and out["kept_now"] == 4 and out["clean_instances"] == 4
    assert out["funnel"]["format/kept"] == 6 and out["funnel"]["length/kept"] == 4
    with Warehouse.open(s.warehouse_path) as wh:
        per_api = wh.execute("SELECT api_name, sum(n) FILTER (WHERE reason = 'kept' AND stage = 'length') FROM funnel GROUP BY 1 ORDER BY 1")
        assert [n for _, n in per_api] == [2, 2]
        assert wh.count("rejections", "stage = 'curation/semantic' AND reason = 'judge_unfulfilled'") == 2
        assert wh.execute("SELECT DISTINCT model FROM funnel") == [("toolfactory-fake/assistant",)]
        assert wh.count("clean_instances", "n_tokens > 0 AND instruction NOT LIKE '%bright%'") == 4
    calls = len(fake_llm.calls)
    again = run_curate(s)  # same config: nothing left to decide, no LLM call
    assert again["decided_now"] == 0 and len(fake_llm.calls) == calls and again["clean_instances"] == 4
    tight = run_curate(s.with_overrides(curation_token_budget=16))  # a new config decides everything again
    assert tight["config_version"] != out["config_version"] and tight["decided_now"] == 6
    assert tight["funnel"].get("length/over_token_budget") == 4 and tight["clean_instances"] == 0
    assert len(fake_llm.calls) == calls  # the judge's verdicts came from the ledger (same requests)
    back = run_curate(s)  # back to the first config: its verdicts are all there
    assert back["decided_now"] == 0 and back["clean_instances"] == 4


def test_snapshots_are_immutable_versions_and_every_export_reads_back(simulated, tmp_path):  # noqa: F811
    s = simulated
    run_curate(s)
    first = take_snapshot(s)
    assert first["created"] and first["n_instances"] == 4 and first["parent_id"] is None
    same = take_snapshot(s)
    assert not same["created"] and same["snapshot_id"] == first["snapshot_id"]
    run_curate(s.with_overrides(curation_near_duplicate=0.05))  # a stricter dedup: fewer clean instances
    second = take_snapshot(s)
    assert second["created"] and second["parent_id"] == first["snapshot_id"] and second["n_instances"] < 4
    with Warehouse.open(s.warehouse_path) as wh:  # the first snapshot still holds its 4 instances
        assert wh.count("snapshot_instances", "snapshot_id = ?", [first["snapshot_id"]]) == 4

    out = export_snapshot(s, ["toolalpaca", "jsonl", "parquet", "hf", "card"], tmp_path / "exports", first["snapshot_id"])
    folder = tmp_path / "exports" / first["snapshot_id"]
    assert out["instances"] == 4 and out["folder"] == str(folder)

    records = json.loads((folder / "train_data.json").read_text())
    assert len(records) == 2
    for rec in records:
        assert {"Name", "Description", "Category", "Documentation", "NLDocumentation", "Function_Description", "Instances"} <= rec.keys()
        assert json.loads(rec["Documentation"])["openapi"] and "searchPlaces" in rec["Function_Description"]
        inst = rec["Instances"][0]
        assert {"input", "output", "Final Thought", "intermediate_steps"} <= inst.keys()
        (action, action_input, log), observation = inst["intermediate_steps"][-1]
        assert action == "searchPlaces" and json.loads(action_input) == {"query": "Lisbon"} and "Action:" in log
        assert observation.startswith("Status Code: 200")

    lines = [json.loads(x) for x in (folder / "train.jsonl").read_text().splitlines()]
    assert len(lines) == 4
    msgs = lines[0]["messages"]
    assert [m["role"] for m in msgs][:2] == ["system", "user"] and msgs[-1]["role"] == "assistant"
    call = next(m for m in msgs if m.get("tool_calls"))
    reply = msgs[msgs.index(call) + 1]
    assert reply["role"] == "tool" and reply["tool_call_id"] == call["tool_calls"][0]["id"]
    assert {t["function"]["name"] for t in json.loads(lines[0]["tools"])} >= {"searchPlaces", "ask_user"}

    flat = pl.read_parquet(folder / "instances.parquet")
    assert flat.height == 4 and set(flat["snapshot_id"]) == {first["snapshot_id"]}
    assert flat["steps"][0][0]["index"] == 0 and flat["category"].null_count() == 0
    from warehouse.frame_landing import frame_schema

    with Warehouse.open(tmp_path / "other.duckdb") as other:  # the Parquet loads back into another warehouse
        report = other.land_frame("dialogue", flat.select(list(frame_schema("dialogue"))))
        assert report.inserted == {"dialogue": 4} and other.count("steps") == flat["steps"].list.len().sum()
        with Warehouse.open(s.warehouse_path) as wh:
            ids = sorted(flat["dialogue_id"])
            q = "SELECT dialogue_id, CAST(steps AS VARCHAR), final_answer FROM dialogue WHERE dialogue_id IN (SELECT unnest(?)) ORDER BY 1"
            assert other.execute(q, [ids]) == wh.execute(q, [ids])

    import datasets

    hf = datasets.load_dataset(str(folder / f"hf-{first['snapshot_id']}"), split="train")
    assert hf.num_rows == 4 and {"messages", "tools", "dialogue_id"} <= set(hf.column_names)
    card = (folder / "DATA_CARD.md").read_text()
    assert first["snapshot_id"] in card and "| semantic | judge_unfulfilled | 2 |" in card and "## Lineage" in card
    assert (folder / f"hf-{first['snapshot_id']}" / "README.md").read_text().startswith("---\nconfigs:")


def test_the_jsonl_goes_through_trls_chat_formatting(simulated, tmp_path):  # noqa: F811
    """TRL's own formatting (what SFTTrainer applies) renders every exported example with the tools."""
    import datasets
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.data_utils import apply_chat_template

    run_curate(simulated)
    out = export_snapshot(simulated, ["jsonl"], tmp_path)
    ds = datasets.load_dataset("json", data_files=str(tmp_path / out["snapshot_id"] / "train.jsonl"), split="train")
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel()
    bpe.train_from_iterator(["Thought: find the place", "Status Code: 200"], trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<eos>"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>", unk_token="<unk>")
    tok.chat_template = (
        "{% if tools %}TOOLS:{% for t in tools %} {{ t.function.name }}{% endfor %}\n{% endif %}"
        "{% for m in messages %}<{{ m.role }}>{{ m.content or '' }}"
        "{% if m.tool_calls %}{% for c in m.tool_calls %}[call {{ c.function.name }} {{ c.function.arguments }}]{% endfor %}{% endif %}"
        "\n{% endfor %}")
    for example in ds:
        text = apply_chat_template(example, tok, tools=json.loads(example["tools"]))["text"]
        assert text.startswith("TOOLS:") and "searchPlaces" in text.split("\n", 1)[0]
        assert '[call searchPlaces {"query": "Lisbon"}]' in text and "<tool>Status Code: 200" in text


def test_the_curate_corpus_and_export_commands(simulated, workdir, capsys):  # noqa: F811
    from toolfactory.cli import main

    with open(workdir / "toolfactory.yaml", "a") as f:
        f.write("curation_tokenizer: words\n")
    assert main(["curate"]) == 0
    out = capsys.readouterr().out
    assert "== curate-corpus" in out and "clean_instances            4" in out
    assert main(["corpus", "snapshot"]) == 0
    snap_id = next(line.split()[1] for line in capsys.readouterr().out.splitlines() if line.strip().startswith("snapshot_id"))
    assert main(["corpus", "list"]) == 0 and snap_id in capsys.readouterr().out
    assert main(["export", "--format", "all", "--out", str(workdir / "ex")]) == 0
    assert f"train_data.json; train.jsonl; instances.parquet; hf-{snap_id}/; DATA_CARD.md" in capsys.readouterr().out
    assert (workdir / "ex" / snap_id / f"hf-{snap_id}" / "README.md").exists()
    assert main(["export", "--format", "jsonl", "--snapshot", "0" * 16]) == 2
    assert "no snapshot" in capsys.readouterr().err
    assert main(["sql", "SELECT count(*) AS n FROM clean_instances", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "4"]


def test_a_judge_that_crashes_refuses_that_dialogue_and_the_run_goes_on(simulated, monkeypatch):  # noqa: F811
    import flows.curate as curate
    from tasks.curation.semantic_judge import judge_dialogue as real

    async def flaky(llm, dialogue, functions, **kw):
        if "bright" in dialogue.instruction:
            raise ValueError("judge bug")
        return await real(llm, dialogue, functions, **kw)

    monkeypatch.setattr(curate, "judge_dialogue", flaky)
    out = run_curate(simulated)
    assert out["funnel"]["semantic/judge_error"] == 2 and out["clean_instances"] == 4
    with Warehouse.open(simulated.warehouse_path) as wh:
        assert wh.execute("SELECT DISTINCT detail FROM rejections WHERE reason = 'judge_error'") == [("ValueError: judge bug",)]
