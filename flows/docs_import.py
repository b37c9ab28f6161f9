"""Import existing OpenAPI specs (a file or a folder) as documented APIs, without the LLM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.files import DocumentReader, import_spec_file, spec_files
from flows.runtime import open_warehouse
from tasks.documents import Limits
from toolfactory.settings import Settings


def import_docs(settings: Settings, path: str | Path, category: str | None = None) -> dict[str, Any]:
    """Land every spec under ``path``; ``$ref``s are followed only inside it (the folder, or a file's
    own folder). Returns counts of files, valid, invalid and refused, with reasons, and one line per
    refused file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    files = spec_files(p)
    reader = DocumentReader(p if p.is_dir() else p.parent, Limits(max_bytes=settings.import_max_bytes),
                            allow_remote=settings.import_allow_remote_refs)
    valid = invalid = refused = 0
    reasons: dict[str, int] = {}
    refusals: list[str] = []
    with open_warehouse(settings) as wh:
        for f in files:
            result = import_spec_file(f, category, reader)
            wh.land(result.records())
            if result.doc is None:
                refused += 1
                refusals += [f"{r.reason}: {r.detail}"[:300] for r in result.rejections]
            elif result.doc.status == "valid":
                valid += 1
            else:
                invalid += 1
            for r in result.rejections:
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
    return {"files": len(files), "valid": valid, "invalid": invalid, "refused": refused, "reasons": reasons,
            "refusals": refusals[:50]}
