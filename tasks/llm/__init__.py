"""The LLM layer: roles mapped to model groups, the client, its transport, policy and ledger, and the
factory's own engines. Only this package imports litellm (``engines``, ``transport``).
"""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's HTTP pool allows 1,000 connections, 500 per host: below the in-flight caps this factory is
# run with. The client's own slots (max_concurrent_llm_calls) are the cap; the pool must not be.
os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT", "100000")
os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT_PER_HOST", "100000")

from tasks.llm.types import ROLES, LLMResult  # noqa: E402

__all__ = ["LLMResult", "ROLES"]
