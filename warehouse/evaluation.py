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
from schemas.records import Dialogue
from schemas.views import DocumentedApi, EvalItem
from warehouse.corpus import DIALOGUE_COLUMNS, dialogue_of
from warehouse.store import Warehouse


def eval_sets(wh: Warehouse) -> list[dict[str, Any]]:
    """Each set: source, instructions, APIs, golden calls."""
    return wh.frame("SELECT source AS set_source, count(*) AS instructions, count(DISTINCT api_id) AS apis, "
                    "sum(json_array_length(calls)) AS golden_calls FROM golden_answer GROUP BY source ORDER BY source").to_dicts()


def eval_items(wh: Warehouse, source: str, per_api: int | None = None) -> list[EvalItem]:
    """The set's instructions in a stable order, each with its golden calls and the API doc it was
    written for (used whatever its lint status: an evaluation set's documentation is taken as
    published); ``per_api``: at most this many of each API."""
    rows = wh.frame(
        "SELECT g.golden_id, g.instruction_id, i.text AS instruction, g.api_id, CAST(g.calls AS VARCHAR) AS calls, i.doc_id, "
        "d.name, d.category, CAST(d.spec AS VARCHAR) AS spec, d.nl_documentation "
        "FROM golden_answer g JOIN instruction i USING (instruction_id) JOIN api_doc d ON d.doc_id = i.doc_id "
        "WHERE g.source = ? QUALIFY ?::INTEGER IS NULL OR row_number() OVER (PARTITION BY g.api_id ORDER BY g.instruction_id) <= ? "
        "ORDER BY d.name, g.instruction_id", [source, per_api, per_api]).to_dicts()
    docs: dict[str, DocumentedApi] = {}
    out = []
    for r in rows:
        doc = docs.get(r["doc_id"]) or docs.setdefault(r["doc_id"], DocumentedApi(
            r["api_id"], r["doc_id"], r["name"], r["category"], json.loads(r["spec"] or "null"), r["nl_documentation"] or ""))
        out.append(EvalItem(r["golden_id"], r["instruction_id"], r["instruction"], r["api_id"], json.loads(r["calls"]), doc))
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


def latest_scores(wh: Warehouse) -> list[dict[str, Any]]:
    """Rows of ``eval_scores``: the latest run of each model on each set."""
    return wh.frame("SELECT * FROM eval_scores QUALIFY row_number() OVER (PARTITION BY model, set_source "
                    "ORDER BY created_at DESC) = 1 ORDER BY set_source, model").to_dicts()


def existing_splits(wh: Warehouse) -> dict[str, tuple[str, str]]:
    """api_id → (split, category) of the APIs already assigned."""
    return {a: (s, c) for a, s, c in wh.execute("SELECT api_id, split, category FROM api_split")}


def catalog_categories(wh: Warehouse) -> list[tuple[str, str]]:
    """(api_id, category) of every catalog API."""
    return [(a, c) for a, c in wh.execute("SELECT api_id, category FROM catalog_entry ORDER BY api_id")]


def insert_splits(wh: Warehouse, splits: dict[str, str], categories: dict[str, str], version: str) -> int:
    """Land new assignments (insert-only: an API's split never changes); returns how many were new."""
    if not splits:
        return 0
    with wh.transaction() as cur:
        before = cur.execute("SELECT count(*) FROM api_split").fetchall()[0][0]
        cur.executemany("INSERT OR IGNORE INTO api_split (api_id, split, category, split_version) VALUES (?, ?, ?, ?)",
                        [[a, s, categories.get(a), version] for a, s in sorted(splits.items())])
        return cur.execute("SELECT count(*) FROM api_split").fetchall()[0][0] - before


def leakage_sides(wh: Warehouse, test_api_ids: list[str], train_snapshot_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two sides of the leakage check: the test APIs with their instructions (all of them), and
    the training side — a snapshot's APIs and instructions, or, without one, the ``train`` split's."""
    def apis(where: str, params: list[Any]) -> list[dict[str, Any]]:
        return wh.frame(f"SELECT api_id, name, description FROM catalog_entry WHERE {where} ORDER BY api_id", params).to_dicts()

    test = {"apis": apis("api_id IN (SELECT unnest(?))", [test_api_ids]),
            "instructions": [r[0] for r in wh.execute("SELECT text FROM instruction WHERE api_id IN (SELECT unnest(?))", [test_api_ids])]}
    if train_snapshot_id:
        ids = [r[0] for r in wh.execute("SELECT DISTINCT d.api_id FROM snapshot_member m JOIN dialogue d USING (dialogue_id) "
                                        "WHERE m.snapshot_id = ?", [train_snapshot_id])]
        texts = [r[0] for r in wh.execute("SELECT d.instruction FROM snapshot_member m JOIN dialogue d USING (dialogue_id) "
                                          "WHERE m.snapshot_id = ?", [train_snapshot_id])]
    else:
        ids = [r[0] for r in wh.execute("SELECT api_id FROM api_split WHERE split = 'train'")]
        texts = [r[0] for r in wh.execute("SELECT text FROM instruction WHERE api_id IN (SELECT unnest(?))", [ids])]
    return test, {"apis": apis("api_id IN (SELECT unnest(?))", [ids]), "instructions": texts}


def latest_training_snapshot(wh: Warehouse) -> str | None:
    """The snapshot the latest training run was claimed on (what "trained on" means for leakage)."""
    row = wh.execute("SELECT snapshot_id FROM training_run ORDER BY created_at DESC, run_id LIMIT 1")
    return row[0][0] if row else None


def heldout_clean_instances(wh: Warehouse) -> list[Dialogue]:
    """The dialogues of held-out APIs' clean single-API instances."""
    rows = wh.frame(f"SELECT {DIALOGUE_COLUMNS} FROM clean_instances c JOIN dialogue d USING (dialogue_id) "
                    "JOIN api_split s ON s.api_id = d.api_id WHERE s.split = 'heldout' "
                    "AND coalesce(json_array_length(d.partner_api_ids), 0) = 0 ORDER BY d.dialogue_id").to_dicts()
    return [dialogue_of(r) for r in rows]


def split_counts(wh: Warehouse) -> dict[str, int]:
    """split → APIs."""
    return dict(wh.execute("SELECT split, count(*) FROM api_split GROUP BY split"))


def heldout_api_ids(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.execute("SELECT api_id FROM api_split WHERE split = 'heldout' ORDER BY api_id")]
