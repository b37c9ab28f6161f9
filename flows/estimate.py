"""The estimate printed before a run (``toolfactory run``, ``toolfactory run --estimate-only``).

What is left is read from the warehouse: APIs whose doc for the current prompts and models does
not exist yet, documented APIs short of their instruction target, dialogues not yet curated. Each
stage's shape comes from this warehouse's history where it has one (share of docs that come out
valid, functions per API, assistant calls per dialogue, tokens per call by role), else from
defaults; prices from litellm's price map for the models serving each role.
"""

from __future__ import annotations

from typing import Any

from flows.build_toolset import documenter_config, spec_mode_for_config
from flows.runtime import open_warehouse
from flows.settings import Settings
from tasks.documentation.documenter import default_prompts, doc_id_for
from tasks.llm.config import load_backend_config
from tasks.llm.cost_estimate import Plan, estimate, plan_calls
from tasks.llm.transport import price_per_token
from tasks.llm.types import ROLES
from warehouse.reports import stage_history


def estimate_run(settings: Settings, api_ids: list[str]) -> dict[str, Any]:
    """Calls, tokens and cost the run of ``api_ids`` (documentation → simulation → curation) will need."""
    s = settings
    config = load_backend_config(s.backends_file)
    cfg = documenter_config(s, spec_mode_for_config(s, config))
    prompts = default_prompts()
    with open_warehouse(s) as wh:
        entries = wh.catalog_entries(api_ids=api_ids)
        ids = {e.api_id: doc_id_for(e, config.signature("documenter"), cfg, prompts) for e in entries}
        to_document = len(entries) - len(wh.existing_doc_ids(list(ids.values())))
        h = stage_history(wh, api_ids)
    share = 0.5 if h["valid_share"] is None else float(h["valid_share"])
    new_valid = to_document * share
    valid_now = h["valid_now"]
    # follow-up turns a dialogue has on average: a continuing one has 1 … max_user_turns - 1 of them
    follow_ups = s.follow_up_share * s.max_user_turns / 2 if s.max_user_turns > 1 else 0.0
    dialogues = new_valid * s.instructions_per_api + sum(max(0, s.instructions_per_api - h["have"].get(a, 0)) for a in valid_now)
    plan = Plan(apis_to_document=to_document, apis_to_simulate=round(new_valid) + len(valid_now), dialogues=round(dialogues),
                dialogues_to_judge=round(dialogues + h["pending_curation"]) if s.curation_judge else 0, spec_mode=cfg.spec_mode,
                functions_per_api=float(h["functions_per_api"] or 5.0), repair_rounds=s.repair_rounds,
                steps_per_dialogue=float(h["steps_per_dialogue"] or min(s.dialogue_step_limit, 3) * (1 + follow_ups)),
                missing_detail_share=s.missing_detail_share, follow_up_turns=follow_ups)
    prices = {role: _price(config.models_of(role)) for role in ROLES}
    out = estimate(plan_calls(plan), h["tokens"], prices)
    return {"apis_to_document": to_document, "apis_to_simulate": plan.apis_to_simulate, "dialogues": plan.dialogues,
            "dialogues_to_judge": plan.dialogues_to_judge, **out, "tokens_from": "history" if h["tokens"] else "defaults",
            "spend_cap_usd": s.max_cost_usd}


def _price(models: list[str]) -> tuple[float, float] | None:
    """The dearest known price among a role's deployments (None when any is unknown)."""
    prices = [price_per_token(m) for m in models]
    if not prices or any(p is None for p in prices):
        return None
    return max(prices, key=lambda p: p[0] + p[1])  # type: ignore[return-value]
