"""Load a ToolAlpaca-format file (training or evaluation layout) into the warehouse, no LLM."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from flows.files import read_json_file
from flows.runtime import open_warehouse
from flows.settings import Settings
from tasks.formats.toolalpaca_format import import_records, read_layout


def seed_corpus_path() -> Path:
    """The shipped seed corpus: 12 hand-written instances over 4 small APIs, ToolAlpaca training
    layout (``toolfactory run --seed-corpus sample``; `make run` uses it so the embedded run has
    clean instances to train on — the embedded model's own dialogues rarely pass the funnel)."""
    return Path(__file__).resolve().parents[1] / "toolfactory" / "data" / "seed_corpus.json"


def import_toolalpaca(settings: Settings, path: str | Path) -> dict[str, Any]:
    """Land every API record of ``path``; returns the layout and what landed or was refused, by reason."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    data = read_json_file(p, settings.import_max_bytes)
    layout = read_layout(data)
    landed: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    quarantined = 0
    with open_warehouse(settings) as wh:
        for record in data:
            records = import_records(record, layout, p.name)
            report = wh.land(records)
            landed.update(report.inserted)
            quarantined += report.quarantined
            refused.update(r.reason for r in records if type(r).__name__ == "Rejection")
    return {"layout": layout, "apis": len(data), "landed": dict(landed), "refused": dict(refused), "quarantined": quarantined}
