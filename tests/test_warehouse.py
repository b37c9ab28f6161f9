import json

from schemas.records import CatalogEntry, LLMCall, Rejection
from warehouse import Warehouse
from warehouse.migrations import MIGRATIONS, PUBLIC_VIEWS


def entry(name="Moon", api_id="a" * 16, category="Science"):
    return CatalogEntry(api_id, name, "desc", category, "https://x.example", "none", True, None, "t.jsonl", "line 1")


def test_migrations_apply_once_in_order(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        assert wh.migration_versions() == [v for v, _, _ in MIGRATIONS]
        assert wh.migrate() == []
    with Warehouse.open(path) as wh:  # reopening applies nothing new
        assert wh.migration_versions() == [v for v, _, _ in MIGRATIONS]
        views = {r[0] for r in wh.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal")}
        assert set(PUBLIC_VIEWS) <= views


def test_landing_is_idempotent_by_content_id(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        first = wh.land([entry(), entry("Sun", "b" * 16)])
        again = wh.land([entry()])
        assert first.inserted == {"catalog_entry": 2} and again.inserted == {"catalog_entry": 0}
        assert again.ignored == {"catalog_entry": 1}
        assert wh.count("catalog") == 2


def test_invalid_records_are_quarantined_with_their_errors(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        bad = entry(api_id="not-a-hash")
        bad.name = ""
        report = wh.land([bad, entry()])
        assert report.quarantined == 1 and report.inserted == {"catalog_entry": 1}
        (target, errors), = wh.execute("SELECT target, errors FROM landing_quarantine")
        errors = json.loads(errors)
        assert target == "catalog_entry"
        assert any(e.startswith("api_id") for e in errors) and any(e.startswith("name") for e in errors)
        (stage, reason, detail), = wh.execute("SELECT stage, reason, detail FROM rejections")
        assert (stage, reason) == ("landing", "schema_invalid") and "catalog_entry" in detail


def test_llm_call_ledger_and_cache_lookup(tmp_path):
    call = LLMCall("c" * 16, "d" * 16, "documenter", "m", "v1", "a" * 16, "ok", 10, 5, 0.0, 0.5, "stop", "hi", None)
    err = LLMCall("e" * 16, "f" * 16, "judge", "m", "v1", "", "error", 0, 0, None, 0.1, None, None, "boom")
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        wh.land([call, err])
        assert wh.cached_call("d" * 16).response_text == "hi"
        assert wh.cached_call("f" * 16) is None  # failed calls are not a cache
        row = wh.frame("SELECT role, total_tokens, status, response_chars FROM llm_calls ORDER BY role").to_dicts()
        assert row == [{"role": "documenter", "total_tokens": 15, "status": "ok", "response_chars": 2},
                       {"role": "judge", "total_tokens": 0, "status": "error", "response_chars": None}]


def test_rejections_view_unions_catalog_quarantine(tmp_path):
    from schemas.records import QuarantinedRow

    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        wh.land([QuarantinedRow("9" * 16, "cat.md", "line 3", "missing_name", "no name", "| x |"),
                 Rejection("8" * 16, "documentation", "a" * 16, "spec_invalid", "2 problems")])
        rows = sorted(wh.execute("SELECT stage, subject_id, reason FROM rejections"))
        assert rows == [("catalog", "cat.md line 3", "missing_name"), ("documentation", "a" * 16, "spec_invalid")]


def test_catalog_entries_are_filtered_and_ordered(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        wh.land([entry("B", "b" * 16, "Z"), entry("A", "a" * 16, "Z"), entry("C", "c" * 16, "Y")])
        assert [e.name for e in wh.catalog_entries()] == ["C", "A", "B"]
        assert [e.name for e in wh.catalog_entries(limit=1)] == ["C"]
        assert [e.name for e in wh.catalog_entries(categories=["Z"])] == ["A", "B"]
        assert [e.name for e in wh.catalog_entries(api_ids=["b" * 16])] == ["B"]


def test_a_second_writer_process_gets_a_clear_busy_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    with Warehouse.open(path):
        code = (
            "import sys\nfrom warehouse.store import WarehouseBusy, connect\n"
            f"try:\n    connect({str(path)!r})\nexcept WarehouseBusy as e:\n    print('BUSY', e)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.startswith("BUSY") and "another process" in out.stdout


def test_a_migration_moves_old_rows_to_the_new_schema_version(tmp_path, monkeypatch):
    """A warehouse made before migration 7 (steps only as JSON, verdicts of schema v1) is moved on open."""
    import warehouse.store as store
    from schemas import schema_version

    path = tmp_path / "w.duckdb"
    monkeypatch.setattr(store, "MIGRATIONS", MIGRATIONS[:6])
    with Warehouse.open(path) as wh:
        steps = '[{"index": 0, "text": "t", "thought": "x", "action": "f", "action_input": {"q": 1}, "observation": "o", ' \
                '"status": 200, "valid": true, "error": null, "latency_s": 0.1}]'
        wh.execute("INSERT INTO dialogue (dialogue_id, api_id, doc_id, instruction_id, instruction, instruction_kind, steps, "
                   "final_answer, stop_reason, n_calls, n_errors, models, prompt_versions, prompt_tokens, completion_tokens, "
                   "cost_usd) VALUES ('d1', 'a1', 'doc', 'i1', 'do it', 'normal', ?, 'done', 'final_answer', 1, 0, "
                   "'{\"assistant\": \"m-a\"}', '{}', 1, 1, NULL)", [steps], write=True)
        wh.execute("INSERT INTO curation_verdict (verdict_id, dialogue_id, api_id, stage, kept, reason, detail, config_version) "
                   "VALUES ('v1', 'd1', 'a1', 'format', true, NULL, '', 'c1')", write=True)
        assert wh.migration_versions()[-1] == 6
    monkeypatch.setattr(store, "MIGRATIONS", MIGRATIONS)
    with Warehouse.open(path) as wh:
        assert wh.migration_versions()[-1] == MIGRATIONS[-1][0]
        assert wh.execute("SELECT dialogue_id, step_index, action, CAST(action_input AS VARCHAR), status FROM steps") == \
            [("d1", 0, "f", '{"q":1}', 200)]
        assert wh.execute("SELECT assistant_model FROM dialogues") == [("m-a",)]
        assert wh.execute("SELECT model, instruction_kind, schema_version FROM curation_verdict") == \
            [("m-a", "normal", schema_version("curation_verdict"))]


def test_every_landed_row_carries_its_schema_version(tmp_path):
    from schemas import schema_version

    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        wh.land([entry()])
        assert wh.execute("SELECT schema_version FROM catalog_entry") == [(schema_version("catalog_entry"),)]
        for table, _ in {t for t in __import__("warehouse.store", fromlist=["TABLES"]).TABLES.values()}:
            assert "schema_version" in {r[0] for r in wh.execute(f"DESCRIBE {table}")}, table
