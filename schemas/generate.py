"""Write the record types' JSON Schemas to ``schemas/json/<name>.schema.json`` (``schemas.keywords``
generates them from ``schemas.records``); ``--check`` only says which files differ (exit 1).

    python -m schemas.generate [--check]
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from schemas import records
from schemas.keywords import record_schema

JSON_DIR = Path(__file__).resolve().parent / "json"


def record_types() -> list[type]:
    return [c for c in vars(records).values() if isinstance(c, type) and dataclasses.is_dataclass(c) and getattr(c, "SCHEMA", "")]


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every record's schema file; ``--check``: exit 1 when a file differs from its record."""
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for cls in record_types():
        path = JSON_DIR / f"{cls.SCHEMA}.schema.json"
        text = schema_text(record_schema(cls))
        if not path.exists() or path.read_text("utf-8") != text:
            stale.append(path.name)
            if not check:
                path.write_text(text, "utf-8")
    print(("stale: " if check else "written: ") + (", ".join(stale) or "none"))
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
