"""Migration 18 on a warehouse from before it: the ledger's tool calls — kept as JSON text inside a JSON
value (double-encoded) by the old landing, or as a JSON list — become typed structs every reader gets back
the same; the old rows keep their old request hashes (no new request hashes to them, so they are never
replayed for a new request); dialogues get the column that names their tool context."""

import json

from schemas.records import LLMCall, ReplyToolCall
from tasks.llm.ledger import replayed_result
from warehouse.migrations import MIGRATIONS
from warehouse.store import Warehouse

CALLS = [{"id": "c1", "name": "getWeather", "arguments": '{"city": "Oslo"}'},
         {"id": "c2", "name": "getTime", "arguments": "not json at all"}]
OLD_COLUMNS = ("call_id, request_hash, role, model, prompt_version, subject_id, status, prompt_tokens, completion_tokens, "
               "cost_usd, latency_s, finish_reason, response_text, error, tool_calls")


def _old_call(wh, call_id, tool_calls_json):
    wh.execute(f"INSERT INTO llm_call ({OLD_COLUMNS}) VALUES (?, ?, 'assistant', 'm', 'v', 's', 'ok', 3, 4, 0.01, 0.5, "
               "'tool_calls', '', NULL, ?)", [call_id, f"hash-{call_id}", tool_calls_json], write=True)


def test_old_tool_calls_in_either_json_form_become_typed_structs(tmp_path, monkeypatch):
    import warehouse.store as store

    path = tmp_path / "w.duckdb"
    monkeypatch.setattr(store, "MIGRATIONS", [m for m in MIGRATIONS if m[0] < 18])
    with Warehouse.open(path) as wh:
        assert 18 not in wh.migration_versions()
        _old_call(wh, "double", json.dumps(json.dumps(CALLS)))  # what the old landing wrote: text of a JSON list, as a JSON string
        _old_call(wh, "plain", json.dumps(CALLS))
        _old_call(wh, "none", None)
    monkeypatch.setattr(store, "MIGRATIONS", MIGRATIONS)
    with Warehouse.open(path) as wh:
        assert 18 in wh.migration_versions()
        typed = wh.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'llm_call' "
                           "AND column_name = 'tool_calls'")[0][0]
        assert typed.startswith("STRUCT(id VARCHAR, \"name\" VARCHAR, arguments VARCHAR)") or typed.startswith("STRUCT(")
        counts = dict(wh.execute("SELECT call_id, n_tool_calls FROM llm_calls"))
        assert counts == {"double": 2, "plain": 2, "none": 0}
        assert wh.execute("SELECT tool_calls[2].arguments FROM llm_call WHERE call_id = 'double'")[0][0] == "not json at all"
        double, plain = wh.cached_call("hash-double"), wh.cached_call("hash-plain")
        assert wh.cached_call("hash-none").tool_calls == []
        assert double.reasoning_text is None and double.served_by == ""
        assert {"context_id"} <= {r[0] for r in wh.execute("SELECT column_name FROM information_schema.columns "
                                                              "WHERE table_name = 'dialogue'")}
    expected = [ReplyToolCall(**c) for c in CALLS]
    assert double.tool_calls == expected and plain.tool_calls == expected
    assert replayed_result(double, "assistant").tool_calls == CALLS  # as the live reply had them


def test_a_new_row_lands_and_reads_back_field_for_field(tmp_path):
    call = LLMCall("0123456789abcdef", "fedcba9876543210", "assistant", "m", "v", "s", "ok", 1, 2, None, 0.25, "tool_calls", None, None,
                   [ReplyToolCall("a", "f", "")], "why", '{"model": "m"}')
    with Warehouse.open(tmp_path / "w.duckdb") as wh:

        assert wh.land([call]).quarantined == 0
        back = wh.cached_call("fedcba9876543210")
    assert back == call
