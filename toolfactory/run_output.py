"""What ``toolfactory run`` shows: one line per stage as it ends, then what the user has now.

Everything else the run writes — Prefect's log lines, the flows' own prints, library warnings and
progress bars, anything native code writes to file descriptors 1 and 2 — goes to a log file
(``noise_to``); the stage summaries are written there too. Our progress bars (``flows.progress``)
still draw on the terminal when it is one.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

STAGE_ORDER = ("catalog", "toolset", "simulation", "seed", "curation", "snapshot", "training")
STAGE_NAMES = {"seed": "seed corpus"}


def log_path(log_dir: str | Path) -> Path:
    """The run's log file: ``<log_dir>/run-<UTC time>.log``."""
    return Path(log_dir) / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"


@contextmanager
def noise_to(path: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """For the block, file descriptors 1 and 2 and ``sys.stdout``/``sys.stderr`` write to ``path``; yields
    the streams that still reach what stdout and stderr were (the terminal, or a test's capture)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    before_out, before_err = sys.stdout, sys.stderr
    saved = os.dup(1), os.dup(2)
    out, err = (os.fdopen(os.dup(saved[fd - 1]), "w", buffering=1, encoding="utf-8") if _fileno(stream) == fd else stream
                for fd, stream in ((1, before_out), (2, before_err)))
    show_warning = warnings.showwarning
    with path.open("a", buffering=1, encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: log.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        try:
            yield out, err
        finally:
            warnings.showwarning = show_warning
            log.flush()
            sys.stdout, sys.stderr = before_out, before_err
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            for mine, theirs in ((out, before_out), (err, before_err)):
                if mine is not theirs:
                    mine.close()


def quiet_prefect_console() -> None:
    """Prefect's console handlers print warnings and errors only from now on (called when a run is over in a
    process of its own: the temporary server's "Stopping …" line at exit stays off the terminal)."""
    for handler in logging.getLogger("prefect").handlers + logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler":
            handler.setLevel(logging.WARNING)


def writes_to_fd1() -> bool:
    """Whether ``sys.stdout`` is this process's own standard output (not a test's capture)."""
    return _fileno(sys.stdout) == 1


def _fileno(stream: Any) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def stage_line(stage: str, result: Any, seconds: float) -> str:
    """One line for a stage that ended: what it did, in the user's words."""
    n = STAGE_ORDER.index(stage) + 1 if stage in STAGE_ORDER else 0
    head = f"[{n}/{len(STAGE_ORDER)}] {STAGE_NAMES.get(stage, stage):<12}"
    if result is None:
        return f"{head} skipped"
    line = f"{head} {_what(stage, result)}" + (f"  ({_duration(seconds)})" if seconds >= 1 else "")
    if stage == "simulation" and isinstance(result, dict):
        line += _kinds(result.get("by_kind") or {}) + _kinds(result.get("by_shape") or {}, "shapes")
    return line


def _what(stage: str, r: dict[str, Any]) -> str:
    if stage == "catalog":
        return f"{r['catalog_total']} APIs in the catalog ({r['entries_new']} new, {r['quarantined']} rows quarantined)"
    if stage == "toolset":
        left = r.get("retryable", 0) + r.get("stopped_by_spend_cap", 0)
        return (f"{r['planned']} APIs: {r['valid']} valid, {r['invalid']} invalid, {r['skipped_existing']} documented before"
                + (f", {left} left for the next run" if left else "") + _calls(r) + _failures(r))
    if stage == "simulation":
        stops = ", ".join(f"{k} {v}" for k, v in (r.get("stop_reasons") or {}).items()) or "-"
        return f"{r['dialogues']} dialogues on {r['apis']} APIs ({stops}), {r['skipped_existing']} found done" + _calls(r) + _failures(r)
    if stage == "seed":
        return f"{sum((r.get('landed') or {}).values())} records imported from the seed corpus"
    if stage == "curation":
        cut = f" ({r['cut_now']} cut to their good user turns)" if r.get("cut_now") else ""
        return (f"{r['decided_now']} dialogues decided, {r['kept_now']} kept{cut}; {r['clean_instances']} clean instances in all"
                + _calls(r))
    if stage == "snapshot":
        return f"{r['snapshot_id']}: {r['n_instances']} instances of {r['n_apis']} APIs" + ("" if r.get("created") else " (unchanged)")
    if stage == "training":
        if not r.get("started"):
            return f"not started: {r.get('reason', '-')}"
        loss = (r.get("metrics") or {}).get("last_loss")
        return f"run {r['run_id']} {r.get('status', '?')}" + (f", last loss {loss}" if loss is not None else "")
    return ", ".join(f"{k} {v}" for k, v in r.items())


def _kinds(by_kind: dict[str, dict[str, Any]], title: str = "by kind") -> str:
    """A line more: each planned instruction kind's (or dialogue shape's) simulated dialogues in the warehouse, and
    why one has none."""
    if not by_kind:
        return ""
    parts = [f"{k} {v['dialogues']}" + (f" (none: {v['why']})" if not v["dialogues"] and v.get("why") else "")
             for k, v in by_kind.items()]
    return "\n" + " " * 20 + f"{title}: " + "; ".join(parts)


def _calls(r: dict[str, Any]) -> str:
    return f", {r['llm_calls']} LLM calls" if r.get("llm_calls") else ""


def _failures(r: dict[str, Any]) -> str:
    return f"; {r['task_failures']} tasks FAILED (see the log)" if r.get("task_failures") else ""


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def have_now(out: dict[str, Any], warehouse: str, report: Path, log: Path) -> list[str]:
    """The closing block: the corpus (and how much of it the factory made), the snapshot, the model,
    the report and the log, and the commands to look."""
    cur, snap, training = out.get("curation") or {}, out.get("snapshot") or {}, out.get("training") or {}
    origins = cur.get("clean_by_origin") or {}
    made, imported = origins.get("simulation", 0), origins.get("import", 0)
    model = training.get("model") or training.get("output_dir")
    lines = ["", "== what you have now",
             f"  clean instances   {cur.get('clean_instances', 0)} ({made} made by the factory's models"
             + (f", {imported} imported" if imported else "") + ")",
             f"  snapshot          {snap.get('snapshot_id', '-')}",
             f"  trained model     {model or '-'}" + ("" if model else f" ({training.get('reason', 'training off')})"),
             f"  report            {report}",
             f"  warehouse         {warehouse}",
             f"  full log          {log}",
             "", "Look at it:",
             '  toolfactory sql "SELECT api_name, instruction, n_calls FROM clean_instances LIMIT 10"',
             '  toolfactory sql "SELECT stage, reason, sum(n) AS n FROM funnel GROUP BY ALL ORDER BY min(stage_order), n DESC"',
             "  toolfactory ui                        # the Prefect UI at http://127.0.0.1:4200 (--port P for another)",
             "  toolfactory export --format all       # the snapshot as ToolAlpaca JSON, JSONL, Parquet, a HF dataset, a card",
             "  toolfactory status                    # the factory's state in one screen"]
    return lines
