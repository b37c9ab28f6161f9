"""Prompts are package data (``tasks/prompts/*.md``) with a version hash stamped on every row they produce.

A prompt file has ``## system`` and ``## user`` sections; ``${name}`` placeholders are filled by
``Prompt.render``. The version is a hash of the file text plus the texts it includes (the example
spec), so editing a prompt changes the IDs of everything it produces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from schemas.ids import content_id

_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    version: str

    def render(self, **values: Any) -> list[dict[str, str]]:
        """Chat messages with placeholders filled; a missing value raises KeyError naming it."""
        values = {k: str(v) for k, v in values.items()}
        return [
            {"role": "system", "content": Template(self.system).substitute(values).strip()},
            {"role": "user", "content": Template(self.user).substitute(values).strip()},
        ]


def read_asset(filename: str) -> str:
    return resources.files("tasks").joinpath("prompts", filename).read_text("utf-8")


@cache
def load_prompt(name: str, includes: tuple[str, ...] = ()) -> Prompt:
    """Load ``tasks/prompts/<name>.md``; ``includes`` are other asset files that feed its version."""
    text = read_asset(f"{name}.md")
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if "user" not in sections:
        raise ValueError(f"prompt {name} has no '## user' section")
    version = content_id(name, text, *[read_asset(f) for f in includes])[:12]
    return Prompt(name=name, system=sections.get("system", ""), user=sections["user"], version=version)


# ToolAlpaca's training text (training.render, tasks.llm.checkpoint_engine): the preamble and the format note before each dialogue.
PREAMBLE = ("A chat between a curious user and an artificial intelligence assistant. The assistant can use the "
            "functions below and answers in the format shown.\n")
FORMAT = ("Format:\nUSER: the request\nASSISTANT Thought: what to do next\nASSISTANT Action: a function name\n"
          "ASSISTANT Action Input: its arguments as JSON\nASSISTANT Observation: the function's reply\n"
          "… (Thought / Action / Action Input / Observation may repeat)\nASSISTANT Thought: I now know the answer\n"
          "ASSISTANT Response: the answer to the user\n")
