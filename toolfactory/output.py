"""What the CLI prints for a command's outcome: a titled block of ``key  value`` lines."""

from __future__ import annotations

from typing import Any


def print_summary(title: str, data: dict[str, Any]) -> None:
    print(f"\n== {title}")
    for k, v in data.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items()) or "-"
        elif isinstance(v, list) and sum(len(str(x)) for x in v) > 100:  # long lists: one item per line
            print(f"  {k:<26} " + ("\n  " + " " * 27).join(map(str, v)))
            continue
        elif isinstance(v, list):
            v = "; ".join(map(str, v)) or "-"
        print(f"  {k:<26} {v}")


def print_estimate(est: dict[str, Any]) -> None:
    cost = f"${est['cost_usd']:.4f}" + (f" + unknown for {', '.join(est['unpriced_roles'])}" if est["unpriced_roles"] else "")
    print_summary("estimate (before the run)", {
        "work": f"{est['apis_to_document']} APIs to document, {est['apis_to_simulate']} to simulate, {est['dialogues']} dialogues, "
                f"{est['dialogues_to_judge']} to judge",
        **{f"calls.{r['role']}": f"{r['calls']} calls, {r['prompt_tokens'] + r['completion_tokens']} tokens"
           + ("" if r["cost_usd"] is None else f", ${r['cost_usd']:.4f}") for r in est["roles"]},
        "total": f"{est['calls']} calls, {est['tokens']} tokens, {cost} (tokens per call from {est['tokens_from']})",
        "spend cap": "none (max_cost_usd)" if est["spend_cap_usd"] is None else f"${est['spend_cap_usd']}"})


def print_training(out: dict[str, Any]) -> int:
    """The trigger's outcome (metrics flattened); 1 when the run it started failed."""
    metrics = out.pop("metrics", None) or {}
    print_summary("training", {**out, **{f"metrics.{k}": v for k, v in metrics.items()}})
    return 1 if out.get("status") == "failed" else 0



EXAMPLE_QUERIES = [
    "SELECT status, count(*) AS apis FROM apis GROUP BY status",
    "SELECT api_name, name, method, path FROM functions ORDER BY api_name LIMIT 20",
    "SELECT stage, reason, count(*) AS n FROM rejections GROUP BY ALL ORDER BY n DESC",
    "SELECT role, count(*) AS calls, sum(total_tokens) AS tokens, round(avg(latency_s), 2) AS avg_s FROM llm_calls GROUP BY role",
    "SELECT api_name, instruction_kind, n_steps, n_calls, n_errors, stop_reason FROM dialogues",
    "SELECT action, status, error, count(*) AS n FROM steps GROUP BY ALL ORDER BY n DESC",
    "SELECT stage, reason, sum(n) AS n FROM funnel GROUP BY ALL ORDER BY min(stage_order), n DESC",
    "SELECT api_name, instruction, n_calls, n_tokens FROM clean_instances",
    "SELECT run_id, n_instances, status, metrics->>'last_loss' AS last_loss, output_dir FROM training_runs",
]


def print_run(settings: Any, catalog: str, seed_corpus: str | None, estimate_only: bool) -> int:
    """``toolfactory run``: the estimate, then (unless ``estimate_only``) the pipeline with a summary per
    stage, the report's path and queries to try. 1 when a task failed or the training run failed."""
    from flows.estimate import estimate_run
    from flows.pipeline import plan_apis, run_pipeline, write_run_report

    print_estimate(estimate_run(settings, plan_apis(settings, catalog)[1]))
    if estimate_only:
        return 0
    out = run_pipeline(settings, catalog, seed_corpus)
    for title, key in (("catalog", "catalog"), ("toolset", "toolset"), ("simulation", "simulation"), ("seed corpus", "seed"),
                       ("curation", "curation")):
        if out[key] is not None:
            print_summary(title, out[key])
    if out["curation"] is not None:
        print_summary("corpus snapshot", out["snapshot"])
    if out["training"] is not None:
        print_training(out["training"])
    print(f"\nReport and plots: {write_run_report(settings, out, 'run')[1] / 'report.md'}")
    print(f"Warehouse: {settings.warehouse_path}. Export the snapshot with `toolfactory export --format all`. Try:")
    for q in EXAMPLE_QUERIES:
        print(f'  toolfactory sql "{q}"')
    failures = out["toolset"]["task_failures"] + (out["simulation"] or {}).get("task_failures", 0)
    return 0 if failures == 0 and (out["training"] or {}).get("status") != "failed" else 1
