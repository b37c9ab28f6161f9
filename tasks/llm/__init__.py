"""The LLM backend layer: roles mapped to litellm Router model groups.

``tasks.llm.backend`` is the only module that imports litellm. ``fake`` and ``local_engine`` are the
two built-in engines it registers as litellm custom providers (``toolfactory-fake/…`` and
``toolfactory-local/…``).
"""

from tasks.llm.types import ROLES, LLMResult

__all__ = ["LLMResult", "ROLES"]
