"""ToolAlpaca-format files into the warehouse (both layouts), and back out through curation and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.settings import Settings
from flows.toolalpaca_import import import_toolalpaca
from tasks.formats.toolalpaca_format import ImportFormatError, read_layout
from toolfactory.cli import main
from warehouse import Warehouse


@pytest.fixture
def settings(tmp_path):
    return Settings().with_overrides(warehouse_path=str(tmp_path / "w.duckdb"), backends_file="fake", curation_judge=False,
                                     curation_tokenizer="words")


def test_the_evaluation_layout_lands_instructions_with_golden_calls(settings, fixtures):
    out = import_toolalpaca(settings, fixtures / "toolalpaca_eval.json")
    assert out["layout"] == "evaluation" and out["landed"]["instruction"] == 3 and out["landed"]["golden_answer"] == 2
    assert out["refused"] == {"golden_missing": 1}
    with Warehouse.open(settings.warehouse_path) as wh:
        assert wh.execute("SELECT status, origin FROM apis") == [("valid", "import")]
        golden = dict(wh.execute("SELECT instruction, CAST(calls AS VARCHAR) FROM golden_answers"))
        assert json.loads(golden["And on 2024-06-15 and 2024-06-30?"]) == [
            {"action": "getPhase", "action_input": {"date": "2024-06-15"}}, {"action": "getPhase", "action_input": {"date": "2024-06-30"}}]
        assert wh.count("rejections", "stage = 'import' AND reason = 'golden_missing'") == 1
    again = import_toolalpaca(settings, fixtures / "toolalpaca_eval.json")
    assert sum(again["landed"].values()) == 0  # content hashes: nothing twice


def test_the_training_layout_round_trips_through_curation_and_export(prefect_harness, settings, fixtures, tmp_path):
    out = import_toolalpaca(settings, fixtures / "toolalpaca_train.json")
    assert out["layout"] == "training" and out["landed"]["dialogue"] == 1
    assert out["refused"] == {"steps_malformed": 1, "documentation_unusable": 1}
    with Warehouse.open(settings.warehouse_path) as wh:
        step = wh.execute("SELECT action, CAST(action_input AS VARCHAR), status, thought FROM steps WHERE action IS NOT NULL")
        assert step == [("getPhase", '{"date":"2024-05-01"}', 200, "I need the phase.")]
        assert wh.execute("SELECT origin, assistant_model, stop_reason FROM dialogues") == [
            ("import", "toolalpaca:toolalpaca_train.json", "final_answer")]
    curated = run_curate(settings)
    assert curated["clean_instances"] == 1 and curated["funnel"]["semantic/kept"] == 1
    snap = take_snapshot(settings)
    export_snapshot(settings, ["toolalpaca"], tmp_path / "out", snap["snapshot_id"])
    (record,) = json.loads((tmp_path / "out" / snap["snapshot_id"] / "train_data.json").read_text())
    source = json.loads((fixtures / "toolalpaca_train.json").read_text())[0]
    assert record["Name"] == source["Name"] and record["Category"] == source["Category"]
    assert record["NLDocumentation"] == source["NLDocumentation"] and json.loads(record["Documentation"]) == json.loads(source["Documentation"])
    (inst,) = record["Instances"]
    want = source["Instances"][0]
    assert (inst["input"], inst["output"], inst["Final Thought"]) == (want["input"], want["output"], want["Final Thought"])
    (action, action_input, log), observation = inst["intermediate_steps"][0]
    (w_action, w_input, w_log), w_observation = want["intermediate_steps"][0]
    assert (action, json.loads(action_input), log, observation) == (w_action, json.loads(w_input), w_log, w_observation)


@pytest.mark.parametrize("data, message", [
    ({"Name": "x"}, "JSON list"),
    ([{"Name": "x"}], "Documentation"),
    ([{"Name": "x", "Documentation": "{}"}], "neither Instances"),
])
def test_files_in_other_layouts_are_refused_with_a_reason(data, message):
    with pytest.raises(ImportFormatError, match=message):
        read_layout(data)


def test_the_import_command(settings, fixtures, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOOLFACTORY_WAREHOUSE_PATH", settings.warehouse_path)
    assert main(["import", str(fixtures / "toolalpaca_eval.json")]) == 0
    assert "evaluation" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    assert main(["import", str(bad)]) == 2
    assert "JSON list" in capsys.readouterr().err


def test_the_real_api_fields_of_the_evaluation_layout_are_accepted():
    """ToolAlpaca's real-API set adds ``Authentication`` and ``external_tools``: the record still imports."""
    from tasks.formats.toolalpaca_format import import_records

    record = json.loads((Path(__file__).parent / "fixtures" / "toolalpaca_eval.json").read_text())[0]
    record = {**record, "Authentication": "apiKey in query", "external_tools": ["search_engine"]}
    records = import_records(record, read_layout([record]), "eval_real.json")
    golden = [r for r in records if type(r).__name__ == "GoldenAnswer"]
    assert len(golden) == 2 and golden[1].calls[1] == {"action": "getPhase", "action_input": {"date": "2024-06-30"}}
