"""Import published tool documents (a file or a folder) as documented APIs, without the LLM — or the tools
of a live MCP server (``import_mcp``).

Each file's format is detected (``--format`` forces one): OpenAPI 3.x, Swagger 2.0, an MCP
``tools/list`` result, an OpenAI tool list, or a ToolAlpaca file (its API records, with their
instructions and golden answers). Every document is normalised per operation (``tasks.documentation.spec_import``);
the summary says, per document, whether it is usable, the operations kept and dropped, repairs,
assumptions and warnings — the same figures as the ``import_summary`` view.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from flows.files import DocumentReader, spec_files
from flows.import_identity import api_id_of, function_names
from flows.runtime import open_warehouse
from flows.settings import Settings
from flows.simulation_setup import mcp_server_log
from schemas.errors import Unavailable
from schemas.records import ApiDoc, FunctionDoc, ImportNote, Rejection
from tasks.documentation.spec_import import detect_format, import_spec
from tasks.formats.toolalpaca_format import import_records, read_layout
from tasks.guards.documents import DocumentRefused, Limits
from tasks.guards.guarded_mcp import McpServer, list_tools

MAX_LINES = 50
LAND_BATCH = 5000  # records


def import_docs(settings: Settings, path: str | Path, category: str | None = None, fmt: str | None = None) -> dict[str, Any]:
    """Land every document under ``path``; ``$ref``s are followed only inside it (the folder, or a
    file's own folder). Returns counts — files, usable, unusable, refused, operations kept and
    dropped, notes by kind, formats, refusal reasons — and one line per document."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    files = spec_files(p)
    reader = DocumentReader(p if p.is_dir() else p.parent, Limits(max_bytes=settings.import_max_bytes),
                            allow_remote=settings.import_allow_remote_refs)
    totals: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    lines: list[str] = []
    pending: list[Any] = []
    claims: dict[str, str] = {}  # api_id → the file whose document holds it, in this import
    root = p if p.is_dir() else p.parent
    with open_warehouse(settings) as wh:
        for n, f in enumerate(files, 1):
            where = f.relative_to(root).as_posix()
            found = _documents(f, reader, category, fmt, source=where)
            for label, source_format, records in _own_identity(found, f, where, reader, category, fmt, claims, wh):
                pending += records
                if source_format:
                    formats[source_format] += 1
                lines.append(_tally(label, records, totals, reasons))
            if len(pending) >= LAND_BATCH or n == len(files):  # one landing per batch: per file it was most of the time
                wh.land(pending)
                pending = []
    return {"files": len(files), "usable": totals["usable"], "unusable": totals["unusable"], "refused": totals["refused"],
            "operations kept": totals["kept"], "operations dropped": totals["dropped"],
            "notes": {k: totals[k] for k in ("repair", "assumption", "warning") if totals[k]},
            "formats": dict(formats), "reasons": dict(reasons), "documents": lines[:MAX_LINES]
            + ([f"… and {len(lines) - MAX_LINES} more (SELECT * FROM import_summary)"] if len(lines) > MAX_LINES else [])}


def import_mcp(settings: Settings, server: McpServer, category: str | None = None) -> dict[str, Any]:
    """Land the API a live MCP server's ``tools/list`` describes (the server recorded in its spec, for the
    real executor); the summary of ``import_docs``. Raises ``McpUnavailable`` when the server cannot be
    started or reached, or does not answer within ``real_timeout_s`` × 3."""
    try:
        listed = asyncio.run(list_tools(server, settings.real_timeout_s * 3, mcp_server_log(settings)))
    except Exception as exc:  # a server that does not start, a refused connection, a timeout, a protocol error
        where = server.command or server.url
        raise McpUnavailable(f"MCP server {where[:200]!r}: {type(exc).__name__}: {str(exc)[:300] or 'no answer'}") from exc
    title = str((listed.get("serverInfo") or {}).get("name") or "MCP server")
    label = Path(f"{title}.mcp.json")
    result = import_spec(label, lambda _: listed, category, fmt="mcp", mcp_server=server.as_extension())
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    line = _tally(f"{title} ({server.transport})", result.records(), totals, reasons)
    with open_warehouse(settings) as wh:
        wh.land(result.records())
    return {"files": 1, "usable": totals["usable"], "unusable": totals["unusable"], "refused": totals["refused"],
            "operations kept": totals["kept"], "operations dropped": totals["dropped"], "formats": {"mcp": 1},
            "reasons": dict(reasons), "documents": [line]}


class McpUnavailable(Unavailable):
    """An MCP server could not be listed: it did not start, could not be reached or did not answer."""


def _own_identity(found: list[tuple[str, str, list[Any]]], f: Path, where: str, reader: DocumentReader, category: str | None,
                  fmt: str | None, claims: dict[str, str], wh: Any) -> list[tuple[str, str, list[Any]]]:
    """``found`` (the documents of file ``f``, at ``where`` in the import), each under the API ID
    ``flows.import_identity.api_id_of`` gives it (imported again when that is not its title-and-server ID)."""
    out = []
    for label, source_format, records in found:
        doc = next((r for r in records if isinstance(r, ApiDoc)), None)
        if doc is not None and source_format != "toolalpaca":
            api_id = api_id_of(wh, doc.api_id, where, function_names(records), claims)
            if api_id != doc.api_id:
                label, source_format, records = _documents(f, reader, category, fmt, api_id=api_id, source=where)[0]
        out.append((label, source_format, records))
    return out


def _documents(f: Path, reader: DocumentReader, category: str | None, fmt: str | None,
               api_id: str | None = None, source: str | None = None) -> list[tuple[str, str, list[Any]]]:
    """(label, source format, records) per API the file holds: one for a spec or tool list, one per
    record of a ToolAlpaca file."""
    try:
        data = reader(f)
    except (DocumentRefused, OSError, ValueError):
        data = None  # import_spec reads it again and refuses it with its reason
    if fmt in (None, "toolalpaca") and detect_format(data) == "toolalpaca":
        layout = read_layout(data)
        return [(f"{f.name}#{r.get('Name')}", "toolalpaca", import_records(r, layout, f.name)) for r in data]

    def read_once(at: Path) -> Any:  # the file itself was read above; what it refers to is read by the reader
        return data if at == f and data is not None else reader(at)

    result = import_spec(f, read_once, category, limits=reader.limits, fmt=fmt, api_id=api_id, source=source)
    return [(f.name, result.source_format, result.records())]


def _tally(label: str, records: list[Any], totals: Counter[str], reasons: Counter[str]) -> str:
    """Add one document's outcome to ``totals``; its summary line."""
    doc = next((r for r in records if isinstance(r, ApiDoc)), None)
    notes = [r for r in records if isinstance(r, ImportNote)]
    kinds = Counter(n.kind for n in notes)
    kept = sum(isinstance(r, FunctionDoc) for r in records)
    for r in records:
        if isinstance(r, Rejection):
            reasons[r.reason] += 1
    totals.update({"kept": kept, "dropped": kinds["dropped"], **{k: kinds[k] for k in ("repair", "assumption", "warning")}})
    if doc is None:
        totals["refused"] += 1
        why = next((f"{r.reason}: {r.detail}" for r in records if isinstance(r, Rejection)), "refused")
        return f"{label}: refused — {why}"[:300]
    totals["usable" if doc.status == "valid" else "unusable"] += 1
    state = "usable" if doc.status == "valid" else "not usable"
    return (f"{label}: {state}, {kept} kept, {kinds['dropped']} dropped, {kinds['repair']} repairs, "
            f"{kinds['assumption']} assumptions, {kinds['warning']} warnings")
