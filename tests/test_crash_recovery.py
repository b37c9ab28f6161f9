"""`regenerate` killed with SIGKILL at seeded random moments, restarted each time, ends where an
uninterrupted run ends: the same docs, instructions, dialogues and verdicts (by content-hash ID), none
twice, the warehouse opens cleanly, and at most 1% of the LLM calls were made again."""

import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.net import served_backends
from tests.support.scripts import assistant, documenter_responder, schema_name
from toolfactory.testing.fake_llm import FakeRequest
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults
from warehouse import Warehouse

N_APIS = 60
KILLS = 3
ROLES = ("documenter", "user", "assistant", "executor", "judge")
RUN = ("from flows.pipeline import regenerate; from flows.settings import describe, load_settings; "
       "regenerate(settings=describe(load_settings()), catalog='catalog.csv')")


NORMAL = ["What is the moon phase in Lisbon on 2025-06-01 for edition {ref}?",
          "Tell me how bright the moon is over Oslo tonight, edition {ref}.",
          "Which phase will Tokyo see during the first week of March (ref {ref})?",
          "Is there a full moon above Nairobi next weekend? Reference {ref}"]
MISSING = ["What phase will the moon be in tomorrow, edition {ref}?",
           "Will it be visible tomorrow night where I live ({ref})?"]


def tag(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def agents(req: FakeRequest):
    """Scripted agents whose replies differ per API (so every API's calls are its own, not cache hits)."""
    if req.role == "documenter":
        reply = documenter_responder()(req)
        if schema_name(req) == "operation":  # its prompt names the API: the functions doc becomes the API's own
            reply = {**reply, "summary": f"{reply['summary']} Edition {tag(req.last_user)}."}
        return reply
    if req.role == "user":
        ref = tag(req.last_user)
        if schema_name(req) == "instructions":
            count = int(re.search(r"Write (\d+) different", req.last_user).group(1))
            texts = MISSING if "leave out one detail" in req.last_user else NORMAL
            return {"instructions": [t.format(ref=ref) for t in texts[:count]]}
        return "I am in Lisbon."
    if req.role == "assistant":
        return assistant(req)
    if req.role == "executor":
        return {"results": [{"placeId": "lis-1", "name": "Lisbon"}]}
    return {"fulfils_request": "bright" not in req.last_user.split("The user's request:", 1)[1].split("\n", 1)[0],
            "arguments_grounded": True, "reason": "checked against the search result"}


def project(folder: Path, base_url: str) -> Path:
    folder.mkdir()
    (folder / "catalog.csv").write_text("name,description,category,link,auth\n" + "".join(
        f"Service {i:03d},Answers question kind {i} about the sky,Category {i % 6},https://svc{i}.example,none\n"
        for i in range(N_APIS)))
    served_backends(folder / "backends.yaml", base_url, ROLES)
    (folder / "toolfactory.yaml").write_text(
        "backends_file: backends.yaml\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 0\n"
        "instructions_per_api: 6\nmissing_detail_share: 0.3333333334\nunanswerable_share: 0\nmulti_api_share: 0\nchain_share: 0\n"
        # a deterministic number of calls: no request is asked twice at once by two APIs or two dialogues (which of
        # them the ledger's cache answers would depend on timing), so the runs can be compared call for call
        "max_concurrent_apis: 1\nmax_concurrent_llm_calls: 4\nmax_concurrent_dialogues: 8\ndialogue_step_limit: 4\n"
        "executor_share_responses: false\n"
        "curation_tokenizer: words\ntraining_auto: false\n")
    return folder


def start(folder: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN], cwd=folder, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def end_state(folder: Path) -> dict[str, object]:
    with Warehouse.open(folder / "wh.duckdb") as wh:
        q = wh.execute
        return {
            "docs": sorted(q("SELECT doc_id, status FROM apis")),
            "instructions": sorted(q("SELECT instruction_id FROM instructions")),
            "dialogues": sorted(q("SELECT dialogue_id, stop_reason FROM dialogues")),
            "verdicts": sorted(q("SELECT dialogue_id, stage, kept, coalesce(reason, '') FROM current_verdicts")),
            "clean": sorted(q("SELECT dialogue_id FROM clean_instances")),
            "twice": q("SELECT (SELECT count(*) - count(DISTINCT instruction_id) FROM dialogue), "
                       "(SELECT count(*) - count(DISTINCT (dialogue_id, stage, config_version)) FROM curation_verdict)")[0],
        }


@pytest.mark.slow  # over 10 s
@pytest.mark.timeout(900)
def test_killed_and_restarted_regenerate_ends_as_an_uninterrupted_run(prefect_harness, workdir, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "TF_FAKE_OPENAI_KEY": "sk-test-not-a-real-key"}
    with FakeOpenAIServer(Faults(latency=0.01, seed=1), responder=agents) as server:
        requests = lambda: httpx.get(f"http://127.0.0.1:{server.port}/stats").json()["requests"]  # noqa: E731
        reference = project(workdir / "reference", server.base_url)
        assert start(reference, env).wait(timeout=600) == 0
        calls_uninterrupted = requests()

        killed = project(workdir / "killed", server.base_url)
        rng = random.Random(8)
        kills = sorted(rng.randint(calls_uninterrupted // 10, calls_uninterrupted * 9 // 10) for _ in range(KILLS))
        for n, at in enumerate(kills):
            run = start(killed, env)
            deadline = time.time() + 300
            while requests() - calls_uninterrupted < at and run.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            assert run.poll() is None, f"run {n} ended before its kill at call {at}"
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
        assert start(killed, env).wait(timeout=600) == 0
        calls_killed = requests() - calls_uninterrupted

    want, got = end_state(reference), end_state(killed)
    assert got["twice"] == (0, 0) and want["twice"] == (0, 0)
    for key in ("docs", "instructions", "dialogues", "verdicts", "clean"):
        assert got[key] == want[key], key
    assert len(want["dialogues"]) == 6 * N_APIS and len(want["clean"]) == 5 * N_APIS  # one asks how bright: refused
    repeated = calls_killed - calls_uninterrupted
    print(f"{calls_uninterrupted} calls uninterrupted, {calls_killed} with {KILLS} kills at {kills}: {repeated} repeated")
    assert 0 <= repeated <= 0.01 * calls_uninterrupted
