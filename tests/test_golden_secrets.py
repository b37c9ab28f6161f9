"""Secrets never land, whatever the input's shape (issue 33): a canary key planted in ToolAlpaca golden calls —
valid JSON, JSON cut short, a query string, nested, under the spec's own auth name and under the usual key
names — and in a training instance's calls, logs and observations is in no table of the warehouse and in no
export, while the rest of each call is kept."""

from __future__ import annotations

import json

import pytest

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.settings import Settings
from flows.toolalpaca_import import import_toolalpaca
from tests.support.warehouse_text import text_of_warehouse
from warehouse import Warehouse

CANARY = "canary-9d1f2e3a4b5c6d7e8f90"
SPEC = {"openapi": "3.0.0", "info": {"title": "Tides", "version": "1"}, "servers": [{"url": "https://tides.example.com"}],
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "query", "name": "appid"}}},
        "security": [{"key": []}],
        "paths": {"/tide": {"get": {"operationId": "getTide", "description": "The tide at a port on a date.",
                                    "parameters": [{"name": "port", "in": "query", "required": True, "schema": {"type": "string"}},
                                                   {"name": "appid", "in": "query", "required": True, "schema": {"type": "string"}}],
                                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                                        "type": "object", "properties": {"height": {"type": "number"}}}}}}}}}}}
GOLDEN_INPUTS = [
    f'{{"port": "Brest", "appid": "{CANARY}"}}',  # well-formed
    f'{{"port": "Brest", "appid": "{CANARY}"',  # cut short: not JSON
    f"port=Brest&appid={CANARY}",  # a query string
    f'{{"port": "Brest", "options": {{"appid": "{CANARY}", "api_key": "{CANARY}"}}}}',  # nested, and a usual key name
    f"{{'port': 'Brest', 'APPID': '{CANARY}'}}",  # Python's repr, another case
    f'{{"port": "Brest", "x-api-key": {CANARY!r}}}'.replace("'", ""),  # a bare value (not JSON)
]


def record(**extra):
    return {"Name": "Tides", "Description": "Tide tables", "Link": "https://tides.example.com", "Category": "Science",
            "Documentation": json.dumps(SPEC), "Authentication": "apiKey", **extra}


@pytest.fixture
def settings(tmp_path):
    return Settings().with_overrides(warehouse_path=str(tmp_path / "w.duckdb"), backends_file="fake", curation_judge=False,
                                     curation_tokenizer="words")


def test_a_canary_key_in_golden_calls_of_any_shape_never_lands(settings, tmp_path):
    path = tmp_path / "eval.json"
    path.write_text(json.dumps([record(Instructions=[f"Tide in Brest, way {n}?" for n in range(len(GOLDEN_INPUTS))],
                                       Golden_Answers=[[{"Action": "getTide", "Action_Input": text}] for text in GOLDEN_INPUTS])]))
    out = import_toolalpaca(settings, path)
    assert out["landed"]["golden_answer"] == len(GOLDEN_INPUTS)
    assert CANARY in path.read_text() and CANARY not in text_of_warehouse(settings.warehouse_path)
    with Warehouse.open(settings.warehouse_path) as wh:
        calls = [json.loads(c) for (c,) in wh.execute("SELECT CAST(calls AS VARCHAR) FROM golden_answers")]
    inputs = [c[0]["action_input"] for c in calls]
    assert {"port": "Brest"} in inputs and all("Brest" in json.dumps(i) for i in inputs)  # the rest of each call is kept


def test_a_canary_key_in_a_training_instance_never_lands_nor_exports(prefect_harness, settings, tmp_path):
    action_input = f'{{"port": "Brest", "appid": "{CANARY}"}}'
    log = f"Thought: I need the tide.\nAction: getTide\nAction Input: {action_input}"
    instance = {"input": "What is the tide in Brest?", "output": "It is 4.2 m.", "Final Thought": "I have it.",
                "intermediate_steps": [[["getTide", action_input, log], f"Status Code: 200. Response: {{\"height\": 4.2, \"appid\": \"{CANARY}\"}}"]]}
    cut = {**instance, "input": "And the tide in Brest tomorrow?",  # its call's input is not JSON: it lands, not clean
           "intermediate_steps": [[["getTide", f'{{"port": "Brest", "appid": "{CANARY}"', log], "Status Code: 200. Response: {\"height\": 4.2}"]]}
    path = tmp_path / "train.json"
    path.write_text(json.dumps([record(NLDocumentation="getTide: The tide at a port on a date.", Instances=[instance, cut])]))
    assert import_toolalpaca(settings, path)["landed"]["dialogue"] == 2
    run_curate(settings)
    taken = take_snapshot(settings)
    snapshot = taken["snapshot_id"]
    assert taken["n_instances"] == 1  # the instance is exported: the check below reads it
    export_snapshot(settings, ["toolalpaca", "jsonl", "parquet"], tmp_path / "out", snapshot)
    exported = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "out" / snapshot).iterdir() if p.is_file())
    assert CANARY not in text_of_warehouse(settings.warehouse_path) and CANARY not in exported
    with Warehouse.open(settings.warehouse_path) as wh:
        assert wh.count("steps", "action = 'getTide' AND CAST(action_input AS VARCHAR) LIKE '%Brest%'") >= 1
