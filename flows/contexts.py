"""The tool contexts of dialogues landed before contexts were recorded (warehouses from before migration 18).

``backfill_contexts`` makes, once, the context each such dialogue was shown from what the warehouse recorded
of it — its own doc (by ``doc_id``, never the API's latest), its slice, and its instruction's partner docs —
lands it and links the dialogue, so every reader has one path: the recorded context. What a backfill cannot
know (the step mode) stays empty in the record. A multi-API dialogue whose instruction is gone takes its
partner's doc as of the backfill, the best the warehouse still knows (counted in ``partners_guessed``).
"""

from __future__ import annotations

import json
from typing import Any

from schemas.records import FunctionDoc, ToolContext
from schemas.views import DocumentedApi
from tasks.documentation.nl_docs import derive_functions, nl_documentation
from tasks.documentation.tool_context import make_context
from tasks.simulation.multi_api import combine
from tasks.simulation.tool_calling import tool_definitions
from tasks.simulation.toolset_slice import ToolsetSlicer
from warehouse import Warehouse
from warehouse.contexts import dialogues_without_context, link_contexts
from warehouse.corpus import docs_by_id, latest_doc_ids


def shown_context(docs: list[DocumentedApi], toolset: list[str] | tuple[str, ...], spec: Any, step_mode: str,
                  prompt_version: str, functions: list[FunctionDoc] | None = None, nl_doc: str | None = None) -> ToolContext:
    """The record of what an assistant is shown of ``spec`` (the API's, a slice's, a pair's combined one) over
    ``docs`` (the dialogue's own first): its functions and NL documentation are made from ``spec`` unless given
    (a whole API's: its doc's own), its tools with ``ask_user``."""
    spec = spec or {}
    functions = derive_functions(spec) if functions is None else functions
    nl_doc = nl_documentation(spec, functions) if nl_doc is None else nl_doc
    return make_context(docs[0].api_id, " + ".join(d.name for d in docs), [(d.doc_id, d.api_id) for d in docs], list(toolset),
                        spec, [f.name for f in functions], tool_definitions(spec), nl_doc, step_mode, prompt_version or "")


def context_for(docs: list[DocumentedApi], toolset: list[str], prompt_version: str, step_mode: str = "") -> ToolContext:
    """What a dialogue over ``docs`` (its own first) with this slice was shown, as simulation made it
    (``step_mode`` "": not known)."""
    if len(docs) == 1 and not toolset:
        return shown_context(docs, [], docs[0].spec, step_mode, prompt_version, nl_doc=docs[0].nl_documentation)
    spec = combine(docs)[0] if len(docs) > 1 else docs[0].spec or {}
    return shown_context(docs, toolset, ToolsetSlicer(spec).spec_for(toolset) if toolset else spec, step_mode, prompt_version)


def backfill_contexts(wh: Warehouse) -> dict[str, Any]:
    """Give every dialogue without a context the one it was shown; returns counts (linked, contexts, no_doc,
    partners_guessed)."""
    rows = dialogues_without_context(wh)
    if not rows:
        return {"linked": 0, "contexts": 0, "no_doc": 0, "partners_guessed": 0}
    guessed = 0
    for r in rows:
        r["toolset"] = json.loads(r["toolset"] or "[]")
        partners = json.loads(r["partner_doc_ids"] or "[]")
        if not partners and json.loads(r["partner_api_ids"] or "[]"):
            latest = latest_doc_ids(wh, json.loads(r["partner_api_ids"]))
            partners = [latest[a] for a in json.loads(r["partner_api_ids"]) if a in latest]
            guessed += 1
        r["docs"] = [r["doc_id"], *partners]
    docs = docs_by_id(wh, sorted({d for r in rows for d in r["docs"]}))
    made: dict[tuple[Any, ...], ToolContext] = {}
    links: dict[str, str] = {}
    missing = 0
    for r in rows:
        if any(d not in docs for d in r["docs"]):
            missing += 1
            continue
        key = (tuple(r["docs"]), tuple(r["toolset"]), r["prompt_version"])
        if key not in made:
            made[key] = context_for([docs[d] for d in r["docs"]], r["toolset"], r["prompt_version"])
        links[r["dialogue_id"]] = made[key].context_id
    link_contexts(wh, list(made.values()), links)
    return {"linked": len(links), "contexts": len(made), "no_doc": missing, "partners_guessed": guessed}
