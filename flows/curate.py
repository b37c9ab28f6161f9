"""Flow ``curate-corpus``: the quality funnel over landed dialogues (issue #4).

Stages run cheapest first — format, execution (code), semantic (the judge LLM), dedup, length
(tokenizer) — and a dialogue refused by one goes no further. Every decision lands in
``curation_verdict`` under the config version (a hash of the funnel settings, the judge's prompt
and model), so a re-run with the same config only looks at dialogues not yet decided, and a
changed config decides everything again without losing the old verdicts. The run is recorded in
``curation_run``; views ``funnel`` and ``clean_instances`` follow the latest run's config.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import as_completed
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.contexts import backfill_contexts
from flows.progress import Progress
from flows.runtime import flow_settings, gated, llm_session, open_warehouse
from flows.settings import Settings, describe
from schemas.ids import content_id
from schemas.records import CurationVerdict, TurnVerdict
from schemas.views import PendingDialogue
from tasks.curation.filters import STAGES, Verdict, dedup, execution_check, format_check, instance_text, length_check
from tasks.curation.semantic_judge import LLM_ERROR, judge_dialogue
from tasks.curation.semantic_judge import prompt_version as judge_prompt_version
from tasks.curation.turns import check_turns, cut_dialogue, cut_point
from tasks.llm.backend import LLMClient
from training.tokenizer import token_counter
from warehouse.batch_writer import BatchWriter
from warehouse.corpus import (
    clean_by_origin,
    dedup_kept,
    funnel_counts,
    pending_dialogues,
    record_curation_run,
    turn_counts,
)

CURATION_RULES = "context/1"  # the funnel's code checks: a new version decides every dialogue again (issue 21: turn verdicts, cuts; issue 33: the length filter and name checks read the tool context)


def curation_config(settings: Settings, client: LLMClient) -> dict[str, Any]:
    """What decides the verdicts; its hash is the config version."""
    return {
        "rules": CURATION_RULES,
        "max_calls": settings.curation_max_calls, "token_budget": settings.curation_token_budget,
        "tokenizer": settings.curation_tokenizer, "near_duplicate": settings.curation_near_duplicate,
        "template_share": settings.curation_template_share, "judge": settings.curation_judge,
        "judge_model": client.model_signature("judge") if settings.curation_judge else None,
        "judge_prompt": judge_prompt_version() if settings.curation_judge else None,
    }


def _record(p: PendingDialogue, v: Verdict, version: str, n_tokens: int | None = None) -> CurationVerdict:
    d = p.dialogue
    return CurationVerdict(content_id("verdict", d.dialogue_id, v.stage, version), d.dialogue_id, d.api_id, v.stage,
                           v.kept, v.reason, v.detail[:2000], version, n_tokens, d.models.get("assistant"), d.instruction_kind)


def _code_checks(pending: list[PendingDialogue], settings: Settings, version: str, writer: BatchWriter) -> tuple[list[PendingDialogue], int]:
    """Each assistant turn's checks, then format and execution over the whole dialogue; lands the verdicts
    (and, where a dialogue went bad after a good user turn, the cut instance, which a later page decides).
    Returns (the dialogues that passed, how many were cut)."""
    passed, cuts = [], 0
    for d in pending:
        names = set(d.function_names) or None  # what its tool context showed (a multi-API one's prefixed names too)
        checks = check_turns(d.dialogue, names)
        writer.put([TurnVerdict(content_id("turn-verdict", d.dialogue.dialogue_id, c.index, version), d.dialogue.dialogue_id,
                                d.dialogue.api_id, c.index, c.turn, c.verdict.stage, c.verdict.kept, c.verdict.reason,
                                c.verdict.detail[:2000], version) for c in checks])
        keep, why = cut_point(d.dialogue, checks)
        if why is not None:
            if keep > 0:
                cut = cut_dialogue(d.dialogue, keep)
                writer.put([cut])
                why = Verdict(why.stage, why.reason, f"{why.detail}; kept as dialogue {cut.dialogue_id} (its first {keep} user turns)")
                cuts += 1
            writer.put([_record(d, why, version)])
            continue
        for v in (format_check(d.dialogue, names, settings.curation_max_calls), execution_check(d.dialogue, d.chain)):
            writer.put([_record(d, v, version)])
            if not v.kept:
                break
        else:
            passed.append(d)
    return passed, cuts


def _judge(dialogues: list[PendingDialogue], client: LLMClient, wh: Any, settings: Settings, version: str,
           writer: BatchWriter) -> tuple[list[PendingDialogue], int]:
    """The semantic stage: dialogues judged concurrently on the LLM loop. Returns (the kept ones, how
    many the judge could not answer after retries: no verdict is written, the next run judges them)."""
    if not settings.curation_judge:
        for d in dialogues:
            writer.put([_record(d, Verdict("semantic", None, "judge off (curation_judge: false)"), version)])
        return dialogues, 0
    gate = asyncio.Semaphore(settings.max_concurrent_dialogues)
    futures = {client.submit(gated(gate, judge_dialogue(client, d.dialogue, d.nl_documentation, seed=settings.seed,
                                                        max_tokens=settings.judge_max_tokens))): d for d in dialogues}
    kept = []
    undecided = 0
    progress = Progress("curate-corpus-judge-progress", "dialogues judged", len(dialogues), unit="dialogue")
    for fut in as_completed(futures):
        d = futures[fut]
        try:
            v = fut.result()
        except Exception as exc:  # a bug, not a bad reply: refused with the reason, the others go on
            v = Verdict("semantic", "judge_error", f"{type(exc).__name__}: {exc}")
        if v.reason == LLM_ERROR:
            undecided += 1
            progress.advance(1)
            continue
        writer.put([_record(d, v, version)])
        if v.kept:
            kept.append(d)
        progress.advance(1, note=f"{len(kept)} kept")
    progress.finish()
    return sorted(kept, key=lambda d: d.position), undecided


def _dedup_and_length(dialogues: list[PendingDialogue], wh: Any, settings: Settings, version: str, writer: BatchWriter) -> int:
    """Dedup per API against what was kept before, then the token budget; returns how many passed both."""
    before = dedup_kept(wh, version, sorted({d.dialogue.api_id for d in dialogues}))
    by_api: dict[str, list[PendingDialogue]] = {}
    for d in dialogues:
        by_api.setdefault(d.dialogue.api_id, []).append(d)
    survivors = []
    for api_id, ds in by_api.items():
        now = {d.dialogue.dialogue_id for d in ds}
        old = [(i, t) for i, t in before.get(api_id, []) if i not in now]  # a page redone after a crash
        verdicts = dedup([*old, *((d.dialogue.dialogue_id, d.dialogue.instruction) for d in ds)], settings.curation_near_duplicate,
                         settings.curation_template_share)
        for d in ds:
            v = verdicts[d.dialogue.dialogue_id]
            writer.put([_record(d, v, version)])
            if v.kept:
                survivors.append(d)
    if not survivors:
        return 0
    count = token_counter(settings.curation_tokenizer, settings.local_model_path)
    kept = 0
    for d in survivors:
        n = count(instance_text(d.dialogue, d.nl_documentation))
        v = length_check(n, settings.curation_token_budget)
        writer.put([_record(d, v, version, n)])
        kept += v.kept
    return kept


code_checks_task = task(_code_checks, name="format-and-execution-filters", cache_policy=NO_CACHE)
judge_task = task(_judge, name="semantic-judge", cache_policy=NO_CACHE)
dedup_length_task = task(_dedup_and_length, name="dedup-and-length-filters", cache_policy=NO_CACHE)


@flow(name="curate-corpus", log_prints=True)
def curate_corpus(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the funnel over every dialogue not yet decided under the current config."""
    s = flow_settings(settings)
    started = time.perf_counter()
    with open_warehouse(s) as wh, llm_session(s, wh) as (client, ledger):
        backfilled = backfill_contexts(wh)  # dialogues from before tool contexts were recorded: once
        config = curation_config(s, client)
        version = content_id("curation", config)
        seen = judged = kept = retryable = cuts = 0
        after = None
        while True:  # a page at a time, so a large backlog never sits in memory whole
            pending = pending_dialogues(wh, version, limit=s.curation_page_size, after=after)
            if not pending:
                break
            after = pending[-1].position
            print(f"curate-corpus: deciding {len(pending)} dialogues under config {version}")
            passed_code, cut = code_checks_task(pending, s, version, ledger.writer)
            cuts += cut
            passed_judge, undecided = judge_task(passed_code, client, wh, s, version, ledger.writer)
            retryable += undecided
            ledger.flush()  # the dedup of this page reads what earlier pages kept
            kept += dedup_length_task(passed_judge, wh, s, version, ledger.writer)
            ledger.flush()
            seen += len(pending)
            judged += len(passed_code) if s.curation_judge else 0
        run_id = record_curation_run(wh, version, config, seen, judged)
        stages = funnel_counts(wh, version)
        summary = {
            "config_version": version, "run_id": run_id, "decided_now": seen, "judged_now": judged,
            "kept_now": kept, "cut_now": cuts, "retryable": retryable, "clean_instances": wh.count("clean_instances"), "clean_by_origin": clean_by_origin(wh),
            "dialogues": wh.count("dialogue"), "contexts_backfilled": backfilled["linked"],
            "funnel": {f"{r['stage']}/{r['reason']}": int(r["n"]) for r in stages},
            "turns": turn_counts(wh, version),
            **ledger.summary(), "seconds": round(time.perf_counter() - started, 1),
        }
    create_table_artifact(key="curate-corpus-funnel", table=[{"stage": k.split("/")[0], "reason": k.split("/")[1], "n": v}
                                                              for k, v in summary["funnel"].items()],
                          description="The quality funnel: dialogues per stage and reason (current config)")
    create_markdown_artifact(
        key="curate-corpus-summary", description="What curate-corpus decided",
        markdown=f"# curate-corpus\n\nconfig `{version}` · decided now {seen} · kept now {kept} · "
                 f"clean instances {summary['clean_instances']} of {summary['dialogues']} dialogues\n\n"
                 + "| stage | kept | refused |\n|---|---:|---:|\n"
                 + "".join(f"| {st} | {summary['funnel'].get(f'{st}/kept', 0)} | "
                           f"{sum(v for k, v in summary['funnel'].items() if k.startswith(st + '/') and not k.endswith('/kept'))} |\n"
                           for st in STAGES),
    )
    return summary


def run_curate(settings: Settings) -> dict[str, Any]:
    return curate_corpus(settings=describe(settings))

