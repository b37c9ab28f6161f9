"""The factory's deployments: declared with their schedule and parameters, and one served and run
through Prefect's test harness by a Runner (what `toolfactory serve` does)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flows.deployments import deployments


@pytest.fixture
def settings(workdir):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(f"backends_file: fake\nwarehouse_path: {workdir / 'wh.duckdb'}\n"
                                              "regenerate_cron: '30 2 * * 1'\n")
    return load_settings()


def test_the_deployments_and_their_schedule(settings):
    deps = {d.name: d for d in deployments(settings)}
    assert set(deps) == {"scheduled", "train", "evaluate"}
    assert deps["scheduled"].flow_name == "regenerate" and deps["scheduled"].parameters == {"catalog": "sample"}
    assert [s.schedule.cron for s in deps["scheduled"].schedules] == ["30 2 * * 1"]
    assert deps["train"].flow_name == "training-trigger" and deps["evaluate"].flow_name == "evaluate"
    assert not deployments(settings.with_overrides(regenerate_cron=""))[0].schedules  # by hand only


def test_a_served_deployment_runs(settings, prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.runner import Runner

    from flows.settings import describe
    from warehouse import Warehouse

    train = next(d for d in deployments(settings, describe(settings)) if d.name == "train")
    runner = Runner(name="toolfactory-test", query_seconds=1)
    runner.add_deployment(train)
    flow_run = run_deployment(name="training-trigger/train", timeout=0)
    asyncio.run(runner.start(run_once=True))  # picks the scheduled run and executes it, as `toolfactory serve` would

    async def state():
        async with get_client() as client:
            return (await client.read_flow_run(flow_run.id)).state

    final = asyncio.run(state())
    assert final.is_completed(), final
    assert Path(settings.warehouse_path).is_file()  # the served run opened the configured warehouse (nothing else did)
    with Warehouse.open(settings.warehouse_path) as wh:
        assert wh.count("training_run") == 0  # nothing curated yet: the trigger started nothing
