"""The corpus-building commands: catalog, docs, simulate, curate, corpus, export, import."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from toolfactory.cli_session import CommandFailed, settings_for
from toolfactory.output import print_summary, print_training

ApiIds = Annotated[list[str] | None, typer.Option("--api", help="only this api_id (repeatable)")]


class CatalogFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class DocsFormat(StrEnum):
    openapi3 = "openapi3"
    swagger2 = "swagger2"
    mcp = "mcp"
    openai_tools = "openai_tools"
    toolalpaca = "toolalpaca"


class ExportFormat(StrEnum):
    toolalpaca = "toolalpaca"
    jsonl = "jsonl"
    parquet = "parquet"
    hf = "hf"
    card = "card"
    all = "all"


catalog_app = typer.Typer(help="catalog commands", no_args_is_help=False)
docs_app = typer.Typer(help="documentation commands", no_args_is_help=False)
corpus_app = typer.Typer(help="corpus snapshots", no_args_is_help=False)


@catalog_app.command("import")
def catalog_import(ctx: typer.Context, path: Annotated[str, typer.Argument(help="a catalog file, or 'sample' for the built-in sample")],
                   format: Annotated[CatalogFormat | None, typer.Option(help="override detection by suffix")] = None) -> int:
    """Import a catalog file."""
    from flows.catalog_import import import_catalog

    settings = settings_for(ctx, ())
    print_summary(f"catalog import {path}", import_catalog(settings, path, format.value if format else None))
    return 0


@docs_app.command("build")
def docs_build(ctx: typer.Context,
               limit: Annotated[int | None, typer.Option(help="at most this many APIs (catalog order: category, name)")] = None,
               api_ids: ApiIds = None,
               categories: Annotated[list[str] | None, typer.Option("--category", help="only this category (repeatable)")] = None) -> int:
    """Document catalog APIs with the LLM (flow build-toolset)."""
    from flows.build_toolset import run_build_toolset

    settings = settings_for(ctx, ("documenter",))
    summary = run_build_toolset(settings, limit=limit, api_ids=api_ids, categories=categories)
    print_summary("build-toolset", summary)
    return 0 if summary["task_failures"] == 0 else 1


@docs_app.command("import")
def docs_import(ctx: typer.Context,
                path: Annotated[str | None, typer.Argument(help="a document (JSON/YAML) or a folder of them")] = None,
                category: Annotated[str | None, typer.Option(help="category for the imported APIs (default: x-category or 'Imported')")] = None,
                format: Annotated[DocsFormat | None, typer.Option(help="override detection")] = None,
                mcp: Annotated[str | None, typer.Option("--mcp", help='an MCP server to start and list over stdio: "COMMAND ARGS"')] = None,
                mcp_url: Annotated[str | None, typer.Option("--mcp-url", help="an MCP server to list over streamable HTTP")] = None) -> int:
    """Import published tool documents without the LLM (OpenAPI 3, Swagger 2, MCP, OpenAI tools, ToolAlpaca), or the
    tools of a live MCP server (--mcp, --mcp-url; executor_mode: real then calls them)."""
    from flows.docs_import import import_docs, import_mcp
    from tasks.guards.guarded_mcp import McpServer

    if sum(x is not None for x in (path, mcp, mcp_url)) != 1:
        raise CommandFailed("give one of PATH, --mcp \"COMMAND ARGS\" or --mcp-url URL")
    settings = settings_for(ctx, ())
    if path is None:
        server = McpServer("stdio", command=mcp) if mcp else McpServer("http", url=mcp_url or "")
        if server.transport == "http" and not server.url.startswith(("http://", "https://")):
            raise CommandFailed(f"--mcp-url {server.url[:200]!r}: only http(s) URLs")
        out = import_mcp(settings, server, category)
        print_summary(f"docs import {'--mcp' if mcp else '--mcp-url'} {mcp or mcp_url}", out)
        return 0 if out["usable"] else 1
    out = import_docs(settings, path, category, format.value if format else None)
    if out["files"] and out["refused"] == out["files"]:  # nothing could be imported: the first reason, one line
        more = f" (and {out['refused'] - 1} more refused files)" if out["refused"] > 1 else ""
        raise CommandFailed(f"refused: {out['documents'][0].split(': refused — ', 1)[-1]}{more}")
    print_summary(f"docs import {path}", out)
    return 0


@docs_app.command("check")
def docs_check(ctx: typer.Context, api_ids: ApiIds = None) -> int:
    """Round-trip every operation of the documented APIs (arguments, refusals, responses, tool definitions)."""
    from flows.docs_check import check_docs

    out = check_docs(settings_for(ctx, ()), api_ids)
    print_summary("docs check", out)
    return 0 if out["operations failed"] == 0 else 1


def simulation_roles(settings: object) -> tuple[str, ...]:
    """The roles a simulation calls: the user and assistant agents, and the executor when simulated."""
    return ("user", "assistant") + (("executor",) if settings.executor_mode == "simulated" else ())  # type: ignore[attr-defined]


def simulate(ctx: typer.Context, limit: Annotated[int | None, typer.Option(help="at most this many documented APIs")] = None,
             api_ids: ApiIds = None) -> int:
    """Simulate dialogues for documented APIs (flow simulate-corpus)."""
    from flows.simulate_corpus import run_simulate_corpus

    summary = run_simulate_corpus(settings_for(ctx, simulation_roles), limit=limit, api_ids=api_ids)
    print_summary("simulate-corpus", summary)
    return 0 if summary["task_failures"] == 0 else 1


def curate(ctx: typer.Context) -> int:
    """Run the quality funnel over landed dialogues (flow curate-corpus)."""
    from flows.curate import run_curate

    settings = settings_for(ctx, lambda s: ("judge",) if s.curation_judge else ())
    print_summary("curate-corpus", run_curate(settings))
    if settings.training_auto:
        from flows.train import run_training_check

        return print_training(run_training_check(settings))
    return 0


@corpus_app.command("snapshot")
def corpus_snapshot(ctx: typer.Context) -> int:
    """Freeze clean_instances as a snapshot (the existing one when nothing changed)."""
    from flows.corpus_export import take_snapshot

    print_summary("corpus snapshot", take_snapshot(settings_for(ctx, ())))
    return 0


@corpus_app.command("list")
def corpus_list(ctx: typer.Context) -> int:
    """List snapshots, newest first."""
    from flows.corpus_export import list_snapshots

    print(list_snapshots(settings_for(ctx, ())))
    return 0


def export(ctx: typer.Context,
           formats: Annotated[list[ExportFormat], typer.Option("--format", help="repeatable; 'all' for every format")],
           snapshot: Annotated[str | None, typer.Option(help="snapshot ID (default: the latest; one is taken when there is none)")] = None,
           out: Annotated[str, typer.Option(help="output folder (default: ./exports/<snapshot id>)")] = "exports") -> int:
    """Write a corpus snapshot to files."""
    from flows.corpus_export import export_snapshot

    chosen = [f.value for f in ExportFormat if f != ExportFormat.all] if ExportFormat.all in formats else [f.value for f in formats]
    print_summary("export", export_snapshot(settings_for(ctx, ()), chosen, out, snapshot))
    return 0


def import_file(ctx: typer.Context, path: str) -> int:
    """Load a ToolAlpaca-format JSON file (training layout with Instances, or evaluation layout with Golden_Answers)."""
    from flows.toolalpaca_import import import_toolalpaca

    print_summary(f"import {path}", import_toolalpaca(settings_for(ctx, ()), path))
    return 0


def register_data_commands(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(docs_app, name="docs")
    app.command()(simulate)
    app.command()(curate)
    app.add_typer(corpus_app, name="corpus")
    app.command()(export)
    app.command("import")(import_file)
