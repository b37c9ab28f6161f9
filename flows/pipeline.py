"""What `make run` does: a catalog (the built-in sample by default) → documented toolset →
instructions and simulated dialogues → the quality funnel and a corpus snapshot → the training
trigger, then a summary and how to query it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.build_toolset import run_build_toolset
from flows.catalog_import import SAMPLE, import_catalog, sample_catalog_path
from flows.corpus_export import take_snapshot
from flows.curate import run_curate
from flows.files import read_catalog
from flows.report_plots import plots_markdown, report_plots
from flows.runtime import flow_settings, open_warehouse
from flows.settings import Settings
from flows.simulate_corpus import run_simulate_corpus
from flows.toolalpaca_import import import_toolalpaca, seed_corpus_path
from flows.train import run_training_check
from schemas.records import CatalogEntry
from warehouse.reports import report_figures


def spread_over_categories(entries: list[CatalogEntry], limit: int | None) -> list[CatalogEntry]:
    """Up to ``limit`` entries taken round-robin over categories (so a small run still covers many)."""
    if limit is None or limit >= len(entries):
        return list(entries)
    by_cat: dict[str, list[CatalogEntry]] = {}
    for e in entries:
        by_cat.setdefault(e.category, []).append(e)
    out: list[CatalogEntry] = []
    while len(out) < limit:
        for cat in sorted(by_cat):
            if by_cat[cat] and len(out) < limit:
                out.append(by_cat[cat].pop(0))
    return out


def plan_apis(settings: Settings, catalog: str = SAMPLE) -> tuple[dict[str, Any], list[str]]:
    """Import the catalog (idempotent) and pick the APIs a run documents: (import summary, api_ids)."""
    imported = import_catalog(settings, catalog)
    path = sample_catalog_path() if catalog == SAMPLE else catalog
    entries = read_catalog(path, None, settings.catalog_max_description_chars, settings.import_max_bytes).entries
    return imported, [e.api_id for e in spread_over_categories(entries, settings.run_max_apis)]


StageDone = Callable[[str, Any, float], None]  # (stage, its summary or None when it did not run, seconds)


def run_pipeline(settings: Settings, catalog: str = SAMPLE, seed_corpus: str | None = None,
                 on_stage: StageDone | None = None) -> dict[str, Any]:
    """Import the catalog, document up to ``run_max_apis`` of its APIs (spread over categories),
    simulate ``instructions_per_api`` dialogues for each valid one (none when that is 0), add the
    instances of ``seed_corpus`` (a ToolAlpaca training file, or "sample" for the shipped seed), curate
    them, freeze the clean instances as a snapshot, and check the training trigger (``training_auto``).
    ``on_stage`` hears of each stage as it ends (the CLI prints a line for it)."""
    out: dict[str, Any] = {}

    def stage(name: str, run: Callable[[], Any] | None) -> Any:
        started = time.perf_counter()
        out[name] = run() if run is not None else None
        if on_stage is not None:
            on_stage(name, out[name], time.perf_counter() - started)
        return out[name]

    ids: list[str] = []

    def catalog_stage() -> dict[str, Any]:
        imported, planned = plan_apis(settings, catalog)
        ids.extend(planned)
        return imported

    stage("catalog", catalog_stage)
    stage("toolset", lambda: run_build_toolset(settings, api_ids=ids))
    simulated = stage("simulation", (lambda: run_simulate_corpus(settings, api_ids=ids)) if settings.instructions_per_api > 0 else None)
    seeded = stage("seed", (lambda: import_toolalpaca(settings, seed_corpus_path() if seed_corpus == SAMPLE else seed_corpus))
                   if seed_corpus else None)
    curated = stage("curation", (lambda: run_curate(settings)) if simulated is not None or seeded is not None else None)
    stage("snapshot", (lambda: take_snapshot(settings)) if curated is not None else None)
    stage("training", (lambda: run_training_check(settings)) if curated is not None and settings.training_auto else None)
    return out


@flow(name="regenerate", log_prints=True)
def regenerate(settings: dict[str, Any] | None = None, catalog: str = SAMPLE, seed_corpus: str | None = None) -> dict[str, Any]:
    """``run_pipeline`` as one flow (the scheduled deployment): each stage is a subflow, and what
    exists already — docs, instructions, dialogues, verdicts — is found by content hash, so only
    new or changed work costs LLM calls."""
    s = flow_settings(settings)
    out = run_pipeline(s, catalog, seed_corpus)
    report, folder = write_run_report(s, out, "regenerate")
    create_markdown_artifact(key="regenerate-report", markdown=report,
                             description="What regenerate planned, did, skipped and refused; its LLM calls, cost and time; plots")
    print(f"regenerate: report and plots in {folder}")
    print(f"regenerate: {out['toolset']['documented']} APIs documented now, "
          f"{(out['simulation'] or {}).get('dialogues', 0)} dialogues simulated, "
          f"{(out['curation'] or {}).get('kept_now', 0)} kept, training: {(out['training'] or {}).get('reason', '-')}")
    return out


LEFT_FOR_NEXT_RUN = ("retryable_llm_error", "stopped_by_spend_cap", "instructions_retryable_llm_error")


def run_report(out: dict[str, Any], name: str = "regenerate") -> str:
    """The markdown report of one pipeline run: per stage what was planned (APIs, instructions, dialogues
    to decide), done now (documented, simulated, kept), found existing, refused, or left for the
    next run (LLM errors after retries, the spend cap), with LLM calls, cost and seconds; then the
    funnel and the training outcome."""
    t, sim, cur = out["toolset"], out["simulation"] or {}, out["curation"] or {}
    stops = sim.get("stop_reasons") or {}
    left = {"documentation": t.get("retryable", 0) + t.get("stopped_by_spend_cap", 0),
            "simulation": sum(stops.get(k, 0) for k in LEFT_FOR_NEXT_RUN), "curation": cur.get("retryable", 0)}
    rows = [("documentation", t["planned"], t["documented"], t["skipped_existing"],
             ", ".join(f"{k}: {v}" for k, v in t["reasons"].items()) or "-", t),
            ("simulation", sim.get("instructions", 0), sim.get("dialogues", 0), sim.get("skipped_existing", 0),
             ", ".join(f"{k}: {v}" for k, v in stops.items() if k != "final_answer" and k not in LEFT_FOR_NEXT_RUN) or "-", sim),
            ("curation", cur.get("decided_now", 0), cur.get("kept_now", 0), cur.get("dialogues", 0) - cur.get("decided_now", 0),
             ", ".join(f"{k}: {v}" for k, v in (cur.get("funnel") or {}).items() if not k.endswith("/kept")) or "-", cur)]
    lines = [f"# {name}", "", "| stage | planned | done now | existing | refused / stopped | left for the next run | LLM calls "
             "| cost (USD) | seconds |", "|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for stage, planned, done, existing, refused, part in rows:
        lines.append(f"| {stage} | {planned} | {done} | {existing} | {refused} | {left[stage]} | {part.get('llm_calls', 0)} | "
                     f"{part.get('cost_usd', 0)} | {part.get('seconds', 0)} |")
    calls = sum(p.get("llm_calls", 0) for *_, p in rows)
    cost = sum(p.get("cost_usd", 0) or 0 for *_, p in rows)
    clean = cur.get("clean_instances", 0)
    training = out["training"] or {}
    lines += ["", f"**{calls} LLM calls, ${cost:.4f}; {clean} clean instances"
              + (f", ${cost / clean:.4f} per clean instance" if clean else "") + ".**", "",
              f"Snapshot: `{(out['snapshot'] or {}).get('snapshot_id', '-')}` · training: "
              + (f"run `{training['run_id']}` {training.get('status')}" if training.get("started") else training.get("reason", "-")), ""]
    return "\n".join(lines)


def write_run_report(settings: Settings, out: dict[str, Any], name: str) -> tuple[str, Path]:
    """Render a pipeline run's report with its plots (over the whole warehouse after the run).
    Writes ``report.md`` and the PNGs to a new folder under ``run_report_dir``; returns the
    markdown with the plots inline (for a Prefect artifact) and that folder."""
    with open_warehouse(settings) as wh:
        plots = report_plots(report_figures(wh))
    folder = Path(settings.run_report_dir) / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, png in plots.items():
        (folder / file_name).write_bytes(png)
    text = run_report(out, name) + "\n"
    (folder / "report.md").write_text(text + plots_markdown(plots, inline=False), encoding="utf-8")
    return text + plots_markdown(plots, inline=True), folder
