"""Training flows (issue #5): the trigger that starts SFT once enough clean instances are new.

  training-trigger  one check: fail runs whose process is gone, follow runs handed to a deployment,
                    claim a run when due (``warehouse.training_runs.claim_run``: one job at a time,
                    two checks at once claim one), export its snapshot, then train in this process
                    (flow ``train-model``) or hand it to the Prefect deployment ``training_deployment``
                    (a GPU work pool) with ``run_deployment``.
  train-model       one claimed run in this process: ``sft-train`` as a subflow, its status and
                    metrics recorded in the warehouse (view ``training_runs``).
  sft-train         the SFT job on a dict of ``SFTJobConfig`` keys — what a GPU pool's deployment
                    runs. It never opens the warehouse: the trigger reads its state from Prefect and
                    its metrics from ``<output_dir>/metrics.json`` (shared storage).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.corpus_export import export_snapshot
from flows.runtime import flow_settings, open_warehouse
from flows.settings import Settings, describe
from flows.split import assign_api_splits
from schemas.errors import NotFound
from training.sft import config_path, load_config, run_job
from warehouse import Warehouse
from warehouse.training_runs import add_event, claim_run, fail_abandoned, here, run_row, runs

EXPORT = {"paper": ("toolalpaca", "train_data.json"), "chat": ("jsonl", "train.jsonl")}  # format → (export format, file)


def job_template(settings: Settings) -> dict[str, Any]:
    """The SFT config of the settings (``training_config`` with ``training_base_model`` on top),
    without the paths that depend on the run."""
    overrides = {"base_model": settings.training_base_model} if settings.training_base_model else None
    job = asdict(load_config(config_path(settings.training_config), overrides))
    for k in ("data_path", "output_dir", "resume_from_checkpoint"):
        job.pop(k)
    return job


def with_paths(job: dict[str, Any], run_dir: str, snapshot_id: str) -> dict[str, Any]:
    """The job of one run: its snapshot's export under ``<run_dir>/data`` and the model in ``<run_dir>/model``."""
    return {**job, "data_path": str(Path(run_dir) / "data" / snapshot_id / EXPORT[job["format"]][1]),
            "output_dir": str(Path(run_dir) / "model")}


@flow(name="sft-train", log_prints=False)
def sft_train(job: dict[str, Any]) -> dict[str, Any]:
    """Run the SFT job (``training.sft``) and return its metrics; deployable to a GPU work pool. Prints are
    not logs here: ``datasets`` fingerprints functions by reading ``dis`` output that dill captures from
    stdout, and a flow's print-to-log would send that bytecode to the run's log instead."""
    return run_job(job)


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


@flow(name="train-model", log_prints=True)
def train_model(run_id: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train one claimed run here; its status goes to the warehouse before, after, and on failure."""
    s = flow_settings(settings)
    with open_warehouse(s) as wh:
        run = run_row(wh, run_id)
        if run is None:
            raise NotFound(f"no training run {run_id}")
        add_event(wh, run_id, "running", {**here(), "flow_run_id": _flow_run_id()})
    # the warehouse is not held while training: other flows and `toolfactory sql` go on meanwhile
    try:
        metrics = sft_train(run["config"])
    except BaseException as exc:
        with open_warehouse(s) as wh:
            add_event(wh, run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"[:2000]})
        raise
    with open_warehouse(s) as wh:
        add_event(wh, run_id, "succeeded", metrics)
    create_markdown_artifact(
        key="train-model", description=f"Training run {run_id}",
        markdown=f"# Training run `{run_id}`\n\nsnapshot `{run['snapshot_id']}` · base `{run['base_model']}` · "
                 f"format {run['format']} · model in `{run['config']['output_dir']}`\n\n"
                 + "".join(f"- {k}: {v}\n" for k, v in metrics.items()))
    return {"run_id": run_id, "status": "succeeded", "metrics": metrics, "model": run["config"]["output_dir"]}


def follow_submitted(wh: Warehouse) -> list[dict[str, Any]]:
    """Bring the runs handed to a deployment up to date from their flow runs' states; returns the
    changes. A run whose flow run never starts (no worker on the pool) stays ``submitted`` and
    blocks the trigger until its flow run is cancelled in Prefect (then it is marked failed)."""
    pending = runs(wh, "t.status IN ('submitted', 'running') AND t.executor LIKE 'deployment:%'")
    if not pending:
        return []
    from prefect import get_client

    changes = []
    with get_client(sync_client=True) as client:
        for r in pending:
            fid = r["flow_run_id"]
            if not fid:
                continue
            try:
                state = client.read_flow_run(UUID(fid)).state
            except Exception as exc:  # server unreachable, run deleted: left as it is, the check goes on
                changes.append({"run_id": r["run_id"], "status": r["status"], "error": f"{type(exc).__name__}: {exc}"[:300]})
                continue
            kind = state.type.value if state else "PENDING"
            detail: dict[str, Any] = {"flow_run_id": fid}
            if kind == "RUNNING" and r["status"] != "running":
                status = "running"
            elif kind == "COMPLETED":
                status = "succeeded"
                metrics = Path(r["config"]["output_dir"]) / "metrics.json"
                detail = {**detail, **json.loads(metrics.read_text())} if metrics.is_file() else {
                    **detail, "note": f"{metrics} not reachable from this machine"}
            elif kind in ("FAILED", "CRASHED", "CANCELLED"):
                status, detail = "failed", {**detail, "error": f"flow run {kind.lower()}: {state.message or ''}"[:2000]}
            else:
                continue
            add_event(wh, r["run_id"], status, detail)
            changes.append({"run_id": r["run_id"], "status": status})
    return changes


def _submit(settings: Settings, wh: Warehouse, run: dict[str, Any]) -> dict[str, Any]:
    from prefect.deployments import run_deployment

    name = settings.training_deployment
    try:
        fr = run_deployment(name=name, parameters={"job": run["config"]}, timeout=0, tags=["toolfactory", "training"],
                            as_subflow=False)
    except Exception as exc:  # no such deployment, server unreachable: the run fails with the reason
        error = f"could not submit to deployment {name!r}: {type(exc).__name__}: {exc}"[:2000]
        add_event(wh, run["run_id"], "failed", {"error": error})
        return {"status": "failed", "error": error}
    add_event(wh, run["run_id"], "submitted", {"flow_run_id": str(fr.id), "deployment": name})
    return {"status": "submitted", "flow_run_id": str(fr.id), "deployment": name}


def check_training(settings: Settings, *, by_hand: bool = False) -> dict[str, Any]:
    """One trigger check (``by_hand``: train on the current corpus whatever its count, as
    ``toolfactory train`` does). Returns what it decided and, when it started a run, its outcome."""
    s = settings
    executor = f"deployment:{s.training_deployment}" if s.training_deployment else "in-process"
    job = job_template(s)
    with open_warehouse(s) as wh:
        assign_api_splits(wh, s)  # held-out APIs are fixed before the snapshot is taken
        abandoned = fail_abandoned(wh)
        followed = follow_submitted(wh)
        claim = claim_run(wh, threshold=0 if by_hand else s.training_threshold, trigger="manual" if by_hand else "threshold",
                          job=job, executor=executor, output_dir=str(Path(s.training_root).resolve() / "{run_id}"),
                          complete=with_paths)
    out: dict[str, Any] = {"started": claim.run is not None, "reason": claim.reason, "new_instances": claim.new_instances,
                           "abandoned": abandoned, "followed": followed}
    run = claim.run
    if run is None:
        return out
    out.update(run_id=run["run_id"], snapshot_id=run["snapshot_id"], executor=executor, output_dir=run["output_dir"])
    try:
        export_snapshot(s, [EXPORT[run["format"]][0]], out=Path(run["output_dir"]) / "data", snapshot_id=run["snapshot_id"])
    except Exception as exc:
        with open_warehouse(s) as wh:
            add_event(wh, run["run_id"], "failed", {"error": f"export: {type(exc).__name__}: {exc}"[:2000]})
        return {**out, "status": "failed", "error": str(exc)}
    if s.training_deployment:
        with open_warehouse(s) as wh:
            return {**out, **_submit(s, wh, run)}
    state = train_model(run_id=run["run_id"], settings=describe(s), return_state=True)
    if state.is_completed():
        return {**out, **state.result()}
    with open_warehouse(s) as wh:
        failed = run_row(wh, run["run_id"]) or {}
    return {**out, "status": "failed", "error": failed.get("error") or state.message}


@flow(name="training-trigger", log_prints=True)
def training_trigger(settings: dict[str, Any] | None = None, by_hand: bool = False) -> dict[str, Any]:
    """The trigger as a flow (schedule it after curation); see ``check_training``."""
    s = flow_settings(settings)
    result = check_training(s, by_hand=by_hand)
    print(f"training-trigger: {'started ' + result['run_id'] if result['started'] else 'nothing started'} — {result['reason']}")
    return result


def run_training_check(settings: Settings, by_hand: bool = False) -> dict[str, Any]:
    return training_trigger(settings=describe(settings), by_hand=by_hand)


def list_runs(settings: Settings) -> str:
    from warehouse.readonly_sql import format_frame

    with open_warehouse(settings) as wh:
        return format_frame(wh.frame("SELECT run_id, snapshot_id, n_instances, trigger, base_model, format, executor, status, "
                                     "started_at, finished_at, metrics->>'last_loss' AS last_loss, error "
                                     "FROM training_runs ORDER BY created_at DESC"))
