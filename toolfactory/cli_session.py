"""What every command does before its work: the global options, the settings (file, environment,
the command's own overrides), the log file for tracebacks, progress bars, and a check that the
backends file serves every LLM role the command will call."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import click

from flows.settings import Settings, load_settings
from toolfactory.errors import ErrorLog, quiet_tracebacks


class Progress(StrEnum):
    auto = "auto"
    on = "on"
    off = "off"


class CommandFailed(Exception):
    """A command's own one-line refusal (printed after ``toolfactory: ``; exit 2)."""


@dataclass
class Session:
    """The global options of one invocation, and where its tracebacks go."""

    config: str | None = None
    progress: Progress = Progress.auto
    log: ErrorLog = field(default_factory=lambda: ErrorLog(None))


Roles = tuple[str, ...] | Callable[[Settings], tuple[str, ...]]


def settings_for(ctx: click.Context, roles: Roles, overrides: dict[str, Any] | None = None, *, prefect: bool = True) -> Settings:
    """The command's settings. ``roles``: the LLM roles it calls (or a function of the settings that
    says which); ``prefect``: whether it runs flows (progress bars, tracebacks into the log file)."""
    state = ctx.find_object(Session) or Session()
    settings = load_settings(state.config)
    if overrides:
        settings = settings.with_overrides(**overrides)
    if settings.backends_file == "fake":  # the scripted backend, for trials: registered when named
        import toolfactory.testing.fake_llm  # noqa: F401
    state.log = ErrorLog(settings.log_dir)
    if prefect:
        from flows.progress import show_bars

        show_bars(state.progress == Progress.on or (state.progress == Progress.auto and sys.stderr.isatty()))
        quiet_tracebacks(state.log)
    check_backends(settings, roles(settings) if callable(roles) else roles)
    return settings


def check_backends(settings: Settings, roles: tuple[str, ...]) -> None:
    """A bad backends file, or one that leaves a role the command calls without a model group, stops
    the command before any work (``BackendConfigError``, a user error)."""
    if roles:
        from tasks.llm.config import load_backend_config

        load_backend_config(settings.backends_file).require(roles)
