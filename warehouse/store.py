"""The warehouse: one DuckDB file, migrated on open, written only through validated landing.

``Warehouse.open(path)`` creates the file and applies migrations. ``land(records)`` validates each
record against its JSON Schema; valid ones are inserted (``INSERT OR IGNORE`` on the content-hash
primary key, so landing the same thing twice changes nothing), invalid ones go to
``landing_quarantine`` with their errors plus a ``rejections`` row — never silently dropped.

One ``Warehouse`` may be shared by threads: every operation takes the lock and its own cursor.
Several processes may each open a ``Warehouse`` on the same file: they take turns through a
``Lease`` (see warehouse/lease.py and docs/warehouse.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl

from schemas import load_schema, schema_version, validate_record
from schemas.ids import content_id
from schemas.records import Record
from warehouse.flow_reads import FlowReads
from warehouse.frame_landing import insert_frame
from warehouse.lease import Lease, LeaseTimeout
from warehouse.migrations import MIGRATIONS
from warehouse.replica import publish_replica
from warehouse.row_insert import insert_rows, land_steps, steps_from_json
from warehouse.schema_sql import column_sql, extract_sql, validity_sql

# schema name → (table, JSON columns)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "catalog_entry": ("catalog_entry", ()),
    "catalog_quarantine": ("catalog_quarantine", ()),
    "api_doc": ("api_doc", ("function_list", "spec", "lint_errors")),
    "function_doc": ("function_doc", ("parameters",)),
    "llm_call": ("llm_call", ()),
    "rejection": ("rejection", ()),
    "instruction": ("instruction", ("partner_doc_ids", "target_functions")),
    "dialogue": ("dialogue", ("steps", "models", "prompt_versions", "partner_api_ids", "toolset")),
    "curation_verdict": ("curation_verdict", ()),
    "golden_answer": ("golden_answer", ("calls",)),
    "eval_result": ("eval_result", ("steps", "predicted_calls", "em_reasons", "process_rule_reasons")),
    "import_note": ("import_note", ()),
}


@cache
def _validity(schema: str) -> str:
    return validity_sql(load_schema(schema), "rec")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file (DuckDB allows one read-write process)."""


class WarehouseUnusable(RuntimeError):
    """The warehouse path cannot be opened as a DuckDB file (a folder, another kind of file …)."""


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


def connect(path: str | Path, read_only: bool = False, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a lock held by another process becomes WarehouseBusy."""
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        if "lock" in str(exc).casefold():
            raise WarehouseBusy(
                f"{path} is in use by another process (DuckDB allows one writer); wait for it to finish"
            ) from None
        raise WarehouseUnusable(f"{path}: cannot open the warehouse ({str(exc).splitlines()[0][:300]})") from None


class Warehouse(FlowReads):
    """The warehouse file, opened lazily and shared with other processes through a ``Lease``.

    Every operation runs in ``_session``: it takes the lease and opens the file when this object
    does not hold them, runs on its own cursor, and afterwards lets the file go if another process
    waits for it. Writes mark the replica stale; it is republished at most every
    ``replica_interval_s`` and on close.
    """

    def __init__(self, path: str | Path, *, wait_s: float = 300.0, replica_interval_s: float = 5.0, memory_limit: str = "1GB"):
        self.path = str(path)
        self.memory_limit = memory_limit
        self.wait_s = wait_s
        self.replica_interval_s = replica_interval_s
        self._memory = self.path == ":memory:"
        self._lease = None if self._memory else Lease(self.path)
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._dirty = False
        self._replica_due = 0.0
        self._closed = False
        self._col_cache: dict[str, dict[str, str]] = {}
        self._watcher: threading.Thread | None = None
        self.handovers = 0  # times this object let the file go to a waiting process
        self.min_turn_s = 0.25  # a turn on the file lasts at least this long when the holder is busy
        self._attached_at = 0.0

    @classmethod
    def open(cls, path: str | Path, *, wait_s: float = 300.0, replica_interval_s: float = 5.0, memory_limit: str = "1GB") -> Warehouse:
        """Open (creating the file and its folder when missing) and migrate. ``memory_limit`` caps
        DuckDB's buffers (queries larger than that spill to disk)."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        wh = cls(path, wait_s=wait_s, replica_interval_s=replica_interval_s, memory_limit=memory_limit)
        wh.migrate()
        return wh

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                if self._con is not None and self._dirty:
                    self._publish_replica()
            finally:
                self._detach()
                self._closed = True

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the file and the lease -----------------------------------------------------------------
    @contextmanager
    def _session(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the file, the lease held for as long as it is in use."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"warehouse {self.path} is closed")
            if self._con is None:
                self._attach()
            assert self._con is not None
            self._depth += 1
            cur = self._con.cursor()
            try:
                yield cur
            finally:
                cur.close()
                self._depth -= 1
                self._dirty = self._dirty or write
                if self._depth == 0:
                    self._after_operation()

    def _attach(self) -> None:
        config = {"memory_limit": self.memory_limit}
        if self._memory:
            self._con = connect(self.path, config=config)
            return
        assert self._lease is not None
        deadline = time.monotonic() + self.wait_s
        try:
            self._lease.acquire(self.wait_s)
        except LeaseTimeout as exc:
            raise WarehouseBusy(str(exc)) from None
        pause = 0.01
        while True:  # a program outside the protocol (the DuckDB CLI) may hold the file
            try:
                self._con = connect(self.path, config=config)
                break
            except WarehouseBusy:
                if time.monotonic() > deadline:
                    self._lease.release()
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
        self._attached_at = time.monotonic()  # the turn starts once the file is open
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="warehouse-lease", daemon=True)
            self._watcher.start()

    def _detach(self, handover: bool = False) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._lease is not None:
            self._lease.release(handover)

    def _after_operation(self) -> None:
        if self._memory:
            return
        if self._dirty and time.monotonic() >= self._replica_due:
            self._publish_replica()
        if (self._lease is not None and time.monotonic() - self._attached_at >= self.min_turn_s
                and self._lease.others_waiting()):
            self._detach(handover=True)
            self.handovers += 1

    def _publish_replica(self) -> None:
        if self._memory or self._con is None:
            return
        cost = publish_replica(self._con, self.path)
        self._dirty = False
        self._replica_due = time.monotonic() + max(self.replica_interval_s, 20 * cost)

    def _watch(self) -> None:
        """While idle, hand the file over to waiting processes and publish a stale replica."""
        while not self._closed:
            time.sleep(0.05)
            if self._con is None or not self._lock.acquire(blocking=False):
                continue
            try:
                if self._con is not None and self._depth == 0 and not self._closed:
                    self._after_operation()
            finally:
                self._lock.release()

    # --- schema ---------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations in order; return the versions applied."""
        applied = []
        with self._session() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)"
            )
            done = {r[0] for r in cur.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, name, sql in MIGRATIONS:
                if version in done:
                    continue
                cur.execute("BEGIN")
                try:
                    cur.execute(sql)
                    cur.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
                    cur.execute("COMMIT")
                except Exception:
                    cur.execute("ROLLBACK")
                    raise
                applied.append(version)
            self._dirty = self._dirty or bool(applied)
        return applied

    def migration_versions(self) -> list[int]:
        return [r[0] for r in self.execute("SELECT version FROM schema_migrations ORDER BY version")]

    # --- generic access -------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None, *, write: bool = False) -> list[tuple]:
        """Run one statement; pass ``write=True`` for statements that change data (marks the replica stale)."""
        with self._session(write) as cur:
            return cur.execute(sql, params or []).fetchall()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Keep the file (the lease and this object's lock) for a block of several operations, so a
        read-decide-write sequence (the training trigger's claim) is not interleaved with another
        thread's or process's."""
        with self._session(write=True):
            yield

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one write transaction: committed when the block ends, rolled back on error."""
        with self._session(write=True) as cur:
            cur.execute("BEGIN")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with self._session() as cur:
            return cur.sql(sql, params=list(params or [])).pl()

    def count(self, table_or_view: str, where: str = "", params: Sequence[Any] | None = None) -> int:
        return int(self.execute(f"SELECT count(*) FROM {table_or_view} {('WHERE ' + where) if where else ''}", params)[0][0])

    # --- landing --------------------------------------------------------------------------------
    def land(self, records: Iterable[Record], extra: dict[str, Any] | None = None) -> LandReport:
        """Validate and insert records (any mix of types). ``extra`` adds columns (e.g. import_id).

        Each batch of one type is serialised to JSON text once and validated in one SQL pass
        (``warehouse.schema_sql``); rows the SQL refuses are checked by ``jsonschema`` for their
        errors and quarantined, valid rows inserted with ``INSERT OR IGNORE``."""
        report = LandReport()
        by_schema: dict[str, list[Record]] = {}
        for rec in records:
            by_schema.setdefault(rec.SCHEMA, []).append(rec)
        if not by_schema:
            return report
        with self.transaction() as cur:
            for schema, recs in by_schema.items():
                table, json_cols = TABLES[schema]
                self._account(cur, report, table, len(recs), *self._insert(cur, table, schema, recs, json_cols, extra or {}))
        return report

    def land_frame(self, schema: str, frame: pl.DataFrame, extra: dict[str, Any] | None = None) -> LandReport:
        """Bulk landing of a typed frame of records of ``schema`` (columns and types:
        ``warehouse.frame_landing.frame_schema``), validated column-wise; see ``warehouse/frame_landing.py``."""
        table, _ = TABLES[schema]
        report = LandReport()
        if frame.is_empty():
            return report
        with self.transaction() as cur:
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
            ok = [bool(r[0]) for r in cur.execute(f"SELECT {_validity(schema)} AS ok FROM staged_records").fetchall()]
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
            cur.unregister("staged_records")
            cur.register("staged_records", staged.with_columns(pl.Series("ok", ok, dtype=pl.Boolean)))
            values = column_sql([(n, types[n]) for n in names], "v", json_cols)
            projected = ", ".join(f'{e} AS "{n}"' for e, n in zip(values, names, strict=True))
            inserted = insert_rows(cur, table, names, f"SELECT {projected} FROM (SELECT {extract_sql(names)} AS v "
                                   "FROM staged_records WHERE ok)", types, consts)
            if table == "dialogue":
                land_steps(cur, inserted, steps_from_json("SELECT rec ->> '$.dialogue_id' AS id, rec ->> '$.api_id' AS api, "
                                                          "unnest(CAST(rec -> '$.steps' AS JSON[])) AS s FROM staged_records WHERE ok"))
        finally:
            cur.unregister("staged_records")
        return len(inserted), bad

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
