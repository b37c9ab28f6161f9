"""Write-ahead journal of LLM calls: what a killed run had been answered but not yet landed.

The ledger lands calls in batches (``BatchWriter``), so a process killed between two batches would
lose the calls answered since the last one, and the next run would pay for them again. Each run's
ledger therefore also appends every call to its own journal file beside the warehouse (one JSON line,
written through to the operating system at once; a SIGKILL loses none of it) and holds an exclusive
``flock`` on it while it runs. When a run ends cleanly it removes its journal. ``recover`` — called
as a ledger starts — lands the calls of every journal whose owner is gone (its lock is free), which
``INSERT OR IGNORE`` by ``call_id`` makes safe to repeat, and removes those files. A torn last line
(the kill came mid-write) is skipped.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import threading
import uuid
from pathlib import Path

import orjson

from schemas.records import LLMCall
from warehouse.store import Warehouse

FIELDS = {f.name for f in dataclasses.fields(LLMCall)}


def _journal_path(warehouse_path: str, run: str) -> Path:
    """``.<warehouse file>.calls-<run>.jsonl`` beside the warehouse (``run`` may be a glob)."""
    path = Path(warehouse_path)
    return path.parent / f".{path.name}.calls-{run}.jsonl"


def _journals(warehouse_path: str) -> list[Path]:
    pattern = _journal_path(warehouse_path, "*")
    return sorted(pattern.parent.glob(pattern.name))


class CallJournal:
    def __init__(self, warehouse_path: str):
        self.path = _journal_path(warehouse_path, f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self._file = open(self.path, "ab")  # noqa: SIM115  (held for the run; closed by close())
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        self._lock = threading.Lock()

    def append(self, call: LLMCall) -> None:
        line = orjson.dumps(call) + b"\n"  # orjson writes a dataclass itself (asdict's deep copy cost more than the write)
        with self._lock:
            self._file.write(line)
            self._file.flush()  # to the OS now: a killed process loses nothing it wrote

    def close(self, remove: bool) -> None:
        """Release the journal; ``remove`` once every call in it is in the warehouse."""
        with self._lock:
            if self._file.closed:
                return
            if remove:
                self.path.unlink(missing_ok=True)
            self._file.close()

    @staticmethod
    def recover(warehouse: Warehouse) -> int:
        """Land the calls of every journal beside ``warehouse`` whose run is gone; the number of calls read."""
        if warehouse.path == ":memory:":
            return 0
        read = 0
        for path in _journals(warehouse.path):
            try:
                f = open(path, "rb")  # noqa: SIM115
            except FileNotFoundError:  # another run recovered it first
                continue
            with f:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # its run is alive
                    continue
                calls = []
                for line in f.read().splitlines():
                    try:
                        data = orjson.loads(line)
                    except orjson.JSONDecodeError:  # a torn last line
                        continue
                    if isinstance(data, dict) and FIELDS >= set(data):
                        calls.append(LLMCall.from_dict(data))
                if calls:
                    warehouse.land(calls)
                read += len(calls)
                path.unlink(missing_ok=True)
        return read
