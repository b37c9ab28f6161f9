"""A watchdog that ends a child process when the process that started it dies, even by SIGKILL.

Prefect starts a temporary API server (a uvicorn subprocess) for flows run without
``PREFECT_API_URL``; it stops it at exit, but a SIGKILL of the main process alone skips that and
leaves the server listening. ``watch_child`` starts this module as a small process of its own
session: it waits on both PIDs (``pidfd``: no polling, no PID reuse) and, when the parent is gone
first, sends the child SIGTERM, then SIGKILL after a grace period. It exits as soon as the child
ends, so a normal stop leaves nothing behind.

  python -m toolfactory.watchdog PARENT_PID CHILD_PID
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

GRACE_S = 5.0


def watch_child(child_pid: int, parent_pid: int | None = None) -> subprocess.Popen[bytes]:
    """Start the watchdog for ``child_pid`` (ended when ``parent_pid``, default this process, dies)."""
    return subprocess.Popen([sys.executable, "-m", "toolfactory.watchdog", str(parent_pid or os.getpid()), str(child_pid)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


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
