"""Progress of a long stage, shown twice: a Prefect progress artifact that moves in the UI, and —
when the command line turned them on (``show_bars``) — a progress bar on stderr.

``Progress(key, what, total)`` creates the artifact at 0 %; ``advance(n)`` (any thread) moves both;
``finish()`` sets 100 % (the plan may have shrunk: work found done, APIs with fewer instructions).
The artifact moves at the first step, then per whole percent at most four times a second, and at
least once a second while steps come (each update is a call to Prefect's API, ~20 ms, made by the
thread that advanced), so thousands of steps cost a handful of API calls.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext, TaskRunContext

_BARS = False
_STREAM: TextIO | None = None


def show_bars(on: bool = True, stream: TextIO | None = None) -> None:
    """Draw progress bars for the stages this process runs (the CLI turns them on) on ``stream``
    (default: stderr as it is when a bar starts)."""
    global _BARS, _STREAM
    _BARS, _STREAM = on, stream


def bars_shown() -> bool:
    return _BARS


class Progress:
    def __init__(self, key: str, what: str, total: int, unit: str = "it"):
        self.what, self.total, self.done = what, max(0, total), 0
        self.note = ""
        self._lock = threading.Lock()
        self._shown = (0.0, float("-inf"))  # the percent shown and when: the first step shows at once
        # outside a flow or task run (a function called directly) there is no run to attach it to
        in_run = FlowRunContext.get() is not None or TaskRunContext.get() is not None
        self.artifact_id = create_progress_artifact(0.0, key=key, description=self.describe()) if in_run else None
        self.bar: Any = None
        if _BARS:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=what, unit=unit, file=_STREAM or sys.stderr, dynamic_ncols=True, leave=True)

    def describe(self) -> str:
        return f"{self.what}: {self.done} of {self.total}" + (f" ({self.note})" if self.note else "")

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else min(100.0, 100.0 * self.done / self.total)

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """``n`` more units done (``note``: what the description adds, e.g. "3 of 8 APIs")."""
        with self._lock:
            self.done += n
            if note is not None:
                self.note = note
            if self.bar is not None:
                self.bar.update(n)
                if note is not None:
                    self.bar.set_postfix_str(note, refresh=False)
            last_pct, last_t = self._shown
            waited = time.monotonic() - last_t
            due = waited >= 1.0 or (waited >= 0.25 and self.percent - last_pct >= 1.0)
            if due:
                self._shown = (self.percent, time.monotonic())
        if due:
            self._update()

    def finish(self, note: str | None = None) -> None:
        """The stage is over: 100 % in the UI, the bar closed."""
        with self._lock:
            self.done = max(self.done, self.total)
            if note is not None:
                self.note = note
            if self.bar is not None:
                self.bar.n = self.bar.total = self.done
                if note is not None:
                    self.bar.set_postfix_str(note, refresh=False)
                self.bar.close()
                self.bar = None
        self._update()

    def _update(self) -> None:
        if self.artifact_id is None:
            return
        update_progress_artifact(self.artifact_id, self.percent, description=self.describe())
