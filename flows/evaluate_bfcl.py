"""Flow ``evaluate-bfcl``: a model on BFCL v4's single-turn categories, scored by its AST semantics
(``toolfactory evaluate --set bfcl:<category>[,<category>…] [--model M] [--per-api N]``).

Each entry is one completion of the model under test: in ``tools`` mode its functions are offered as
OpenAI tools and several ``tool_calls`` in the one reply are parallel calls; the embedded model, which
cannot call tools natively, answers a JSON object of calls under a schema (``json``); a checkpoint the
factory trained answers ReAct text, every ``Action`` / ``Action Input`` pair of the reply a call
(``react``). ``assistant_step_mode`` other than ``auto`` forces one. The calls are
scored by ``tasks.evaluation.bfcl.score_entry`` and land as an evaluation run per category (``set_source``
``bfcl:<category>``, exact match = AST accuracy), so ``eval_scores`` and the report hold them beside the
ToolAlpaca sets. An entry whose LLM call failed, or that the spend cap (``max_cost_usd``) stopped, is not
landed: the next run does it. Data: setting
``bfcl_data_dir``, else the installed ``bfcl_eval`` package's ``data`` folder (``make bfcl``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from prefect import flow

from flows.eval_report import bfcl_markdown
from flows.evaluate import model_reference, write_report
from flows.progress import Progress
from flows.runtime import flow_settings, gated, llm_session, open_warehouse, step_mode, unless_spent
from flows.settings import Settings, describe
from schemas.errors import NotFound
from schemas.ids import content_id
from schemas.records import EvalResult
from tasks.evaluation.bfcl import (
    BfclEntry,
    category_name,
    nl_functions,
    original_names,
    parse_category,
    react_calls,
    score_entry,
    tools_of,
)
from tasks.formats.chat_format import decode_json_text
from tasks.llm.backend import LLMClient
from tasks.prompts import load_prompt
from warehouse.evaluation import done_trials, latest_scores, record_eval_run, scores

PROTOCOL = "bfcl-calls:3"  # the request's shape (prompt, schema): part of a run's ID, so a change re-runs


def bfcl_data_dir(configured: str | None) -> Path:
    """The BFCL data folder: the setting, else the installed ``bfcl_eval`` package's (found without importing it)."""
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("BFCL data not found: `make bfcl` (pip install --no-deps bfcl-eval) or set bfcl_data_dir")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_category(data_dir: Path, category: str) -> list[BfclEntry]:
    """The category's entries with their answers, read from BFCL's data folder."""
    answers = data_dir / "possible_answer" / f"BFCL_v4_{category}.json"
    return parse_category(category, (data_dir / f"BFCL_v4_{category}.json").read_text("utf-8"),
                          answers.read_text("utf-8") if answers.is_file() else None)


def _calls(entry: BfclEntry, result: Any, mode: str) -> list[dict[str, Any]]:
    names = original_names(entry)
    if mode == "tools":
        raw = [{"name": c.get("name"), "arguments": c.get("arguments")} for c in result.tool_calls or []]
    elif mode == "react":
        raw = react_calls(result.text)
    else:
        raw = (result.parsed or {}).get("calls") if isinstance(result.parsed, dict) else []
    out = []
    for c in raw if isinstance(raw, list) else []:
        args = decode_json_text(c.get("arguments")) if isinstance(c, dict) else None
        name = str(c.get("name") or "") if isinstance(c, dict) else ""
        out.append({"name": names.get(name, name), "arguments": args})
    return out


def _request(entry: BfclEntry, mode: str) -> dict[str, Any]:
    """The messages and the tools or schema of one entry's completion."""
    prompt = load_prompt({"tools": "bfcl", "json": "bfcl_json", "react": "bfcl_react"}[mode])
    functions = nl_functions(entry) if mode == "react" else json.dumps([t["function"] for t in tools_of(entry)], ensure_ascii=False)
    system = prompt.system.replace("${functions}", functions)
    messages = [{"role": "system", "content": system}] + [m for m in entry.messages if m.get("role") != "system"]
    extra_system = "\n".join(str(m.get("content") or "") for m in entry.messages if m.get("role") == "system")
    if extra_system:
        messages[0]["content"] += "\n\n" + extra_system
    if mode == "tools":
        return {"messages": messages, "tools": tools_of(entry), "prompt_version": prompt.version}
    if mode == "react":
        return {"messages": messages, "prompt_version": prompt.version}
    return {"messages": messages, "json_schema": calls_schema(entry), "schema_name": "function_calls", "prompt_version": prompt.version}


def calls_schema(entry: BfclEntry) -> dict[str, Any]:
    """The JSON-mode reply: a list of calls, each one of the entry's functions with its own parameters
    (types, required ones, nothing undocumented) — a weak model under a grammar cannot write a call
    that is malformed, only a wrong one."""
    def strict(schema: dict[str, Any]) -> dict[str, Any]:
        out = {**schema, "type": "object", "additionalProperties": False}
        out.setdefault("properties", {})
        return out

    alternatives = [{"type": "object", "required": ["name", "arguments"], "additionalProperties": False, "properties": {
        "name": {"const": t["function"]["name"]}, "arguments": strict(t["function"]["parameters"])}} for t in tools_of(entry)]
    return {"type": "object", "required": ["calls"], "additionalProperties": False, "properties": {
        "calls": {"type": "array", "maxItems": 8, "items": {"anyOf": alternatives}}}}


async def run_entry(entry: BfclEntry, run_id: str, client: LLMClient, mode: str, s: Settings) -> EvalResult | None:
    """One entry: the model's reply, its calls and the AST verdict (None: the LLM call failed)."""
    result = await client.acomplete("assistant", **_request(entry, mode), subject_id=entry.entry_id,
                                    max_tokens=s.assistant_max_tokens, temperature=s.eval_temperature, seed=s.seed)
    if result.error:
        return None
    calls = _calls(entry, result, mode)
    reasons = score_entry(entry, calls)
    golden_id = content_id("bfcl", entry.category, entry.entry_id)
    steps = [{"action": c["name"], "action_input": c["arguments"]} for c in calls]
    names_ok = sorted(c["name"] for c in calls) == sorted(next(iter(a)) for a in entry.answers)
    return EvalResult(content_id("eval_result", run_id, golden_id, 0), run_id, golden_id, golden_id, content_id("bfcl", entry.category),
                      0, steps, result.text or None, "final_answer", steps, not reasons, names_ok,
                      len(entry.answers) if not reasons else 0, len(entry.answers), len(calls), reasons[:20], "off", None, None, "")


@flow(name="evaluate-bfcl", log_prints=True)
def evaluate_bfcl(categories: list[str], model: str | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run and score each category; returns per-category accuracy and where the report is."""
    s = flow_settings(settings)
    started = time.perf_counter()
    data = bfcl_data_dir(s.bfcl_data_dir)
    with open_warehouse(s) as wh:
        model = model_reference(wh, model)
    per_category: dict[str, Any] = {}
    with open_warehouse(s) as wh, llm_session(s, wh, {"assistant": model} if model else None) as (client, ledger):
        signature = client.model_signature("assistant")
        mode = step_mode(s.assistant_step_mode, client.config.embedded_only("assistant"), signature, otherwise="tools")
        gate = asyncio.Semaphore(s.max_concurrent_dialogues)
        for name in [category_name(c) for c in categories]:
            entries = read_category(data, name)[: s.eval_max_per_api or None]
            set_source = f"bfcl:{name}"
            config = {"set": set_source, "model": signature, "mode": mode, "protocol": PROTOCOL, "max_tokens": s.assistant_max_tokens,
                      "temperature": s.eval_temperature, "seed": s.seed, "entries": [e.entry_id for e in entries]}
            run_id = content_id("eval_run", config)
            record_eval_run(wh, run_id, set_source, signature, mode, 1, None, {k: v for k, v in config.items() if k != "entries"},
                            len(entries))
            done = {g for g, _ in done_trials(wh, run_id)}
            todo = [e for e in entries if content_id("bfcl", name, e.entry_id) not in done]
            print(f"evaluate-bfcl: {set_source}, {len(entries)} entries of {signature} ({len(todo)} to run), run {run_id}")
            progress = Progress("evaluate-bfcl-progress", f"{set_source} entries", len(todo), unit="entry")
            results = []
            work = [client.submit(gated(gate, unless_spent(client, lambda e=e, r=run_id: run_entry(e, r, client, mode, s)))) for e in todo]
            for fut in as_completed(work):  # None: the LLM call failed, or the spend cap stopped it — the next run does it
                results.append(fut.result())
                ledger.writer.put([results[-1]] if results[-1] is not None else [])
                progress.advance(1)
            progress.finish()
            ledger.flush()
            row = (scores(wh, [run_id]) or [{}])[0]
            per_category[name] = {"entries": len(entries), "ran_now": len(todo), "left_for_next_run": sum(r is None for r in results),
                                  "ast_accuracy": row.get("exact_match")}
        text = bfcl_markdown(*_boards(wh))
        board = [r for c in per_category for r in scores(wh, set_source=f"bfcl:{c}")]
    summary = {"model": signature, "mode": mode, **{f"bfcl:{c}": v for c, v in per_category.items()},
               "seconds": round(time.perf_counter() - started, 1)}
    return {**summary, **write_report(s, board, "bfcl", text)}


def _boards(wh: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(latest run of each model on each BFCL category, latest run of each model on any other set)."""
    latest = latest_scores(wh)
    bfcl = [r for r in latest if r["set_source"].startswith("bfcl:")]
    other = sorted((r for r in latest if not r["set_source"].startswith("bfcl:")), key=lambda r: r["created_at"])
    return bfcl, other


def run_evaluate_bfcl(settings: Settings, set_source: str, model: str | None = None) -> dict[str, Any]:
    """``set_source``: ``bfcl:<category>[,<category>…]``."""
    categories = [c.strip() for c in set_source.removeprefix("bfcl:").split(",") if c.strip()]
    return evaluate_bfcl(categories=categories, model=model, settings=describe(settings))
