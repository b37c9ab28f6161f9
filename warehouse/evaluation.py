"""Evaluation reads and writes: sets of golden answers, runs, their scores.

An evaluation set is the golden answers of one ``source`` (``toolalpaca:eval_simulated.json`` when
imported; ``factory:heldout`` when built from held-out APIs). ``eval_items`` gives each instruction
with its golden calls and the doc it was written for; ``record_eval_run`` inserts a run once (its
ID is a content hash of its config); ``done_trials`` lets a re-run skip what is scored; ``scores``
reads view ``eval_scores``.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.ids import canonical_json
from warehouse.store import Warehouse


def eval_sets(wh: Warehouse) -> list[dict[str, Any]]:
    """Each set: source, instructions, APIs, golden calls."""
    return wh.frame("SELECT source AS set_source, count(*) AS instructions, count(DISTINCT api_id) AS apis, "
                    "sum(json_array_length(calls)) AS golden_calls FROM golden_answer GROUP BY source ORDER BY source").to_dicts()


def eval_items(wh: Warehouse, source: str) -> list[dict[str, Any]]:
    """The set's instructions in a stable order, each with ``calls`` (golden) and ``doc`` (the API doc
    it was written for: doc_id, api_id, name, category, spec, nl_documentation — used whatever its
    lint status: an evaluation set's documentation is taken as published)."""
    rows = wh.frame(
        "SELECT g.golden_id, g.instruction_id, i.text AS instruction, g.api_id, CAST(g.calls AS VARCHAR) AS calls, i.doc_id, "
        "d.name, d.category, CAST(d.spec AS VARCHAR) AS spec, d.nl_documentation "
        "FROM golden_answer g JOIN instruction i USING (instruction_id) JOIN api_doc d ON d.doc_id = i.doc_id "
        "WHERE g.source = ? ORDER BY d.name, g.instruction_id", [source]).to_dicts()
    docs: dict[str, dict[str, Any]] = {}
    out = []
    for r in rows:
        doc = docs.setdefault(r["doc_id"], {"doc_id": r["doc_id"], "api_id": r["api_id"], "name": r["name"], "category": r["category"],
                                            "spec": json.loads(r["spec"] or "null"), "nl_documentation": r["nl_documentation"] or ""})
        out.append({"golden_id": r["golden_id"], "instruction_id": r["instruction_id"], "instruction": r["instruction"],
                    "api_id": r["api_id"], "calls": json.loads(r["calls"]), "doc": doc})
    return out


def record_eval_run(wh: Warehouse, run_id: str, set_source: str, model: str, step_mode: str, trials: int,
                    judge_model: str | None, config: dict[str, Any], n_items: int) -> bool:
    """Insert the run unless it exists; returns whether it is new."""
    if wh.count("eval_run", "run_id = ?", [run_id]):
        return False
    wh.execute("INSERT INTO eval_run (run_id, set_source, model, step_mode, trials, judge_model, config, n_items) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [run_id, set_source, model, step_mode, trials, judge_model, canonical_json(config), n_items],
               write=True)
    return True


def done_trials(wh: Warehouse, run_id: str) -> set[tuple[str, int]]:
    """(golden_id, trial) pairs this run has scored."""
    return {(g, t) for g, t in wh.execute("SELECT golden_id, trial FROM eval_result WHERE run_id = ?", [run_id])}


def scores(wh: Warehouse, run_ids: list[str] | None = None, set_source: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``eval_scores``: the runs named, or the latest run of each model on ``set_source``."""
    if run_ids:
        return wh.frame("SELECT * FROM eval_scores WHERE run_id IN (SELECT unnest(?)) ORDER BY overall DESC NULLS LAST, model",
                        [run_ids]).to_dicts()
    return wh.frame("SELECT * FROM eval_scores WHERE set_source = ? QUALIFY row_number() OVER (PARTITION BY model, step_mode "
                    "ORDER BY created_at DESC) = 1 ORDER BY overall DESC NULLS LAST, model", [set_source]).to_dicts()
