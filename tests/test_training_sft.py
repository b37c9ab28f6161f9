"""The SFT job on CPU with a tiny random Llama and an in-process tokenizer: no downloads."""

from __future__ import annotations

import json

import pytest

from training.sft import load_config, main, render_examples, run


@pytest.mark.parametrize("fmt", ["chat", "paper"])
def test_loss_goes_down_and_the_run_is_saved(tmp_path, base_model, data, fmt):
    cfg = load_config(None, {"data_path": str(data[0] if fmt == "chat" else data[1]), "format": fmt, "base_model": str(base_model),
                             "output_dir": str(tmp_path / "out"), "lora": False, "learning_rate": 5e-3, "max_steps": 12,
                             "warmup_ratio": 0.0, "lr_scheduler_type": "constant", "max_length": 512, "eval_fraction": 0.2,
                             "save_steps": 6})
    m = run(cfg)
    assert m["examples"] == 5 and m["eval_examples"] == 1 and m["steps"] == 12 and m["over_max_length"] == 0
    assert m["last_loss"] < m["first_loss"] * 0.8 and m["tokens_per_s"] > 0 and m["eval_loss"] is not None
    out = tmp_path / "out"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "sft_config.yaml", "metrics.json", "README.md"):
        assert (out / name).exists(), name
    assert (out / "checkpoint-12").is_dir()


def test_lora_resume_and_the_budget_report(tmp_path, base_model, data, tokenizer):  # noqa: F811
    common = {"data_path": str(data[0]), "base_model": str(base_model), "output_dir": str(tmp_path / "out"), "lora": True,
              "learning_rate": 5e-3, "save_steps": 4, "eval_fraction": 0.0}
    argv = [arg for k, v in {**common, "max_steps": 4}.items() for arg in ("--set", f"{k}={v}")]
    first = main(argv)  # the command line, as `python -m training.sft --set …` runs it
    assert first["steps"] == 4 and (tmp_path / "out" / "adapter_config.json").exists()
    resumed = run(load_config(None, {**common, "max_steps": 6, "resume_from_checkpoint": True}))
    assert resumed["steps"] == 6  # went on from checkpoint-4, not from zero
    cfg = load_config(None, {**common, "max_length": 40})
    rows, over = render_examples(cfg, tokenizer, [json.loads(x) for x in data[0].read_text().splitlines()])
    assert rows == [] and over == 6
    with pytest.raises(ValueError, match="unknown SFT settings: nope"):
        load_config(None, {"nope": 1})


def test_the_shipped_configs_load():
    from pathlib import Path

    from accelerate.commands.config.config_args import load_config_from_file

    folder = Path(__file__).resolve().parents[1] / "training" / "configs"
    sft = [p for p in sorted(folder.glob("*.yaml")) if not p.name.startswith("accelerate_")]
    assert {p.stem for p in sft} >= {"embedded_cpu", "gpu_full"}
    for path in sft:
        cfg = load_config(path)
        assert cfg.format in ("chat", "paper") and cfg.output_dir
    launch = {p.stem: load_config_from_file(str(p)) for p in folder.glob("accelerate_*.yaml")}  # accelerate's own reader
    assert launch["accelerate_multi_gpu"].distributed_type.value == "MULTI_GPU"
    assert launch["accelerate_zero3"].deepspeed_config["zero_stage"] == 3
    assert launch["accelerate_zero3"].deepspeed_config["zero3_save_16bit_model"] is True
    assert launch["accelerate_zero2"].deepspeed_config["zero_stage"] == 2


@pytest.mark.slow  # over 10 s
def test_accelerate_launch_runs_the_job_on_two_processes(tmp_path, base_model, data):
    """The shipped multi-GPU launch config, run here on two CPU processes (gloo): both ranks train on
    their share, and one writes the model and its files."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "ddp"
    settings = {"data_path": data[0], "base_model": base_model, "output_dir": out, "lora": False, "max_steps": 2,
                "eval_fraction": 0.0, "max_length": 512, "save_steps": 100}
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--config_file", str(repo_path("training/configs/accelerate_multi_gpu.yaml")),
           "--num_processes", "2", "--mixed_precision", "no", "-m", "training.sft",
           *(a for k, v in settings.items() for a in ("--set", f"{k}={v}"))]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=repo_path("."), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 2 and (out / "model.safetensors").is_file()


@pytest.mark.slow  # over 10 s
@pytest.mark.local_llm
def test_lora_on_the_embedded_smollm2_from_its_gguf(tmp_path, data):
    """The embedded default: SmolLM2-135M's weights read from the shipped GGUF, LoRA, fp32 on CPU."""
    cfg = load_config(repo_path("training/configs/embedded_cpu.yaml"),
                      {"data_path": str(data[1]), "output_dir": str(tmp_path / "run"), "max_steps": 2, "eval_fraction": 0.0})
    m = run(cfg)
    assert m["steps"] == 2 and m["first_loss"] is not None and (tmp_path / "run" / "adapter_model.safetensors").exists()


def repo_path(relative: str):
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / relative


@pytest.mark.parametrize("packing", [False, True])
def test_packing_on_and_off_keeps_the_loss_masks(tmp_path, base_model, data, packing):
    """Packing (best-fit, padding-free) joins short examples into fewer rows; the loss masks must
    survive it (the job refuses to train when TRL's preparation dropped them)."""
    cfg = load_config(None, {"data_path": str(data[0]), "base_model": str(base_model), "output_dir": str(tmp_path / "out"),
                             "lora": False, "max_steps": 2, "eval_fraction": 0.0, "max_length": 512, "packing": packing,
                             "save_steps": 100})
    m = run(cfg)
    assert m["steps"] == 2 and m["last_loss"] is not None
    assert m["train_rows"] < m["examples"] if packing else m["train_rows"] == m["examples"]


def test_packed_rows_on_torch_varlen_train_like_sdpas_block_mask(tmp_path, base_model, data):
    """The same packed batches give the same losses on ``torch_varlen`` (boundaries from the collator, no mask;
    its fallback kernel here) as on ``sdpa`` (transformers' block-diagonal mask from position_ids)."""
    runs = {}
    for attn in ("sdpa", "torch_varlen"):
        cfg = load_config(None, {"data_path": str(data[0]), "base_model": str(base_model), "lora": False, "max_steps": 3,
                                 "output_dir": str(tmp_path / attn), "eval_fraction": 0.0, "max_length": 512, "packing": True,
                                 "learning_rate": 5e-3, "logging_steps": 1, "save_steps": 100, "attn_implementation": attn})
        runs[attn] = run(cfg)
    assert runs["torch_varlen"]["train_rows"] < runs["torch_varlen"]["examples"]  # rows really held several examples
    for key in ("first_loss", "train_loss", "last_loss"):  # rounded to 4 places; a row-wide causal mask is 3e-4 off
        assert runs["torch_varlen"][key] == pytest.approx(runs["sdpa"][key], abs=1e-4), key


def test_the_gpu_config_runs_on_cpu(tmp_path, base_model, data):
    """gpu_full.yaml as shipped (chat format, full fine-tuning, packing, gradient checkpointing, cosine
    with warmup, batch 8 × 16 accumulation) with only what a CPU needs changed: no bf16, a tiny base,
    two optimiser steps."""
    cfg = load_config(repo_path("training/configs/gpu_full.yaml"),
                      {"data_path": str(data[0]), "base_model": str(base_model), "output_dir": str(tmp_path / "gpu"),
                       "bf16": False, "max_steps": 2, "gradient_accumulation_steps": 2, "per_device_batch_size": 2})
    assert cfg.packing and cfg.gradient_checkpointing and not cfg.lora and cfg.format == "chat"
    m = run(cfg)
    assert m["steps"] == 2 and m["train_rows"] < m["examples"] and m["last_loss"] is not None
    assert (tmp_path / "gpu" / "model.safetensors").is_file()


def test_activation_checkpointing_is_passed_under_the_name_the_installed_transformers_knows():
    """transformers renamed ``gradient_checkpointing`` to ``activation_checkpointing``; a GPU image
    with the older release (5.17 on the lent H100) refused the job's config outright."""
    from dataclasses import dataclass

    from trl import SFTConfig

    from training.sft import _checkpointing

    @dataclass
    class OlderArguments:
        gradient_checkpointing: bool = False

    assert _checkpointing(OlderArguments, True) == {"gradient_checkpointing": True}
    installed = _checkpointing(SFTConfig, True)
    args = SFTConfig(output_dir="unused", use_cpu=True, bf16=False, report_to="none", **installed)
    assert getattr(args, next(iter(installed))) is True


def test_the_attention_kernel_is_a_setting(tmp_path, base_model, data):
    """``attn_implementation`` reaches from_pretrained (eager here: every machine has it)."""
    from training.sft import load_tokenizer_and_model

    cfg = load_config(None, {"base_model": str(base_model), "attn_implementation": "eager", "bf16": False})
    _, model = load_tokenizer_and_model(cfg)
    assert model.config._attn_implementation == "eager"
