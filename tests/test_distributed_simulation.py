"""simulate-corpus on a Dask cluster (``simulation_task_runner: dask``): a local cluster of worker
processes reaches the scripted agents over HTTP (the fake OpenAI server), the flow's process stays
the warehouse's only writer, and the corpus is the one the thread runner makes."""

import importlib.util
import json
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from flows.build_toolset import run_build_toolset
from flows.catalog_import import import_catalog
from flows.settings import Settings, SettingsError, load_settings
from flows.simulate_corpus import run_simulate_corpus
from flows.task_runners import in_window, simulation_task_runner
from tests.support.net import served_backends
from tests.support.scripts import assistant, documenter_responder, user
from toolfactory.testing.fake_llm import FakeRequest
from toolfactory.testing.fake_openai_server import FakeOpenAIServer
from warehouse import Warehouse

ROLES = ("documenter", "user", "assistant", "executor")


def agents(req: FakeRequest):
    """The scripted agents of test_flow_simulate, one per role (the request's model name)."""
    return {"documenter": documenter_responder(), "user": user, "assistant": assistant,
            "executor": lambda r: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]}}[req.role](req)


@pytest.fixture
def served(workdir, fixtures, monkeypatch):
    """Settings whose every role is served over HTTP by the fake server answering as ``agents``."""
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", "sk-test-not-a-real-key")
    with FakeOpenAIServer(responder=agents) as server:
        served_backends(workdir / "backends.yaml", server.base_url, ROLES)
        (workdir / "toolfactory.yaml").write_text(
            f"backends_file: {workdir / 'backends.yaml'}\nwarehouse_path: {workdir / 'threads.duckdb'}\n"
            "documenter_spec_mode: operations\nllm_num_retries: 0\ninstructions_per_api: 3\nmissing_detail_share: 0.34\n"
            "unanswerable_share: 0\nmax_concurrent_dialogues: 4\ndialogue_step_limit: 4\n")
        s = load_settings()
        import_catalog(s, fixtures / "catalog.csv")
        yield s


def corpus(path) -> tuple[list, list, int]:
    """(instructions, dialogues with their steps, LLM ledger rows) of a warehouse."""
    with Warehouse.open(path) as wh:
        dialogues = [(i, stop, n, [{k: v for k, v in step.items() if k != "latency_s"} for step in json.loads(steps)])
                     for i, stop, n, steps in wh.execute("SELECT dialogue_id, stop_reason, n_calls, CAST(to_json(steps) AS VARCHAR) FROM dialogue")]
        return sorted(wh.execute("SELECT instruction_id, kind, text FROM instruction")), sorted(dialogues), wh.count("llm_call")


@pytest.mark.parametrize("runner", ["processes", "dask", pytest.param("ray", marks=pytest.mark.skipif(
    importlib.util.find_spec("prefect_ray") is None, reason="prefect-ray is an optional extra (pip install 'toolfactory[ray]')"))])
@pytest.mark.slow  # over 10 s
def test_a_cluster_makes_the_corpus_the_threads_make(prefect_harness, served, workdir, runner):
    assert run_build_toolset(served)["valid"] == 2
    shutil.copy(served.warehouse_path, workdir / "away.duckdb")
    built = corpus(served.warehouse_path)[2]  # the documenter's calls, in both copies
    on_dask = served.with_overrides(warehouse_path=str(workdir / "away.duckdb"), simulation_task_runner=runner,
                                    task_runner_local_workers=2, simulation_processes=2)

    here = run_simulate_corpus(served)
    away = run_simulate_corpus(on_dask)
    assert here["dialogues"] == away["dialogues"] == 6 and away["stop_reasons"] == here["stop_reasons"] == {"final_answer": 6}
    assert away["task_failures"] == 0 and away["task_runner"] == runner and here["workers"] == []
    # the API tasks ran in the cluster's worker processes, not in this one
    assert away["workers"] and all(not w.endswith(f":{os.getpid()}") for w in away["workers"])
    (i1, d1, calls_here), (i2, d2, calls_away) = corpus(served.warehouse_path), corpus(on_dask.warehouse_path)
    assert (i1, d1) == (i2, d2)  # the same instructions and dialogues, step by step
    # every call a worker made is in the ledger; a worker has no cache, so requests the two (identically
    # documented) APIs share are answered by the cache here and asked again there
    assert calls_here - built == here["llm_calls"] > 0 and calls_away - built == away["llm_calls"] >= here["llm_calls"]

    again = run_simulate_corpus(on_dask)  # what exists is found from what the flow handed the workers
    assert again["dialogues"] == 0 and again["skipped_existing"] == 6 and again["llm_calls"] == 0


def test_the_runner_is_a_setting(workdir):
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    assert isinstance(simulation_task_runner(Settings(), 3), ThreadPoolTaskRunner)
    pool = simulation_task_runner(Settings().with_overrides(simulation_task_runner="processes"), 3)
    assert isinstance(pool, ProcessPoolTaskRunner) and pool._max_workers == os.cpu_count()
    remote = simulation_task_runner(Settings().with_overrides(simulation_task_runner="dask", task_runner_address="tcp://10.0.0.5:8786"), 3)
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.5:8786"
    with pytest.raises(SettingsError, match="simulation_task_runner.*threads, processes, dask, ray"):
        Settings().with_overrides(simulation_task_runner="spark")


def test_the_window_keeps_at_most_width_out_and_stops_starting_when_told():
    started, ended, most = [], [], [0]

    with ThreadPoolExecutor(8) as pool:
        def submit(i) -> Future:
            started.append(i)
            most[0] = max(most[0], len(started) - len(ended))  # out now, this one included
            return pool.submit(lambda: i * i)

        got = {}
        for i, f in in_window(range(10), submit, 3):
            ended.append(i)
            got[i] = f.result()
        assert got == {i: i * i for i in range(10)} and most[0] == 3

        started.clear()
        ends = list(in_window(range(10), submit, 2, may_start=lambda: len(started) < 4))
        assert started == [0, 1, 2, 3]
        assert sorted(i for i, f in ends if f is not None) == [0, 1, 2, 3]
        assert [i for i, f in ends if f is None] == [4, 5, 6, 7, 8, 9]
