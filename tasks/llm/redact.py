"""Keeping API keys out of what the factory records: provider errors quote the key they were sent
("Incorrect API key provided: sk-…"), and those errors are stored in the ledger and shown in logs.

``Redactor(secrets)`` replaces every exact secret value (the environment values the backends file
references) and anything shaped like a key or a bearer token with ``[redacted]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
KEY_LIKE = re.compile(
    r"\b(?:sk|pk|rk|xai|gsk|hf|key)[-_][A-Za-z0-9_\-]{12,}"  # OpenAI, Anthropic (sk-ant-…), xAI, Groq, Hugging Face …
    r"|\bAIza[0-9A-Za-z_\-]{20,}"  # Google
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{12,}=*"
)


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()):
        # longest first, so a secret that contains another is replaced whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return KEY_LIKE.sub(REDACTED, text)
