"""BFCL v4 scoring, measured on BFCL's own data (needs ``make bfcl``: bfcl-eval installed without deps).

    .venv/bin/python benchmarks/bfcl_scoring.py [--limit N]

1. Agreement of ``tasks.evaluation.bfcl.score_entry`` with BFCL's own AST checker (imported with its model table
   stubbed out — the only part of it that needs the SDK dependency set) on outputs made from each
   entry's answer: the answer itself (first allowed value of each parameter) and six perturbations
   (a required parameter dropped, a value changed, the function renamed, an undocumented parameter
   added, parallel calls reversed, one call dropped).
2. The oracle fake through the real flow (``flows.evaluate_bfcl``, tools mode): a scripted model that
   answers each entry's first allowed values as tool calls — per-category accuracy, which is the
   ceiling the conversion to OpenAI tools and back leaves (100% when nothing is lost).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.evaluate_bfcl import bfcl_data_dir, read_category  # noqa: E402
from tasks.documentation.tool_definitions import tool_name  # noqa: E402
from tasks.evaluation.bfcl import CATEGORIES, BfclEntry, score_entry, tools_of  # noqa: E402


def bfcl_checker() -> Any:
    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = {"oracle": types.SimpleNamespace(underscore_to_dot=False)}
    sys.modules["bfcl_eval.constants.model_config"] = stub
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return lambda entry, calls: ast_checker(entry.functions, [{c["name"]: c["arguments"]} for c in calls], entry.answers,
                                            Language.PYTHON, entry.category, "oracle")["valid"]


def _concrete(value: Any) -> Any:
    """An allowed value as a model would write it: nested answers (dicts of allowed lists) resolved to
    their first allowed values, keys that may be left out left out."""
    if isinstance(value, dict):
        picked = {k: next((x for x in (v if isinstance(v, list) else [v]) if x != ""), None) for k, v in value.items()}
        return {k: _concrete(v) for k, v in picked.items() if v is not None}
    if isinstance(value, list):
        return [_concrete(v) for v in value]
    return value


def oracle_calls(entry: BfclEntry) -> list[dict[str, Any]]:
    """The answer's first allowed values; for live_relevance (no answer: any call is right) the first function."""
    if entry.category == "live_relevance":
        return [{"name": entry.functions[0]["name"], "arguments": {}}]
    out = []
    for answer in entry.answers:
        (name, allowed), = answer.items()
        out.append({"name": name, "arguments": {p: _concrete(values[0]) for p, values in allowed.items() if values and values[0] != ""}})
    return out


def perturbations(entry: BfclEntry) -> dict[str, list[dict[str, Any]]]:
    good = oracle_calls(entry)
    out = {"answer": good}
    if not good:
        return out
    first = good[0]
    fn = next((f for f in entry.functions if f["name"] == first["name"]), {})
    required = [p for p in (fn.get("parameters") or {}).get("required") or [] if p in first["arguments"]]
    if required:
        out["required_dropped"] = [{**first, "arguments": {k: v for k, v in first["arguments"].items() if k != required[0]}}, *good[1:]]
    for k, v in first["arguments"].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out["value_changed"] = [{**first, "arguments": {**first["arguments"], k: v + 7}}, *good[1:]]
            break
        if isinstance(v, str):
            out["value_changed"] = [{**first, "arguments": {**first["arguments"], k: v + " zz"}}, *good[1:]]
            break
    out["renamed"] = [{**first, "name": first["name"] + "_v2"}, *good[1:]]
    out["extra_parameter"] = [{**first, "arguments": {**first["arguments"], "zz_extra": 1}}, *good[1:]]
    if len(good) > 1:
        out["reversed"] = list(reversed(good))
        out["call_dropped"] = good[1:]
    return out


def agreement(data: Path, limit: int | None) -> dict[str, Any]:
    theirs = bfcl_checker()
    rows: dict[str, Counter[str]] = {}
    examples = []
    for category in CATEGORIES:
        if "relevance" in category:  # no answers: BFCL scores these by whether any call was made, not by the AST checker
            continue
        c = rows.setdefault(category, Counter())
        for entry in read_category(data, category)[:limit]:
            for kind, calls in perturbations(entry).items():
                mine = not score_entry(entry, calls)
                try:
                    ref = bool(theirs(entry, calls))
                except Exception as exc:  # their checker raising on an input is recorded, not hidden
                    c["their_checker_raised"] += 1
                    examples.append((entry.entry_id, kind, f"their checker raised {type(exc).__name__}"))
                    continue
                c["outputs"] += 1
                c["agree"] += mine == ref
                c[f"{kind}:{'pass' if mine else 'fail'}"] += 1
                if mine != ref and len(examples) < 12:
                    examples.append((entry.entry_id, kind, f"mine {mine}, BFCL {ref}"))
    total = sum(c["outputs"] for c in rows.values())
    agree = sum(c["agree"] for c in rows.values())
    return {"outputs": total, "agreement": round(100 * agree / max(total, 1), 2),
            "per_category": {k: {"outputs": v["outputs"], "agree": v["agree"]} for k, v in rows.items()}, "disagreements": examples}


def oracle_flow(data: Path, limit: int | None) -> dict[str, Any]:
    """The oracle fake through the real flow, in a temporary work dir."""
    import os

    from toolfactory.testing.fake_llm import FakeLLM, FakeReply

    def key(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
        return json.dumps([m.get("content") for m in messages if m.get("role") != "system"] + sorted(t["function"]["name"] for t in tools))

    entries = {key(e.messages, tools_of(e)): e for c in CATEGORIES for e in read_category(data, c)[:limit]}

    def answer(req: Any) -> FakeReply:
        entry = entries.get(key(req.messages, req.params.get("tools") or []))
        calls = oracle_calls(entry) if entry else []
        return FakeReply(tool_calls=[{"id": f"c{i}", "name": tool_name(c["name"]), "arguments": c["arguments"]}
                                     for i, c in enumerate(calls)]) if calls else FakeReply("No function fits.")

    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        os.chdir(tmp)
        Path("toolfactory.yaml").write_text(f"backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\nbfcl_data_dir: {data}\n")
        from flows.evaluate_bfcl import run_evaluate_bfcl
        from flows.settings import load_settings

        fake.respond("assistant", answer)
        s = load_settings()
        if limit:
            s = s.with_overrides(eval_max_per_api=limit)
        started = time.perf_counter()
        out = run_evaluate_bfcl(s, "bfcl:" + ",".join(CATEGORIES))
        seconds = time.perf_counter() - started
        os.chdir(ROOT)
    n = sum(v["entries"] for k, v in out.items() if k.startswith("bfcl:"))
    return {"entries": n, "seconds": round(seconds, 1), "seconds_per_100": round(100 * seconds / max(n, 1), 2),
            "accuracy": {k: v["ast_accuracy"] for k, v in out.items() if k.startswith("bfcl:")}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, help="at most this many entries of each category")
    a = p.parse_args()
    data = bfcl_data_dir(None)
    print(json.dumps({"checker_agreement": agreement(data, a.limit), "oracle_flow": oracle_flow(data, a.limit)}, indent=1))


if __name__ == "__main__":
    main()
