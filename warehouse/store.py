"""The warehouse: one DuckDB file, migrated on open, written only through validated landing.

``Warehouse.open(path)`` creates the file and applies migrations. ``land(records)`` validates each
record against its JSON Schema (``warehouse.landing``); valid ones are inserted, invalid ones go to
``landing_quarantine`` with their errors plus a ``rejections`` row — never silently dropped.

One ``Warehouse`` may be shared by threads: every operation takes the lock and its own cursor.
Several processes may each open a ``Warehouse`` on the same file: they take turns through a
``Lease`` (``warehouse.file``, warehouse/lease.py and docs/warehouse.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from schemas.records import Record
from warehouse.file import WarehouseBusy, WarehouseFile, WarehouseUnusable, connect
from warehouse.flow_reads import FlowReads
from warehouse.landing import TABLES, Landing, LandReport
from warehouse.migrations import MIGRATIONS

__all__ = ["TABLES", "LandReport", "Warehouse", "WarehouseBusy", "WarehouseUnusable", "connect"]


class Warehouse(FlowReads):
    """The store: migrations, reads and landing, over a ``WarehouseFile`` (the lease, the
    connection and the replica). Every operation runs in one session of the file; writes mark the
    replica stale."""

    def __init__(self, path: str | Path, *, wait_s: float = 300.0, replica_interval_s: float = 5.0, memory_limit: str = "1GB"):
        self.path = str(path)
        self.file = WarehouseFile(self.path, wait_s=wait_s, replica_interval_s=replica_interval_s, memory_limit=memory_limit)
        self.landing = Landing()

    @property
    def handovers(self) -> int:
        """Times this object let the file go to a waiting process."""
        return self.file.handovers

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
        self.file.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- schema ---------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations in order; return the versions applied."""
        applied = []
        with self.file.session() as cur:
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
            self.file.dirty = self.file.dirty or bool(applied)
        return applied

    def migration_versions(self) -> list[int]:
        return [r[0] for r in self.execute("SELECT version FROM schema_migrations ORDER BY version")]

    # --- generic access -------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None, *, write: bool = False) -> list[tuple]:
        """Run one statement; pass ``write=True`` for statements that change data (marks the replica stale)."""
        with self.file.session(write) as cur:
            return cur.execute(sql, params or []).fetchall()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Keep the file (the lease and this object's lock) for a block of several operations, so a
        read-decide-write sequence (the training trigger's claim) is not interleaved with another
        thread's or process's."""
        with self.file.session(write=True):
            yield

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one write transaction: committed when the block ends, rolled back on error."""
        with self.file.session(write=True) as cur:
            cur.execute("BEGIN")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with self.file.session() as cur:
            return cur.sql(sql, params=list(params or [])).pl()

    def count(self, table_or_view: str, where: str = "", params: Sequence[Any] | None = None) -> int:
        return int(self.execute(f"SELECT count(*) FROM {table_or_view} {('WHERE ' + where) if where else ''}", params)[0][0])

    # --- landing --------------------------------------------------------------------------------
    def land(self, records: Iterable[Record], extra: dict[str, Any] | None = None) -> LandReport:
        """Validate and insert records (any mix of types) in one transaction. ``extra`` adds columns (e.g. import_id)."""
        records = list(records)
        if not records:
            return LandReport()
        with self.transaction() as cur:
            return self.landing.records(cur, records, extra)

    def land_frame(self, schema: str, frame: pl.DataFrame, extra: dict[str, Any] | None = None) -> LandReport:
        """Bulk landing of a typed frame of records of ``schema`` (columns and types:
        ``warehouse.frame_landing.frame_schema``), validated column-wise; see ``warehouse/frame_landing.py``."""
        if frame.is_empty():
            return LandReport()
        with self.transaction() as cur:
            return self.landing.frame(cur, schema, frame, extra)
