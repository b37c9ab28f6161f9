"""The evaluation report: the paper's table (process / response / overall per model and set) plus
the deterministic scores, as markdown and as an SVG bar chart (no plotting library needed)."""

from __future__ import annotations

from html import escape
from typing import Any

COLUMNS = [("process", "Process"), ("response", "Response"), ("overall", "Overall"), ("exact_match", "Exact match"),
           ("process_rule", "Process (rules)"),
           ("call_precision", "Call P"), ("call_recall", "Call R"), ("pass_k", "pass^k"), ("overall_spread", "± overall")]


def _cell(v: Any) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def markdown(rows: list[dict[str, Any]], title: str) -> str:
    """One row per (model, step mode) run; percentages."""
    head = "| Model | Set | Mode | k | " + " | ".join(label for _, label in COLUMNS) + " |"
    rule = "|---|---|---|---:|" + "---:|" * len(COLUMNS)
    lines = [f"# {title}", "", head, rule]
    for r in rows:
        lines.append(f"| `{r['model']}` | {r['set_source']} | {r['step_mode']} | {r['trials']} | "
                     + " | ".join(_cell(r[key]) for key, _ in COLUMNS) + " |")
    lines += ["", "Process, response and overall: the judge's verdicts (overall = both yes; a run that failed or called nothing "
              "counts as wrong). Exact match: every call and required argument equal to the golden calls, in order (no LLM). "
              "Process (rules): the judge's process guidelines as deterministic rules (tasks.evaluation.process_score; 94.9% agreement "
              "with GPT-4's verdicts on the paper's 7B outputs). Call P / R: per-call precision and recall. pass^k: instructions right in all k trials (overall). "
              "± overall: spread (standard deviation) of the overall score across trials.", ""]
    return "\n".join(lines)


def bfcl_markdown(bfcl_rows: list[dict[str, Any]], paper_rows: list[dict[str, Any]]) -> str:
    """BFCL's per-category AST accuracy, one row per model, beside that model's latest scores on the
    ToolAlpaca-layout sets (the paper's columns, exact match and the process rules)."""
    categories = sorted({r["set_source"].removeprefix("bfcl:") for r in bfcl_rows})
    models = sorted({r["model"] for r in bfcl_rows})
    acc = {(r["model"], r["set_source"].removeprefix("bfcl:")): r["exact_match"] for r in bfcl_rows}
    paper = {r["model"]: r for r in paper_rows}
    cols = [("set_source", "ToolAlpaca set"), ("process", "Process"), ("response", "Response"), ("overall", "Overall"),
            ("exact_match", "Exact match"), ("process_rule", "Process (rules)")]
    lines = ["# Evaluation on BFCL v4", "", "| Model | " + " | ".join(categories) + " | " + " | ".join(c for _, c in cols) + " |",
             "|---|" + "---:|" * len(categories) + "---|" + "---:|" * (len(cols) - 1)]
    for m in models:
        other = paper.get(m, {})
        lines.append(f"| `{m}` | " + " | ".join(_cell(acc.get((m, c))) for c in categories) + " | "
                     + " | ".join(_cell(other.get(k)) for k, _ in cols) + " |")
    lines += ["", "BFCL columns: AST accuracy per category (function name, required parameters, allowed values, types; "
              "parallel calls in any order; irrelevance = no call). The ToolAlpaca columns: the model's latest run on a set in "
              "ToolAlpaca's layout, as in the paper's table.", ""]
    return "\n".join(lines)


def svg_chart(rows: list[dict[str, Any]], keys: tuple[str, ...] = ("overall", "exact_match", "process_rule")) -> str:
    """Grouped horizontal bars (0–100) per model for ``keys``."""
    colours = {"process": "#9ecae1", "response": "#6baed6", "overall": "#2171b5", "exact_match": "#fd8d3c", "process_rule": "#31a354"}
    bar, gap, left, width = 14, 10, 260, 400
    height = 40 + len(rows) * (len(keys) * bar + gap) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-weight="bold">{escape("Scores per model (%)")}</text>']
    y = 40
    for r in rows:
        out.append(f'<text x="10" y="{y + bar}">{escape(str(r["model"])[:40])} ({escape(str(r["step_mode"]))})</text>')
        for k in keys:
            v = r.get(k)
            w = 0 if v is None else width * float(v) / 100
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{colours.get(k, "#999")}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}">{escape(k)} {_cell(v)}</text>')
            y += bar
        y += gap
    out.append("</svg>")
    return "\n".join(out)
