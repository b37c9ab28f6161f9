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


EVERY_TYPE = """SELECT [1, 2] AS list, {'a': 1, 'b': [1, 2]} AS struct, MAP {'k': 1} AS map, MAP {1: 'x'} AS int_map,
  union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS uni, 1::VARIANT AS variant, '\\xAA\\x00'::BLOB AS blob,
  INTERVAL 3 DAY AS interval, 1.5::DECIMAL(10, 2) AS dec, 170141183460469231731687303715884105727::HUGEINT AS huge,
  '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS uuid, '1010'::BIT AS bits, TIME '12:00:00' AS time,
  TIMESTAMPTZ '2024-01-01 00:00:00+00' AS tstz, 'a'::ENUM('a', 'b') AS enum, [1, 2]::INTEGER[2] AS array,
  NULL AS nothing, 'nan'::DOUBLE AS nan, 'inf'::DOUBLE AS inf, DATE '2024-01-01' AS date,
  [{'x': '\\x01'::BLOB}] AS nested_blob, 1 AS list"""


def test_csv_and_json_hold_every_duckdb_type(db):
    import csv
    import io

    df = run_query(db, EVERY_TYPE)
    rows = list(csv.DictReader(io.StringIO(format_frame(df, "csv"))))
    (row,) = json.loads(format_frame(df, "json"))
    assert len(rows) == 1 and len(rows[0]) == len(row) == 22  # the repeated name got its own column
    csv_row = rows[0]
    assert json.loads(csv_row["list"]) == [1, 2] == row["list"]
    assert json.loads(csv_row["struct"]) == {"a": 1, "b": [1, 2]} == row["struct"]
    assert row["map"] == {"k": 1} and row["int_map"] == {"1": "x"} and row["uni"] == 2 and row["variant"] == 1
    assert row["blob"] == csv_row["blob"] == "\\xAA\\x00" and row["nested_blob"] == [{"x": "\\x01"}]
    assert row["huge"] == 170141183460469231731687303715884105727 and row["dec"] == csv_row["dec"] == "1.50"
    assert row["uuid"] == csv_row["uuid"] == "6ba7b810-9dad-11d1-80b4-00c04fd430c8" and row["date"] == "2024-01-01"
    assert row["nan"] == "nan" and row["inf"] == "inf" and row["nothing"] is None and row["array"] == [1, 2]
    for text in (format_frame(df, "csv"), format_frame(df, "json"), format_frame(df, "table")):
        assert "Series" not in text and "shape:" not in text and "dtype" not in text


def test_a_query_past_the_timeout_is_interrupted(db):
    import time

    started = time.monotonic()
    with pytest.raises(SQLFailed, match="ran past 0.5 s and was stopped"):
        run_query(db, "SELECT sum(hash(a.range * b.range)) FROM range(200000) a, range(200000) b", timeout_s=0.5)
    assert time.monotonic() - started < 10


def test_the_memory_limit_holds(db):
    with pytest.raises(SQLFailed, match="Out of Memory"):
        run_query(db, "SELECT list(range) FROM range(300000000)", memory_limit="100MB")


STATEMENTS = {  # one of each kind DuckDB's parser knows, and the ones its Python binding has no name for
    "SELECT": "SELECT 1", "INSERT": "INSERT INTO t VALUES (1)", "UPDATE": "UPDATE t SET a = 1", "CREATE": "CREATE TABLE t (a INT)",
    "DELETE": "DELETE FROM t", "PREPARE": "PREPARE p AS SELECT 1", "EXECUTE": "EXECUTE p", "ALTER": "ALTER TABLE t ADD COLUMN b INT",
    "TRANSACTION": "COMMIT", "COPY": "COPY t FROM 'x.csv'", "ANALYZE": "ANALYZE", "VARIABLE_SET": "SET VARIABLE x = 1",
    "CREATE_FUNC": "CREATE MACRO m(a) AS a", "EXPLAIN": "EXPLAIN SELECT 1", "DROP": "DROP TABLE t", "EXPORT": "EXPORT DATABASE 'd'",
    "PRAGMA": "PRAGMA version", "VACUUM": "VACUUM", "CALL": "CALL duckdb_settings()", "SET": "SET threads = 1",
    "LOAD": "LOAD json", "EXTENSION": "UPDATE EXTENSIONS", "ATTACH": "ATTACH 'x.db'", "DETACH": "DETACH x",
    "COPY_DATABASE": "COPY FROM DATABASE a TO b", "MERGE_INTO": "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
    "settings": "SELECT * FROM duckdb_settings()", "variable": "SELECT getvariable('x')", "describe": "DESCRIBE apis",
    "summarize": "SUMMARIZE catalog_entry", "show": "SHOW TABLES", "install": "INSTALL httpfs", "force": "FORCE INSTALL httpfs",
    "checkpoint": "FORCE CHECKPOINT", "reset": "RESET threads", "use": "USE memory", "detach_if": "DETACH DATABASE IF EXISTS x",
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_statement_type_is_refused_or_run_through_the_cli(db, name, capsys, monkeypatch):
    from toolfactory.cli import main

    monkeypatch.setenv("TOOLFACTORY_WAREHOUSE_PATH", str(db))
    for fmt in ("table", "csv", "json"):
        code = main(["sql", STATEMENTS[name], "--format", fmt])
        out, err = capsys.readouterr()
        assert code in (0, 2), (name, code, err)
        assert (code == 0 and not err) or (code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("toolfactory: ")), err
