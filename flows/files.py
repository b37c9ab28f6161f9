"""File I/O for the flows: catalog files and OpenAPI documents are read here, parsed in tasks/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tasks.catalog import CatalogFormatError, CatalogImport, detect_format, parse_catalog
from tasks.spec_import import SpecImport, import_spec

SPEC_SUFFIXES = (".json", ".yaml", ".yml")


def read_catalog(path: str | Path, fmt: str | None = None, max_description_chars: int = 2000) -> CatalogImport:
    """Read and parse a catalog file; ``fmt`` is markdown, json, jsonl or csv (by suffix when None)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if not fmt:
        raise CatalogFormatError(f"{path}: unknown catalog format (use .md, .json, .jsonl or .csv, or pass a format)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogFormatError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_catalog(data, fmt, source=str(path), max_description_chars=max_description_chars)


def load_document(path: Path) -> Any:
    """A JSON or YAML document (by suffix; YAML also reads JSON)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.casefold() == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def spec_files(path: Path) -> list[Path]:
    """The spec files at ``path``: the file itself, or every JSON/YAML file under the folder."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.casefold() in SPEC_SUFFIXES)
    return [path]


def import_spec_file(path: Path, category: str | None = None) -> SpecImport:
    return import_spec(path, load_document, category)
