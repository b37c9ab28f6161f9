"""Read-only SQL over the warehouse, for ``toolfactory sql``.

Statements are classified by DuckDB's own parser (``extract_statements``) and only queries pass:
SELECT (incl. WITH, FROM-first, DESCRIBE, SHOW, SUMMARIZE), EXPLAIN, and a few read-only PRAGMAs.
Everything that writes or escapes the warehouse — DDL, DML, ATTACH/DETACH, COPY/EXPORT, INSTALL/LOAD,
SET, CALL, transactions, state-changing PRAGMAs, file-reading table functions — is refused with a
``SQLRefused`` that says why. As a second wall, the connection is opened read-only with external
access disabled and the configuration locked.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from schemas.errors import InvalidInput, UserError
from warehouse.file import WarehouseBusy, connect
from warehouse.lease import Lease, LeaseTimeout
from warehouse.replica import replica_age_s, replica_path

READ_ONLY_PRAGMAS = {"table_info", "show_tables", "show_tables_expanded", "database_size", "version", "show",
                     "storage_info", "platform", "functions", "collations"}
FILE_FUNCTIONS = re.compile(
    r"\b(read_\w+|\w+_scan|glob|read_text|read_blob|parquet_\w+|sniff_csv|iceberg_\w+|delta_\w+|query_table|query)\s*\(",
    re.IGNORECASE,
)
_ALLOWED_TYPES = {"SELECT", "EXPLAIN"}


class SQLRefused(InvalidInput):
    """The statement is not a read-only query; the message says what was refused and why."""


class SQLFailed(UserError, RuntimeError):
    """DuckDB could not run an allowed query (a typo, an unknown column …)."""


def _strip_literals(sql: str) -> str:
    """Drop string literals and comments so a name inside quotes does not trigger a refusal."""
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def check_read_only(sql: str) -> None:
    """Raise SQLRefused unless every statement in ``sql`` is a read-only query."""
    if not sql.strip():
        raise SQLRefused("empty query")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SQLRefused(f"cannot parse: {str(exc).splitlines()[0]}") from None
    except ValueError:  # a statement type the Python binding has no name for (UPDATE EXTENSIONS …)
        raise SQLRefused("this statement type is refused: `toolfactory sql` is read-only (queries only)") from None
    if not statements:
        raise SQLRefused("no statement")
    for st in statements:
        try:
            kind = st.type.name
        except ValueError:  # a statement type the Python binding has no name for (UPDATE EXTENSIONS …)
            raise SQLRefused("this statement is refused: `toolfactory sql` is read-only (queries only: SELECT, WITH, "
                             "DESCRIBE, SHOW, EXPLAIN)") from None
        text = st.query.strip()
        if kind == "PRAGMA":
            m = re.match(r"(?is)pragma\s+(\w+)", text)
            name = m.group(1).lower() if m else ""
            if name in READ_ONLY_PRAGMAS and "=" not in text:
                continue
            raise SQLRefused(f"PRAGMA {name or '?'} is refused: only read-only pragmas ({', '.join(sorted(READ_ONLY_PRAGMAS))}) are allowed")
        if kind not in _ALLOWED_TYPES:
            raise SQLRefused(
                f"{kind} statements are refused: `toolfactory sql` is read-only (queries only: SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)"
            )
        m = FILE_FUNCTIONS.search(_strip_literals(text))
        if m:
            raise SQLRefused(f"{m.group(1)}() is refused: `toolfactory sql` does not read files or other databases")


def open_read_only(path: str | Path, memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """A read-only connection with external access off (no files, no extensions, no attach) and
    DuckDB's memory capped. Take the lease first (``read_connection``) when a flow may be writing."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `toolfactory catalog import` or `make run` first")
    return connect(
        path,
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": memory_limit,
            "lock_configuration": True,
        },
    )


@contextmanager
def read_connection(path: str | Path, wait_s: float = 30.0, on_replica: Callable[[float], None] | None = None,
                    memory_limit: str = "1GB") -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked-down read-only connection to the live file, taken in turn through the warehouse
    lease (a writing flow hands the file over between two transactions). When the file cannot be
    had within ``wait_s`` (a program outside the protocol holds it), the replica is read instead
    and ``on_replica`` gets its age in seconds; with no replica, ``WarehouseBusy`` is raised."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `toolfactory catalog import` or `make run` first")
    lease = Lease(path)
    con = None
    try:
        lease.acquire(wait_s)
        con = open_read_only(path, memory_limit)
    except (LeaseTimeout, WarehouseBusy) as exc:
        lease.release()
        age = replica_age_s(path)
        if age is None:
            raise WarehouseBusy(f"{exc}; and there is no replica to read") from None
        if on_replica is not None:
            on_replica(age)
        con = open_read_only(replica_path(path), memory_limit)
    try:
        yield con
    finally:
        con.close()
        lease.release()


def run_query(path: str | Path, sql: str, limit: int | None = None, wait_s: float = 30.0,
              on_replica: Callable[[float], None] | None = None, *, memory_limit: str = "1GB",
              timeout_s: float = 60.0) -> pl.DataFrame:
    """Check ``sql`` and run it read-only under ``memory_limit`` (DuckDB's cap; bigger work spills or
    fails) and ``timeout_s`` (DuckDB's interrupt, from a timer); returns a polars frame (capped at
    ``limit`` rows). Raises SQLRefused, or SQLFailed for an error or a query stopped by the timeout."""
    check_read_only(sql)
    with read_connection(path, wait_s, on_replica, memory_limit) as con:
        timer = threading.Timer(timeout_s, con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            return _run(con, sql, limit)
        except SQLFailed as exc:
            if not timer.is_alive():
                raise SQLFailed(f"the query ran past {timeout_s:g} s and was stopped (sql_timeout_s)") from None
            raise exc from None
        finally:
            timer.cancel()


def _run(con: duckdb.DuckDBPyConnection, sql: str, limit: int | None) -> pl.DataFrame:
    try:
        rel = con.sql(sql)
        if rel is None:
            return pl.DataFrame()
        rows = (rel if limit is None else rel.limit(limit)).fetchall()
        return _frame(rel.columns, rows)
    except (duckdb.Error, RuntimeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        if "permission" in first.casefold() or "read-only" in first.casefold() or "disabled" in first.casefold():
            raise SQLRefused(first) from None
        raise SQLFailed(first) from None


def _frame(names: list[str], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Rows of DuckDB's Python values as a frame: blobs as escaped text, UUIDs as text; a column
    polars cannot hold (a union of types, mixed values) becomes its JSON text."""
    seen: dict[str, int] = {}
    series = []
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}_{seen[name]}"  # SELECT 1 AS a, 2 AS a
        values = [_plain(r[i]) for r in rows]
        try:
            series.append(pl.Series(label, values, strict=False))
        except Exception:  # noqa: BLE001 (any value polars refuses becomes text)
            series.append(pl.Series(label, [None if v is None else _json_text(v) for v in values], dtype=pl.Utf8))
    return pl.DataFrame(series)


def _plain(value: Any) -> Any:
    """A DuckDB value as plain Python: bytes → DuckDB's escaped text, UUID → text, tuples → lists,
    map keys → text; nested values likewise."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in bytes(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    """A plain value JSON can hold: NaN and infinities as text, dates, times, intervals and decimals
    as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _json_text(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False)


def format_frame(df: pl.DataFrame, fmt: str = "table") -> str:
    """Render a result as ``table`` (aligned text), ``csv`` or ``json`` (an array of objects)."""
    if fmt == "csv":
        return _stringify(df).write_csv()
    if fmt == "json":
        return json.dumps([_jsonable(r) for r in df.to_dicts()], ensure_ascii=False, indent=1)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (table, csv or json)")
    with pl.Config(tbl_rows=max(len(df), 1), tbl_cols=-1, fmt_str_lengths=80, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_width_chars=200):
        return str(df)


def _stringify(df: pl.DataFrame) -> pl.DataFrame:
    """CSV holds text: nested values as JSON, everything else as its text (dates ISO, NaN as 'nan')."""
    out = []
    for name, dtype in df.schema.items():
        values = df.get_column(name).to_list()
        if dtype.is_nested() or dtype == pl.Object:
            out.append(pl.Series(name, [None if v is None else _json_text(v) for v in values], dtype=pl.Utf8))
        elif dtype.is_temporal() or dtype == pl.Decimal or dtype == pl.Duration:
            out.append(pl.Series(name, [None if v is None else _jsonable(v) for v in values], dtype=pl.Utf8))
        else:
            out.append(df.get_column(name))
    return pl.DataFrame(out) if out else df
