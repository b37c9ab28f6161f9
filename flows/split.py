"""The held-out split (``toolfactory split``): assign catalog APIs to train / heldout before any
training, check leakage, and build the factory's evaluation set from the held-out APIs.

``assign_api_splits`` runs before every snapshot (``take_snapshot``, the training trigger), so an
API is held out before it could reach a training snapshot, and it keeps its split from then on.
The factory's set ``factory:heldout`` holds each held-out API's clean instances as evaluation
instructions, their calls as golden answers.
"""

from __future__ import annotations

from typing import Any

from flows.runtime import open_warehouse
from flows.settings import Settings
from schemas.ids import content_id
from schemas.records import GoldenAnswer
from tasks.curation.filters import call_steps
from tasks.documentation.spec_auth import scrub_auth
from tasks.evaluation.exact_match import calls_with_groups
from tasks.evaluation.split import Side, assign_splits, leakage, split_version
from warehouse import Warehouse
from warehouse.evaluation import (
    catalog_categories,
    existing_splits,
    heldout_api_ids,
    heldout_clean_instances,
    insert_splits,
    latest_training_snapshot,
    leakage_sides,
    split_counts,
)

FACTORY_SET = "factory:heldout"


def assign_api_splits(wh: Warehouse, settings: Settings) -> int:
    """Give every catalog API without a split one; returns how many were assigned now."""
    apis = catalog_categories(wh)
    new = assign_splits(apis, settings.eval_heldout_share, settings.seed, existing_splits(wh))
    return insert_splits(wh, new, dict(apis), split_version(settings.eval_heldout_share, settings.seed))


def build_heldout_set(wh: Warehouse) -> int:
    """Golden answers (source ``factory:heldout``) from the held-out APIs' clean instances: the
    instruction, and the calls its dialogue made. Returns how many landed now."""
    records = []
    for d in heldout_clean_instances(wh):
        # the instruction's own calls (a follow-up turn serves a later request); parallel ones keep their group
        calls = scrub_auth(calls_with_groups([st for st in call_steps(d.steps) if st.valid and st.turn == 0]), None)
        records.append(GoldenAnswer(content_id("golden", d.instruction_id, calls), d.instruction_id, d.api_id, calls, FACTORY_SET))
    return wh.land(records).inserted.get("golden_answer", 0) if records else 0


def split_and_check(settings: Settings) -> dict[str, Any]:
    """Assign splits, build the factory set, and check leakage between held-out and training APIs."""
    with open_warehouse(settings) as wh:
        assigned = assign_api_splits(wh, settings)
        landed = build_heldout_set(wh)
        counts = split_counts(wh)
        held = heldout_api_ids(wh)
        latest = latest_training_snapshot(wh)
        test, train = leakage_sides(wh, held, latest)
    report = leakage(Side(**test), Side(**train))
    return {"assigned_now": assigned, "train_apis": counts.get("train", 0), "heldout_apis": counts.get("heldout", 0),
            "heldout_set_landed_now": landed, "compared_with": f"training snapshot {latest}" if latest else "the train split",
            "leakage": {k: v for k, v in report.items() if not k.endswith("examples") and not k.endswith("overlaps")},
            "name_overlaps": report["name_overlaps"], "description_overlaps": report["description_overlaps"],
            "instruction_examples": report["instruction_examples"]}
