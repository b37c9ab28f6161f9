"""The training and evaluation commands: train, split, evaluate (a model on a ToolAlpaca-layout set,
saved outputs with ``--predictions``, or a model on BFCL categories with ``--set bfcl:…``), calibrate."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from toolfactory.cli_session import CommandFailed, settings_for
from toolfactory.output import print_summary, print_training


class Report(StrEnum):
    table = "table"
    json = "json"


def train(ctx: typer.Context,
          check: Annotated[bool, typer.Option("--check", help="start only when training_threshold new clean instances are ready")] = False,
          list_runs: Annotated[bool, typer.Option("--list", help="list the training runs, newest first")] = False,
          sft_config: Annotated[str | None, typer.Option(help="a shipped SFT config name or YAML path (setting training_config)")] = None,
          base_model: Annotated[str | None, typer.Option(help="base model: local, a folder or a hub name (setting training_base_model)")] = None,
          ) -> int:
    """Start an SFT run on the clean corpus now (flow training-trigger, by hand)."""
    from flows.train import list_runs as runs_table
    from flows.train import run_training_check

    overrides = {k: v for k, v in (("training_config", sft_config), ("training_base_model", base_model)) if v}
    settings = settings_for(ctx, (), overrides)
    if list_runs:
        print(runs_table(settings))
        return 0
    return print_training(run_training_check(settings, by_hand=not check))


def split(ctx: typer.Context) -> int:
    """Assign APIs to train / heldout, build the factory:heldout evaluation set, check leakage."""
    from flows.split import split_and_check

    print_summary("split", split_and_check(settings_for(ctx, ())))
    return 0


def evaluation_roles(s: Any, set_source: str, model: str | None, predictions: str | None, no_judge: bool) -> tuple[str, ...]:
    """The roles the backends file must serve for this evaluation."""
    judge = ("judge",) if s.eval_judge and not no_judge else ()
    if predictions:
        return judge
    under_test = () if model else ("assistant",)
    if set_source.startswith("bfcl:"):
        return under_test
    return ("user", "executor") + under_test + judge


def evaluate(ctx: typer.Context,
             set_source: Annotated[str | None, typer.Option("--set", help="the set: a golden-answer source (see --list)")] = None,
             model: Annotated[str | None, typer.Option(help="model under test: a model group of the backends file or a litellm model string")] = None,
             trials: Annotated[int | None, typer.Option(help="runs per instruction (setting eval_trials)")] = None,
             per_api: Annotated[int | None, typer.Option(help="at most this many instructions of each API (setting eval_max_per_api)")] = None,
             no_judge: Annotated[bool, typer.Option("--no-judge", help="exact match only (setting eval_judge: false)")] = False,
             predictions: Annotated[str | None, typer.Option(help="score saved outputs instead of running a model: the paper's "
                                                             "judged-outputs layout or JSONL of OpenAI messages (--model then names them)")] = None,
             list_sets: Annotated[bool, typer.Option("--list", help="list the evaluation sets")] = False) -> int:
    """Evaluate a model on an evaluation set (flow evaluate); list the sets without ``--set``."""
    from flows.evaluate import list_sets as sets_table
    from flows.evaluate import run_evaluate

    overrides = {k: v for k, v in (("eval_trials", trials), ("eval_judge", False if no_judge else None),
                                   ("eval_max_per_api", per_api)) if v is not None}
    if list_sets or not set_source:
        print(sets_table(settings_for(ctx, (), overrides)))
        return 0 if list_sets else 2
    s = settings_for(ctx, lambda s: evaluation_roles(s, set_source, model, predictions, no_judge), overrides)
    if predictions and set_source.startswith("bfcl:"):
        raise CommandFailed("--predictions scores saved outputs on a ToolAlpaca-layout set; BFCL categories run a model")
    if predictions:
        from flows.evaluate_predictions import run_evaluate_predictions

        print_summary("evaluate", run_evaluate_predictions(s, set_source, predictions, model))
    elif set_source.startswith("bfcl:"):
        from flows.evaluate_bfcl import run_evaluate_bfcl

        print_summary("evaluate", run_evaluate_bfcl(s, set_source, model))
    else:
        print_summary("evaluate", run_evaluate(s, set_source, model))
    return 0


def calibrate(ctx: typer.Context, path: Annotated[str, typer.Argument(help="a file in the paper's judged-outputs layout")],
              format: Annotated[Report, typer.Option(help="a table, or the figures as JSON")] = Report.table) -> int:
    """Agreement of the deterministic scores with the judge verdicts of a judged-outputs file."""
    from flows.calibrate import calibrate as run_calibration
    from flows.calibrate import calibration_table

    out = run_calibration(settings_for(ctx, ()), path)
    print(json.dumps(out, indent=1) if format == Report.json else calibration_table(out))
    return 0


def register_evaluation_commands(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    for command in (train, split, evaluate, calibrate):
        app.command()(command)
