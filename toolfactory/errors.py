"""Every failure of the command line is one line on the terminal; tracebacks go to a log file.

``ErrorLog`` names the file (``<log_dir>/toolfactory-<UTC time>-<pid>.log``, created only when
something is written). ``internal_error`` writes an exception's traceback there and returns the
one line to print. ``quiet_tracebacks`` makes the console handlers of ``logging`` (Prefect logs a
failed flow or task with its traceback) print the message with "(traceback in FILE)" instead; the
Prefect UI still gets the whole record, as its handler runs before the console's.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import traceback
from pathlib import Path


class ErrorLog:
    """The log file of this command's run; directories are made when the first entry is written."""

    def __init__(self, log_dir: str | Path | None):
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = Path(log_dir or Path(tempfile.gettempdir()) / "toolfactory-logs").absolute()
        self.path = folder / f"toolfactory-{stamp}-{os.getpid()}.log"

    def write(self, text: str) -> Path:
        """Append ``text``; on a folder that cannot be written, the system's temporary folder is used."""
        for path in (self.path, Path(tempfile.gettempdir()) / "toolfactory-logs" / self.path.name):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as f:
                    f.write(f"{dt.datetime.now(dt.UTC).isoformat()} {text.rstrip()}\n")
                self.path = path
                return path
            except OSError:
                continue
        return self.path

    def internal_error(self, exc: BaseException) -> str:
        """Write ``exc``'s traceback to the file; the line to print."""
        path = self.write("".join(traceback.format_exception(exc)))
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return f"internal error: {type(exc).__name__}: {first}, details in {path}"


class _TracebacksToFile(logging.Filter):
    def __init__(self, log: ErrorLog):
        super().__init__()
        self.log = log

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text:
            detail = record.exc_text or "".join(traceback.format_exception(*record.exc_info))  # type: ignore[misc]
            message = record.getMessage()
            path = self.log.write(f"{record.name}: {message}\n{detail}")
            record.msg, record.args = f"{message.splitlines()[0] if message else ''} (traceback in {path})", ()
            record.exc_info, record.exc_text = None, None
        elif "Traceback (most recent call last)" in (message := record.getMessage()):
            path = self.log.write(f"{record.name}: {message}")
            record.msg, record.args = f"{message.splitlines()[0]} (traceback in {path})", ()
        return True


def quiet_tracebacks(log: ErrorLog) -> None:
    """Move tracebacks out of every console handler on the root logger into ``log`` (a handler
    already filtered writes to ``log`` from now on)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            mine = [f for f in handler.filters if isinstance(f, _TracebacksToFile)]
            for f in mine:
                f.log = log
            if not mine:
                handler.addFilter(_TracebacksToFile(log))
