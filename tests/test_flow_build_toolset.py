"""The build-toolset flow through Prefect's test harness, with the scripted fake backend."""

import pytest

from flows.build_toolset import run_build_toolset, summary_markdown
from flows.catalog_import import import_catalog
from flows.settings import load_settings
from tests.support.scripts import documenter_responder, schema_name
from warehouse import Warehouse


@pytest.fixture
def settings(workdir, fixtures):
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nmax_concurrent_apis: 3\nrepair_rounds: 2\n"
        "documenter_spec_mode: operations\nllm_num_retries: 0\n"
    )
    s = load_settings()
    import_catalog(s, fixtures / "toolalpaca_catalog.json")
    import_catalog(s, fixtures / "catalog.csv")
    return s


def test_flow_documents_lands_and_reruns_for_free(prefect_harness, settings, fake_llm):
    def respond(req):
        # "Prime Checker" never gets a usable outline: it must end refused with a reason
        if schema_name(req) == "doc_outline" and "Prime Checker" in req.last_user:
            return "sorry, no JSON today"
        return documenter_responder()(req)

    fake_llm.respond("documenter", respond)
    summary = run_build_toolset(settings)
    assert summary["planned"] == 4 and summary["documented"] == 4 and summary["task_failures"] == 0
    assert summary["valid"] == 3 and summary["invalid"] == 1
    assert summary["reasons"] == {"outline_unparsable": 1}
    assert summary["llm_calls"] == len(fake_llm.calls) == 3 * 3 + 1
    with Warehouse.open(settings.warehouse_path) as wh:
        assert wh.count("apis", "status = 'valid'") == 3
        assert wh.count("functions") == 6
        assert wh.count("llm_calls") == summary["llm_calls"]
        (reason,) = wh.execute("SELECT reason FROM rejections WHERE stage = 'documentation'")[0]
        assert reason == "outline_unparsable"
        assert wh.count("apis", "spec IS NOT NULL AND nl_documentation <> ''") == 3
    # a re-run with the same prompts and models finds everything and makes zero LLM calls
    before = len(fake_llm.calls)
    again = run_build_toolset(settings)
    assert again["skipped_existing"] == 4 and again["documented"] == 0 and again["llm_calls"] == 0
    assert len(fake_llm.calls) == before


def test_a_changed_setting_redoes_the_work_and_keeps_history(prefect_harness, settings, fake_llm):
    fake_llm.respond("documenter", documenter_responder())
    first = run_build_toolset(settings, limit=2)
    assert first["documented"] == 2
    second = run_build_toolset(settings.with_overrides(repair_rounds=1), limit=2)
    assert second["documented"] == 2 and second["llm_calls"] == 0  # same requests: answered from the ledger
    with Warehouse.open(settings.warehouse_path) as wh:
        assert wh.count("api_doc") == 4 and wh.count("apis") == 2


def test_summary_artifact_is_created(prefect_harness, settings, fake_llm):
    from prefect.client.orchestration import get_client

    fake_llm.respond("documenter", documenter_responder())
    summary = run_build_toolset(settings, limit=1)
    assert "| planned |" in summary_markdown(summary)

    async def latest():
        async with get_client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

            arts = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["build-toolset-summary"])))
            return arts

    import asyncio

    arts = asyncio.run(latest())
    assert arts and "build-toolset" in arts[-1].data and "Warehouse now" in arts[-1].data


def test_spread_over_categories_round_robins():
    from flows.pipeline import spread_over_categories
    from schemas.records import CatalogEntry

    es = [CatalogEntry(f"{i:016x}", f"n{i}", "d", cat, "", "none", None, None, "s", "1")
          for i, cat in enumerate(["A", "A", "A", "B", "C", "C"])]
    assert [e.category for e in spread_over_categories(es, 4)] == ["A", "B", "C", "A"]
    assert spread_over_categories(es, None) == es


def test_run_pipeline_imports_the_sample_and_documents_a_spread(prefect_harness, settings, fake_llm, capsys):
    from toolfactory.cli import main

    fake_llm.respond("documenter", documenter_responder())
    assert main(["run", "--max-apis", "3", "--instructions", "0"]) == 0
    out = capsys.readouterr().out
    assert "[2/7] toolset      3 APIs: 3 valid, 0 invalid" in out and 'toolfactory sql "SELECT' in out
    assert "[3/7] simulation   skipped" in out and "catalog_total" not in out  # the summaries are in the run's log
    with Warehouse.open(settings.warehouse_path) as wh:
        cats = {r[0] for r in wh.execute("SELECT category FROM apis WHERE origin = 'llm' AND api_id IN (SELECT api_id FROM catalog WHERE source = 'sample_catalog.jsonl')")}
        assert len(cats) == 3  # three APIs from three different categories
