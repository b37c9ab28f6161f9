"""What each instruction kind and dialogue shape costs and yields, read from a warehouse (e.g. ``make run``'s):
per kind, and per shape (follow-ups, parallel calls, single-turn), the simulated dialogues, how many came out
clean (a dialogue whose cut instance is clean counts), the assistant turns and tool calls a dialogue took, its
tokens and the seconds its LLM calls took, and those per clean instance — against single-turn ``normal``.

    .venv/bin/python benchmarks/dialogue_kinds.py [data/warehouse.duckdb]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warehouse.readonly_sql import open_read_only  # noqa: E402

PER_GROUP = """
WITH d AS (
    SELECT d.*, CASE WHEN json_array_length(d.follow_ups) > 0 THEN 'follow-ups'
                     WHEN len(list_filter(d.steps, lambda s: s.call = 1)) > 0 THEN 'parallel calls'
                     ELSE 'single turn, one call a turn' END AS shape,
           len(list_distinct(list_transform(d.steps, lambda s: s.index))) AS replies,
           (d.dialogue_id IN (SELECT dialogue_id FROM clean_instances)
            OR d.dialogue_id IN (SELECT cut_from FROM clean_instances WHERE cut_from IS NOT NULL)) AS clean
    FROM dialogue d WHERE d.origin = 'simulation' AND d.cut_from IS NULL)
SELECT {group} AS grp, count(*) AS dialogues, count(*) FILTER (WHERE clean) AS clean, avg(replies) AS turns, avg(n_calls) AS calls,
       avg(prompt_tokens + completion_tokens) AS tokens,
       sum(list_sum(list_transform(steps, lambda s: coalesce(s.latency_s, 0)))) AS llm_seconds,
       sum(replies + n_calls + json_array_length(follow_ups) + len(list_filter(steps, lambda s: s.action = 'ask_user'))) AS llm_calls
FROM d GROUP BY 1 ORDER BY dialogues DESC
"""


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "data/warehouse.duckdb")
    con = open_read_only(path)
    for title, group in (("kind", "instruction_kind"), ("shape", "shape")):
        rows = con.execute(PER_GROUP.format(group=group)).fetchall()
        print(f"| {title} | dialogues | clean | assistant turns | tool calls | tokens | LLM calls per clean | LLM s per clean |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for kind, n, clean, turns, calls, tokens, seconds, llm_calls in rows:
            calls_per, seconds_per = (f"{llm_calls / clean:.1f}", f"{seconds / clean:.1f}") if clean else ("–", "–")
            print(f"| {kind} | {n} | {clean} | {turns:.1f} | {calls:.1f} | {tokens:.0f} | {calls_per} | {seconds_per} |")
        print()


if __name__ == "__main__":
    main()
