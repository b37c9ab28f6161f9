"""An API key set in the environment never reaches an output: the warehouse (every table and view),
its replica, the exports, the run report, the Prefect artifacts and logs, or the terminal — even when
the backend puts the key it was sent into an error message."""

import asyncio

import pytest

from tests.support.net import served_backends
from tests.support.scripts import CATALOG, ROLES, agents
from tests.support.warehouse_text import text_of_warehouse
from toolfactory.cli import main
from toolfactory.testing.fake_llm import FakeError, FakeRequest
from toolfactory.testing.fake_openai_server import FakeOpenAIServer
from warehouse import Warehouse

KEY = "sk-planted-7f3a9c1e5b2d4f60a8c7e9b1d3f5a7c9"


def leaky(req: FakeRequest):
    """The agents, except that one documenter call fails the way a provider's 401 does: quoting the key."""
    if req.role == "documenter" and "Tide Tables" in req.last_user and "outline" in str(req.params.get("response_format")):
        raise FakeError(401, f"Incorrect API key provided: {KEY}. You can find your API key at https://example.invalid.")
    return agents(req)


def raising(req: FakeRequest):
    try:
        return leaky(req)
    except FakeError as err:
        return err


@pytest.mark.timeout(600)
def test_a_planted_key_appears_in_no_output(prefect_harness, workdir, monkeypatch, capsys, caplog):
    monkeypatch.setenv("TF_FAKE_OPENAI_KEY", KEY)
    with FakeOpenAIServer(responder=raising) as server:
        (workdir / "catalog.csv").write_text(CATALOG)
        served_backends(workdir / "backends.yaml", server.base_url, ROLES)
        (workdir / "toolfactory.yaml").write_text(
            "backends_file: backends.yaml\nwarehouse_path: data/wh.duckdb\ndocumenter_spec_mode: operations\n"
            "llm_num_retries: 0\ninstructions_per_api: 3\nmissing_detail_share: 0.34\nunanswerable_share: 0\n"
            "multi_api_share: 0\ndialogue_step_limit: 4\ncuration_tokenizer: words\ntraining_auto: false\n"
            "warehouse_replica_interval_s: 0\n")
        assert main(["run", "--catalog", "catalog.csv"]) in (0, 1)
        assert main(["export", "--format", "all", "--out", "exports"]) == 0
        assert main(["status"]) == 0
    terminal = capsys.readouterr()

    # the backend did quote the key: the test would catch a leak if it got through
    with Warehouse.open(workdir / "data" / "wh.duckdb") as wh:
        assert wh.count("llm_calls", "status = 'error' AND error LIKE '%Incorrect API key provided%'") >= 1
        assert wh.count("dialogues") > 0 and wh.count("clean_instances") > 0

    from prefect.client.orchestration import get_client

    async def prefect_outputs() -> str:
        async with get_client() as client:
            artifacts = await client.read_artifacts()
            logs = await client.read_logs()
        return "\n".join([*(str(a.data) + str(a.description) for a in artifacts), *(log.message for log in logs)])

    outputs = {
        "warehouse": text_of_warehouse(workdir / "data" / "wh.duckdb"),
        "files": "\n".join(p.read_bytes().decode("utf-8", "replace") for p in workdir.rglob("*")
                           if p.is_file() and p.suffix not in (".yaml",) and p.name != "catalog.csv"),
        "terminal": terminal.out + terminal.err,
        "log records": "\n".join(r.getMessage() for r in caplog.records),
        "prefect": asyncio.run(prefect_outputs()),
    }
    assert any(p.suffix == ".parquet" for p in (workdir / "exports").rglob("*"))  # the exports were written and read
    for where, text in outputs.items():
        assert KEY not in text, f"the key leaked into {where}"
        assert KEY[:20] not in text, f"a prefix of the key leaked into {where}"
