import json

import pytest

from schemas.records import CatalogEntry
from warehouse import Warehouse
from warehouse.readonly_sql import SQLFailed, SQLRefused, check_read_only, format_frame, run_query


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        wh.land([CatalogEntry(c * 16, f"API {c}", "desc, with comma", "Cat", "https://x", "none", True, None, "s", "1") for c in "abc"])
    return path


@pytest.mark.parametrize("sql, word", [
    ("INSERT INTO catalog_entry (api_id) VALUES ('x')", "INSERT"),
    ("UPDATE catalog_entry SET name = 'x'", "UPDATE"),
    ("DELETE FROM catalog_entry", "DELETE"),
    ("CREATE TABLE t (a INT)", "CREATE"),
    ("DROP VIEW apis", "DROP"),
    ("ALTER TABLE catalog_entry ADD COLUMN z INT", "ALTER"),
    ("ATTACH '/tmp/other.duckdb' AS o", "ATTACH"),
    ("DETACH o", "DETACH"),
    ("COPY catalog_entry TO '/tmp/out.csv'", "COPY"),
    ("EXPORT DATABASE '/tmp/dump'", "EXPORT"),
    ("IMPORT DATABASE '/tmp/dump'", "refused"),
    ("RESET threads", "SET"),
    ("SELECT * FROM read_parquet('x.parquet')", "read_parquet"),
    ("SELECT * FROM read_json_auto('x.json')", "read_json_auto"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"),
    ("SET threads = 1", "SET"),
    ("PRAGMA enable_profiling", "PRAGMA enable_profiling"),
    ("PRAGMA threads = 1", "SET"),  # DuckDB parses an assigning PRAGMA as SET
    ("CALL pragma_version()", "CALL"),
    ("CHECKPOINT", "CALL"),
    ("BEGIN TRANSACTION", "TRANSACTION"),
    ("VACUUM", "VACUUM"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_text('/etc/hostname')", "read_text"),
    ("SELECT * FROM 'data.parquet'", None),
    ("SELECT * FROM glob('/*')", "glob"),
    ("SELECT * FROM sqlite_scan('x.db', 't')", "sqlite_scan"),
    ("SELECT 1; DROP TABLE catalog_entry", "DROP"),
    ("", "empty"),
])
def test_writes_and_escapes_are_refused(db, sql, word):
    with pytest.raises((SQLRefused, SQLFailed)) as err:
        run_query(db, sql)
    if word:
        assert word.lower() in str(err.value).lower()
    with Warehouse.open(db) as wh:  # nothing changed
        assert wh.count("catalog_entry") == 3


def test_a_quoted_word_does_not_trigger_a_refusal():
    check_read_only("SELECT 'read_csv(' AS s -- read_json(\n")


@pytest.mark.parametrize("sql", [
    "SELECT name FROM catalog ORDER BY name",
    "WITH x AS (SELECT * FROM catalog) SELECT count(*) FROM x",
    "FROM catalog SELECT name",
    "DESCRIBE apis",
    "SHOW TABLES",
    "SUMMARIZE catalog",
    "EXPLAIN SELECT * FROM apis",
    "PRAGMA table_info('apis')",
])
def test_queries_are_answered(db, sql):
    assert len(run_query(db, sql)) >= 1


def test_output_formats_and_limit(db):
    df = run_query(db, "SELECT name, description, https FROM catalog ORDER BY name", limit=2)
    assert len(df) == 2
    csv = format_frame(df, "csv").splitlines()
    assert csv[0] == "name,description,https" and csv[1] == 'API a,"desc, with comma",true'
    assert json.loads(format_frame(df, "json"))[1]["name"] == "API b"
    table = format_frame(df, "table")
    assert "API a" in table and "desc, with comma" in table


def test_errors_are_clear(db, tmp_path):
    with pytest.raises(SQLFailed, match="nope"):
        run_query(db, "SELECT nope FROM catalog")
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        run_query(tmp_path / "missing.duckdb", "SELECT 1")


def test_docs_sql_md_documents_every_public_view_and_its_examples_run(db):
    import re
    from pathlib import Path

    from warehouse.migrations import PUBLIC_VIEWS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "sql.md").read_text()
    table_rows = {m.group(1) for m in re.finditer(r"^\| `(\w+)` \|", doc, re.MULTILINE)}
    assert set(PUBLIC_VIEWS) <= table_rows, set(PUBLIC_VIEWS) - table_rows
    block = doc.split("```sql", 1)[1].split("```", 1)[0]
    statements = [s.strip() for s in re.sub(r"--[^\n]*", "", block).split(";") if s.strip()]
    assert len(statements) >= len(PUBLIC_VIEWS)
    for view in PUBLIC_VIEWS:  # each view has at least one example
        assert any(re.search(rf"\b{view}\b", st) for st in statements), view
    for st in statements:  # and every example is allowed and runs
        run_query(db, st)
