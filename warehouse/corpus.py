"""Curation reads and corpus snapshots over the warehouse.

``pending_dialogues`` lists what the funnel has not decided yet under a config version;
``dedup_kept`` the instructions already kept by dedup; ``record_curation_run`` marks a config
version current (view ``clean_instances`` follows the latest run). ``create_snapshot`` freezes the
clean instances: its ID is a content hash of the members and the config, so freezing an unchanged
corpus returns the snapshot that exists; a new one points to its parent (the previous snapshot).
Snapshot rows are only ever inserted.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import polars as pl

from schemas.errors import NotFound
from schemas.ids import canonical_json, content_id
from schemas.records import Dialogue
from schemas.views import DocumentedApi, PendingDialogue, SnapshotInstance
from warehouse.store import Warehouse

NOT_HELD_OUT = "api_id NOT IN (SELECT api_id FROM api_split WHERE split = 'heldout')"  # held-out APIs never train
_JSON_FIELDS = ("steps", "models", "prompt_versions", "partner_api_ids", "toolset", "follow_ups")
# every field of a dialogue record, as ``dialogue_of`` reads them (table alias d): the JSON-valued ones as
# JSON text (``steps`` is a typed list of structs in the table, the others JSON)
DIALOGUE_COLUMNS = ", ".join(
    f"CAST(to_json(d.{f.name}) AS VARCHAR) AS {f.name}" if f.name in _JSON_FIELDS else f"d.{f.name}" for f in fields(Dialogue))


def dialogue_of(row: dict[str, Any]) -> Dialogue:
    """The dialogue record of a row read with ``DIALOGUE_COLUMNS`` (other keys are left out; a list
    column a row from before its migration lacks takes the record's default)."""
    values = {k: v for k, v in row.items() if k not in _JSON_FIELDS}
    values.update({k: json.loads(row[k]) for k in _JSON_FIELDS if row.get(k) is not None})
    return Dialogue.from_dict(values)


def pending_dialogues(wh: Warehouse, config_version: str, limit: int | None = None,
                      after: tuple[Any, str] | None = None) -> list[PendingDialogue]:
    """Dialogues with no final verdict under ``config_version`` (none refused, no length verdict),
    in landing order, with the NL documentation and function names their tool context showed the assistant
    (``tool_context``; none for a dialogue without one): at most ``limit``, those after the (created_at,
    dialogue_id) ``after`` (pages through a large backlog)."""
    rows = wh.frame(
        f"""
        SELECT {DIALOGUE_COLUMNS}, d.created_at, t.nl_documentation, CAST(t.function_names AS VARCHAR) AS function_names,
               (SELECT CAST(i.chain AS VARCHAR) FROM instruction i WHERE i.instruction_id = d.instruction_id) AS chain
        FROM dialogue d LEFT JOIN tool_context t ON t.context_id = d.context_id
        WHERE d.dialogue_id NOT IN (
            SELECT dialogue_id FROM curation_verdict WHERE config_version = ? AND (NOT kept OR stage = 'length'))
          AND (?::TIMESTAMP IS NULL OR (d.created_at, d.dialogue_id) > (?::TIMESTAMP, ?))
        ORDER BY d.created_at, d.dialogue_id
        """ + (f"LIMIT {int(limit)}" if limit is not None else ""),
        [config_version, after[0] if after else None, after[0] if after else None, after[1] if after else None],
    ).to_dicts()
    return [PendingDialogue(dialogue_of(r), r["nl_documentation"] or "", json.loads(r["function_names"] or "[]"), r["created_at"],
                            json.loads(r["chain"] or "[]")) for r in rows]


def dedup_kept(wh: Warehouse, config_version: str, api_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Per API, the (dialogue_id, instruction) pairs dedup already kept under this config, in order."""
    out: dict[str, list[tuple[str, str]]] = {}
    if not api_ids:
        return out
    for api_id, did, text in wh.execute(
        "SELECT d.api_id, d.dialogue_id, d.instruction FROM curation_verdict v JOIN dialogue d USING (dialogue_id) "
        "WHERE v.config_version = ? AND v.stage = 'dedup' AND v.kept AND d.api_id IN (SELECT unnest(?)) "
        "ORDER BY d.created_at, d.dialogue_id", [config_version, api_ids]):
        out.setdefault(api_id, []).append((did, text))
    return out


def record_curation_run(wh: Warehouse, config_version: str, config: dict[str, Any], seen: int, judged: int) -> str:
    """Mark ``config_version`` current; returns the run ID."""
    kept = wh.count("curation_verdict", "config_version = ? AND stage = 'length' AND kept", [config_version])
    run_id = content_id("curation_run", config_version, seen, judged, kept, wh.execute("SELECT now()")[0][0])
    wh.execute("INSERT INTO curation_run (run_id, config_version, config, dialogues_seen, judged, kept) VALUES (?, ?, ?, ?, ?, ?)",
               [run_id, config_version, canonical_json(config), seen, judged, kept], write=True)
    return run_id


def create_snapshot(wh: Warehouse, exclude_api_ids: list[str] | None = None) -> dict[str, Any]:
    """Freeze ``clean_instances`` as a snapshot — less the held-out APIs (``api_split``) and any
    others excluded; returns its row and ``created``."""
    run = wh.execute("SELECT config_version, CAST(config AS VARCHAR) FROM curation_run ORDER BY created_at DESC, run_id LIMIT 1")
    if not run:
        raise NotFound("nothing is curated yet: run `toolfactory curate` first")
    config_version, config = run[0]
    members = wh.frame("SELECT dialogue_id, api_id, models, prompt_versions FROM clean_instances "
                       f"WHERE api_id NOT IN (SELECT unnest(?)) AND {NOT_HELD_OUT} ORDER BY dialogue_id", [list(exclude_api_ids or [])])
    ids = members["dialogue_id"].to_list()
    snapshot_id = content_id("corpus_snapshot", config_version, ids)
    existing = snapshot(wh, snapshot_id)
    if existing is not None:
        return {**existing, "created": False}
    parent = wh.execute("SELECT snapshot_id FROM corpus_snapshot ORDER BY created_at DESC, snapshot_id LIMIT 1")
    def distinct(column: str) -> str:
        """The column's distinct JSON objects, as one JSON array in a stable order."""
        return "[" + ",".join(sorted({canonical_json(json.loads(v)) for v in members[column].to_list()})) + "]"

    frame = pl.DataFrame({"snapshot_id": [snapshot_id] * len(ids), "dialogue_id": ids}, schema={"snapshot_id": pl.Utf8, "dialogue_id": pl.Utf8})
    with wh.transaction() as cur:  # a snapshot is all there or not at all
        cur.register("new_members", frame)
        cur.execute("INSERT INTO snapshot_member SELECT snapshot_id, dialogue_id FROM new_members")
        cur.unregister("new_members")
        cur.execute("INSERT INTO corpus_snapshot (snapshot_id, parent_id, n_instances, n_apis, config_version, config, "
                    "prompt_versions, models) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [snapshot_id, parent[0][0] if parent else None, len(ids), members["api_id"].n_unique(), config_version,
                     config, distinct("prompt_versions"), distinct("models")])
    return {**(snapshot(wh, snapshot_id) or {}), "created": True}


def snapshot(wh: Warehouse, snapshot_id: str | None = None) -> dict[str, Any] | None:
    """One snapshot's row (the latest when ``snapshot_id`` is None), or None."""
    where, params = ("WHERE snapshot_id = ?", [snapshot_id]) if snapshot_id else ("", [])
    df = wh.frame(f"SELECT snapshot_id, parent_id, n_instances, n_apis, config_version, CAST(config AS VARCHAR) AS config, "
                  f"CAST(prompt_versions AS VARCHAR) AS prompt_versions, CAST(models AS VARCHAR) AS models, created_at "
                  f"FROM corpus_snapshot {where} ORDER BY created_at DESC, snapshot_id LIMIT 1", params)
    if df.is_empty():
        return None
    row = df.to_dicts()[0]
    for k in ("config", "prompt_versions", "models"):
        row[k] = json.loads(row[k])
    return row


def snapshot_rows(wh: Warehouse, snapshot_id: str) -> list[SnapshotInstance]:
    """The instances of a snapshot — their whole dialogue records — with their API's name, description
    and category, in a stable order."""
    rows = wh.frame(
        f"SELECT {DIALOGUE_COLUMNS}, c.name AS api_name, c.category, c.description "
        "FROM snapshot_member m JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id "
        "WHERE m.snapshot_id = ? ORDER BY c.category, c.name, d.dialogue_id", [snapshot_id]).to_dicts()
    return [SnapshotInstance(dialogue_of(r), r["api_name"], r["category"], r["description"]) for r in rows]


def docs_by_id(wh: Warehouse, doc_ids: list[str]) -> dict[str, DocumentedApi]:
    """doc_id → the doc with its ``functions`` (name → NL doc)."""
    out: dict[str, DocumentedApi] = {}
    if not doc_ids:
        return out
    for doc_id, api_id, name, category, spec, nl in wh.execute(
            "SELECT doc_id, api_id, name, category, CAST(spec AS VARCHAR), nl_documentation FROM api_doc WHERE doc_id IN (SELECT unnest(?))",
            [doc_ids]):
        out[doc_id] = DocumentedApi(api_id, doc_id, name, category, json.loads(spec or "null"), nl or "")
    for doc_id, fname, nl_doc in wh.execute(
            "SELECT doc_id, name, nl_doc FROM function_doc WHERE doc_id IN (SELECT unnest(?)) ORDER BY name", [doc_ids]):
        out[doc_id].functions[fname] = nl_doc
    return out


def latest_doc_ids(wh: Warehouse, api_ids: list[str]) -> dict[str, str]:
    """api_id → the doc_id of its latest doc (the ``apis`` view's pick)."""
    if not api_ids:
        return {}
    return dict(wh.execute("SELECT api_id, doc_id FROM apis WHERE api_id IN (SELECT unnest(?))", [api_ids]))


def clean_by_origin(wh: Warehouse) -> dict[str, int]:
    """Clean instances by where their dialogue came from: ``simulation`` (made here) or ``import``."""
    return dict(wh.execute("SELECT origin, count(*) FROM clean_instances GROUP BY origin ORDER BY origin"))


def funnel_counts(wh: Warehouse, config_version: str) -> list[dict[str, Any]]:
    """(stage, reason, n) under one config version, in stage order."""
    return wh.frame(
        "SELECT stage, coalesce(reason, 'kept') AS reason, count(*) AS n FROM curation_verdict WHERE config_version = ? "
        "GROUP BY 1, 2 ORDER BY list_position(['format', 'execution', 'semantic', 'dedup', 'length'], stage), n DESC",
        [config_version]).to_dicts()


def turn_counts(wh: Warehouse, config_version: str) -> dict[str, int]:
    """Assistant turns by verdict under one config version: ``kept``, or ``stage/reason``."""
    return {k: int(n) for k, n in wh.execute(
        "SELECT CASE WHEN kept THEN 'kept' ELSE stage || '/' || reason END, count(*) FROM turn_verdict WHERE config_version = ? "
        "GROUP BY 1 ORDER BY 2 DESC, 1", [config_version])}
