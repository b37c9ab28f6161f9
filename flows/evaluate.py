"""Flow ``evaluate`` (issue #6): a model on an evaluation set of unseen tools.

The model under test plays the assistant (``model``: a model group of the backends file or a
litellm model string; default: the file's assistant) over the simulated executor (or the real
one, ``executor_mode: real``), greedy by default (``eval_temperature``), ``eval_trials`` times per
instruction. Each trial is scored by exact match against the golden calls (no LLM) and by the
judge (the paper's protocol), and lands in ``eval_result`` (view ``eval_results``; ``eval_scores``
per run). The run ID hashes its config, so a re-run scores only what is missing and the judge's
calls come from the ledger cache. The report (the paper's table, markdown and SVG) goes to
``eval_report_dir`` and to a Prefect artifact.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.eval_report import markdown, svg_chart
from flows.progress import Progress
from flows.runtime import cut_short, flow_settings, gated, llm_session, open_warehouse, retry_reason, step_mode, unless_spent
from flows.settings import Settings, describe
from flows.simulation_setup import ApiSetups
from schemas.errors import NotFound
from schemas.ids import content_id
from schemas.records import EvalResult, Step
from schemas.views import EvalItem
from tasks.curation.filters import call_steps
from tasks.documentation.spec_auth import calls_without_auth
from tasks.evaluation.eval_judge import JudgeVerdict, judge_solution
from tasks.evaluation.eval_judge import prompt_version as judge_prompt_version
from tasks.evaluation.exact_match import calls_with_groups, parameter_table, score_calls
from tasks.evaluation.process_score import score_process
from tasks.evaluation.split import Side, leakage
from tasks.llm.backend import LLMClient
from tasks.simulation.assistant import AssistantConfig, Task, run_dialogue
from warehouse import Warehouse
from warehouse.evaluation import done_trials, eval_items, latest_training_snapshot, leakage_sides, record_eval_run, scores
from warehouse.training_runs import run_row

SCORE_KEYS = ("process", "response", "overall", "exact_match", "process_rule", "call_precision", "call_recall", "pass_k", "pass_k_exact",
              "overall_spread")


async def _trial(item: EvalItem, trial: int, setup: Any, client: LLMClient, cfg: AssistantConfig, models: dict[str, str],
                 run_id: str, judge: bool, settings: Settings) -> EvalResult | None:
    doc = item.doc
    task = Task(doc.api_id, doc.doc_id, item.instruction_id, item.instruction)
    try:
        d = await run_dialogue(task, setup.functions_doc, setup.names, client, setup.executor, models, cfg, setup.tools)
        steps, final, stop = d.steps, d.final_answer, d.stop_reason
    except Exception as exc:  # a crash fails this trial (it stays in the denominator), the others go on
        steps, final, stop = [], f"{type(exc).__name__}: {exc}"[:500], "crashed"
    if cut_short(steps):  # an LLM call failed after retries (or the spend cap): not scored, the next run runs this trial
        return None
    if stop == "crashed":
        verdict = JudgeVerdict("error", "no", "no", final or "")
    elif judge:
        if client.budget.exhausted:
            return None
        verdict = await judge_solution(client, documentation=setup.context.nl_documentation, instruction=item.instruction, golden=item.calls,
                                       steps=steps, final_answer=final, subject_id=item.golden_id, seed=settings.seed,
                                       max_tokens=settings.judge_max_tokens)
        if verdict.status == "error":  # the judge's call failed after retries: scored by the next run
            return None
    else:
        verdict = JudgeVerdict("off", None, None, "")
    return eval_result(item, run_id, trial, steps, final, stop, verdict, setup.context.context_id)


def eval_result(item: EvalItem, run_id: str, trial: int, steps: Sequence[Step], final: str | None, stop: str,
                verdict: JudgeVerdict, context_id: str | None = None) -> EvalResult:
    """One trial's record: the trajectory's calls (auth arguments dropped: a key the model passed never
    counts) scored by exact match and the process rules against the item's golden calls, with the verdict;
    ``context_id``: the tool context the model and the judge were shown."""
    spec = item.doc.spec
    made = calls_without_auth([s.to_dict() for s in call_steps(steps)], spec)
    calls = calls_without_auth(calls_with_groups(call_steps(steps)), spec)
    table = parameter_table(spec or {})
    em = score_calls(item.calls, calls, table)
    rule = score_process(item.calls, made, item.instruction, table)
    return EvalResult(content_id("eval_result", run_id, item.golden_id, trial), run_id, item.golden_id, item.instruction_id,
                      item.api_id, trial, [s.to_dict() for s in steps], final, stop, calls, em.correct, em.names_correct, em.matched, em.n_golden,
                      em.n_predicted, em.reasons[:20], verdict.status, verdict.process, verdict.response, verdict.reason[:600],
                      rule.accepted, rule.reasons[:20], context_id)


def model_reference(wh: Any, model: str | None) -> str | None:
    """A training run ID or a checkpoint folder becomes ``toolfactory-hf/<folder>`` (evaluated in
    this process through transformers); anything else is a model group or litellm model string."""
    if model is None:
        return None
    run = run_row(wh, model)
    folder = Path(run["config"]["output_dir"]) if run else Path(model)
    return f"toolfactory-hf/{folder.resolve()}" if folder.is_dir() else model


@flow(name="evaluate", log_prints=True)
def evaluate(set_source: str, model: str | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on the set; returns the run's scores and where the report is."""
    s = flow_settings(settings)
    started = time.perf_counter()
    with open_warehouse(s) as wh:
        model = model_reference(wh, model)
    with open_warehouse(s) as wh, llm_session(s, wh, {"assistant": model} if model else None) as (client, ledger):
        items = eval_items(wh, set_source, s.eval_max_per_api)
        if not items:
            raise NotFound(f"no evaluation set {set_source!r}: see `toolfactory evaluate --list`")
        mode = step_mode(s.assistant_step_mode, client.config.embedded_only("assistant"), client.model_signature("assistant"))
        cfg = AssistantConfig(step_mode=mode, step_limit=s.dialogue_step_limit, max_errors=s.dialogue_max_errors,
                              max_tokens=s.assistant_max_tokens, temperature=s.eval_temperature, seed=s.seed)
        models = {role: client.model_signature(role) for role in ("assistant", "executor", "user")}
        judge_model = client.model_signature("judge") if s.eval_judge else None
        config = {"set": set_source, "models": models, "step_mode": mode, "trials": s.eval_trials, "step_limit": cfg.step_limit,
                  "max_errors": cfg.max_errors, "max_tokens": cfg.max_tokens, "temperature": cfg.temperature, "seed": s.seed,
                  "judge": judge_model, "judge_prompt": judge_prompt_version() if s.eval_judge else None,
                  "executor_mode": s.executor_mode, "items": [i.golden_id for i in items]}
        run_id = content_id("eval_run", config)
        record_eval_run(wh, run_id, set_source, models["assistant"], mode, s.eval_trials, judge_model,
                        {k: v for k, v in config.items() if k != "items"}, len(items))
        done = done_trials(wh, run_id)
        setups: dict[str, ApiSetups] = {}
        futures = _schedule_trials(items, done, setups, client, s, cfg, models, run_id)
        ledger.writer.put([st.single.context for st in setups.values()])  # what each API's trials are shown, once
        print(f"evaluate: {len(items)} instructions × {s.eval_trials} trials of {models['assistant']} on {set_source} "
              f"({len(futures)} to run, {len(done)} scored before), run {run_id}")
        left: Counter[str] = Counter()  # trials not scored, by why: the next run runs them
        progress = Progress("evaluate-progress", f"trials of {models['assistant']}", len(futures), unit="trial")
        for fut in as_completed(futures):
            result = fut.result()
            if result is None:
                left[retry_reason(client)] += 1
            else:
                ledger.writer.put([result])
            progress.advance(1)
        progress.finish()
        ledger.flush()
        for st in setups.values():
            st.close()
        summary = {"run_id": run_id, "set": set_source, "model": models["assistant"], "step_mode": mode, "instructions": len(items),
                   "trials": s.eval_trials, "ran_now": len(futures) - sum(left.values()),
                   "stopped_by_spend_cap": left["stopped_by_spend_cap"], "retryable": left["retryable_llm_error"],
                   **_scores_and_leakage(wh, run_id, items), **ledger.summary(), "seconds": round(time.perf_counter() - started, 1)}
        board = scores(wh, set_source=set_source)
    return {**summary, **write_report(s, board, set_source)}


def _schedule_trials(items: list[EvalItem], done: set[tuple[str, int]], setups: dict[str, ApiSetups], client: LLMClient,
                     s: Settings, cfg: AssistantConfig, models: dict[str, str], run_id: str) -> list[Any]:
    """Submit every trial not scored yet (at most ``max_concurrent_dialogues`` at once; none once the
    spend cap is reached); ``setups`` gets each API's simulation setup (closed by the caller)."""
    gate = asyncio.Semaphore(s.max_concurrent_dialogues)
    futures = []
    for item in items:
        doc = item.doc
        if doc.doc_id not in setups:
            setups[doc.doc_id] = ApiSetups(doc, client, s, cfg.step_mode)
        setup = setups[doc.doc_id].single
        for trial in range(s.eval_trials):
            if (item.golden_id, trial) in done:
                continue
            trial_cfg = AssistantConfig(**{**cfg.__dict__, "seed": s.seed + 1000 * trial})
            futures.append(client.submit(gated(gate, unless_spent(client, lambda item=item, trial=trial, setup=setup, c=trial_cfg: _trial(
                item, trial, setup, client, c, models, run_id, s.eval_judge, s)))))
    return futures


def _scores_and_leakage(wh: Warehouse, run_id: str, items: list[EvalItem]) -> dict[str, Any]:
    """The run's scores (None before any trial is scored) and how much the tested APIs overlap the training snapshot."""
    test, train = leakage_sides(wh, sorted({i.api_id for i in items}), latest_training_snapshot(wh))
    leak = leakage(Side(**test), Side(**train))
    found = scores(wh, [run_id])
    row = found[0] if found else dict.fromkeys(SCORE_KEYS)  # nothing scored yet (a spend cap before the first trial)
    return {**{k: row[k] for k in SCORE_KEYS},
            "leakage": {k: leak[k] for k in ("n_name_overlaps", "n_description_overlaps", "instructions_sharing_ngram")}}


def write_report(s: Settings, board: list[dict[str, Any]], set_source: str, text: str | None = None) -> dict[str, str]:
    """The set's leaderboard (``text``, else the paper's table of ``board``) as markdown, and ``board``
    as SVG, in ``eval_report_dir`` and as a Prefect artifact; returns where the files are (``report``, ``chart``)."""
    text = text or markdown(board, f"Evaluation on {set_source}")
    out = Path(s.eval_report_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "eval-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in set_source)
    (out / f"{stem}.md").write_text(text, "utf-8")
    (out / f"{stem}.svg").write_text(svg_chart(board), "utf-8")
    create_markdown_artifact(key="evaluate-report", markdown=text, description=f"Scores on {set_source}")
    return {"report": str(out / f"{stem}.md"), "chart": str(out / f"{stem}.svg")}


def run_evaluate(settings: Settings, set_source: str, model: str | None = None) -> dict[str, Any]:
    return evaluate(set_source=set_source, model=model, settings=describe(settings))


def list_sets(settings: Settings) -> str:
    import polars as pl

    from warehouse.evaluation import eval_sets
    from warehouse.readonly_sql import format_frame

    with open_warehouse(settings) as wh:
        return format_frame(pl.DataFrame(eval_sets(wh)))
