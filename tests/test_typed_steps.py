"""A dialogue's steps are stored once, as a typed list of structs (migration 14), and the writer's
row groups let a bulk landing skip the WAL; readers of the file see what they saw before."""

import copy
import json

import duckdb
import polars as pl

from tests.support.rows import EXAMPLES
from warehouse import Warehouse
from warehouse.corpus import pending_dialogues
from warehouse.file import WRITER_ROW_GROUP_ROWS
from warehouse.frame_landing import frame_schema, records_frame
from warehouse.migrations import MIGRATIONS

STEPS = [
    {"index": 0, "text": "Thought: look\nAction: getItem", "thought": "look", "action": "getItem",
     "action_input": {"q": [1, "two"], "deep": {"x": None}}, "observation": "Status Code: 200. Response: {}",
     "status": 200, "valid": True, "error": None, "latency_s": 0.25},
    {"index": 1, "text": "Final Answer: done", "thought": "finish", "action": None, "action_input": None,
     "observation": None, "status": None, "valid": True, "error": None, "latency_s": 0.5},
]


def _old_dialogue(wh: Warehouse, dialogue_id: str, steps: list[dict]) -> None:
    """A dialogue as the landing of migrations 7-13 left it: steps as JSON text and as `step` rows."""
    wh.execute("INSERT INTO dialogue (dialogue_id, api_id, doc_id, instruction_id, instruction, instruction_kind, steps, "
               "final_answer, stop_reason, n_calls, n_errors, models, prompt_versions, prompt_tokens, completion_tokens, "
               "cost_usd) VALUES (?, 'a1', 'doc', 'i1', 'do it', 'normal', ?, 'done', 'final_answer', 1, 0, "
               "'{\"assistant\": \"m-a\"}', '{}', 1, 1, NULL)", [dialogue_id, json.dumps(steps)], write=True)
    for s in steps:
        wh.execute("INSERT INTO step VALUES (?, 'a1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [dialogue_id, s["index"], s["thought"], s["action"],
                    None if s["action_input"] is None else json.dumps(s["action_input"], separators=(",", ":")), s["observation"],
                    s["status"], s["valid"], s["error"], s["latency_s"], s["text"]], write=True)


def test_migration_14_moves_json_steps_into_the_typed_column_and_reads_give_the_same(tmp_path, monkeypatch):
    import warehouse.store as store

    path = tmp_path / "w.duckdb"
    monkeypatch.setattr(store, "MIGRATIONS", [m for m in MIGRATIONS if m[0] < 14])
    with Warehouse.open(path) as wh:
        _old_dialogue(wh, "d1", STEPS)
        _old_dialogue(wh, "d2", [])
        before = wh.execute("SELECT * FROM steps ORDER BY dialogue_id, step_index")
    monkeypatch.setattr(store, "MIGRATIONS", MIGRATIONS)
    with Warehouse.open(path) as wh:
        assert 14 in wh.migration_versions()
        assert wh.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'dialogue' "
                          "AND column_name = 'steps'")[0][0].startswith("STRUCT(")
        assert not wh.execute("SELECT table_name FROM duckdb_tables() WHERE table_name = 'step'")
        columns = "dialogue_id, api_id, step_index, thought, action, action_input, observation, status, valid, error, latency_s, text"
        assert wh.execute(f"SELECT {columns} FROM steps ORDER BY dialogue_id, step_index") == before
        assert dict(wh.execute("SELECT dialogue_id, n_steps FROM dialogues")) == {"d1": 2, "d2": 0}
        read = {p.dialogue.dialogue_id: p.dialogue for p in pending_dialogues(wh, "any-config")}
        # migration 17: a step from before follow-ups and parallel calls serves the first user turn, as its only call
        assert [s.to_dict() for s in read["d1"].steps] == [{**s, "turn": 0, "call": 0, "answer": None} for s in STEPS]
        assert read["d2"].steps == [] and read["d1"].follow_ups == []


def test_the_stored_step_struct_has_every_field_of_the_schema_in_order(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        stored = [r[0] for r in wh.execute("DESCRIBE SELECT unnest(steps, recursive := true) FROM dialogue")]
    assert stored == [f.name for f in frame_schema("dialogue")["steps"].inner.fields]


def test_a_bulk_frame_goes_in_by_row_groups_and_reads_back_in_a_plain_connection(tmp_path):
    base = EXAMPLES["dialogue"]
    n = WRITER_ROW_GROUP_ROWS + 7_000
    one = copy.deepcopy(base)
    one.steps = copy.deepcopy(STEPS)
    frame = records_frame([one], "dialogue")
    frame = pl.concat([frame] * n).with_columns(
        pl.Series("dialogue_id", [f"{i:016x}" for i in range(n)]), pl.Series("instruction", [f"request {i}" for i in range(n)]))
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        assert wh.land_frame("dialogue", frame).inserted == {"dialogue": n}
    con = duckdb.connect(str(path), read_only=True)  # as the DuckDB CLI or a notebook opens it
    try:
        assert con.execute("SELECT count(*), count(DISTINCT dialogue_id) FROM dialogue").fetchone() == (n, n)
        assert con.execute("SELECT count(*) FROM steps WHERE action = 'getItem'").fetchone() == (n,)
        assert con.execute("SELECT action_input ->> '$.q[1]' FROM steps WHERE step_index = 0 LIMIT 1").fetchone() == ("two",)
        # DuckDB's default row group (122,880 rows) would hold them all in one
        assert con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('dialogue')").fetchone() == (2,)
    finally:
        con.close()
