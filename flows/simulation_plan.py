"""How many instructions of each kind a doc gets (used by ``flows.simulate_corpus``).

The shares are of all instructions. ``chain`` instructions go only to the docs whose function graph has a
chain (an output of one operation feeding a parameter of another): ``spread_chain_share`` raises the
share on those docs by the ratio of valid docs to chain-capable ones (capped by what the other kinds
leave), so a run's chain instructions come near ``chain_share`` of the whole even where few APIs have
dependent operations; a doc without a chain plans none (and refuses none). The ratio is taken over every
valid doc in the warehouse, not a run's selection, so a doc's plan changes only when the docs do.
"""

from __future__ import annotations

from flows.settings import Settings
from schemas.views import DocumentedApi
from tasks.simulation.function_graph import chains, graph
from tasks.simulation.instructions import SHARED_KINDS, plan_kinds

_OTHER_SHARES = tuple(f"{k}_share" for k in SHARED_KINDS if k != "chain")


_HAS_CHAIN: dict[str, bool] = {}  # doc_id → whether its graph has a chain (a doc's spec never changes under its ID)


def has_chain(doc: DocumentedApi) -> bool:
    """Whether the doc's function graph has a chain of two operations or more (worked out once per doc)."""
    if doc.doc_id not in _HAS_CHAIN:
        _HAS_CHAIN[doc.doc_id] = bool(chains(graph(doc.spec), limit=1))
    return _HAS_CHAIN[doc.doc_id]


def spread_chain_share(settings: Settings, docs: list[DocumentedApi]) -> Settings:
    """``settings`` with ``chain_share`` raised for the chain-capable docs among ``docs`` (every valid doc)."""
    if settings.chain_share <= 0 or not docs:
        return settings
    hosts = sum(has_chain(d) for d in docs)
    if not hosts:
        return settings
    room = 1 - sum(getattr(settings, k) for k in _OTHER_SHARES)
    share = round(min(room, settings.chain_share * len(docs) / hosts), 6)
    return settings if share == settings.chain_share else settings.with_overrides(chain_share=share)


def instruction_plan(settings: Settings, doc: DocumentedApi) -> dict[str, int]:
    """A doc's instructions per kind (the shares drawn per doc: ``plan_kinds``); no chain for a doc without one."""
    return plan_kinds(settings.instructions_per_api, settings.missing_detail_share, settings.unanswerable_share,
                      settings.multi_api_share, settings.chain_share if has_chain(doc) else 0.0, key=doc.doc_id)


def planned_kinds(settings: Settings) -> list[str]:
    """The instruction kinds a run may write: normal and each kind with a share."""
    return ["normal", *(k for k in SHARED_KINDS if getattr(settings, f"{k}_share") > 0)]


def explain_no_chains(by_kind: dict[str, dict], docs: list[DocumentedApi]) -> dict[str, dict]:
    """``by_kind`` (``warehouse.reports.dialogues_by_kind``) with a reason where a run planned chains and has
    none, and no refusal says why: how many of the valid docs have a chain at all."""
    chain = by_kind.get("chain")
    if chain is not None and not chain["dialogues"] and "why" not in chain:
        hosts = sum(has_chain(d) for d in docs)
        chain["why"] = (f"no valid API's function graph has a chain (none of {len(docs)}: no output of one operation "
                        "feeds a parameter of another)" if not hosts else
                        f"{hosts} of {len(docs)} APIs have a chain; none of them was simulated in this run or their chain "
                        "instructions were refused (see rejections)")
    return by_kind


def shapes_off(settings: Settings, mode: str) -> tuple[str | None, str | None]:
    """Why follow-ups and why parallel calls cannot happen under these settings and the assistant's step
    ``mode`` (None: they can)."""
    follow = None
    if settings.follow_up_share <= 0 or settings.max_user_turns < 2:
        follow = "off (follow_up_share: 0)" if settings.follow_up_share <= 0 else "off (max_user_turns: 1)"
    parallel = None
    if settings.max_parallel_calls < 2:
        parallel = "off (max_parallel_calls: 1)"
    elif mode == "react":
        parallel = "off (the react step mode keeps the paper's one call a turn)"
    return follow, parallel
