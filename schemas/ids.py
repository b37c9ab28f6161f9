"""Content-hash IDs: the same inputs always give the same ID, so a re-run finds what exists."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any


def _plain(value: Any) -> Any:
    """A record as its dict (so a record and its ``to_dict()`` hash alike); anything else as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the canonical text that IDs hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def content_id(*parts: Any) -> str:
    """A 16-hex-digit SHA-256 prefix of the canonical JSON of ``parts``."""
    return hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()[:16]


def hash_draw(*parts: Any) -> float:
    """A number in [0, 1) drawn from a hash of ``parts``: the same parts, the same draw, run after run."""
    return int(content_id(*parts), 16) / 16 ** 16
