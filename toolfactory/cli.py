"""The ``toolfactory`` command line (typer): one typed function per command.

  toolfactory run                         the main job: catalog → toolset → dialogues (what `make run` runs)
  toolfactory catalog import PATH|sample  import a catalog (public-apis README, ToolAlpaca JSON, JSONL, CSV)
  toolfactory docs build                  document the catalog's APIs with the documenter LLM (Prefect flow)
  toolfactory docs import PATH            import published tool documents: OpenAPI 3, Swagger 2, MCP or OpenAI tool lists, ToolAlpaca
  toolfactory docs import --mcp "CMD ARGS" | --mcp-url URL   the tools of a live MCP server (stdio or streamable HTTP)
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
  toolfactory ui [--port P] [--host H]    start a local Prefect server and UI (127.0.0.1:4200 unless told)
  toolfactory sql "QUERY"                 read-only SQL over the warehouse (table, csv or json)
  toolfactory status                      the factory's state: corpus, snapshot, training, evaluation, spend
  toolfactory config                      print the effective settings

Every command takes ``--config FILE`` (else ``TOOLFACTORY_CONFIG`` or ./toolfactory.yaml) and ``--progress``,
before or after the command's name.
Errors that a user can fix (``schemas.errors.UserError``, a usage error) print one line and exit
with status 2; anything else prints one line and exits 1, its traceback in the log file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated

import typer
from typer.exceptions import TyperException

import toolfactory  # noqa: F401  (sets the no-network environment defaults first)
from flows.settings import SettingsError, describe, describe_groups
from schemas.errors import UserError
from toolfactory.cli_data import register_data_commands, simulation_roles
from toolfactory.cli_evaluate import register_evaluation_commands
from toolfactory.cli_session import CommandFailed, Progress, Session
from toolfactory.cli_session import settings_for as _settings_for
from toolfactory.output import print_run, print_summary


class TableFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


app = typer.Typer(name="toolfactory", help="ToolFactory: tool-use corpora by the ToolAlpaca method.",
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None, no_args_is_help=False)


@app.callback()
def _options(ctx: typer.Context,
             config: Annotated[str | None, typer.Option(help="settings YAML (default: $TOOLFACTORY_CONFIG or ./toolfactory.yaml)")] = None,
             progress: Annotated[Progress, typer.Option(help="progress bars on stderr for long stages (auto: when stderr is a terminal)")]
             = Progress.auto) -> None:
    """ToolFactory: tool-use corpora by the ToolAlpaca method."""
    state = ctx.ensure_object(Session)
    state.config, state.progress = config, progress


@app.command()
def run(ctx: typer.Context,
        catalog: Annotated[str, typer.Option(help="catalog file to start from (default: the built-in sample)")] = "sample",
        max_apis: Annotated[int | None, typer.Option(help="document at most this many APIs (setting run_max_apis)")] = None,
        instructions: Annotated[int | None, typer.Option(help="instructions (dialogues) per valid API (setting instructions_per_api; 0 skips)")] = None,
        steps: Annotated[int | None, typer.Option(help="step limit of a dialogue (setting dialogue_step_limit)")] = None,
        seed_corpus: Annotated[str | None, typer.Option(metavar="PATH|sample", help="a ToolAlpaca training file whose instances join the corpus before curation ('sample': the shipped seed)")] = None,
        no_judge: Annotated[bool, typer.Option("--no-judge", help="curate without the LLM judge (setting curation_judge: false)")] = False,
        estimate_only: Annotated[bool, typer.Option("--estimate-only", help="print the estimate of calls, tokens and cost, and stop")] = False,
        train_threshold: Annotated[int | None, typer.Option(help="new clean instances that start training (setting training_threshold)")] = None,
        ) -> int:
    """The main job: sample catalog → documented toolset → dialogues → curated corpus → training."""
    overrides = {k: v for k, v in (("run_max_apis", max_apis), ("instructions_per_api", instructions),
                                   ("dialogue_step_limit", steps), ("training_threshold", train_threshold)) if v is not None}
    if no_judge:
        overrides["curation_judge"] = False

    def roles(s: object) -> tuple[str, ...]:
        return ("documenter", *simulation_roles(s)) + (("judge",) if s.curation_judge else ())  # type: ignore[attr-defined]

    settings = _settings_for(ctx, roles, overrides)
    return print_run(settings, catalog, seed_corpus, estimate_only)


register_data_commands(app)
register_evaluation_commands(app)


@app.command()
def serve(ctx: typer.Context) -> int:
    """Serve the deployments regenerate (on regenerate_cron), train and evaluate (Prefect serve)."""
    from flows.deployments import serve as serve_deployments

    settings = _settings_for(ctx, ("documenter", "user", "assistant"))
    print(f"toolfactory: serving regenerate (cron {settings.regenerate_cron or 'none'}), train and evaluate; Ctrl-C stops")
    serve_deployments(settings)
    return 0


@app.command()
def ui(ctx: typer.Context, port: Annotated[int, typer.Option(min=1, max=65535, help="the port to serve on")] = 4200,
       host: Annotated[str, typer.Option(help="the address to listen on (0.0.0.0: every interface)")] = "127.0.0.1") -> int:
    """Start a local Prefect server and UI and print its address; the UI's pages talk to this server."""
    import os
    import shutil

    _settings_for(ctx, ())
    env = ui_environment(host, port, os.environ)
    print(f"Prefect UI: {env['PREFECT_UI_URL']}\nIn another shell: export PREFECT_API_URL={env['PREFECT_UI_API_URL']} — then "
          "`make run` and every toolfactory command show up there.", flush=True)
    prefect = shutil.which("prefect", path=os.path.dirname(sys.executable)) or "prefect"
    os.execve(prefect, [prefect, "server", "start", "--host", host, "--port", str(port)], env)
    return 0  # pragma: no cover (execve does not return)


def ui_environment(host: str, port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: the UI's pages call this server's API (not Prefect's default port, nor a
    ``PREFECT_API_URL`` meant for another server), unless ``PREFECT_UI_API_URL`` names one (a reverse proxy)."""
    browse = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{f'[{browse}]' if ':' in browse else browse}:{port}"
    env = {k: v for k, v in environ.items() if k != "PREFECT_API_URL"}  # the server must not think it is a client of another
    env.update(PREFECT_SERVER_API_HOST=host, PREFECT_SERVER_API_PORT=str(port), PREFECT_UI_URL=base)
    env.setdefault("PREFECT_UI_API_URL", f"{base}/api")
    return env


@app.command()
def sql(ctx: typer.Context, query: str,
        format: Annotated[TableFormat, typer.Option(help="how rows are printed")] = TableFormat.table,
        limit: Annotated[int | None, typer.Option(help="at most this many rows")] = None) -> int:
    """Read-only SQL over the warehouse."""
    from warehouse.readonly_sql import format_frame, run_query

    settings = _settings_for(ctx, (), prefect=False)

    def replica_note(age: float) -> None:
        print(f"toolfactory: the warehouse is held by a program outside ToolFactory; reading its replica "
              f"({age:.0f} s old)", file=sys.stderr)

    df = run_query(settings.warehouse_path, query, limit=limit, wait_s=settings.warehouse_wait_s, on_replica=replica_note,
                   memory_limit=settings.warehouse_memory_limit, timeout_s=settings.sql_timeout_s)
    text = format_frame(df, format.value)
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


@app.command()
def status(ctx: typer.Context) -> int:
    """The factory's state in one screen (corpus, snapshot, training, evaluation, spend)."""
    import flows.status

    settings = _settings_for(ctx, ())
    print_summary(f"status of {settings.warehouse_path}", flows.status.status(settings))
    return 0


@app.command()
def config(ctx: typer.Context,
           groups: Annotated[bool, typer.Option("--groups", help="by group (warehouse, llm, documentation, …)")] = False) -> int:
    """Print the effective settings."""
    settings = _settings_for(ctx, (), prefect=False)
    print(json.dumps(describe_groups(settings) if groups else describe(settings), indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every failure is one line on stderr: exit 2 for what the user can fix (a
    setting, an input, a refused query, a usage error), exit 1 for anything else, its traceback in the log file."""
    state = Session()
    try:
        result = app(args=global_options_first(list(sys.argv[1:] if argv is None else argv)), prog_name="toolfactory",
                     standalone_mode=False, obj=state)
        return int(result or 0)
    except TyperException as exc:  # a usage error (typer's own click): one line, exit 2
        return _fail(f"toolfactory: error: {exc.format_message()} (see `toolfactory --help`)", 2)
    except SettingsError as exc:
        return _fail(f"toolfactory: settings error: {exc}", 2)
    except CommandFailed as exc:
        return _fail(f"toolfactory: {exc}", 2)
    except (UserError, FileNotFoundError) as exc:
        from warehouse.readonly_sql import SQLRefused

        return _fail(f"toolfactory: {'refused' if isinstance(exc, SQLRefused) else 'error'}: {exc}", 2)
    except BrokenPipeError:  # `toolfactory sql … | head`
        sys.stderr.close()
        return 0
    except (KeyboardInterrupt, typer.Abort):
        print("toolfactory: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 (a bug: one line here, the traceback in the log file)
        return _fail(f"toolfactory: {state.log.internal_error(exc)}", 1)


GLOBAL_OPTIONS = ("--config", "--progress")


def global_options_first(args: list[str]) -> list[str]:
    """``args`` with the global options (``--config F``, ``--progress P``, or ``--option=value``) moved before
    the command, wherever they were given: ``toolfactory evaluate --set S --progress off`` works as
    ``toolfactory --progress off evaluate --set S``. Nothing after ``--`` moves."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_OPTIONS:
            front.extend(args[i:i + 2])
            i += 2
            continue
        (front if arg.split("=", 1)[0] in GLOBAL_OPTIONS else rest).append(arg)
        i += 1
    return front + rest


def _fail(text: str, code: int) -> int:
    print(" ".join(text.split())[:1000], file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
