"""Corpus snapshots and their exports (``toolfactory corpus snapshot`` / ``toolfactory export``).

An export always points to one snapshot and goes to ``<out>/<snapshot_id>/``:
  toolalpaca  train_data.json — ToolAlpaca's training layout, one record per API
  jsonl       train.jsonl — ``messages`` + ``tools`` per instance (TRL SFTTrainer's conversational shape)
  parquet     instances.parquet — the dialogue records, typed (steps a list of structs), plus snapshot_id,
              api_name and category; ``Warehouse.land_frame`` loads it back into another warehouse
  hf          hf-<snapshot id>/ — a Hugging Face dataset folder (Parquet under data/, a README with the
              config and the card). Named after the snapshot: ``datasets`` caches a local folder
              by its name and file patterns, so two exports both called ``hf`` would share a cache.
  card        DATA_CARD.md — counts, funnel, category mix, models, prompt versions, lineage
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from flows.contexts import backfill_contexts
from flows.runtime import open_warehouse
from flows.settings import Settings
from schemas.errors import NotFound
from schemas.records import ToolContext
from schemas.views import DocumentedApi, SnapshotInstance
from tasks.documentation.nl_docs import derive_functions
from tasks.formats.chat_format import to_chat_example
from tasks.formats.toolalpaca_format import export_record
from warehouse import Warehouse
from warehouse.contexts import contexts_by_id
from warehouse.corpus import create_snapshot, funnel_counts, snapshot, snapshot_rows
from warehouse.frame_landing import records_frame

FORMATS = ("toolalpaca", "jsonl", "parquet", "hf", "card")
EMPTY_CHAT = {"dialogue_id": pl.Utf8, "api_id": pl.Utf8, "category": pl.Utf8,
              "messages": pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8})), "tools": pl.Utf8}


def take_snapshot(settings: Settings) -> dict[str, Any]:
    from flows.split import assign_api_splits

    with open_warehouse(settings) as wh:
        assign_api_splits(wh, settings)  # held-out APIs are fixed before any snapshot could hold them
        snap = create_snapshot(wh)
    return {k: snap[k] for k in ("snapshot_id", "created", "parent_id", "n_instances", "n_apis", "config_version")}


def list_snapshots(settings: Settings) -> str:
    from warehouse.readonly_sql import format_frame

    with open_warehouse(settings) as wh:
        return format_frame(wh.frame("SELECT snapshot_id, parent_id, n_instances, n_apis, config_version, created_at "
                                     "FROM corpus_snapshots ORDER BY created_at DESC"))


def context_api(context: ToolContext, category: str) -> DocumentedApi:
    """The toolset a context recorded, as the paper's layout writes an API: its name, the spec and NL documentation
    the assistant was shown, and each shown function's NL doc (made from that spec)."""
    functions = {f.name: f.nl_doc for f in derive_functions(context.spec)}
    return DocumentedApi(context.api_id, context.doc_ids[0], context.name, category, context.spec, context.nl_documentation,
                         {n: functions[n] for n in sorted(functions) if n in set(context.function_names)})


def data_card(snap: dict[str, Any], rows: list[SnapshotInstance], funnel: list[dict[str, Any]]) -> str:
    """The snapshot's data card (markdown)."""
    cats = Counter(r.category for r in rows)
    kinds = Counter(r.dialogue.instruction_kind for r in rows)
    models = Counter(json.dumps(r.dialogue.models, sort_keys=True) for r in rows)
    lines = [
        f"# ToolFactory corpus snapshot `{snap['snapshot_id']}`", "",
        f"{snap['n_instances']} instances over {snap['n_apis']} APIs in {len(cats)} categories, frozen {snap['created_at']}.", "",
        "## Lineage", "",
        f"- snapshot: `{snap['snapshot_id']}`; parent: `{snap['parent_id'] or '-'}`",
        f"- curation config `{snap['config_version']}`: `{json.dumps(snap['config'], sort_keys=True)}`", "",
        "## Funnel (curation config of this snapshot)", "", "| stage | reason | dialogues |", "|---|---|---:|",
        *(f"| {f['stage']} | {f['reason']} | {f['n']} |" for f in funnel), "",
        "## Categories", "", "| category | instances |", "|---|---:|", *(f"| {c} | {n} |" for c, n in cats.most_common()), "",
        "## Instruction kinds", "", *(f"- {k}: {n}" for k, n in kinds.most_common()), "",
        "## Models", "", *(f"- {n} instances: `{m}`" for m, n in models.most_common()), "",
        "## Prompt versions", "", *(f"- `{json.dumps(p, sort_keys=True)}`" for p in snap["prompt_versions"]), "",
        "## Formats", "", "`train_data.json` (ToolAlpaca layout), `train.jsonl` (`messages` + `tools`, tool-call arguments as JSON "
        f"text), `instances.parquet`, `hf-{snap['snapshot_id']}/` (`datasets.load_dataset(\"<folder>/hf-{snap['snapshot_id']}\")`).", "",
    ]
    return "\n".join(lines)


def _hf_readme(card: str) -> str:
    header = ("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n"
              "task_categories:\n- text-generation\ntags:\n- tool-use\n- function-calling\n- toolalpaca\n---\n\n")
    return header + card


def export_snapshot(settings: Settings, formats: list[str], out: str | Path = "exports",
                    snapshot_id: str | None = None) -> dict[str, Any]:
    """Write ``formats`` of a snapshot (the latest; a new one when none exists) under ``out/<id>/``."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise NotFound(f"unknown export format(s) {', '.join(sorted(unknown))}; known: {', '.join(FORMATS)}")
    with open_warehouse(settings) as wh:
        snap = snapshot(wh, snapshot_id)
        if snap is None:
            if snapshot_id:
                raise NotFound(f"no snapshot {snapshot_id}: see `toolfactory corpus list`")
            snap = create_snapshot(wh)
        rows, contexts, funnel = _gather(wh, snap)
    folder = Path(out) / snap["snapshot_id"]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    chat = [{"dialogue_id": r.dialogue.dialogue_id, "api_id": r.dialogue.api_id, "category": r.category,
             **to_chat_example(r.dialogue, contexts[r.dialogue.context_id].tools)} for r in rows] if {"jsonl", "hf"} & set(formats) else []
    card = data_card(snap, rows, funnel)
    if "toolalpaca" in formats:
        by_context: dict[str, list[SnapshotInstance]] = {}  # one record per toolset shown: a slice is not its whole API
        for r in rows:
            by_context.setdefault(str(r.dialogue.context_id), []).append(r)
        records = [export_record(context_api(contexts[c], ds[0].category or ""), ds[0].description or "", [r.dialogue for r in ds])
                   for c, ds in by_context.items()]
        (folder / "train_data.json").write_text(json.dumps(records, ensure_ascii=False, indent=1), "utf-8")
        written.append("train_data.json")
    if "jsonl" in formats:
        with (folder / "train.jsonl").open("w", encoding="utf-8") as f:
            for ex in chat:
                f.write(json.dumps(ex, ensure_ascii=False) + "\n")
        written.append("train.jsonl")
    if "parquet" in formats:
        _flat(rows, snap["snapshot_id"]).write_parquet(folder / "instances.parquet")
        written.append("instances.parquet")
    if "hf" in formats:
        hf = folder / f"hf-{snap['snapshot_id']}"
        (hf / "data").mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame(chat, infer_schema_length=None) if chat else pl.DataFrame(schema=EMPTY_CHAT)
        frame.write_parquet(hf / "data" / "train-00000-of-00001.parquet")
        (hf / "README.md").write_text(_hf_readme(card), "utf-8")
        written.append(f"{hf.name}/")
    if "card" in formats:
        (folder / "DATA_CARD.md").write_text(card, "utf-8")
        written.append("DATA_CARD.md")
    return {"snapshot_id": snap["snapshot_id"], "instances": len(rows), "folder": str(folder), "written": written}


def _gather(wh: Warehouse, snap: dict[str, Any]) -> tuple[list[SnapshotInstance], dict[str, ToolContext], list[dict[str, Any]]]:
    """The snapshot's instances, the tool context each was shown (backfilled once for dialogues from before
    contexts were recorded; an instance whose context cannot be had is an error, not a guess) and the funnel."""
    backfill_contexts(wh)
    rows = snapshot_rows(wh, snap["snapshot_id"])
    contexts = contexts_by_id(wh, [r.dialogue.context_id for r in rows if r.dialogue.context_id])
    lacking = [r.dialogue.dialogue_id for r in rows if r.dialogue.context_id not in contexts]
    if lacking:
        raise NotFound(f"{len(lacking)} instance(s) of snapshot {snap['snapshot_id']} have no recorded tool context and their "
                       f"doc is gone (first: {lacking[0]}); nothing was written")
    return rows, contexts, funnel_counts(wh, snap["config_version"])


def _flat(rows: list[SnapshotInstance], snapshot_id: str) -> pl.DataFrame:
    """The instances as typed dialogue records (the layout ``Warehouse.land_frame`` takes back:
    steps as a list of structs, free values as JSON text) plus snapshot_id, api_name and category."""
    frame = records_frame([r.dialogue.to_dict() for r in rows], "dialogue")
    return frame.with_columns(pl.lit(snapshot_id).alias("snapshot_id"),
                              pl.Series("api_name", [r.api_name for r in rows], dtype=pl.Utf8),
                              pl.Series("category", [r.category for r in rows], dtype=pl.Utf8))
