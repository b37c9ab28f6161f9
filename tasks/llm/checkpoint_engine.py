"""A trained checkpoint answering in this process through transformers (litellm provider
``toolfactory-hf/<folder>``, registered by ``tasks.llm.backend``, which calls ``engine`` lazily):
how the factory evaluates the models its SFT job wrote. It lives beside the SFT job because it
reads what the job wrote (weights, adapter, ``sft_config.yaml``) and its text layout.

The folder is an SFT output (``training.sft``): a full model, or a LoRA adapter whose base is read
from ``sft_config.yaml`` (``local``: the embedded SmolLM2 from its GGUF). Its ``format`` decides
how a ReAct conversation (the assistant prompt, its turns, ``Observation:`` messages) is shown:
``chat`` through the tokenizer's chat template; ``paper`` in ToolAlpaca's layout, the one the
model was trained on (``ASSISTANT Thought: / Action: / Action Input: / Observation: / Response:``),
its reply read back into ReAct text (``Response:`` → ``Final Answer:``). Greedy unless a
temperature is given.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from tasks.guards.documents import read_config_document
from tasks.llm.local_engine import gguf_location
from tasks.prompts import FORMAT, PREAMBLE

_ENGINES: dict[str, HFEngine] = {}
_LOCK = threading.Lock()
_FUNCTIONS = re.compile(r"You can use these functions:\s*\n(.*?)\nask_user:", re.S)
_TURN_LINE = re.compile(r"^(Thought|Action Input|Action|Final Answer|Observation):", re.M)


def engine(folder: str) -> HFEngine:
    """The engine of a checkpoint folder, loaded once per process."""
    key = str(Path(folder).resolve())
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = HFEngine(key)
        return _ENGINES[key]


def paper_prompt(messages: list[dict[str, Any]]) -> str:
    """A ReAct conversation in ToolAlpaca's training layout, ending where the model writes its next turn."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    found = _FUNCTIONS.search(system)
    functions = (found.group(1) if found else system).strip()
    lines = [PREAMBLE + "Functions:\n" + functions + "\n" + FORMAT]
    rest = [m for m in messages if m["role"] != "system"]
    if rest:
        lines.append(f"USER: {rest[0]['content']}")
    for m in rest[1:]:
        text = (m.get("content") or "").strip()
        if m["role"] == "assistant":
            lines.append(_TURN_LINE.sub(lambda x: f"ASSISTANT {x.group(1)}:", text).replace("ASSISTANT Final Answer:",
                                                                                             "ASSISTANT Response:"))
        else:
            lines.append("ASSISTANT " + text if text.startswith("Observation:") else f"USER: {text}")
    return "\n".join(lines) + "\nASSISTANT Thought:"


def react_reply(generated: str) -> str:
    """The model's continuation of ``ASSISTANT Thought:`` as ReAct text, cut at its next observation."""
    text = "Thought:" + generated.split("ASSISTANT Observation:")[0]
    text = re.sub(r"^ASSISTANT (Thought|Action Input|Action):", r"\1:", text, flags=re.M)
    return re.sub(r"^ASSISTANT Response:", "Final Answer:", text, flags=re.M).strip()


class HFEngine:
    """One checkpoint's tokenizer and model; ``generate`` is serialised (one reply at a time)."""

    def __init__(self, folder: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(folder)
        job = read_config_document(path / "sft_config.yaml") if (path / "sft_config.yaml").is_file() else {}
        self.format = job.get("format", "chat")
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        if (path / "adapter_config.json").is_file():
            from peft import PeftModel

            _, base = load_base_model(job.get("base_model", "local"), torch.float32)
            self.model = PeftModel.from_pretrained(base, folder)
        else:
            self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        self.model.eval()
        self.lock = threading.Lock()

    def prompt(self, messages: list[dict[str, Any]]) -> str:
        if self.format == "paper" or not self.tokenizer.chat_template:
            return paper_prompt(messages)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(self, messages: list[dict[str, Any]], max_tokens: int, temperature: float | None,
                 seed: int | None) -> tuple[str, int, int, str]:
        """(reply text, prompt tokens, completion tokens, finish reason)."""
        import torch

        text = self.prompt(messages)
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        sample = bool(temperature and temperature > 0)
        with self.lock, torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(**ids, max_new_tokens=max_tokens, do_sample=sample, temperature=temperature if sample else None,
                                      top_p=None, top_k=None, pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        new = out[0][ids["input_ids"].shape[1]:]
        reply = self.tokenizer.decode(new, skip_special_tokens=True)
        finish = "length" if len(new) >= max_tokens and new[-1] != self.tokenizer.eos_token_id else "stop"
        if self.format == "paper" or not self.tokenizer.chat_template:
            reply = react_reply(reply)
        return reply, int(ids["input_ids"].shape[1]), int(len(new)), finish


def load_base_model(name: str, dtype: Any, attn_implementation: str | None = None) -> tuple[Any, Any]:
    """(tokenizer, model) for ``name``: ``local`` is the embedded SmolLM2 read from its GGUF (dequantised
    into a plain model the Trainer accepts), anything else a folder or hub name for transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == "local":
        folder, file = gguf_location()
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=file)
        loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, gguf_file=file)
        # transformers dequantises GGUF weights on load but keeps the model marked as quantized, and the
        # Trainer refuses quantized models: rebuild a plain model from the config and the dequantised weights.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        model.load_state_dict(loaded.state_dict())
        del loaded
    else:
        tok = AutoTokenizer.from_pretrained(name)
        attn = {"attn_implementation": attn_implementation} if attn_implementation else {}
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, **attn)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok, model
