"""Flow ``simulate-corpus``: documented APIs → instructions → dialogues (issue #3).

Per valid API one task: the user agent's instructions (reused when this doc already has them for
the same prompt and model), then the dialogues. Dialogues are coroutines on the LLM client's event
loop, not threads: ``max_concurrent_dialogues`` of them (across all APIs) are in flight at once,
sharing the client's cap of ``max_concurrent_llm_calls`` calls, so thousands can wait on their
replies in one process. The API task's thread lands each dialogue as it ends. Dialogue IDs are
content hashes of what determines them, so a re-run skips what exists; the LLM call ledger is the
cache that makes a resumed dialogue cheap.

With ``simulation_task_runner: dask`` or ``ray`` the per-API tasks run on a cluster's workers
(``flows/task_runners.py``): each gets what exists for its API, runs its own LLM client and returns
its records and calls; this flow's process lands them, so it stays the warehouse's one writer. A
worker consults no LLM cache (a dialogue cut off mid-way is redone whole), and the spend cap is
checked as each API starts (at most ``max_concurrent_apis`` APIs are out at once) and within it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from typing import Any, Protocol

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed as prefect_as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.build_toolset import api_workers
from flows.progress import Progress
from flows.runtime import (
    RunLedger,
    cut_short,
    flow_settings,
    gated,
    llm_session,
    open_warehouse,
    retry_reason,
    step_mode,
    unless_spent,
    worker_llm_session,
)
from flows.settings import Settings, describe
from flows.simulation_plan import explain_no_chains, instruction_plan, planned_kinds, shapes_off, spread_chain_share
from flows.simulation_setup import ApiSetups, Setup
from flows.task_runners import in_window, simulation_task_runner
from schemas.ids import content_id
from schemas.records import Dialogue, Instruction, Rejection, ToolContext
from schemas.views import DocumentedApi
from tasks.llm.backend import LLMClient
from tasks.prompts import load_prompt
from tasks.simulation.assistant import AssistantConfig, Conversation, Task, dialogue_id_for, prompt_versions, run_conversation
from tasks.simulation.chain_plan import pick_chain
from tasks.simulation.follow_ups import plan_follow_ups
from tasks.simulation.function_graph import Edge
from tasks.simulation.instructions import MultiApi, generate_instructions, shortfall_ids, still_needed
from tasks.simulation.multi_api import partners
from tasks.simulation.toolset_slice import ToolsetSlicer
from warehouse import Warehouse
from warehouse.reports import dialogue_shapes, dialogues_by_kind


class Known(Protocol):
    """What the simulation reads of what exists: the warehouse itself, or a ``KnownRows`` taken from it."""

    def instructions_for(self, doc_id: str, prompt_version: str, model: str) -> list[Instruction]: ...
    def existing_dialogue_ids(self, ids: Sequence[str]) -> set[str]: ...
    def existing_rejection_ids(self, ids: Sequence[str]) -> set[str]: ...
    def covered_links(self, doc_id: str) -> set[tuple[str, str]]: ...


@dataclass(frozen=True)
class KnownRows:
    """What the warehouse holds for one doc, taken by the flow for a task on a worker away from it:
    the doc's instructions for this prompt and user model, the IDs of its dialogues, and which of
    its possible shortfall refusals exist."""

    instructions: list[Instruction]
    dialogue_ids: frozenset[str]
    rejection_ids: frozenset[str] = frozenset()
    covered: frozenset[tuple[str, str]] = frozenset()  # the doc's links dialogues or chain instructions have covered

    def covered_links(self, doc_id: str) -> set[tuple[str, str]]:
        return set(self.covered)

    def existing_rejection_ids(self, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self.rejection_ids}

    def instructions_for(self, doc_id: str, prompt_version: str, model: str) -> list[Instruction]:
        return [i for i in self.instructions if i.doc_id == doc_id and i.prompt_version == prompt_version and i.model == model]

    def existing_dialogue_ids(self, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self.dialogue_ids}


Put = Callable[[list[Any]], None]


def _shortfalls(doc: DocumentedApi, settings: Settings, prompt_version: str, user_model: str,
                partner_doc_id: str | None) -> dict[str, str]:
    """The IDs of the refusals that would settle each kind's shortfall for this doc (ID → kind)."""
    return shortfall_ids(doc.doc_id, instruction_plan(settings, doc), prompt_version, user_model, partner_doc_id or "")


def _instructions(doc: DocumentedApi, client: LLMClient, known: Known, put: Put, settings: Settings,
                  multi: MultiApi | None, slicer: ToolsetSlicer | None = None,
                  edges: list[Edge] | None = None) -> tuple[list[Instruction], int, int]:
    """(the instructions to simulate, how many were written now, how many kinds failed on an LLM
    error and are left for the next run). What the warehouse already holds for this doc, prompt and
    model is reused, up to the plan per kind; a shortfall (a raised target, an earlier LLM error) is
    topped up with a new seed, never repeating a kept text — unless a refusal already settled it
    under this plan and config. A chain batch is written about one chain of ``edges``, the one with the
    most links not yet covered."""
    user_model = client.model_signature("user")
    prompt_version = load_prompt("user_instructions").version
    plan = instruction_plan(settings, doc)
    have: list[Instruction] = []
    kept: Counter[str] = Counter()
    for made in known.instructions_for(doc.doc_id, prompt_version, user_model):
        if kept[made.kind] < plan.get(made.kind, 0):
            have.append(made)
            kept[made.kind] += 1
    need = still_needed(plan, [i.kind for i in have])
    shortfalls = _shortfalls(doc, settings, prompt_version, user_model, multi.partner_doc_id if multi else None)
    settled = {shortfalls[i] for i in known.existing_rejection_ids(list(shortfalls))}
    need = {k: v for k, v in need.items() if k not in settled}
    if not need:
        return have, 0, 0
    batch = generate_instructions(
        client, api_id=doc.api_id, doc_id=doc.doc_id, api_name=doc.name, functions_doc=doc.nl_documentation,
        counts=need, seed=settings.seed + len(have), model=user_model, existing=[i.text for i in have], multi=multi,
        planned=plan, slicer=slicer,
        chain=pick_chain(edges or [], known.covered_links(doc.doc_id), settings.seed + kept["chain"]) if "chain" in need else None,
    )
    put([*batch.instructions, *batch.rejections])
    return have + batch.instructions, len(batch.instructions), len(batch.failed)


def _simulate_api(doc: DocumentedApi, client: LLMClient, known: Known, settings: Settings, gate: asyncio.Semaphore,
                  put: Put, partner: DocumentedApi | None, docs_by_id: dict[str, DocumentedApi]) -> dict[str, Any]:
    """Instructions and dialogues for one doc. In: the doc, what exists (``known``), where records go
    (``put``, in the order they are to land), the partner doc for multi-API instructions and the docs
    partners may come from. Out: this API's outcome (counts and how its dialogues stopped)."""
    mode = step_mode(settings.assistant_step_mode, client.config.embedded_only("assistant"), client.model_signature("assistant"))
    setups = ApiSetups(doc, client, settings, mode)
    try:
        return _simulate_with(doc, setups, client, known, settings, gate, put, partner, docs_by_id)
    finally:
        setups.close()


def _nothing_done(doc: DocumentedApi, why: str) -> dict[str, Any]:
    """The outcome of an API that simulated nothing, and why."""
    return {"api": doc.name, "category": doc.category, "instructions": 0, "new_instructions": 0, "dialogues": 0,
            "skipped": 0, "stops": {why: 1}}


def _simulate_with(doc: DocumentedApi, setups: ApiSetups, client: LLMClient, known: Known, settings: Settings,
                   gate: asyncio.Semaphore, put: Put, partner: DocumentedApi | None,
                   docs_by_id: dict[str, DocumentedApi]) -> dict[str, Any]:
    if not setups.single.names:  # nothing the assistant could call (a doc should never get here valid)
        put([Rejection(content_id("rejection", "simulation", doc.doc_id, "no_usable_operation"), "simulation",
                              doc.api_id, "no_usable_operation", f"doc {doc.doc_id}: no operation with an operationId")])
        return _nothing_done(doc, "no_usable_operation")
    mode = setups.step_mode
    multi = None
    if partner is not None and settings.multi_api_share > 0:
        slicer, prefixes = setups.pair_slicer(partner)
        multi = MultiApi(partner.doc_id, partner.name, "" if slicer.large else setups.paired_with(partner)[0].functions_doc,
                         slicer if slicer.large else None, tuple(prefixes))
    put(setups.edge_records(partner if multi else None))  # the function graph, with its evidence (idempotent)
    instructions, new_instructions, kinds_failed = _instructions(doc, client, known, put, settings, multi, setups.slicer,
                                                                 setups.edges())
    models = {role: client.model_signature(role) for role in ("assistant", "executor", "user")}
    if settings.executor_mode == "real":  # the API's own server answers, no executor LLM: real-http, or real-mcp
        models["executor"] = setups.single.executor.version
    cfg = AssistantConfig(step_mode=mode, step_limit=settings.dialogue_step_limit, max_errors=settings.dialogue_max_errors,
                          max_tokens=settings.assistant_max_tokens, seed=settings.seed, max_parallel_calls=settings.max_parallel_calls)
    versions = prompt_versions(setups.single.executor, mode, max_parallel_calls=cfg.parallel)
    stops: Counter[str] = Counter({"instructions_retryable_llm_error": kinds_failed} if kinds_failed else {})
    work: list[tuple[Task, Setup]] = []
    for i in instructions:
        partner_docs = [docs_by_id.get(d) for d in i.partner_doc_ids]
        if any(p is None for p in partner_docs):  # the partner has no valid doc any more
            stops["partner_missing"] += 1
            continue
        setting, toolset = (setups.paired_with(partner_docs[0], i.target_functions) if partner_docs
                            else setups.sliced(i.target_functions))
        follow_ups = plan_follow_ups(i.instruction_id, settings.follow_up_share, settings.max_user_turns, settings.seed)
        work.append((Task(doc.api_id, doc.doc_id, i.instruction_id, i.text, i.kind, i.details,
                          tuple(p.api_id for p in partner_docs), toolset, follow_ups, setting.context.context_id), setting))
    ids = {t.instruction_id: dialogue_id_for(t, models, versions, cfg) for t, _ in work}
    existing = known.existing_dialogue_ids(list(ids.values()))
    todo = [(t, st) for t, st in work if ids[t.instruction_id] not in existing]
    futures = {client.submit(gated(gate, unless_spent(client, lambda t=t, st=st: run_conversation(
        t, st.functions_doc, st.names, client, st.executor, models, cfg, st.tools)))): t for t, st in todo}
    contexts = {t.instruction_id: st.context for t, st in todo}
    for fut in as_completed(futures):
        t = futures[fut]
        stops[_land(fut, t, ids[t.instruction_id], client, put, contexts[t.instruction_id])] += 1
    return {"api": doc.name, "category": doc.category, "instructions": len(instructions), "new_instructions": new_instructions,
            "dialogues": len(todo), "skipped": len(work) - len(todo), "stops": dict(stops)}


def _land(fut: Any, t: Task, dialogue_id: str, client: LLMClient, put: Put, context: ToolContext) -> str:
    """Land one finished conversation (its tool context, once per context by its ID, then its dialogue; a refusal where a planned follow-up was not written or
    the simulation crashed); returns the stop to count. Work an LLM call failed in is not landed: the next
    run redoes it."""
    try:
        conversation: Conversation | None = fut.result()
    except Exception as exc:  # a bug, not bad LLM output: the instruction is refused with the reason, the rest go on
        detail = f"{type(exc).__name__}: {exc}"[:2000]
        put([Rejection(content_id("rejection", "simulation", dialogue_id), "simulation", t.api_id,
                       "dialogue_crashed", f"instruction {t.instruction_id}: {detail}")])
        return "crashed"
    if conversation is None or cut_short(conversation.dialogue.steps) or conversation.follow_up_problem == "llm_error":
        return retry_reason(client)
    dialogue, problem = conversation.dialogue, conversation.follow_up_problem
    records: list[Any] = [context, dialogue]
    if problem is not None:  # the user agent's reply was unusable: the dialogue lands with the turns it has
        turn = len(dialogue.follow_ups) + 1
        records.append(Rejection(content_id("rejection", "simulation", dialogue.dialogue_id, "follow_up", turn), "simulation",
                                 dialogue.api_id, "follow_up_not_written",
                                 f"dialogue {dialogue.dialogue_id} turn {turn} ({t.follow_ups[turn - 1]}): {problem}"))
    put(records)  # landed in batches by the run's writer thread
    return dialogue.stop_reason


simulate_api_task = task(_simulate_api, name="simulate-api", task_run_name="simulate {doc.name}", retries=1,
                         retry_delay_seconds=2, cache_policy=NO_CACHE)


def _simulate_api_away(doc: DocumentedApi, settings: Settings, known: KnownRows, partner: DocumentedApi | None,
                       partner_docs: dict[str, DocumentedApi], limit_usd: float | None) -> dict[str, Any]:
    """``_simulate_api`` on a Dask or Ray worker: its own LLM client, no warehouse. Out: the outcome
    (with the worker that ran it), the records to land in order, the LLM calls made, and how many
    calls the spend cap (what was left of it when this API started) refused."""
    records: list[Any] = []
    with worker_llm_session(settings, limit_usd) as (client, calls):
        gate = asyncio.Semaphore(settings.max_concurrent_dialogues)
        outcome = _simulate_api(doc, client, known, settings, gate, records.extend, partner, partner_docs)
        refused = client.budget.refused_calls
    return {"outcome": {**outcome, "worker": f"{socket.gethostname()}:{os.getpid()}"}, "records": records, "calls": calls,
            "refused_calls": refused}


simulate_api_away_task = task(_simulate_api_away, name="simulate-api-away", task_run_name="simulate {doc.name} (worker)",
                              retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)


def _finished_here(futures: list[Any]) -> Iterator[dict[str, Any] | Exception]:
    """Each thread task's outcome (or its exception) as it ends; its records went to the run's writer."""
    for fut in prefect_as_completed(futures):
        try:
            yield fut.result()
        except Exception as exc:  # counted, the flow goes on
            yield exc


def _counted(put: Put, progress: Progress) -> Put:
    """``put`` that also moves ``progress`` by the dialogues it lands (called from any thread)."""
    def put_and_count(records: list[Any]) -> None:
        put(records)
        if n := sum(isinstance(r, Dialogue) for r in records):
            progress.advance(n)

    return put_and_count


def _finished_away(docs: list[DocumentedApi], wh: Warehouse, client: LLMClient, ledger: RunLedger, put: Put, settings: Settings,
                   pairs: dict[str, DocumentedApi], docs_by_id: dict[str, DocumentedApi]) -> Iterator[dict[str, Any] | Exception]:
    """Each worker task's outcome (or exception) as it ends, after landing what it returned. At most
    ``max_concurrent_apis`` APIs are out at once; none starts once the run's spend cap is reached."""
    user_model, version = client.model_signature("user"), load_prompt("user_instructions").version
    cap = client.budget

    def submit(doc: DocumentedApi) -> Any:
        rows = wh.instructions_for(doc.doc_id, version, user_model)
        partner = pairs.get(doc.doc_id)
        wanted = {p for r in rows for p in r.partner_doc_ids} | ({partner.doc_id} if partner else set())
        shortfalls = _shortfalls(doc, settings, version, user_model,
                                 partner.doc_id if partner and settings.multi_api_share > 0 else None)
        known = KnownRows(rows, frozenset(wh.dialogue_ids_of_doc(doc.doc_id)),
                          frozenset(wh.existing_rejection_ids(list(shortfalls))), frozenset(wh.covered_links(doc.doc_id)))
        # no quote() here: on a Dask or Ray worker a quoted parameter arrives as a bare tuple
        return simulate_api_away_task.submit(doc, settings, known, partner,
                                             {d: docs_by_id[d] for d in wanted if d in docs_by_id}, cap.left_usd)

    for doc, fut in in_window(docs, submit, settings.max_concurrent_apis, lambda: not cap.exhausted):
        if fut is None:
            yield _nothing_done(doc, "api_not_started_spend_cap")
            continue
        try:
            away = fut.result()
        except Exception as exc:
            yield exc
            continue
        for call in away["calls"]:
            cap.charge(call.cost_usd)
            ledger(call)
        cap.count_refused(away["refused_calls"])
        put(away["records"])
        yield away["outcome"]


def _run_here(docs: list[DocumentedApi], client: LLMClient, wh: Warehouse, settings: Settings, put: Put,
              pairs: dict[str, DocumentedApi], docs_by_id: dict[str, DocumentedApi]) -> Iterator[dict[str, Any] | Exception]:
    """Each API's task on this process's threads (the ``threads`` runner): outcomes as they end."""
    # the gate is used on the client's loop only; quote(): Prefect would walk each (every doc's spec, per task)
    gate = asyncio.Semaphore(settings.max_concurrent_dialogues)
    return _finished_here([simulate_api_task.submit(d, quote(client), quote(wh), quote(settings), quote(gate),
                                                    quote(put), pairs.get(d.doc_id), quote(docs_by_id)) for d in docs])


@flow(name="simulate-corpus", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=4))
def simulate_corpus(limit: int | None = None, api_ids: list[str] | None = None,
                    settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Simulate dialogues for every valid documented API (or the ones named)."""
    settings_obj = flow_settings(settings)
    started = time.perf_counter()
    with open_warehouse(settings_obj) as wh, llm_session(settings_obj, wh) as (client, ledger):
        docs = wh.valid_docs(limit=limit, api_ids=api_ids)
        print(f"simulate-corpus: {len(docs)} documented APIs, {settings_obj.instructions_per_api} instructions each"
              f" (task runner: {settings_obj.simulation_task_runner})")
        every_doc = wh.valid_docs()  # partners may come from outside this run's selection
        settings_obj = spread_chain_share(settings_obj, every_doc)  # chains go to the APIs that have one
        pairs, docs_by_id = partners(every_doc, settings_obj.seed), {d.doc_id: d for d in every_doc}
        per_api = settings_obj.instructions_per_api
        progress = Progress("simulate-corpus-progress", "dialogues simulated", len(docs) * per_api, unit="dialogue")
        put = _counted(ledger.writer.put, progress)
        finished = (_run_here(docs, client, wh, settings_obj, put, pairs, docs_by_id)
                    if settings_obj.simulation_task_runner == "threads" else
                    _finished_away(docs, wh, client, ledger, put, settings_obj, pairs, docs_by_id))
        outcomes, failures = [], []
        for n, out in enumerate(finished, 1):
            apis_done = f"{n} of {len(docs)} APIs"
            if isinstance(out, Exception):
                failures.append(f"{type(out).__name__}: {out}")
                progress.advance(per_api, note=apis_done)
                continue
            outcomes.append(out)
            progress.advance(max(0, per_api - out["dialogues"]), note=apis_done)  # found done, or fewer instructions
            print(f"  {out['api']}: {out['instructions']} instructions, {out['dialogues']} dialogues {out['stops']}")
        progress.finish(f"{len(docs)} of {len(docs)} APIs")
        ledger.flush()
        stops: Counter[str] = Counter()
        for o in outcomes:
            stops.update(o["stops"])
        summary = {
            "apis": len(docs), "instructions": sum(o["instructions"] for o in outcomes),
            "dialogues": sum(o["dialogues"] for o in outcomes), "skipped_existing": sum(o["skipped"] for o in outcomes),
            "stop_reasons": dict(stops.most_common()), "task_failures": len(failures), "task_failure_messages": failures[:10],
            "task_runner": settings_obj.simulation_task_runner, "workers": sorted({o["worker"] for o in outcomes if "worker" in o}),
            **ledger.summary(), "seconds": round(time.perf_counter() - started, 1),
            "warehouse": {"instructions": wh.count("instructions"), "dialogues": wh.count("dialogues")},
            "by_kind": explain_no_chains(dialogues_by_kind(wh, planned_kinds(settings_obj)), every_doc),
            "by_shape": dialogue_shapes(wh, *shapes_off(settings_obj, step_mode(
                settings_obj.assistant_step_mode, client.config.embedded_only("assistant"), client.model_signature("assistant")))),
        }
    by_cat: dict[str, Counter[str]] = {}
    for o in outcomes:
        c = by_cat.setdefault(o["category"], Counter())
        c.update({"apis": 1, "instructions": o["instructions"], "dialogues run": o["dialogues"],
                  "final answers": o["stops"].get("final_answer", 0)})
    create_table_artifact(key="simulate-corpus-categories", description="Per category: APIs, instructions, dialogues run",
                          table=[{"category": k, **dict(v)} for k, v in sorted(by_cat.items())])
    create_markdown_artifact(
        key="simulate-corpus-summary", description="What simulate-corpus planned, ran and how dialogues ended",
        markdown="# simulate-corpus\n\n| APIs | instructions | dialogues run | already there | LLM calls | seconds |\n|---:|---:|---:|---:|---:|---:|\n"
                 f"| {summary['apis']} | {summary['instructions']} | {summary['dialogues']} | {summary['skipped_existing']} "
                 f"| {summary['llm_calls']} | {summary['seconds']} |\n\n**Stop reasons:** "
                 + (", ".join(f"{k}: {v}" for k, v in summary["stop_reasons"].items()) or "-") + "\n",
    )
    return summary


def run_simulate_corpus(settings: Settings, limit: int | None = None, api_ids: list[str] | None = None) -> dict[str, Any]:
    """Run the flow with these settings and the task runner they name (threads sized like build-toolset's)."""
    sized = simulate_corpus.with_options(task_runner=simulation_task_runner(settings, api_workers(settings)))
    return sized(limit=limit, api_ids=api_ids, settings=describe(settings))
