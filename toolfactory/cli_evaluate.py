"""``toolfactory evaluate``: a model on a ToolAlpaca-layout set (flow ``evaluate``), saved outputs on a
set (``--predictions``, flow ``evaluate-predictions``) or a model on BFCL categories (``--set bfcl:…``,
flow ``evaluate-bfcl``); and the LLM roles each of them calls."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from toolfactory.output import print_summary


def evaluate_roles(s: Any, args: Namespace) -> tuple[str, ...]:
    """The roles the backends file must serve for this evaluation."""
    judge = ("judge",) if s.eval_judge and not args.no_judge else ()
    if args.predictions:
        return judge
    under_test = () if args.model else ("assistant",)
    if args.set_source.startswith("bfcl:"):
        return under_test
    return ("user", "executor") + under_test + judge


def evaluate_command(settings: Any, args: Namespace) -> int:
    """Run the evaluation the arguments ask for and print its summary; list the sets without ``--set``."""
    from flows.evaluate import list_sets, run_evaluate

    if args.list or not args.set_source:
        print(list_sets(settings))
        return 0 if args.list else 2
    overrides = {k: v for k, v in (("eval_trials", args.trials), ("eval_judge", False if args.no_judge else None),
                                   ("eval_max_per_api", args.per_api)) if v is not None}
    s = settings.with_overrides(**overrides)
    if args.predictions and args.set_source.startswith("bfcl:"):
        print("toolfactory: --predictions scores saved outputs on a ToolAlpaca-layout set; BFCL categories run a model")
        return 2
    if args.predictions:
        from flows.evaluate_predictions import run_evaluate_predictions

        print_summary("evaluate", run_evaluate_predictions(s, args.set_source, args.predictions, args.model))
    elif args.set_source.startswith("bfcl:"):
        from flows.evaluate_bfcl import run_evaluate_bfcl

        print_summary("evaluate", run_evaluate_bfcl(s, args.set_source, args.model))
    else:
        print_summary("evaluate", run_evaluate(s, args.set_source, args.model))
    return 0
