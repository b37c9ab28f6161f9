"""The warehouse file and the turn this process holds on it.

``WarehouseFile.session(write)`` gives a cursor with the file open: it takes the ``Lease`` and opens
the file when this process does not hold them, and afterwards lets the file go when another process
waits for it (``handovers`` counts those). A watcher thread does the same while the holder is idle,
and republishes a stale read replica (``warehouse.replica``) at most every ``replica_interval_s``;
``close`` publishes it once more. ``:memory:`` is a plain in-process database (no lease, no replica).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from schemas.errors import Unavailable
from warehouse.lease import Lease, LeaseTimeout
from warehouse.replica import publish_replica


class WarehouseBusy(Unavailable):
    """Another process holds the warehouse file (DuckDB allows one read-write process)."""


class WarehouseUnusable(Unavailable):
    """The warehouse path cannot be opened as a DuckDB file (a folder, another kind of file …)."""


# The writer's row groups: a bulk landing of at least this many rows is compressed and written
# straight into the file at insert time (DuckDB's optimistic writes) instead of going through the
# WAL and a checkpoint; at DuckDB's default (122,880) a batch of 50,000 never is. Readers see an
# ordinary file. Measured in docs/benchmarks.md ("steps stored once"), chosen in docs/decisions.md.
WRITER_ROW_GROUP_ROWS = 32_768


def connect(path: str | Path, read_only: bool = False, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a lock held by another process becomes WarehouseBusy."""
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        raise _open_error(path, exc) from None


def connect_writer(path: str | Path, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file read-write as the default catalog ``warehouse`` of an in-process database,
    with the writer's row-group size (``WRITER_ROW_GROUP_ROWS``); errors as ``connect``."""
    con = duckdb.connect(":memory:", config=config or {})
    try:
        quoted = str(path).replace("'", "''")  # ATTACH takes no parameters: the path as an SQL string
        con.execute(f"ATTACH '{quoted}' AS warehouse (ROW_GROUP_SIZE {WRITER_ROW_GROUP_ROWS})")
        con.execute("USE warehouse")
    except duckdb.IOException as exc:
        con.close()
        raise _open_error(path, exc) from None
    except BaseException:
        con.close()
        raise
    return con


def _open_error(path: str | Path, exc: duckdb.IOException) -> Exception:
    if "lock" in str(exc).casefold():
        return WarehouseBusy(f"{path} is in use by another process (DuckDB allows one writer); wait for it to finish")
    return WarehouseUnusable(f"{path}: cannot open the warehouse ({str(exc).splitlines()[0][:300]})")


class WarehouseFile:
    """One process's access to the file: the lease, the connection, the watcher and the replica."""

    def __init__(self, path: str, *, wait_s: float, replica_interval_s: float, memory_limit: str) -> None:
        self.path = path
        self.memory_limit = memory_limit
        self.wait_s = wait_s
        self.replica_interval_s = replica_interval_s
        self._memory = self.path == ":memory:"
        self._lease = None if self._memory else Lease(self.path)
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self.dirty = False
        self._replica_due = 0.0
        self.closed = False
        self._watcher: threading.Thread | None = None
        self.handovers = 0  # times this process let the file go to a waiting one
        self.min_turn_s = 0.25  # a turn on the file lasts at least this long when the holder is busy
        self._attached_at = 0.0

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                if self._con is not None and self.dirty:
                    self._publish_replica()
            finally:
                self._detach()
                self.closed = True

    @contextmanager
    def session(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the file, the lease held for as long as it is in use."""
        with self._lock:
            if self.closed:
                raise RuntimeError(f"warehouse {self.path} is closed")
            if self._con is None:
                self._attach()
            assert self._con is not None
            self._depth += 1
            cur = self._con.cursor()
            try:
                if not self._memory:
                    cur.execute("USE warehouse")  # a cursor starts in the in-process catalog (``connect_writer``)
                yield cur
            finally:
                cur.close()
                self._depth -= 1
                self.dirty = self.dirty or write
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
                self._con = connect_writer(self.path, config=config)
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
        if self.dirty and time.monotonic() >= self._replica_due:
            self._publish_replica()
        if (self._lease is not None and time.monotonic() - self._attached_at >= self.min_turn_s
                and self._lease.others_waiting()):
            self._detach(handover=True)
            self.handovers += 1

    def _publish_replica(self) -> None:
        if self._memory or self._con is None:
            return
        cost = publish_replica(self._con, self.path)
        self.dirty = False
        self._replica_due = time.monotonic() + max(self.replica_interval_s, 20 * cost)

    def _watch(self) -> None:
        """While idle, hand the file over to waiting processes and publish a stale replica."""
        while not self.closed:
            time.sleep(0.05)
            if self._con is None or not self._lock.acquire(blocking=False):
                continue
            try:
                if self._con is not None and self._depth == 0 and not self.closed:
                    self._after_operation()
            finally:
                self._lock.release()
