"""docker-compose.yml: valid for docker-compose (v1, as Debian ships it) and every command exists."""

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
        assert "healthcheck" in svc or name == "worker", f"{name} has no healthcheck"
    server_cmd = services["prefect-server"]["command"]
    assert server_cmd[:3] == ["prefect", "server", "start"]
    assert "postgresql+asyncpg://" in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    worker = services["worker"]
    assert worker["build"] == "." and (ROOT / "Dockerfile").exists()
    assert worker["entrypoint"][:3] == ["prefect", "worker", "start"]
    # the commands exist in the project's environment and accept these arguments
    bindir = Path(sys.executable).parent
    for cmd in (server_cmd, worker["entrypoint"]):
        exe = bindir / cmd[0]
        assert exe.exists(), exe
        help_out = subprocess.run([str(exe), *cmd[1:3], "--help"], capture_output=True, text=True, timeout=120)
        assert help_out.returncode == 0, help_out.stderr
        for flag in [a for a in cmd[3:] if a.startswith("--")]:
            assert flag in help_out.stdout, f"{cmd[:3]} has no {flag}"
    # keys come from the environment, never from the file
    text = COMPOSE.read_text()
    assert "sk-" not in text and "OPENAI_API_KEY: ${OPENAI_API_KEY" in text
