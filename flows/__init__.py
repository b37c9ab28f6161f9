"""Prefect flows: the only place that composes tasks, the LLM layer and the warehouse. Nothing imports flows/."""

import os as _os

_os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_os.environ.setdefault("DO_NOT_TRACK", "1")


def _watch_prefect_temporary_server() -> None:
    """Give every temporary Prefect server this process starts a watchdog (``toolfactory.watchdog``),
    so it dies with this process even on SIGKILL, not only at a normal exit."""
    from prefect.server.api import server

    start = server.SubprocessASGIServer._run_uvicorn_command
    if getattr(start, "watched", False):
        return

    def start_watched(self):  # type: ignore[no-untyped-def]
        process = start(self)
        from toolfactory.watchdog import watch_child

        watch_child(process.pid)
        return process

    start_watched.watched = True  # type: ignore[attr-defined]
    server.SubprocessASGIServer._run_uvicorn_command = start_watched


_watch_prefect_temporary_server()
