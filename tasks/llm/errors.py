"""LLM failures as types. The client never raises them for a failed call: an ``LLMResult`` carries
its ``failure`` (and ``error``, the same as one line); ``result.raise_for_failure()`` raises it for
callers that want an exception."""

from __future__ import annotations


class LLMError(Exception):
    """A completion that failed after its retries (the provider's error, keys redacted)."""


class ProviderError(LLMError):
    """The provider (or the transport to it) refused or failed the request."""


class SpendCapReached(LLMError):
    """The run's spend cap (``max_cost_usd``) was reached: the call was not made."""


class NoModelGroup(LLMError):
    """The backends file has no model group for the role."""
