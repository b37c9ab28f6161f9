"""Import a catalog file into the warehouse (no LLM): entries, quarantined rows, an import record."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from flows.files import read_catalog
from flows.runtime import open_warehouse
from flows.settings import Settings
from schemas.ids import content_id
from tasks.catalog.entries import detect_format

SAMPLE = "sample"


def sample_catalog_path() -> Path:
    """The built-in sample catalog (JSON Lines) that `make run` uses."""
    return Path(str(resources.files("toolfactory").joinpath("data", "sample_catalog.jsonl")))


def import_catalog(settings: Settings, path: str | Path, fmt: str | None = None) -> dict[str, Any]:
    """Read ``path`` (or ``"sample"``) and land it. Returns counts: rows, new, existing, merged, quarantined."""
    p = sample_catalog_path() if str(path) == SAMPLE else Path(path)
    result = read_catalog(p, fmt, settings.catalog_max_description_chars, settings.import_max_bytes)
    import_id = content_id("import", p.name, result.digest)
    with open_warehouse(settings) as wh:
        report = wh.land([*result.entries, *result.quarantined], extra={"import_id": import_id})
        new = report.inserted.get("catalog_entry", 0)
        wh.record_import(import_id, str(p), fmt or detect_format(p), result.rows_read, new,
                         len(result.entries) - new, result.duplicates_merged, len(result.quarantined))
        total = wh.count("catalog_entry")
    return {
        "source": str(p), "rows_read": result.rows_read, "entries": len(result.entries), "entries_new": new,
        "entries_existing": len(result.entries) - new, "duplicates_merged": result.duplicates_merged,
        "quarantined": len(result.quarantined), "quarantine_reasons": result.reasons(),
        "landing_quarantined": report.quarantined, "catalog_total": total,
    }
