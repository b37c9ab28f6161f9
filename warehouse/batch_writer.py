"""Batched landing: records put from any thread are landed by one writer thread in group commits.

Landing one record costs a DuckDB transaction (3–5 ms of CPU here); a hundred cost little more.
So ``put`` only queues, and the writer lands at most one batch per ``max_delay_s``: a record that
arrives when the writer has been idle that long is landed at once (a quiet run writes each record
as it comes), and under load records gather for up to ``max_delay_s`` (or until ``max_batch``).
What a kill (SIGKILL, power loss) can lose is at most the last ``max_delay_s`` of records; callers
that need them written (a summary, a test) call ``flush``. A landing that fails is kept and raised by the next ``flush`` — never dropped quietly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from schemas.records import Record
from warehouse.store import Warehouse


class BatchWriter:
    def __init__(self, warehouse: Warehouse, *, max_delay_s: float = 0.1, max_batch: int = 1000,
                 on_landed: Callable[[list[Record]], None] | None = None):
        self.warehouse = warehouse
        self.max_delay_s = max_delay_s
        self.max_batch = max_batch
        self.on_landed = on_landed
        self._queue: list[Record] = []
        self._first_at = 0.0
        self._last_end = float("-inf")
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="warehouse-writer", daemon=True)
        self._thread.start()

    def put(self, records: Iterable[Record]) -> None:
        with self._cond:
            was_empty = not self._queue
            if was_empty:
                self._first_at = time.monotonic()
            self._queue.extend(records)
            if was_empty or len(self._queue) >= self.max_batch:
                self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._queue:
                        due = min(self._first_at + self.max_delay_s, max(self._first_at, self._last_end + self.max_delay_s))
                        wait = due - time.monotonic()
                        if wait <= 0 or len(self._queue) >= self.max_batch:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if not self._queue and self._closed:
                    return
                batch, self._queue = self._queue, []
                self._busy = True
            try:
                self.warehouse.land(batch)
                if self.on_landed is not None:
                    self.on_landed(batch)
            except BaseException as exc:  # kept for flush(): lost records must not pass silently
                self._failure = exc
            with self._cond:
                self._busy = False
                self._last_end = time.monotonic()
                self._cond.notify_all()

    def flush(self) -> None:
        """Land everything put so far, now; raise if an earlier landing failed."""
        with self._cond:
            if self._queue:
                self._first_at = 0.0  # due at once
                self._cond.notify_all()
            while self._queue or self._busy:
                self._cond.wait()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise RuntimeError(f"records could not be landed in the warehouse: {failure}") from failure

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._thread.join(timeout=30)
