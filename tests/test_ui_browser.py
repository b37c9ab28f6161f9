"""The UI `toolfactory ui` serves, on a port that is not Prefect's default, driven by headless Chromium:
its pages talk to its own API (a flow run is listed) and the regenerate report's plots render inline."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,  # over 10 s
              pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium; "
                                                          ".ci/run installs it)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api{path}", method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def rendered(url: str, profile: Path, budget_ms: int = 30000) -> str:
    """The page's DOM after its scripts ran (Chromium's virtual time lets the API calls finish)."""
    out = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=180)
    return out.stdout


@pytest.fixture
def ui_port(tmp_path):
    """``toolfactory ui`` on a free port, with a stale ``PREFECT_API_URL`` for Prefect's default port in its
    environment (which the UI must not follow)."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    log = (tmp_path / "ui.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "toolfactory.cli", "ui", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                api(port, "/health")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"toolfactory ui did not start: {(tmp_path / 'ui.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        log.close()


def test_the_ui_on_another_port_lists_runs_and_shows_the_report_plots(ui_port, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{ui_port}/api", "PREFECT_HOME": str(tmp_path / "client-home")}
    run = subprocess.run([sys.executable, "-m", "tests.support.regenerate_once", str(work)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]

    runs = rendered(f"http://127.0.0.1:{ui_port}/runs", tmp_path / "chrome")
    assert "Can't connect to Server API" not in runs
    assert "regenerate" in runs  # the flow run, read by the page from this server's API

    found = api(ui_port, "/artifacts/filter", {"artifacts": {"key": {"any_": ["regenerate-report"]}}})
    assert len(found) == 1
    page = rendered(f"http://127.0.0.1:{ui_port}/artifacts/artifact/{found[0]['id']}", tmp_path / "chrome")
    assert "| documentation |" not in page and "documentation" in page  # the markdown rendered as a table
    assert page.count('src="data:image/png;base64,') >= 2  # the report's plots, inline
