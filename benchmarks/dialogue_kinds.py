"""What each instruction kind costs and yields, read from a warehouse (e.g. ``make run``'s): per kind, the
simulated dialogues, how many came out clean, the assistant turns and tool calls a dialogue took, its tokens
and the seconds its LLM calls took, and those per clean instance — chains and the other kinds against the
single-turn ``normal`` dialogues.

    .venv/bin/python benchmarks/dialogue_kinds.py [data/warehouse.duckdb]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warehouse.readonly_sql import open_read_only  # noqa: E402

PER_KIND = """
SELECT d.instruction_kind AS kind, count(*) AS dialogues,
       count(*) FILTER (WHERE d.dialogue_id IN (SELECT dialogue_id FROM clean_instances)) AS clean,
       avg(len(d.steps)) AS turns, avg(d.n_calls) AS calls, avg(d.prompt_tokens + d.completion_tokens) AS tokens,
       sum(list_sum(list_transform(d.steps, lambda s: coalesce(s.latency_s, 0)))) AS llm_seconds,
       sum(len(d.steps) + d.n_calls) AS llm_calls
FROM dialogue d WHERE d.origin = 'simulation' GROUP BY 1 ORDER BY dialogues DESC
"""


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "data/warehouse.duckdb")
    con = open_read_only(path)
    rows = con.execute(PER_KIND).fetchall()
    print("| kind | dialogues | clean | assistant turns | tool calls | tokens | LLM calls per clean | LLM s per clean |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, n, clean, turns, calls, tokens, seconds, llm_calls in rows:
        calls_per, seconds_per = (f"{llm_calls / clean:.1f}", f"{seconds / clean:.1f}") if clean else ("–", "–")
        print(f"| {kind} | {n} | {clean} | {turns:.1f} | {calls:.1f} | {tokens:.0f} | {calls_per} | {seconds_per} |")


if __name__ == "__main__":
    main()
