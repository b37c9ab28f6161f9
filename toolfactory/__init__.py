"""ToolFactory: the command line and the settings that the flows read.

``flows.settings`` is the one settings object; ``toolfactory.cli`` is the console script.
"""

import os as _os

# Both libraries try the network at import time unless told not to (see README, "Environment").
_os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_os.environ.setdefault("DO_NOT_TRACK", "1")
# Prefect waits 20 s for its temporary server; on a busy 2-core machine it starts in up to a minute.
_os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

__version__ = "0.1.0"
