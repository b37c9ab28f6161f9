"""Backends files pointing at a local server, and a resolver that records what it was asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def served_backends(path: Path, base_url: str, roles: tuple[str, ...]) -> Path:
    """A backends file whose every role is the model of that name on an OpenAI-compatible server
    (the fake server), its key read from ``TF_FAKE_OPENAI_KEY``."""
    import yaml

    path.write_text(yaml.safe_dump({"model_list": [
        {"model_name": role, "litellm_params": {"model": f"openai/{role}", "api_base": base_url,
                                                 "api_key": "os.environ/TF_FAKE_OPENAI_KEY"}} for role in roles]}))
    return path


class RecordingResolver:
    """A stand-in for ``socket.getaddrinfo``: answers names from a table and records every question,
    so address-guard tests never send a DNS query."""

    def __init__(self, table: dict[str, list[str]]):
        self.table, self.asked = table, []

    def __call__(self, host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        return [(2, 1, 6, "", (ip, port)) for ip in self.table[host]]
