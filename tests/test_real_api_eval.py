"""A set in ToolAlpaca's real-API layout, end to end (issue #17, point 5): imported with its auth values
dropped, evaluated with every function of each API offered, scored by exact match and the process rules,
and no auth value stored anywhere in the warehouse."""

from __future__ import annotations

import json

import pytest

from flows.docs_import import import_docs
from flows.evaluate import run_evaluate
from warehouse import Warehouse

SET = "toolalpaca:toolalpaca_real.json"


def assistant(req):
    """Calls what each instruction needs, never an auth value (it is not offered)."""
    if any(m["role"] == "user" and m["content"].startswith("Observation") for m in req.messages[2:]):
        return "Thought: done\nFinal Answer: Here it is."
    q = req.messages[1]["content"]
    if "134.201.250.155" in q:
        return 'Thought: look up\nAction: lookupIP\nAction Input: {"ip": "134.201.250.155"}'
    if "German" in q:  # a key the model passes never counts for or against it
        return 'Thought: look up\nAction: lookupIP\nAction Input: {"ip": "8.8.8.8", "language": "de", "access_key": "k-123"}'
    if "city am I" in q:
        return "Thought: mine\nAction: checkOwnIP\nAction Input: {}"
    return 'Thought: wrong one\nAction: getCountry\nAction Input: {"code": "FR"}'


@pytest.fixture
def settings(workdir, fixtures, prefect_harness, fake_llm):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text("backends_file: fake\nwarehouse_path: wh.duckdb\nassistant_step_mode: react\n"
                                              "llm_num_retries: 0\ndialogue_step_limit: 4\neval_judge: false\neval_report_dir: r\n")
    s = load_settings()
    assert import_docs(s, fixtures / "sources" / "toolalpaca_real.json")["usable"] == 2
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"city": "Los Angeles", "country": "US"})
    return s


def test_a_real_api_set_evaluates_with_all_functions_and_no_auth_value(settings, fake_llm):
    out = run_evaluate(settings, SET)
    assert out["instructions"] == 6
    with Warehouse.open(settings.warehouse_path) as wh:
        rows = wh.frame("SELECT api_name, instruction, em_correct, process_rule, process_rule_reasons FROM eval_results").to_dicts()
        def text(*tables):
            return " ".join(str(v) for t in tables for row in wh.execute(f"SELECT * FROM {t}") for v in row)

        everything = text("golden_answer", "api_doc", "function_doc", "eval_result", "llm_call", "instruction")
        imported = text("golden_answer", "function_doc", "instruction")
    ip = {r["instruction"]: r for r in rows if r["api_name"] == "IP Lookup"}
    assert len(ip) == 3 and all(r["em_correct"] and r["process_rule"] for r in ip.values()), ip
    # every function of the API was offered to the assistant, and no auth parameter or value
    offered = [r.messages[0]["content"] for r in fake_llm.calls_for("assistant")]
    assert sum("lookupIP" in o and "checkOwnIP" in o for o in offered) >= 3
    assert all("access_key" not in o for o in offered)
    assert "YOUR_ACCESS_KEY" not in everything and "access_key" not in imported
    assert out["exact_match"] == pytest.approx(100 * sum(r["em_correct"] for r in rows) / 6, abs=0.1)
    country = {r["instruction"]: json.loads(r["process_rule_reasons"]) for r in rows if r["api_name"] == "Country Info"}
    assert not any(r["em_correct"] or r["process_rule"] for r in rows if r["api_name"] == "Country Info")
    assert "missing getHolidays" in country["Which holidays does Spain have in 2024?"]
    assert "expected 'PT'" in country["What is the capital of Portugal?"][0]


def test_saved_predictions_on_a_real_api_set_ignore_auth_arguments(settings, workdir):
    from flows.evaluate_predictions import run_evaluate_predictions

    call = {"id": "c", "type": "function", "function": {"name": "lookupIP",
                                                        "arguments": json.dumps({"ip": "134.201.250.155", "access_key": "k-1"})}}
    messages = [{"role": "user", "content": "Where is 134.201.250.155?"}, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c", "content": "{}"}, {"role": "assistant", "content": "Los Angeles."}]
    (workdir / "p.jsonl").write_text(json.dumps({"messages": messages}))
    out = run_evaluate_predictions(settings, SET, str(workdir / "p.jsonl"))
    assert (out["matched"], out["without_prediction"]) == (1, 5)
    assert out["exact_match"] == pytest.approx(100 / 6, abs=0.1) and out["process_rule"] == pytest.approx(100 / 6, abs=0.1)
