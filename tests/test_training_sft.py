"""The SFT job on CPU with a tiny random Llama and an in-process tokenizer: no downloads."""

from __future__ import annotations

import json

import pytest
from test_training_render import DIALOGUE, TOOLS, tokenizer  # noqa: F401  (the module-scoped fixture)

from tasks.chat_format import to_chat_example
from tasks.toolalpaca_format import export_record
from training.sft import load_config, main, render_examples, run


@pytest.fixture
def base_model(tmp_path, tokenizer):  # noqa: F811
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         pad_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    folder = tmp_path / "base"
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def data(tmp_path):
    variants = []
    for i in range(6):
        d = json.loads(json.dumps(DIALOGUE))
        d["instruction"] = f"Find books by author number {i}."
        variants.append(d)
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text("".join(json.dumps(to_chat_example(d, TOOLS)) + "\n" for d in variants))
    paper = tmp_path / "train_data.json"
    api = {"name": "Books", "description": "d", "category": "c", "spec": {"openapi": "3.0.0"}, "nl_documentation": "searchBooks: find books"}
    paper.write_text(json.dumps([export_record(api, {"searchBooks": "find books"}, variants)]))
    return jsonl, paper


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

    configs = sorted((Path(__file__).resolve().parents[1] / "training" / "configs").glob("*.yaml"))
    assert len(configs) >= 2
    for path in configs:
        cfg = load_config(path)
        assert cfg.format in ("chat", "paper") and cfg.output_dir


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
