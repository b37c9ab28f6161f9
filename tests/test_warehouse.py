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
