"""``toolfactory status``: the factory's state in one screen — what the Prefect UI's run reports say,
read from the warehouse (works while flows write: it takes its turn on the file)."""

from __future__ import annotations

from typing import Any

from flows.runtime import open_warehouse
from toolfactory.settings import Settings


def status(settings: Settings) -> dict[str, Any]:
    with open_warehouse(settings) as wh:
        one = lambda sql: wh.execute(sql)[0]  # noqa: E731
        apis = dict(wh.execute("SELECT status, count(*) FROM apis GROUP BY status"))
        calls, cost, unknown, tokens = one("SELECT count(*), coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cost_usd IS NULL), "
                                           "coalesce(sum(prompt_tokens + completion_tokens), 0) FROM llm_call")
        clean = wh.count("clean_instances")
        snap = wh.execute("SELECT snapshot_id, n_instances, created_at FROM corpus_snapshots ORDER BY created_at DESC LIMIT 1")
        run = wh.execute("SELECT run_id, status, metrics->>'last_loss', created_at FROM training_runs ORDER BY created_at DESC LIMIT 1")
        ev = wh.execute("SELECT model, set_source, overall, exact_match FROM eval_scores ORDER BY created_at DESC LIMIT 1")
        out = {
            "catalog": f"{wh.count('catalog')} APIs in {one('SELECT count(DISTINCT category) FROM catalog')[0]} categories",
            "documented": f"{apis.get('valid', 0)} valid, {apis.get('invalid', 0)} invalid",
            "instructions": wh.count("instructions"),
            "dialogues": f"{wh.count('dialogues')} ({wh.count('dialogues', 'origin = ?', ['import'])} imported)",
            "clean instances": clean,
            "latest snapshot": f"{snap[0][0]} ({snap[0][1]} instances, {snap[0][2]:%Y-%m-%d %H:%M})" if snap else "-",
            "latest training run": f"{run[0][0]} {run[0][1]} (last loss {run[0][2] or '-'}, {run[0][3]:%Y-%m-%d %H:%M})" if run else "-",
            "latest evaluation": f"{ev[0][0]} on {ev[0][1]}: overall {ev[0][2]}, exact match {ev[0][3]}" if ev else "-",
            "LLM calls": f"{calls} calls, {tokens} tokens, ${cost:.4f}" + (f" (+{unknown} of unknown price)" if unknown else ""),
            "cost per clean instance": f"${cost / clean:.4f}" if clean else "-",
            "refusals": ", ".join(f"{s}: {n}" for s, n in wh.execute(
                "SELECT stage, count(*) AS n FROM rejections GROUP BY stage ORDER BY n DESC LIMIT 6")) or "-",
        }
    return out
