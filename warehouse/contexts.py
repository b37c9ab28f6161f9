"""Tool contexts in the warehouse: read by ID, and the dialogues landed before contexts were recorded.

``contexts_by_id`` gives the ``ToolContext`` records (``schemas.context_records``) that exports, the length
filter and the judge read; ``dialogues_without_context`` and ``link_contexts`` serve the one-time backfill
of dialogues from before migration 18 (``flows.contexts``).
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from schemas.records import ToolContext
from warehouse.store import Warehouse

_JSON = ("doc_ids", "api_ids", "toolset", "function_names", "tools", "spec")


def contexts_by_id(wh: Warehouse, context_ids: list[str]) -> dict[str, ToolContext]:
    """context_id → its record (IDs not found are left out)."""
    ids = sorted({c for c in context_ids if c})
    if not ids:
        return {}
    columns = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if c in _JSON else c for c in
                        ("context_id", "api_id", "name", *_JSON[:4], "nl_documentation", "tools", "spec", "step_mode", "prompt_version"))
    rows = wh.frame(f"SELECT {columns} FROM tool_context WHERE context_id IN (SELECT unnest(?))", [ids]).to_dicts()
    return {r["context_id"]: ToolContext.from_dict({k: json.loads(v) if k in _JSON else v for k, v in r.items()}) for r in rows}


def dialogues_without_context(wh: Warehouse) -> list[dict[str, Any]]:
    """The dialogues landed without a context: their API, doc, slice, partners (the instruction's recorded partner
    docs, where the instruction is in the warehouse) and assistant prompt version."""
    return wh.frame(
        "SELECT d.dialogue_id, d.api_id, d.doc_id, CAST(d.toolset AS VARCHAR) AS toolset, "
        "CAST(d.partner_api_ids AS VARCHAR) AS partner_api_ids, CAST(i.partner_doc_ids AS VARCHAR) AS partner_doc_ids, "
        "d.prompt_versions ->> 'assistant' AS prompt_version "
        "FROM dialogue d LEFT JOIN instruction i USING (instruction_id) WHERE d.context_id IS NULL ORDER BY d.dialogue_id").to_dicts()


def link_contexts(wh: Warehouse, contexts: list[ToolContext], links: dict[str, str]) -> int:
    """Land ``contexts`` and set each dialogue's ``context_id`` (``links``: dialogue_id → context_id) where it has
    none; returns how many dialogues were linked."""
    if contexts:
        wh.land(contexts)
    if not links:
        return 0
    frame = pl.DataFrame({"dialogue_id": list(links), "context_id": list(links.values())},
                         schema={"dialogue_id": pl.Utf8, "context_id": pl.Utf8})
    with wh.transaction() as cur:
        cur.register("context_links", frame)
        cur.execute("UPDATE dialogue SET context_id = l.context_id FROM context_links l "
                    "WHERE dialogue.dialogue_id = l.dialogue_id AND dialogue.context_id IS NULL")
        cur.unregister("context_links")
    return len(links)
