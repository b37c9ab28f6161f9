"""Flow ``build-toolset``: catalog entries → documented APIs (introduction, functions, OpenAPI spec).

Per API one task documents it (``tasks.documentation.documenter.document_api``) and lands the result at once, so a
crash loses at most the APIs in flight; the ledger of LLM calls is the cache that makes their
resumption cheap. IDs are content hashes of the entry, prompts, models and settings: a re-run with
the same inputs finds every doc and makes zero LLM calls. Concurrency is bounded by the task
runner (``max_concurrent_apis``) and by the client's global cap (``max_concurrent_llm_calls``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.progress import Progress
from flows.runtime import RunLedger, flow_settings, llm_session, open_warehouse, retry_reason
from flows.settings import Settings, describe
from schemas.records import CatalogEntry
from tasks.documentation.documenter import DocumenterConfig, DocumenterPrompts, default_prompts, doc_id_for, document_api
from tasks.llm.backend import LLMClient
from tasks.llm.budget import SPEND_CAP
from tasks.llm.config import BackendConfig
from warehouse import Warehouse


def spec_mode(settings: Settings, client: LLMClient) -> str:
    """``auto`` picks 'operations' when every documenter model is the embedded one, else 'openapi'."""
    return spec_mode_for_config(settings, client.config)


def spec_mode_for_config(settings: Settings, config: BackendConfig) -> str:
    if settings.documenter_spec_mode != "auto":
        return settings.documenter_spec_mode
    return "operations" if config.embedded_only("documenter") else "openapi"


def documenter_config(settings: Settings, mode: str = "openapi") -> DocumenterConfig:
    return DocumenterConfig(
        spec_mode=mode,
        repair_rounds=settings.repair_rounds,
        spec_max_tokens=settings.documenter_max_tokens,
        outline_max_tokens=max(64, settings.documenter_max_tokens // 3),
        operation_max_tokens=max(64, settings.documenter_max_tokens * 2 // 5),
        temperature=settings.documenter_temperature,
        seed=settings.seed,
    )


def _document_and_land(entry: CatalogEntry, client: LLMClient, warehouse: Warehouse, cfg: DocumenterConfig,
                       prompts: DocumenterPrompts) -> dict[str, Any]:
    """Document one API and land its doc, functions and rejections in one transaction. Once the
    run's spend cap is reached nothing new starts. An API whose LLM call failed after its retries
    (an outage, a timeout, the spend cap) is not landed: the next run documents it again, its
    answered calls coming from the ledger's cache."""
    def left(status: str, reason: str) -> dict[str, Any]:
        return {"api_id": entry.api_id, "name": entry.name, "category": entry.category, "status": status,
                "repair_rounds": 0, "functions": 0, "reason": reason}

    if client.budget.exhausted:
        return left("stopped_by_spend_cap", SPEND_CAP)
    result = document_api(entry, client, cfg, prompts)
    failed = next((r for r in result.rejections if r.reason == "llm_error"), None)
    if failed is not None:
        status = retry_reason(client)
        return left(status, SPEND_CAP if status == "stopped_by_spend_cap" else failed.detail[:200])
    warehouse.land([r for r in [result.doc] if r is not None] + result.functions + result.rejections)
    doc = result.doc
    return {
        "api_id": entry.api_id, "name": entry.name, "category": entry.category,
        "status": doc.status if doc else "invalid", "repair_rounds": doc.repair_rounds if doc else 0,
        "functions": len(result.functions), "reason": result.rejections[0].reason if result.rejections else None,
    }


document_task = task(
    _document_and_land, name="document-api", task_run_name="document {entry.name}", retries=2,
    retry_delay_seconds=2, cache_policy=NO_CACHE,
)


@flow(name="build-toolset", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=4))
def build_toolset(limit: int | None = None, api_ids: list[str] | None = None, categories: list[str] | None = None,
                  settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Document the catalog's APIs that have no doc yet for the current prompts and models.
    ``settings``: the effective settings as a dict (shown as a flow parameter); None loads them."""
    settings = flow_settings(settings)
    started = time.perf_counter()
    with open_warehouse(settings) as wh, llm_session(settings, wh) as (client, ledger):
        cfg = documenter_config(settings, spec_mode(settings, client))
        prompts = default_prompts()
        signature = client.model_signature("documenter")
        entries = wh.catalog_entries(limit=limit, api_ids=api_ids, categories=categories)
        ids = {e.api_id: doc_id_for(e, signature, cfg, prompts) for e in entries}
        existing = wh.existing_doc_ids(list(ids.values()))
        todo = [e for e in entries if ids[e.api_id] not in existing]
        print(f"build-toolset: {len(entries)} APIs planned, {len(entries) - len(todo)} already documented, {len(todo)} to do "
              f"(documenter: {signature}, spec mode {cfg.spec_mode})")
        futures = [document_task.submit(e, quote(client), quote(wh), quote(cfg), quote(prompts)) for e in todo]  # quote: not walked
        outcomes: list[dict[str, Any]] = []
        failed: list[str] = []
        progress = Progress("build-toolset-progress", "APIs documented", len(todo), unit="API")
        for fut in as_completed(futures):
            try:
                out = fut.result()
            except Exception as exc:  # a task that failed after its retries: counted, the flow goes on
                failed.append(f"{type(exc).__name__}: {exc}")
                progress.advance(1)
                continue
            outcomes.append(out)
            progress.advance(1, note=f"{sum(o['status'] == 'valid' for o in outcomes)} valid")
            print(f"  {out['status']:>7}  {out['name']} ({out['functions']} functions, {out['repair_rounds']} repair rounds)"
                  + (f" — {out['reason']}" if out["reason"] else ""))
        progress.finish()
        ledger.flush()
        summary = _summary(entries, todo, outcomes, failed, ledger, time.perf_counter() - started)
        summary["warehouse"] = {
            "apis_valid": wh.count("apis", "status = 'valid'"), "apis_invalid": wh.count("apis", "status = 'invalid'"),
            "functions": wh.count("functions"),
        }
    create_markdown_artifact(markdown=summary_markdown(summary), key="build-toolset-summary",
                             description="What build-toolset planned, documented and refused")
    return summary


def _summary(entries: list[CatalogEntry], todo: list[CatalogEntry], outcomes: list[dict[str, Any]], failed: list[str],
             ledger: RunLedger, seconds: float) -> dict[str, Any]:
    status = Counter(o["status"] for o in outcomes)
    return {
        "planned": len(entries), "skipped_existing": len(entries) - len(todo),
        "documented": len(outcomes) - status.get("stopped_by_spend_cap", 0) - status.get("retryable_llm_error", 0),
        "stopped_by_spend_cap": status.get("stopped_by_spend_cap", 0),
        "retryable": status.get("retryable_llm_error", 0),
        "valid": status.get("valid", 0), "invalid": status.get("invalid", 0), "task_failures": len(failed),
        "task_failure_messages": failed[:10],
        "reasons": dict(Counter(o["reason"] for o in outcomes
                                if o["reason"] and o["status"] in ("valid", "invalid")).most_common()),
        "repair_rounds_of_valid": dict(sorted(Counter(o["repair_rounds"] for o in outcomes if o["status"] == "valid").items())),
        "functions": sum(o["functions"] for o in outcomes),
        **ledger.summary(),
        "seconds": round(seconds, 1),
    }


def summary_markdown(s: dict[str, Any]) -> str:
    lines = [
        "# build-toolset",
        "",
        "| planned | already documented | documented now | valid | invalid | task failures | functions | LLM calls | tokens | cost (USD) | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['planned']} | {s['skipped_existing']} | {s['documented']} | {s['valid']} | {s['invalid']} | {s['task_failures']} "
        f"| {s['functions']} | {s['llm_calls']} | {s['prompt_tokens'] + s['completion_tokens']} | {s['cost_usd']} | {s['seconds']} |",
    ]
    if s["repair_rounds_of_valid"]:
        lines += ["", "**Repair rounds of valid specs:** " + ", ".join(f"{k} rounds: {v}" for k, v in s["repair_rounds_of_valid"].items())]
    if s["reasons"]:
        lines += ["", "## Refused", "", "| reason | APIs |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in s["reasons"].items()]
    if "warehouse" in s:
        w = s["warehouse"]
        lines += ["", f"Warehouse now: {w['apis_valid']} valid APIs, {w['apis_invalid']} invalid, {w['functions']} functions. "
                  "Query with `toolfactory sql \"SELECT * FROM apis\"`."]
    return "\n".join(lines) + "\n"


def api_workers(settings: Settings) -> int:
    """APIs in flight. The embedded model generates one reply at a time, and interleaved prompts
    lose llama.cpp's prompt-prefix reuse (4 in flight took 1.18x as long as 1, see
    benchmarks/documenter_concurrency.py), so with only the embedded documenter it is 1."""
    from tasks.llm.config import load_backend_config

    return 1 if load_backend_config(settings.backends_file).embedded_only("documenter") else settings.max_concurrent_apis


def run_build_toolset(settings: Settings, limit: int | None = None, api_ids: list[str] | None = None,
                      categories: list[str] | None = None) -> dict[str, Any]:
    """Run the flow with these settings and the task runner sized from them."""
    sized = build_toolset.with_options(task_runner=ThreadPoolTaskRunner(max_workers=api_workers(settings)))
    return sized(limit=limit, api_ids=api_ids, categories=categories, settings=describe(settings))
