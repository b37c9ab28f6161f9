"""docker-compose.yml: valid for docker-compose (v1, as Debian ships it) and every command exists."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is installed by .ci/run")
def test_compose_file_validates():
    out = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_services_and_their_commands():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert {"postgres", "prefect-server", "worker"} <= set(services)
    for name, svc in services.items():
        assert "healthcheck" in svc or name in ("worker", "gpu-worker", "deployments", "dask-worker"), f"{name} has no healthcheck"
    server_cmd = services["prefect-server"]["command"]
    assert server_cmd[:3] == ["prefect", "server", "start"]
    assert "postgresql+asyncpg://" in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    worker = services["worker"]
    assert worker["build"] == "." and (ROOT / "Dockerfile").exists()
    assert worker["entrypoint"][:3] == ["prefect", "worker", "start"]
    # the commands exist in the project's environment and accept these arguments
    bindir = Path(sys.executable).parent
    for cmd in (server_cmd, worker["entrypoint"], services["gpu-worker"]["entrypoint"], services["deployments"]["entrypoint"]):
        exe = bindir / cmd[0]
        assert exe.exists(), exe
        help_out = subprocess.run([str(exe), *cmd[1:3], "--help"], capture_output=True, text=True, timeout=120)
        assert help_out.returncode == 0, help_out.stderr
        for flag in [a for a in cmd[3:] if a.startswith("--")]:
            assert flag in help_out.stdout, f"{cmd[:3]} has no {flag}"
    # keys come from the environment, never from the file
    text = COMPOSE.read_text()
    assert re.search(r"\bsk-[A-Za-z0-9_-]{6,}", text) is None and "OPENAI_API_KEY: ${OPENAI_API_KEY" in text


def test_the_gpu_profile_and_the_deployments_it_registers():
    """Profile gpu: a CUDA-built worker on pool `gpu` with the host's GPUs, sharing the data volume, and
    prefect.yaml's deployments pointing at real flows on pools that a worker serves."""
    import importlib

    from prefect import Flow

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    gpu = services["gpu-worker"]
    assert gpu["profiles"] == ["gpu"] and "cu" in gpu["build"]["args"]["TORCH_INDEX"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert gpu["volumes"] == services["worker"]["volumes"]  # the exports and metrics.json are shared
    assert "ARG TORCH_INDEX" in (ROOT / "Dockerfile").read_text()
    pools = {svc["entrypoint"][svc["entrypoint"].index("--pool") + 1] for svc in services.values()
             if svc.get("entrypoint", [])[:3] == ["prefect", "worker", "start"]}
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = set()
    for dep in project["deployments"]:
        module, func = dep["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), func)
        assert isinstance(flow, Flow)
        assert dep["work_pool"]["name"] in pools, dep
        names.add(f"{flow.name}/{dep['name']}")
    assert "sft-train/gpu" in names  # what training_deployment names
    assert {"regenerate/scheduled", "evaluate/evaluate", "training-trigger/hourly"} <= names


def test_the_model_server_profiles_are_wired_as_backends():
    from tasks.llm.config import load_backend_config

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services["ollama"]["profiles"] == ["ollama"] and services["vllm"]["profiles"] == ["vllm"]
    assert "healthcheck" in services["ollama"] and "healthcheck" in services["vllm"]
    assert "COPY config config" in (ROOT / "Dockerfile").read_text()
    ollama = load_backend_config(ROOT / "config" / "backends.ollama.yaml")  # the project's own parser accepts them
    vllm = load_backend_config(ROOT / "config" / "backends.vllm.yaml")
    assert ollama.deployments("ollama")[0]["litellm_params"]["api_base"] == "http://ollama:11434"
    served = services["vllm"]["command"][services["vllm"]["command"].index("--served-model-name") + 1]
    assert vllm.models_of("assistant") == [f"hosted_vllm/{served}"]
    assert vllm.deployments("vllm")[0]["litellm_params"]["api_base"].startswith("http://vllm:8000")


def test_the_dask_profile_runs_the_simulation_on_a_cluster():
    """Profile dask: a scheduler and workers whose commands exist here with these flags; the pipeline's
    worker is told the runner and address by the environment; the Dask workers hold no warehouse volume."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    scheduler, worker = services["dask-scheduler"], services["dask-worker"]
    assert scheduler["profiles"] == worker["profiles"] == ["dask"] and "volumes" not in worker
    assert f"tcp://dask-scheduler:{scheduler['entrypoint'][scheduler['entrypoint'].index('--port') + 1]}" in worker["entrypoint"]
    bindir = Path(sys.executable).parent
    for cmd in (scheduler["entrypoint"], worker["entrypoint"]):
        help_out = subprocess.run([str(bindir / cmd[0]), cmd[1], "--help"], capture_output=True, text=True, timeout=120)
        assert help_out.returncode == 0, help_out.stderr
        for flag in [a for a in cmd[2:] if a.startswith("--")]:
            assert flag in help_out.stdout, f"{cmd[:2]} has no {flag}"
    env = services["worker"]["environment"]
    assert env["TOOLFACTORY_SIMULATION_TASK_RUNNER"].startswith("${") and "TOOLFACTORY_TASK_RUNNER_ADDRESS" in env
