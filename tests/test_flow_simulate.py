"""simulate-corpus through Prefect's test harness with the scripted fake: instructions, dialogues,
landing, the views, and a re-run that does nothing twice."""

import json
from pathlib import Path

from flows.build_toolset import run_build_toolset
from flows.simulate_corpus import run_simulate_corpus
from tests.support.scripts import assistant, documenter_responder, schema_name, user
from warehouse import Warehouse


def test_simulation_lands_instructions_and_dialogues_once(prefect_harness, settings, fake_llm):
    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    assert run_build_toolset(settings)["valid"] == 2
    summary = run_simulate_corpus(settings)
    assert summary["apis"] == 2 and summary["instructions"] == 6 and summary["dialogues"] == 6
    assert summary["stop_reasons"] == {"final_answer": 6} and summary["task_failures"] == 0
    with Warehouse.open(settings.warehouse_path) as wh:
        kinds = dict(wh.execute("SELECT kind, count(*) FROM instructions GROUP BY kind"))
        assert kinds == {"normal": 4, "missing_detail": 2}
        assert wh.count("dialogues", "stop_reason = 'final_answer' AND n_calls = 1") == 6
        asks = wh.execute("SELECT observation FROM steps WHERE action = 'ask_user'")
        assert asks == [("User: I am in Lisbon.",), ("User: I am in Lisbon.",)]
        assert wh.count("steps", "action = 'searchPlaces' AND status = 200 AND valid") == 6
    calls = len(fake_llm.calls)
    again = run_simulate_corpus(settings)
    assert again["dialogues"] == 0 and again["skipped_existing"] == 6 and again["llm_calls"] == 0
    assert len(fake_llm.calls) == calls


def test_run_command_goes_from_catalog_to_dialogues(prefect_harness, settings, fake_llm, capsys):
    from toolfactory.cli import main

    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    assert main(["--progress", "on", "run", "--max-apis", "2", "--instructions", "3", "--steps", "3"]) == 0
    out, err = capsys.readouterr()
    # long stages draw progress bars on stderr (on here; by default only when stderr is a terminal)
    assert "APIs documented: 100%" in err and "dialogues simulated: 100%" in err and "6/6" in err
    assert "[3/7] simulation   6 dialogues on 2 APIs (final_answer 6)" in out and "FROM clean_instances" in out
    assert "== simulation" not in out  # the stage summaries go to the run's log, with Prefect's output
    report = next(line.split()[-1] for line in out.splitlines() if line.startswith("  report "))
    log = Path(next(line.split()[-1] for line in out.splitlines() if line.startswith("  full log ")))
    assert report.startswith("data/reports/run-") and Path(report).is_file()
    assert "== simulation" in log.read_text() and "final_answer: 6" in log.read_text()


def test_a_doc_with_nothing_to_call_is_refused_with_a_reason(tmp_path, fake_llm):
    import asyncio

    from flows.settings import Settings
    from flows.simulate_corpus import _simulate_api
    from schemas.views import DocumentedApi
    from tasks.llm.backend import LLMClient
    from tasks.llm.config import load_backend_config
    from warehouse.batch_writer import BatchWriter

    spec = {"openapi": "3.0.3", "info": {"title": "X", "version": "1"},
            "paths": {"/a": {"get": {"summary": "No operationId", "responses": {"200": {"description": "ok"}}}}}}
    doc = DocumentedApi("a" * 16, "d" * 16, "X", "C", spec, "")
    settings = Settings().with_overrides(backends_file="fake", warehouse_path=str(tmp_path / "w.duckdb"))
    with Warehouse.open(settings.warehouse_path) as wh:
        writer = BatchWriter(wh)
        out = _simulate_api(doc, LLMClient(load_backend_config("fake")), wh, settings, asyncio.Semaphore(1), writer.put, None, {})
        writer.close()
        assert out["stops"] == {"no_usable_operation": 1} and fake_llm.calls == []
        assert wh.execute("SELECT reason FROM rejections WHERE stage = 'simulation'") == [("no_usable_operation",)]


def test_the_run_shows_its_progress_and_categories_in_the_ui(prefect_harness, settings, fake_llm, monkeypatch):
    import asyncio

    import flows.progress

    shown = []  # every update of a progress artifact, as the UI saw it move
    real = flows.progress.update_progress_artifact
    monkeypatch.setattr(flows.progress, "update_progress_artifact",
                        lambda artifact_id, progress, description=None: (shown.append((progress, description)),
                                                                         real(artifact_id, progress, description=description)))

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    run_build_toolset(settings)
    run_simulate_corpus(settings)

    async def latest(key):
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
            return max(found, key=lambda a: a.created)

    progress = asyncio.run(latest("simulate-corpus-progress"))
    assert progress.type == "progress" and float(progress.data) == 100.0 and "2 of 2 APIs" in progress.description
    moving = [p for p, d in shown if d.startswith("dialogues simulated")]
    assert any(0 < p < 100 for p in moving) and moving[-1] == 100.0  # it moved dialogue by dialogue, then ended
    assert shown[-1][1] == "dialogues simulated: 6 of 6 (2 of 2 APIs)"
    table = asyncio.run(latest("simulate-corpus-categories"))
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert sum(r["dialogues run"] for r in rows) == 6 and sum(r["apis"] for r in rows) == 2


def test_a_shortfall_is_refused_once_and_not_asked_again(prefect_harness, settings, fake_llm):
    """The user agent writes fewer instructions than planned (one near-duplicate pair): the shortfall
    is refused once per kind and config; re-runs add no refusal and ask the user agent nothing."""
    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", lambda req: {"instructions": ["What is the moon phase in Lisbon on 2025-06-01?",
                                                           "What is the moon phase in Lisbon on 2025-06-01 please?"]}
                     if schema_name(req) == "instructions" else "I am in Lisbon.")
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    assert run_build_toolset(settings)["valid"] == 2
    run_simulate_corpus(settings)
    with Warehouse.open(settings.warehouse_path) as wh:
        first = sorted(wh.execute("SELECT rejection_id, reason FROM rejection WHERE stage = 'instruction'"))
    assert {r for _, r in first} == {"near_duplicate", "too_few"}
    asked = len(fake_llm.calls_for("user"))
    for _ in range(2):
        again = run_simulate_corpus(settings)
        assert again["dialogues"] == 0
        with Warehouse.open(settings.warehouse_path) as wh:
            assert sorted(wh.execute("SELECT rejection_id, reason FROM rejection WHERE stage = 'instruction'")) == first
    assert len(fake_llm.calls_for("user")) == asked  # a settled shortfall is not asked again
