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



def print_run(settings: Any, catalog: str, seed_corpus: str | None, estimate_only: bool) -> int:
    """``toolfactory run``: the estimate, then (unless ``estimate_only``) the pipeline — one line per stage
    on the terminal, everything else (the stage summaries, Prefect's and the libraries' output) in a log
    file — and what the user has now. 1 when a task failed or the training run failed."""
    from flows.estimate import estimate_run
    from flows.pipeline import plan_apis, run_pipeline, write_run_report
    from flows.progress import bars_shown, show_bars
    from toolfactory.run_output import have_now, log_path, noise_to, quiet_prefect_console, stage_line, writes_to_fd1

    print_estimate(estimate_run(settings, plan_apis(settings, catalog)[1]))
    if estimate_only:
        return 0
    log = log_path(settings.log_dir)
    print(f"\nRunning (full log: {log})", flush=True)
    bars = bars_shown()
    with noise_to(log) as (terminal, terminal_err):
        show_bars(bars, terminal_err)

        def on_stage(stage: str, result: Any, seconds: float) -> None:
            print(stage_line(stage, result, seconds), file=terminal, flush=True)
            if result is not None:
                print_summary(stage, result)  # into the log

        try:
            out = run_pipeline(settings, catalog, seed_corpus, on_stage)
            report = write_run_report(settings, out, "run")[1] / "report.md"
        finally:
            show_bars(bars)
    if writes_to_fd1():
        quiet_prefect_console()
    print("\n".join(have_now(out, settings.warehouse_path, report, log)))
    failures = out["toolset"]["task_failures"] + (out["simulation"] or {}).get("task_failures", 0)
    return 0 if failures == 0 and (out["training"] or {}).get("status") != "failed" else 1
