"""Import existing OpenAPI specs (a file or a folder) as documented APIs, without the LLM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.files import import_spec_file, spec_files
from flows.runtime import open_warehouse
from toolfactory.settings import Settings


def import_docs(settings: Settings, path: str | Path, category: str | None = None) -> dict[str, Any]:
    """Land every spec under ``path``. Returns counts of files, valid, invalid and refused, with reasons."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    files = spec_files(p)
    valid = invalid = refused = 0
    reasons: dict[str, int] = {}
    with open_warehouse(settings) as wh:
        for f in files:
            result = import_spec_file(f, category)
            wh.land(result.records())
            if result.doc is None:
                refused += 1
            elif result.doc.status == "valid":
                valid += 1
            else:
                invalid += 1
            for r in result.rejections:
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
    return {"files": len(files), "valid": valid, "invalid": invalid, "refused": refused, "reasons": reasons}
