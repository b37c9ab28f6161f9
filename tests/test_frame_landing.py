"""Bulk landing of typed frames: the same rows as record landing, the same verdicts as jsonschema."""

from __future__ import annotations

import copy

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas import validate_record
from schemas.records import Dialogue
from tests.support.rows import EXAMPLES, STEP, H, _targets
from warehouse import Warehouse
from warehouse.frame_landing import FrameSchemaError, frame_schema, records_frame, validity
from warehouse.store import TABLES


def dialogues() -> list[Dialogue]:
    base = EXAMPLES["dialogue"]
    out = []
    for i in range(6):
        d = copy.deepcopy(base)
        d.dialogue_id = f"{i:016x}"
        d.instruction = f"request number {i}"
        d.cost_usd = None if i % 2 else 0.5 * i
        d.partner_api_ids = [] if i % 3 else [H]
        d.steps = [{**STEP, "index": k, "action_input": [{"q": k}, None, "text", 3][k % 4], "status": None if k % 2 else 200,
                    "call": k % 2, "turn": k // 2} for k in range(i % 4)] + [
            {**STEP, "index": i % 4, "action": None, "action_input": None, "observation": None, "status": None, "answer": "done"}]
        out.append(d)
    return out


def test_a_frame_lands_exactly_what_the_records_land(tmp_path):
    recs = dialogues()
    with Warehouse.open(tmp_path / "a.duckdb") as a, Warehouse.open(tmp_path / "b.duckdb") as b:
        assert a.land(recs).inserted == {"dialogue": 6}
        assert b.land_frame("dialogue", records_frame(recs, "dialogue")).inserted == {"dialogue": 6}
        for sql in ("SELECT * EXCLUDE (created_at) FROM dialogue ORDER BY dialogue_id",
                    "SELECT * FROM steps ORDER BY dialogue_id, step_index"):
            assert a.execute(sql) == b.execute(sql)
        again = b.land_frame("dialogue", records_frame(recs, "dialogue"))
        assert again.inserted == {"dialogue": 0} and again.ignored == {"dialogue": 6}


def test_a_frame_part_landed_or_repeating_a_row_lands_each_new_dialogue_and_its_steps_once(tmp_path):
    # an all-new, all-valid frame takes a plain INSERT; anything else the conflict-handling one: both
    # must leave the same rows
    recs = dialogues()
    with Warehouse.open(tmp_path / "a.duckdb") as a, Warehouse.open(tmp_path / "b.duckdb") as b:
        a.land_frame("dialogue", records_frame(recs, "dialogue"))
        b.land_frame("dialogue", records_frame(recs[:2], "dialogue"))  # two already there
        report = b.land_frame("dialogue", records_frame(recs[1:] + [recs[3]], "dialogue"))  # and one twice in the frame
        assert report.inserted == {"dialogue": 4} and report.ignored == {"dialogue": 2}
        b.land_frame("dialogue", records_frame([recs[5], recs[5]], "dialogue"))  # only repeats, nothing new
        for sql in ("SELECT * EXCLUDE (created_at) FROM dialogue ORDER BY dialogue_id",
                    "SELECT * FROM steps ORDER BY dialogue_id, step_index"):
            assert a.execute(sql) == b.execute(sql)


def test_records_part_landed_or_repeated_land_each_new_dialogue_and_its_steps_once(tmp_path):
    # the records path takes the same two routes as frames (a plain INSERT when all are valid and new)
    recs = dialogues()
    with Warehouse.open(tmp_path / "a.duckdb") as a, Warehouse.open(tmp_path / "b.duckdb") as b:
        assert a.land(recs).inserted == {"dialogue": 6}
        b.land(recs[:2])
        report = b.land(recs[1:] + [recs[3]])
        assert report.inserted == {"dialogue": 4} and report.ignored == {"dialogue": 2}
        for sql in ("SELECT * EXCLUDE (created_at) FROM dialogue ORDER BY dialogue_id",
                    "SELECT * FROM steps ORDER BY dialogue_id, step_index"):
            assert a.execute(sql) == b.execute(sql)


def test_invalid_rows_of_a_frame_are_quarantined_with_their_errors(tmp_path):
    recs = dialogues()
    frame = records_frame(recs, "dialogue").with_columns(
        pl.when(pl.col("instruction") == "request number 2").then(pl.lit("not-a-hash")).otherwise(pl.col("api_id")).alias("api_id"),
        pl.when(pl.col("instruction") == "request number 4").then(pl.lit(-3)).otherwise(pl.col("n_calls")).alias("n_calls"))
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        report = wh.land_frame("dialogue", frame)
        assert report.inserted == {"dialogue": 4} and report.quarantined == 2
        errors = sorted(e for (e,) in wh.execute("SELECT CAST(errors AS VARCHAR) FROM landing_quarantine"))
        assert "api_id" in errors[0] + errors[1] and "n_calls" in errors[0] + errors[1]
        landed = [r for r in recs if r.instruction not in ("request number 2", "request number 4")]
        assert wh.count("steps") == sum(len(r.steps) for r in landed)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop("instruction"), "missing column instruction"),
    (lambda f: f.with_columns(pl.lit(1).alias("surprise")), "unknown column surprise"),
    (lambda f: f.with_columns(pl.col("n_calls").cast(pl.Utf8)), "column n_calls is String"),
])
def test_frames_of_the_wrong_shape_are_refused_whole(tmp_path, change, message):
    with Warehouse.open(tmp_path / "w.duckdb") as wh, pytest.raises(FrameSchemaError, match=message):
        wh.land_frame("dialogue", change(records_frame(dialogues(), "dialogue")))


SAME_TYPE = {
    str: st.text(max_size=12) | st.sampled_from([H, "ABC", "", "normal", "final_answer", "valid", "get", "length", "x" * 700]),
    int: st.integers(-5, 10**6),
    float: st.floats(-10, 10, allow_nan=False),
    bool: st.booleans(),
}


@st.composite
def retyped(draw, name):
    """A valid record with values changed within their type, or set to null: what a typed frame can hold."""
    record = copy.deepcopy(EXAMPLES[name].to_dict())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_targets(record)))
        parent = record
        for p in path[:-1]:
            parent = parent[p]
        old = parent[path[-1]]
        if type(old) in SAME_TYPE and draw(st.booleans()):
            parent[path[-1]] = draw(SAME_TYPE[type(old)])
        else:
            parent[path[-1]] = None
    return record


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_typed_checks_agree_with_jsonschema(duck, name, data):
    record = data.draw(retyped(name))
    assume(set(record) == set(frame_schema(name)))  # a frame has exactly the schema's columns
    try:
        frame = records_frame([record], name)
    except FrameSchemaError:
        assume(False)  # a value of another type cannot be put in a typed column at all
    duck.register("staged_frame", frame)
    ok = duck.execute(f"SELECT {validity(name)} FROM staged_frame").fetchall()[0][0]
    duck.unregister("staged_frame")
    assert bool(ok) == (validate_record(name, record) == []), record
