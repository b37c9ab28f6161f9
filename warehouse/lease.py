"""Turn-taking between processes on one DuckDB file.

DuckDB lets one process open a file read-write and makes every other process (even a read-only
one) fail at once. The lease turns that into waiting: whoever wants the file takes an exclusive
``flock`` on ``<file>.lock`` (blocking, with a deadline) and only then opens the file; while it
waits it leaves a marker in ``<file>.waiters/``. A holder looks at that folder after each of its
operations (and a watcher thread looks while it is idle) and, when someone else waits, closes the
file and lets go; it takes the lease again, waiting its turn, when it next needs the file. One
process alone never lets go, so a lone flow pays nothing; two flows (or a flow and
``toolfactory sql``) interleave at transaction granularity.

Programs that do not speak this protocol (the DuckDB CLI, a notebook opening the file directly)
cannot take part; they read the replica the holder publishes (see ``warehouse.replica``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from pathlib import Path


class LeaseTimeout(TimeoutError):
    """The lease was not granted within the deadline."""


class Lease:
    """An exclusive, cross-process turn on ``path`` (``<path>.lock`` + ``<path>.waiters/``)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.lock_path = self.path + ".lock"
        self.waiters_dir = Path(self.path + ".waiters")
        self._fd: int | None = None
        self._marker: Path | None = None
        self._mutex = threading.Lock()
        self._courtesy_until = 0.0

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout_s: float) -> None:
        """Block until the lease is ours (``LeaseTimeout`` after ``timeout_s``)."""
        with self._mutex:
            if self._fd is not None:
                return
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            if time.monotonic() < self._courtesy_until:  # just handed over: let those waiting go first
                while self.others_waiting() and time.monotonic() < self._courtesy_until:
                    time.sleep(0.002)
            if self._try(fd):
                self._fd = fd
                return
            self._mark_waiting()
            deadline = time.monotonic() + timeout_s
            pause = 0.001
            try:
                while not self._try(fd):
                    if time.monotonic() > deadline:
                        os.close(fd)
                        raise LeaseTimeout(f"{self.path}: another process kept the warehouse for over {timeout_s:.0f} s")
                    time.sleep(pause)
                    pause = min(pause * 2, 0.005)
            finally:
                self._unmark()
            self._fd = fd

    def release(self, handover: bool = False) -> None:
        """Let go; ``handover``: others wait, so this lease's next ``acquire`` (within a
        second) waits until they have had their turn instead of grabbing the lock back."""
        with self._mutex:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None
                if handover:
                    self._courtesy_until = time.monotonic() + 1.0

    def others_waiting(self) -> bool:
        """Whether another process (or another lease object) waits for the file; dead waiters are swept."""
        try:
            entries = os.listdir(self.waiters_dir)
        except FileNotFoundError:
            return False
        mine = self._marker.name if self._marker is not None else None
        for name in entries:
            if name == mine:
                continue
            pid = int(name.split("-", 1)[0]) if name.split("-", 1)[0].isdigit() else -1
            if pid > 0 and not _alive(pid):
                (self.waiters_dir / name).unlink(missing_ok=True)
                continue
            return True
        return False

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _mark_waiting(self) -> None:
        self.waiters_dir.mkdir(exist_ok=True)
        self._marker = self.waiters_dir / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._marker.touch()

    def _unmark(self) -> None:
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
            self._marker = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
