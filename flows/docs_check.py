"""``toolfactory docs check``: the round trip of every operation of the documented APIs.

Reads the latest valid doc of each API (or of ``api_ids``) from the warehouse and runs
``tasks.simulation.roundtrip.check_operations`` on its spec — generated arguments pass the call check, broken
ones are refused, a simulated response conforms, the tool definition is valid. Nothing is written;
no LLM is called (the executor's answers come from a schema-driven fake).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from flows.runtime import open_warehouse
from flows.settings import Settings
from tasks.simulation.roundtrip import check_operations

MAX_LINES = 30


def check_docs(settings: Settings, api_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts of APIs and operations checked, passed and failed; one line per failure (the first ``MAX_LINES``)."""
    with open_warehouse(settings) as wh:
        docs = wh.valid_docs(api_ids=api_ids)
    checked = passed = checks = 0
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    for doc in docs:
        for result in check_operations(doc.spec):
            checked += 1
            checks += result.checks
            passed += result.passed
            for failure in result.failures:
                kinds[failure.kind] += 1
                failures.append(f"{doc.name} {result.function} ({result.operation}): {failure}"[:300])
    return {"apis": len(docs), "operations": checked, "checks": checks, "operations passed": passed,
            "operations failed": checked - passed, "failures by kind": dict(kinds),
            "failures": failures[:MAX_LINES] + ([f"… and {len(failures) - MAX_LINES} more"] if len(failures) > MAX_LINES else [])}
