"""Reads that summarise the factory: its state in one screen (``toolfactory status``) and the
history of each stage that the estimate before a run is shaped by."""

from __future__ import annotations

from typing import Any

from warehouse.store import Warehouse


def stage_history(wh: Warehouse, api_ids: list[str]) -> dict[str, Any]:
    """What past runs looked like, and what is left for ``api_ids``: tokens per call by role
    (``tokens``), the share of LLM-written docs that came out valid and their functions per API,
    steps per simulated dialogue, the valid APIs among ``api_ids`` with their simulated dialogues
    (``have``), and dialogues not yet curated."""
    tokens = {r["role"]: (float(r["pt"]), float(r["ct"])) for r in wh.frame(
        "SELECT role, avg(prompt_tokens) AS pt, avg(completion_tokens) AS ct FROM llm_call "
        "WHERE status = 'ok' AND prompt_tokens > 0 GROUP BY role").to_dicts()}
    valid_share, functions = wh.execute(
        "SELECT avg((status = 'valid')::INT), avg(n_functions) FILTER (WHERE status = 'valid') FROM apis WHERE origin = 'llm'")[0]
    valid_now = [r[0] for r in wh.execute("SELECT api_id FROM apis WHERE status = 'valid' AND api_id IN (SELECT unnest(?))",
                                          [api_ids])]
    return {
        "tokens": tokens, "valid_share": valid_share, "functions_per_api": functions,
        "steps_per_dialogue": wh.execute("SELECT avg(n_steps) FROM dialogues WHERE origin = 'simulation'")[0][0],
        "valid_now": valid_now,
        "have": dict(wh.execute("SELECT api_id, count(*) FROM dialogue WHERE origin = 'simulation' AND api_id IN (SELECT unnest(?)) "
                                "GROUP BY api_id", [valid_now])),
        "pending_curation": wh.count("dialogue", "dialogue_id NOT IN (SELECT dialogue_id FROM curation_verdict)"),
    }


def factory_status(wh: Warehouse) -> dict[str, Any]:
    """The factory's state: corpus, latest snapshot, training run and evaluation, spend, refusals."""
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


def report_figures(wh: Warehouse) -> dict[str, Any]:
    """The numbers behind the run report's plots, over the whole warehouse: per category the
    dialogues and clean instances (``categories``: category → (dialogues, clean)); the funnel under
    the current curation config (``funnel``: [(stage, dialogues decided, kept)] in stage order);
    per LLM role the spend and calls (``cost_by_role``: role → (USD, calls, calls of unknown price));
    and ``clean``, the clean instances."""
    dialogues = dict(wh.execute("SELECT coalesce(category, '(none)'), count(*) FROM dialogues GROUP BY 1"))
    clean = dict(wh.execute("SELECT coalesce(category, '(none)'), count(*) FROM clean_instances GROUP BY 1"))
    return {
        "categories": {c: (dialogues.get(c, 0), clean.get(c, 0)) for c in sorted(set(dialogues) | set(clean))},
        "funnel": [(stage, int(n), int(kept)) for stage, _, n, kept in wh.execute(
            "SELECT stage, min(stage_order), sum(n), coalesce(sum(n) FILTER (WHERE kept), 0) FROM funnel GROUP BY stage ORDER BY 2")],
        "cost_by_role": {role: (float(usd), int(n), int(unknown)) for role, usd, n, unknown in wh.execute(
            "SELECT role, coalesce(sum(cost_usd), 0), count(*), count(*) FILTER (WHERE cost_usd IS NULL) FROM llm_call "
            "GROUP BY role ORDER BY role")},
        "clean": sum(clean.values()),
    }


def dialogues_by_kind(wh: Warehouse, kinds: list[str]) -> dict[str, dict[str, Any]]:
    """Per instruction kind planned (``kinds``): the simulated dialogues in the warehouse, the clean ones, and —
    for a kind with none — the most common reason its instructions were refused, with how many APIs it hit."""
    made = {k: (n, c) for k, n, c in wh.execute(
        "SELECT d.instruction_kind, count(*), count(*) FILTER (WHERE d.dialogue_id IN (SELECT dialogue_id FROM clean_instances)) "
        "FROM dialogue d WHERE d.origin = 'simulation' GROUP BY 1")}
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        n, clean = made.get(kind, (0, 0))
        out[kind] = {"dialogues": n, "clean": clean}
        if not n:
            why = wh.execute("SELECT reason, count(DISTINCT subject_id), any_value(detail) FROM rejections "
                             "WHERE stage = 'instruction' AND starts_with(detail, ?) GROUP BY reason ORDER BY 2 DESC LIMIT 1",
                             [f"{kind}: "])
            if why:
                out[kind]["why"] = f"{why[0][0]} on {why[0][1]} APIs ({why[0][2][len(kind) + 2:][:120]})"
    return out


def dialogue_shapes(wh: Warehouse, follow_ups_off: str | None, parallel_off: str | None) -> dict[str, dict[str, Any]]:
    """The simulated dialogues with follow-up turns and with parallel calls, and — for a shape with none — why:
    ``*_off`` (the settings that turned it off), or what became of the dialogues that planned follow-ups (those
    whose ``prompt_versions`` name the follow-up prompt)."""
    (planned, with_follow_ups, unanswered, parallel, steps_mode), = wh.execute(
        "SELECT count(*) FILTER (WHERE prompt_versions->>'user_follow_up' IS NOT NULL), "
        "count(*) FILTER (WHERE json_array_length(follow_ups) > 0), "
        "count(*) FILTER (WHERE prompt_versions->>'user_follow_up' IS NOT NULL AND json_array_length(follow_ups) = 0 "
        "                 AND stop_reason <> 'final_answer'), "
        "count(*) FILTER (WHERE len(list_filter(steps, lambda s: s.call = 1)) > 0), count(*) "
        "FROM dialogue WHERE origin = 'simulation' AND cut_from IS NULL")
    out: dict[str, dict[str, Any]] = {"follow-ups": {"dialogues": with_follow_ups}, "parallel calls": {"dialogues": parallel}}
    if not with_follow_ups:
        unwritten = wh.execute("SELECT count(*), any_value(detail) FROM rejections WHERE stage = 'simulation' "
                               "AND reason = 'follow_up_not_written'")[0]
        out["follow-ups"]["why"] = follow_ups_off or (
            f"{planned} of {steps_mode} dialogues planned one: {unanswered} ended before their first answer, "
            f"{unwritten[0]} follow-ups not written" + (f" ({str(unwritten[1]).rsplit(': ', 1)[-1]})" if unwritten[0] else ""))
    if not parallel:
        out["parallel calls"]["why"] = parallel_off or f"the assistant made no turn of several calls in {steps_mode} dialogues"
    return out
