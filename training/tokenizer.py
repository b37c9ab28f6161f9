"""Tokenizers by name, for the length filter and (issue #5) the training job.

``local``: the embedded model's own tokenizer, read by transformers from the shipped GGUF file (no
download; ~8 s to load here). ``words``: whitespace pieces, no tokenizer at all. Anything else is
passed to ``AutoTokenizer.from_pretrained`` (a local folder or a hub name the user can reach).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from tasks.llm.local_engine import gguf_location


@cache
def load_tokenizer(name: str, local_model_path: str | None = None) -> Any:
    """A transformers tokenizer for ``name`` (``local`` or a name/path)."""
    from transformers import AutoTokenizer

    if name == "local":
        folder, file = gguf_location(local_model_path)
        return AutoTokenizer.from_pretrained(folder, gguf_file=file)
    return AutoTokenizer.from_pretrained(name)


def token_counter(name: str, local_model_path: str | None = None) -> Callable[[str], int]:
    """A function text → number of tokens (``words`` counts whitespace pieces)."""
    if name == "words":
        return lambda text: len(text.split())
    tok = load_tokenizer(name, local_model_path)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])
