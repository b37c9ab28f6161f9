"""Flow ``evaluate-predictions``: score outputs a model produced elsewhere against an evaluation set,
without running the model (``toolfactory evaluate --set S --predictions FILE [--model NAME]``).

The file (``tasks.evaluation.predictions``: the paper's judged-outputs layout or JSONL of OpenAI ``messages``) is
matched to the set's instructions; each matched one gets exact match, the rule-based process score and,
with ``eval_judge``, the judge — landed as one trial of an evaluation run (``step_mode`` ``predictions``,
its ID a hash of the set, the file's content and the scorers), so the report and ``eval_scores`` hold it
beside live runs. An instruction of the set without a prediction counts as wrong (``no_prediction``);
predictions that match nothing are listed, never scored.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

from prefect import flow

from flows.contexts import context_for
from flows.evaluate import SCORE_KEYS, eval_result, write_report
from flows.files import read_capped
from flows.runtime import flow_settings, gated, llm_session, open_warehouse
from flows.settings import Settings, describe
from schemas.errors import NotFound
from schemas.ids import content_id
from schemas.records import EvalResult, ToolContext
from schemas.views import EvalItem
from tasks.evaluation.eval_judge import JudgeVerdict, judge_solution
from tasks.evaluation.eval_judge import prompt_version as judge_prompt_version
from tasks.evaluation.predictions import Prediction, match_predictions, read_predictions
from warehouse.evaluation import done_trials, eval_items, record_eval_run, scores


async def score_prediction(item: EvalItem, p: Prediction | None, run_id: str, client: Any, judge: bool,
                           settings: Settings, context: ToolContext) -> EvalResult | None:
    """One item's result (None: the judge's call failed, the next run scores it); ``context``: what the
    set shows a model for the item's API (the judge reads its documentation)."""
    steps = p.steps if p else []
    final = p.final_answer if p else None
    stop = "no_prediction" if p is None else "final_answer" if (final or "").strip() else "gave_up"
    if p is None:
        verdict = JudgeVerdict("no_call", "no", "no", "no prediction for this instruction") if judge else JudgeVerdict("off", None, None, "")
    elif judge:
        verdict = await judge_solution(client, documentation=context.nl_documentation, instruction=item.instruction,
                                       golden=item.calls, steps=steps, final_answer=final, subject_id=item.golden_id,
                                       seed=settings.seed, max_tokens=settings.judge_max_tokens)
        if verdict.status == "error":
            return None
    else:
        verdict = JudgeVerdict("off", None, None, "")
    return eval_result(item, run_id, 0, steps, final, stop, verdict, context.context_id)


@flow(name="evaluate-predictions", log_prints=True)
def evaluate_predictions(set_source: str, path: str, model: str | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score the file's predictions on the set; returns the run's scores, what was left out and the report."""
    s = flow_settings(settings)
    started = time.perf_counter()
    raw = read_capped(Path(path), s.import_max_bytes)
    predictions, problems = read_predictions(raw.decode("utf-8", errors="replace"))
    with open_warehouse(s) as wh, llm_session(s, wh) as (client, ledger):
        items = eval_items(wh, set_source, s.eval_max_per_api)
        if not items:
            raise NotFound(f"no evaluation set {set_source!r}: see `toolfactory evaluate --list`")
        matched, unmatched = match_predictions(items, predictions)
        judge_model = client.model_signature("judge") if s.eval_judge else None
        name = model or f"predictions:{Path(path).name}"
        config = {"set": set_source, "predictions_sha256": hashlib.sha256(raw).hexdigest(), "model": name, "judge": judge_model,
                  "judge_prompt": judge_prompt_version() if s.eval_judge else None, "items": [i.golden_id for i in items]}
        run_id = content_id("eval_run", config)
        record_eval_run(wh, run_id, set_source, name, "predictions", 1, judge_model,
                        {k: v for k, v in config.items() if k != "items"}, len(items))
        done = done_trials(wh, run_id)
        gate = asyncio.Semaphore(s.max_concurrent_dialogues)  # judge calls in flight
        contexts = {i.doc.doc_id: context_for([i.doc], [], "", "predictions") for i in items}  # a set's API as its documents show it
        ledger.writer.put(list(contexts.values()))
        futures = [client.submit(gated(gate, score_prediction(i, matched.get(i.golden_id), run_id, client, s.eval_judge, s,
                                                              contexts[i.doc.doc_id])))
                   for i in items if (i.golden_id, 0) not in done]
        results = [f.result() for f in futures]
        ledger.writer.put([r for r in results if r is not None])
        ledger.flush()
        row = (scores(wh, [run_id]) or [dict.fromkeys(SCORE_KEYS)])[0]
        board = scores(wh, set_source=set_source)
    summary = {"run_id": run_id, "set": set_source, "model": name, "instructions": len(items), "predictions": len(predictions),
               "matched": len(matched), "without_prediction": len(items) - len(matched), "unmatched": len(unmatched),
               "unreadable": len(problems), "judge_failed": sum(r is None for r in results),
               **{k: row[k] for k in SCORE_KEYS}, "seconds": round(time.perf_counter() - started, 1),
               "left_out": (problems + unmatched)[:20]}
    return {**summary, **write_report(s, board, set_source)}


def run_evaluate_predictions(settings: Settings, set_source: str, path: str, model: str | None = None) -> dict[str, Any]:
    return evaluate_predictions(set_source=set_source, path=str(path), model=model, settings=describe(settings))
