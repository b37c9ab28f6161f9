"""The temporary Prefect server dies with the process that started it: `toolfactory docs build`
(with no PREFECT_API_URL, so it starts its own server) is killed by SIGKILL — the main process
alone, not its group — while a flow waits on a slow LLM, and the server it started ends too."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.net import served_backends
from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults

CATALOG = "name,description,category,link,auth\nMoon Phases,Phase of the moon,Science,https://moon.example,none\n"


def children(pid: int) -> dict[int, str]:
    """pid → command line of the processes whose parent is ``pid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def in_flight(llm) -> int:
    return httpx.get(f"http://127.0.0.1:{llm.port}/stats").json()["in_flight"]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow  # over 10 s
@pytest.mark.timeout(300)
def test_sigkill_of_the_main_process_alone_leaves_no_server(workdir, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(TF_FAKE_OPENAI_KEY="sk-test", PREFECT_HOME=str(workdir / "prefect-home"))
    with FakeOpenAIServer(Faults(latency=120)) as llm:  # every LLM call hangs: the flow is mid-run when killed
        served_backends(workdir / "backends.yaml", llm.base_url, ("documenter", "user", "assistant", "executor", "judge"))
        (workdir / "catalog.csv").write_text(CATALOG)
        (workdir / "toolfactory.yaml").write_text("backends_file: backends.yaml\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\n")
        cli = [sys.executable, "-m", "toolfactory.cli"]
        assert subprocess.run([*cli, "catalog", "import", "catalog.csv"], env=env, cwd=workdir, capture_output=True).returncode == 0
        main = subprocess.Popen([*cli, "docs", "build"], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline, server = time.time() + 120, None
            while time.time() < deadline and server is None:
                server = next((p for p, cmd in children(main.pid).items() if "uvicorn" in cmd and "prefect" in cmd), None)
                time.sleep(0.2)
            assert server is not None, "the temporary Prefect server did not start"
            deadline = time.time() + 120  # wait until the flow is waiting on the LLM
            while time.time() < deadline and not in_flight(llm) and main.poll() is None:
                time.sleep(0.2)
            assert main.poll() is None, f"docs build ended (exit {main.returncode}) before it called the LLM"
            assert in_flight(llm) and alive(server)
            os.kill(main.pid, signal.SIGKILL)  # the main process alone
            main.wait(timeout=30)
            deadline = time.time() + 30
            while time.time() < deadline and alive(server):
                time.sleep(0.2)
            assert not alive(server), "the temporary Prefect server outlived the process that started it"
        finally:
            if main.poll() is None:
                main.kill()
            if server is not None and alive(server):
                os.kill(server, signal.SIGKILL)
