"""Prefect flows: the only place that composes tasks, the LLM layer and the warehouse. Nothing imports flows/."""

import os as _os

_os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_os.environ.setdefault("DO_NOT_TRACK", "1")
# Prefect waits 20 s for its temporary server; on a busy 2-core machine it starts in up to a minute.
_os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


from flows.watchdog import watch_prefect_servers  # noqa: E402

watch_prefect_servers()
