"""Read API catalogs into normalised entries; refuse bad rows with a reason instead of failing.

Formats: the public-apis README (markdown tables under ``##``/``### Category`` headings), ToolAlpaca's
``public_apis.json`` (``{count, entries:[{API, Description, Auth, HTTPS, Cors, Link, Category}]}``,
or a bare list), JSON Lines and CSV with columns name, description, category, link, auth (https and
cors optional; the ToolAlpaca names are accepted as aliases).

In: the file's bytes, its format and its name (``flows`` reads files). Out: ``CatalogImport`` — entries (duplicates by normalised name
and link merged), quarantined rows (each with a reason code) and counts. Only a file that cannot be
read as its format at all raises ``CatalogFormatError``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from schemas.errors import InvalidInput
from schemas.ids import content_id
from schemas.records import CatalogEntry, QuarantinedRow
from tasks.guards.documents import DocumentRefused, Limits, parse_document

FIELD_ALIASES = {
    "name": ("name", "api", "title"),
    "description": ("description", "desc"),
    "category": ("category",),
    "link": ("link", "url"),
    "auth": ("auth",),
    "https": ("https",),
    "cors": ("cors",),
}
_ALIAS_TO_FIELD = {alias: f for f, aliases in FIELD_ALIASES.items() for alias in aliases}
DEFAULT_CATEGORY = "Uncategorized"
MAX_NAME = 200
RAW_CAP = 4000


class CatalogFormatError(InvalidInput):
    """The file as a whole cannot be read in the format asked (the message says why)."""


@dataclass
class CatalogImport:
    source: str
    entries: list[CatalogEntry] = field(default_factory=list)
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    rows_read: int = 0
    duplicates_merged: int = 0
    digest: str = ""  # sha256 of the bytes read

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for q in self.quarantined:
            counts[q.reason] = counts.get(q.reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def normalise_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def normalise_link(link: str) -> str:
    link = link.strip()
    if not link:
        return ""
    try:
        parts = urlsplit(link)
    except ValueError:
        return link.casefold()
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.casefold(), parts.netloc.casefold(), path, parts.query, "")).removeprefix("https://").removeprefix("http://")


def api_id_for(name: str, link: str) -> str:
    """The content-hash ID of an API: its normalised name and link."""
    return content_id("api", normalise_name(name), normalise_link(link))


# ---------------------------------------------------------------------------------------------
# Row checks shared by every format


class _Builder:
    def __init__(self, source: str, max_description: int):
        self.result = CatalogImport(source=Path(source).name or source)
        self.max_description = max_description
        self._by_key: dict[tuple[str, str], CatalogEntry] = {}

    def quarantine(self, locator: str, reason: str, detail: str, raw: Any) -> None:
        raw_text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        raw_text = raw_text.encode("utf-8", "backslashreplace").decode("utf-8")[:RAW_CAP]
        self.result.quarantined.append(
            QuarantinedRow(
                quarantine_id=content_id("quarantine", self.result.source, locator, reason, raw_text),
                source=self.result.source, locator=locator, reason=reason, detail=detail, raw=raw_text,
            )
        )

    def add(self, locator: str, row: dict[str, Any], raw: Any, unknown: Iterable[str] = ()) -> None:
        self.result.rows_read += 1
        unknown = sorted(k for k in unknown)
        if unknown:
            self.quarantine(locator, "unknown_columns", f"unknown column(s): {', '.join(unknown)}", raw)
            return
        for key, value in row.items():
            if isinstance(value, str) and _has_bad_utf8(value):
                self.quarantine(locator, "bad_utf8", f"{key} is not valid UTF-8", raw)
                return
        name = clean_text(row.get("name"))
        description = clean_text(row.get("description"))
        if not name:
            self.quarantine(locator, "missing_name", "the row has no API name", raw)
            return
        if len(name) > MAX_NAME:
            self.quarantine(locator, "name_too_long", f"name has {len(name)} characters (max {MAX_NAME})", raw)
            return
        if not description:
            self.quarantine(locator, "empty_description", f"{name}: the description is empty", raw)
            return
        if len(description) > self.max_description:
            self.quarantine(
                locator, "description_too_long",
                f"{name}: description has {len(description)} characters (max {self.max_description})", raw,
            )
            return
        link = http_link(row.get("link"))
        entry = CatalogEntry(
            api_id=api_id_for(name, link),
            name=name,
            description=description,
            category=clean_text(row.get("category")) or DEFAULT_CATEGORY,
            link=link,
            auth=_auth(row.get("auth")),
            https=_bool(row.get("https")) if "https" in row else (link.casefold().startswith("https://") if link else None),
            cors=(clean_text(row.get("cors")).casefold() or None) if row.get("cors") is not None else None,
            source=self.result.source,
            locator=locator,
        )
        key = (normalise_name(name), normalise_link(link))
        first = self._by_key.get(key)
        if first is None:
            self._by_key[key] = entry
            self.result.entries.append(entry)
            return
        # Same API again: keep the first row, fill what it lacks, count the merge.
        first.merged_count += 1
        self.result.duplicates_merged += 1
        if first.category == DEFAULT_CATEGORY and entry.category != DEFAULT_CATEGORY:
            first.category = entry.category
        if not first.auth or first.auth == "none":
            first.auth = entry.auth or first.auth
        if first.https is None:
            first.https = entry.https
        if first.cors is None:
            first.cors = entry.cors


def _has_bad_utf8(text: str) -> bool:
    return any(0xDC80 <= ord(ch) <= 0xDCFF for ch in text) or "\ufffd" in text


# C0 and C1 controls (whitespace among them becomes a space first), and the bidirectional
# overrides and isolates that make text display other than it reads.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: Any) -> str:
    """A catalog field as one line of text: whitespace runs become one space, control characters
    (NUL, escapes, bidi overrides) are dropped; containers give ''."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return _CONTROLS.sub("", re.sub(r"\s+", " ", str(value))).strip()


def http_link(value: Any) -> str:
    """``value`` when it is an http(s) URL with a host, else '' (``javascript:``, ``file:``, ``data:``
    and bare words are not links)."""
    link = clean_text(value)
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    return link if parts.scheme.casefold() in ("http", "https") and parts.netloc else ""


def _auth(value: Any) -> str:
    text = clean_text(value).strip("`").strip()
    return "none" if text.casefold() in ("", "no", "none", "false") else text


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = clean_text(value).casefold()
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    return None


def _map_keys(row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    mapped: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in row.items():
        f = _ALIAS_TO_FIELD.get(str(key).strip().casefold())
        if f is None:
            if value not in (None, ""):
                unknown.append(str(key))
            continue
        mapped[f] = value
    return mapped, unknown


# ---------------------------------------------------------------------------------------------
# Formats


FORMATS = ("markdown", "json", "jsonl", "csv")


def detect_format(name: str | Path) -> str:
    """The catalog format for a file name by its suffix ('' when unknown)."""
    suffix = Path(name).suffix.casefold()
    return {".md": "markdown", ".markdown": "markdown", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}.get(suffix, "")


def parse_catalog(data: bytes, fmt: str, source: str = "<bytes>", max_description_chars: int = 2000) -> CatalogImport:
    """Parse catalog bytes in ``fmt``; bad rows are quarantined, a wholly unreadable file raises CatalogFormatError."""
    builder = _Builder(source, max_description_chars)
    builder.result.digest = hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    if fmt == "markdown":
        _parse_markdown(text, builder)
    elif fmt == "json":
        _parse_json(text, builder)
    elif fmt == "jsonl":
        _parse_jsonl(text, builder)
    elif fmt == "csv":
        _parse_csv(text, builder)
    else:
        raise CatalogFormatError(f"{source}: unknown format {fmt!r}")
    return builder.result


_LINK_CELL = re.compile(r"^\[(?P<name>.+?)\]\((?P<link>[^)\s]*)\s*\)$")
_SPLIT_CELLS = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    return [c.strip().replace("\\|", "|") for c in _SPLIT_CELLS.split(inner)]


def _parse_markdown(text: str, b: _Builder) -> None:
    category = ""
    header: list[str] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            category = stripped.lstrip("#").strip()
            header = None
            continue
        if "|" not in stripped:
            header = None if not stripped else header
            continue
        cells = _cells(stripped)
        if all(re.fullmatch(r":?-{2,}:?", c or "--") for c in cells if c) and any(cells):
            continue  # the |:---|:---| separator
        if header is None:
            header = [c.casefold() for c in cells]
            continue
        locator = f"line {lineno}"
        while len(cells) > len(header) and cells[-1] == "":
            cells.pop()  # the stray trailing cell some rows have
        if len(cells) != len(header):
            b.result.rows_read += 1
            b.quarantine(locator, "malformed_row", f"{len(cells)} cells where the table has {len(header)}", line)
            continue
        row = dict(zip(header, cells, strict=True))
        first = row.get("api", "")
        match = _LINK_CELL.match(first)
        if match is None:
            b.result.rows_read += 1
            if not first.strip():
                b.quarantine(locator, "missing_name", "the row has no API name", line)
            else:
                b.quarantine(locator, "malformed_row", "the API cell is not [Name](link)", line)
            continue
        mapped, unknown = _map_keys({k: v for k, v in row.items() if k != "api"})
        mapped["name"] = match.group("name")
        mapped["link"] = match.group("link")
        mapped["category"] = category
        b.add(locator, mapped, line, unknown)


def _parse_json(text: str, b: _Builder) -> None:
    try:
        doc = parse_document(text, b.result.source, Limits(max_bytes=len(text) + 1), as_json=True)
    except DocumentRefused as exc:
        raise CatalogFormatError(str(exc)) from None
    if isinstance(doc, dict) and isinstance(doc.get("entries"), list):
        entries = doc["entries"]
    elif isinstance(doc, list):
        entries = doc
    else:
        raise CatalogFormatError(f"{b.result.source}: expected {{count, entries: [...]}} or a list of entries")
    for i, item in enumerate(entries):
        _add_mapping(b, f"entries[{i}]", item)


def _add_mapping(b: _Builder, locator: str, item: Any) -> None:
    if not isinstance(item, dict):
        b.result.rows_read += 1
        b.quarantine(locator, "malformed_row", f"expected an object, got {type(item).__name__}", item)
        return
    mapped, unknown = _map_keys(item)
    b.add(locator, mapped, item, unknown)


def _parse_jsonl(text: str, b: _Builder) -> None:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            b.result.rows_read += 1
            reason = "bad_utf8" if _has_bad_utf8(line) else "malformed_row"
            b.quarantine(f"line {lineno}", reason, f"not a JSON object: {getattr(exc, 'msg', 'nests too deeply')}", line[:RAW_CAP])
            continue
        _add_mapping(b, f"line {lineno}", item)


def _parse_csv(text: str, b: _Builder) -> None:
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # a long cell is judged by the row checks
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise CatalogFormatError(f"{b.result.source}: not valid CSV ({exc})") from None
    header = [h.strip() for h in header]
    if not any(_ALIAS_TO_FIELD.get(h.casefold()) == "name" for h in header):
        raise CatalogFormatError(f"{b.result.source}: the CSV header has no name column (got {header})")
    lineno = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            b.result.rows_read += 1
            b.quarantine(f"row {lineno + 1}", "malformed_row", f"CSV error: {exc}", "")
            lineno += 1
            continue
        lineno += 1
        if not any(c.strip() for c in cells):
            continue
        locator = f"row {lineno}"
        if len(cells) > len(header):
            b.result.rows_read += 1
            b.quarantine(locator, "malformed_row", f"{len(cells)} cells where the header has {len(header)}", ",".join(cells))
            continue
        item = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        mapped, unknown = _map_keys(item)
        b.add(locator, mapped, ",".join(cells), unknown)
