"""A project with the shop spec imported, on the fake backend, and the fake executor's replies for it: what the
dialogue-shape tests start from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.docs_import import import_docs
from flows.settings import Settings, load_settings
from tests.support.specs import SHOP_WITH_RESPONSES

BASE = {"backends_file": "fake", "warehouse_path": "wh.duckdb", "llm_num_retries": 0, "instructions_per_api": 2,
        "missing_detail_share": 0, "unanswerable_share": 0, "multi_api_share": 0, "chain_share": 0,
        "assistant_step_mode": "react", "curation_judge": False, "curation_tokenizer": "words"}


def shop_project(workdir: Path, **settings: Any) -> Settings:
    """``toolfactory.yaml`` in ``workdir`` — normal instructions only, react steps, no judge, ``settings`` added
    or overriding — and the shop spec imported as the one usable API."""
    (workdir / "shop.json").write_text(json.dumps(SHOP_WITH_RESPONSES))
    (workdir / "toolfactory.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in {**BASE, **settings}.items()))
    loaded = load_settings()
    assert import_docs(loaded, workdir / "shop.json")["usable"] == 1
    return loaded


def shop_executor(req: Any) -> dict[str, Any]:
    """The fake tool executor's reply for the shop: item 71's price for ``getItem``, a search result
    naming item 71 (the desk lamp) for anything else."""
    if "getItem" in req.last_user:
        return {"itemId": 71, "price": 19.5}
    return {"results": [{"itemId": 71, "name": "desk lamp"}]}
