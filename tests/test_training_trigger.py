"""The training trigger: clean instances → snapshot → SFT run recorded in view ``training_runs``.

Clean instances come from ToolAlpaca-layout files imported and curated (judge off: no LLM); the
model is a tiny random Llama with an in-process tokenizer (no downloads)."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from flows.train import check_training, run_training_check
from tests.support.rows import add_clean_instances
from warehouse import Warehouse
from warehouse.training_runs import claim_run, runs, untrained_count

SPEC = {"openapi": "3.0.0", "info": {"title": "Moon", "version": "1.0.0"}, "servers": [{"url": "https://moon.example.com"}],
        "paths": {"/phase": {"get": {"operationId": "getPhase", "description": "The moon phase on a date.",
                                     "parameters": [{"name": "date", "in": "query", "required": True, "schema": {"type": "string"}}],
                                     "responses": {"200": {"description": "ok", "content": {"application/json": {
                                         "schema": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}}}}}




@pytest.fixture
def settings(workdir, base_model, prefect_harness):  # noqa: F811
    from flows.settings import load_settings

    (workdir / "tiny.yaml").write_text(json.dumps({
        "format": "paper", "base_model": str(base_model), "lora": False, "max_steps": 3, "learning_rate": 5e-3,
        "max_length": 512, "eval_fraction": 0.0, "save_steps": 100, "warmup_ratio": 0.0}))
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\ncuration_judge: false\ncuration_tokenizer: words\n"
        "training_threshold: 2\ntraining_config: tiny.yaml\ntraining_root: runs\n")
    return load_settings()


@pytest.mark.slow  # over 10 s
def test_the_trigger_fires_once_per_threshold_crossing(settings, workdir):
    s = settings
    add_clean_instances(s, workdir, ["Alpha"])
    first = check_training(s)
    assert not first["started"] and first["new_instances"] == 1 and "threshold is 2" in first["reason"]

    add_clean_instances(s, workdir, ["Beta"])
    fired = check_training(s)
    assert fired["started"] and fired["status"] == "succeeded", fired
    assert fired["metrics"]["steps"] == 3 and fired["metrics"]["examples"] == 2
    model = Path(fired["model"])
    assert (model / "model.safetensors").is_file() and (model / "metrics.json").is_file()
    assert (Path(fired["output_dir"]) / "data" / fired["snapshot_id"] / "train_data.json").is_file()

    again = check_training(s)  # no new data: nothing starts
    assert not again["started"] and again["new_instances"] == 0
    add_clean_instances(s, workdir, ["Gamma"])
    assert not check_training(s)["started"]  # one new: below the threshold
    add_clean_instances(s, workdir, ["Delta"])
    second = check_training(s)
    assert second["started"] and second["new_instances"] == 2 and second["status"] == "succeeded"

    with Warehouse.open(s.warehouse_path) as wh:
        rows = wh.frame("SELECT run_id, snapshot_id, n_instances, new_instances, trigger, status, started_at, finished_at, "
                        "metrics->>'steps' AS steps, base_model, output_dir FROM training_runs ORDER BY created_at").to_dicts()
        assert [(r["n_instances"], r["new_instances"], r["trigger"], r["status"], r["steps"]) for r in rows] == [
            (2, 2, "threshold", "succeeded", "3"), (4, 2, "threshold", "succeeded", "3")]
        assert all(r["started_at"] and r["finished_at"] >= r["started_at"] for r in rows)
        history = [r[0] for r in wh.execute("SELECT status FROM training_event WHERE run_id = ? ORDER BY seq", [rows[1]["run_id"]])]
        assert history == ["queued", "running", "succeeded"]
        assert untrained_count(wh) == 0


@pytest.mark.slow  # over 10 s
def test_by_hand_trains_without_new_data_and_a_failure_keeps_its_reason(settings, workdir, capsys):
    from toolfactory.cli import main

    s = settings
    add_clean_instances(s, workdir, ["Alpha", "Beta"])
    assert check_training(s)["started"]
    assert main(["train"]) == 0  # by hand: a new attempt on the same snapshot
    printed = capsys.readouterr().out
    assert "succeeded" in printed
    (workdir / "tiny.yaml").write_text(json.dumps({"format": "paper", "base_model": str(workdir / "missing"), "max_steps": 1}))
    assert main(["train"]) == 1
    with Warehouse.open(s.warehouse_path) as wh:
        got = runs(wh)
        assert [r["status"] for r in got] == ["failed", "succeeded", "succeeded"]
        assert [r["trigger"] for r in got] == ["manual", "manual", "threshold"]
        assert got[0]["error"] and "missing" in got[0]["error"]
        assert len({r["run_id"] for r in got}) == 3 and len({r["snapshot_id"] for r in got}) == 1
    assert main(["train", "--list"]) == 0
    assert "failed" in capsys.readouterr().out
    assert not run_training_check(s)["started"]  # the failed run counts as tried: no loop of failures


def test_two_checks_at_once_start_one_job(settings, workdir):
    s = settings
    add_clean_instances(s, workdir, ["Alpha", "Beta"])
    results = []
    barrier = threading.Barrier(2)

    def check():
        barrier.wait()
        results.append(check_training(s))

    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["started"] for r in results) == [False, True]
    loser = next(r for r in results if not r["started"])
    assert "one job at a time" in loser["reason"] or loser["new_instances"] == 0
    with Warehouse.open(s.warehouse_path) as wh:
        assert wh.count("training_run") == 1


def _claim(path: str, start, out) -> None:
    wh = Warehouse.open(path)
    start.wait()
    claim = claim_run(wh, threshold=1, trigger="threshold", job={"format": "paper", "base_model": "b"}, executor="in-process",
                      output_dir="runs/{run_id}")
    out.put(claim.run["run_id"] if claim.run else claim.reason)
    wh.close()


def test_two_processes_claim_one_run(settings, workdir):
    add_clean_instances(settings, workdir, ["Alpha"])
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(str(workdir / "wh.duckdb"), start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    got = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    claimed = [g for g in got if "one job at a time" not in g]
    assert len(claimed) == 1 and len(claimed[0]) == 16, got


def test_a_run_whose_process_is_gone_is_marked_failed(settings, workdir):
    from warehouse.training_runs import add_event

    add_clean_instances(settings, workdir, ["Alpha", "Beta"])
    with Warehouse.open(settings.warehouse_path) as wh:
        claim = claim_run(wh, threshold=1, trigger="threshold", job={"format": "paper", "base_model": "b"}, executor="in-process",
                          output_dir="runs/{run_id}")
        proc = multiprocessing.get_context("spawn").Process(target=int)
        proc.start()
        proc.join()
        import socket

        add_event(wh, claim.run["run_id"], "running", {"host": socket.gethostname(), "pid": proc.pid})
    blocked = check_training(settings)  # the dead run is failed first, then nothing is new: nothing starts
    assert blocked["abandoned"] == [claim.run["run_id"]] and not blocked["started"]
    with Warehouse.open(settings.warehouse_path) as wh:
        assert "abandoned" in runs(wh)[0]["error"]


def test_a_configured_deployment_gets_the_run_and_its_state_is_followed(settings, workdir):
    """With ``training_deployment`` set the trigger submits with ``run_deployment``; here the test plays
    the GPU pool's worker (it executes the flow run the way a process worker does), and the next
    check records the outcome read from Prefect and the run's metrics.json."""
    from prefect.flow_engine import load_flow_run, run_flow

    from flows.train import sft_train

    s = settings.with_overrides(training_deployment="sft-train/gpu-test")
    add_clean_instances(s, workdir, ["Alpha", "Beta"])
    missing = check_training(s)  # no such deployment yet: the run fails with the reason, nothing hangs
    assert missing["started"] and missing["status"] == "failed" and "gpu-test" in missing["error"]

    sft_train.to_deployment(name="gpu-test").apply()
    submitted = run_training_check(s, by_hand=True)
    assert submitted["status"] == "submitted" and submitted["executor"] == "deployment:sft-train/gpu-test"
    assert not check_training(s)["started"]  # still submitted: one job at a time
    flow_run = load_flow_run(submitted["flow_run_id"])
    assert flow_run.parameters["job"]["data_path"].endswith("train_data.json")
    assert Path(flow_run.parameters["job"]["data_path"]).is_file()  # exported before submission, for the pool to read
    metrics = run_flow(sft_train, flow_run=flow_run, parameters=flow_run.parameters)  # the worker's part
    assert metrics["steps"] == 3

    followed = check_training(s)
    assert followed["followed"] == [{"run_id": submitted["run_id"], "status": "succeeded"}] and not followed["started"]
    with Warehouse.open(s.warehouse_path) as wh:
        latest = runs(wh)[0]
        assert latest["status"] == "succeeded" and latest["flow_run_id"] == submitted["flow_run_id"]
        assert latest["metrics"]["steps"] == 3 and latest["metrics"]["examples"] == 2

    # a run whose flow run is cancelled (say no worker picks it up) is marked failed and frees the trigger
    from prefect import get_client
    from prefect.states import Cancelled

    stuck = run_training_check(s, by_hand=True)
    assert stuck["status"] == "submitted"
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(stuck["flow_run_id"], Cancelled(message="no GPU worker"), force=True)
    freed = check_training(s)
    assert freed["followed"] == [{"run_id": stuck["run_id"], "status": "failed"}]
    with Warehouse.open(s.warehouse_path) as wh:
        assert "cancelled" in runs(wh)[0]["error"] and "no GPU worker" in runs(wh)[0]["error"]
