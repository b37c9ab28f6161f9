"""The ``toolfactory`` command line.

  toolfactory run                         the main job: catalog → toolset → dialogues (what `make run` runs)
  toolfactory catalog import PATH|sample  import a catalog (public-apis README, ToolAlpaca JSON, JSONL, CSV)
  toolfactory docs build                  document the catalog's APIs with the documenter LLM (Prefect flow)
  toolfactory docs import PATH            import published tool documents: OpenAPI 3, Swagger 2, MCP or OpenAI tool lists, ToolAlpaca
  toolfactory docs check [--api ID]       round-trip every operation of the documented APIs
  toolfactory simulate                    simulate dialogues for documented APIs (Prefect flow)
  toolfactory curate                      the quality funnel over landed dialogues (Prefect flow)
  toolfactory corpus snapshot             freeze the clean instances as an immutable, versioned snapshot
  toolfactory export --format F           write a snapshot as toolalpaca | jsonl | parquet | hf | card
  toolfactory import PATH                 load a ToolAlpaca-format file (training or evaluation layout)
  toolfactory train [--check|--list]      an SFT run on the clean corpus now (--check: only when the threshold is met)
  toolfactory split                       hold out APIs per category (before training), build set factory:heldout, check leakage
  toolfactory evaluate --set S [--model M] a model (or --predictions FILE: saved outputs) on unseen tools: judge, exact match, rules
  toolfactory calibrate FILE              how exact match and the process rules agree with a judged-outputs file's verdicts
  toolfactory serve                       serve the deployments (regenerate on a schedule, train, evaluate)
  toolfactory ui                          start a local Prefect server and UI on 127.0.0.1
  toolfactory sql "QUERY"                 read-only SQL over the warehouse (table, csv or json)
  toolfactory status                      the factory's state: corpus, snapshot, training, evaluation, spend
  toolfactory config                      print the effective settings

Every command takes ``--config FILE`` (else ``TOOLFACTORY_CONFIG`` or ./toolfactory.yaml).
Errors that a user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import toolfactory  # noqa: F401  (sets the no-network environment defaults first)
from toolfactory.errors import ErrorLog, quiet_tracebacks
from toolfactory.output import print_estimate, print_summary, print_training
from toolfactory.settings import SettingsError, describe, load_settings

EXAMPLE_QUERIES = [
    "SELECT status, count(*) AS apis FROM apis GROUP BY status",
    "SELECT api_name, name, method, path FROM functions ORDER BY api_name LIMIT 20",
    "SELECT stage, reason, count(*) AS n FROM rejections GROUP BY ALL ORDER BY n DESC",
    "SELECT role, count(*) AS calls, sum(total_tokens) AS tokens, round(avg(latency_s), 2) AS avg_s FROM llm_calls GROUP BY role",
    "SELECT api_name, instruction_kind, n_steps, n_calls, n_errors, stop_reason FROM dialogues",
    "SELECT action, status, error, count(*) AS n FROM steps GROUP BY ALL ORDER BY n DESC",
    "SELECT stage, reason, sum(n) AS n FROM funnel GROUP BY ALL ORDER BY min(stage_order), n DESC",
    "SELECT api_name, instruction, n_calls, n_tokens FROM clean_instances",
    "SELECT run_id, n_instances, status, metrics->>'last_loss' AS last_loss, output_dir FROM training_runs",
]


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (exit 2), like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"toolfactory: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="toolfactory", description="ToolFactory: tool-use corpora by the ToolAlpaca method.")
    p.add_argument("--config", help="settings YAML (default: $TOOLFACTORY_CONFIG or ./toolfactory.yaml)")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                   help="progress bars on stderr for long stages (auto: when stderr is a terminal)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: sample catalog → documented toolset")
    run.add_argument("--catalog", default="sample", help="catalog file to start from (default: the built-in sample)")
    run.add_argument("--max-apis", type=int, help="document at most this many APIs (setting run_max_apis)")
    run.add_argument("--instructions", type=int, help="instructions (dialogues) per valid API (setting instructions_per_api; 0 skips)")
    run.add_argument("--steps", type=int, help="step limit of a dialogue (setting dialogue_step_limit)")
    run.add_argument("--seed-corpus", metavar="PATH|sample",
                     help="a ToolAlpaca training file whose instances join the corpus before curation ('sample': the shipped seed)")
    run.add_argument("--no-judge", action="store_true", help="curate without the LLM judge (setting curation_judge: false)")
    run.add_argument("--estimate-only", action="store_true", help="print the estimate of calls, tokens and cost, and stop")
    run.add_argument("--train-threshold", type=int, help="new clean instances that start training (setting training_threshold)")

    cat = sub.add_parser("catalog", help="catalog commands").add_subparsers(dest="action", required=True)
    imp = cat.add_parser("import", help="import a catalog file")
    imp.add_argument("path", help="a catalog file, or 'sample' for the built-in sample")
    imp.add_argument("--format", choices=["markdown", "json", "jsonl", "csv"], help="override detection by suffix")

    docs = sub.add_parser("docs", help="documentation commands").add_subparsers(dest="action", required=True)
    build = docs.add_parser("build", help="document catalog APIs with the LLM (flow build-toolset)")
    build.add_argument("--limit", type=int, help="at most this many APIs (catalog order: category, name)")
    build.add_argument("--api", action="append", dest="api_ids", help="only this api_id (repeatable)")
    build.add_argument("--category", action="append", dest="categories", help="only this category (repeatable)")
    dimp = docs.add_parser("import", help="import published tool documents without the LLM (OpenAPI 3, Swagger 2, MCP, OpenAI tools, ToolAlpaca)")
    dimp.add_argument("path", help="a document (JSON/YAML) or a folder of them")
    dimp.add_argument("--category", help="category for the imported APIs (default: x-category or 'Imported')")
    dimp.add_argument("--format", choices=["openapi3", "swagger2", "mcp", "openai_tools", "toolalpaca"], help="override detection")
    dchk = docs.add_parser("check", help="round-trip every operation of the documented APIs (arguments, refusals, responses, tool definitions)")
    dchk.add_argument("--api", action="append", dest="api_ids", help="only this api_id (repeatable)")

    sim = sub.add_parser("simulate", help="simulate dialogues for documented APIs (flow simulate-corpus)")
    sim.add_argument("--limit", type=int, help="at most this many documented APIs")
    sim.add_argument("--api", action="append", dest="api_ids", help="only this api_id (repeatable)")

    sub.add_parser("curate", help="run the quality funnel over landed dialogues (flow curate-corpus)")
    corpus = sub.add_parser("corpus", help="corpus snapshots").add_subparsers(dest="action", required=True)
    corpus.add_parser("snapshot", help="freeze clean_instances as a snapshot (the existing one when nothing changed)")
    corpus.add_parser("list", help="list snapshots, newest first")
    exp = sub.add_parser("export", help="write a corpus snapshot to files")
    exp.add_argument("--format", required=True, action="append", dest="formats",
                     choices=["toolalpaca", "jsonl", "parquet", "hf", "card", "all"], help="repeatable; 'all' for every format")
    exp.add_argument("--snapshot", help="snapshot ID (default: the latest; one is taken when there is none)")
    exp.add_argument("--out", default="exports", help="output folder (default: ./exports/<snapshot id>)")
    tai = sub.add_parser("import", help="load a ToolAlpaca-format JSON file (training layout with Instances, or evaluation layout with Golden_Answers)")
    tai.add_argument("path")

    tr = sub.add_parser("train", help="start an SFT run on the clean corpus now (flow training-trigger, by hand)")
    tr.add_argument("--check", action="store_true", help="start only when training_threshold new clean instances are ready")
    tr.add_argument("--list", action="store_true", help="list the training runs, newest first")
    tr.add_argument("--sft-config", help="a shipped SFT config name or YAML path (setting training_config)")
    tr.add_argument("--base-model", help="base model: local, a folder or a hub name (setting training_base_model)")

    sub.add_parser("split", help="assign APIs to train / heldout, build the factory:heldout evaluation set, check leakage")
    ev = sub.add_parser("evaluate", help="evaluate a model on an evaluation set (flow evaluate)")
    ev.add_argument("--set", dest="set_source", help="the set: a golden-answer source (see --list)")
    ev.add_argument("--model", help="model under test: a model group of the backends file or a litellm model string")
    ev.add_argument("--trials", type=int, help="runs per instruction (setting eval_trials)")
    ev.add_argument("--per-api", type=int, help="at most this many instructions of each API (setting eval_max_per_api)")
    ev.add_argument("--no-judge", action="store_true", help="exact match only (setting eval_judge: false)")
    ev.add_argument("--predictions", help="score saved outputs instead of running a model: the paper's judged-outputs layout "
                    "or JSONL of OpenAI messages (--model then names them)")
    ev.add_argument("--list", action="store_true", help="list the evaluation sets")

    cal = sub.add_parser("calibrate", help="agreement of the deterministic scores with the judge verdicts of a judged-outputs file")
    cal.add_argument("path", help="a file in the paper's judged-outputs layout")
    cal.add_argument("--format", choices=["table", "json"], default="table")

    sub.add_parser("serve", help="serve the deployments regenerate (on regenerate_cron), train and evaluate (Prefect serve)")
    ui = sub.add_parser("ui", help="start a local Prefect server and UI on 127.0.0.1 and print its address")
    ui.add_argument("--port", type=int, default=4200)

    sql = sub.add_parser("sql", help="read-only SQL over the warehouse")
    sql.add_argument("query")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.add_argument("--limit", type=int, default=None, help="at most this many rows")

    sub.add_parser("status", help="the factory's state in one screen (corpus, snapshot, training, evaluation, spend)")
    sub.add_parser("config", help="print the effective settings")
    return p


_WITHOUT_PREFECT = ("sql", "config")  # commands that need not import Prefect


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every failure is one line on stderr: exit 2 for what the user can fix (a
    setting, an input, a refused query), exit 1 for anything else, its traceback in the log file."""
    args = _parser().parse_args(argv)
    log = ErrorLog(None)
    try:
        settings = load_settings(args.config)
        log = ErrorLog(settings.log_dir)
        bars = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
        if args.command not in _WITHOUT_PREFECT:
            from flows.progress import show_bars

            show_bars(bars)
            quiet_tracebacks(log)
        _check_backends(settings, _roles_used(args, settings))
        return _dispatch(args, settings)
    except SettingsError as exc:
        print(_one_line(f"toolfactory: settings error: {exc}"), file=sys.stderr)
        return 2
    except _UserError as exc:
        print(_one_line(f"toolfactory: {exc}"), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `toolfactory sql … | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("toolfactory: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 (a bug: one line here, the traceback in the log file)
        print(_one_line(f"toolfactory: {log.internal_error(exc)}"), file=sys.stderr)
        return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())[:1000]


def _roles_used(args: argparse.Namespace, s: Any) -> tuple[str, ...]:
    """The LLM roles a command will call (its backends file must serve each one)."""
    simulate = ("user", "assistant") + (("executor",) if s.executor_mode == "simulated" else ())
    command = f"{args.command} {getattr(args, 'action', '') or ''}".strip()
    if command in ("run", "serve"):
        return ("documenter", *simulate) + (("judge",) if s.curation_judge and not getattr(args, "no_judge", False) else ())
    if args.command == "evaluate" and not args.list and args.set_source:
        from toolfactory.cli_evaluate import evaluate_roles

        return evaluate_roles(s, args)
    return {"docs build": ("documenter",), "simulate": simulate, "curate": ("judge",) if s.curation_judge else ()}.get(command, ())


def _check_backends(settings: Any, roles: tuple[str, ...]) -> None:
    """A bad backends file, or one that leaves a role the command calls without a model group,
    stops the command before any work."""
    if not roles:
        return
    from tasks.llm.config import BackendConfigError, load_backend_config

    try:
        load_backend_config(settings.backends_file).require(roles)
    except BackendConfigError as exc:
        raise _UserError(f"error: {exc}") from None


class _UserError(Exception):
    pass


def _dispatch(args: argparse.Namespace, settings: Any) -> int:
    from tasks.catalog import CatalogFormatError
    from tasks.documents import DocumentRefused
    from tasks.llm.config import BackendConfigError
    from tasks.toolalpaca_format import ImportFormatError
    from warehouse.readonly_sql import SQLFailed, SQLRefused
    from warehouse.store import WarehouseBusy, WarehouseUnusable

    try:
        if args.command == "config":
            print(json.dumps(describe(settings), indent=1))
            return 0
        if args.command == "sql":
            from warehouse.readonly_sql import format_frame, run_query

            def replica_note(age: float) -> None:
                print(f"toolfactory: the warehouse is held by a program outside ToolFactory; reading its replica "
                      f"({age:.0f} s old)", file=sys.stderr)

            df = run_query(settings.warehouse_path, args.query, limit=args.limit, wait_s=settings.warehouse_wait_s,
                           on_replica=replica_note, memory_limit=settings.warehouse_memory_limit,
                           timeout_s=settings.sql_timeout_s)
            text = format_frame(df, args.format)
            print(text, end="" if text.endswith("\n") else "\n")
            return 0
        if args.command == "catalog":
            from flows.catalog_import import import_catalog

            print_summary(f"catalog import {args.path}", import_catalog(settings, args.path, args.format))
            return 0
        if args.command == "docs" and args.action == "import":
            from flows.docs_import import import_docs

            out = import_docs(settings, args.path, args.category, args.format)
            if out["files"] and out["refused"] == out["files"]:  # nothing could be imported: the first reason, one line
                more = f" (and {out['refused'] - 1} more refused files)" if out["refused"] > 1 else ""
                raise _UserError(f"refused: {out['documents'][0].split(': refused — ', 1)[-1]}{more}")
            print_summary(f"docs import {args.path}", out)
            return 0
        if args.command == "calibrate":
            from flows.calibrate import calibrate, calibration_table

            out = calibrate(settings, args.path)
            print(json.dumps(out, indent=1) if args.format == "json" else calibration_table(out))
            return 0
        if args.command == "docs" and args.action == "check":
            from flows.docs_check import check_docs

            out = check_docs(settings, args.api_ids)
            print_summary("docs check", out)
            return 0 if out["operations failed"] == 0 else 1
        if args.command == "docs" and args.action == "build":
            from flows.build_toolset import run_build_toolset

            summary = run_build_toolset(settings, limit=args.limit, api_ids=args.api_ids, categories=args.categories)
            print_summary("build-toolset", summary)
            return 0 if summary["task_failures"] == 0 else 1
        if args.command == "simulate":
            from flows.simulate_corpus import run_simulate_corpus

            summary = run_simulate_corpus(settings, limit=args.limit, api_ids=args.api_ids)
            print_summary("simulate-corpus", summary)
            return 0 if summary["task_failures"] == 0 else 1
        if args.command == "curate":
            from flows.curate import run_curate

            print_summary("curate-corpus", run_curate(settings))
            if settings.training_auto:
                from flows.train import run_training_check

                return print_training(run_training_check(settings))
            return 0
        if args.command == "train":
            from flows.train import list_runs, run_training_check

            if args.list:
                print(list_runs(settings))
                return 0
            overrides = {k: v for k, v in (("training_config", args.sft_config), ("training_base_model", args.base_model)) if v}
            return print_training(run_training_check(settings.with_overrides(**overrides), by_hand=not args.check))
        if args.command == "status":
            from flows.status import status

            print_summary(f"status of {settings.warehouse_path}", status(settings))
            return 0
        if args.command == "serve":
            from flows.deployments import serve

            print(f"toolfactory: serving regenerate (cron {settings.regenerate_cron or 'none'}), train and evaluate; "
                  "Ctrl-C stops")
            serve(settings)
            return 0
        if args.command == "ui":
            import os
            import shutil

            url = f"http://127.0.0.1:{args.port}"
            print(f"Prefect UI: {url}\nIn another shell: export PREFECT_API_URL={url}/api — then `make run` and every "
                  "toolfactory command show up there.", flush=True)
            prefect = shutil.which("prefect", path=os.path.dirname(sys.executable)) or "prefect"
            os.execv(prefect, [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(args.port)])
        if args.command == "split":
            from flows.split import split_and_check

            print_summary("split", split_and_check(settings))
            return 0
        if args.command == "evaluate":
            from toolfactory.cli_evaluate import evaluate_command

            return evaluate_command(settings, args)
        if args.command == "corpus":
            from flows.corpus_export import list_snapshots, take_snapshot

            if args.action == "list":
                print(list_snapshots(settings))
                return 0
            print_summary("corpus snapshot", take_snapshot(settings))
            return 0
        if args.command == "export":
            from flows.corpus_export import export_snapshot

            formats = ["toolalpaca", "jsonl", "parquet", "hf", "card"] if "all" in args.formats else args.formats
            print_summary("export", export_snapshot(settings, formats, args.out, args.snapshot))
            return 0
        if args.command == "import":
            from flows.toolalpaca_import import import_toolalpaca

            print_summary(f"import {args.path}", import_toolalpaca(settings, args.path))
            return 0
        if args.command == "run":
            from flows.pipeline import run_pipeline

            overrides = {k: v for k, v in (("run_max_apis", args.max_apis), ("instructions_per_api", args.instructions),
                                           ("dialogue_step_limit", args.steps), ("training_threshold", args.train_threshold))
                         if v is not None}
            if args.no_judge:
                overrides["curation_judge"] = False
            settings = settings.with_overrides(**overrides) if overrides else settings
            from flows.estimate import estimate_run
            from flows.pipeline import plan_apis

            print_estimate(estimate_run(settings, plan_apis(settings, args.catalog)[1]))
            if args.estimate_only:
                return 0
            out = run_pipeline(settings, args.catalog, args.seed_corpus)
            print_summary("catalog", out["catalog"])
            print_summary("toolset", out["toolset"])
            if out["simulation"] is not None:
                print_summary("simulation", out["simulation"])
            if out["seed"] is not None:
                print_summary("seed corpus", out["seed"])
            if out["curation"] is not None:
                print_summary("curation", out["curation"])
                print_summary("corpus snapshot", out["snapshot"])
            if out["training"] is not None:
                print_training(out["training"])
            from flows.pipeline import write_run_report

            print(f"\nReport and plots: {write_run_report(settings, out, 'run')[1] / 'report.md'}")
            print(f"Warehouse: {settings.warehouse_path}. Export the snapshot with `toolfactory export --format all`. Try:")
            for q in EXAMPLE_QUERIES:
                print(f'  toolfactory sql "{q}"')
            failures = out["toolset"]["task_failures"] + (out["simulation"] or {}).get("task_failures", 0)
            return 0 if failures == 0 and (out["training"] or {}).get("status") != "failed" else 1
    except (CatalogFormatError, BackendConfigError, WarehouseBusy, WarehouseUnusable, SQLRefused, SQLFailed, FileNotFoundError,
            LookupError, ImportFormatError, DocumentRefused) as exc:
        kind = "refused" if isinstance(exc, SQLRefused) else "error"
        raise _UserError(f"{kind}: {exc}") from None
    raise _UserError(f"unknown command {args.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
