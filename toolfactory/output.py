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

