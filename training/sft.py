"""The SFT job: a corpus snapshot's export → TRL ``SFTTrainer`` → a fine-tuned model.

    .venv/bin/python -m training.sft --config training/configs/embedded_cpu.yaml [--set key=value ...]
    accelerate launch --config_file training/configs/accelerate_multi_gpu.yaml -m training.sft --config …

Reads a snapshot's export (``train.jsonl`` for the chat format, ``train_data.json`` for the
paper's), renders every example with ``training.render`` (loss on the assistant's text only, labels
from token offsets), reports and drops examples over ``max_length`` (never cut), holds out an eval
split, and trains — full fine-tuning or LoRA, bf16 on GPU and fp32 on CPU, packing or padding-free
when asked — then saves the model, tokenizer, the job config and a model card to ``output_dir``.
Checkpoints go there too; ``resume_from_checkpoint: true`` continues from the last one.

``base_model``: a local folder or hub name for ``from_pretrained``; ``local`` — the embedded
SmolLM2-135M, its weights read by transformers from the shipped GGUF (nothing downloaded).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from schemas.views import Solution
from tasks.formats.toolalpaca_format import steps_from_instance
from tasks.guards.documents import CONFIG_LIMITS, parse_document, read_config_document
from tasks.llm.checkpoint_engine import load_base_model
from training.render import chat_text, paper_text, tokenize_with_mask


@dataclass
class SFTJobConfig:
    data_path: str = "exports/latest/train.jsonl"  # train.jsonl (chat) or train_data.json (paper)
    format: str = "chat"  # chat | paper
    base_model: str = "local"
    output_dir: str = "runs/sft"
    lora: bool = True
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    epochs: float = 3.0
    max_steps: int = -1
    learning_rate: float = 2e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03  # a share of the steps (transformers 5 takes it as a float warmup_steps)
    per_device_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    max_length: int = 2048
    packing: bool = False
    padding_free: bool = False
    gradient_checkpointing: bool = False
    attn_implementation: str | None = None  # None: transformers' default (sdpa); torch_varlen (packed rows, training.attention), flash_attention_2 where installed
    bf16: bool | None = None  # None: bf16 where CUDA is, fp32 on CPU
    eval_fraction: float = 0.1
    logging_steps: int = 1
    save_steps: int = 50
    save_total_limit: int = 2
    resume_from_checkpoint: bool | str = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.format not in ("chat", "paper"):
            raise ValueError(f"format must be chat or paper, got {self.format!r}")
        if not 0 <= self.eval_fraction < 1:
            raise ValueError("eval_fraction must be in [0, 1)")


CONFIGS = Path(__file__).parent / "configs"


def config_path(name: str) -> Path:
    """A shipped config by name (``embedded_cpu`` → training/configs/embedded_cpu.yaml) or a YAML path."""
    shipped = CONFIGS / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    path = Path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
        raise FileNotFoundError(f"no SFT config {name!r}: neither a shipped one ({known}) nor a file")
    return path


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> SFTJobConfig:
    """The YAML file's keys (unknown keys refused) with ``overrides`` on top."""
    data = read_config_document(path) if path else {}
    data = {**(data or {}), **(overrides or {})}
    known = {f.name for f in fields(SFTJobConfig)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown SFT settings: {', '.join(sorted(unknown))}")
    return SFTJobConfig(**data)


def load_tokenizer_and_model(cfg: SFTJobConfig) -> tuple[Any, Any]:
    """(tokenizer, model) of the job's base model (``tasks.llm.checkpoint_engine.load_base_model``)."""
    import torch

    from training import attention

    dtype = torch.bfloat16 if _bf16(cfg) else torch.float32
    if cfg.attn_implementation == attention.NAME:
        attention.register()
    return load_base_model(cfg.base_model, dtype, cfg.attn_implementation)


def _bf16(cfg: SFTJobConfig) -> bool:
    import torch

    return torch.cuda.is_available() if cfg.bf16 is None else cfg.bf16


def read_examples(cfg: SFTJobConfig) -> list[dict[str, Any]]:
    """The export's examples: chat rows of train.jsonl, or (dialogue, functions) pairs from train_data.json."""
    path = Path(cfg.data_path)
    if cfg.format == "chat":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    out = []
    for api in json.loads(path.read_text("utf-8")):
        for inst in api.get("Instances") or []:
            steps = steps_from_instance(inst)
            if steps is not None:  # a malformed instance is refused at import; an export has none
                out.append({"functions": api.get("NLDocumentation") or "",
                            "dialogue": Solution(inst["input"], steps, inst.get("output") or "")})
    return out


def render_examples(cfg: SFTJobConfig, tokenizer: Any, examples: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """(rows of input_ids and labels, how many examples were over max_length and left out)."""
    rows, over = [], 0
    for ex in examples:
        if cfg.format == "chat":
            text, spans = chat_text(ex, tokenizer)
        else:
            text, spans = paper_text(ex["dialogue"], ex["functions"], tokenizer.eos_token)
        r = tokenize_with_mask(text, spans, tokenizer, cfg.max_length)
        if r.over_budget:
            over += 1
            continue
        rows.append({"input_ids": r.input_ids, "labels": r.labels})
    return rows, over


def run(cfg: SFTJobConfig) -> dict[str, Any]:
    """Train; returns the metrics (losses, tokens per second, examples used and left out)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    tok, model = load_tokenizer_and_model(cfg)
    rows, over = render_examples(cfg, tok, read_examples(cfg))
    if not rows:
        raise ValueError(f"no example fits max_length {cfg.max_length} ({over} over it) in {cfg.data_path}")
    random.Random(cfg.seed).shuffle(rows)
    n_eval = int(len(rows) * cfg.eval_fraction) if len(rows) > 1 else 0
    train, held = rows[n_eval:], rows[:n_eval]
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    args = SFTConfig(
        output_dir=cfg.output_dir, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type, warmup_steps=cfg.warmup_ratio, per_device_train_batch_size=cfg.per_device_batch_size,
        per_device_eval_batch_size=cfg.per_device_batch_size, gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        max_length=cfg.max_length, packing=cfg.packing, padding_free=cfg.padding_free,
        **_checkpointing(SFTConfig, cfg.gradient_checkpointing), bf16=_bf16(cfg), logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit, eval_strategy="epoch" if held else "no",
        report_to="none", seed=cfg.seed, use_cpu=not _cuda(), dataset_num_proc=None,
        disable_tqdm=not sys.stderr.isatty(),  # a bar only on a terminal; in a log each step is one line
    )
    clock = _steady_clock()
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(train), callbacks=[clock],
                         eval_dataset=Dataset.from_list(held) if held else None, processing_class=tok, peft_config=peft_config)
    prepared = trainer.train_dataset
    if any(-100 not in row["labels"] for row in prepared.select(range(min(len(prepared), 8)))):
        # TRL rebuilt the labels: the loss would fall on the prompt and observations too
        raise RuntimeError("the prepared dataset lost its loss masks; check the TRL version")
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=cfg.resume_from_checkpoint or None)
    seconds = time.perf_counter() - started
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    metrics = {"examples": len(train), "eval_examples": len(held), "over_max_length": over, "steps": trainer.state.global_step,
               "processes": trainer.args.world_size, "train_rows": len(prepared),  # fewer than examples when packed
               "first_loss": _round(losses[0] if losses else None), "last_loss": _round(losses[-1] if losses else None),
               "train_loss": _round(result.training_loss), "seconds": round(seconds, 1),
               # tokens of the training examples times the epochs run, per second of training
               "tokens_per_s": round(sum(len(r["input_ids"]) for r in train) * (trainer.state.epoch or 0) / seconds, 1),
               "tokens_per_s_steady": clock.tokens_per_s(sum(len(r["input_ids"]) for r in train))}
    if held:
        metrics["eval_loss"] = _round(trainer.evaluate().get("eval_loss"))
    save(trainer, tok, cfg, metrics)
    return metrics


def _steady_clock() -> Any:
    """A trainer callback timing the steps after the first fifth (start-up, allocator warm-up and kernel
    selection left out): ``tokens_per_s(tokens_per_epoch)`` → real tokens per second over those steps, or None."""
    from transformers import TrainerCallback

    class SteadyClock(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[tuple[float, float]] = []  # (seconds, epoch) at the first timed step and the last

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step in (max(1, state.max_steps // 5), state.max_steps):
                _synchronize()
                self.marks.append((time.perf_counter(), state.epoch or 0.0))

        def tokens_per_s(self, tokens_per_epoch: int) -> float | None:
            if len(self.marks) < 2 or self.marks[-1][0] <= self.marks[0][0]:
                return None
            (t0, e0), (t1, e1) = self.marks[0], self.marks[-1]
            return round(tokens_per_epoch * (e1 - e0) / (t1 - t0), 1)

    return SteadyClock()


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _checkpointing(config_class: Any, on: bool) -> dict[str, bool]:
    """The activation-checkpointing switch under the name this transformers version knows
    (``activation_checkpointing`` in recent releases, ``gradient_checkpointing`` before)."""
    names = {f.name for f in fields(config_class)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": on}


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """``run`` on a plain dict of ``SFTJobConfig`` keys (what flows and deployments pass); other keys are ignored."""
    known = {f.name for f in fields(SFTJobConfig)}
    return run(SFTJobConfig(**{k: v for k, v in job.items() if k in known}))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def save(trainer: Any, tokenizer: Any, cfg: SFTJobConfig, metrics: dict[str, Any]) -> None:
    """The model (every rank takes part: ZeRO-3 gathers its shards), then, on the main process only,
    the tokenizer, the job config, the metrics and a model card."""
    out = Path(cfg.output_dir)
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        return
    tokenizer.save_pretrained(str(out))
    (out / "sft_config.yaml").write_text(yaml.safe_dump(asdict(cfg), sort_keys=False))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (out / "README.md").write_text(
        f"# {out.name}\n\nFine-tuned by ToolFactory from `{cfg.base_model}` on `{cfg.data_path}` ({cfg.format} format, "
        f"{'LoRA r=' + str(cfg.lora_r) if cfg.lora else 'full fine-tuning'}), loss on the assistant's own text only.\n\n"
        + "".join(f"- {k}: {v}\n" for k, v in metrics.items()))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="ToolFactory SFT job (TRL SFTTrainer)")
    p.add_argument("--config", help="YAML file of SFTJobConfig keys")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key (YAML value)")
    a = p.parse_args(argv)
    overrides = {k: parse_document(v, f"--set {k}", CONFIG_LIMITS, as_json=False) for k, v in (s.split("=", 1) for s in a.set)}
    try:
        metrics = run(load_config(a.config, overrides))
    finally:
        _leave_process_group()
    print(json.dumps(metrics, indent=1))
    return metrics


def _leave_process_group() -> None:
    """Under ``accelerate launch`` every rank leaves the process group before exiting (a rank that
    exits while gloo threads still run can abort the launch at teardown)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":  # pragma: no cover
    main()
