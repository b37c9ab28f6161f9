"""Which API an imported document is (issue 33): two documents never become one API.

An API's ID hashes its title and server (``tasks.catalog.entries.api_id_for``), so two published documents
with the same title and server — a vendor's client and server APIs — would be one API, the later document
replacing the earlier's operations. ``api_id_of`` decides instead, per document, from where it lies in the
import (``where``: its path under the imported folder, or its file name when a file is imported alone):

1. a document the warehouse recorded from this file keeps that API's ID (a re-import is a new version) — the
   same path, or one whose tail it is; where several earlier files match by tail (the same file name in two
   folders), the one whose operations it shares most, and none when that does not decide;
2. otherwise the title-and-server ID, unless another file holds it (in this import, or in the warehouse):
   then an ID of its own, the hash of that ID and ``where``.
"""

from __future__ import annotations

from typing import Any

from schemas.ids import content_id
from schemas.records import ApiDoc
from tasks.catalog.entries import api_id_for
from warehouse import Warehouse


def api_id_of(wh: Warehouse, plain: str, where: str, names: list[str], claims: dict[str, str]) -> str:
    """The API ID for a document whose title and server give ``plain``, found at ``where``, with these function
    ``names``; ``claims`` (api_id → where, this import's documents so far) gets the answer."""
    chosen = _earlier(wh, plain, where, names)
    if chosen is None:
        held = claims.get(plain)
        taken = held is not None and held != where or (held is None and plain in wh.imported_api_ids([plain]))
        chosen = content_id("api-import", plain, where) if taken else plain
    claims.setdefault(chosen, where)
    return chosen


def _earlier(wh: Warehouse, plain: str, where: str, names: list[str]) -> str | None:
    """The API ID an earlier import of this file gave it, or None."""
    rows = [r for r in wh.imported_files(where) if api_id_for(r[2], r[3]) == plain]
    exact = [r[0] for r in rows if r[1] == where]
    if exact:
        return exact[0]
    if len(rows) == 1:
        return rows[0][0]
    mine = set(names)
    overlaps = sorted(((len(mine & set(r[4])) / max(1, len(mine | set(r[4]))), r[0]) for r in rows), reverse=True)
    if overlaps and overlaps[0][0] > 0.5 and (len(overlaps) == 1 or overlaps[1][0] < overlaps[0][0]):
        return overlaps[0][1]
    return None


def function_names(records: list[Any]) -> list[str]:
    """The function names of a document's ``ApiDoc`` among ``records`` ([] when it has none)."""
    doc = next((r for r in records if isinstance(r, ApiDoc)), None)
    return [f.get("name", "") for f in doc.function_list] if doc is not None else []
