"""Validated landing: records (or a typed frame of them) into their tables, in one transaction.

Each batch of one record type is serialised to JSON text once and validated by jsonschema-rs
(``schemas.valid_json_texts``; the SQL pass it replaced cost tens of ms a batch whatever its size);
rows it refuses are checked by ``jsonschema`` for their errors and quarantined (``landing_quarantine``
plus a ``rejection`` row), valid rows inserted with ``INSERT OR IGNORE`` on the content-hash key, so
landing the same thing twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import duckdb
import orjson
import polars as pl

from schemas import schema_version, valid_json_texts, validate_record
from schemas.ids import content_id
from schemas.records import Record
from warehouse.frame_landing import insert_frame
from warehouse.row_insert import insert_batch
from warehouse.schema_sql import column_sql, extract_sql

# schema name → (table, JSON columns)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "catalog_entry": ("catalog_entry", ()),
    "catalog_quarantine": ("catalog_quarantine", ()),
    "api_doc": ("api_doc", ("function_list", "spec", "lint_errors")),
    "function_doc": ("function_doc", ("parameters",)),
    "llm_call": ("llm_call", ()),
    "rejection": ("rejection", ()),
    "instruction": ("instruction", ("partner_doc_ids", "target_functions", "chain")),
    "dialogue": ("dialogue", ("models", "prompt_versions", "partner_api_ids", "toolset")),
    "curation_verdict": ("curation_verdict", ()),
    "golden_answer": ("golden_answer", ("calls",)),
    "eval_result": ("eval_result", ("steps", "predicted_calls", "em_reasons", "process_rule_reasons")),
    "import_note": ("import_note", ()),
    "function_edge": ("function_edge", ("evidence",)),
    "turn_verdict": ("turn_verdict", ()),
    "tool_context": ("tool_context", ("doc_ids", "api_ids", "toolset", "function_names", "tools", "spec")),
}


@dataclass
class LandReport:
    inserted: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0

    def add(self, other: LandReport) -> None:
        for k, v in other.inserted.items():
            self.inserted[k] = self.inserted.get(k, 0) + v
        for k, v in other.ignored.items():
            self.ignored[k] = self.ignored.get(k, 0) + v
        self.quarantined += other.quarantined


class Landing:
    """Landing on one warehouse's cursors; caches each table's column types."""

    def __init__(self) -> None:
        self._col_cache: dict[str, dict[str, str]] = {}

    def records(self, cur: duckdb.DuckDBPyConnection, records: Iterable[Record], extra: dict[str, Any] | None) -> LandReport:
        """Validate and insert records (any mix of types); ``extra`` adds columns (e.g. import_id)."""
        report = LandReport()
        by_schema: dict[str, list[Record]] = {}
        for rec in records:
            by_schema.setdefault(rec.SCHEMA, []).append(rec)
        for schema, recs in by_schema.items():
            table, json_cols = TABLES[schema]
            self._account(cur, report, table, len(recs), *self._insert(cur, table, schema, recs, json_cols, extra or {}))
        return report

    def frame(self, cur: duckdb.DuckDBPyConnection, schema: str, frame: pl.DataFrame, extra: dict[str, Any] | None) -> LandReport:
        """A typed frame of ``schema`` records (``warehouse.frame_landing.frame_schema``), validated column-wise."""
        table, _ = TABLES[schema]
        report = LandReport()
        types = self._columns(cur, table)
        consts = {k: v for k, v in (extra or {}).items() if k in types and k not in frame.columns}
        self._account(cur, report, table, frame.height, *insert_frame(cur, table, schema, frame, types, consts))
        return report

    def _account(self, cur: duckdb.DuckDBPyConnection, report: LandReport, table: str, total: int, inserted: int,
                 bad: list[tuple[dict[str, Any], list[str]]]) -> None:
        """Quarantine the refused rows and add one insert's outcome to ``report``."""
        for data, errors in bad:
            self._quarantine(cur, table, data, errors)
        report.inserted[table] = report.inserted.get(table, 0) + inserted
        report.ignored[table] = report.ignored.get(table, 0) + total - len(bad) - inserted
        report.quarantined += len(bad)

    def _insert(self, cur: duckdb.DuckDBPyConnection, table: str, schema: str, recs: list[Record], json_cols: tuple[str, ...],
                extra: dict[str, Any]) -> tuple[int, list[tuple[dict[str, Any], list[str]]]]:
        """(rows inserted, [(record, errors)] of the invalid ones)."""
        texts = [orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS, default=str).decode() for r in recs]
        staged = pl.DataFrame({"rec": texts}, schema={"rec": pl.Utf8})
        cur.register("staged_records", staged)
        try:
            ok = valid_json_texts(schema, texts)
            bad = []
            for i, fine in enumerate(ok):
                if not fine:
                    data = recs[i].to_dict()
                    errors = validate_record(schema, data)
                    if errors:  # jsonschema is the reference; a row it accepts goes in
                        bad.append((data, errors))
                        continue
                    ok[i] = True
            types = self._columns(cur, table)
            names = [f.name for f in fields(recs[0])]  # type: ignore[arg-type]
            missing = [n for n in names if n not in types]
            if missing:  # a record field without a column would be lost: a migration is missing
                raise RuntimeError(f"{table} has no column for {', '.join(missing)}; add a migration")
            consts = {k: v for k, v in extra.items() if k in types and k not in names}
            if "schema_version" in types and "schema_version" not in names:
                consts["schema_version"] = schema_version(schema)
            where = ""
            if not all(ok):
                cur.unregister("staged_records")
                cur.register("staged_records", staged.with_columns(pl.Series("ok", ok, dtype=pl.Boolean)))
                where = " WHERE ok"
            values = column_sql([(n, types[n]) for n in names], "v", json_cols)
            projected = ", ".join(f'{e} AS "{n}"' for e, n in zip(values, names, strict=True))
            rows_sql = f"SELECT {projected} FROM (SELECT {extract_sql(names)} AS v FROM staged_records{where})"
            keys_sql = f"(SELECT rec ->> '$.{names[0]}' AS \"{names[0]}\" FROM staged_records)"
            inserted = insert_batch(cur, table, names, rows_sql, types, consts, None if where else keys_sql)
        finally:
            cur.unregister("staged_records")
        return len(recs) - len(bad) if inserted is None else len(inserted), bad

    def _columns(self, cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
        """column → DuckDB type."""
        if table not in self._col_cache:
            self._col_cache[table] = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
        return self._col_cache[table]

    def _quarantine(self, cur: duckdb.DuckDBPyConnection, target: str, data: dict[str, Any], errors: list[str]) -> None:
        record_json = json.dumps(data, ensure_ascii=False, default=str)
        qid = content_id("landing", target, record_json)
        cur.execute(
            "INSERT OR IGNORE INTO landing_quarantine (quarantine_id, target, record, errors) VALUES (?, ?, ?, ?)",
            [qid, target, record_json, json.dumps(errors)],
        )
        subject = str(data.get(next(iter(data), ""), "")) if data else ""
        cur.execute(
            "INSERT OR IGNORE INTO rejection (rejection_id, stage, subject_id, reason, detail) VALUES (?, 'landing', ?, 'schema_invalid', ?)",
            [content_id("rejection", "landing", qid), subject, f"{target}: " + "; ".join(errors[:5])],
        )
