"""A watchdog that ends a child process when the process that started it dies, even by SIGKILL.

Prefect starts a temporary API server (a uvicorn subprocess) for flows run without
``PREFECT_API_URL``; it stops it at exit, but a SIGKILL of the main process alone skips that and
leaves the server listening. ``watch_prefect_servers`` (called when ``flows`` is imported) makes
every such server get a watchdog: ``watch_child`` starts this module as a small process of its own
session: it waits on both PIDs (``pidfd``: no polling, no PID reuse) and, when the parent is gone
first, sends the child SIGTERM, then SIGKILL after a grace period. It exits as soon as the child
ends, so a normal stop leaves nothing behind.

  python -m flows.watchdog PARENT_PID CHILD_PID
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import select
import signal
import subprocess
import sys
import time
import types
from typing import Any

GRACE_S = 5.0


def watch_child(child_pid: int, parent_pid: int | None = None) -> subprocess.Popen[bytes]:
    """Start the watchdog for ``child_pid`` (ended when ``parent_pid``, default this process, dies)."""
    return subprocess.Popen([sys.executable, "-m", "flows.watchdog", str(parent_pid or os.getpid()), str(child_pid)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


PREFECT_SERVER_MODULE = "prefect.server.api.server"


def _watch_server_class(module: types.ModuleType) -> None:
    """Wrap ``SubprocessASGIServer._run_uvicorn_command`` so every server it starts gets a watchdog."""
    cls = module.SubprocessASGIServer
    start = cls._run_uvicorn_command
    if getattr(start, "watched", False):
        return

    def start_watched(self: Any) -> Any:
        process = start(self)
        watch_child(process.pid)
        return process

    start_watched.watched = True  # type: ignore[attr-defined]
    cls._run_uvicorn_command = start_watched


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Applies ``_watch_server_class`` when Prefect's server module is first imported (importing it
    up front would cost every command seconds)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != PREFECT_SERVER_MODULE:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module: types.ModuleType) -> None:
            exec_module(module)
            _watch_server_class(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def watch_prefect_servers() -> None:
    """From now on, every temporary Prefect server this process starts dies with it (see above)."""
    if PREFECT_SERVER_MODULE in sys.modules:
        _watch_server_class(sys.modules[PREFECT_SERVER_MODULE])
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True


def _wait_either(parent: int, child: int) -> str:
    """'parent' or 'child': which one ended first."""
    try:
        fds = {os.pidfd_open(parent): "parent", os.pidfd_open(child): "child"}
    except (AttributeError, OSError):
        fds = {}
    if fds:
        ready, _, _ = select.select(list(fds), [], [])
        return "child" if any(fds[f] == "child" for f in ready) else "parent"
    while True:  # no pidfd (an old kernel): poll
        if not _alive(child):
            return "child"
        if not _alive(parent):
            return "parent"
        time.sleep(0.5)


def stop(child: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM, then SIGKILL once ``grace_s`` passed."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 0.0)):
        try:
            os.kill(child, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(child):
                return
            time.sleep(0.05)


def main(argv: list[str]) -> int:
    parent, child = int(argv[0]), int(argv[1])
    if not _alive(parent) or _wait_either(parent, child) == "parent":
        stop(child)
    return 0


if __name__ == "__main__":  # pragma: no cover (runs as its own process)
    sys.exit(main(sys.argv[1:]))
