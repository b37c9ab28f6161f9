"""Calibration against the paper's judge (issue #17, first part): the judged-outputs reader and
exact match's agreement with the recorded process verdicts, on a small fixture in that layout
(an empty record, a record without id, an Uncertain verdict)."""

import json

import pytest

from flows.calibrate import calibrate
from flows.settings import Settings
from tasks.evaluation.judged_outputs import parameter_table_from_docs, read_judged
from tasks.formats.toolalpaca_format import ImportFormatError
from toolfactory.cli import main


@pytest.fixture
def sample(fixtures):
    return fixtures / "judged_outputs_sample.json"


def test_the_reader_takes_every_record_apart(sample):
    records = read_judged(json.loads(sample.read_text()))
    assert [(r.api, r.record_id) for r in records] == [("Axolotl", "0"), ("Axolotl", "1"), ("Axolotl", "#2"), ("Axolotl", "#3"),
                                                       ("Other", "3")]
    first = records[0]
    assert first.golden == [{"action": "getFacts", "action_input": '{"category": "habits"}'}]
    assert first.predicted[0]["observation"].startswith("Status Code: 200") and first.final_response == "They regrow limbs."
    assert first.instruction == "Tell me about axolotl habits." and first.process == "Yes"
    assert records[2].problems == ["no judge prompt in input"] and records[4].predicted == []
    table = parameter_table_from_docs(first.documentation)
    assert table["getFacts"] == {"category": {"required": True, "type": "string"}, "limit": {"required": False, "type": "integer"}}
    with pytest.raises(ImportFormatError):
        read_judged([1, 2])


def test_exact_match_agreement_with_the_judge(sample):
    out = calibrate(Settings(), sample)
    assert out["records"] == 5 and out["scored"] == 3
    assert out["not_scored"] == {"uncertain": 1, "unjudged": 1, "unreadable": 1}
    em = out["exact_match"]
    assert em["confusion"] == {"accept_yes": 1, "accept_no": 0, "refuse_yes": 1, "refuse_no": 1}
    assert em["agreement"] == round(2 / 3, 4) and em["false_accept_rate"] == 0 and em["false_refuse_rate"] == 0.5
    (miss,) = em["disagreements"]
    assert miss["id"] == "1" and miss["judge"] == "Yes" and miss["reasons"] == ["searchImages: page missing"]
    process = out["process"]  # the instruction never gives page 1: not required; the wrong function is still refused
    assert process["confusion"] == {"accept_yes": 2, "accept_no": 0, "refuse_yes": 0, "refuse_no": 1} and process["agreement"] == 1


def test_the_calibrate_command(workdir, sample, capsys, tmp_path):
    assert main(["calibrate", str(sample), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"records", "scored"} <= out.keys() and {"agreement", "false_accept_rate", "false_refuse_rate"} <= out["exact_match"].keys()
    assert main(["calibrate", str(sample)]) == 0
    assert "exact_match: agreement 66.7%" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert main(["calibrate", str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.startswith("toolfactory: error: a judged-outputs file")
