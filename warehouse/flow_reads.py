"""The warehouse reads the flows need, as a mixin of ``Warehouse`` (they only use ``execute``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from schemas.records import CatalogEntry, Instruction, LLMCall
from schemas.views import DocumentedApi


class FlowReads:
    def execute(self, sql: str, params: Sequence[Any] | None = None, *, write: bool = False) -> list[tuple]:
        raise NotImplementedError

    def catalog_entries(self, limit: int | None = None, api_ids: Sequence[str] | None = None,
                        categories: Sequence[str] | None = None) -> list[CatalogEntry]:
        """Catalog entries in a stable order (category, name), optionally filtered and capped."""
        where, params = [], []
        if api_ids:
            where.append("api_id IN (SELECT unnest(?))")
            params.append(list(api_ids))
        if categories:
            where.append("category IN (SELECT unnest(?))")
            params.append(list(categories))
        sql = ("SELECT api_id, name, description, category, link, auth, https, cors, source, locator, merged_count "
               "FROM catalog_entry " + (f"WHERE {' AND '.join(where)} " if where else "") + "ORDER BY category, name, api_id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [CatalogEntry(*row) for row in self.execute(sql, params)]

    def existing_doc_ids(self, doc_ids: Sequence[str]) -> set[str]:
        if not doc_ids:
            return set()
        return {r[0] for r in self.execute("SELECT doc_id FROM api_doc WHERE doc_id IN (SELECT unnest(?))", [list(doc_ids)])}

    def valid_docs(self, limit: int | None = None, api_ids: Sequence[str] | None = None) -> list[DocumentedApi]:
        """The latest valid doc of each API, by category and name."""
        where, params = ["status = 'valid'"], []
        if api_ids:
            where.append("api_id IN (SELECT unnest(?))")
            params.append(list(api_ids))
        sql = ("SELECT api_id, doc_id, name, category, CAST(spec AS VARCHAR), nl_documentation FROM apis WHERE "
               + " AND ".join(where) + " ORDER BY category, name")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [DocumentedApi(api_id, doc_id, name, category, json.loads(spec), nl or "")
                for api_id, doc_id, name, category, spec, nl in self.execute(sql, params)]

    def instructions_for(self, doc_id: str, prompt_version: str, model: str) -> list[Instruction]:
        """Instructions already made for a doc with this prompt version and model, oldest first."""
        cols = ("instruction_id", "api_id", "doc_id", "kind", "text", "details", "prompt_version", "model", "partner_doc_ids",
                "target_functions", "chain")
        rows = self.execute(f"SELECT {', '.join(cols)} FROM instruction WHERE doc_id = ? AND prompt_version = ? AND model = ? "
                            "ORDER BY created_at, instruction_id", [doc_id, prompt_version, model])
        return [Instruction(*r[:8], *(json.loads(v or "[]") for v in r[8:])) for r in rows]

    def existing_dialogue_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return {r[0] for r in self.execute("SELECT dialogue_id FROM dialogue WHERE dialogue_id IN (SELECT unnest(?))", [list(ids)])}

    def existing_rejection_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return {r[0] for r in self.execute("SELECT rejection_id FROM rejection WHERE rejection_id IN (SELECT unnest(?))", [list(ids)])}

    def covered_links(self, doc_id: str) -> set[tuple[str, str]]:
        """The doc's (source, target) function links that a dialogue has exercised or a chain instruction
        was written about (view ``edge_coverage``): what chain generation favours others over."""
        return {(a, b) for a, b in self.execute("SELECT source, target FROM edge_coverage WHERE doc_id = ? "
                                                "AND (dialogues > 0 OR chain_instructions > 0)", [doc_id])}

    def dialogue_ids_of_doc(self, doc_id: str) -> set[str]:
        """The IDs of every dialogue landed for this doc (what a worker away from the warehouse skips)."""
        return {r[0] for r in self.execute("SELECT dialogue_id FROM dialogue WHERE doc_id = ?", [doc_id])}

    def cached_call(self, request_hash: str) -> LLMCall | None:
        """The latest successful ledger row for this request (the ledger is the response cache)."""
        rows = self.execute(
            "SELECT call_id, request_hash, role, model, prompt_version, subject_id, status, prompt_tokens, completion_tokens, "
            "cost_usd, latency_s, finish_reason, response_text, error, tool_calls, reasoning_text, served_by FROM llm_call "
            "WHERE request_hash = ? AND status = 'ok' ORDER BY created_at DESC LIMIT 1",
            [request_hash],
        )
        if not rows:
            return None
        names = ("call_id", "request_hash", "role", "model", "prompt_version", "subject_id", "status", "prompt_tokens",
                 "completion_tokens", "cost_usd", "latency_s", "finish_reason", "response_text", "error", "tool_calls",
                 "reasoning_text", "served_by")
        return LLMCall.from_dict(dict(zip(names, rows[0], strict=True)))

    def answered_request_hashes(self) -> set[str]:
        """Every request the ledger holds a successful answer for (so a cache miss costs no query)."""
        return {r[0] for r in self.execute("SELECT DISTINCT request_hash FROM llm_call WHERE status = 'ok'")}

    def record_import(self, import_id: str, source: str, fmt: str, rows_read: int, entries_new: int,
                      entries_existing: int, duplicates_merged: int, quarantined: int) -> None:
        self.execute(
            write=True, sql="INSERT OR IGNORE INTO catalog_import VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
            params=[import_id, source, fmt, rows_read, entries_new, entries_existing, duplicates_merged, quarantined],
        )

    def imported_files(self, where: str) -> list[tuple[str, str, str, str, list[str]]]:
        """The imported documents that may have come from the file at ``where`` — recorded from that path, or
        from one whose tail it is, or that is its tail — newest first per API: (api_id, source, name, link,
        function names)."""
        rows = self.execute(
            "SELECT d.api_id, d.source, c.name, c.link, CAST(d.function_list AS VARCHAR) FROM api_doc d "
            "JOIN catalog_entry c USING (api_id) WHERE d.origin = 'import' AND d.source <> '' "
            "AND (d.source = ? OR ends_with(d.source, '/' || ?) OR ends_with(?, '/' || d.source)) "
            "QUALIFY row_number() OVER (PARTITION BY d.api_id ORDER BY d.created_at DESC) = 1", [where, where, where])
        return [(a, s, n, link or "", [f.get("name", "") for f in json.loads(fl or "[]")]) for a, s, n, link, fl in rows]

    def imported_api_ids(self, api_ids: Sequence[str]) -> set[str]:
        """Those of ``api_ids`` some imported document already holds."""
        return {r[0] for r in self.execute("SELECT DISTINCT api_id FROM api_doc WHERE origin = 'import' "
                                           "AND api_id IN (SELECT unnest(?))", [list(api_ids)])}
