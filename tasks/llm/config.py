"""Backends configuration: litellm's own ``model_list`` YAML, plus an optional ``roles`` mapping.

In: a path, or the name of a built-in config (``local``; others registered with ``register_builtin`` —
``toolfactory.testing.fake_llm`` adds ``fake``). Out: a ``BackendConfig`` with
the model list, router settings and the model group of each role (by default the role's own name).
API keys may only be given as ``os.environ/NAME`` references, never as literals.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import InvalidInput
from tasks.guards.documents import DocumentRefused, Limits, read_config_document, short_repr
from tasks.llm.types import ROLES

BACKENDS_LIMITS = Limits(max_bytes=1_000_000, max_depth=30, max_nodes=100_000)  # a model list may be long

BUILTIN: dict[str, str] = {}  # name → YAML text of a built-in backends config ("local" is read from package data)
EMBEDDED_PREFIX = "toolfactory-local/"
_SECRET_KEYS = ("api_key", "aws_secret_access_key", "aws_access_key_id", "vertex_credentials", "azure_ad_token")
TRANSPORTS = ("auto", "litellm", "fast")  # how a deployment's calls are sent (tasks.llm.fast_transport)
_ALLOWED_TOP = {"model_list", "router_settings", "roles", "litellm_settings", "general_settings"}


class BackendConfigError(InvalidInput):
    """The backends file is wrong; the message names the entry and key."""


# Router settings that only the Router honours: a group under any of them always goes through it.
ROUTER_ONLY = ("fallbacks", "default_fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "retry_policy",
               "model_group_retry_policy", "routing_strategy", "enable_pre_call_checks")


@dataclass
class BackendConfig:
    model_list: list[dict[str, Any]]
    router_settings: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def group_for(self, role: str) -> str:
        return self.roles.get(role, role)

    def deployments(self, group: str) -> list[dict[str, Any]]:
        return [d for d in self.model_list if d.get("model_name") == group]

    def models_of(self, role: str) -> list[str]:
        """The litellm model strings serving ``role`` (what IDs and the ledger record)."""
        return [d["litellm_params"]["model"] for d in self.deployments(self.group_for(role))]

    def embedded_only(self, role: str) -> bool:
        """Whether ``role`` is served only by the embedded model (one reply at a time, weak at formats)."""
        models = self.models_of(role)
        return bool(models) and all(m.startswith(EMBEDDED_PREFIX) for m in models)

    def secret_values(self) -> list[str]:
        """The current values of every environment variable the model list refers to (``os.environ/NAME``):
        what must never be recorded."""
        names = {v.split("/", 1)[1] for d in self.model_list for v in (d.get("litellm_params") or {}).values()
                 if isinstance(v, str) and v.startswith("os.environ/")}
        return [os.environ[n] for n in sorted(names) if os.environ.get(n)]

    def router_only(self, but: tuple[str, ...] = ()) -> list[str]:
        """The Router-only settings in use (each sends every group through litellm's Router), those in ``but``
        left out (the fast path does group ``fallbacks`` itself)."""
        return [k for k in ROUTER_ONLY if self.router_settings.get(k) and k not in but]

    def fallbacks_of(self, group: str) -> list[str]:
        """The groups that take ``group``'s calls when it fails (router_settings ``fallbacks``, else
        ``default_fallbacks``), in order."""
        for entry in self.router_settings.get("fallbacks") or []:
            if isinstance(entry, dict) and group in entry:
                return [str(g) for g in entry[group] or []]
        return [str(g) for g in self.router_settings.get("default_fallbacks") or [] if g != group]

    def direct_params(self, group: str, timeout_s: float) -> dict[str, Any] | None:
        """A group of one deployment and no Router-only settings can skip the Router: its litellm
        params (keys resolved from the environment, ``rpm``/``tpm`` left to our limiter), else None.
        The Router's per-call bookkeeping costs about a quarter of litellm's own CPU per call."""
        deployments = self.deployments(group)
        if len(deployments) != 1 or self.router_only():
            return None
        params = {k: env_value(v) for k, v in (deployments[0].get("litellm_params") or {}).items() if k not in ("rpm", "tpm")}
        params.setdefault("timeout", timeout_s)
        params["max_retries"] = 0  # the client's own loop is the only one that retries
        return params

    def with_model(self, role: str, model: str) -> BackendConfig:
        """A copy where ``role`` is served by ``model``: a model group of this file, or a litellm model
        string (``openai/gpt-4o-mini``, ``hosted_vllm/…``, ``toolfactory-fake/candidate``) added as its own group."""
        if role not in ROLES:
            raise BackendConfigError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        model_list = copy.deepcopy(self.model_list)
        group = model
        if not self.deployments(model):
            if "/" not in model:
                known = ", ".join(sorted({d["model_name"] for d in self.model_list}))
                raise BackendConfigError(f"{self.source}: no model group {model!r} (groups: {known}); "
                                         "or give a litellm model string such as openai/gpt-4o-mini")
            group = f"{role}-under-test"
            model_list.append({"model_name": group, "litellm_params": {"model": model}})
        return BackendConfig(model_list, dict(self.router_settings), {**self.roles, role: group}, self.source)

    def require(self, roles: Iterable[str]) -> None:
        """Raise BackendConfigError unless every role in ``roles`` has a model group (what a command
        checks before it starts any work)."""
        unserved = [r for r in roles if not self.deployments(self.group_for(r))]
        if unserved:
            groups = ", ".join(sorted({d["model_name"] for d in self.model_list}))
            raise BackendConfigError(
                f"{self.source}: no model group for role(s) {', '.join(unserved)}: add model_list entries named so, "
                f"or map them under roles: to a group you have ({groups[:200]})")

    def cache_identity(self, group: str) -> list[dict[str, Any]]:
        """What decides a reply from ``group``, as the ledger's cache keys it: per deployment of the group
        and of its fallback groups, the provider, the model, the normalised ``api_base`` and every
        deployment setting that can change the output (keys, timeouts, rate limits and prices left out)."""
        out = []
        for name in [group, *self.fallbacks_of(group)]:
            for d in self.deployments(name):
                params = d.get("litellm_params") or {}
                model = str(params.get("model", ""))
                provider = model.partition("/")[0] if "/" in model else ""
                settings = {str(k): v for k, v in params.items() if k not in _NOT_IDENTITY and k not in ("model", "api_base")}
                out.append({"provider": provider, "model": model,
                            "api_base": normalised_base(env_value(params.get("api_base")), provider), "settings": settings})
        return sorted(out, key=lambda x: repr(sorted(x.items())))

    def signature(self, role: str) -> str:
        """A stable text naming what serves ``role``: part of every content-hash ID that depends on it."""
        models = self.models_of(role)
        return "|".join(sorted(models)) if models else f"<no deployment for {role}>"


# litellm_params that never change a reply: credentials, time limits, rate limits, retries, prices
_NOT_IDENTITY = {*_SECRET_KEYS, "timeout", "stream_timeout", "rpm", "tpm", "max_retries", "num_retries", "organization",
                 "input_cost_per_token", "output_cost_per_token", "max_parallel_requests"}
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_PROVIDER_BASES = {"openai": "https://api.openai.com/v1"}  # where a provider's calls go when no api_base is set


def normalised_base(value: Any, provider: str = "") -> str:
    """An ``api_base`` as the cache compares it: scheme and host in lower case, the default port and trailing
    slashes dropped; the provider's own default (``openai`` → OpenAI's) where none is set; "" for others."""
    from urllib.parse import urlsplit

    text = str(value).strip() if value else _PROVIDER_BASES.get(provider, "")
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text.rstrip("/")
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    netloc = host if port is None or str(port) == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if ":" in host:  # IPv6
        netloc = f"[{host}]" + ("" if port is None or str(port) == _DEFAULT_PORTS.get(scheme) else f":{port}")
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def env_value(value: Any) -> Any:
    """A ``litellm_params`` value with ``os.environ/NAME`` read from the environment (None when unset), as litellm
    reads it; any other value as it is."""
    if isinstance(value, str) and value.startswith("os.environ/"):
        return os.environ.get(value.split("/", 1)[1])
    return value


def register_builtin(name: str, yaml_text: str) -> None:
    """Make ``name`` a built-in backends config (what ``backends_file: NAME`` loads)."""
    BUILTIN[name] = yaml_text


def load_backend_config(spec: str | Path | None) -> BackendConfig:
    """Load ``spec`` (None → ``local``). Raises BackendConfigError with the file and key."""
    if spec is None or str(spec) == "local":
        text = resources.files("tasks.llm").joinpath("configs", "local.yaml").read_text("utf-8")
        return parse_backend_config(yaml.safe_load(text), source="builtin:local")
    if str(spec) in BUILTIN:
        return parse_backend_config(yaml.safe_load(BUILTIN[str(spec)]), source=f"builtin:{spec}")
    path = Path(spec)
    try:
        data = read_config_document(path, BACKENDS_LIMITS)
    except OSError as exc:
        raise BackendConfigError(f"{path}: cannot read backends file ({exc.strerror or exc})") from None
    except DocumentRefused as exc:
        raise BackendConfigError(exc.about(str(path))) from None
    return parse_backend_config(data, source=str(path))


def parse_backend_config(data: Any, source: str = "<dict>") -> BackendConfig:
    if not isinstance(data, dict):
        raise BackendConfigError(f"{source}: must be a mapping with a model_list")
    unknown = set(data) - _ALLOWED_TOP
    if unknown:
        raise BackendConfigError(f"{source}: unknown key(s) {short_repr(sorted(map(str, unknown)))}; allowed: {sorted(_ALLOWED_TOP)}")
    model_list = data.get("model_list")
    if not isinstance(model_list, list) or not model_list:
        raise BackendConfigError(f"{source}: model_list must be a non-empty list")
    for i, entry in enumerate(model_list):
        where = f"{source}: model_list[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("model_name"), str):
            raise BackendConfigError(f"{where}.model_name: required string")
        params = entry.get("litellm_params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise BackendConfigError(f"{where}.litellm_params.model: required string")
        if entry.get("transport") is not None and entry["transport"] not in TRANSPORTS:
            raise BackendConfigError(f"{where}.transport: {short_repr(entry['transport'])} is not one of {', '.join(TRANSPORTS)}")
        for key in _SECRET_KEYS:
            value = params.get(key)
            if value is not None and not (isinstance(value, str) and value.startswith("os.environ/")):
                raise BackendConfigError(
                    f"{where}.litellm_params.{key}: keys come only from the environment; write os.environ/VARIABLE"
                )
    router_settings = data.get("router_settings") or {}
    if not isinstance(router_settings, dict):
        raise BackendConfigError(f"{source}: router_settings must be a mapping")
    roles = data.get("roles") or {}
    if not isinstance(roles, dict):
        raise BackendConfigError(f"{source}: roles must be a mapping of role: model group")
    groups = {e["model_name"] for e in model_list}
    for role, group in roles.items():
        if role not in ROLES:
            raise BackendConfigError(f"{source}: roles.{short_repr(role)}: unknown role; roles are {', '.join(ROLES)}")
        if not isinstance(group, str):
            raise BackendConfigError(f"{source}: roles.{role}: must name one model group (a string), got {short_repr(group)}")
        if group not in groups:
            raise BackendConfigError(f"{source}: roles.{role}: no model_list entry named {short_repr(group)}")
    return BackendConfig(copy.deepcopy(model_list), dict(router_settings), dict(roles), source)
