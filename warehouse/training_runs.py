"""Training runs in the warehouse: the claim that starts one, its status history, the trigger's reads.

A run is claimed on a corpus snapshot (``training_run``, inserted once) and moves through
``training_event`` rows (only ever inserted): ``queued`` → ``running`` → ``succeeded`` | ``failed``,
or ``queued`` → ``submitted`` (handed to a Prefect deployment) → … . View ``training_runs`` shows
each run with its latest status. A clean instance counts as trained on once a run was claimed on a
snapshot holding it, whatever became of that run: a failed run is retried by hand
(``toolfactory train``), never in a loop by the trigger.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.errors import NotFound
from schemas.ids import canonical_json, content_id
from warehouse.corpus import NOT_HELD_OUT, create_snapshot
from warehouse.store import Warehouse

ACTIVE = ("queued", "submitted", "running")
FINAL = ("succeeded", "failed")


@dataclass
class Claim:
    """What a trigger check decided: the run it claimed (``run`` is None when it started nothing) and why."""

    run: dict[str, Any] | None
    reason: str
    new_instances: int = 0


def untrained_count(wh: Warehouse) -> int:
    """Clean instances of APIs not held out, in no snapshot that a training run was claimed on."""
    return int(wh.execute(f"SELECT count(*) FROM clean_instances WHERE {NOT_HELD_OUT} AND dialogue_id NOT IN "
                          "(SELECT m.dialogue_id FROM snapshot_member m JOIN training_run r USING (snapshot_id))")[0][0])


def runs(wh: Warehouse, where: str = "", params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of view ``training_runs`` (newest first) with their JSON columns decoded, plus the last
    event's ``detail`` (the host and process of an in-process run, the flow run of a submitted one)."""
    rows = wh.frame(
        "SELECT t.*, CAST(t.metrics AS VARCHAR) AS metrics, CAST(t.config AS VARCHAR) AS config, "
        "(SELECT CAST(arg_max(e.detail, e.seq) AS VARCHAR) FROM training_event e WHERE e.run_id = t.run_id) AS last_detail "
        f"FROM training_runs t {('WHERE ' + where) if where else ''} ORDER BY t.created_at DESC, t.run_id", params or []).to_dicts()
    for r in rows:
        for k in ("metrics", "config", "last_detail"):
            r[k] = json.loads(r[k]) if r[k] else None
    return rows


def run_row(wh: Warehouse, run_id: str) -> dict[str, Any] | None:
    found = runs(wh, "t.run_id = ?", [run_id])
    return found[0] if found else None


def add_event(wh: Warehouse, run_id: str, status: str, detail: dict[str, Any] | None = None) -> None:
    """Append one status to a run's history."""
    if status not in ACTIVE + FINAL:
        raise ValueError(f"unknown training status {status!r}")
    with wh.transaction() as cur:
        seq = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM training_event WHERE run_id = ?", [run_id]).fetchall()[0][0]
        cur.execute("INSERT INTO training_event (run_id, seq, status, detail) VALUES (?, ?, ?, ?)",
                    [run_id, seq, status, json.dumps(detail or {}, default=str)])


def here() -> dict[str, Any]:
    """This process, as a run's events name it (so a later check can tell when it is gone)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def fail_abandoned(wh: Warehouse) -> list[str]:
    """Mark failed the active in-process runs whose process on this host is gone (killed, crashed,
    machine restarted); returns their IDs. Runs of other hosts and submitted runs are left to
    their own checks."""
    gone = []
    for r in runs(wh, "t.status IN ('queued', 'running') AND t.executor = 'in-process'"):
        d = r["last_detail"] or {}
        if d.get("host") == socket.gethostname() and isinstance(d.get("pid"), int) and not _alive(d["pid"]):
            add_event(wh, r["run_id"], "failed", {"error": f"abandoned: process {d['pid']} on {d['host']} is gone"})
            gone.append(r["run_id"])
    return gone


def claim_run(wh: Warehouse, *, threshold: int, trigger: str, job: dict[str, Any], executor: str,
              output_dir: str, complete: Callable[[dict[str, Any], str, str], dict[str, Any]] | None = None) -> Claim:
    """Decide and, when due, claim one training run — atomically: two checks at once claim one run.

    Nothing is claimed while another run is active, nor when fewer than ``threshold`` clean
    instances are new (not yet trained on); ``threshold`` 0 (by hand) trains on the current corpus
    even when nothing is new. A claim freezes the clean corpus as a snapshot (the existing one when
    unchanged) and inserts the run with status ``queued``. The run ID hashes the snapshot, ``job``
    (the SFT config) and the attempt number; ``output_dir`` may hold ``{run_id}``; ``complete(job,
    run_id, snapshot_id)`` fills in what depends on them (data and output paths) before it is stored."""
    with wh.hold():
        active = runs(wh, "t.status IN ('queued', 'submitted', 'running')")
        if active:
            a = active[0]
            return Claim(None, f"training run {a['run_id']} is {a['status']} (one job at a time)")
        new = untrained_count(wh)
        if threshold > 0 and new < threshold:
            return Claim(None, f"{new} clean instances not yet trained on; the threshold is {threshold}", new)
        try:
            snap = create_snapshot(wh)
        except NotFound as exc:
            return Claim(None, str(exc), new)
        if not snap["n_instances"]:
            return Claim(None, "the clean corpus is empty: nothing to train on", new)
        config_version = content_id("training_config", job)
        attempt = wh.count("training_run", "snapshot_id = ? AND config->>'$.config_version' = ?", [snap["snapshot_id"], config_version])
        run_id = content_id("training_run", snap["snapshot_id"], config_version, attempt)
        out = output_dir.format(run_id=run_id)
        stored = {**(complete(job, out, snap["snapshot_id"]) if complete else job), "config_version": config_version}
        wh.execute("INSERT INTO training_run (run_id, snapshot_id, trigger, new_instances, base_model, format, config, executor, "
                   "output_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [run_id, snap["snapshot_id"], trigger, new, job.get("base_model", ""), job.get("format", ""),
                    canonical_json(stored), executor, out], write=True)
        add_event(wh, run_id, "queued", here())
        return Claim(run_row(wh, run_id), f"claimed on snapshot {snap['snapshot_id']} ({snap['n_instances']} instances, {new} new)", new)
