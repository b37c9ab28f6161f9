"""File I/O for the flows: catalog files and OpenAPI documents are read here, parsed in tasks/.

Every file is read confined: only regular files (no devices, FIFOs or sockets), at most
``import_max_bytes``, and — for a spec's ``$ref``s — only inside the import folder (the folder given
to ``docs import``, or the file's own folder), after symlinks are resolved. Remote refs are fetched
only with ``import_allow_remote_refs``, through the real executor's address guard.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from tasks.catalog.entries import CatalogFormatError, CatalogImport, detect_format, parse_catalog
from tasks.documentation.openapi_refs import Location
from tasks.documentation.spec_import import SpecImport, import_spec
from tasks.formats.toolalpaca_format import ImportFormatError
from tasks.guards.address_guard import Refused, destination
from tasks.guards.documents import DocumentRefused, Limits, parse_document
from tasks.guards.guarded_http import Guard, send_guarded

SPEC_SUFFIXES = (".json", ".yaml", ".yml")


def read_capped(path: Path, max_bytes: int, root: Path | None = None) -> bytes:
    """The bytes of ``path``: a regular file of at most ``max_bytes``, inside ``root`` (after
    symlinks) when given. Raises DocumentRefused (``outside_root``, ``not_a_file``,
    ``file_too_large``) or OSError."""
    resolved = path.resolve()
    if root is not None and not resolved.is_relative_to(root.resolve()):
        raise DocumentRefused("outside_root", f"{path.name} is outside the import folder {root.name or root}")
    fd = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DocumentRefused("not_a_file", f"{path.name} is not a regular file (a device, FIFO or socket)")
        if info.st_size > max_bytes:
            raise DocumentRefused("file_too_large", f"{path.name} has {info.st_size} bytes (the cap is {max_bytes}: import_max_bytes)")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DocumentRefused("file_too_large", f"{path.name} has more than {max_bytes} bytes (import_max_bytes)")
    return data


@dataclass
class DocumentReader:
    """Reads the documents of one import (the ``loader`` of ``tasks.documentation.spec_import``): files inside
    ``root`` only; URLs only when ``allow_remote``, through the address guard (``guard``, any
    public host; a redirect stays on the same host and port)."""

    root: Path
    limits: Limits = Limits()
    allow_remote: bool = False
    guard: Guard | None = None
    transport: httpx.BaseTransport | None = None

    def __call__(self, where: Location) -> Any:
        if isinstance(where, Path):
            return parse_document(read_capped(where, self.limits.max_bytes, self.root), where.name, self.limits)
        if not self.allow_remote:
            raise DocumentRefused("remote_ref", f"{where[:200]}: remote references are not followed (import_allow_remote_refs)")
        return parse_document(self._fetch(where), where[:200], self.limits, as_json=where.casefold().endswith(".json"))

    def _fetch(self, url: str) -> bytes:
        try:
            # the guard's address checks, allowing only this URL's host and port (its redirects stay there)
            guard = replace(self.guard or Guard(None), allowed={destination(url)}, max_bytes=self.limits.max_bytes)
            with httpx.Client(timeout=10.0, follow_redirects=False, transport=self.transport) as client:
                out = send_guarded(client, guard, "GET", url)
        except Refused as exc:
            raise DocumentRefused("remote_refused", f"{url[:200]}: {exc}") from None
        except httpx.HTTPError as exc:
            raise OSError(f"cannot fetch {url[:200]}: {type(exc).__name__}") from None
        if out.too_large:
            raise DocumentRefused("file_too_large", f"{url[:200]} is larger than {self.limits.max_bytes} bytes (import_max_bytes)")
        if out.status >= 400:
            raise OSError(f"{url[:200]} answered HTTP {out.status}")
        return out.body


def read_json_file(path: Path, max_bytes: int) -> Any:
    """A JSON file a command imports whole (a ToolAlpaca file, judged outputs), read capped and parsed;
    what cannot be read or parsed is an ``ImportFormatError`` naming the file."""
    try:
        return parse_document(read_capped(path, max_bytes), path.name, Limits(max_bytes=max_bytes), as_json=True)
    except DocumentRefused as exc:
        raise ImportFormatError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_catalog(path: str | Path, fmt: str | None = None, max_description_chars: int = 2000,
                 max_bytes: int = 20_000_000) -> CatalogImport:
    """Read and parse a catalog file; ``fmt`` is markdown, json, jsonl or csv (by suffix when None)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if not fmt:
        raise CatalogFormatError(f"{path}: unknown catalog format (use .md, .json, .jsonl or .csv, or pass a format)")
    try:
        data = read_capped(path, max_bytes)
    except DocumentRefused as exc:
        raise CatalogFormatError(f"{path}: {exc}") from None
    except OSError as exc:
        raise CatalogFormatError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_catalog(data, fmt, source=str(path), max_description_chars=max_description_chars)


def spec_files(path: Path) -> list[Path]:
    """The spec files at ``path``: the file itself, or every JSON/YAML file under the folder."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.casefold() in SPEC_SUFFIXES)
    return [path]


def import_spec_file(path: Path, category: str | None = None, reader: DocumentReader | None = None) -> SpecImport:
    """Import one spec, reading it and its refs through ``reader`` (default: confined to its folder)."""
    reader = reader or DocumentReader(path.parent)
    return import_spec(path, reader, category, limits=reader.limits)
