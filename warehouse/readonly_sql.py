"""Read-only SQL over the warehouse, for ``toolfactory sql``.

Statements are classified by DuckDB's own parser (``extract_statements``) and only queries pass:
SELECT (incl. WITH, FROM-first, DESCRIBE, SHOW, SUMMARIZE), EXPLAIN, and a few read-only PRAGMAs.
Everything that writes or escapes the warehouse — DDL, DML, ATTACH/DETACH, COPY/EXPORT, INSTALL/LOAD,
SET, CALL, transactions, state-changing PRAGMAs, file-reading table functions — is refused with a
``SQLRefused`` that says why. As a second wall, the connection is opened read-only with external
access disabled and the configuration locked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from warehouse.lease import Lease, LeaseTimeout
from warehouse.replica import replica_age_s, replica_path
from warehouse.store import WarehouseBusy, connect

READ_ONLY_PRAGMAS = {"table_info", "show_tables", "show_tables_expanded", "database_size", "version", "show",
                     "storage_info", "platform", "functions", "collations"}
FILE_FUNCTIONS = re.compile(
    r"\b(read_\w+|\w+_scan|glob|read_text|read_blob|parquet_\w+|sniff_csv|iceberg_\w+|delta_\w+|query_table|query)\s*\(",
    re.IGNORECASE,
)
_ALLOWED_TYPES = {"SELECT", "EXPLAIN"}


class SQLRefused(ValueError):
    """The statement is not a read-only query; the message says what was refused and why."""


class SQLFailed(RuntimeError):
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
    if not statements:
        raise SQLRefused("no statement")
    for st in statements:
        kind = st.type.name
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


def open_read_only(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection with external access off (no files, no extensions, no attach).
    Take the lease first (``read_connection``) when a flow may be writing."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `toolfactory catalog import` or `make run` first")
    return connect(
        path,
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "lock_configuration": True,
        },
    )


@contextmanager
def read_connection(path: str | Path, wait_s: float = 30.0,
                    on_replica: Callable[[float], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
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
        con = open_read_only(path)
    except (LeaseTimeout, WarehouseBusy) as exc:
        lease.release()
        age = replica_age_s(path)
        if age is None:
            raise WarehouseBusy(f"{exc}; and there is no replica to read") from None
        if on_replica is not None:
            on_replica(age)
        con = open_read_only(replica_path(path))
    try:
        yield con
    finally:
        con.close()
        lease.release()


def run_query(path: str | Path, sql: str, limit: int | None = None, wait_s: float = 30.0,
              on_replica: Callable[[float], None] | None = None) -> pl.DataFrame:
    """Check ``sql`` and run it read-only; returns a polars frame (capped at ``limit`` rows)."""
    check_read_only(sql)
    with read_connection(path, wait_s, on_replica) as con:
        return _run(con, sql, limit)


def _run(con: duckdb.DuckDBPyConnection, sql: str, limit: int | None) -> pl.DataFrame:
    try:
        rel = con.sql(sql)
        if rel is None:
            return pl.DataFrame()
        return rel.pl() if limit is None else _first_rows(rel, limit)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        if "permission" in first.casefold() or "read-only" in first.casefold() or "disabled" in first.casefold():
            raise SQLRefused(first) from None
        raise SQLFailed(first) from None


def _first_rows(rel: duckdb.DuckDBPyRelation, limit: int) -> pl.DataFrame:
    """At most ``limit`` rows, read through the Arrow reader so large results are never fully fetched."""
    import pyarrow as pa

    reader = rel.to_arrow_reader(batch_size=max(1, min(limit, 100_000)))
    batches, n = [], 0
    for batch in reader:
        batches.append(batch.slice(0, limit - n))
        n += min(batch.num_rows, limit - n)
        if n >= limit:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return pl.from_arrow(table)  # type: ignore[return-value]


def format_frame(df: pl.DataFrame, fmt: str = "table") -> str:
    """Render a result as ``table`` (aligned text), ``csv`` or ``json`` (an array of objects)."""
    if fmt == "csv":
        return _stringify(df).write_csv()
    if fmt == "json":
        return json.dumps(df.to_dicts(), ensure_ascii=False, default=str, indent=1)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (table, csv or json)")
    with pl.Config(tbl_rows=max(len(df), 1), tbl_cols=-1, fmt_str_lengths=80, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_width_chars=200):
        return str(df)


def _stringify(df: pl.DataFrame) -> pl.DataFrame:
    """CSV cannot hold nested values: write them as JSON text."""
    out = []
    for name, dtype in df.schema.items():
        if dtype.is_nested() or dtype == pl.Object:
            out.append(pl.col(name).map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.Utf8))
        else:
            out.append(pl.col(name))
    return df.select(out) if out else df

