"""SFT throughput of the real job (``training.sft.run``), packing off and on, side by side.

    .venv/bin/python benchmarks/sft_throughput.py                     # CPU: a small Llama, fp32
    python benchmarks/sft_throughput.py --size base --bf16 --steps 30 --batch 8 --peak-tflops 989   # an H100

Builds a Llama from a config (``--size``: tiny ≈ 0.6M, base ≈ 116M, large ≈ 0.8B, xl ≈ 1.8B parameters), a byte-level BPE
tokenizer trained in-process, and a chat-format export of synthetic dialogues of varied length
(nothing downloaded); runs the job once without and once with packing and prints tokens per second
(real tokens: padding not counted; over the whole run, and steady: after the first fifth of the steps) and,
with ``--peak-tflops``, model FLOPs utilisation = 6 × parameters × tokens/s ÷ peak (the usual
dense-transformer estimate, attention FLOPs left out).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

SIZES = {  # hidden, layers, heads, intermediate, vocab
    "tiny": (128, 2, 4, 256, 2000),
    "base": (768, 16, 12, 2048, 32000),  # ≈ 116M parameters with the vocabulary this data yields
    "large": (2048, 16, 16, 5632, 32000),  # ≈ 0.8B parameters: a GPU's size, where per-step overhead stops dominating
    "xl": (3072, 16, 24, 8192, 32000),  # ≈ 1.8B parameters
}


def build(folder: Path, size: str, n_examples: int, seed: int, bf16: bool = False) -> tuple[Path, Path, int]:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    hidden, layers, heads, inter, vocab = SIZES[size]
    rng = random.Random(seed)
    words = ["weather", "city", "forecast", "rain", "book", "author", "title", "holiday", "country", "year", "rate",
             "convert", "amount", "currency", "search", "result", "page", "date", "moon", "phase", "the", "a", "of", "in"]
    rows = []
    for i in range(n_examples):
        ask = " ".join(rng.choice(words) for _ in range(rng.randint(8, 60)))
        answer = " ".join(rng.choice(words) for _ in range(rng.randint(10, 200)))
        rows.append({"messages": [{"role": "user", "content": f"{ask} #{i}"},
                                  {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                                      "name": "search", "arguments": json.dumps({"q": ask[:40]})}}]},
                                  {"role": "tool", "name": "search", "content": json.dumps({"results": ask.split()[:20]})},
                                  {"role": "assistant", "content": answer}],
                     "tools": json.dumps([{"type": "function", "function": {"name": "search", "description": "search",
                                                                             "parameters": {"type": "object"}}}])})
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    special = ["<unk>", "<eos>", "<|user|>", "<|assistant|>", "<|tool|>", "<|system|>", "<|end|>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([json.dumps(r) for r in rows[:500]], trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>", unk_token="<unk>", additional_special_tokens=special[2:])
    tok.chat_template = (
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content or '' }}{% if m.tool_calls %}{% for c in m.tool_calls %}"
        "<call>{{ c.function.name }} {{ c.function.arguments | tojson }}</call>{% endfor %}{% endif %}<|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=4096,
                         pad_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    if bf16:  # the job loads it in bf16 anyway: half the bytes to write and read
        import torch

        model.to(torch.bfloat16)
    base = folder / "base"
    model.save_pretrained(base)
    tok.save_pretrained(base)
    return data, base, params


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="tiny")
    p.add_argument("--examples", type=int, default=400)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--peak-tflops", type=float, help="the device's dense peak for the dtype (H100 SXM bf16: 989)")
    p.add_argument("--attn", help="attn_implementation (default: transformers' own, sdpa; torch_varlen: training.attention)")
    p.add_argument("--packing-only", action="store_true", help="skip the run without packing")
    p.add_argument("--out", help="also write the JSON result to this file")
    a = p.parse_args(argv)
    from training.sft import load_config, run

    with tempfile.TemporaryDirectory() as tmp:
        data, base, params = build(Path(tmp), a.size, a.examples, 0, a.bf16)
        out = {"size": a.size, "attn": a.attn or "default", "parameters": params, "batch": a.batch, "max_length": a.max_length, "device": _device()}
        for packing in (True,) if a.packing_only else (False, True):
            cfg = load_config(None, {"data_path": str(data), "base_model": str(base), "output_dir": str(Path(tmp) / f"run-{packing}"),
                                     "lora": False, "max_steps": a.steps, "per_device_batch_size": a.batch, "eval_fraction": 0.0,
                                     "max_length": a.max_length, "packing": packing, "bf16": a.bf16, "save_steps": 10_000,
                                     "gradient_checkpointing": a.gradient_checkpointing, "logging_steps": 5,
                                     "attn_implementation": a.attn})
            m = run(cfg)
            row = {"tokens_per_s": m["tokens_per_s"], "tokens_per_s_steady": m["tokens_per_s_steady"], "seconds": m["seconds"],
                   "train_rows": m["train_rows"], "last_loss": m["last_loss"]}
            if a.peak_tflops:
                row["mfu"] = _mfu(params, m["tokens_per_s"], a.peak_tflops)
                row["mfu_steady"] = _mfu(params, m["tokens_per_s_steady"], a.peak_tflops)
            out["packing" if packing else "no_packing"] = row
        if not a.packing_only:
            out["packing_speedup"] = round(out["packing"]["tokens_per_s"] / out["no_packing"]["tokens_per_s"], 2)
    print(json.dumps(out, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1))
    return out


def _mfu(params: int, tokens_per_s: float | None, peak_tflops: float) -> float | None:
    return None if tokens_per_s is None else round(6 * params * tokens_per_s / (peak_tflops * 1e12), 4)


def _device() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


if __name__ == "__main__":
    main()
